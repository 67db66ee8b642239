/*
 * test_emu.c - the drive emulator driven by raw CDBs built by hand here
 * (independent of mmc/cdb.c, so that the two check each other), against
 * the geometry and sense codes of docs/mmc-reference.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"
#include "mmc/emu.h"
#include "mmc/emu_state.h"
#include "mmc/mmc_const.h"
#include "tap.h"

#define CHUNK	       512 /* blocks per WRITE */
#define SENSE(k, a, q) ((k) << 16 | (a) << 8 | (q))

static struct mmc_cmd last;
static uint8_t data[CHUNK * 2048];

/* Execute a CDB: 0 = GOOD, SENSE(k,a,q) on CHECK CONDITION, or -errno. */
static int run(struct mmc_emu *e, const uint8_t *cdb, unsigned n,
	       enum mmc_dir dir, void *buf, size_t len)
{
	int rc;

	memset(&last, 0, sizeof(last));
	memcpy(last.cdb, cdb, n);
	last.cdb_len = (uint8_t)n;
	last.dir = dir;
	last.buf = buf;
	last.len = len;
	rc = mmc_emu_execute(e, &last);
	if (rc)
		return rc;
	if (last.status == MMC_STATUS_GOOD)
		return 0;
	return SENSE(last.sense.key, last.sense.asc, last.sense.ascq);
}

static int tur(struct mmc_emu *e)
{
	uint8_t cdb[6] = {MMC_OP_TEST_UNIT_READY};
	return run(e, cdb, 6, MMC_DIR_NONE, NULL, 0);
}

static int rdi(struct mmc_emu *e, uint8_t *buf)
{
	uint8_t cdb[10] = {MMC_OP_READ_DISC_INFO, 0, 0, 0, 0, 0, 0, 0, 34};
	memset(buf, 0xEE, 34);
	return run(e, cdb, 10, MMC_DIR_FROM_DEV, buf, 34);
}

static int rti(struct mmc_emu *e, unsigned type, uint32_t addr, uint8_t *buf)
{
	uint8_t cdb[10] = {MMC_OP_READ_TRACK_INFO, (uint8_t)type};
	cds_put_be32(cdb + 2, addr);
	cds_put_be16(cdb + 7, 48);
	memset(buf, 0xEE, 48);
	return run(e, cdb, 10, MMC_DIR_FROM_DEV, buf, 48);
}

static int toc(struct mmc_emu *e, unsigned fmt, bool msf, unsigned num,
	       uint8_t *buf, size_t alloc)
{
	uint8_t cdb[10] = {
	    MMC_OP_READ_TOC, msf ? 0x02 : 0, (uint8_t)fmt, 0, 0, 0,
	    (uint8_t)num};
	cds_put_be16(cdb + 7, (uint16_t)alloc);
	memset(buf, 0xEE, alloc);
	return run(e, cdb, 10, MMC_DIR_FROM_DEV, buf, alloc);
}

/* MODE SENSE page 05, change bytes 2-4, MODE SELECT it back. */
static int page05(struct mmc_emu *e, uint8_t b2, uint8_t b3, uint8_t b4)
{
	uint8_t sense[10] = {
	    MMC_OP_MODE_SENSE10, 0x08, 0x05, 0, 0, 0, 0, 0, 60};
	uint8_t sel[10] = {MMC_OP_MODE_SELECT10, 0x10, 0, 0, 0, 0, 0, 0, 60};
	uint8_t buf[60];
	int rc = run(e, sense, 10, MMC_DIR_FROM_DEV, buf, sizeof(buf));

	if (rc)
		return rc;
	memset(buf, 0, 8);
	buf[8 + 2] = b2;
	buf[8 + 3] = b3;
	buf[8 + 4] = b4;
	return run(e, sel, 10, MMC_DIR_TO_DEV, buf, sizeof(buf));
}

/* Write @count blocks from @lba, each stamped with its LBA. */
static int wr(struct mmc_emu *e, uint32_t lba, uint32_t count)
{
	while (count) {
		uint32_t n = count < CHUNK ? count : CHUNK;
		uint8_t cdb[10] = {MMC_OP_WRITE10};
		int rc;

		for (uint32_t i = 0; i < n; i++)
			cds_put_be32(data + i * 2048, lba + i);
		cds_put_be32(cdb + 2, lba);
		cds_put_be16(cdb + 7, (uint16_t)n);
		rc = run(e, cdb, 10, MMC_DIR_TO_DEV, data, n * 2048);
		if (rc)
			return rc;
		lba += n;
		count -= n;
	}
	return 0;
}

static int rd(struct mmc_emu *e, uint32_t lba, uint16_t count, void *buf,
	      size_t len)
{
	uint8_t cdb[10] = {MMC_OP_READ10};
	cds_put_be32(cdb + 2, lba);
	cds_put_be16(cdb + 7, count);
	return run(e, cdb, 10, MMC_DIR_FROM_DEV, buf, len);
}

static int sync_cache(struct mmc_emu *e, bool immed)
{
	uint8_t cdb[10] = {MMC_OP_SYNCHRONIZE_CACHE, immed ? 0x02 : 0};
	return run(e, cdb, 10, MMC_DIR_NONE, NULL, 0);
}

static int close_ts(struct mmc_emu *e, unsigned fn, unsigned track)
{
	uint8_t cdb[10] = {MMC_OP_CLOSE_TRACK_SESSION, 0, (uint8_t)fn};
	cds_put_be16(cdb + 4, (uint16_t)track);
	return run(e, cdb, 10, MMC_DIR_NONE, NULL, 0);
}

static int blank(struct mmc_emu *e, unsigned type)
{
	uint8_t cdb[12] = {MMC_OP_BLANK, (uint8_t)type};
	return run(e, cdb, 12, MMC_DIR_NONE, NULL, 0);
}

static int start_stop(struct mmc_emu *e, uint8_t op)
{
	uint8_t cdb[6] = {MMC_OP_START_STOP_UNIT, 0, 0, 0, op};
	return run(e, cdb, 6, MMC_DIR_NONE, NULL, 0);
}

static int prevent(struct mmc_emu *e, bool on)
{
	uint8_t cdb[6] = {MMC_OP_PREVENT_ALLOW, 0, 0, 0, on ? 1 : 0};
	return run(e, cdb, 6, MMC_DIR_NONE, NULL, 0);
}

