/*
 * drive_int.h - what drive.c and the per-profile code (drive_cd.c, later
 * DVD and BD) share: the drive and burn structs, the per-profile ops table
 * and the command helpers.  Not for use outside mmc/.
 */
#ifndef MMC_DRIVE_INT_H
#define MMC_DRIVE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "cdb.h"
#include "drive.h"
#include "transport.h"

struct mmc_drive {
	struct mmc_transport *t;
	unsigned flags;
	char name[256]; /* the device or file, for messages */
	mmc_progress_fn progress;
	void *progress_ctx;
};

struct mmc_profile_ops;

struct mmc_burn {
	struct mmc_drive *d;
	const struct mmc_profile_ops *ops;
	struct mmc_burn_opts opts;
	uint32_t start;	  /* first LBA of the session */
	uint32_t next;	  /* LBA of the next write */
	uint32_t limit;	  /* blocks the session may hold (checked to fit) */
	uint32_t written; /* blocks written so far */
	bool locked;	  /* PREVENT sent */
};

/*
 * How one kind of medium is read and written.  A profile that is readable
 * only leaves the write members NULL.
 */
struct mmc_profile_ops {
	/* Fill sessions, tracks, capacity and the NWA of @out, whose profile
	 * and disc-information fields are set already. */
	int (*layout)(struct mmc_drive *d, const struct mmc_disc_info *di,
		      struct mmc_disc *out);
	/* Blocks per write unit: sessions are rounded up to it. */
	uint32_t write_unit;
	/* Shortest session the medium allows (CD: 300 blocks); shorter data
	 * is padded with zero blocks. */
	uint32_t min_blocks;
	/* Blocks a session costs beyond its data that the NWA accounting
	 * sees (CD TAO: the 2 run-out blocks). */
	uint32_t overhead;
	/* The READ TRACK INFORMATION track number that gives the NWA. */
	uint32_t (*nwa_track)(const struct mmc_disc *disc);
	/* Set write parameters before the first WRITE. */
	int (*begin)(struct mmc_burn *b);
	/* After the last WRITE: flush, close track and session. */
	int (*finish)(struct mmc_burn *b);
	/* Close an open session of complete tracks (cdrecord -fix). */
	int (*close_session)(struct mmc_drive *d, bool multi);
};

/* The ops of @profile; NULL when the profile is not supported at all. */
const struct mmc_profile_ops *mmc_profile_ops(uint16_t profile);

extern const struct mmc_profile_ops mmc_cd_write_ops;
extern const struct mmc_profile_ops mmc_cd_read_ops;

/*
 * Execute @c.  Returns 0 on GOOD (and on RECOVERED ERROR), the transport's
 * error, or the sense mapped to an errno with "OPNAME: message (sense
 * K/AA/QQ)" recorded.  A unit attention (medium may have changed, reset)
 * is retried a few times.
 */
int mmc_drive_run(struct mmc_drive *d, struct mmc_cmd *c);
/* Like mmc_drive_run() but a CHECK CONDITION returns 1 and leaves the
 * sense in c->sense for the caller to judge. */
int mmc_drive_run_sense(struct mmc_drive *d, struct mmc_cmd *c);
/* Like mmc_drive_run(), retrying while the drive says an earlier
 * operation is still in progress (growisofs' CLOSE loop). */
int mmc_drive_run_busy(struct mmc_drive *d, struct mmc_cmd *c);
/* Poll TEST UNIT READY until the drive is ready (mmc-reference 1.4),
 * reporting progress; -ENOMEDIUM "no disc in NAME" without a medium. */
int mmc_drive_wait_ready(struct mmc_drive *d);

int mmc_drive_track_info(struct mmc_drive *d, enum mmc_rti_address type,
			 uint32_t address, struct mmc_track_info *out);
int mmc_drive_disc_info(struct mmc_drive *d, struct mmc_disc_info *out);

/* Wait @ms milliseconds. */
void mmc_sleep_ms(unsigned ms);

#endif
