/*
 * drive.h - one API for a burner, whatever is behind it.
 *
 * Open a device node (SG_IO) or a virtual disc file (the emulator), ask
 * what is in it (profile, disc status, sessions, tracks, next writable
 * address, free space), read sectors, write a session, close a track or
 * session, finalize, blank, eject.  Medium-specific behaviour (CD TAO now,
 * DVD+R, DVD-R and BD-R later) sits behind these same calls in a per-
 * profile ops table inside drive.c, so callers never test the profile.
 *
 * Every function returns 0 or a negative errno and, on failure, records a
 * one-line message (common/error.h) a user can act on, e.g. "disc is
 * closed (finalized); no more sessions can be written".
 */
#ifndef MMC_DRIVE_H
#define MMC_DRIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "mmc_const.h"
#include "transport.h"

struct cds_source;
struct mmc_drive;

struct mmc_drive_id {
	char vendor[9], product[17], revision[5]; /* INQUIRY, trimmed */
	uint8_t device_type;			  /* 5 = CD/DVD */
};

/* A track of the disc as the TOC shows it (closed sessions) or as READ
 * TRACK INFORMATION shows it (the open session). */
struct mmc_track {
	uint16_t number, session;
	uint32_t start;	  /* first LBA */
	uint32_t blocks;  /* span up to the next track / lead-out; on CD TAO
			     this includes the 2 run-out blocks */
	uint8_t control;  /* TOC CONTROL nibble: 4 = data */
	bool complete;	  /* closed; false for a track being written */
	bool damaged;	  /* left incomplete by an interrupted write */
	bool continuable; /* damaged, and the drive can continue it at nwa
			     (READ TRACK INFORMATION NWA_V) */
	uint32_t nwa;	  /* its next writable address when continuable */
};

struct mmc_session {
	uint16_t number;
	uint16_t first_track, last_track;
	uint32_t start;	  /* start of its first track */
	uint32_t leadout; /* A2: its lead-out start (end of its last track) */
	bool complete;
};

#define MMC_MAX_SESSIONS 160
#define MMC_MAX_TRACKS	 160

struct mmc_disc {
	uint16_t profile; /* enum mmc_profile; MMC_PROFILE_NONE if no medium */
	const char *media_name;	     /* "CD-R", "CD-RW", ... */
	enum mmc_disc_status status; /* empty / appendable / finalized */
	enum mmc_session_state last_session_state;
	bool erasable;
	/* sessions[0..nsessions) are the recorded ones: complete, plus an
	 * incomplete last one with tracks if a burn was interrupted */
	unsigned nsessions;
	struct mmc_session sessions[MMC_MAX_SESSIONS];
	unsigned ntracks;
	struct mmc_track tracks[MMC_MAX_TRACKS];
	bool nwa_valid;	       /* a new track can be written at nwa */
	uint32_t nwa;	       /* next writable address */
	uint32_t free_blocks;  /* from nwa up to the last possible lead-out */
	uint32_t capacity;     /* last possible lead-out start (ATIP on CD) */
	int32_t lead_in_start; /* ATIP lead-in start LBA (CD), else 0 */
	uint16_t next_track;   /* number of the invisible track */
};

/* Open flags */
#define MMC_DRIVE_READ_ONLY 0x1 /* never send write-type commands */
#define MMC_DRIVE_EXCL	    0x2 /* O_EXCL on device nodes */

/*
 * Open @device: a block or sg device node goes through SG_IO, a regular
 * file must be a virtual disc (emulator).  Waits for the drive to become
 * ready (TEST UNIT READY polling, as burners do).
 */
int mmc_drive_open(const char *device, unsigned flags, struct mmc_drive **out);

/* Use an already opened transport; the drive owns it from now on (also
 * on failure). */
int mmc_drive_open_transport(struct mmc_transport *t, unsigned flags,
			     struct mmc_drive **out);
void mmc_drive_close(struct mmc_drive *d);

/*
 * The default burner as libcdio finds it (cdrecord picks one the same
 * way), written into @buf.  -ENODEV with a message if there is none.
 */
int mmc_drive_default_device(char *buf, size_t len);

int mmc_drive_identify(struct mmc_drive *d, struct mmc_drive_id *out);

