/* test_drive.c - the drive API end to end against the emulator: blank
 * disc, multisession TAO burns, msinfo, read-back, full and closed discs,
 * dummy burns, blanking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/sector.h"
#include "mmc/drive.h"
#include "mmc/emu.h"
#include "tap.h"

#define BS 2048u

static char *disc_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tap_tmpdir(), name);
	return path;
}

static void fill(uint8_t *buf, uint32_t lba, uint32_t count, unsigned tag)
{
	for (uint32_t i = 0; i < count; i++)
		memset(buf + (size_t)i * BS, (int)((lba + i + tag) & 0xFF), BS);
	for (uint32_t i = 0; i < count; i++)
		memcpy(buf + (size_t)i * BS, &(uint32_t){lba + i}, 4);
}

/* Burn @n blocks (written in two calls) and return the start LBA. */
static int burn(struct mmc_drive *d, uint32_t n, bool multi, bool dummy,
		unsigned tag, uint32_t *start)
{
	struct mmc_burn_opts o = {.multi = multi, .dummy = dummy};
	struct mmc_burn *b;
	uint8_t *buf = malloc((size_t)n * BS + 1);
	uint32_t half = n / 2;
	int rc;

	rc = mmc_burn_begin(d, &o, n, &b);
	if (rc)
		goto out;
	*start = mmc_burn_start_lba(b);
	fill(buf, *start, n, tag);
	rc = mmc_burn_write(b, buf, half);
	if (!rc)
		rc = mmc_burn_write(b, buf + (size_t)half * BS, n - half);
	if (rc) {
		mmc_burn_abort(b);
		goto out;
	}
	rc = mmc_burn_finish(b);
out:
	free(buf);
	return rc;
}

static int check_read(struct mmc_drive *d, uint32_t start, uint32_t n,
		      unsigned tag)
{
	uint8_t *want = malloc((size_t)n * BS), *got = malloc((size_t)n * BS);
	int rc;

	fill(want, start, n, tag);
	rc = mmc_drive_read(d, start, n, got);
	if (!rc && memcmp(want, got, (size_t)n * BS))
		rc = -EILSEQ;
	free(want);
	free(got);
	return rc;
}

static void test_drive__open_errors(void)
{
	struct mmc_drive *d = NULL;
	char msg[600];
	int rc;

	rc = mmc_drive_open(disc_path("missing.cdr"), 0, &d);
	is_int(rc, -ENOENT, "missing file: ENOENT");
	snprintf(msg, sizeof(msg), "%s: No such file or directory",
		 disc_path("missing.cdr"));
	is_str(cds_errmsg(rc), msg, "missing file: message");
	rc = mmc_drive_open(tap_tmpdir(), 0, &d);
	is_int(rc, -ENODEV, "a directory: ENODEV");
	rc = mmc_drive_open("/dev/null", 0, &d);
	is_int(rc, -ENOTTY, "/dev/null through SG_IO: ENOTTY");
	is_str(cds_errmsg(rc), "/dev/null is not a SCSI generic capable device",
	       "/dev/null: message");
	ok(d == NULL, "no drive on failure");
}

