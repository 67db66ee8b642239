/*
 * emu.c - a file-backed CD-R / CD-RW drive: an MMC target.
 *
 * Each CDB is decoded and checked field by field; replies are built in
 * full and truncated to min(allocation length, transfer length) with the
 * true length left in the header; failures are CHECK CONDITION with
 * fixed-format sense (decoded and raw), remembered for REQUEST SENSE.
 * The medium model (tracks, sessions, NWA) is in emu_state.c; page 05,
 * the tray, the pending sense and the test-write shadow NWA live only in
 * memory, as in a drive.
 *
 * Modelling choices where mmc-reference marks the real behaviour
 * [unverified] or leaves a choice open:
 *  - WRITE to a finalized disc: 05/21/02 (no valid NWA), the same as
 *    WRITE behind a damaged track or on a full disc.  WRITE past the last
 *    possible lead-out: 05/63/00 (end of user area).
 *  - READ of an unrecorded block (blank disc, past the recorded area, the
 *    gaps between sessions): 05/21/00; READ of a TAO run-out block or of
 *    the 150-block pregap before a later track of a session: 05/64/00.
 *  - READ CAPACITY: A2 - 1 of the last complete session (2.8 note; the
 *    run-out is included); 0 when no session is complete.
 *  - RTI Track Size of a closed TAO track excludes the 2 run-out blocks
 *    (as the public firmware does); the TOC span includes them.
 *  - A second TAO track of a session starts at S + N + 2 + 150.
 *  - Raw TOC: B0 in every session while another may follow (ATIME = next
 *    program area = next NWA - 150, PMSF = last possible lead-out);
 *    B0 = FF:FF:FF in the last session when it was finalized with
 *    multi = 01, none with multi = 00; C0 in session 1 with PMSF = ATIP
 *    lead-in start, other bytes 0.
 *  - READ TOC on a disc without a complete session: 05/24/00.
 *  - CLOSE SESSION with no open session holding a complete track (blank
 *    disc, or an appendable disc whose next session is still empty):
 *    05/2C/00 -- a real CD-R cannot finalize an empty session because its
 *    lead-in is already written.  A session holding a damaged track:
 *    05/72/03 (the key of ASC 72 is unverified; 5 = nothing was done).
 *    CLOSE SESSION while a track is still open closes that track first.
 *  - BLANK on CD-R: 05/30/05.  Types 0 (all), 1 (minimal), 5 (unclose the
 *    last session) and 6 (blank the last session, repairs a damaged
 *    track) are implemented; 2, 3, 4 get 05/24/00.
 *  - Eject while PREVENT is active: 05/53/02.  Ejecting with a track open
 *    leaves it damaged, as a power loss does.
 *  - A track cut off (power loss, crash, eject) is by default damaged with
 *    NWA_V = 0: nothing can follow it.  With the option cut-continuable
 *    the drive reports it as 2.5 allows, "may be continued": Damage = 1,
 *    NWA_V = 1, NWA = start + the blocks the persisted state holds (it may
 *    lag the data file: those blocks are simply written again), Track
 *    Size and free blocks as for an open track.  A WRITE exactly at that
 *    NWA opens the track again, SYNCHRONIZE CACHE closes it; CLOSE
 *    SESSION before that still gets 05/72/03, a WRITE elsewhere
 *    05/21/02.  The choice is recorded with the track when its first
 *    WRITE opens it, so it survives reopening the file without the
 *    option.
 *  - WRITE whose data-out buffer is shorter than its transfer length:
 *    05/24/00.  A data-in command whose buffer is shorter than its
 *    allocation length transfers what fits and reports the rest in resid.
 *  - MODE SELECT page 05 must carry page length 0x32 (the length MODE
 *    SENSE reports), write type TAO, a data track mode, data block type
 *    8 or 10, multi-session 00/01/11, session format 00/10/20; anything
 *    else is 05/26/00.  Page 2A and other pages are 05/26/00.  Saved
 *    values (PC 11, SP) are not supported: 05/24/00.
 *  - Test write: WRITEs advance a shadow NWA in memory only; SYNC and
 *    CLOSE succeed and reset the shadow; faults are not injected.
 *  - No 06/28/00 unit attention after load (off, as the brief allows):
 *    a media event (GET EVENT STATUS, class media) reports the change.
 *  - During an IMMED operation TEST UNIT READY and every medium-access
 *    command get 02/04/07 with progress; INQUIRY, REQUEST SENSE, GET
 *    CONFIGURATION and GET EVENT STATUS are answered.
 */
#include "emu.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"
#include "emu_state.h"
#include "mmc_const.h"

#define EMU_PAGE05_LEN	   0x32
#define EMU_PAGE2A_SPEEDS  5
#define EMU_PAGE2A_LEN	   (30 + 4 * EMU_PAGE2A_SPEEDS)
#define EMU_CD_1X_KBS	   176 /* 176.4 kB/s, rounded down as drives do */
#define EMU_BLOCKS_PER_SEC 75u
#define EMU_PERSIST_EVERY                                                      \
	16384u /* blocks: 32 MiB; more often costs                             \
		* burn throughput (measured 0.7 of dd                          \
		* at 2 MiB) */
#define EMU_BUFFER_BYTES (2u * 1024 * 1024)
#define EMU_MAX_TRANSFER (1024u * 1024)
#define EMU_REPLY_MAX	 8192
#define EMU_NS		 1000000000ull
/* Blocks a closing session writes: lead-in + lead-out (3.1). */
#define EMU_LEAD_IN 4500u
/* Media event codes (GET EVENT STATUS, class media) */
#define EMU_EVENT_NONE	    0
#define EMU_EVENT_NEW_MEDIA 2
#define EMU_EVENT_REMOVAL   3

static const unsigned emu_write_speeds[EMU_PAGE2A_SPEEDS] = {48, 32, 24, 16, 8};

struct mmc_emu {
	pthread_mutex_t lock; /* around every execute; protects all below */
	char *path;
	int fd;
	off_t trailer_off;
	struct mmc_emu_options opt;
	struct emu_medium m;
	uint64_t seq;		/* sequence number of the newest slot */
	uint32_t since_persist; /* blocks written since the last persist */
	int64_t written;	/* sectors written since open (power cut) */
	bool dead;		/* power cut: every command fails */
	bool tray_open, prevent;
	uint8_t event; /* pending media event */
	uint8_t page05[2 + EMU_PAGE05_LEN];
	uint16_t read_kbs, write_kbs; /* SET CD SPEED; 0xFFFF = maximum */
	uint8_t sense[18];	      /* last sense, for REQUEST SENSE */
	bool have_sense;
	bool sim_valid; /* test write: shadow NWA in use */
	bool sim_track_open;
	uint32_t sim_nwa;
	uint64_t busy_start, busy_until; /* IMMED operation, monotonic ns */
	uint64_t pace_start, pace_due, pace_blocks;
	uint8_t reply[EMU_REPLY_MAX];
};

/* ---- options and media names ---------------------------------------- */

int mmc_emu_media_parse(const char *name, enum mmc_emu_media *out)
{
	if (strcmp(name, "cdr74") == 0)
		*out = MMC_EMU_CDR74;
	else if (strcmp(name, "cdr80") == 0 || strcmp(name, "cdr") == 0)
		*out = MMC_EMU_CDR80;
	else if (strcmp(name, "cdrw") == 0)
		*out = MMC_EMU_CDRW;
	else
		return cds_error(
		    -EINVAL, "unknown media '%s' (use cdr74, cdr80 or cdrw)",
		    name);
	return 0;
}

const char *mmc_emu_media_name(enum mmc_emu_media media)
{
	switch (media) {
	case MMC_EMU_CDR74:
		return "cdr74";
	case MMC_EMU_CDR80:
		return "cdr80";
	case MMC_EMU_CDRW:
		return "cdrw";
	}
	return "unknown";
}

void mmc_emu_options_init(struct mmc_emu_options *o)
{
	memset(o, 0, sizeof(*o));
	o->write_error_lba = -1;
	o->power_cut_after = -1;
}

