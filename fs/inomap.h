/*
 * inomap.h - inode numbers that stay the same for the life of a mount.
 *
 * The kernel knows files by node id and shows st_ino; both must name the
 * same file for as long as the filesystem is mounted.  The overlay's inode
 * numbers do not survive a commit: the new session becomes the base and
 * the overlay numbers it afresh.  So the filesystem hands out stable
 * numbers: before the first commit a file's stable number is its overlay
 * inode number (so they also survive a remount of an unchanged disc);
 * at a commit, fs_inomap_capture() records the stable number of every
 * path of the merged view, and fs_inomap_rebase() gives each file of the
 * new overlay the number its path had (the new session was written from
 * that very view, so every path is there).  Files created later get
 * numbers above every number ever handed out; numbers are never reused.
 * A stable number whose file is gone (deleted, or open but unlinked at a
 * commit) maps to inode 0: the caller answers ESTALE.
 *
 * Memory: 16 bytes per number; a capture holds every name of the view
 * for the duration of the commit.
 */
#ifndef CDS_FS_INOMAP_H
#define CDS_FS_INOMAP_H

#include <stdint.h>

struct fs_inomap;
struct fs_inomap_capture;
struct stg_overlay;

int fs_inomap_new(struct fs_inomap **out);
void fs_inomap_free(struct fs_inomap *m);

/* The stable number of overlay inode @ino (assigned on first use); 0 for
 * ino 0 or when memory runs out. */
uint64_t fs_inomap_stable(struct fs_inomap *m, uint64_t ino);

/* The overlay inode of stable number @nr; 0 when it has none. */
uint64_t fs_inomap_ino(const struct fs_inomap *m, uint64_t nr);

/* Forget overlay inode @ino's number (the inode is gone for good). */
void fs_inomap_drop(struct fs_inomap *m, uint64_t ino);

/* Record every path of @ov with its stable number (before a commit). */
int fs_inomap_capture(struct fs_inomap *m, struct stg_overlay *ov,
		      struct fs_inomap_capture **out);

/* After the commit: number the inodes of @ov (the overlay over the new
 * session) by the captured paths; every other old number maps to 0. */
int fs_inomap_rebase(struct fs_inomap *m, struct fs_inomap_capture *c,
		     struct stg_overlay *ov);

void fs_inomap_capture_free(struct fs_inomap_capture *c);

#endif