/* M:S:F -> LBA; M >= 90 is the lead-in (negative LBAs, 2.4). */
static uint32_t msf_lba(const uint8_t *p)
{
	int v = (p[0] * 60 + p[1]) * 75 + p[2];
	return (uint32_t)(p[0] >= 90 ? v - 450150 : v - 150);
}

static const char *disc_path(const char *name)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tap_tmpdir(), name);
	return path;
}

static struct mmc_emu *fresh(const char *name, enum mmc_emu_media media,
			     const struct mmc_emu_options *o)
{
	struct mmc_emu *e = NULL;
	const char *p = disc_path(name);

	unlink(p);
	if (mmc_emu_create(p, media) != 0 || mmc_emu_open(p, o, &e) != 0) {
		printf("# cannot make %s: %s\n", p, cds_errmsg(-EIO));
		exit(2);
	}
	return e;
}

static struct mmc_emu *reopen(struct mmc_emu *e, const char *name,
			      const struct mmc_emu_options *o)
{
	mmc_emu_close(e);
	e = NULL;
	if (mmc_emu_open(disc_path(name), o, &e) != 0) {
		printf("# cannot reopen %s\n", name);
		exit(2);
	}
	return e;
}

static void test_create_probe(void)
{
	const char *p = disc_path("probe.cdr");
	int fd, rc;

	unlink(p);
	is_int(mmc_emu_create(p, MMC_EMU_CDR80), 0, "create cdr80");
	is_int(mmc_emu_probe(p), 0, "probe accepts a new virtual disc");
	is_int(mmc_emu_create(p, MMC_EMU_CDR80), -EEXIST,
	       "create refuses an existing file");

	p = disc_path("foreign.bin");
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && ftruncate(fd, 3 * 4096) == 0, "foreign file made");
	close(fd);
	rc = mmc_emu_probe(p);
	is_int(rc, -EMEDIUMTYPE, "foreign file: -EMEDIUMTYPE");
	ok(strstr(cds_errmsg(rc), "is not a cdsession virtual disc") != NULL,
	   "foreign file message: %s", cds_errmsg(rc));

	enum mmc_emu_media m;
	is_int(mmc_emu_media_parse("cdrw", &m), 0, "media cdrw parses");
	is_int(m, MMC_EMU_CDRW, "media cdrw");
	is_int(mmc_emu_media_parse("dvd", &m), -EINVAL, "media dvd refused");
}

static void test_options(void)
{
	struct mmc_emu_options o;

	mmc_emu_options_init(&o);
	is_int(o.write_error_lba, -1, "default: no write error");
	is_int(mmc_emu_options_parse(&o, "speed=16,write-error=1234,"
					 "power-cut=500"),
	       0, "option string parses");
	is_int(o.speed_x, 16, "speed");
	is_int(o.write_error_lba, 1234, "write-error");
	is_int(o.power_cut_after, 500, "power-cut");
	is_int(mmc_emu_options_parse(&o, "speed=fast"), -EINVAL,
	       "bad option value refused");
	is_int(mmc_emu_options_parse(&o, "colour=red"), -EINVAL,
	       "unknown option refused");
}

static void test_blank_disc(void)
{
	struct mmc_emu *e = fresh("blank.cdr", MMC_EMU_CDR80, NULL);
	uint8_t b[64];
	uint8_t inq[6] = {MMC_OP_INQUIRY, 0, 0, 0, 36};
	uint8_t gc[10] = {MMC_OP_GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 64};

	is_int(tur(e), 0, "TUR on a loaded drive: GOOD");
	is_int(run(e, inq, 6, MMC_DIR_FROM_DEV, b, 36), 0, "INQUIRY");
	is_int(b[0] & 0x1F, 5, "INQUIRY type 5");
	is_mem(b + 8, "CDSESSN Virtual CD-RW", 21, "INQUIRY vendor/product");
	is_int(run(e, gc, 10, MMC_DIR_FROM_DEV, b, 64), 0, "GET CONFIG");
	is_int(cds_get_be16(b + 6), MMC_PROFILE_CD_R, "current profile CD-R");
	is_int(cds_get_be16(b + 8), MMC_FEATURE_PROFILE_LIST, "profile list");
	is_int(b[11], 12, "three profiles");
	is_int(cds_get_be16(b + 16), MMC_PROFILE_CD_R, "CD-R entry");
	is_int(b[18] & 1, 1, "CD-R entry current");

	is_int(rdi(e, b), 0, "RDI");
	is_int(cds_get_be16(b), 32, "RDI length");
	is_int(b[2], 0x00, "RDI blank: 0x00");
	is_int(b[4], 1, "RDI one (empty) session");
	is_int(b[5] | b[6] << 8, 1 | 1 << 8, "first/last track 1");
	is_int(msf_lba(b + 17), (uint32_t)-12490, "lead-in 97:15:35");
	is_mem(b + 21, "\x4f\x3b\x4a", 3, "last possible lead-out 79:59:74");

	is_int(rti(e, 1, 0xFF, b), 0, "RTI FFh");
	is_int(b[2], 1, "invisible track 1");
	is_int(b[6] & 0x40, 0x40, "blank bit");
	is_int(b[7] & 1, 1, "NWA_V");
	is_int(cds_get_be32(b + 12), 0, "NWA 0");
	is_int(cds_get_be32(b + 16), 359849, "free blocks");

	is_int(toc(e, 4, true, 0, b, 28), 0, "ATIP");
	is_int(cds_get_be16(b), 26, "ATIP length");
	is_int(b[6] & 0x40, 0, "ATIP: not CD-RW");
	is_mem(b + 8, "\x61\x0f\x23", 3, "ATIP lead-in 97:15:35");
	is_mem(b + 12, "\x4f\x3b\x4a", 3, "ATIP lead-out 79:59:74");
	is_int(toc(e, 0, false, 0, b, 12), SENSE(5, 0x24, 0),
	       "READ TOC on a blank disc: 05/24/00");
	is_int(rd(e, 0, 1, b, 2048 > sizeof(b) ? sizeof(b) : 2048),
	       SENSE(5, 0x21, 0), "READ on a blank disc: 05/21/00");
	is_int(close_ts(e, 2, 0), SENSE(5, 0x2C, 0),
	       "CLOSE SESSION on a blank disc: 05/2C/00");
	is_int(wr(e, 1, 1), SENSE(5, 0x21, 2), "WRITE not at NWA: 05/21/02");
	is_int(rdi(e, b), 0, "RDI after a refused write");
	is_int(b[2], 0x00, "still blank");
	mmc_emu_close(e);

	e = fresh("blank74.cdr", MMC_EMU_CDR74, NULL);
	is_int(toc(e, 4, true, 0, b, 28), 0, "ATIP 74 min");
	is_mem(b + 12, "\x4a\x29\x32", 3, "ATIP lead-out 74:41:50");
	mmc_emu_close(e);

	e = fresh("blank.cdrw", MMC_EMU_CDRW, NULL);
	is_int(toc(e, 4, true, 0, b, 28), 0, "ATIP CD-RW");
	is_int(b[6] & 0x40, 0x40, "ATIP: CD-RW");
	is_int(rdi(e, b), 0, "RDI CD-RW");
	is_int(b[2], 0x10, "RDI blank CD-RW: 0x10 (erasable)");
	is_int(run(e, gc, 10, MMC_DIR_FROM_DEV, b, 64), 0, "GET CONFIG RW");
	is_int(cds_get_be16(b + 6), MMC_PROFILE_CD_RW, "profile CD-RW");
	mmc_emu_close(e);
}

