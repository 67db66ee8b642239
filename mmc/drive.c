/*
 * drive.c - the drive API over a transport: open and wait for the drive,
 * inquire the medium, read, burn a session, close, blank, eject.  What
 * differs between media sits in the per-profile ops (drive_cd.c).
 */
#include "drive.h"

#include <cdio/cdio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/error.h"
#include "common/log.h"
#include "common/sector.h"
#include "cdb.h"
#include "drive_int.h"
#include "emu.h"
#include "sense.h"

#define UNIT_ATTENTION_RETRIES 5
#define READY_LIMIT_MS	       3600000u /* libburn's limit for IMMED polling */
#define POLL_MIN_MS	       10u
#define POLL_MAX_MS	       500u /* libburn polls twice per second */
#define WRITE_BUSY_LIMIT_MS    120000u

/* --- small helpers --------------------------------------------------- */

void mmc_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0)
		;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool sense_is(const struct mmc_sense *s, uint8_t key, uint8_t asc)
{
	return s->valid && s->key == key && s->asc == asc;
}

static void report_progress(struct mmc_drive *d, const struct mmc_sense *s)
{
	if (d->progress && s->progress_valid)
		d->progress(s->progress / 65536.0, d->progress_ctx);
}

static size_t max_transfer_blocks(const struct mmc_drive *d)
{
	size_t bytes = d->t->max_transfer ? d->t->max_transfer : 65536u;
	size_t n = bytes / MMC_BLOCK_SIZE;

	if (n == 0)
		n = 1;
	return n > 0xFFFF ? 0xFFFF : n;
}

/* --- command execution ----------------------------------------------- */

int mmc_drive_run_sense(struct mmc_drive *d, struct mmc_cmd *c)
{
	int tries = 0, rc;

	for (;;) {
		rc = mmc_transport_execute(d->t, c);
		if (rc)
			return rc;
		if (c->status == MMC_STATUS_GOOD)
			return 0;
		if (c->sense.valid &&
		    (c->sense.key == MMC_SK_RECOVERED_ERROR ||
		     (c->sense.key == MMC_SK_NO_SENSE && c->sense.asc == 0))) {
			if (c->sense.key == MMC_SK_RECOVERED_ERROR)
				cds_log(CDS_LOG_INFO,
					"%s: %s: recovered error "
					"%02X/%02X",
					d->name, mmc_op_name(c->cdb[0]),
					c->sense.asc, c->sense.ascq);
			c->status = MMC_STATUS_GOOD;
			return 0;
		}
		if (c->sense.valid && c->sense.key == MMC_SK_UNIT_ATTENTION &&
		    (c->sense.asc == 0x28 || c->sense.asc == 0x29) &&
		    ++tries <= UNIT_ATTENTION_RETRIES) {
			cds_log(CDS_LOG_DEBUG,
				"%s: unit attention %02X/%02X, "
				"retrying %s",
				d->name, c->sense.asc, c->sense.ascq,
				mmc_op_name(c->cdb[0]));
			continue;
		}
		return 1;
	}
}

int mmc_drive_run(struct mmc_drive *d, struct mmc_cmd *c)
{
	int rc = mmc_drive_run_sense(d, c);

	if (rc == 1)
		return mmc_sense_error(mmc_op_name(c->cdb[0]), &c->sense);
	return rc;
}

int mmc_drive_wait_ready(struct mmc_drive *d)
{
	uint64_t deadline = now_ms() + READY_LIMIT_MS;
	unsigned delay = POLL_MIN_MS;
	int attention = 0;
	struct mmc_cmd c;
	int rc;

	for (;;) {
		mmc_cdb_test_unit_ready(&c);
		rc = mmc_transport_execute(d->t, &c);
		if (rc)
			return rc;
		if (c.status == MMC_STATUS_GOOD)
			return 0;
		if (sense_is(&c.sense, MMC_SK_NOT_READY, 0x3A))
			return cds_error(-ENOMEDIUM, "no disc in %s", d->name);
		if (c.sense.valid && c.sense.key == MMC_SK_UNIT_ATTENTION &&
		    (c.sense.asc == 0x28 || c.sense.asc == 0x29)) {
			if (++attention > UNIT_ATTENTION_RETRIES)
				break;
			continue;
		}
		if (!mmc_sense_in_progress(&c.sense) &&
		    !(sense_is(&c.sense, MMC_SK_NOT_READY, 0x04) &&
		      c.sense.ascq == 0x01))
			break;
		report_progress(d, &c.sense);
		if (now_ms() > deadline)
			return cds_error(-ETIMEDOUT,
					 "%s: the drive did not "
					 "become ready in %u s",
					 d->name, READY_LIMIT_MS / 1000);
		mmc_sleep_ms(delay);
		if (delay < POLL_MAX_MS)
			delay *= 2;
	}
	return mmc_sense_error("TEST UNIT READY", &c.sense);
}