static int parse_number(const char *s, size_t len, int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

int mmc_emu_options_parse(struct mmc_emu_options *o, const char *spec)
{
	const char *p = spec;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		const char *val = eq ? eq + 1 : NULL;
		size_t vlen = eq ? len - klen - 1 : 0;
		int64_t v;

		if (len == 0) {
			p = end ? end + 1 : NULL;
			continue;
		}
		if (klen == 5 && memcmp(p, "speed", 5) == 0 && val &&
		    parse_number(val, vlen, 1000, &v) == 0)
			o->speed_x = (unsigned)v;
		else if (klen == 11 && memcmp(p, "write-error", 11) == 0 &&
			 val && parse_number(val, vlen, INT32_MAX, &v) == 0)
			o->write_error_lba = v;
		else if (klen == 9 && memcmp(p, "power-cut", 9) == 0 && val &&
			 parse_number(val, vlen, INT64_MAX / 2, &v) == 0)
			o->power_cut_after = v;
		else if (klen == 2 && memcmp(p, "ro", 2) == 0 && !val)
			o->read_only = true;
		else if (klen == 15 && memcmp(p, "cut-continuable", 15) == 0 &&
			 !val)
			o->cut_continuable = true;
		else
			return cds_error(-EINVAL,
					 "bad emulator option '%.*s' (use "
					 "speed=X, write-error=LBA, "
					 "power-cut=SECTORS, cut-continuable, "
					 "ro)",
					 (int)len, p);
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* ---- small helpers --------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * EMU_NS + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / EMU_NS),
			      .tv_nsec = (long)(ns % EMU_NS)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* LBA -> M, S, F (mmc-reference 2.4; negative LBAs are the lead-in). */
static void put_msf(uint8_t *p, int32_t lba)
{
	int64_t v = lba >= -150 ? (int64_t)lba + 150 : (int64_t)lba + 450150;

	p[0] = (uint8_t)(v / (60 * 75));
	p[1] = (uint8_t)(v / 75 % 60);
	p[2] = (uint8_t)(v % 75);
}

/* A 4-byte address field: LBA, or 0,M,S,F when @msf. */
static void put_addr(uint8_t *p, int32_t lba, bool msf)
{
	if (msf) {
		p[0] = 0;
		put_msf(p + 1, lba);
	} else {
		cds_put_be32(p, (uint32_t)lba);
	}
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			memset(p, 0, len);
			return 0;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static uint32_t capacity(const struct mmc_emu *emu)
{
	return emu_media_capacity(emu->m.media);
}

/* ---- sense and replies ----------------------------------------------- */

static int check_full(struct mmc_emu *emu, struct mmc_cmd *cmd, uint8_t key,
		      unsigned asc, bool info_valid, uint32_t info,
		      bool progress_valid, uint16_t progress)
{
	uint8_t *s = emu->sense;

	memset(s, 0, sizeof(emu->sense));
	s[0] = 0x70 | (info_valid ? 0x80 : 0);
	s[2] = key & 0x0F;
	cds_put_be32(s + 3, info);
	s[7] = 10;
	s[12] = (uint8_t)(asc >> 8);
	s[13] = (uint8_t)asc;
	if (progress_valid) {
		s[15] = 0x80; /* SKSV */
		cds_put_be16(s + 16, progress);
	}
	emu->have_sense = true;
	cmd->status = MMC_STATUS_CHECK_CONDITION;
	cmd->sense.valid = true;
	cmd->sense.key = key;
	cmd->sense.asc = (uint8_t)(asc >> 8);
	cmd->sense.ascq = (uint8_t)asc;
	cmd->sense.info_valid = info_valid;
	cmd->sense.info = info;
	cmd->sense.progress_valid = progress_valid;
	cmd->sense.progress = progress;
	memcpy(cmd->sense.raw, s, sizeof(emu->sense));
	cmd->sense.raw_len = sizeof(emu->sense);
	return 0;
}

static int check(struct mmc_emu *emu, struct mmc_cmd *cmd, uint8_t key,
		 unsigned asc)
{
	return check_full(emu, cmd, key, asc, false, 0, false, 0);
}

static int bad_cdb(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
		     MMC_ASC_INVALID_FIELD_IN_CDB);
}

static int bad_param(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
		     MMC_ASC_INVALID_FIELD_IN_PARAMETERS);
}

static size_t in_len(const struct mmc_cmd *cmd)
{
	return cmd->dir == MMC_DIR_FROM_DEV && cmd->buf ? cmd->len : 0;
}

static size_t out_len(const struct mmc_cmd *cmd)
{
	return cmd->dir == MMC_DIR_TO_DEV && cmd->buf ? cmd->len : 0;
}

/* Send @total bytes of emu->reply, cut to the allocation length. */
static int reply(struct mmc_emu *emu, struct mmc_cmd *cmd, size_t total,
		 size_t alloc)
{
	size_t n = total;

	if (n > alloc)
		n = alloc;
	if (n > in_len(cmd))
		n = in_len(cmd);
	if (n)
		memcpy(cmd->buf, emu->reply, n);
	cmd->resid = cmd->len - n;
	return 0;
}

/* The progress of an IMMED operation, or false when none is running. */
static bool busy(struct mmc_emu *emu, uint16_t *progress)
{
	uint64_t now;

	if (!emu->busy_until)
		return false;
	now = now_ns();
	if (now >= emu->busy_until) {
		emu->busy_until = 0;
		return false;
	}
	*progress = (uint16_t)((now - emu->busy_start) * 65536 /
			       (emu->busy_until - emu->busy_start + 1));
	return true;
}

static int not_ready_busy(struct mmc_emu *emu, struct mmc_cmd *cmd,
			  uint16_t progress)
{
	return check_full(emu, cmd, MMC_SK_NOT_READY,
			  MMC_ASC_OPERATION_IN_PROGRESS, false, 0, true,
			  progress);
}

/* Medium present?  Otherwise answer 02/3A/02 (the tray is open). */
static bool need_medium(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	if (!emu->tray_open)
		return true;
	check(emu, cmd, MMC_SK_NOT_READY, MMC_ASC_MEDIUM_NOT_PRESENT_TRAY_OPEN);
	return false;
}

/* A write-type command on a medium we may change? */
static bool need_writable(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	if (!need_medium(emu, cmd))
		return false;
	if (!emu->opt.read_only)
		return true;
	check(emu, cmd, MMC_SK_DATA_PROTECT, MMC_ASC_WRITE_PROTECTED);
	return false;
}

/* ---- persistence and timing ------------------------------------------ */

/* Write the next slot; @durable flushes the data before and the slot
 * after (SYNC, CLOSE, BLANK), so the state never runs ahead of the data
 * it describes. */
static int persist(struct mmc_emu *emu, bool durable)
{
	uint8_t slot[EMU_SLOT_SIZE];
	uint64_t seq = emu->seq + 1;
	off_t off = emu->trailer_off + (off_t)(seq % 2) * EMU_SLOT_SIZE;
	int rc;

	if (durable && fdatasync(emu->fd) != 0)
		goto fail_errno;
	emu_state_encode_slot(&emu->m, seq, slot);
	rc = pwrite_all(emu->fd, slot, sizeof(slot), off);
	if (rc)
		return cds_error(rc,
				 "virtual disc %s: cannot store the medium "
				 "state: %s",
				 emu->path, strerror(-rc));
	if (durable && fdatasync(emu->fd) != 0)
		goto fail_errno;
	emu->seq = seq;
	emu->since_persist = 0;
	return 0;
fail_errno:
	rc = -errno;
	return cds_error(rc, "virtual disc %s: fdatasync: %s", emu->path,
			 strerror(errno));
}

/* The speed writes are paced to: the option, lowered by SET CD SPEED. */
static unsigned pace_speed(const struct mmc_emu *emu)
{
	unsigned x = emu->opt.speed_x;

	if (x && emu->write_kbs != 0xFFFF) {
		unsigned set = emu->write_kbs / EMU_CD_1X_KBS;
		if (set == 0)
			set = 1;
		if (set < x)
			x = set;
	}
	return x;
}

static uint64_t blocks_ns(const struct mmc_emu *emu, uint64_t blocks)
{
	unsigned x = pace_speed(emu);

	return x ? blocks * EMU_NS / (EMU_BLOCKS_PER_SEC * x) : 0;
}

/* Keep the average write rate at the paced speed (1x = 75 blocks/s). */
static void pace(struct mmc_emu *emu, uint32_t blocks)
{
	uint64_t now, due;

	if (!pace_speed(emu))
		return;
	now = now_ns();
	/* after an idle second, start a new averaging window */
	if (!emu->pace_start || now > emu->pace_due + EMU_NS) {
		emu->pace_start = now;
		emu->pace_blocks = 0;
	}
	emu->pace_blocks += blocks;
	due = emu->pace_start + blocks_ns(emu, emu->pace_blocks);
	emu->pace_due = due;
	if (due > now)
		sleep_ns(due - now);
}

/* A long operation of @blocks written at the paced speed: IMMED returns
 * at once and TEST UNIT READY reports progress; otherwise it takes the
 * time.  Unpaced: done at once. */
static void long_op(struct mmc_emu *emu, bool immed, uint64_t blocks)
{
	uint64_t ns = blocks_ns(emu, blocks);

	if (!ns)
		return;
	if (immed) {
		emu->busy_start = now_ns();
		emu->busy_until = emu->busy_start + ns;
	} else {
		sleep_ns(ns);
	}
}

/* ---- the page 05 (write parameters) ---------------------------------- */

static void page05_defaults(uint8_t *p)
{
	memset(p, 0, 2 + EMU_PAGE05_LEN);
	p[0] = MMC_PAGE_WRITE_PARAMETERS;
	p[1] = EMU_PAGE05_LEN;
	p[2] = MMC_WRITE_TAO;
	p[3] = 0x04; /* multi 00, track mode 4 (data, uninterrupted) */
	p[4] = 8;    /* mode 1, 2048 bytes */
	cds_put_be16(p + 14, MMC_CD_PREGAP);
}

static bool test_write(const struct mmc_emu *emu)
{
	return emu->page05[2] & 0x10;
}

static unsigned page05_multi(const struct mmc_emu *emu)
{
	return emu->page05[3] >> 6;
}

static void sim_reset(struct mmc_emu *emu)
{
	emu->sim_valid = false;
	emu->sim_track_open = false;
}

/* ---- open / close / create ------------------------------------------- */