static void test_drive__multisession_cdr(void)
{
	const char *path = disc_path("ms.cdr");
	struct mmc_disc *disc = malloc(sizeof(*disc));
	struct mmc_disc *before = malloc(sizeof(*disc));
	struct cds_source *src = NULL;
	struct mmc_drive *d = NULL;
	struct mmc_drive_id id;
	uint32_t last = 0, next = 0, s1 = 99, s2 = 0, s3 = 0, sd = 0;
	uint8_t *buf = malloc(4 * BS);
	int rc;

	is_int(mmc_emu_create(path, MMC_EMU_CDR80), 0, "create CD-R 80");
	rc = mmc_drive_open(path, 0, &d);
	is_int(rc, 0, "open virtual disc: %s", cds_errmsg(rc));
	if (rc)
		goto out;
	is_int(mmc_drive_identify(d, &id), 0, "identify");
	is_int(id.device_type, 5, "device type 5");
	ok(id.vendor[0] != '\0', "vendor '%s'", id.vendor);

	rc = mmc_drive_disc(d, disc);
	is_int(rc, 0, "blank disc info: %s", cds_errmsg(rc));
	is_int(disc->profile, MMC_PROFILE_CD_R, "profile CD-R");
	is_str(disc->media_name, "CD-R", "media name");
	is_int(disc->status, MMC_DISC_EMPTY, "blank");
	is_int(disc->nsessions, 0, "no sessions");
	is_int(disc->ntracks, 0, "no tracks");
	ok(disc->nwa_valid && disc->nwa == 0, "NWA 0");
	ok(disc->capacity > 350000, "capacity %u", disc->capacity);
	is_int(disc->free_blocks, disc->capacity, "all free");
	ok(disc->lead_in_start < 0, "lead-in %d", disc->lead_in_start);
	is_int(disc->next_track, 1, "invisible track 1");
	ok(!disc->erasable, "CD-R not erasable");
	rc = mmc_drive_msinfo(d, &last, &next);
	is_int(rc, -ENODATA, "msinfo on blank disc fails");
	is_str(cds_errmsg(rc),
	       "disc is blank: no previous session (msinfo needs an "
	       "appendable disc)",
	       "msinfo blank message");
	is_int(mmc_drive_close_session(d, true), -ENOENT,
	       "nothing to close on a blank disc");

	/* session 1 */
	rc = burn(d, 400, true, false, 1, &s1);
	is_int(rc, 0, "burn session 1: %s", cds_errmsg(rc));
	is_int(s1, 0, "session 1 at LBA 0");
	rc = mmc_drive_disc(d, disc);
	is_int(rc, 0, "disc after session 1: %s", cds_errmsg(rc));
	is_int(disc->status, MMC_DISC_INCOMPLETE, "appendable");
	is_int(disc->nsessions, 1, "1 session");
	ok(disc->sessions[0].complete && disc->sessions[0].start == 0,
	   "session 1 complete, starts at 0");
	is_int(disc->sessions[0].leadout, 402, "lead-out = 0 + 400 + 2");
	is_int(disc->ntracks, 1, "1 track");
	ok(disc->tracks[0].number == 1 && disc->tracks[0].blocks == 402 &&
	       disc->tracks[0].control == 4 && disc->tracks[0].complete,
	   "track 1: 402 blocks incl. run-out, data, complete");
	ok(disc->nwa_valid, "NWA valid");
	is_int(disc->nwa, 402 + 11400, "NWA = A2 + 11400");
	is_int(disc->free_blocks, disc->capacity - disc->nwa, "free blocks");
	is_int(disc->next_track, 2, "invisible track 2");
	rc = mmc_drive_msinfo(d, &last, &next);
	is_int(rc, 0, "msinfo: %s", cds_errmsg(rc));
	ok(last == 0 && next == 11802, "msinfo 0,11802 (got %u,%u)", last,
	   next);

	/* session 2 */
	rc = burn(d, 400, true, false, 2, &s2);
	is_int(rc, 0, "burn session 2: %s", cds_errmsg(rc));
	is_int(s2, 11802, "session 2 at the NWA");
	rc = mmc_drive_disc(d, disc);
	is_int(disc->nsessions, 2, "2 sessions");
	ok(disc->sessions[1].start == 11802 &&
	       disc->sessions[1].leadout == 11802 + 402 &&
	       disc->sessions[1].first_track == 2,
	   "session 2: start, lead-out, track");
	is_int(disc->nwa, 12204 + 6900, "NWA = A2 + 6900");
	rc = mmc_drive_msinfo(d, &last, &next);
	ok(rc == 0 && last == 11802 && next == 19104,
	   "msinfo 11802,19104 (got %u,%u)", last, next);

	/* session 3: short, padded to 300 blocks */
	rc = burn(d, 10, true, false, 3, &s3);
	is_int(rc, 0, "burn 10-block session 3: %s", cds_errmsg(rc));
	is_int(s3, 19104, "session 3 at the NWA");
	rc = mmc_drive_disc(d, disc);
	is_int(disc->nsessions, 3, "3 sessions");
	is_int(disc->sessions[2].leadout, 19104 + 300 + 2,
	       "padded to 300 blocks + run-out");
	is_int(disc->nwa, 19406 + 6900, "NWA = A2 + 6900");

	/* read back */
	is_int(check_read(d, s1, 400, 1), 0, "session 1 reads back");
	is_int(check_read(d, s2, 400, 2), 0, "session 2 reads back");
	is_int(check_read(d, s3, 10, 3), 0, "session 3 reads back");
	is_int(mmc_drive_read(d, s3 + 10, 1, buf), 0, "padding reads");
	ok(buf[0] == 0 && buf[BS - 1] == 0, "padding is zero");
	ok(mmc_drive_read(d, 400, 1, buf) < 0, "run-out block unreadable");
	rc = mmc_drive_source(d, &src);
	is_int(rc, 0, "source");
	if (!rc) {
		is_int(src->nsectors, 19406,
		       "source ends at the last lead-out");
		is_int(cds_source_read(src, s2, 2, buf), 0, "source reads");
		is_int(buf[5], (s2 + 2) & 0xFF, "source data");
		is_int(cds_source_read(src, 19406, 1, buf), -EINVAL,
		       "source: past the end refused");
		cds_source_close(src);
	}

	/* does not fit */
	memcpy(before, disc, sizeof(*disc));
	rc = burn(d, disc->free_blocks - 1, true, false, 4, &sd);
	is_int(rc, -ENOSPC, "burn that does not fit: ENOSPC");
	{
		char want[200];

		snprintf(want, sizeof(want),
			 "image needs %u blocks (+2 run-out), disc has %u "
			 "free",
			 disc->free_blocks - 1, disc->free_blocks);
		is_str(cds_errmsg(rc), want, "ENOSPC message");
	}
	rc = burn(d, disc->free_blocks - 2, true, true, 4, &sd);
	is_int(rc, 0, "exact fit passes the check (dummy): %s", cds_errmsg(rc));
	rc = mmc_drive_disc(d, disc);
	ok(rc == 0 && disc->nsessions == before->nsessions &&
	       disc->nwa == before->nwa &&
	       disc->free_blocks == before->free_blocks &&
	       disc->ntracks == before->ntracks,
	   "disc unchanged after the refused and the dummy burn");

	/* dummy burn of a normal image */
	rc = burn(d, 400, false, true, 5, &sd);
	is_int(rc, 0, "dummy burn: %s", cds_errmsg(rc));
	is_int(sd, before->nwa, "dummy burn at the NWA");
	rc = mmc_drive_disc(d, disc);
	ok(rc == 0 && disc->status == MMC_DISC_INCOMPLETE &&
	       disc->nsessions == 3 && disc->nwa == before->nwa,
	   "dummy burn changed nothing");

	/* final session */
	rc = burn(d, 400, false, false, 6, &sd);
	is_int(rc, 0, "burn without multi: %s", cds_errmsg(rc));
	rc = mmc_drive_disc(d, disc);
	is_int(disc->status, MMC_DISC_COMPLETE, "finalized");
	is_int(disc->nsessions, 4, "4 sessions");
	ok(!disc->nwa_valid, "no NWA on a closed disc");
	rc = burn(d, 400, true, false, 7, &sd);
	is_int(rc, -EROFS, "burn on a closed disc: EROFS");
	is_str(cds_errmsg(rc),
	       "disc is closed (finalized); no more sessions can be written",
	       "closed disc message");
	rc = mmc_drive_msinfo(d, &last, &next);
	is_int(rc, -EROFS, "msinfo on a closed disc");
	is_str(cds_errmsg(rc), "disc is closed (finalized): no next session",
	       "msinfo closed message");
	is_int(check_read(d, sd, 400, 6), 0, "last session reads back");
	rc = mmc_drive_blank(d, false);
	is_int(rc, -EMEDIUMTYPE, "CD-R cannot be blanked");
	is_str(cds_errmsg(rc), "CD-R cannot be blanked", "blank message");
	is_int(mmc_drive_eject(d), 0, "eject");
out:
	mmc_drive_close(d);
	free(buf);
	free(before);
	free(disc);
}

