/*
 * rrip_write.h - SUSP and Rock Ridge entries for the session writer
 * (internal to iso/writer.c).
 *
 * A record's entries are first collected back to back (rr_entries), then
 * rr_place() puts what fits into the record's System Use field and the
 * rest into the directory's continuation areas, with a CE leading there
 * (IEEE P1281 5.1).  No continuation area crosses a block: Linux and
 * isoinfo read a CA as one block (iso9660-reference 3.8), so a long one is
 * chained block to block by CEs.
 */
#ifndef ISO_RRIP_WRITE_H
#define ISO_RRIP_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define RR_SU_BYTES    12288 /* a 4095-byte symlink takes < 8.5 KiB of SL */
#define RR_MAX_ENTRIES 128
#define RR_CE_LEN      28

struct rr_entries {
	uint8_t buf[RR_SU_BYTES];
	uint32_t off[RR_MAX_ENTRIES];
	uint32_t n, len;
};

/* The continuation areas of one directory, after its extent. */
struct rr_area {
	uint8_t *buf; /* NULL while measuring: nothing is written */
	uint32_t lba; /* LBA of the first CA block (when writing) */
	uint32_t off; /* bytes used, block tails included */
};

void rr_reset(struct rr_entries *e);
/* ECMA-119 9.1.5 7-byte date in UTC; years clamped to 1900..2155. */
void rr_dtime(uint8_t out[7], time_t t);

void rr_add_sp(struct rr_entries *e);
void rr_add_er(struct rr_entries *e);
void rr_add_px(struct rr_entries *e, mode_t mode, uint32_t nlink, uid_t uid,
	       gid_t gid, uint64_t serial);
void rr_add_pn(struct rr_entries *e, dev_t rdev);
void rr_add_tf(struct rr_entries *e, const struct timespec *crtime,
	       const struct timespec *mtime, const struct timespec *atime,
	       const struct timespec *ctime);
/*
 * NM and SL split over entries of at most 255 bytes.  @first_max caps the
 * first entry (0: no cap) so that the writer can fill the record's own
 * System Use field and put only the rest in a continuation area:
 * readers that do not follow CE (libcdio's iso-info crashes on a symlink
 * whose SL lies wholly in a CA) then still see a name and a target.
 */
void rr_add_nm(struct rr_entries *e, const char *name, size_t len,
	       size_t first_max);
void rr_add_sl(struct rr_entries *e, const char *target, size_t first_max);
void rr_add_cl(struct rr_entries *e, uint32_t lba);
void rr_add_pl(struct rr_entries *e, uint32_t lba);
void rr_add_re(struct rr_entries *e);

/*
 * Place @e: at most @avail bytes into @su (NULL while measuring), the rest
 * into @ca behind a CE.  Returns the bytes used in @su.
 */
size_t rr_place(const struct rr_entries *e, uint8_t *su, size_t avail,
		struct rr_area *ca);

#endif