/* The worked example of mmc-reference 3.1. */
static void test_worked_example(void)
{
	struct mmc_emu *e = fresh("example.cdr", MMC_EMU_CDR80, NULL);
	uint8_t b[256], blk[2 * 2048];
	uint8_t rc10[10] = {MMC_OP_READ_CAPACITY};
	uint8_t sff[10] = {MMC_OP_READ_TOC, 0, 0, 0, 0, 0, 0, 0, 12, 0x40};

	is_int(page05(e, 0x41, 0xC4, 8), 0, "page 05: TAO, multi 11");
	is_int(wr(e, 0, 50000), 0, "write 50000 blocks at 0");
	is_int(rdi(e, b), 0, "RDI while writing");
	is_int(b[2], 0x05, "RDI: session open 0x05");
	is_int(rti(e, 1, 0xFF, b), 0, "RTI FFh while writing");
	is_int(b[2], 1, "the open track 1");
	is_int(cds_get_be32(b + 12), 50000, "NWA advanced");
	is_int(wr(e, 50001, 1), SENSE(5, 0x21, 2), "gap write: 05/21/02");
	is_int(wr(e, 50000, 50000), 0, "write the second half");
	is_int(sync_cache(e, false), 0, "SYNC closes the track");
	is_int(rti(e, 1, 1, b), 0, "RTI track 1");
	is_int(cds_get_be32(b + 24), 100000, "track size (no run-out)");
	is_int(b[7] & 1, 0, "closed track: NWA_V 0");
	is_int(rti(e, 1, 0xFF, b), 0, "RTI FFh after SYNC");
	is_int(b[2], 2, "invisible track 2");
	is_int(cds_get_be32(b + 12), 100152, "second TAO track at S+N+2+150");
	is_int(close_ts(e, 2, 0), 0, "CLOSE SESSION (multi)");

	is_int(rdi(e, b), 0, "RDI appendable");
	is_int(b[2], 0x01, "RDI 0x01: empty session, disc incomplete");
	is_int(b[4], 2, "two sessions (one empty)");
	is_int(toc(e, 0, false, 0, b, 255), 0, "TOC fmt 0");
	is_int(cds_get_be16(b), 18, "two descriptors");
	is_int(b[5], 0x14, "ADR 1 CTL 4");
	is_int(b[14], 0xAA, "lead-out");
	is_int(cds_get_be32(b + 16), 100002, "A2 = 100002 (run-out)");
	is_int(toc(e, 1, false, 0, b, 12), 0, "TOC fmt 1");
	is_int(cds_get_be32(b + 8), 0, "msinfo first = 0");
	is_int(rti(e, 1, 0xFF, b), 0, "RTI FFh");
	is_int(cds_get_be32(b + 12), 111402, "msinfo next = 111402");
	is_int(rd(e, 99999, 1, blk, 2048), 0, "read last user block");
	is_int(cds_get_be32(blk), 99999, "its data");
	is_int(rd(e, 100000, 1, blk, 2048), SENSE(5, 0x64, 0),
	       "run-out read: 05/64/00");
	is_int(rd(e, 99999, 2, blk, sizeof(blk)), SENSE(5, 0x64, 0),
	       "read into the run-out: 05/64/00");
	ok(last.sense.info_valid && last.sense.info == 100000,
	   "failing LBA reported");
	is_int(rd(e, 100002, 1, blk, 2048), SENSE(5, 0x21, 0),
	       "read past the recorded area: 05/21/00");
	is_int(run(e, rc10, 10, MMC_DIR_FROM_DEV, b, 8), 0, "READ CAPACITY");
	is_int(cds_get_be32(b), 100001, "READ CAPACITY = A2 - 1");

	is_int(wr(e, 111402, 50000), 0, "session 2: 50000 at 111402");
	is_int(close_ts(e, 2, 0), 0, "CLOSE SESSION closes the open track");
	is_int(toc(e, 1, false, 0, b, 12), 0, "TOC fmt 1");
	is_int(b[3], 2, "last complete session 2");
	is_int(b[6], 2, "first track of the last session");
	is_int(cds_get_be32(b + 8), 111402, "msinfo first = 111402");
	is_int(toc(e, 1, true, 0, b, 12), 0, "TOC fmt 1 MSF");
	is_int(msf_lba(b + 9), 111402, "MSF start");
	is_int(run(e, sff, 10, MMC_DIR_FROM_DEV, b, 12), 0,
	       "SFF-8020 session info (byte 9 = 0x40)");
	is_int(cds_get_be32(b + 8), 111402, "SFF-8020 reply");
	is_int(rti(e, 1, 0xFF, b), 0, "RTI FFh");
	is_int(cds_get_be32(b + 12), 168304, "msinfo next = 168304");

	is_int(toc(e, 2, false, 0, b, 255), 0, "raw TOC");
	{
		unsigned n = (cds_get_be16(b) - 2) / 11, a2 = 0, b0 = 0, c0 = 0;
		for (unsigned i = 0; i < n; i++) {
			uint8_t *d = b + 4 + 11 * i;
			if (d[0] == 2 && d[3] == 0xA2)
				a2 = msf_lba(d + 8);
			if (d[0] == 1 && d[3] == 0xB0)
				b0 = msf_lba(d + 4);
			if (d[0] == 1 && d[3] == 0xC0)
				c0 = msf_lba(d + 8);
		}
		is_int(n, 11, "raw TOC: A0 A1 A2 01 B0 C0 + A0 A1 A2 02 B0");
		is_int(a2, 161404, "session 2 A2 = 161404");
		is_int(b0, 111402 - 150, "session 1 B0 = next program area");
		is_int(c0, (uint32_t)-12490, "C0 = ATIP lead-in");
	}

	/* finalize: one more (short) session without multi */
	is_int(page05(e, 0x41, 0x04, 8), 0, "page 05: multi 00");
	is_int(wr(e, 168304, 10), 0, "a 10-block track (short is fine)");
	is_int(sync_cache(e, true), 0, "SYNC IMMED");
	is_int(tur(e), 0, "unpaced: ready at once");
	is_int(close_ts(e, 2, 0), 0, "CLOSE SESSION finalizes");
	is_int(rdi(e, b), 0, "RDI finalized");
	is_int(b[2], 0x0E, "RDI 0x0E");
	is_mem(b + 16, "\xff\xff\xff\xff\xff\xff\xff\xff", 8,
	       "lead-in/out fields FF");
	is_int(wr(e, 168304 + 12 + 6900, 1), SENSE(5, 0x21, 2),
	       "WRITE on a finalized disc: 05/21/02");
	is_int(rti(e, 1, 0xFF, b), SENSE(5, 0x21, 0),
	       "RTI FFh on a finalized disc: 05/21/00");
	is_int(close_ts(e, 2, 0), SENSE(5, 0x2C, 0), "CLOSE again: 05/2C/00");
	e = reopen(e, "example.cdr", NULL);
	is_int(rdi(e, b), 0, "RDI after reopen");
	is_int(b[2], 0x0E, "finalized state persisted");
	is_int(b[4], 3, "three sessions");
	is_int(toc(e, 0, false, 0xAA, b, 12), 0, "TOC lead-out only");
	is_int(cds_get_be32(b + 8), 168304 + 12, "lead-out of session 3");
	mmc_emu_close(e);
}