int mmc_drive_run_busy(struct mmc_drive *d, struct mmc_cmd *c)
{
	struct mmc_cmd saved = *c;
	int tries = 0, rc;

	for (;;) {
		rc = mmc_drive_run_sense(d, c);
		if (rc != 1)
			return rc;
		if (!mmc_sense_in_progress(&c->sense) || ++tries > 100)
			return mmc_sense_error(mmc_op_name(c->cdb[0]),
					       &c->sense);
		rc = mmc_drive_wait_ready(d);
		if (rc)
			return rc;
		*c = saved;
	}
}

int mmc_drive_disc_info(struct mmc_drive *d, struct mmc_disc_info *out)
{
	uint8_t buf[MMC_DISC_INFO_ALLOC];
	struct mmc_cmd c;
	int rc;

	memset(buf, 0, sizeof(buf));
	mmc_cdb_read_disc_info(&c, buf, sizeof(buf));
	rc = mmc_drive_run_sense(d, &c);
	if (rc == 1 && sense_is(&c.sense, MMC_SK_NOT_READY, 0x3A))
		return cds_error(-ENOMEDIUM, "no disc in %s", d->name);
	if (rc == 1)
		return mmc_sense_error(mmc_op_name(c.cdb[0]), &c.sense);
	if (rc)
		return rc;
	return mmc_parse_disc_info(buf, sizeof(buf) - c.resid, out);
}

int mmc_drive_track_info(struct mmc_drive *d, enum mmc_rti_address type,
			 uint32_t address, struct mmc_track_info *out)
{
	uint8_t buf[MMC_TRACK_INFO_ALLOC];
	struct mmc_cmd c;
	int rc;

	memset(buf, 0, sizeof(buf));
	mmc_cdb_read_track_info(&c, type, address, buf, sizeof(buf));
	rc = mmc_drive_run(d, &c);
	if (rc)
		return rc;
	return mmc_parse_track_info(buf, sizeof(buf) - c.resid, out);
}

/* --- open / close ---------------------------------------------------- */

static int drive_new(struct mmc_transport *t, unsigned flags, const char *name,
		     struct mmc_drive **out)
{
	uint8_t buf[MMC_INQUIRY_ALLOC];
	struct mmc_inquiry inq;
	struct mmc_drive *d;
	struct mmc_cmd c;
	int rc;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d) {
		mmc_transport_close(t);
		return cds_error(-ENOMEM, "out of memory");
	}
	d->t = t;
	d->flags = flags;
	snprintf(d->name, sizeof(d->name), "%s", name);

	rc = mmc_drive_wait_ready(d);
	if (rc)
		goto err;
	memset(buf, 0, sizeof(buf));
	mmc_cdb_inquiry(&c, buf, sizeof(buf));
	rc = mmc_drive_run(d, &c);
	if (rc)
		goto err;
	rc = mmc_parse_inquiry(buf, sizeof(buf) - c.resid, &inq);
	if (rc)
		goto err;
	if (inq.device_type != 5) {
		rc = cds_error(-ENODEV,
			       "%s is not an optical drive (SCSI "
			       "device type %u)",
			       name, inq.device_type);
		goto err;
	}
	*out = d;
	return 0;
err:
	mmc_drive_close(d);
	return rc;
}

int mmc_drive_open_transport(struct mmc_transport *t, unsigned flags,
			     struct mmc_drive **out)
{
	return drive_new(t, flags, t->ops->name, out);
}

int mmc_drive_open(const char *device, unsigned flags, struct mmc_drive **out)
{
	struct mmc_transport *t = NULL;
	struct stat st;
	int rc;

	*out = NULL;
	if (stat(device, &st) < 0) {
		int err = errno;

		return cds_error(-err, "%s: %s", device, strerror(err));
	}
	if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))
		rc = mmc_sgio_open(device, flags & MMC_DRIVE_EXCL, &t);
	else if (S_ISREG(st.st_mode))
		rc = mmc_emu_transport_open(device, flags & MMC_DRIVE_READ_ONLY,
					    &t);
	else
		return cds_error(-ENODEV,
				 "%s is neither a drive nor a "
				 "virtual disc file",
				 device);
	if (rc)
		return rc;
	return drive_new(t, flags, device, out);
}

