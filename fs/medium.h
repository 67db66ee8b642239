/*
 * medium.h - the disc a mount or a staging command works on: where its
 * sessions are, who it is (disc id, last session's identity and tag), the
 * tree of a session, file data read through its extents, and the default
 * staging directory that belongs to it.
 *
 * SOURCE is what mount.cdsession takes: a device node or a virtual disc,
 * read through mmc/, which knows where the sessions are.
 */
#ifndef CDS_FS_MEDIUM_H
#define CDS_FS_MEDIUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iso/writer.h"
#include "staging/discid.h"

struct cds_source;
struct iso_node;
struct mmc_disc;
struct mmc_drive;

struct fs_medium {
	struct mmc_drive *drive;
	struct cds_source *src;
	bool writable;	      /* opened with FS_MEDIUM_WRITE */
	unsigned nsessions;   /* complete sessions */
	uint32_t first_start; /* the first session's start */
	uint32_t last_start;  /* the last complete session's start */
	char disc_id[STG_DISC_ID_MAX];
	uint8_t base_id[STG_BASE_ID_SIZE]; /* of the last session */
	char tag[ISO_WRITER_TAG_MAX + 1];  /* its tag, "" when none */
	char *path;
	bool blank_ok;
	struct cds_source *cache; /* in front of src for file data, or NULL */
	bool want_cache;
};

/* fs_medium_open() flags */
#define FS_MEDIUM_WRITE 0x1 /* open the drive for burning (exclusively) */
#define FS_MEDIUM_BLANK                                                        \
	0x2 /* a blank disc is fine: nsessions 0, disc_id                      \
	       "blank", base_id all zero, last_start 0 */

/* Open @path and identify it.  A blank disc without FS_MEDIUM_BLANK:
 * -ENOMEDIUM ("no session on PATH").  Errors carry a message naming
 * @path. */
int fs_medium_open(const char *path, unsigned flags, struct fs_medium **out);

/* Read the sessions and identity again (after a burn). */
int fs_medium_refresh(struct fs_medium *m);
void fs_medium_close(struct fs_medium *m);

/* Read files through a sector cache with read-ahead (fs/cache.h), from now
 * on and after every refresh.  Call it after a daemon's fork: the cache
 * may run a thread. */
int fs_medium_use_cache(struct fs_medium *m);

/* The whole tree of the session at @start (the caller frees it). */
int fs_medium_read_tree(struct fs_medium *m, uint32_t start,
			struct iso_node **root);

/* stg_read_base_fn over the medium: @ctx is the struct fs_medium. */
int fs_medium_read_file(void *ctx, const struct iso_node *n, uint64_t off,
			void *buf, size_t len);

/* "device: DEVICE\nmedium: CD-R, N sessions[, closed| (blank)]\n" and,
 * when there is one, "last session: LBA S[, tag T]\n" into @buf (@cap
 * bytes), as `cdsession status` prints them; @disc is what the drive
 * reported (mmc_drive_disc()). */
void fs_medium_describe(const struct fs_medium *m, const struct mmc_disc *disc,
			const char *device, char *buf, size_t cap);

/* The staging directory: @override when given, else the default one for
 * the disc (staging/store.h). */
int fs_medium_store_dir(const struct fs_medium *m, const char *override,
			char *buf, size_t cap);

#endif