static void test_tracks_in_session(void)
{
	struct mmc_emu *e = fresh("tracks.cdr", MMC_EMU_CDR74, NULL);
	uint8_t b[64], blk[2048];

	is_int(page05(e, 0x01, 0xC4, 8), 0, "page 05 multi 11");
	is_int(wr(e, 0, 10), 0, "track 1: 10 blocks");
	is_int(close_ts(e, 1, 1), 0, "CLOSE TRACK 1");
	is_int(close_ts(e, 1, 1), 0, "CLOSE TRACK of a closed track: GOOD");
	is_int(wr(e, 162, 20), 0, "track 2 at 10+2+150");
	is_int(sync_cache(e, false), 0, "SYNC");
	is_int(rti(e, 0, 170, b), 0, "RTI by LBA");
	is_int(b[2], 2, "LBA 170 is in track 2");
	is_int(rd(e, 161, 1, blk, 2048), SENSE(5, 0x64, 0),
	       "pregap read: 05/64/00");
	is_int(close_ts(e, 2, 0), 0, "CLOSE SESSION");
	is_int(toc(e, 0, false, 0, b, 64), 0, "TOC");
	is_int(b[3], 2, "two tracks");
	is_int(cds_get_be32(b + 16), 162, "track 2 start");
	is_int(cds_get_be32(b + 24), 184, "lead-out 162+20+2");
	is_int(close_ts(e, 2, 0), SENSE(5, 0x2C, 0),
	       "CLOSE SESSION of the empty next session: 05/2C/00");
	is_int(rti(e, 2, 2, b), 0, "RTI session 2");
	is_int(cds_get_be32(b + 8), 184 + 11400,
	       "session 2 starts at A2+11400");
	is_int(rti(e, 2, 3, b), SENSE(5, 0x21, 0), "RTI session 3: 05/21/00");
	mmc_emu_close(e);
}

static void read_trailer(const char *name, uint8_t *buf, uint32_t cap)
{
	int fd = open(disc_path(name), O_RDONLY);
	ok(fd >= 0 && pread(fd, buf, EMU_TRAILER_SIZE, (off_t)cap * 2048) ==
			  (ssize_t)EMU_TRAILER_SIZE,
	   "trailer read");
	close(fd);
}

static void test_dummy(void)
{
	struct mmc_emu *e = fresh("dummy.cdr", MMC_EMU_CDR80, NULL);
	static uint8_t before[EMU_TRAILER_SIZE], after[EMU_TRAILER_SIZE];
	uint8_t b[64], blk[2048];

	is_int(page05(e, 0x51, 0xC4, 8), 0, "page 05: test write");
	read_trailer("dummy.cdr", before, 359849);
	is_int(wr(e, 0, 100), 0, "dummy write at 0");
	is_int(wr(e, 0, 1), SENSE(5, 0x21, 2), "simulated NWA advanced");
	is_int(wr(e, 100, 50), 0, "dummy write continues");
	is_int(sync_cache(e, false), 0, "dummy SYNC");
	is_int(wr(e, 302, 5), 0, "dummy second track at 150+2+150");
	is_int(close_ts(e, 2, 0), 0, "dummy CLOSE SESSION");
	is_int(rdi(e, b), 0, "RDI");
	is_int(b[2], 0x00, "still blank");
	is_int(rti(e, 1, 0xFF, b), 0, "RTI FFh");
	is_int(cds_get_be32(b + 12), 0, "real NWA unchanged");
	is_int(rd(e, 0, 1, blk, 2048), SENSE(5, 0x21, 0), "nothing recorded");
	read_trailer("dummy.cdr", after, 359849);
	is_mem(after, before, EMU_TRAILER_SIZE, "persisted state unchanged");
	mmc_emu_close(e);
}