void mmc_drive_close(struct mmc_drive *d)
{
	if (!d)
		return;
	mmc_transport_close(d->t);
	free(d);
}

void mmc_drive_set_progress(struct mmc_drive *d, mmc_progress_fn fn, void *ctx)
{
	d->progress = fn;
	d->progress_ctx = ctx;
}

int mmc_drive_default_device(char *buf, size_t len)
{
	char **devs = cdio_get_devices(DRIVER_DEVICE);
	char *pick = NULL;
	int rc = 0;

	for (size_t i = 0; devs && devs[i] && !pick; i++) {
		cdio_drive_read_cap_t rcap = 0;
		cdio_drive_write_cap_t wcap = 0;
		cdio_drive_misc_cap_t mcap = 0;

		cdio_get_drive_cap_dev(devs[i], &rcap, &wcap, &mcap);
		if (wcap & CDIO_DRIVE_CAP_WRITE)
			pick = devs[i];
	}
	/* no burner known: fall back to the first drive, as cdrecord's
	 * dev= default does, and let the burn say what it cannot do */
	if (!pick && devs && devs[0])
		pick = devs[0];
	if (!pick)
		rc = cds_error(-ENODEV, "no optical drive found; give a device "
					"or a virtual disc file");
	else if ((size_t)snprintf(buf, len, "%s", pick) >= len)
		rc = cds_error(-ENAMETOOLONG, "device name %s too long", pick);
	if (devs)
		cdio_free_device_list(devs);
	return rc;
}

int mmc_drive_identify(struct mmc_drive *d, struct mmc_drive_id *out)
{
	uint8_t buf[MMC_INQUIRY_ALLOC];
	struct mmc_inquiry inq;
	struct mmc_cmd c;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(buf, 0, sizeof(buf));
	mmc_cdb_inquiry(&c, buf, sizeof(buf));
	rc = mmc_drive_run(d, &c);
	if (rc)
		return rc;
	rc = mmc_parse_inquiry(buf, sizeof(buf) - c.resid, &inq);
	if (rc)
		return rc;
	memcpy(out->vendor, inq.vendor, sizeof(out->vendor));
	memcpy(out->product, inq.product, sizeof(out->product));
	memcpy(out->revision, inq.revision, sizeof(out->revision));
	out->device_type = inq.device_type;
	return 0;
}

/* --- profiles -------------------------------------------------------- */

static const struct {
	uint16_t profile;
	const char *name;
} profile_names[] = {
    {MMC_PROFILE_NONE, "no medium"},
    {MMC_PROFILE_CD_ROM, "CD-ROM"},
    {MMC_PROFILE_CD_R, "CD-R"},
    {MMC_PROFILE_CD_RW, "CD-RW"},
    {MMC_PROFILE_DVD_ROM, "DVD-ROM"},
    {MMC_PROFILE_DVD_R_SEQ, "DVD-R"},
    {MMC_PROFILE_DVD_RAM, "DVD-RAM"},
    {MMC_PROFILE_DVD_RW_RO, "DVD-RW (restricted overwrite)"},
    {MMC_PROFILE_DVD_RW_SEQ, "DVD-RW"},
    {MMC_PROFILE_DVD_R_DL_SEQ, "DVD-R DL"},
    {MMC_PROFILE_DVD_R_DL_JUMP, "DVD-R DL (layer jump)"},
    {MMC_PROFILE_DVD_PLUS_RW, "DVD+RW"},
    {MMC_PROFILE_DVD_PLUS_R, "DVD+R"},
    {MMC_PROFILE_DVD_PLUS_RW_DL, "DVD+RW DL"},
    {MMC_PROFILE_DVD_PLUS_R_DL, "DVD+R DL"},
    {MMC_PROFILE_BD_ROM, "BD-ROM"},
    {MMC_PROFILE_BD_R_SRM, "BD-R"},
    {MMC_PROFILE_BD_R_RRM, "BD-R (random recording)"},
    {MMC_PROFILE_BD_RE, "BD-RE"},
};

const char *mmc_profile_name(uint16_t profile)
{
	for (size_t i = 0; i < sizeof(profile_names) / sizeof(*profile_names);
	     i++)
		if (profile_names[i].profile == profile)
			return profile_names[i].name;
	return "unknown medium";
}

/* DVD+R, DVD-R and BD-R get their entries here as they are written. */
const struct mmc_profile_ops *mmc_profile_ops(uint16_t profile)
{
	switch (profile) {
	case MMC_PROFILE_CD_R:
	case MMC_PROFILE_CD_RW:
		return &mmc_cd_write_ops;
	case MMC_PROFILE_CD_ROM:
		return &mmc_cd_read_ops;
	default:
		return NULL;
	}
}