static int read_trailer(int fd, const char *path, struct emu_medium *m,
			uint64_t *seq, off_t *trailer)
{
	uint8_t buf[EMU_TRAILER_SIZE];
	struct stat st;
	off_t off;
	int rc;

	if (fstat(fd, &st) != 0)
		return cds_error(-errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)EMU_TRAILER_SIZE ||
	    (st.st_size - (off_t)EMU_TRAILER_SIZE) % EMU_BLOCK != 0)
		return cds_error(-EMEDIUMTYPE,
				 "%s is not a cdsession virtual disc", path);
	off = st.st_size - (off_t)EMU_TRAILER_SIZE;
	rc = pread_all(fd, buf, sizeof(buf), off);
	if (rc)
		return cds_error(rc, "%s: %s", path, strerror(-rc));
	rc = emu_state_decode_trailer(buf, sizeof(buf), m, seq);
	if (rc == -EMEDIUMTYPE)
		return cds_error(rc, "%s is not a cdsession virtual disc",
				 path);
	if (rc)
		return cds_error(rc,
				 "virtual disc %s: medium state damaged (both "
				 "copies fail their checksum)",
				 path);
	if (off != (off_t)emu_media_capacity(m->media) * EMU_BLOCK)
		return cds_error(-EUCLEAN,
				 "virtual disc %s: file size does not match "
				 "its medium (%s); was it truncated?",
				 path, mmc_emu_media_name(m->media));
	*trailer = off;
	return 0;
}

int mmc_emu_probe(const char *path)
{
	struct emu_medium m;
	uint64_t seq;
	off_t off;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return cds_error(-errno, "%s: %s", path, strerror(errno));
	rc = read_trailer(fd, path, &m, &seq, &off);
	close(fd);
	return rc;
}

int mmc_emu_create(const char *path, enum mmc_emu_media media)
{
	uint8_t slot[EMU_SLOT_SIZE];
	struct emu_medium m;
	off_t off = (off_t)emu_media_capacity(media) * EMU_BLOCK;
	int fd, rc = 0;

	if ((unsigned)media > MMC_EMU_CDRW)
		return cds_error(-EINVAL, "unknown media type %d", (int)media);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		if (rc == -EEXIST)
			return cds_error(rc,
					 "%s already exists; not "
					 "overwriting it",
					 path);
		return cds_error(rc, "cannot create %s: %s", path,
				 strerror(errno));
	}
	if (ftruncate(fd, off + (off_t)EMU_TRAILER_SIZE) != 0) {
		rc = -errno;
		cds_error(rc, "cannot size %s: %s", path, strerror(errno));
		goto out;
	}
	emu_medium_init(&m, media);
	/* both slots valid from the start: seq 1 in slot 1, seq 2 in 0 */
	for (uint64_t seq = 1; seq <= 2 && !rc; seq++) {
		emu_state_encode_slot(&m, seq, slot);
		rc = pwrite_all(fd, slot, sizeof(slot),
				off + (off_t)(seq % 2) * EMU_SLOT_SIZE);
	}
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (rc)
		cds_error(rc, "cannot write %s: %s", path, strerror(-rc));
out:
	close(fd);
	if (rc)
		unlink(path);
	return rc;
}

int mmc_emu_open(const char *path, const struct mmc_emu_options *o,
		 struct mmc_emu **out)
{
	struct mmc_emu *emu;
	int rc;

