/*
 * drive_cd.c - CD-R / CD-RW (and reading CD-ROM): the disc layout from the
 * raw TOC, ATIP and track information, and TAO session writing as
 * `cdrecord -multi -data` and libburn do it (mmc-reference 3.1, 4.1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "cdb.h"
#include "drive_int.h"
#include "sense.h"

#define CD_AUDIO_PAUSE	   150
#define CD_DATA_TRACK_MODE 4 /* CONTROL: data, uninterrupted */
#define CD_BLOCK_MODE1	   8 /* data block type: mode 1, 2048 bytes */
#define CD_SESSION_CDROM   0x00
#define CD_SPEED_1X_KBPS   177 /* 1x = 176.4 kB/s; drives round down */
#define CD_ATIP_ALLOC	   32

/* What the raw TOC says about one session number (1..99). */
struct toc_session {
	bool has_first, has_last, has_leadout;
	uint8_t first, last;
	int32_t leadout;
};

struct toc_track {
	bool seen;
	uint8_t session, control;
	int32_t start;
};

static uint32_t clamp_lba(int32_t lba)
{
	return lba < 0 ? 0 : (uint32_t)lba;
}

/* Complete sessions and their tracks from READ TOC format 2 (MSF). */
static int cd_read_toc(struct mmc_drive *d, struct mmc_disc *out)
{
	struct toc_session *ses = NULL;
	struct toc_track *trk = NULL;
	struct mmc_raw_toc *toc = NULL;
	uint8_t *buf = NULL;
	struct mmc_cmd c;
	int rc;

	buf = calloc(1, MMC_RAW_TOC_ALLOC);
	toc = malloc(sizeof(*toc));
	ses = calloc(100, sizeof(*ses));
	trk = calloc(100, sizeof(*trk));
	if (!buf || !toc || !ses || !trk) {
		rc = cds_error(-ENOMEM, "out of memory");
		goto out;
	}
	mmc_cdb_read_toc(&c, MMC_TOC_RAW, true, 1, buf, MMC_RAW_TOC_ALLOC);
	rc = mmc_drive_run_sense(d, &c);
	if (rc == 1) {
		/* no complete session yet: a drive has no TOC to give */
		cds_log(CDS_LOG_DEBUG, "%s: no TOC (sense %X/%02X/%02X)",
			d->name, c.sense.key, c.sense.asc, c.sense.ascq);
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	rc = mmc_parse_toc_raw(buf, MMC_RAW_TOC_ALLOC - c.resid, toc);
	if (rc)
		goto out;
	for (unsigned i = 0; i < toc->n; i++) {
		const struct mmc_raw_toc_entry *e = &toc->e[i];
		struct toc_session *s;

		if (e->session < 1 || e->session > 99 || e->adr != 1)
			continue;
		s = &ses[e->session];
		if (e->point >= 1 && e->point <= 99) {
			trk[e->point].seen = true;
			trk[e->point].session = e->session;
			trk[e->point].control = e->control;
			trk[e->point].start = mmc_raw_toc_paddr(e);
		} else if (e->point == MMC_POINT_FIRST_TRACK) {
			s->has_first = true;
			s->first = e->pmin;
		} else if (e->point == MMC_POINT_LAST_TRACK) {
			s->has_last = true;
			s->last = e->pmin;
		} else if (e->point == MMC_POINT_LEADOUT) {
			s->has_leadout = true;
			s->leadout = mmc_raw_toc_paddr(e);
		}
	}
	for (unsigned n = 1; n <= 99; n++) {
		struct mmc_session *ms;
		unsigned lo = 0, hi = 0;

		if (!ses[n].has_leadout)
			continue;
		for (unsigned t = 1; t <= 99; t++)
			if (trk[t].seen && trk[t].session == n) {
				if (!lo)
					lo = t;
				hi = t;
			}
		if (ses[n].has_first && ses[n].first >= 1 && ses[n].first <= 99)
			lo = ses[n].first;
		if (ses[n].has_last && ses[n].last >= lo && ses[n].last <= 99)
			hi = ses[n].last;
		if (!lo || out->nsessions == MMC_MAX_SESSIONS)
			continue;
		ms = &out->sessions[out->nsessions++];
		ms->number = (uint16_t)n;
		ms->first_track = (uint16_t)lo;
		ms->last_track = (uint16_t)hi;
		ms->start = trk[lo].seen ? clamp_lba(trk[lo].start) : 0;
		ms->leadout = clamp_lba(ses[n].leadout);
		ms->complete = true;
	}
	for (unsigned t = 1; t <= 99; t++) {
		struct mmc_track *mt;
		int32_t end;
		unsigned u;

		if (!trk[t].seen || !ses[trk[t].session].has_leadout ||
		    out->ntracks == MMC_MAX_TRACKS)
			continue;
		end = ses[trk[t].session].leadout;
		for (u = t + 1; u <= 99; u++)
			if (trk[u].seen && trk[u].session == trk[t].session) {
				end = trk[u].start;
				break;
			}
		mt = &out->tracks[out->ntracks++];
		mt->number = (uint16_t)t;
		mt->session = trk[t].session;
		mt->start = clamp_lba(trk[t].start);
		mt->blocks =
		    end > trk[t].start ? (uint32_t)(end - trk[t].start) : 0;
		mt->control = trk[t].control;
		mt->complete = true;
	}
out:
	free(trk);
	free(ses);
	free(toc);
	free(buf);
	return rc;
}

/* Capacity and lead-in from the ATIP; pressed discs have none, and the
 * disc information's lead-out field stands in then. */
static int cd_read_atip(struct mmc_drive *d, const struct mmc_disc_info *di,
			struct mmc_disc *out)
{
	uint8_t buf[CD_ATIP_ALLOC];
	struct mmc_atip atip;
	struct mmc_cmd c;
	int rc;

	memset(buf, 0, sizeof(buf));
	mmc_cdb_read_toc(&c, MMC_TOC_ATIP, true, 0, buf, sizeof(buf));
	rc = mmc_drive_run_sense(d, &c);
	if (rc < 0)
		return rc;
	if (rc == 0 && mmc_parse_atip(buf, sizeof(buf) - c.resid, &atip) == 0 &&
	    atip.last_leadout > 0) {
		out->capacity = (uint32_t)atip.last_leadout;
		out->lead_in_start = atip.lead_in;
		return 0;
	}
	cds_error_clear();
	if (di->lead_valid && di->last_leadout_raw != 0xFFFFFFFFu) {
		uint32_t v = di->last_leadout_raw;
		int32_t lba = mmc_msf_to_lba((uint8_t)(v >> 16),
					     (uint8_t)(v >> 8), (uint8_t)v);

		out->capacity = clamp_lba(lba);
	}
	return 0;
}

/* Tracks of an open (incomplete or damaged) last session, which the TOC
 * does not show yet, from READ TRACK INFORMATION by track number. */
static int cd_read_open_session(struct mmc_drive *d,
				const struct mmc_disc_info *di,
				struct mmc_disc *out)
{
	unsigned first = di->first_track_last_session;
	unsigned last = di->last_track_last_session;
	struct mmc_session *ms = NULL;
	struct mmc_track_info ti;
	int rc;

	if (first < 1)
		first = 1;
	if (last > 99)
		last = 99;
	for (unsigned t = first; t <= last; t++) {
		struct mmc_track *mt;

		rc = mmc_drive_track_info(d, MMC_RTI_TRACK, t, &ti);
		if (rc)
			return rc;
		if (ti.blank && !ti.damage)
			continue; /* the invisible track */
		if (out->ntracks == MMC_MAX_TRACKS)
			break;
		if (!ms) {
			if (out->nsessions == MMC_MAX_SESSIONS)
				break;
			ms = &out->sessions[out->nsessions++];
			ms->number = di->nsessions;
			ms->first_track = (uint16_t)t;
			ms->start = ti.start;
			ms->complete = false;
		}
		ms->last_track = (uint16_t)t;
		mt = &out->tracks[out->ntracks++];
		mt->number = (uint16_t)t;
		mt->session = di->nsessions;
		mt->start = ti.start;
		mt->blocks = ti.size;
		mt->control = ti.track_mode;
		mt->damaged = ti.damage;
		mt->continuable = ti.damage && ti.nwa_valid;
		mt->nwa = mt->continuable ? ti.nwa : 0;
		/* a track being written still has its own NWA */
		mt->complete = !ti.damage && !ti.nwa_valid;
	}
	return 0;
}

/* The invisible track: where the next track goes and how much is left. */
static int cd_read_nwa(struct mmc_drive *d, struct mmc_disc *out)
{
	uint8_t buf[MMC_TRACK_INFO_ALLOC];
	struct mmc_track_info ti;
	struct mmc_cmd c;
	int rc;

	memset(buf, 0, sizeof(buf));
	mmc_cdb_read_track_info(&c, MMC_RTI_TRACK, MMC_RTI_INVISIBLE_TRACK, buf,
				sizeof(buf));
	rc = mmc_drive_run_sense(d, &c);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return 0; /* nothing writable: full, or an open track */
	rc = mmc_parse_track_info(buf, sizeof(buf) - c.resid, &ti);
	if (rc)
		return rc;
	out->next_track = ti.track;
	if (ti.nwa_valid) {
		out->nwa_valid = true;
		/* some drives say -150 on a blank CD (libburn clamps) */
		out->nwa = clamp_lba((int32_t)ti.nwa);
		out->free_blocks = ti.free_blocks;
	}
	return 0;
}

static int cd_layout(struct mmc_drive *d, const struct mmc_disc_info *di,
		     struct mmc_disc *out)
{
	int rc;

	if (di->disc_status != MMC_DISC_EMPTY) {
		rc = cd_read_toc(d, out);
		if (rc)
			return rc;
	}
	rc = cd_read_atip(d, di, out);
	if (rc)
		return rc;
	if (di->disc_status != MMC_DISC_COMPLETE &&
	    (di->last_session_state == MMC_SESSION_INCOMPLETE ||
	     di->last_session_state == MMC_SESSION_DAMAGED)) {
		rc = cd_read_open_session(d, di, out);
		if (rc)
			return rc;
	}
	if (di->disc_status != MMC_DISC_COMPLETE) {
		rc = cd_read_nwa(d, out);
		if (rc)
			return rc;
	}
	if (!out->capacity && out->nwa_valid)
		out->capacity = out->nwa + out->free_blocks;
	return 0;
}

static uint32_t cd_nwa_track(const struct mmc_disc *disc)
{
	(void)disc;
	return MMC_RTI_INVISIBLE_TRACK;
}

/*
 * MODE SENSE page 05, then MODE SELECT it with every field set: some
 * drives ship illegal defaults and some reject a multi-session field that
 * does not match the block type (wodim), so nothing is left as found.
 */
static int cd_write_params(struct mmc_drive *d, bool multi, bool dummy)
{
	uint8_t buf[MMC_MODE_SENSE_ALLOC];
	struct mmc_write_params p;
	struct mmc_cmd c;
	int rc;

	memset(buf, 0, sizeof(buf));
	mmc_cdb_mode_sense10(&c, MMC_PAGE_WRITE_PARAMETERS, MMC_PC_CURRENT, buf,
			     sizeof(buf));
	rc = mmc_drive_run(d, &c);
	if (rc)
		return rc;
	rc = mmc_parse_write_params(buf, sizeof(buf) - c.resid, &p);
	if (rc)
		return rc;
	if (p.page_len < MMC_PAGE05_LEN)
		p.page_len = MMC_PAGE05_LEN; /* libburn's fallback */
	p.ps = false;
	p.bufe = true;
	p.ls_valid = false;
	p.test_write = dummy;
	p.write_type = MMC_WRITE_TAO;
	p.multi_session = multi ? MMC_MULTI_APPENDABLE : MMC_MULTI_CLOSE_DISC;
	p.fixed_packet = false;
	p.copy = false;
	p.track_mode = CD_DATA_TRACK_MODE;
	p.data_block_type = CD_BLOCK_MODE1;
	p.link_size = 0;
	p.host_app_code = 0;
	p.session_format = CD_SESSION_CDROM;
	p.packet_size = 0;
	p.audio_pause = CD_AUDIO_PAUSE;
	memset(p.mcn, 0, sizeof(p.mcn));
	memset(p.isrc, 0, sizeof(p.isrc));
	memset(p.subheader, 0, sizeof(p.subheader));
	rc = mmc_cdb_mode_select_write_params(&c, &p, buf, sizeof(buf));
	if (rc)
		return rc;
	rc = mmc_drive_run_sense(d, &c);
	if (rc == 1 && c.sense.key == MMC_SK_ILLEGAL_REQUEST &&
	    c.sense.asc == 0x26) {
		/* no underrun protection on this drive: try without BUFE */
		cds_log(CDS_LOG_INFO,
			"%s: write parameters refused with "
			"BUFE; retrying without",
			d->name);
		p.bufe = false;
		rc = mmc_cdb_mode_select_write_params(&c, &p, buf, sizeof(buf));
		if (rc)
			return rc;
		rc = mmc_drive_run_sense(d, &c);
	}
	if (rc == 1)
		return mmc_sense_error(mmc_op_name(c.cdb[0]), &c.sense);
	return rc;
}

static int cd_begin(struct mmc_burn *b)
{
	unsigned kbps =
	    b->opts.speed ? b->opts.speed * CD_SPEED_1X_KBPS : 0xFFFF;
	struct mmc_cmd c;
	int rc;

	rc = cd_write_params(b->d, b->opts.multi, b->opts.dummy);
	if (rc)
		return rc;
	mmc_cdb_set_cd_speed(&c, 0xFFFF,
			     (uint16_t)(kbps > 0xFFFF ? 0xFFFF : kbps));
	rc = mmc_drive_run(b->d, &c);
	if (rc == -EINVAL || rc == -EOPNOTSUPP) {
		/* a speed the drive does not take is not worth failing for */
		cds_log(CDS_LOG_WARN, "%s: %s", b->d->name, cds_errmsg(rc));
		rc = 0;
	}
	return rc;
}

/* Send an IMMED command and poll until the drive has done it. */
static int run_immed(struct mmc_drive *d, struct mmc_cmd *c)
{
	int rc = mmc_drive_run_busy(d, c);

	if (rc)
		return rc;
	return mmc_drive_wait_ready(d);
}

static int cd_close(struct mmc_drive *d, bool dummy)
{
	struct mmc_cmd c;
	int rc;

	mmc_cdb_close_track_session(&c, MMC_CLOSE_SESSION, 0, true);
	rc = run_immed(d, &c);
	if (rc && dummy) {
		/* some drives refuse fixation in simulation mode; real
		 * burners shrug it off (wodim fixate_mmc) */
		cds_log(CDS_LOG_INFO, "%s: dummy burn: %s", d->name,
			cds_errmsg(rc));
		rc = 0;
	}
	return rc;
}

static int cd_finish(struct mmc_burn *b)
{
	struct mmc_cmd c;
	int rc;

	/* on CD TAO, SYNCHRONIZE CACHE also closes the track */
	mmc_cdb_synchronize_cache(&c, true);
	rc = run_immed(b->d, &c);
	if (rc)
		return rc;
	return cd_close(b->d, b->opts.dummy);
}

static int cd_close_session(struct mmc_drive *d, bool multi)
{
	int rc = cd_write_params(d, multi, false);

	if (rc)
		return rc;
	return cd_close(d, false);
}

const struct mmc_profile_ops mmc_cd_write_ops = {
    .layout = cd_layout,
    .write_unit = 1,
    .min_blocks = MMC_CD_MIN_TRACK,
    .overhead = MMC_CD_RUNOUT,
    .nwa_track = cd_nwa_track,
    .begin = cd_begin,
    .finish = cd_finish,
    .close_session = cd_close_session,
};

const struct mmc_profile_ops mmc_cd_read_ops = {
    .layout = cd_layout,
    .write_unit = 1,
    .nwa_track = cd_nwa_track,
};