/* --- what is in the drive -------------------------------------------- */

static int current_profile(struct mmc_drive *d, uint16_t *profile)
{
	uint8_t buf[8];
	struct mmc_config cfg;
	struct mmc_cmd c;
	int rc;

	memset(buf, 0, sizeof(buf));
	mmc_cdb_get_configuration(&c, 0, 0, buf, sizeof(buf));
	rc = mmc_drive_run_sense(d, &c);
	if (rc == 1 && sense_is(&c.sense, MMC_SK_NOT_READY, 0x3A))
		return cds_error(-ENOMEDIUM, "no disc in %s", d->name);
	if (rc == 1 && sense_is(&c.sense, MMC_SK_ILLEGAL_REQUEST, 0x20)) {
		/* an MMC-1 drive: guessed from disc info by the caller */
		*profile = MMC_PROFILE_NONE;
		return 1;
	}
	if (rc == 1)
		return mmc_sense_error(mmc_op_name(c.cdb[0]), &c.sense);
	if (rc)
		return rc;
	rc = mmc_parse_configuration(buf, sizeof(buf) - c.resid, &cfg);
	if (rc)
		return rc;
	*profile = cfg.current_profile;
	return 0;
}

int mmc_drive_disc(struct mmc_drive *d, struct mmc_disc *out)
{
	const struct mmc_profile_ops *ops;
	struct mmc_disc_info di;
	uint16_t profile = MMC_PROFILE_NONE;
	int rc, guess;

	memset(out, 0, sizeof(*out));
	out->media_name = mmc_profile_name(MMC_PROFILE_NONE);
	guess = current_profile(d, &profile);
	if (guess < 0)
		return guess;
	if (!guess && profile == MMC_PROFILE_NONE)
		return cds_error(-ENOMEDIUM, "no disc in %s", d->name);
	rc = mmc_drive_disc_info(d, &di);
	if (rc)
		return rc;
	if (guess) /* as libburn does for drives without GET CONFIG */
		profile = di.erasable ? MMC_PROFILE_CD_RW : MMC_PROFILE_CD_R;
	out->profile = profile;
	out->media_name = mmc_profile_name(profile);
	out->status = (enum mmc_disc_status)di.disc_status;
	out->last_session_state = (enum mmc_session_state)di.last_session_state;
	out->erasable = di.erasable || profile == MMC_PROFILE_CD_RW;
	ops = mmc_profile_ops(profile);
	if (!ops)
		return 0; /* status only: the layout reader is not there */
	return ops->layout(d, &di, out);
}

int mmc_drive_msinfo(struct mmc_drive *d, uint32_t *last_start,
		     uint32_t *next_start)
{
	uint8_t buf[12];
	struct mmc_toc_session_info si;
	struct mmc_track_info ti;
	struct mmc_disc_info di;
	struct mmc_cmd c;
	int rc;

	rc = mmc_drive_disc_info(d, &di);
	if (rc)
		return rc;
	if (di.disc_status == MMC_DISC_COMPLETE)
		return cds_error(-EROFS, "disc is closed (finalized): no next "
					 "session");
	if (di.disc_status == MMC_DISC_EMPTY)
		return cds_error(-ENODATA, "disc is blank: no previous session "
					   "(msinfo needs an appendable disc)");
	/* sessions counted by RDI include an empty or open last one */
	if (di.nsessions <= 1 && di.last_session_state != MMC_SESSION_COMPLETE)
		return cds_error(-ENODATA, "the disc has no complete session "
					   "yet: no previous session (msinfo "
					   "needs an appendable disc)");
	memset(buf, 0, sizeof(buf));
	mmc_cdb_read_toc(&c, MMC_TOC_SESSION_INFO, false, 0, buf, sizeof(buf));
	rc = mmc_drive_run(d, &c);
	if (rc)
		return rc;
	rc = mmc_parse_toc_session_info(buf, sizeof(buf) - c.resid, false, &si);
	if (rc)
		return rc;
	rc = mmc_drive_track_info(d, MMC_RTI_TRACK, MMC_RTI_INVISIBLE_TRACK,
				  &ti);
	if (rc)
		return rc;
	if (!ti.nwa_valid)
		return cds_error(-ENOSPC, "cannot read the next writable "
					  "address: the disc is full or has "
					  "an unfinished track");
	if (si.start < 0)
		return cds_error(-EPROTO,
				 "READ TOC: last session starts at "
				 "negative LBA %d",
				 si.start);
	*last_start = (uint32_t)si.start;
	*next_start = ti.nwa;
	return 0;
}