	emu = calloc(1, sizeof(*emu));
	if (!emu)
		return cds_error(-ENOMEM, "out of memory");
	if (o)
		emu->opt = *o;
	else
		mmc_emu_options_init(&emu->opt);
	emu->path = strdup(path);
	if (!emu->path) {
		free(emu);
		return cds_error(-ENOMEM, "out of memory");
	}
	emu->fd =
	    open(path, (emu->opt.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (emu->fd < 0) {
		rc = cds_error(-errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	rc = read_trailer(emu->fd, path, &emu->m, &emu->seq, &emu->trailer_off);
	if (rc)
		goto fail;
	/* a track open when the last user let go was cut off (4.1) */
	if (emu->m.ntracks &&
	    emu->m.tracks[emu->m.ntracks - 1].state == EMU_TRACK_OPEN)
		emu->m.tracks[emu->m.ntracks - 1].state = EMU_TRACK_DAMAGED;
	page05_defaults(emu->page05);
	emu->read_kbs = emu->write_kbs = 0xFFFF;
	pthread_mutex_init(&emu->lock, NULL);
	*out = emu;
	return 0;
fail:
	if (emu->fd >= 0)
		close(emu->fd);
	free(emu->path);
	free(emu);
	return rc;
}

void mmc_emu_close(struct mmc_emu *emu)
{
	if (!emu)
		return;
	pthread_mutex_destroy(&emu->lock);
	close(emu->fd);
	free(emu->path);
	free(emu);
}

/* ---- identification and configuration -------------------------------- */

static int cmd_inquiry(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	uint8_t *r = emu->reply;

	if (cmd->cdb[1] & 0x01 || cmd->cdb[2])
		return bad_cdb(emu, cmd); /* no VPD pages */
	memset(r, 0, 36);
	r[0] = 0x05;   /* CD/DVD device */
	r[1] = 0x80;   /* removable */
	r[2] = 0x05;   /* SPC-3 */
	r[3] = 0x02;   /* response data format */
	r[4] = 36 - 5; /* additional length */
	memcpy(r + 8, "CDSESSN ", 8);
	memcpy(r + 16, "Virtual CD-RW   ", 16);
	memcpy(r + 32, "1.0 ", 4);
	return reply(emu, cmd, 36, cds_get_be16(cmd->cdb + 3));
}

static int cmd_request_sense(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	uint16_t progress;

	if (cmd->cdb[1] & 0x01)
		return bad_cdb(emu, cmd); /* descriptor format */
	memset(emu->reply, 0, 18);
	if (busy(emu, &progress)) {
		emu->reply[0] = 0x70;
		emu->reply[2] = MMC_SK_NOT_READY;
		emu->reply[7] = 10;
		emu->reply[12] = MMC_ASC_OPERATION_IN_PROGRESS >> 8;
		emu->reply[13] = MMC_ASC_OPERATION_IN_PROGRESS & 0xFF;
		emu->reply[15] = 0x80;
		cds_put_be16(emu->reply + 16, progress);
	} else if (emu->have_sense) {
		memcpy(emu->reply, emu->sense, 18);
	} else {
		emu->reply[0] = 0x70;
		emu->reply[7] = 10;
	}
	emu->have_sense = false;
	return reply(emu, cmd, 18, cmd->cdb[4]);
}

static uint16_t current_profile(const struct mmc_emu *emu)
{
	if (emu->tray_open)
		return MMC_PROFILE_NONE;
	return emu->m.media == MMC_EMU_CDRW ? MMC_PROFILE_CD_RW
					    : MMC_PROFILE_CD_R;
}

struct feature_ctx {
	uint8_t rt;
	uint16_t start;
	size_t n;
};

/* Append a feature descriptor if the request type selects it. */
static void add_feature(struct mmc_emu *emu, struct feature_ctx *c,
			uint16_t code, unsigned version, bool persistent,
			bool current, const uint8_t *data, uint8_t len)
{
	uint8_t *p = emu->reply + c->n;

	if (c->rt == 2 ? code != c->start : code < c->start)
		return;
	if (c->rt == 1 && !current)
		return;
	cds_put_be16(p, code);
	p[2] =
	    (uint8_t)(version << 2 | (persistent ? 2 : 0) | (current ? 1 : 0));
	p[3] = len;
	memcpy(p + 4, data, len);
	c->n += 4u + len;
}

static int cmd_get_configuration(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	struct feature_ctx c = {.rt = cmd->cdb[1] & 0x03,
				.start = cds_get_be16(cmd->cdb + 2),
				.n = 8};
	uint16_t profile = current_profile(emu);
	bool present = profile != MMC_PROFILE_NONE;
	bool writable = present && !emu->m.finalized;
	uint8_t d[16];

	if (c.rt == 3 || cmd->cdb[1] & 0xFC)
		return bad_cdb(emu, cmd);
	memset(emu->reply, 0, 8);
	cds_put_be16(emu->reply + 6, profile);

	memset(d, 0, sizeof(d));
	cds_put_be16(d, MMC_PROFILE_CD_RW);
	d[2] = profile == MMC_PROFILE_CD_RW;
	cds_put_be16(d + 4, MMC_PROFILE_CD_R);
	d[6] = profile == MMC_PROFILE_CD_R;
	cds_put_be16(d + 8, MMC_PROFILE_CD_ROM);
	add_feature(emu, &c, MMC_FEATURE_PROFILE_LIST, 0, true, true, d, 12);

	memset(d, 0, sizeof(d));
	cds_put_be32(d, 2); /* physical interface: ATAPI */
	d[4] = 0x01;	    /* DBE */
	add_feature(emu, &c, MMC_FEATURE_CORE, 2, true, true, d, 8);

	memset(d, 0, sizeof(d));
	d[0] = 0x20 | 0x08 | 0x01; /* tray loader, eject, lock */
	add_feature(emu, &c, MMC_FEATURE_REMOVABLE_MEDIUM, 0, true, true, d, 4);

	memset(d, 0, sizeof(d));
	cds_put_be32(d, EMU_BLOCK);
	cds_put_be16(d + 4, 1); /* blocking */
	add_feature(emu, &c, MMC_FEATURE_RANDOM_READABLE, 0, false, present, d,
		    8);

	memset(d, 0, sizeof(d));
	add_feature(emu, &c, MMC_FEATURE_CD_READ, 2, false, present, d, 4);

	memset(d, 0, sizeof(d));
	cds_put_be16(d, 1u << 8 | 1u << 10); /* data block types 8, 10 */
	d[2] = 0x01;			     /* BUF */
	d[3] = 1;			     /* one link size */
	d[4] = 7;			     /* CD link size */
	add_feature(emu, &c, MMC_FEATURE_INCREMENTAL_STREAMING, 1, false,
		    writable, d, 8);

	memset(d, 0, sizeof(d));
	d[0] = 0x40 | 0x04 | 0x02; /* BUF, test write, CD-RW */
	cds_put_be16(d + 2, 1u << 8 | 1u << 10);
	add_feature(emu, &c, MMC_FEATURE_CD_TAO, 2, false, writable, d, 4);

	cds_put_be32(emu->reply, (uint32_t)(c.n - 4));
	return reply(emu, cmd, c.n, cds_get_be16(cmd->cdb + 7));
}

/* ---- disc, track and TOC information ---------------------------------- */

static void session_range(const struct emu_medium *m, unsigned s,
			  unsigned *first, unsigned *last)
{
	if (!emu_session_tracks(m, s, first, last))
		*first = *last = 0;
}

static int cmd_read_disc_info(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	const struct emu_medium *m = &emu->m;
	uint8_t *r = emu->reply;
	unsigned status, state, nsess, first_t, last_t, first, last;
	uint32_t inv;
	bool has_inv = emu_invisible_track(m, &inv);
	int32_t lead_in = emu_media_lead_in(m->media);
	bool ff = false;

	if (cmd->cdb[1] & 0x07)
		return bad_cdb(emu, cmd);
	if (!need_medium(emu, cmd))
		return 0;
	if (m->finalized) {
		status = MMC_DISC_COMPLETE;
		state = MMC_SESSION_COMPLETE;
		nsess = m->nclosed;
		session_range(m, nsess, &first, &last);
		first_t = first + 1;
		last_t = last + 1;
		ff = true;
	} else if (emu_session_open(m)) {
		status = MMC_DISC_INCOMPLETE;
		state = MMC_SESSION_INCOMPLETE;
		nsess = m->nclosed + 1u;
		session_range(m, nsess, &first, &last);
		first_t = first + 1;
		last_t = has_inv ? m->ntracks + 1u : m->ntracks;
		if (m->nclosed)
			lead_in = (int32_t)m->tracks[first].start -
				  MMC_CD_PREGAP - EMU_LEAD_IN;
	} else if (m->ntracks == 0) {
		status = MMC_DISC_EMPTY;
		state = MMC_SESSION_EMPTY;
		nsess = 1;
		first_t = last_t = 1;
	} else if (has_inv) {
		status = MMC_DISC_INCOMPLETE;
		state = MMC_SESSION_EMPTY;
		nsess = m->nclosed + 1u;
		first_t = last_t = m->ntracks + 1u;
		lead_in = (int32_t)inv - MMC_CD_PREGAP - EMU_LEAD_IN;
	} else {
		/* appendable, but no further session fits */
		status = MMC_DISC_INCOMPLETE;
		state = MMC_SESSION_COMPLETE;
		nsess = m->nclosed;
		session_range(m, nsess, &first, &last);
		first_t = first + 1;
		last_t = last + 1;
		ff = true;
	}
	memset(r, 0, 34);
	cds_put_be16(r, 32);
	r[2] = (uint8_t)((emu_media_erasable(m->media) ? 0x10 : 0) |
			 state << 2 | status);
	r[3] = 1;
	r[4] = (uint8_t)nsess;
	r[5] = (uint8_t)first_t;
	r[6] = (uint8_t)last_t;
	r[7] = 0x20; /* URU */
	r[8] = m->ntracks ? m->tracks[0].session_format : 0x00;
	if (ff) {
		memset(r + 16, 0xFF, 8);
	} else {
		put_addr(r + 16, lead_in, true);
		put_addr(r + 20, (int32_t)capacity(emu), true);
	}
	return reply(emu, cmd, 34, cds_get_be16(cmd->cdb + 7));
}

/* A track as READ TRACK INFORMATION sees it; t == NULL: invisible. */
struct rti_view {
	unsigned number, session;
	const struct emu_track *t;
	uint32_t start;
};

static bool view_track(const struct emu_medium *m, unsigned idx,
		       struct rti_view *v)
{
	if (idx >= m->ntracks)
		return false;
	v->number = idx + 1;
	v->t = &m->tracks[idx];
	v->session = v->t->session;
	v->start = v->t->start;
	return true;
}

static bool view_invisible(const struct emu_medium *m, struct rti_view *v)
{
	if (!emu_invisible_track(m, &v->start))
		return false;
	v->number = m->ntracks + 1u;
	v->session = m->nclosed + 1u;
	v->t = NULL;
	return true;
}

static bool rti_resolve(const struct emu_medium *m, unsigned type,
			uint32_t addr, struct rti_view *v)
{
	unsigned first, last;

	switch (type) {
	case 0: /* LBA: the track holding it, its pregap included */
		for (unsigned i = m->ntracks; i-- > 0;) {
			const struct emu_track *t = &m->tracks[i];
			uint32_t pregap =
			    i && m->tracks[i - 1].session == t->session
				? MMC_CD_PREGAP
				: 0;
			uint32_t end = t->state == EMU_TRACK_OPEN ||
					       emu_track_continuable(t)
					   ? emu_media_capacity(m->media)
					   : emu_track_end(t);

			if (addr + pregap >= t->start && addr < end)
				return view_track(m, i, v);
		}
		if (view_invisible(m, v) && addr >= v->start &&
		    addr < emu_media_capacity(m->media))
			return true;
		return false;
	case 1: /* track number; FFh = the incomplete or invisible track */
		if (addr == 0xFF) {
			if (emu_incomplete_track(m))
				return view_track(m, m->ntracks - 1u, v);
			return view_invisible(m, v);
		}
		if (addr >= 1 && addr <= m->ntracks)
			return view_track(m, addr - 1, v);
		return addr == m->ntracks + 1u && view_invisible(m, v);
	case 2: /* session number: its first track */
		if (addr == 0 || addr > 99)
			return false;
		if (emu_session_tracks(m, addr, &first, &last))
			return view_track(m, first, v);
		return addr == m->nclosed + 1u && !m->finalized &&
		       view_invisible(m, v);
	}
	return false;
}

static int cmd_read_track_info(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	const struct emu_medium *m = &emu->m;
	unsigned type = cmd->cdb[1] & 0x03;
	uint32_t addr = cds_get_be32(cmd->cdb + 2);
	uint32_t cap = capacity(emu), nwa = 0, free_blocks = 0, size;
	uint8_t *r = emu->reply;
	struct rti_view v;

	if (type == 3 || cmd->cdb[1] & 0xFC)
		return bad_cdb(emu, cmd);
	if (!need_medium(emu, cmd))
		return 0;
	if (!rti_resolve(m, type, addr, &v))
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_LBA_OUT_OF_RANGE);
	memset(r, 0, 48);
	cds_put_be16(r, 46);
	r[2] = (uint8_t)v.number;
	r[3] = (uint8_t)v.session;
	cds_put_be32(r + 8, v.start);
	if (!v.t) {
		r[5] = emu->page05[3] & 0x0F;
		r[6] = 0x40 | 0x0F; /* blank, data mode unknown */
		r[7] = 0x01;	    /* NWA_V */
		nwa = v.start;
		free_blocks = cap - nwa;
		size = free_blocks;
	} else {
		const struct emu_track *t = v.t;

		r[5] = t->control & 0x0F;
		r[6] = t->block_type == 10 ? 2 : 1;
		r[7] = t->blocks ? 0x02 : 0; /* LRA_V */
		if (t->blocks)
			cds_put_be32(r + 28, t->start + t->blocks - 1);
		size = t->blocks;
		if (t->state == EMU_TRACK_DAMAGED)
			r[5] |= 0x20;
		if (t->state == EMU_TRACK_OPEN || emu_track_continuable(t)) {
			nwa = t->start + t->blocks;
			free_blocks = cap > nwa ? cap - nwa : 0;
			size = cap - t->start;
			r[7] |= free_blocks ? 0x01 : 0;
		}
	}
	cds_put_be32(r + 12, nwa);
	cds_put_be32(r + 16, free_blocks);
	cds_put_be32(r + 24, size);
	return reply(emu, cmd, 48, cds_get_be16(cmd->cdb + 7));
}

static uint8_t adr_ctl(uint8_t adr, uint8_t control)
{
	return (uint8_t)(adr << 4 | (control & 0x0F));
}

/* One raw TOC (format 2) descriptor. */
static uint8_t *raw_desc(uint8_t *p, unsigned session, uint8_t adr,
			 uint8_t control, uint8_t point, const uint8_t *atime,
			 const uint8_t *pmsf)
{
	memset(p, 0, 11);
	p[0] = (uint8_t)session;
	p[1] = adr_ctl(adr, control);
	p[3] = point;
	if (atime)
		memcpy(p + 4, atime, 3);
	if (pmsf)
		memcpy(p + 8, pmsf, 3);
	return p + 11;
}

static size_t toc_raw(struct mmc_emu *emu, unsigned from)
{
	const struct emu_medium *m = &emu->m;
	uint8_t *r = emu->reply, *p = r + 4;
	uint8_t msf[3], b0[3];

	r[2] = 1;
	r[3] = m->nclosed;
	for (unsigned s = from; s <= m->nclosed; s++) {
		unsigned first, last;
		const struct emu_track *ft;
		bool last_session = s == m->nclosed;

		session_range(m, s, &first, &last);
		ft = &m->tracks[first];
		msf[0] = (uint8_t)(first + 1);
		msf[1] = ft->session_format;
		msf[2] = 0;
		p = raw_desc(p, s, 1, ft->control, 0xA0, NULL, msf);
		msf[0] = (uint8_t)(last + 1);
		msf[1] = msf[2] = 0;
		p = raw_desc(p, s, 1, ft->control, 0xA1, NULL, msf);
		put_msf(msf, (int32_t)emu_session_leadout(m, s));
		p = raw_desc(p, s, 1, ft->control, 0xA2, NULL, msf);
		for (unsigned i = first; i <= last; i++) {
			put_msf(msf, (int32_t)m->tracks[i].start);
			p = raw_desc(p, s, 1, m->tracks[i].control,
				     (uint8_t)(i + 1), NULL, msf);
		}
		put_msf(msf, (int32_t)capacity(emu));
		if (!last_session || !m->finalized) {
			uint32_t next =
			    emu_session_leadout(m, s) +
			    (s == 1 ? MMC_CD_GAP_FIRST : MMC_CD_GAP_LATER);
			put_msf(b0, (int32_t)(next - MMC_CD_PREGAP));
			p = raw_desc(p, s, 5, ft->control, 0xB0, b0, msf);
		} else if (m->final_multi == MMC_MULTI_CLOSE_DISC_B0FF) {
			memset(b0, 0xFF, 3);
			p = raw_desc(p, s, 5, ft->control, 0xB0, b0, msf);
		}
		if (s == 1) {
			put_msf(msf, emu_media_lead_in(m->media));
			p = raw_desc(p, s, 5, ft->control, 0xC0, NULL, msf);
		}
	}
	return (size_t)(p - r);
}

static int cmd_read_toc(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	const struct emu_medium *m = &emu->m;
	const uint8_t *cdb = cmd->cdb;
	bool msf = cdb[1] & 0x02;
	unsigned fmt = cdb[2] & 0x0F, num = cdb[6];
	unsigned first, last, ntr_closed;
	uint8_t *r = emu->reply, *p;
	size_t n;

	/* old SFF-8020 drives: format in byte 9 bits 6-7 (Linux sr) */
	if (fmt == 0 && cdb[9] >> 6)
		fmt = cdb[9] >> 6;
	if (cdb[1] & 0xFD || cdb[2] & 0xF0 || fmt == 3 || fmt > 4)
		return bad_cdb(emu, cmd);
	if (!need_medium(emu, cmd))
		return 0;
	memset(r, 0, EMU_REPLY_MAX);
	if (fmt == 4) {	     /* ATIP */
		r[4] = 0x50; /* indicative writing power */
		r[6] = emu_media_erasable(m->media) ? 0x40 : 0x00;
		put_msf(r + 8, emu_media_lead_in(m->media));
		put_msf(r + 12, (int32_t)capacity(emu));
		cds_put_be16(r, 26);
		return reply(emu, cmd, 28, cds_get_be16(cdb + 7));
	}
	if (m->nclosed == 0)
		return bad_cdb(emu, cmd); /* no complete session: no TOC */
	session_range(m, m->nclosed, &first, &last);
	ntr_closed = last + 1;
	if (fmt == 0) {
		if (num == 0)
			num = 1;
		if (num > ntr_closed && num != 0xAA)
			return bad_cdb(emu, cmd);
		r[2] = 1;
		r[3] = (uint8_t)ntr_closed;
		p = r + 4;
		for (unsigned i = num - 1; num != 0xAA && i < ntr_closed; i++) {
			p[1] = adr_ctl(1, m->tracks[i].control);
			p[2] = (uint8_t)(i + 1);
			put_addr(p + 4, (int32_t)m->tracks[i].start, msf);
			p += 8;
		}
		p[1] = adr_ctl(1, m->tracks[last].control);
		p[2] = 0xAA;
		put_addr(p + 4, (int32_t)emu_session_leadout(m, m->nclosed),
			 msf);
		p += 8;
		n = (size_t)(p - r);
	} else if (fmt == 1) {
		r[2] = 1;
		r[3] = m->nclosed;
		session_range(m, m->nclosed, &first, &last);
		r[5] = adr_ctl(1, m->tracks[first].control);
		r[6] = (uint8_t)(first + 1);
		put_addr(r + 8, (int32_t)m->tracks[first].start, msf);
		n = 12;
	} else {
		if (num == 0)
			num = 1;
		if (num > m->nclosed)
			return bad_cdb(emu, cmd);
		n = toc_raw(emu, num);
	}
	cds_put_be16(r, (uint16_t)(n - 2));
	return reply(emu, cmd, n, cds_get_be16(cdb + 7));
}

static int cmd_read_capacity(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	uint32_t last = 0;

	if (cmd->cdb[1] & 0x01 || cds_get_be32(cmd->cdb + 2) ||
	    cmd->cdb[8] & 0x01)
		return bad_cdb(emu, cmd);
	if (!need_medium(emu, cmd))
		return 0;
	if (emu->m.nclosed)
		last = emu_session_leadout(&emu->m, emu->m.nclosed) - 1;
	cds_put_be32(emu->reply, last);
	cds_put_be32(emu->reply + 4, EMU_BLOCK);
	return reply(emu, cmd, 8, 8);
}

static int cmd_read_format_capacities(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	uint8_t *r = emu->reply;

	memset(r, 0, 12);
	r[3] = 8;
	cds_put_be32(r + 4, capacity(emu));
	r[8] = emu->tray_open ? 0x03 : 0x01; /* no medium / unformatted */
	cds_put_be24(r + 9, EMU_BLOCK);
	return reply(emu, cmd, 12, cds_get_be16(cmd->cdb + 7));
}

static int cmd_read_buffer_capacity(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	uint8_t *r = emu->reply;
	bool block = cmd->cdb[1] & 0x01;

	if (cmd->cdb[1] & 0xFE)
		return bad_cdb(emu, cmd);
	memset(r, 0, 12);
	cds_put_be16(r, 10);
	if (block) {
		r[3] = 0x01;
		cds_put_be32(r + 8, EMU_BUFFER_BYTES / EMU_BLOCK);
	} else {
		/* writes go straight to the file: the buffer is empty */
		cds_put_be32(r + 4, EMU_BUFFER_BYTES);
		cds_put_be32(r + 8, EMU_BUFFER_BYTES);
	}
	return reply(emu, cmd, 12, cds_get_be16(cmd->cdb + 7));
}

static int cmd_get_event_status(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	uint8_t *r = emu->reply;
	size_t n = 4;

	if (!(cmd->cdb[1] & 0x01))
		return bad_cdb(emu, cmd); /* asynchronous: unsupported */
	memset(r, 0, 8);
	r[3] = 0x10; /* supported: media class */
	if (cmd->cdb[4] & 0x10) {
		r[2] = 0x04;
		r[4] = emu->event;
		r[5] = emu->tray_open ? 0x01 : 0x02;
		emu->event = EMU_EVENT_NONE;
		n = 8;
	} else {
		r[2] = 0x80; /* NEA */
	}
	cds_put_be16(r, (uint16_t)(n - 2));
	return reply(emu, cmd, n, cds_get_be16(cmd->cdb + 7));
}

/* ---- mode pages --------------------------------------------------------- */

static size_t page2a(struct mmc_emu *emu, uint8_t *p, unsigned pc)
{
	bool changeable = pc == 1;
	unsigned max_kbs = emu_write_speeds[0] * EMU_CD_1X_KBS;
	unsigned cur_w = emu->write_kbs < max_kbs ? emu->write_kbs : max_kbs;

	memset(p, 0, 2 + EMU_PAGE2A_LEN);
	p[0] = MMC_PAGE_CAPABILITIES;
	p[1] = EMU_PAGE2A_LEN;
	if (changeable)
		return 2 + EMU_PAGE2A_LEN;
	p[2] = 0x03;	    /* reads CD-R, CD-RW */
	p[3] = 0x07;	    /* writes CD-R, CD-RW, test write */
	p[4] = 0x80 | 0x40; /* BUF, multisession */
	p[5] = 0x01;	    /* CD-DA commands: READ CD */
	p[6] = 0x20 | 0x08 | 0x01 | (emu->prevent ? 0x02 : 0);
	cds_put_be16(p + 8, 48 * EMU_CD_1X_KBS);
	cds_put_be16(p + 12, EMU_BUFFER_BYTES / 1024);
	cds_put_be16(p + 14, 48 * EMU_CD_1X_KBS);
	cds_put_be16(p + 18, (uint16_t)max_kbs);
	cds_put_be16(p + 20, (uint16_t)cur_w);
	cds_put_be16(p + 28, (uint16_t)cur_w);
	cds_put_be16(p + 30, EMU_PAGE2A_SPEEDS);
	for (unsigned i = 0; i < EMU_PAGE2A_SPEEDS; i++)
		cds_put_be16(p + 32 + 4 * i + 2,
			     (uint16_t)(emu_write_speeds[i] * EMU_CD_1X_KBS));
	return 2 + EMU_PAGE2A_LEN;
}

static size_t page05(struct mmc_emu *emu, uint8_t *p, unsigned pc)
{
	size_t len = 2 + EMU_PAGE05_LEN;

	if (pc == 0) {
		memcpy(p, emu->page05, len);
	} else if (pc == 2) {
		page05_defaults(p);
	} else { /* changeable bits */
		memset(p, 0, len);
		p[0] = MMC_PAGE_WRITE_PARAMETERS;
		p[1] = EMU_PAGE05_LEN;
		p[2] = 0x7F;
		p[3] = 0xFF;
		p[4] = 0x0F;
		p[5] = 0xFF;
		p[7] = 0x3F;
		p[8] = 0xFF;
		memset(p + 10, 0xFF, len - 10);
	}
	return len;
}

static int cmd_mode_sense(struct mmc_emu *emu, struct mmc_cmd *cmd, bool ten)
{
	const uint8_t *cdb = cmd->cdb;
	unsigned pc = cdb[2] >> 6, page = cdb[2] & 0x3F;
	size_t hdr = ten ? 8 : 4, n;
	uint8_t *r = emu->reply;
	size_t alloc = ten ? cds_get_be16(cdb + 7) : cdb[4];

	if (pc == 3 || cdb[3] != 0 || cdb[1] & (ten ? 0xE7 : 0xF7))
		return bad_cdb(emu, cmd);
	if (page != MMC_PAGE_WRITE_PARAMETERS &&
	    page != MMC_PAGE_CAPABILITIES && page != 0x3F)
		return bad_cdb(emu, cmd);
	memset(r, 0, hdr);
	n = hdr;
	if (page == MMC_PAGE_WRITE_PARAMETERS || page == 0x3F)
		n += page05(emu, r + n, pc);
	if (page == MMC_PAGE_CAPABILITIES || page == 0x3F)
		n += page2a(emu, r + n, pc);
	if (ten)
		cds_put_be16(r, (uint16_t)(n - 2));
	else
		r[0] = (uint8_t)(n - 1);
	return reply(emu, cmd, n, alloc);
}

static int select_page05(struct mmc_emu *emu, struct mmc_cmd *cmd,
			 const uint8_t *p)
{
	unsigned wt = p[2] & 0x0F, multi = p[3] >> 6, mode = p[3] & 0x0F;
	unsigned bt = p[4] & 0x0F, fmt = p[8];
	bool was_test = test_write(emu);

	if (p[1] != EMU_PAGE05_LEN || wt != MMC_WRITE_TAO || multi == 2 ||
	    (mode & 0x0C) != 0x04 || (bt != 8 && bt != 10) ||
	    (fmt != 0x00 && fmt != 0x10 && fmt != 0x20))
		return bad_param(emu, cmd);
	memcpy(emu->page05, p, 2 + EMU_PAGE05_LEN);
	emu->page05[0] &= 0x3F; /* PS is not stored */
	if (was_test != test_write(emu))
		sim_reset(emu);
	return 0;
}

static int cmd_mode_select(struct mmc_emu *emu, struct mmc_cmd *cmd, bool ten)
{
	const uint8_t *cdb = cmd->cdb;
	size_t plen = ten ? cds_get_be16(cdb + 7) : cdb[4];
	size_t hdr = ten ? 8 : 4, bdl, off;
	const uint8_t *d = cmd->buf;

	if (cdb[1] & 0x01 || cdb[1] & 0xEE)
		return bad_cdb(emu, cmd); /* SP: saving unsupported */
	if (plen == 0)
		return 0;
	if (plen > out_len(cmd))
		return bad_cdb(emu, cmd);
	if (plen < hdr)
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_PARAMETER_LIST_LENGTH);
	bdl = ten ? cds_get_be16(d + 6) : d[3];
	if (bdl != 0)
		return bad_param(emu, cmd);
	for (off = hdr; off < plen;) {
		size_t len;

		if (plen - off < 2)
			return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
				     MMC_ASC_PARAMETER_LIST_LENGTH);
		len = 2u + d[off + 1];
		if (len > plen - off)
			return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
				     MMC_ASC_PARAMETER_LIST_LENGTH);
		if ((d[off] & 0x3F) != MMC_PAGE_WRITE_PARAMETERS)
			return bad_param(emu, cmd);
		select_page05(emu, cmd, d + off);
		if (cmd->status != MMC_STATUS_GOOD)
			return 0;
		off += len;
	}
	cmd->resid = cmd->len - plen;
	return 0;
}