static void test_write_error(void)
{
	struct mmc_emu_options o;
	struct mmc_emu *e;
	uint8_t b[64], blk[2048];

	mmc_emu_options_init(&o);
	o.write_error_lba = 50;
	e = fresh("werr.cdr", MMC_EMU_CDR80, &o);
	is_int(wr(e, 0, 100), SENSE(3, 0x0C, 0), "WRITE over 50: 03/0C/00");
	ok(last.sense.info_valid && last.sense.info == 50,
	   "Information = 50 (valid)");
	is_int(last.sense.raw[0], 0xF0, "raw sense: valid, fixed, current");
	is_int(cds_get_be32(last.sense.raw + 3), 50, "raw Information");
	is_int(rti(e, 1, 1, b), 0, "RTI track 1");
	is_int(b[5] & 0x20, 0x20, "Damage = 1");
	is_int(b[7] & 1, 0, "NWA_V = 0");
	is_int(cds_get_be32(b + 28), 49, "last recorded 49");
	is_int(rdi(e, b), 0, "RDI");
	is_int(b[2], 0x05, "RDI 0x05");
	is_int(wr(e, 50, 1), SENSE(5, 0x21, 2), "damaged: no NWA");
	is_int(close_ts(e, 2, 0), SENSE(5, 0x72, 3),
	       "CLOSE SESSION with a damaged track: 72/03");
	is_int(rd(e, 49, 1, blk, 2048), 0, "block before the error reads");
	is_int(rd(e, 50, 1, blk, 2048), SENSE(5, 0x21, 0),
	       "the failed block does not");
	mmc_emu_close(e);
}

static void test_power_cut(void)
{
	struct mmc_emu_options o;
	struct mmc_emu *e;
	uint8_t b[64];
	uint32_t lra;
	int fd;

	mmc_emu_options_init(&o);
	o.power_cut_after = 40000;
	e = fresh("power.cdrw", MMC_EMU_CDRW, &o);
	is_int(wr(e, 0, 50000), -EIO, "power cut mid-write: -EIO");
	is_int(tur(e), -EIO, "later commands: -EIO");
	mmc_emu_options_init(&o);
	e = reopen(e, "power.cdrw", &o);
	is_int(rdi(e, b), 0, "RDI after power-on");
	is_int(b[2], 0x15, "RDI 0x05 (+ erasable)");
	is_int(rti(e, 1, 0xFF, b), 0, "RTI FFh = the incomplete track");
	is_int(b[2], 1, "track 1");
	is_int(b[5] & 0x20, 0x20, "Damage = 1");
	is_int(b[7] & 1, 0, "NWA_V = 0");
	lra = cds_get_be32(b + 28);
	ok(lra + 1 >= 32768 && lra + 1 <= 40000,
	   "recorded lower bound %u within 32 MiB of the cut", lra + 1);
	is_int(close_ts(e, 2, 0), SENSE(5, 0x72, 3), "cannot close: 72/03");
	is_int(blank(e, 0), 0, "BLANK all repairs a CD-RW");
	is_int(rdi(e, b), 0, "RDI after blank");
	is_int(b[2], 0x10, "blank again");
	fd = open(disc_path("power.cdrw"), O_RDONLY);
	ok(fd >= 0 && pread(fd, b, 4, 2048 * 5) == 4, "read the file");
	close(fd);
	is_mem(b, "\0\0\0\0", 4, "data erased");
	mmc_emu_close(e);
}

/* A cut-off track the drive reports as continuable (cut-continuable):
 * Damage=1 NWA_V=1, continued by a WRITE at its NWA, closed by SYNC. */
static void test_cut_continuable(void)
{
	struct mmc_emu_options o;
	struct mmc_emu *e;
	uint8_t b[64], blk[2048];
	uint32_t nwa;

	mmc_emu_options_init(&o);
	is_int(mmc_emu_options_parse(&o, "power-cut=40000,cut-continuable"), 0,
	       "cut-continuable parses");
	ok(o.cut_continuable, "cut-continuable set");
	is_int(mmc_emu_options_parse(&o, "cut-continuable=1"), -EINVAL,
	       "cut-continuable takes no value");
	e = fresh("cont.cdr", MMC_EMU_CDR80, &o);
	is_int(page05(e, 0x01, 0xC4, 8), 0, "page 05 multi 11");
	is_int(wr(e, 0, 50000), -EIO, "power cut mid-write: -EIO");
	/* reopened without the option: the track keeps what it was */
	mmc_emu_options_init(&o);
	e = reopen(e, "cont.cdr", &o);
	is_int(rdi(e, b), 0, "RDI after power-on");
	is_int(b[2], 0x05, "RDI 0x05: session incomplete");
	is_int(rti(e, 1, 0xFF, b), 0, "RTI FFh = the incomplete track");
	is_int(b[2], 1, "track 1");
	is_int(b[5] & 0x20, 0x20, "Damage = 1");
	is_int(b[7] & 1, 1, "NWA_V = 1");
	nwa = cds_get_be32(b + 12);
	/* the state is persisted every 16384 blocks: it lags the cut */
	is_int(nwa, 32768, "NWA = start + blocks the state holds");
	is_int(cds_get_be32(b + 28), 32767, "last recorded address");
	is_int(cds_get_be32(b + 16), 359849 - 32768, "free blocks");
	is_int(cds_get_be32(b + 24), 359849, "track size as an open track");
	is_int(rti(e, 1, 1, b), 0, "RTI track 1 agrees");
	is_int(cds_get_be32(b + 12), 32768, "its NWA");
	is_int(close_ts(e, 2, 0), SENSE(5, 0x72, 3),
	       "CLOSE SESSION before continuing: 72/03");
	is_int(close_ts(e, 1, 1), SENSE(5, 0x72, 3), "CLOSE TRACK: 72/03");
	is_int(wr(e, 40000, 1), SENSE(5, 0x21, 2), "WRITE past the NWA: 21/02");
	is_int(wr(e, 32767, 1), SENSE(5, 0x21, 2), "WRITE before it: 21/02");
	is_int(wr(e, 50302, 1), SENSE(5, 0x21, 2),
	       "WRITE where a next track would go: 21/02");
	is_int(sync_cache(e, false), 0, "SYNC without continuing: no-op");
	is_int(rti(e, 1, 1, b), 0, "RTI");
	is_int(b[5] & 0x20, 0x20, "still damaged");
	is_int(page05(e, 0x01, 0xC4, 8), 0, "page 05 again after power-on");
	is_int(wr(e, 32768, 50000 - 32768), 0, "WRITE at the NWA continues");
	is_int(rti(e, 1, 1, b), 0, "RTI while continuing");
	is_int(b[5] & 0x20, 0, "Damage = 0: open again");
	is_int(cds_get_be32(b + 12), 50000, "NWA follows the writes");
	is_int(sync_cache(e, false), 0, "SYNC closes the track");
	is_int(rti(e, 1, 1, b), 0, "RTI after SYNC");
	is_int(b[5] & 0x20, 0, "not damaged");
	is_int(b[7] & 1, 0, "complete: NWA_V = 0");
	is_int(cds_get_be32(b + 24), 50000, "50000 blocks");
	is_int(close_ts(e, 2, 0), 0, "CLOSE SESSION");
	is_int(rdi(e, b), 0, "RDI");
	is_int(b[2], 0x01, "RDI 0x01: appendable, session closed");
	is_int(rti(e, 1, 0xFF, b), 0, "RTI invisible track");
	is_int(cds_get_be32(b + 12), 50002 + 11400, "next session after it");
	is_int(rd(e, 40000, 1, blk, 2048), 0, "the rewritten area reads");
	is_int(cds_get_be32(blk), 40000, "with its data");
	is_int(rd(e, 49999, 1, blk, 2048), 0, "the last block reads");
	is_int(cds_get_be32(blk), 49999, "with its data");
	/* the closed track is no longer continuable: a later cut of the
	 * next session's track without the option is not */
	mmc_emu_options_init(&o);
	o.power_cut_after = 100;
	e = reopen(e, "cont.cdr", &o);
	is_int(page05(e, 0x01, 0xC4, 8), 0, "page 05");
	is_int(wr(e, 61402, 300), -EIO, "cut in session 2 without the option");
	mmc_emu_options_init(&o);
	e = reopen(e, "cont.cdr", &o);
	is_int(rti(e, 1, 0xFF, b), 0, "RTI");
	is_int(b[2], 2, "track 2");
	is_int(b[5] & 0x20, 0x20, "Damage = 1");
	is_int(b[7] & 1, 0, "NWA_V = 0: not continuable");
	is_int(wr(e, 61402, 1), SENSE(5, 0x21, 2), "no WRITE: 21/02");
	mmc_emu_close(e);
}