/* --- reading --------------------------------------------------------- */

int mmc_drive_read(struct mmc_drive *d, uint32_t lba, uint32_t count, void *buf)
{
	size_t per = max_transfer_blocks(d);
	uint8_t *p = buf;
	struct mmc_cmd c;
	int rc;

	if (lba > INT32_MAX || count > INT32_MAX - lba)
		return cds_error(-EINVAL,
				 "read of %u blocks at LBA %u is out "
				 "of range",
				 count, lba);
	while (count > 0) {
		uint16_t n = (uint16_t)(count < per ? count : per);

		mmc_cdb_read10(&c, (int32_t)lba, n, p);
		rc = mmc_drive_run(d, &c);
		if (rc)
			return rc;
		if (c.resid)
			return cds_error(-EIO,
					 "READ(10): short read at LBA "
					 "%u (%zu bytes missing)",
					 lba, c.resid);
		p += (size_t)n * MMC_BLOCK_SIZE;
		lba += n;
		count -= n;
	}
	return 0;
}

struct drive_source {
	struct cds_source base;
	struct mmc_drive *d;
};

static int drive_source_read(struct cds_source *src, uint32_t lba,
			     uint32_t count, void *buf)
{
	struct drive_source *ds = (struct drive_source *)src;

	if (lba > src->nsectors || count > src->nsectors - lba)
		return cds_error(-EINVAL,
				 "read of sectors %u+%u outside the "
				 "%u sectors of the disc",
				 lba, count, src->nsectors);
	return mmc_drive_read(ds->d, lba, count, buf);
}

static void drive_source_close(struct cds_source *src)
{
	free(src);
}

static const struct cds_source_ops drive_source_ops = {
    .read = drive_source_read,
    .close = drive_source_close,
};

int mmc_drive_source(struct mmc_drive *d, struct cds_source **out)
{
	struct drive_source *ds;
	struct mmc_disc *disc;
	uint32_t end = 0;
	int rc;

	*out = NULL;
	disc = malloc(sizeof(*disc));
	if (!disc)
		return cds_error(-ENOMEM, "out of memory");
	rc = mmc_drive_disc(d, disc);
	if (rc)
		goto out;
	for (unsigned i = 0; i < disc->nsessions; i++)
		if (disc->sessions[i].complete &&
		    disc->sessions[i].leadout > end)
			end = disc->sessions[i].leadout;
	ds = calloc(1, sizeof(*ds));
	if (!ds) {
		rc = cds_error(-ENOMEM, "out of memory");
		goto out;
	}
	ds->base.ops = &drive_source_ops;
	ds->base.nsectors = end;
	ds->d = d;
	*out = &ds->base;
out:
	free(disc);
	return rc;
}

/* --- burning --------------------------------------------------------- */

static int check_writable(struct mmc_drive *d, const char *what)
{
	if (d->flags & MMC_DRIVE_READ_ONLY)
		return cds_error(-EROFS, "%s was opened read-only: cannot %s",
				 d->name, what);
	return 0;
}

/* Refuse a disc with an unfinished track or an unclosed session. */
static int check_no_open_work(const struct mmc_disc *disc)
{
	for (unsigned i = 0; i < disc->ntracks; i++)
		if (!disc->tracks[i].complete || disc->tracks[i].damaged)
			return cds_error(
			    -EUCLEAN, "the disc has an unfinished track from "
				      "an interrupted burn; blank it (CD-RW) "
				      "or close it with cdsession-fix");
	if (disc->nsessions > 0 &&
	    !disc->sessions[disc->nsessions - 1].complete)
		return cds_error(-EUCLEAN, "the disc has an unclosed session "
					   "from an interrupted burn; close it "
					   "with cdsession-fix");
	return 0;
}

static int set_lock(struct mmc_drive *d, bool prevent)
{
	struct mmc_cmd c;

	mmc_cdb_prevent_allow(&c, prevent);
	return mmc_drive_run(d, &c);
}

static uint32_t round_up(uint32_t n, uint32_t unit)
{
	return unit > 1 ? (n + unit - 1) / unit * unit : n;
}

/*
 * The disc in @d, for the write-type operation @what: the drive may write,
 * the medium is one we can write, and the disc is not closed.  On success
 * *disc_out (the caller frees it) and *ops_out describe the medium.
 */