/* ---- reads ------------------------------------------------------------- */

/* Can @lba be read?  0 with *avail = readable blocks from it, or the ASC
 * to fail with. */
static unsigned classify(const struct emu_medium *m, uint32_t lba,
			 uint32_t *avail, const struct emu_track **track)
{
	for (unsigned i = 0; i < m->ntracks; i++) {
		const struct emu_track *t = &m->tracks[i];

		if (lba >= t->start && lba - t->start < t->blocks) {
			*avail = t->blocks - (lba - t->start);
			*track = t;
			return 0;
		}
		if (t->state == EMU_TRACK_COMPLETE &&
		    lba >= t->start + t->blocks && lba < emu_track_end(t))
			return MMC_ASC_ILLEGAL_MODE_FOR_TRACK;
		if (i && m->tracks[i - 1].session == t->session &&
		    lba < t->start && lba + MMC_CD_PREGAP >= t->start)
			return MMC_ASC_ILLEGAL_MODE_FOR_TRACK;
	}
	return MMC_ASC_LBA_OUT_OF_RANGE;
}

/* READ(10) / READ CD user data; @sector_type: READ CD expected sector
 * type (0 any, 2 mode 1, 4 mode 2 form 1). */
static int do_read(struct mmc_emu *emu, struct mmc_cmd *cmd, uint32_t lba,
		   uint32_t count, unsigned sector_type)
{
	const struct emu_track *t = NULL;
	uint32_t avail = 0, done = 0;
	size_t want, bytes;
	unsigned asc;
	int rc;

	if (!need_medium(emu, cmd))
		return 0;
	cmd->resid = cmd->len;
	while (done < count) {
		asc = classify(&emu->m, lba + done, &avail, &t);
		if (asc)
			return check_full(emu, cmd, MMC_SK_ILLEGAL_REQUEST, asc,
					  true, lba + done, false, 0);
		if ((sector_type == 2 && t->block_type != 8) ||
		    (sector_type == 4 && t->block_type != 10))
			return check_full(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
					  MMC_ASC_ILLEGAL_MODE_FOR_TRACK, true,
					  lba + done, false, 0);
		done += avail < count - done ? avail : count - done;
	}
	want = (size_t)count * EMU_BLOCK;
	bytes = want < in_len(cmd) ? want : in_len(cmd);
	rc = pread_all(emu->fd, cmd->buf, bytes, (off_t)lba * EMU_BLOCK);
	if (rc)
		return cds_error(rc, "virtual disc %s: read at sector %u: %s",
				 emu->path, lba, strerror(-rc));
	cmd->resid = cmd->len - bytes;
	return 0;
}