static void test_drive__cdrw_blank(void)
{
	const char *path = disc_path("rw.cdr");
	struct mmc_disc *disc = malloc(sizeof(*disc));
	struct mmc_drive *d = NULL;
	uint32_t s = 0;
	int rc;

	is_int(mmc_emu_create(path, MMC_EMU_CDRW), 0, "create CD-RW");
	rc = mmc_drive_open(path, 0, &d);
	is_int(rc, 0, "open CD-RW: %s", cds_errmsg(rc));
	if (rc)
		goto out;
	rc = mmc_drive_disc(d, disc);
	ok(rc == 0 && disc->profile == MMC_PROFILE_CD_RW && disc->erasable,
	   "CD-RW, erasable");
	is_int(burn(d, 300, true, false, 1, &s), 0, "burn on CD-RW");
	rc = mmc_drive_disc(d, disc);
	is_int(disc->nsessions, 1, "1 session on CD-RW");
	rc = mmc_drive_blank(d, false);
	is_int(rc, 0, "fast blank: %s", cds_errmsg(rc));
	rc = mmc_drive_disc(d, disc);
	ok(rc == 0 && disc->status == MMC_DISC_EMPTY && disc->nsessions == 0 &&
	       disc->nwa_valid && disc->nwa == 0,
	   "blank again, NWA 0");
	is_int(burn(d, 300, false, false, 2, &s), 0, "burn after blanking");
	is_int(check_read(d, s, 300, 2), 0, "reads back");
out:
	mmc_drive_close(d);
	free(disc);
}