static int writable_disc(struct mmc_drive *d, const char *what,
			 struct mmc_disc **disc_out,
			 const struct mmc_profile_ops **ops_out)
{
	const struct mmc_profile_ops *ops;
	struct mmc_disc *disc;
	int rc;

	rc = check_writable(d, what);
	if (rc)
		return rc;
	disc = malloc(sizeof(*disc));
	if (!disc)
		return cds_error(-ENOMEM, "out of memory");
	rc = mmc_drive_disc(d, disc);
	if (rc)
		goto fail;
	ops = mmc_profile_ops(disc->profile);
	if (!ops || !ops->begin || !ops->close_session) {
		rc = cds_error(-EMEDIUMTYPE,
			       "%s in %s: this medium cannot be "
			       "written",
			       disc->media_name, d->name);
		goto fail;
	}
	if (disc->status == MMC_DISC_COMPLETE) {
		rc = cds_error(-EROFS, "disc is closed (finalized); no more "
				       "sessions can be written");
		goto fail;
	}
	*disc_out = disc;
	*ops_out = ops;
	return 0;
fail:
	free(disc);
	return rc;
}

/* The blocks a session of @nblocks takes: the medium's minimum track
 * size, rounded up to its write unit. */
static uint32_t burn_blocks(const struct mmc_profile_ops *ops, uint32_t nblocks)
{
	return round_up(nblocks > ops->min_blocks ? nblocks : ops->min_blocks,
			ops->write_unit);
}

/* A burn of up to @blocks: the write parameters set, the tray locked. */
static int burn_open(struct mmc_drive *d, const struct mmc_profile_ops *ops,
		     const struct mmc_burn_opts *opts, uint32_t blocks,
		     struct mmc_burn **out)
{
	struct mmc_burn *b = calloc(1, sizeof(*b));
	int rc;

	*out = NULL;
	if (!b)
		return cds_error(-ENOMEM, "out of memory");
	b->d = d;
	b->ops = ops;
	b->opts = *opts;
	b->limit = blocks;
	rc = ops->begin(b);
	if (rc == 0)
		rc = set_lock(d, true);
	if (rc) {
		mmc_burn_abort(b);
		return rc;
	}
	b->locked = true;
	*out = b;
	return 0;
}

int mmc_burn_begin(struct mmc_drive *d, const struct mmc_burn_opts *opts,
		   uint32_t nblocks, struct mmc_burn **out)
{
	const struct mmc_profile_ops *ops;
	struct mmc_track_info ti;
	struct mmc_burn *b = NULL;
	struct mmc_disc *disc;
	uint32_t blocks;
	int rc;

	*out = NULL;
	rc = writable_disc(d, "burn", &disc, &ops);
	if (rc)
		return rc;
	rc = check_no_open_work(disc);
	if (rc)
		goto out;
	if (!disc->nwa_valid) {
		rc = cds_error(-ENOSPC, "the disc has no next writable "
					"address: it is full");
		goto out;
	}
	blocks = burn_blocks(ops, nblocks);
	if (blocks > UINT32_MAX - ops->overhead ||
	    blocks + ops->overhead > disc->free_blocks) {
		rc = cds_error(-ENOSPC,
			       "image needs %u blocks (+%u run-out), "
			       "disc has %u free",
			       blocks, ops->overhead, disc->free_blocks);
		goto out;
	}
	rc = burn_open(d, ops, opts, blocks, &b);
	if (rc)
		goto out;
	/* the NWA again, after the write parameters are in place */
	rc = mmc_drive_track_info(d, MMC_RTI_TRACK, ops->nwa_track(disc), &ti);
	if (rc)
		goto out;
	if (!ti.nwa_valid) {
		rc = cds_error(-EIO,
			       "%s: the drive reports no next writable "
			       "address",
			       d->name);
		goto out;
	}
	b->start = b->next = ti.nwa;
	*out = b;
	b = NULL;
out:
	if (b)
		mmc_burn_abort(b);
	free(disc);
	return rc;
}

uint32_t mmc_burn_start_lba(const struct mmc_burn *b)
{
	return b->start;
}

uint32_t mmc_burn_next_lba(const struct mmc_burn *b)
{
	return b->next;
}

/* The cut-off track of the open session that a burn may continue: its
 * READ TRACK INFORMATION in *ti. */