static int cmd_read_cd(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	unsigned type = cdb[1] >> 2 & 0x07;

	if (cdb[1] & 0xE1 || cdb[9] != 0x10 || cdb[10] != 0)
		return bad_cdb(emu, cmd);
	if (type != 0 && type != 2 && type != 4) {
		if (!need_medium(emu, cmd))
			return 0;
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_ILLEGAL_MODE_FOR_TRACK);
	}
	return do_read(emu, cmd, cds_get_be32(cdb + 2), cds_get_be24(cdb + 6),
		       type);
}

/* ---- writes ------------------------------------------------------------ */

static struct emu_track *open_track(struct mmc_emu *emu)
{
	struct emu_medium *m = &emu->m;

	if (m->ntracks && m->tracks[m->ntracks - 1].state == EMU_TRACK_OPEN)
		return &m->tracks[m->ntracks - 1];
	return NULL;
}

static int do_write(struct mmc_emu *emu, struct mmc_cmd *cmd, uint32_t lba,
		    uint32_t count)
{
	struct emu_medium *m = &emu->m;
	struct emu_track *t;
	uint32_t nwa, n = count, cap = capacity(emu);
	bool cut = false, werr = false;
	int rc;

	if (!need_writable(emu, cmd))
		return 0;
	if (count == 0)
		return 0;
	if (out_len(cmd) < (size_t)count * EMU_BLOCK)
		return bad_cdb(emu, cmd);
	if (!emu_medium_nwa(m, &nwa))
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_INVALID_ADDRESS_FOR_WRITE);
	if (test_write(emu)) {
		if (!emu->sim_valid) {
			emu->sim_valid = true;
			emu->sim_nwa = nwa;
		}
		if (lba != emu->sim_nwa)
			return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
				     MMC_ASC_INVALID_ADDRESS_FOR_WRITE);
		if ((uint64_t)lba + count > cap)
			return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
				     MMC_ASC_END_OF_USER_AREA);
		emu->sim_nwa += count;
		emu->sim_track_open = true;
		cmd->resid = cmd->len - (size_t)count * EMU_BLOCK;
		pace(emu, count);
		return 0;
	}
	if (lba != nwa)
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_INVALID_ADDRESS_FOR_WRITE);
	if ((uint64_t)lba + count > cap)
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_END_OF_USER_AREA);
	t = open_track(emu);
	if (!t && emu_incomplete_track(m)) {
		/* a continuable damaged track (emu_medium_nwa() gave its NWA):
		 * the WRITE at its NWA continues it */
		t = &m->tracks[m->ntracks - 1];
		t->state = EMU_TRACK_OPEN;
		rc = persist(emu, false);
		if (rc)
			return rc;
		emu->pace_start = 0;
	} else if (!t) {
		/* first WRITE of a track: record that it is open */
		t = &m->tracks[m->ntracks++];
		memset(t, 0, sizeof(*t));
		t->start = nwa;
		t->session = (uint8_t)(m->nclosed + 1);
		t->state = EMU_TRACK_OPEN;
		t->control = emu->page05[3] & 0x0F;
		t->block_type = emu->page05[4] & 0x0F;
		t->session_format = emu->page05[8];
		t->flags = emu->opt.cut_continuable ? EMU_TRACK_CONTINUABLE : 0;
		rc = persist(emu, false);
		if (rc)
			return rc;
		emu->pace_start = 0;
	}
	if (emu->opt.power_cut_after >= 0 &&
	    emu->written + count > emu->opt.power_cut_after) {
		n = (uint32_t)(emu->opt.power_cut_after - emu->written);
		cut = true;
	}
	if (emu->opt.write_error_lba >= lba &&
	    emu->opt.write_error_lba < (int64_t)lba + n) {
		n = (uint32_t)(emu->opt.write_error_lba - lba);
		werr = true;
		cut = false;
	}
	rc = pwrite_all(emu->fd, cmd->buf, (size_t)n * EMU_BLOCK,
			(off_t)lba * EMU_BLOCK);
	if (rc)
		return cds_error(rc, "virtual disc %s: write at sector %u: %s",
				 emu->path, lba, strerror(-rc));
	t->blocks += n;
	emu->written += n;
	emu->since_persist += n;
	if (cut) {
		emu->dead = true;
		return cds_error(-EIO,
				 "virtual drive %s lost power after %" PRId64
				 " sectors (fault injection)",
				 emu->path, emu->written);
	}
	if (werr) {
		/* a medium error is no cut: nothing continues the track */
		t->state = EMU_TRACK_DAMAGED;
		t->flags = 0;
		rc = persist(emu, true);
		if (rc)
			return rc;
		return check_full(emu, cmd, MMC_SK_MEDIUM_ERROR,
				  MMC_ASC_WRITE_ERROR, true,
				  (uint32_t)emu->opt.write_error_lba, false, 0);
	}
	if (emu->since_persist >= EMU_PERSIST_EVERY) {
		rc = persist(emu, false);
		if (rc)
			return rc;
	}
	cmd->resid = cmd->len - (size_t)count * EMU_BLOCK;
	pace(emu, count);
	return 0;
}