/* What is in the drive.  A drive without a medium: -ENOMEDIUM. */
int mmc_drive_disc(struct mmc_drive *d, struct mmc_disc *out);

/*
 * The two numbers of `cdrecord -msinfo`: start of the last complete
 * session (READ TOC format 1) and the next writable address (READ TRACK
 * INFORMATION of the invisible track).  Fails with a message on a blank
 * or finalized disc, as cdrecord does.
 */
int mmc_drive_msinfo(struct mmc_drive *d, uint32_t *last_start,
		     uint32_t *next_start);

/* READ(10) @count 2048-byte sectors at @lba. */
int mmc_drive_read(struct mmc_drive *d, uint32_t lba, uint32_t count,
		   void *buf);

/* The drive's sectors as a source (for iso/); nsectors = lead-out of the
 * last complete session.  The source borrows @d. */
int mmc_drive_source(struct mmc_drive *d, struct cds_source **out);

struct mmc_burn_opts {
	bool multi;	/* leave the disc appendable (cdrecord -multi) */
	bool dummy;	/* test write: the laser stays off */
	unsigned speed; /* in "x" of the medium; 0 = maximum */
};

struct mmc_burn;

/*
 * Start a new session of @nblocks sectors at the next writable address:
 * checks the medium is writable and the data fits (before anything is
 * written), sets the write parameters, speed and tray lock.
 * mmc_burn_start_lba() tells where the first block goes (the address an
 * image must be mastered for).
 */
int mmc_burn_begin(struct mmc_drive *d, const struct mmc_burn_opts *opts,
		   uint32_t nblocks, struct mmc_burn **out);
uint32_t mmc_burn_start_lba(const struct mmc_burn *b);

/*
 * Finish a session that an interrupted burn cut off, on a drive that
 * reports the cut-off track as continuable (READ TRACK INFORMATION
 * Damage=1 NWA_V=1, mmc-reference 2.5): the disc's last session is
 * incomplete, its last track is that one and starts at @start, and the
 * session is to be @nblocks long from @start.  The burn is positioned at
 * the track's NWA (mmc_burn_next_lba()); mmc_burn_start_lba() is @start.
 * mmc_burn_write() continues from the NWA and mmc_burn_finish() closes
 * the track and the session as opts->multi says.  Anything else (no such
 * track, NWA_V=0, another start, an NWA beyond @nblocks): -EUCLEAN or
 * -EINVAL with a message, and nothing is sent that writes.
 */
int mmc_burn_resume(struct mmc_drive *d, const struct mmc_burn_opts *opts,
		    uint32_t start, uint32_t nblocks, struct mmc_burn **out);

/* Where the next mmc_burn_write() goes. */
uint32_t mmc_burn_next_lba(const struct mmc_burn *b);

/* Write the next @count blocks (count * 2048 bytes). */
int mmc_burn_write(struct mmc_burn *b, const void *buf, uint32_t count);

/* After all blocks: flush, close the track and the session (appendable or
 * final as opts->multi says), release the tray.  Frees @b. */
int mmc_burn_finish(struct mmc_burn *b);

/* Give up: release the tray and free @b; the disc keeps what reached it. */
void mmc_burn_abort(struct mmc_burn *b);

/* Close the open session of the disc (finalizing when !multi). -ENOENT
 * with a message when there is no open session to close. */
int mmc_drive_close_session(struct mmc_drive *d, bool multi);

/* Blank an erasable disc: @all erases every block, else minimal (TOC and
 * PMA only), as cdrecord blank=all / blank=fast. */
int mmc_drive_blank(struct mmc_drive *d, bool all);

/* Blank the last session of an erasable disc (BLANK type 6): how a CD-RW
 * whose last track was cut off by an interrupted burn takes sessions
 * again. */
int mmc_drive_blank_session(struct mmc_drive *d);

/* Unlock and open the tray. */
int mmc_drive_eject(struct mmc_drive *d);

/* Long-operation progress callback, 0..1; may be NULL. */
typedef void (*mmc_progress_fn)(double fraction, void *ctx);
void mmc_drive_set_progress(struct mmc_drive *d, mmc_progress_fn fn, void *ctx);

/* Name of a profile for humans ("CD-R", "DVD+R", "no medium"). */
const char *mmc_profile_name(uint16_t profile);

#endif