static void test_drive__read_only_and_abort(void)
{
	const char *path = disc_path("ro.cdr");
	struct mmc_burn_opts o = {.multi = true};
	struct mmc_disc *disc = malloc(sizeof(*disc));
	struct mmc_drive *d = NULL;
	struct mmc_burn *b = NULL;
	uint8_t *buf = calloc(64, BS);
	uint32_t s = 0;
	int rc;

	is_int(mmc_emu_create(path, MMC_EMU_CDR74), 0, "create CD-R 74");
	rc = mmc_drive_open(path, MMC_DRIVE_READ_ONLY, &d);
	is_int(rc, 0, "open read-only: %s", cds_errmsg(rc));
	if (rc)
		goto out;
	is_int(burn(d, 300, true, false, 1, &s), -EROFS,
	       "read-only drive refuses to burn");
	mmc_drive_close(d);
	d = NULL;

	rc = mmc_drive_open(path, 0, &d);
	is_int(rc, 0, "open read-write");
	if (rc)
		goto out;
	/* an interrupted burn: begin, write a little, give up */
	rc = mmc_burn_begin(d, &o, 300, &b);
	is_int(rc, 0, "begin: %s", cds_errmsg(rc));
	if (!rc) {
		is_int(mmc_burn_write(b, buf, 64), 0, "write 64");
		is_int(mmc_burn_write(b, buf, 300), -ENOSPC,
		       "write past the announced size refused");
		mmc_burn_abort(b);
	}
	rc = mmc_drive_disc(d, disc);
	is_int(rc, 0, "disc after abort: %s", cds_errmsg(rc));
	ok(disc->ntracks == 1 && !disc->tracks[0].complete,
	   "an unfinished track is shown");
	rc = burn(d, 300, true, false, 2, &s);
	is_int(rc, -EUCLEAN, "burn over an unfinished track refused: %s",
	       cds_errmsg(rc));
	rc = mmc_drive_close_session(d, true);
	is_int(rc, -EUCLEAN, "an unfinished track cannot be closed");
out:
	mmc_drive_close(d);
	free(buf);
	free(disc);
}

/* Open @path through the emulator with @spec (CDSESSION_EMU syntax). */
static int open_emu(const char *path, const char *spec, struct mmc_drive **d)
{
	struct mmc_emu_options eo;
	struct mmc_emu *e = NULL;
	int rc;

	mmc_emu_options_init(&eo);
	rc = mmc_emu_options_parse(&eo, spec);
	if (!rc)
		rc = mmc_emu_open(path, &eo, &e);
	if (!rc)
		rc = mmc_drive_open_transport(mmc_emu_transport(e), 0, d);
	return rc;
}

/* Session 2 of @n blocks cut off after @cut of them were written. */
static int cut_session(const char *path, const char *spec, uint32_t n,
		       uint32_t *start)
{
	struct mmc_burn_opts o = {.multi = true};
	struct mmc_drive *d = NULL;
	struct mmc_burn *b = NULL;
	uint8_t *buf = malloc((size_t)n * BS);
	int rc = open_emu(path, spec, &d);

	if (!rc)
		rc = mmc_burn_begin(d, &o, n, &b);
	if (!rc) {
		*start = mmc_burn_start_lba(b);
		fill(buf, *start, n, 7);
		rc = mmc_burn_write(b, buf, n);
		mmc_burn_abort(b);
	}
	mmc_drive_close(d);
	free(buf);
	return rc;
}