static int continuable_track(struct mmc_drive *d, const struct mmc_disc *disc,
			     uint32_t start, struct mmc_track_info *ti)
{
	const struct mmc_session *last =
	    disc->nsessions ? &disc->sessions[disc->nsessions - 1] : NULL;
	const struct mmc_track *t =
	    disc->ntracks ? &disc->tracks[disc->ntracks - 1] : NULL;
	int rc;

	if (!last || last->complete || !t || t->session != last->number)
		return cds_error(-EUCLEAN, "the disc has no session left open "
					   "by an interrupted burn to finish");
	if (!t->damaged)
		return cds_error(-EUCLEAN,
				 "track %u of the open session was not cut "
				 "off: there is nothing to continue",
				 t->number);
	if (t->start != start)
		return cds_error(-EUCLEAN,
				 "the cut-off track %u starts at LBA %u, not "
				 "at LBA %u where the session was laid out",
				 t->number, t->start, start);
	rc = mmc_drive_track_info(d, MMC_RTI_TRACK, t->number, ti);
	if (rc)
		return rc;
	if (!ti->damage || !ti->nwa_valid)
		return cds_error(-EUCLEAN,
				 "the drive cannot continue track %u that an "
				 "interrupted burn cut off (no next writable "
				 "address)",
				 t->number);
	if (ti->start != start)
		return cds_error(-EIO,
				 "%s: track %u now reports start LBA %u, "
				 "expected %u",
				 d->name, t->number, ti->start, start);
	return 0;
}

int mmc_burn_resume(struct mmc_drive *d, const struct mmc_burn_opts *opts,
		    uint32_t start, uint32_t nblocks, struct mmc_burn **out)
{
	const struct mmc_profile_ops *ops;
	struct mmc_track_info ti;
	struct mmc_burn *b = NULL;
	struct mmc_disc *disc;
	uint32_t blocks;
	int rc;

	*out = NULL;
	rc = writable_disc(d, "burn", &disc, &ops);
	if (rc)
		return rc;
	rc = continuable_track(d, disc, start, &ti);
	if (rc)
		goto out;
	blocks = burn_blocks(ops, nblocks);
	if (ti.nwa < start || ti.nwa - start > blocks) {
		rc = cds_error(-EINVAL,
			       "the cut-off track's next writable address "
			       "(LBA %u) is not within the %u blocks of the "
			       "session at LBA %u",
			       ti.nwa, blocks, start);
		goto out;
	}
	if ((uint64_t)start + blocks + ops->overhead >
	    (uint64_t)ti.nwa + ti.free_blocks) {
		rc = cds_error(-ENOSPC,
			       "the session needs %u blocks (+%u run-out) "
			       "from LBA %u, the disc has %u free after LBA %u",
			       blocks, ops->overhead, start, ti.free_blocks,
			       ti.nwa);
		goto out;
	}
	rc = burn_open(d, ops, opts, blocks, &b);
	if (rc)
		goto out;
	b->start = start;
	b->next = ti.nwa;
	b->written = ti.nwa - start;
	*out = b;
	b = NULL;
out:
	if (b)
		mmc_burn_abort(b);
	free(disc);
	return rc;
}

/* WRITE(10) one chunk, waiting while the drive's buffer is full. */
static int write_chunk(struct mmc_burn *b, const void *buf, uint16_t n)
{
	struct mmc_drive *d = b->d;
	uint64_t deadline = now_ms() + WRITE_BUSY_LIMIT_MS;
	unsigned delay = POLL_MIN_MS;
	struct mmc_cmd c;
	char msg[256];
	int rc;

	for (;;) {
		mmc_cdb_write10(&c, (int32_t)b->next, n, buf);
		rc = mmc_drive_run_sense(d, &c);
		if (rc != 1)
			return rc;
		/* 02/04/08: buffer full; retry the same LBA (growisofs) */
		if (mmc_sense_in_progress(&c.sense) && now_ms() < deadline) {
			mmc_sleep_ms(delay);
			if (delay < POLL_MAX_MS)
				delay *= 2;
			continue;
		}
		if (c.sense.key == MMC_SK_MEDIUM_ERROR || c.sense.asc == 0x0C) {
			uint32_t lba =
			    c.sense.info_valid ? c.sense.info : b->next;

			return cds_error(-EIO,
					 "WRITE(10): write error at LBA "
					 "%u (sense %X/%02X/%02X)",
					 lba, c.sense.key, c.sense.asc,
					 c.sense.ascq);
		}
		mmc_sense_format("WRITE(10)", &c.sense, msg, sizeof(msg));
		rc = mmc_sense_errno(&c.sense);
		return cds_error(rc ? rc : -EIO, "%s at LBA %u", msg, b->next);
	}
}