/* Version 1 slots (no track flags) still read; version 2 flags are
 * checked. */
static void test_state_versions(void)
{
	static uint8_t slot[EMU_SLOT_SIZE];
	struct emu_medium m, back;
	uint8_t *r = slot + EMU_SLOT_HEADER + EMU_PAYLOAD_HEADER;
	uint64_t seq;
	uint32_t nwa;

	emu_medium_init(&m, MMC_EMU_CDR80);
	m.ntracks = 1;
	m.tracks[0] = (struct emu_track){.start = 0,
					 .blocks = 100,
					 .session = 1,
					 .state = EMU_TRACK_DAMAGED,
					 .control = 4,
					 .block_type = 8,
					 .flags = EMU_TRACK_CONTINUABLE};
	emu_state_encode_slot(&m, 7, slot);
	is_int(cds_get_be32(slot + 8), 2, "written as version 2");
	is_int(emu_state_decode_slot(slot, sizeof(slot), &back, &seq), 0,
	       "version 2 decodes");
	is_int(back.tracks[0].flags, EMU_TRACK_CONTINUABLE, "flag kept");
	ok(emu_medium_nwa(&back, &nwa) && nwa == 100, "continuable: NWA 100");

	/* version 1: the byte was reserved, whatever it holds */
	cds_put_be32(slot + 8, 1);
	r[13] = 0xA5;
	cds_put_be32(
	    slot + EMU_SLOT_HEADER + EMU_PAYLOAD_HEADER + EMU_TRACK_RECORD,
	    emu_crc32(slot,
		      EMU_SLOT_HEADER + EMU_PAYLOAD_HEADER + EMU_TRACK_RECORD));
	is_int(emu_state_decode_slot(slot, sizeof(slot), &back, &seq), 0,
	       "version 1 decodes");
	is_int(back.tracks[0].flags, 0, "version 1: no flags");
	ok(!emu_medium_nwa(&back, &nwa), "version 1 damaged: no NWA");

	/* version 2 with an unknown flag, or a flag on a closed track */
	cds_put_be32(slot + 8, 2);
	cds_put_be32(
	    slot + EMU_SLOT_HEADER + EMU_PAYLOAD_HEADER + EMU_TRACK_RECORD,
	    emu_crc32(slot,
		      EMU_SLOT_HEADER + EMU_PAYLOAD_HEADER + EMU_TRACK_RECORD));
	is_int(emu_state_decode_slot(slot, sizeof(slot), &back, &seq), -EUCLEAN,
	       "unknown flag refused");
	m.tracks[0].state = EMU_TRACK_COMPLETE;
	emu_state_encode_slot(&m, 7, slot);
	is_int(emu_state_decode_slot(slot, sizeof(slot), &back, &seq), -EUCLEAN,
	       "flag on a closed track refused");
	cds_put_be32(slot + 8, 3);
	is_int(emu_state_decode_slot(slot, sizeof(slot), &back, &seq), -EUCLEAN,
	       "version 3 refused");
}

