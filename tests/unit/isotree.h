/*
 * isotree.h - hand-made base session trees for the unit tests of the
 * layers above iso/ (the overlay, the change walk): a node with a Rock
 * Ridge serial, a size and, for a regular file, one extent at serial*100;
 * a file's bytes are tree_byte(serial, offset), read by tree_read().
 */
#ifndef CDS_TESTS_ISOTREE_H
#define CDS_TESTS_ISOTREE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "iso/node.h"

/* A new node named @name under @dir (NULL for a root); NULL on failure. */
static inline struct iso_node *mk_node(struct iso_node *dir, const char *name,
				       mode_t mode, uint64_t serial,
				       uint64_t size)
{
	struct iso_node *n = iso_node_new(name, mode);

	if (!n)
		return NULL;
	n->ino = serial;
	n->size = size;
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	n->mtime.tv_sec = 1000000000;
	n->children_loaded = true;
	if (S_ISREG(mode) && size) {
		struct iso_extent e = {(uint32_t)serial * 100, (uint32_t)size};
		iso_node_set_extents(n, &e, 1);
	}
	if (dir && iso_node_add_child(dir, n)) {
		iso_node_free(n);
		return NULL;
	}
	return n;
}

/* Byte @off of the base file with serial @serial. */
static inline uint8_t tree_byte(uint64_t serial, uint64_t off)
{
	return (uint8_t)(serial * 31 + off * 7 + (off >> 8));
}

/* The overlay's reader of base file contents (stg_overlay_open()). */
static inline int tree_read(void *ctx, const struct iso_node *n, uint64_t off,
			    void *buf, size_t len)
{
	(void)ctx;
	if (off + len > n->size)
		return -EIO;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = tree_byte(n->ino, off + i);
	return 0;
}

#endif