int mmc_burn_write(struct mmc_burn *b, const void *buf, uint32_t count)
{
	size_t per = max_transfer_blocks(b->d);
	const uint8_t *p = buf;
	int rc;

	if (count > b->limit - b->written)
		return cds_error(-ENOSPC,
				 "write past the %u blocks the "
				 "session was begun with",
				 b->limit);
	while (count > 0) {
		uint16_t n = (uint16_t)(count < per ? count : per);

		rc = write_chunk(b, p, n);
		if (rc)
			return rc;
		p += (size_t)n * MMC_BLOCK_SIZE;
		b->next += n;
		b->written += n;
		count -= n;
	}
	return 0;
}

int mmc_burn_finish(struct mmc_burn *b)
{
	uint32_t pad = b->written < b->ops->min_blocks
			   ? b->ops->min_blocks - b->written
			   : 0;
	uint8_t *zero = NULL;
	int rc = 0;

	pad = round_up(b->written + pad, b->ops->write_unit) - b->written;
	if (pad) {
		size_t per = max_transfer_blocks(b->d);

		zero = calloc(per, MMC_BLOCK_SIZE);
		if (!zero) {
			rc = cds_error(-ENOMEM, "out of memory");
			goto out;
		}
		while (pad > 0 && !rc) {
			uint32_t n = pad < per ? pad : (uint32_t)per;

			rc = mmc_burn_write(b, zero, n);
			pad -= n;
		}
		if (rc)
			goto out;
	}
	rc = b->ops->finish(b);
out:
	free(zero);
	mmc_burn_abort(b);
	return rc;
}

void mmc_burn_abort(struct mmc_burn *b)
{
	struct cds_error_state saved;
	int rc;

	if (!b)
		return;
	if (b->locked) {
		/* keep the message of the failure that led here */
		cds_error_save(&saved);
		rc = set_lock(b->d, false);
		if (rc)
			cds_log(CDS_LOG_WARN, "%s: cannot unlock the tray: %s",
				b->d->name, cds_errmsg(rc));
		cds_error_restore(&saved);
	}
	free(b);
}

int mmc_drive_close_session(struct mmc_drive *d, bool multi)
{
	const struct mmc_profile_ops *ops;
	const struct mmc_session *last;
	struct mmc_disc *disc;
	int rc;

	rc = writable_disc(d, "close the session", &disc, &ops);
	if (rc)
		return rc;
	last = disc->nsessions ? &disc->sessions[disc->nsessions - 1] : NULL;
	if (!last || last->complete) {
		rc = cds_error(-ENOENT, "the disc has no open session to "
					"close");
		goto out;
	}
	for (unsigned i = 0; i < disc->ntracks; i++)
		if (disc->tracks[i].session == last->number &&
		    (!disc->tracks[i].complete || disc->tracks[i].damaged)) {
			rc =
			    cds_error(-EUCLEAN,
				      "the open session has an unfinished "
				      "track (track %u) from an interrupted "
				      "burn; it cannot be closed%s",
				      disc->tracks[i].number,
				      disc->erasable ? "; blank the disc" : "");
			goto out;
		}
	rc = ops->close_session(d, multi);
out:
	free(disc);
	return rc;
}

static int blank(struct mmc_drive *d, enum mmc_blank_type type);

int mmc_drive_blank(struct mmc_drive *d, bool all)
{
	return blank(d, all ? MMC_BLANK_DISC : MMC_BLANK_MINIMAL);
}

int mmc_drive_blank_session(struct mmc_drive *d)
{
	return blank(d, MMC_BLANK_SESSION);
}

static int blank(struct mmc_drive *d, enum mmc_blank_type type)
{
	struct mmc_disc *disc;
	struct mmc_cmd c;
	int rc;

	rc = check_writable(d, "blank");
	if (rc)
		return rc;
	disc = malloc(sizeof(*disc));
	if (!disc)
		return cds_error(-ENOMEM, "out of memory");
	rc = mmc_drive_disc(d, disc);
	if (rc)
		goto out;
	if (!disc->erasable) {
		rc = cds_error(-EMEDIUMTYPE, "%s cannot be blanked",
			       disc->media_name);
		goto out;
	}
	mmc_cdb_blank(&c, type, 0, true);
	rc = mmc_drive_run_busy(d, &c);
	if (rc)
		goto out;
	rc = mmc_drive_wait_ready(d);
	if (!rc && d->progress)
		d->progress(1.0, d->progress_ctx);
out:
	free(disc);
	return rc;
}

int mmc_drive_eject(struct mmc_drive *d)
{
	struct mmc_cmd c;
	int rc;

	rc = set_lock(d, false);
	if (rc)
		return rc;
	mmc_cdb_start_stop(&c, MMC_EJECT, false);
	return mmc_drive_run(d, &c);
}
