/*
 * reader.h - read one session of an ISO 9660 disc into a tree of nodes.
 *
 * The reader finds the volume descriptors at session start + 16, picks the
 * Rock Ridge tree if the root carries SUSP SP and an RRIP ER, else the
 * Joliet tree, else plain ISO 9660, and builds struct iso_node trees from
 * the directory records.  Directories are read when first needed, or all
 * at once with iso_reader_load_all().  Every byte of the disc is untrusted:
 * malformed structures give -EUCLEAN with a message, never a read outside
 * the medium, a crash or a hang.  Besides the rules of reference 6 the
 * reader refuses trees deeper than 1024 directories, directory extents
 * that together hold more blocks than the medium (overlaps: quadratic
 * reading) and more Rock Ridge continuation block reads than four per
 * block of the medium.
 *
 * The reader borrows its sector source; the source must outlive it.
 */
#ifndef ISO_READER_H
#define ISO_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sector.h"
#include "iso/node.h"

struct iso_reader;

enum iso_tree_kind { ISO_TREE_ROCK_RIDGE, ISO_TREE_JOLIET, ISO_TREE_PLAIN };

struct iso_read_opts {
	bool no_rock;	/* ignore Rock Ridge (read Joliet or plain names) */
	bool no_joliet; /* ignore a Joliet supplementary descriptor */
};

/*
 * Read the volume descriptors of the session starting at @session_start
 * (blocks start+16 .. start+99, up to the set terminator), keep the first
 * PVD and the first Joliet SVD, read the root directory's "." record and
 * choose the tree.  @o may be NULL for the defaults.  Returns 0 with
 * *@out set, -EUCLEAN when there is no usable ISO 9660 session there,
 * -EIO from the source, -ENOMEM.
 */
int iso_reader_open(struct cds_source *src, uint32_t session_start,
		    const struct iso_read_opts *o, struct iso_reader **out);

enum iso_tree_kind iso_reader_kind(const struct iso_reader *r);

/* The root directory; its children may not be loaded yet.  Owned by the
 * reader; NULL after iso_reader_take_root(). */
struct iso_node *iso_reader_root(struct iso_reader *r);

/* Read the children of directory @dir if !dir->children_loaded.  On
 * failure the directory stays unloaded and unchanged. */
int iso_reader_load_dir(struct iso_reader *r, struct iso_node *dir);

/* Load every directory of the tree. */
int iso_reader_load_all(struct iso_reader *r);

/* Find the node at absolute @path ("/a/b"; "/" is the root), loading
 * directories on the way.  -ENOENT, -ENOTDIR with a message. */
int iso_reader_lookup(struct iso_reader *r, const char *path,
		      struct iso_node **out);

/*
 * Read up to @len bytes at @off of regular file @n into @buf.  Returns the
 * number of bytes read (short only at the end of the file; 0 at or past
 * it; at most INT_MAX), -EISDIR / -EINVAL for a node without data, -EIO
 * from the source.
 */
int iso_reader_read_file(struct iso_reader *r, const struct iso_node *n,
			 uint64_t off, void *buf, size_t len);

/* The session tag our writer puts in the PVD application use field
 * ("CDSESSION-TAG:" + tag), or NULL when there is none. */
const char *iso_reader_tag(const struct iso_reader *r);

/* The PVD volume identifier, trailing spaces removed. */
const char *iso_reader_volume_id(const struct iso_reader *r);

/* The PVD volume space size as recorded (blocks; see reference 1.6 for
 * why it may count from the session start or from LBA 0). */
uint32_t iso_reader_volume_space_size(const struct iso_reader *r);

/* The highest Rock Ridge PX file serial number of the nodes read so far
 * (all of them after iso_reader_load_all()); 0 if none. */
uint64_t iso_reader_max_ino(struct iso_reader *r);

/* Load the whole tree and hand it to the caller, who frees it with
 * iso_node_free().  NULL on failure (message recorded). */
struct iso_node *iso_reader_take_root(struct iso_reader *r);

/* Free the reader and the tree it still owns.  NULL is fine. */
void iso_reader_close(struct iso_reader *r);

#endif