static void test_trailer_damage(void)
{
	static uint8_t t[EMU_TRAILER_SIZE];
	struct emu_medium m;
	struct mmc_emu *e = fresh("trailer.cdr", MMC_EMU_CDR74, NULL);
	uint64_t seq[2], s;
	uint8_t b[64];
	int newer, fd, rc;
	const char *p = disc_path("trailer.cdr");
	off_t off = (off_t)335975 * 2048;

	page05(e, 0x01, 0xC4, 8);
	wr(e, 0, 10);
	close_ts(e, 2, 0);
	mmc_emu_close(e);
	read_trailer("trailer.cdr", t, 335975);
	is_int(emu_state_decode_slot(t, EMU_SLOT_SIZE, &m, &seq[0]), 0,
	       "slot 0 valid");
	is_int(emu_state_decode_slot(t + EMU_SLOT_SIZE, EMU_SLOT_SIZE, &m,
				     &seq[1]),
	       0, "slot 1 valid");
	newer = seq[1] > seq[0];
	emu_state_decode_slot(t + (1 - newer) * EMU_SLOT_SIZE, EMU_SLOT_SIZE,
			      &m, &s);
	is_int(m.nclosed, 0, "the older slot: session not yet closed");

	t[newer * EMU_SLOT_SIZE + 30] ^= 0x01;
	fd = open(p, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, t, sizeof(t), off) == (ssize_t)sizeof(t),
	   "corrupt the newer slot");
	close(fd);
	is_int(mmc_emu_open(p, NULL, &e), 0, "open with one bad slot");
	is_int(rdi(e, b), 0, "RDI");
	is_int(b[2], 0x05, "the previous state (open session) is used");
	mmc_emu_close(e);

	t[(1 - newer) * EMU_SLOT_SIZE + 30] ^= 0x01;
	fd = open(p, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, t, sizeof(t), off) == (ssize_t)sizeof(t),
	   "corrupt both slots");
	close(fd);
	e = NULL;
	rc = mmc_emu_open(p, NULL, &e);
	is_int(rc, -EUCLEAN, "both slots bad: -EUCLEAN");
	ok(strstr(cds_errmsg(rc), "medium state damaged") != NULL,
	   "message: %s", cds_errmsg(rc));
	is_int(mmc_emu_probe(p), -EUCLEAN, "probe agrees");
	is_int(emu_state_decode_trailer(t, 100, &m, &s), -EUCLEAN,
	       "short trailer buffer: error, no crash");
}

static void test_blank_cmd(void)
{
	struct mmc_emu *e = fresh("rw.cdrw", MMC_EMU_CDRW, NULL);
	uint8_t b[64];

	page05(e, 0x01, 0xC4, 8);
	is_int(wr(e, 0, 30), 0, "write");
	is_int(close_ts(e, 2, 0), 0, "close session");
	is_int(blank(e, 1), 0, "minimal blank");
	is_int(rdi(e, b), 0, "RDI");
	is_int(b[2], 0x10, "blank CD-RW");
	is_int(wr(e, 0, 30), 0, "write again at 0");
	is_int(close_ts(e, 2, 0), 0, "close");
	is_int(blank(e, 6), 0, "blank last session");
	is_int(rdi(e, b), 0, "RDI");
	is_int(b[2], 0x10, "blank again");
	is_int(blank(e, 2), SENSE(5, 0x24, 0), "blank track: 05/24/00");
	mmc_emu_close(e);

	e = fresh("noblank.cdr", MMC_EMU_CDR80, NULL);
	is_int(blank(e, 0), SENSE(5, 0x30, 5), "BLANK on CD-R: 05/30/05");
	mmc_emu_close(e);
}

static void test_tray(void)
{
	struct mmc_emu *e = fresh("tray.cdr", MMC_EMU_CDR80, NULL);
	uint8_t b[64];
	uint8_t gesn[10] = {MMC_OP_GET_EVENT_STATUS, 1, 0, 0, 0x10, 0, 0, 0, 8};
	uint8_t gc[10] = {MMC_OP_GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 8};

	is_int(prevent(e, true), 0, "PREVENT");
	is_int(start_stop(e, 0x02), SENSE(5, 0x53, 2),
	       "eject while prevented: 05/53/02");
	is_int(prevent(e, false), 0, "ALLOW");
	is_int(start_stop(e, 0x02), 0, "eject");
	is_int(tur(e), SENSE(2, 0x3A, 2), "TUR: 02/3A/02");
	is_int(rdi(e, b), SENSE(2, 0x3A, 2), "RDI: 02/3A/02");
	is_int(run(e, gc, 10, MMC_DIR_FROM_DEV, b, 8), 0, "GET CONFIG");
	is_int(cds_get_be16(b + 6), 0, "no profile");
	is_int(run(e, gesn, 10, MMC_DIR_FROM_DEV, b, 8), 0, "GESN");
	is_int(b[4], 3, "media removal event");
	is_int(b[5], 1, "tray open");
	is_int(start_stop(e, 0x03), 0, "load");
	is_int(tur(e), 0, "TUR GOOD");
	is_int(run(e, gesn, 10, MMC_DIR_FROM_DEV, b, 8), 0, "GESN");
	is_int(b[4], 2, "new media event");
	is_int(b[5], 2, "medium present");
	mmc_emu_close(e);
}