static void test_drive__resume(void)
{
	const char *path = disc_path("resume.cdr");
	struct mmc_burn_opts o = {.multi = true};
	struct mmc_disc *disc = malloc(sizeof(*disc));
	struct mmc_drive *d = NULL;
	struct mmc_burn *b = NULL;
	uint32_t n = 20000, s1 = 0, s2 = 0, next;
	uint8_t *buf = malloc((size_t)n * BS);
	int rc;

	is_int(mmc_emu_create(path, MMC_EMU_CDR80), 0, "create CD-R");
	rc = open_emu(path, "", &d);
	is_int(rc, 0, "open");
	if (rc)
		goto out;
	is_int(burn(d, 300, true, false, 1, &s1), 0, "session 1");
	rc = mmc_burn_resume(d, &o, s1, 300, &b);
	is_int(rc, -EUCLEAN, "nothing to resume on a clean disc: %s",
	       cds_errmsg(rc));
	mmc_drive_close(d);
	d = NULL;
	is_int(cut_session(path, "power-cut=17000,cut-continuable", n, &s2),
	       -EIO, "session 2 cut off after 17000 blocks");
	is_int(s2, 300 + 2 + 11400, "session 2 was at 11702");
	rc = open_emu(path, "", &d);
	is_int(rc, 0, "reopen without options");
	if (rc)
		goto out;
	is_int(mmc_drive_disc(d, disc), 0, "disc");
	ok(disc->nsessions == 2 && !disc->sessions[1].complete &&
	       disc->ntracks == 2 && disc->tracks[1].damaged,
	   "session 2 incomplete, its track damaged");
	rc = mmc_burn_resume(d, &o, s2 + 1, n, &b);
	is_int(rc, -EUCLEAN, "another start refused: %s", cds_errmsg(rc));
	rc = mmc_burn_resume(d, &o, s2, 1000, &b);
	is_int(rc, -EINVAL, "an NWA past the session refused: %s",
	       cds_errmsg(rc));
	rc = mmc_burn_resume(d, &o, s2, n, &b);
	is_int(rc, 0, "resume: %s", cds_errmsg(rc));
	if (rc)
		goto out;
	next = mmc_burn_next_lba(b);
	is_int(mmc_burn_start_lba(b), s2, "start = the track's start");
	/* the emulator persists its state every 16384 blocks */
	is_int(next, s2 + 16384, "positioned at the NWA");
	fill(buf, s2, n, 7);
	is_int(mmc_burn_write(b, buf + (size_t)(next - s2) * BS,
			      n - (next - s2) + 1),
	       -ENOSPC, "no more than the session");
	rc = mmc_burn_write(b, buf + (size_t)(next - s2) * BS, n - (next - s2));
	is_int(rc, 0, "write on from the NWA: %s", cds_errmsg(rc));
	rc = mmc_burn_finish(b);
	is_int(rc, 0, "finish: %s", cds_errmsg(rc));
	is_int(mmc_drive_disc(d, disc), 0, "disc");
	ok(disc->nsessions == 2 && disc->sessions[1].complete &&
	       disc->tracks[1].complete && !disc->tracks[1].damaged &&
	       disc->tracks[1].blocks == n + 2,
	   "session 2 complete, %u blocks + run-out", n);
	ok(disc->status == MMC_DISC_INCOMPLETE && disc->nwa_valid &&
	       disc->nwa == s2 + n + 2 + 6900,
	   "appendable, next session at %u", disc->nwa);
	is_int(check_read(d, s2, n, 7), 0, "session 2 reads back whole");
	is_int(burn(d, 300, true, false, 3, &s1), 0, "session 3 follows");
	mmc_drive_close(d);
	d = NULL;

	/* a drive that reports the cut-off track NWA_V=0 */
	path = disc_path("noresume.cdr");
	is_int(mmc_emu_create(path, MMC_EMU_CDR80), 0, "create CD-R");
	is_int(cut_session(path, "power-cut=100", 1000, &s2), -EIO,
	       "session 1 cut off");
	rc = open_emu(path, "", &d);
	if (rc)
		goto out;
	rc = mmc_burn_resume(d, &o, s2, 1000, &b);
	is_int(rc, -EUCLEAN, "NWA_V=0: %s", cds_errmsg(rc));
	ok(strstr(cds_errmsg(rc), "cannot continue") != NULL,
	   "the message says why");
out:
	mmc_drive_close(d);
	free(buf);
	free(disc);
}

int main(void)
{
	is_str(mmc_profile_name(MMC_PROFILE_DVD_PLUS_R), "DVD+R",
	       "profile name");
	is_str(mmc_profile_name(MMC_PROFILE_NONE), "no medium",
	       "no medium name");
	test_drive__open_errors();
	test_drive__multisession_cdr();
	test_drive__cdrw_blank();
	test_drive__read_only_and_abort();
	test_drive__resume();
	return tap_done();
}
