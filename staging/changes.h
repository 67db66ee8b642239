/*
 * changes.h - what is staged over the base session: the changes of the
 * overlay's merged view against the base tree, for `cdsession staging
 * list|export`, for `cdsession status` (a count and the bytes of new
 * data) and for the commit's "is there anything to burn?".  One walk
 * answers all three, so they can not disagree.
 *
 * A change is one path with one or more letters:
 *   A  added: an inode that is not in the base (a new file, or a base name
 *      deleted and made again: then also a D at the same path)
 *   R  renamed or moved: a base inode at a path where the base had another
 *      inode or nothing (old_path is one of its base paths; a new name of
 *      a base file shows as R too, its old name staying where it was)
 *   M  data changed (copied up or written)
 *   m  attributes changed: type, permissions, owner; for non-directories
 *      also size and modification time (stg_origin())
 *   D  deleted: a base name that is no longer in the view (its path is the
 *      base's), anything below a deleted directory too unless moved away
 * A path carries A or R first, then M, then m ("RMm"); D stands alone.
 * The root's own attributes (a chmod of the mount point) are "m /".
 * A base hard link (several names, one Rock Ridge serial, one overlay
 * inode) is unchanged at each of its base names still present, deleted
 * at each one gone.  The order of a directory's entries is no change: the
 * writer sorts them, so a rename back and forth burns nothing.
 *
 * Cost: one pass over the merged view and one over the base tree, with
 * a sort of what was seen: O(n log n) for n entries; a base directory of
 * more than a few entries gets a sorted index of its names while it is
 * walked.  Recursion is one small frame per level; the view nests at most
 * 2048 levels (deeper is -ELOOP).  The overlay is not thread-safe: call
 * with whatever serialises its other calls held.
 */
#ifndef CDS_STAGING_CHANGES_H
#define CDS_STAGING_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iso/node.h"
#include "staging/overlay.h"

struct stg_change {
	const char *path;     /* from the root, "/a/b"; D: the base's path */
	const char *old_path; /* R: a base path of the inode; else NULL */
	char flags[4];	      /* NUL-terminated letters, as above */
	uint64_t ino;	      /* the overlay inode; 0 for D */
};

struct stg_changes;

/*
 * Every change of @ov's view against @base_root, sorted by path (bytes),
 * a D before whatever now has the same path.  Paths are limited to
 * PATH_MAX: longer is -ENAMETOOLONG "PATH: path too long".  0 or a
 * negative errno (-ENOMEM, the overlay's errors).
 */
int stg_changes_collect(struct stg_overlay *ov,
			const struct iso_node *base_root,
			struct stg_changes **out);
size_t stg_changes_count(const struct stg_changes *c);
/* Change @i < stg_changes_count(); valid until stg_changes_free(). */
const struct stg_change *stg_changes_at(const struct stg_changes *c, size_t i);
/* NULL ok. */
void stg_changes_free(struct stg_changes *c);

/*
 * What stg_changes_collect() would list, without building it: *@count
 * changes and *@bytes of new data, the sizes of the regular files that
 * are A or carry M, a hard-linked inode once (as the session writes it).
 * No path limit.
 */
int stg_changes_summary(struct stg_overlay *ov,
			const struct iso_node *base_root, uint64_t *count,
			uint64_t *bytes);

/*
 * *@changed when a commit has anything to burn: the list would not be
 * empty.  Stops at the first
 * difference; keeps no list.
 */
int stg_changes_any(struct stg_overlay *ov, const struct iso_node *base_root,
		    bool *changed);

#endif