static void test_cdb_checks(void)
{
	struct mmc_emu *e = fresh("cdb.cdr", MMC_EMU_CDR80, NULL);
	uint8_t b[128];
	uint8_t rs[6] = {MMC_OP_REQUEST_SENSE, 0, 0, 0, 18};
	uint8_t cue[10] = {MMC_OP_SEND_CUE_SHEET};
	uint8_t ms[10] = {MMC_OP_MODE_SENSE10, 0x08, 0x05, 0, 0, 0, 0, 0, 60};
	uint8_t sel2a[10] = {MMC_OP_MODE_SELECT10, 0x10, 0, 0, 0, 0, 0, 0, 60};
	uint8_t gc[10] = {MMC_OP_GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 8};
	uint8_t readcd[12] = {MMC_OP_READ_CD, 0, 0, 0, 0, 0, 0, 0, 1, 0x10};

	is_int(run(e, cue, 10, MMC_DIR_NONE, NULL, 0), SENSE(5, 0x20, 0),
	       "unimplemented opcode: 05/20/00");
	is_int(run(e, rs, 6, MMC_DIR_FROM_DEV, b, 18), 0, "REQUEST SENSE");
	is_int(b[0], 0x70, "fixed format");
	is_int(b[2] << 16 | b[12] << 8 | b[13], SENSE(5, 0x20, 0),
	       "the last sense");
	is_int(run(e, rs, 6, MMC_DIR_FROM_DEV, b, 18), 0, "REQUEST SENSE");
	is_int(b[2], 0, "cleared");

	is_int(run(e, ms, 10, MMC_DIR_FROM_DEV, b, 60), 0, "MODE SENSE 05");
	is_int(cds_get_be16(b), 58, "mode data length");
	is_int(b[9], 0x32, "page length 0x32");
	is_int(b[10], 0x01, "default TAO");
	is_int(b[11], 0x04, "default track mode 4, multi 00");
	is_int(b[12], 8, "default block type 8");
	is_int(cds_get_be16(b + 22), 150, "pause 150");
	is_int(page05(e, 0x42, 0xC4, 8), SENSE(5, 0x26, 0),
	       "SAO refused: 05/26/00");
	is_int(page05(e, 0x41, 0xC4, 9), SENSE(5, 0x26, 0),
	       "block type 9 refused");
	is_int(page05(e, 0x41, 0x84, 8), SENSE(5, 0x26, 0), "multi 10 refused");
	is_int(page05(e, 0x41, 0x05, 10), 0, "mode 5, block type 10 accepted");
	ms[2] = 0x2A;
	is_int(run(e, ms, 10, MMC_DIR_FROM_DEV, b, 60), 0, "MODE SENSE 2A");
	ok(b[8] == 0x2A && (b[11] & 0x07) == 0x07, "CD-R/RW + test write");
	memset(b, 0, 8);
	is_int(run(e, sel2a, 10, MMC_DIR_TO_DEV, b, 60), SENSE(5, 0x26, 0),
	       "MODE SELECT 2A refused");

	/* allocation length: true length in the header, cut transfer */
	memset(b, 0xEE, sizeof(b));
	is_int(run(e, gc, 10, MMC_DIR_FROM_DEV, b, sizeof(b)), 0, "GC 8");
	ok(cds_get_be32(b) > 8, "true length %u in header", cds_get_be32(b));
	is_int(b[8], 0xEE, "nothing past the allocation length");
	is_int(last.resid, sizeof(b) - 8, "resid");
	{
		uint8_t cdb[10] = {
		    MMC_OP_READ_DISC_INFO, 0, 0, 0, 0, 0, 0, 0, 34};
		memset(b, 0xEE, sizeof(b));
		is_int(run(e, cdb, 10, MMC_DIR_FROM_DEV, b, 10), 0,
		       "RDI into a 10-byte buffer");
		is_int(b[10], 0xEE, "dxfer_len honoured");
		is_int(last.resid, 0, "resid 0");
	}
	is_int(run(e, readcd, 12, MMC_DIR_FROM_DEV, b, 128), SENSE(5, 0x21, 0),
	       "READ CD user data on blank: 05/21/00");
	readcd[9] = 0xF8;
	is_int(run(e, readcd, 12, MMC_DIR_FROM_DEV, b, 128), SENSE(5, 0x24, 0),
	       "READ CD raw: 05/24/00");
	mmc_emu_close(e);
}

static void test_read_only(void)
{
	struct mmc_emu_options o;
	struct mmc_emu *e = fresh("ro.cdr", MMC_EMU_CDR80, NULL);

	mmc_emu_options_init(&o);
	o.read_only = true;
	e = reopen(e, "ro.cdr", &o);
	is_int(wr(e, 0, 1), SENSE(7, 0x27, 0), "read-only: 07/27/00");
	mmc_emu_close(e);
}

static void test_track_limit(void)
{
	struct mmc_emu *e = fresh("limit.cdr", MMC_EMU_CDR80, NULL);
	uint8_t b[64];
	int bad = 0;

	page05(e, 0x01, 0xC4, 8);
	for (uint32_t i = 0; i < 99; i++) {
		if (wr(e, i * 153, 1) || sync_cache(e, false))
			bad++;
	}
	is_int(bad, 0, "99 one-block tracks");
	is_int(rti(e, 1, 0xFF, b), SENSE(5, 0x21, 0),
	       "no invisible track after 99");
	is_int(wr(e, 99 * 153, 1), SENSE(5, 0x21, 2), "track 100 refused");
	is_int(close_ts(e, 2, 0), 0, "close the session");
	is_int(rdi(e, b), 0, "RDI");
	is_int(b[2], 0x0D, "complete session, no further one fits: 0x0D");
	is_int(b[6], 99, "last track 99");
	mmc_emu_close(e);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_pacing(void)
{
	struct mmc_emu_options o;
	struct mmc_emu *e;
	double t0;
	uint8_t b[64];

	mmc_emu_options_init(&o);
	o.speed_x = 100;
	e = fresh("pace.cdr", MMC_EMU_CDR80, &o);
	page05(e, 0x01, 0xC4, 8);
	t0 = now_s();
	is_int(wr(e, 0, 750), 0, "paced write");
	ok(now_s() - t0 >= 0.09, "750 blocks at 100x take 0.1 s (%.3f)",
	   now_s() - t0);
	mmc_emu_close(e);

	o.speed_x = 1;
	e = fresh("immed.cdr", MMC_EMU_CDR80, &o);
	page05(e, 0x01, 0xC4, 8);
	is_int(wr(e, 0, 1), 0, "write one block");
	is_int(sync_cache(e, false), 0, "SYNC");
	{
		uint8_t cdb[10] = {MMC_OP_CLOSE_TRACK_SESSION, 1, 2};
		is_int(run(e, cdb, 10, MMC_DIR_NONE, NULL, 0), 0,
		       "CLOSE SESSION IMMED returns at once");
	}
	is_int(tur(e), SENSE(2, 0x04, 7), "TUR: 02/04/07 in progress");
	ok(last.sense.progress_valid && (last.sense.raw[15] & 0x80),
	   "progress indication (SKSV)");
	is_int(rdi(e, b), SENSE(2, 0x04, 7), "RDI waits too");
	mmc_emu_close(e);
}

static void test_transport(void)
{
	struct mmc_transport *t = NULL;
	const char *p = disc_path("transport.cdr");

	unlink(p);
	mmc_emu_create(p, MMC_EMU_CDR80);
	setenv("CDSESSION_EMU", "speed=0", 1);
	is_int(mmc_emu_transport_open(p, false, &t), 0, "transport open");
	is_int(t->max_transfer, 1024 * 1024, "max transfer 1 MiB");
	mmc_transport_close(t);
	setenv("CDSESSION_EMU", "bogus", 1);
	is_int(mmc_emu_transport_open(p, false, &t), -EINVAL,
	       "bad CDSESSION_EMU refused");
	unsetenv("CDSESSION_EMU");
}

int main(void)
{
	test_create_probe();
	test_options();
	test_blank_disc();
	test_worked_example();
	test_tracks_in_session();
	test_dummy();
	test_write_error();
	test_power_cut();
	test_cut_continuable();
	test_state_versions();
	test_trailer_damage();
	test_blank_cmd();
	test_tray();
	test_cdb_checks();
	test_read_only();
	test_track_limit();
	test_pacing();
	test_transport();
	return tap_done();
}