/* Close the open track (TAO: the run-out is written). */
static int close_open_track(struct mmc_emu *emu)
{
	struct emu_track *t = open_track(emu);

	if (!t)
		return 0;
	if (t->blocks == 0) {
		/* opened but nothing written: no track after all */
		emu->m.ntracks--;
	} else {
		t->state = EMU_TRACK_COMPLETE;
		t->flags = 0; /* a closed track cannot be cut off any more */
	}
	return persist(emu, true);
}

static int cmd_sync_cache(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	bool immed = cmd->cdb[1] & 0x02;
	int rc;

	if (cmd->cdb[1] & 0xF9)
		return bad_cdb(emu, cmd);
	if (!need_writable(emu, cmd))
		return 0;
	if (test_write(emu)) {
		if (emu->sim_track_open) {
			emu->sim_nwa += MMC_CD_RUNOUT + MMC_CD_PREGAP;
			emu->sim_track_open = false;
			long_op(emu, immed, MMC_CD_RUNOUT);
		}
		return 0;
	}
	if (open_track(emu)) {
		rc = close_open_track(emu);
		if (rc)
			return rc;
		long_op(emu, immed, MMC_CD_RUNOUT);
		return 0;
	}
	if (fdatasync(emu->fd) != 0)
		return cds_error(-errno, "virtual disc %s: fdatasync: %s",
				 emu->path, strerror(errno));
	return 0;
}

static int close_session(struct mmc_emu *emu, struct mmc_cmd *cmd, bool immed)
{
	struct emu_medium *m = &emu->m;
	const struct emu_track *t;
	unsigned multi = page05_multi(emu);
	uint64_t leadout;
	int rc;

	if (test_write(emu)) {
		/* validate as for real, change nothing */
		if (!emu_session_open(m) && !emu->sim_valid)
			return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
				     MMC_ASC_COMMAND_SEQUENCE_ERROR);
		sim_reset(emu);
		leadout =
		    m->nclosed ? MMC_CD_LEADOUT_LATER : MMC_CD_LEADOUT_FIRST;
		long_op(emu, immed, EMU_LEAD_IN + leadout);
		return 0;
	}
	if (open_track(emu)) {
		rc = close_open_track(emu);
		if (rc)
			return rc;
	}
	t = emu_incomplete_track(m);
	if (t && t->state == EMU_TRACK_DAMAGED)
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_SESSION_FIXATION_INCOMPLETE_TRACK);
	if (!emu_session_open(m))
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_COMMAND_SEQUENCE_ERROR);
	leadout = m->nclosed ? MMC_CD_LEADOUT_LATER : MMC_CD_LEADOUT_FIRST;
	m->nclosed++;
	if (multi != MMC_MULTI_APPENDABLE) {
		m->finalized = true;
		m->final_multi = (uint8_t)multi;
	}
	rc = persist(emu, true);
	if (rc)
		return rc;
	long_op(emu, immed, EMU_LEAD_IN + leadout);
	return 0;
}

static int cmd_close(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool immed = cdb[1] & 0x01;
	unsigned fn = cdb[2] & 0x07, track = cds_get_be16(cdb + 4);
	const struct emu_track *t;
	int rc;

	if (cdb[1] & 0xFE || cdb[2] & 0xF8)
		return bad_cdb(emu, cmd);
	if (fn != MMC_CLOSE_TRACK && fn != MMC_CLOSE_SESSION)
		return bad_cdb(emu, cmd);
	if (!need_writable(emu, cmd))
		return 0;
	if (fn == MMC_CLOSE_SESSION)
		return close_session(emu, cmd, immed);
	/* close track: the last (or FFh) closes an open one; an already
	 * complete track is fine (SYNC CACHE closed it) */
	if (track == 0 || (track > emu->m.ntracks && track != 0xFF))
		return bad_cdb(emu, cmd);
	if (test_write(emu)) {
		if (emu->sim_track_open) {
			emu->sim_nwa += MMC_CD_RUNOUT + MMC_CD_PREGAP;
			emu->sim_track_open = false;
		}
		return 0;
	}
	if (track != 0xFF && track != emu->m.ntracks)
		return 0;
	t = emu_incomplete_track(&emu->m);
	if (t && t->state == EMU_TRACK_DAMAGED)
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_SESSION_FIXATION_INCOMPLETE_TRACK);
	if (open_track(emu)) {
		rc = close_open_track(emu);
		if (rc)
			return rc;
		long_op(emu, immed, MMC_CD_RUNOUT);
	}
	return 0;
}

/* Zero the recorded user data: punch holes (the file stays sparse), or
 * write zeros where the file system cannot punch. */
static int erase_data(struct mmc_emu *emu)
{
	static const uint8_t zeros[64 * 1024];
	off_t end = emu->trailer_off;

	if (fallocate(emu->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      end) == 0)
		return 0;
	for (unsigned i = 0; i < emu->m.ntracks; i++) {
		const struct emu_track *t = &emu->m.tracks[i];
		off_t off = (off_t)t->start * EMU_BLOCK;
		off_t stop = off + (off_t)t->blocks * EMU_BLOCK;

		while (off < stop) {
			size_t n = stop - off < (off_t)sizeof(zeros)
				       ? (size_t)(stop - off)
				       : sizeof(zeros);
			int rc = pwrite_all(emu->fd, zeros, n, off);
			if (rc)
				return cds_error(rc,
						 "virtual disc %s: erase: "
						 "%s",
						 emu->path, strerror(-rc));
			off += (off_t)n;
		}
	}
	return 0;
}

static int cmd_blank(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	struct emu_medium *m = &emu->m;
	bool immed = cmd->cdb[1] & 0x10;
	unsigned type = cmd->cdb[1] & 0x07, s;
	uint64_t blocks;
	int rc;

	if (cmd->cdb[1] & 0xE8)
		return bad_cdb(emu, cmd);
	if (!need_writable(emu, cmd))
		return 0;
	if (!emu_media_erasable(m->media))
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_CANNOT_WRITE_INCOMPATIBLE_FORMAT);
	sim_reset(emu);
	switch (type) {
	case MMC_BLANK_DISC:
		rc = erase_data(emu);
		if (rc)
			return rc;
		emu_medium_init(m, m->media);
		blocks = capacity(emu);
		break;
	case MMC_BLANK_MINIMAL:
		emu_medium_init(m, m->media);
		blocks = EMU_LEAD_IN + MMC_CD_LEADOUT_FIRST;
		break;
	case MMC_BLANK_UNCLOSE_SESSION:
		if (emu_session_open(m) || m->nclosed == 0)
			return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
				     MMC_ASC_COMMAND_SEQUENCE_ERROR);
		m->nclosed--;
		m->finalized = false;
		m->final_multi = 0;
		blocks = EMU_LEAD_IN;
		break;
	case MMC_BLANK_SESSION:
		if (m->ntracks == 0)
			return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
				     MMC_ASC_COMMAND_SEQUENCE_ERROR);
		s = m->tracks[m->ntracks - 1].session;
		blocks = 0;
		while (m->ntracks && m->tracks[m->ntracks - 1].session == s) {
			blocks += m->tracks[m->ntracks - 1].blocks;
			m->ntracks--;
		}
		if (m->nclosed >= s)
			m->nclosed = (uint8_t)(s - 1);
		m->finalized = false;
		m->final_multi = 0;
		break;
	default:
		return bad_cdb(emu, cmd);
	}
	rc = persist(emu, true);
	if (rc)
		return rc;
	long_op(emu, immed, blocks);
	return 0;
}

