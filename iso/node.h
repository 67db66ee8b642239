/*
 * node.h - the file tree iso/ reads from a session and writes into one.
 *
 * A node is what a Rock Ridge directory record can say about a file:
 * name, type and mode, owners, link count, times, size, where its data
 * lies (extents of an earlier session, kept as they are) or where new data
 * comes from (a content source read when the session is produced), symlink
 * target, device number and inode serial.  The reader builds nodes, the
 * writer consumes them, and later the staging overlay and the filesystem
 * merge trees of them.  One tree owns all its nodes: iso_node_free() on
 * the root frees everything below it.
 */
#ifndef ISO_NODE_H
#define ISO_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* A run of data blocks on the disc.  Level-3 multi-extent files have
 * several; each section is shorter than 4 GiB (ECMA-119 6.5.1). */
struct iso_extent {
	uint32_t lba;	 /* absolute LBA on the medium */
	uint32_t length; /* bytes */
};

/* New data for the writer: read @len bytes at @offset of the file.
 * Called while the session's sectors are produced, so it must deliver
 * exactly the size the node announced; fewer bytes is an error. */
struct iso_content;
struct iso_content_ops {
	int (*read)(struct iso_content *c, uint64_t offset, void *buf,
		    size_t len);
	void (*release)(struct iso_content *c);
	/* Optional: the data will be read soon; start fetching it without
	 * waiting, so that many small files are read in parallel. */
	void (*prefetch)(struct iso_content *c);
};
struct iso_content {
	const struct iso_content_ops *ops;
};

/* A regular file's content read from @path (opened on each read batch),
 * as mkimage uses it.  The content owns a copy of @path. */
int iso_content_from_path(const char *path, struct iso_content **out);

struct iso_node {
	char *name;  /* UTF-8, no '/', not "." or ".."; "" for the root */
	mode_t mode; /* type bits (S_IFREG, S_IFDIR, ...) and permissions */
	uid_t uid;
	gid_t gid;
	uint32_t nlink;
	struct timespec atime, mtime, ctime;
	bool has_crtime;
	struct timespec crtime; /* TF creation time, if recorded */
	uint64_t size;		/* bytes (regular files, symlinks: target) */
	dev_t rdev;		/* character and block devices (PN) */
	uint64_t ino;		/* Rock Ridge PX file serial number; 0 = none */
	char *symlink;		/* symlink target, else NULL */

	/* Data of a regular file: either extents of an earlier session
	 * (nextents > 0, kept where they are) or new content. */
	uint32_t nextents;
	struct iso_extent *extents;
	struct iso_content *content; /* owned by the node */

	/* Tree links.  Children of a directory are kept in the order they
	 * were added; the writer sorts them by the standard's rules. */
	struct iso_node *parent;
	struct iso_node **children;
	uint32_t nchildren, children_cap;
	bool children_loaded; /* reader: false until the directory is read */

	/* Reader bookkeeping: where this node's directory record lies and
	 * (directories) their own extent.  Not used by the writer. */
	uint32_t dir_lba, dir_size;
};

static inline bool iso_node_is_dir(const struct iso_node *n)
{
	return (n->mode & S_IFMT) == S_IFDIR;
}

/* A new detached node with @name (copied), all else zero.  NULL on ENOMEM. */
struct iso_node *iso_node_new(const char *name, mode_t mode);

/* Free @n and its whole subtree (names, extents, content, children). */
void iso_node_free(struct iso_node *n);

/* Append @child to directory @dir (takes ownership).  -EEXIST if a child
 * has the same name, -ENOTDIR, -ENOMEM. */
int iso_node_add_child(struct iso_node *dir, struct iso_node *child);

/* Append @child to directory @dir whose children are known not to hold
 * its name: no search, so building a directory of n names is O(n), not
 * O(n^2).  0 or -ENOMEM. */
int iso_node_append_child(struct iso_node *dir, struct iso_node *child);

/* Find a child by exact name; NULL if none. */
struct iso_node *iso_node_find_child(const struct iso_node *dir,
				     const char *name);

/* Detach @child from its parent (does not free it). */
void iso_node_detach(struct iso_node *child);

/* Replace the symlink target / extents (copied). 0 or -ENOMEM. */
int iso_node_set_symlink(struct iso_node *n, const char *target);
int iso_node_set_extents(struct iso_node *n, const struct iso_extent *ext,
			 uint32_t count);

/* Length of the valid UTF-8 sequence at @s (RFC 3629: no overlong forms,
 * surrogates or code points past U+10FFFF), reading at most @left >= 1
 * bytes; 0 if the bytes there are not one. */
size_t iso_utf8_seq_len(const char *s, size_t left);

/* Is @name acceptable as a node name (non-empty, no '/', no NUL, not "."
 * or "..", at most 255 bytes, valid UTF-8)?  0 or -EINVAL with a message. */
int iso_name_check(const char *name, size_t len);

#endif