/* ---- tray -------------------------------------------------------------- */

static int cmd_start_stop(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	uint8_t op = cmd->cdb[4];
	struct emu_track *t;

	if (cmd->cdb[1] & 0xFE || op & 0xFC)
		return bad_cdb(emu, cmd);
	if (!(op & 0x02))
		return 0; /* spin up / down */
	if (op & 0x01) {  /* load */
		if (emu->tray_open) {
			emu->tray_open = false;
			emu->event = EMU_EVENT_NEW_MEDIA;
		}
		return 0;
	}
	if (emu->prevent)
		return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			     MMC_ASC_MEDIUM_REMOVAL_PREVENTED);
	if (emu->tray_open)
		return 0;
	t = open_track(emu);
	if (t && !emu->opt.read_only) {
		int rc;

		t->state = EMU_TRACK_DAMAGED;
		rc = persist(emu, true);
		if (rc)
			return rc;
	}
	sim_reset(emu);
	emu->tray_open = true;
	emu->event = EMU_EVENT_REMOVAL;
	return 0;
}

static int cmd_prevent_allow(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	if (cmd->cdb[4] & 0xFE)
		return bad_cdb(emu, cmd);
	emu->prevent = cmd->cdb[4] & 0x01;
	return 0;
}

static int cmd_set_cd_speed(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	if ((cmd->cdb[1] & 0x03) > 1 || cmd->cdb[1] & 0xFC)
		return bad_cdb(emu, cmd);
	emu->read_kbs = cds_get_be16(cmd->cdb + 2);
	emu->write_kbs = cds_get_be16(cmd->cdb + 4);
	return 0;
}

/* ---- dispatch ---------------------------------------------------------- */

static size_t cdb_size(uint8_t op)
{
	switch (op >> 5) {
	case 0:
		return 6;
	case 1:
	case 2:
		return 10;
	case 4:
		return 16;
	case 5:
		return 12;
	}
	return 0;
}

/* Commands answered while an IMMED operation runs. */
static bool allowed_while_busy(uint8_t op)
{
	return op == MMC_OP_INQUIRY || op == MMC_OP_REQUEST_SENSE ||
	       op == MMC_OP_GET_CONFIGURATION || op == MMC_OP_GET_EVENT_STATUS;
}

static int dispatch(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint16_t progress;

	if (busy(emu, &progress) && !allowed_while_busy(cdb[0]))
		return not_ready_busy(emu, cmd, progress);
	switch (cdb[0]) {
	case MMC_OP_TEST_UNIT_READY:
		need_medium(emu, cmd);
		return 0;
	case MMC_OP_REQUEST_SENSE:
		return cmd_request_sense(emu, cmd);
	case MMC_OP_INQUIRY:
		return cmd_inquiry(emu, cmd);
	case MMC_OP_MODE_SELECT6:
		return cmd_mode_select(emu, cmd, false);
	case MMC_OP_MODE_SELECT10:
		return cmd_mode_select(emu, cmd, true);
	case MMC_OP_MODE_SENSE6:
		return cmd_mode_sense(emu, cmd, false);
	case MMC_OP_MODE_SENSE10:
		return cmd_mode_sense(emu, cmd, true);
	case MMC_OP_START_STOP_UNIT:
		return cmd_start_stop(emu, cmd);
	case MMC_OP_PREVENT_ALLOW:
		return cmd_prevent_allow(emu, cmd);
	case MMC_OP_READ_FORMAT_CAPACITIES:
		return cmd_read_format_capacities(emu, cmd);
	case MMC_OP_READ_CAPACITY:
		return cmd_read_capacity(emu, cmd);
	case MMC_OP_READ10:
		return do_read(emu, cmd, cds_get_be32(cdb + 2),
			       cds_get_be16(cdb + 7), 0);
	case MMC_OP_READ_CD:
		return cmd_read_cd(emu, cmd);
	case MMC_OP_WRITE10:
		return do_write(emu, cmd, cds_get_be32(cdb + 2),
				cds_get_be16(cdb + 7));
	case MMC_OP_WRITE12:
		return do_write(emu, cmd, cds_get_be32(cdb + 2),
				cds_get_be32(cdb + 6));
	case MMC_OP_SYNCHRONIZE_CACHE:
		return cmd_sync_cache(emu, cmd);
	case MMC_OP_READ_TOC:
		return cmd_read_toc(emu, cmd);
	case MMC_OP_GET_CONFIGURATION:
		return cmd_get_configuration(emu, cmd);
	case MMC_OP_GET_EVENT_STATUS:
		return cmd_get_event_status(emu, cmd);
	case MMC_OP_READ_DISC_INFO:
		return cmd_read_disc_info(emu, cmd);
	case MMC_OP_READ_TRACK_INFO:
		return cmd_read_track_info(emu, cmd);
	case MMC_OP_SEND_OPC:
		if (cdb[1] & 0xFE)
			return bad_cdb(emu, cmd);
		need_writable(emu, cmd);
		return 0;
	case MMC_OP_CLOSE_TRACK_SESSION:
		return cmd_close(emu, cmd);
	case MMC_OP_READ_BUFFER_CAPACITY:
		return cmd_read_buffer_capacity(emu, cmd);
	case MMC_OP_BLANK:
		return cmd_blank(emu, cmd);
	case MMC_OP_SET_CD_SPEED:
		return cmd_set_cd_speed(emu, cmd);
	}
	return check(emu, cmd, MMC_SK_ILLEGAL_REQUEST, MMC_ASC_INVALID_OPCODE);
}

int mmc_emu_execute(struct mmc_emu *emu, struct mmc_cmd *cmd)
{
	size_t need = cdb_size(cmd->cdb[0]);
	int rc;

	if (cmd->cdb_len > sizeof(cmd->cdb) || (need && cmd->cdb_len < need) ||
	    (cmd->len && !cmd->buf))
		return cds_error(-EINVAL,
				 "malformed command (opcode 0x%02x, "
				 "CDB length %u)",
				 cmd->cdb[0], cmd->cdb_len);
	pthread_mutex_lock(&emu->lock);
	if (emu->dead) {
		rc = cds_error(-EIO, "virtual drive %s is gone (power cut)",
			       emu->path);
		goto out;
	}
	cmd->status = MMC_STATUS_GOOD;
	cmd->resid = cmd->len;
	memset(&cmd->sense, 0, sizeof(cmd->sense));
	if (!need) {
		rc = check(emu, cmd, MMC_SK_ILLEGAL_REQUEST,
			   MMC_ASC_INVALID_OPCODE);
		goto out;
	}
	rc = dispatch(emu, cmd);
out:
	pthread_mutex_unlock(&emu->lock);
	return rc;
}

/* ---- the transport ----------------------------------------------------- */

struct emu_transport {
	struct mmc_transport base;
	struct mmc_emu *emu;
};

static int emu_transport_execute(struct mmc_transport *t, struct mmc_cmd *cmd)
{
	return mmc_emu_execute(((struct emu_transport *)t)->emu, cmd);
}

static void emu_transport_close(struct mmc_transport *t)
{
	struct emu_transport *et = (struct emu_transport *)t;

	mmc_emu_close(et->emu);
	free(et);
}

static const struct mmc_transport_ops emu_transport_ops = {
    .name = "emu",
    .execute = emu_transport_execute,
    .close = emu_transport_close,
};

struct mmc_transport *mmc_emu_transport(struct mmc_emu *emu)
{
	struct emu_transport *et = calloc(1, sizeof(*et));

	if (!et)
		return NULL;
	et->base.ops = &emu_transport_ops;
	et->base.max_transfer = EMU_MAX_TRANSFER;
	et->emu = emu;
	return &et->base;
}

int mmc_emu_transport_open(const char *path, bool read_only,
			   struct mmc_transport **out)
{
	struct mmc_emu_options o;
	struct mmc_transport *t;
	struct mmc_emu *emu;
	const char *env = getenv("CDSESSION_EMU");
	int rc;

	mmc_emu_options_init(&o);
	if (env) {
		rc = mmc_emu_options_parse(&o, env);
		if (rc)
			return cds_error_wrap(rc, "CDSESSION_EMU");
	}
	if (read_only)
		o.read_only = true;
	rc = mmc_emu_open(path, &o, &emu);
	if (rc)
		return rc;
	t = mmc_emu_transport(emu);
	if (!t) {
		mmc_emu_close(emu);
		return cds_error(-ENOMEM, "out of memory");
	}
	*out = t;
	return 0;
}
