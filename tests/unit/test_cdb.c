/* test_cdb.c - MMC encoders against the reference tables, and the reply
 * parsers against hand-built, truncated and hostile replies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mmc/cdb.h"
#include "tap.h"

#define CDB(c, ...)                                                            \
	do {                                                                   \
		const uint8_t want_[] = {__VA_ARGS__};                         \
		is_int((c)->cdb_len, sizeof(want_), "%s: CDB length",          \
		       mmc_op_name(want_[0]));                                 \
		is_mem((c)->cdb, want_, sizeof(want_), "%s: CDB bytes",        \
		       mmc_op_name(want_[0]));                                 \
	} while (0)

static void test_cdb__encoders(void)
{
	uint8_t buf[64];
	struct mmc_cmd c;

	mmc_cdb_test_unit_ready(&c);
	CDB(&c, 0x00, 0, 0, 0, 0, 0);
	is_int(c.dir, MMC_DIR_NONE, "TUR: no data");

	mmc_cdb_request_sense(&c, false, buf, 18);
	CDB(&c, 0x03, 0, 0, 0, 18, 0);
	is_int(c.len, 18, "REQUEST SENSE: transfer length = allocation");
	is_int(c.dir, MMC_DIR_FROM_DEV, "REQUEST SENSE: data in");

	mmc_cdb_inquiry(&c, buf, 36);
	CDB(&c, 0x12, 0, 0, 0, 36, 0);
	ok(c.buf == buf && c.len == 36, "INQUIRY: buffer and length");

	mmc_cdb_get_configuration(&c, 1, 0x0021, buf, 8);
	CDB(&c, 0x46, 0x01, 0x00, 0x21, 0, 0, 0, 0x00, 0x08, 0);

	mmc_cdb_read_disc_info(&c, buf, 34);
	CDB(&c, 0x51, 0, 0, 0, 0, 0, 0, 0x00, 0x22, 0);

	mmc_cdb_read_track_info(&c, MMC_RTI_TRACK, 0xFF, buf, 48);
	CDB(&c, 0x52, 0x01, 0, 0, 0, 0xFF, 0, 0x00, 0x30, 0);
	mmc_cdb_read_track_info(&c, MMC_RTI_LBA, 0x00012345, buf, 48);
	CDB(&c, 0x52, 0x00, 0x00, 0x01, 0x23, 0x45, 0, 0x00, 0x30, 0);
	mmc_cdb_read_track_info(&c, MMC_RTI_SESSION, 2, buf, 48);
	CDB(&c, 0x52, 0x02, 0, 0, 0, 2, 0, 0x00, 0x30, 0);

	mmc_cdb_read_toc(&c, MMC_TOC_FORMATTED, false, 1, buf, 0x324);
	CDB(&c, 0x43, 0x00, 0x00, 0, 0, 0, 1, 0x03, 0x24, 0);
	mmc_cdb_read_toc(&c, MMC_TOC_SESSION_INFO, false, 0, buf, 12);
	CDB(&c, 0x43, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x0C, 0);
	mmc_cdb_read_toc(&c, MMC_TOC_RAW, true, 1, buf, 0x1000);
	CDB(&c, 0x43, 0x02, 0x02, 0, 0, 0, 1, 0x10, 0x00, 0);
	mmc_cdb_read_toc(&c, MMC_TOC_ATIP, true, 0, buf, 28);
	CDB(&c, 0x43, 0x02, 0x04, 0, 0, 0, 0, 0x00, 0x1C, 0);

	mmc_cdb_mode_sense10(&c, MMC_PAGE_WRITE_PARAMETERS, MMC_PC_CURRENT, buf,
			     0x3C);
	CDB(&c, 0x5A, 0, 0x05, 0, 0, 0, 0, 0x00, 0x3C, 0);
	mmc_cdb_mode_sense10(&c, MMC_PAGE_CAPABILITIES, MMC_PC_DEFAULT, buf,
			     256);
	CDB(&c, 0x5A, 0, 0xAA, 0, 0, 0, 0, 0x01, 0x00, 0);

	mmc_cdb_set_cd_speed(&c, 0xFFFF, 16 * 177);
	CDB(&c, 0xBB, 0, 0xFF, 0xFF, 0x0B, 0x10, 0, 0, 0, 0, 0, 0);

	mmc_cdb_write10(&c, -150, 32, buf);
	CDB(&c, 0x2A, 0, 0xFF, 0xFF, 0xFF, 0x6A, 0, 0x00, 0x20, 0);
	is_int(c.len, 32 * 2048, "WRITE(10): transfer length");
	is_int(c.dir, MMC_DIR_TO_DEV, "WRITE(10): data out");
	is_int(c.timeout_ms, 200000, "WRITE(10): timeout 200 s");

	mmc_cdb_read10(&c, 111402, 2, buf);
	CDB(&c, 0x28, 0, 0x00, 0x01, 0xB3, 0x2A, 0, 0x00, 0x02, 0);
	is_int(c.len, 4096, "READ(10): transfer length");

	mmc_cdb_read_capacity(&c, buf);
	CDB(&c, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	is_int(c.len, 8, "READ CAPACITY: 8 bytes");

	mmc_cdb_synchronize_cache(&c, true);
	CDB(&c, 0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0);
	is_int(c.timeout_ms, 200000, "SYNC CACHE IMMED: 200 s");
	mmc_cdb_synchronize_cache(&c, false);
	is_int(c.timeout_ms, 3600000, "SYNC CACHE: 3600 s");

	mmc_cdb_close_track_session(&c, MMC_CLOSE_SESSION, 0, true);
	CDB(&c, 0x5B, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0);
	mmc_cdb_close_track_session(&c, MMC_CLOSE_TRACK, 0x0102, false);
	CDB(&c, 0x5B, 0x00, 0x01, 0, 0x01, 0x02, 0, 0, 0, 0);

	mmc_cdb_blank(&c, MMC_BLANK_MINIMAL, 0, true);
	CDB(&c, 0xA1, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	mmc_cdb_blank(&c, MMC_BLANK_DISC, 0, false);
	CDB(&c, 0xA1, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	is_int(c.timeout_ms, 18000000, "BLANK without IMMED: 5 h");

	mmc_cdb_prevent_allow(&c, true);
	CDB(&c, 0x1E, 0, 0, 0, 1, 0);
	mmc_cdb_prevent_allow(&c, false);
	CDB(&c, 0x1E, 0, 0, 0, 0, 0);

	mmc_cdb_start_stop(&c, MMC_EJECT, false);
	CDB(&c, 0x1B, 0, 0, 0, 0x02, 0);
	mmc_cdb_start_stop(&c, MMC_LOAD, true);
	CDB(&c, 0x1B, 1, 0, 0, 0x03, 0);
	mmc_cdb_start_stop(&c, MMC_START, false);
	CDB(&c, 0x1B, 0, 0, 0, 0x01, 0);
	mmc_cdb_start_stop(&c, MMC_STOP, false);
	CDB(&c, 0x1B, 0, 0, 0, 0x00, 0);
}

static void test_cdb__mode_select_page05(void)
{
	struct mmc_write_params p, q;
	uint8_t buf[80], small[40];
	struct mmc_cmd c;

	memset(&p, 0, sizeof(p));
	p.bufe = true;
	p.test_write = true;
	p.write_type = MMC_WRITE_TAO;
	p.multi_session = MMC_MULTI_APPENDABLE;
	p.track_mode = 4;
	p.data_block_type = 8;
	p.session_format = 0x20;
	p.audio_pause = 150;
	p.packet_size = 16;
	p.link_size = 7;
	is_int(mmc_cdb_mode_select_write_params(&c, &p, buf, sizeof(buf)), 0,
	       "page 05: encodes");
	{
		const uint8_t cdb[] = {0x55, 0x10, 0, 0, 0, 0, 0, 0x00, 60, 0};
		is_mem(c.cdb, cdb, 10, "MODE SELECT(10): PF, length 60");
	}
	is_int(c.len, 60, "MODE SELECT: 8 header + 52 page");
	is_int(c.dir, MMC_DIR_TO_DEV, "MODE SELECT: data out");
	{
		const uint8_t head[] = {
		    0,	  0, 0, 0, 0,	 0, 0, 0, 0x05, 0x32, 0x51, 0xC4,
		    0x08, 7, 0, 0, 0x20, 0, 0, 0, 0,	16,   0,    150};
		is_mem(buf, head, sizeof(head),
		       "page 05 bytes (libburn's "
		       "0x41|dummy, 0xC4, 8)");
	}
	/* what we wrote, read back as a MODE SENSE reply */
	buf[1] = 58;
	is_int(mmc_parse_write_params(buf, sizeof(buf), &q), 0,
	       "page 05 parses");
	ok(q.bufe && q.test_write && q.write_type == 1 &&
	       q.multi_session == 3 && q.track_mode == 4 &&
	       q.data_block_type == 8 && q.session_format == 0x20 &&
	       q.audio_pause == 150 && q.packet_size == 16 &&
	       q.link_size == 7 && q.page_len == 0x32,
	   "page 05 round trip");
	is_int(mmc_cdb_mode_select_write_params(&c, &p, small, sizeof(small)),
	       -EINVAL, "page 05: buffer too small refused");
}

static void test_cdb__msf(void)
{
	uint8_t m, s, f;

	is_int(mmc_msf_to_lba(0, 2, 0), 0, "00:02:00 = LBA 0");
	is_int(mmc_msf_to_lba(79, 59, 74), 359849, "79:59:74 = 359849");
	is_int(mmc_msf_to_lba(97, 15, 35), -12490, "97:15:35 = -12490");
	is_int(mmc_msf_to_lba(0, 0, 0), -150, "00:00:00 = -150");
	mmc_lba_to_msf(359849, &m, &s, &f);
	ok(m == 79 && s == 59 && f == 74, "359849 = 79:59:74");
	mmc_lba_to_msf(-12490, &m, &s, &f);
	ok(m == 97 && s == 15 && f == 35, "-12490 = 97:15:35");
	mmc_lba_to_msf(111402, &m, &s, &f);
	is_int(mmc_msf_to_lba(m, s, f), 111402, "111402 round trip");
}

static void test_cdb__inquiry(void)
{
	uint8_t r[36] = {0x05, 0x80, 0x05, 0x32, 31};
	struct mmc_inquiry q;

	memcpy(r + 8, "CDSESS  ", 8);
	memcpy(r + 16, "Virtual CD-RW   ", 16);
	memcpy(r + 32, "1.0 ", 4);
	is_int(mmc_parse_inquiry(r, sizeof(r), &q), 0, "INQUIRY parses");
	is_int(q.device_type, 5, "type 5");
	is_str(q.vendor, "CDSESS", "vendor trimmed");
	is_str(q.product, "Virtual CD-RW", "product trimmed");
	is_str(q.revision, "1.0", "revision trimmed");
	is_int(mmc_parse_inquiry(r, 20, &q), 0, "truncated INQUIRY parses");
	is_str(q.product, "Virt", "truncated product: only what came");
	is_str(q.revision, "", "truncated revision: empty");
	r[4] = 3; /* additional length says 8 bytes only */
	is_int(mmc_parse_inquiry(r, sizeof(r), &q), 0, "short length field");
	is_str(q.vendor, "", "vendor beyond the length field ignored");
	is_int(mmc_parse_inquiry(r, 2, &q), -EPROTO, "2-byte INQUIRY: EPROTO");
}

static void test_cdb__configuration(void)
{
	uint8_t r[] = {0, 0, 0, 24, 0, 0, 0x00, 0x09,
		       /* profile list: CD-R current, CD-RW */
		       0x00, 0x00, 0x03, 8, 0x00, 0x09, 0x01, 0, 0x00, 0x0A,
		       0x00, 0,
		       /* core, 4 bytes of data */
		       0x00, 0x01, 0x0B, 4, 0, 0, 0, 2};
	struct mmc_feature_desc f;
	struct mmc_config cfg;
	uint16_t prof[4];
	bool cur[4];
	size_t pos = 0;

	is_int(mmc_parse_configuration(r, sizeof(r), &cfg), 0,
	       "GET CONFIGURATION parses");
	is_int(cfg.current_profile, MMC_PROFILE_CD_R, "current profile CD-R");
	is_int(mmc_config_next_feature(r, sizeof(r), &pos, &f), 1, "feature 1");
	is_int(f.code, 0, "profile list");
	ok(f.current && f.persistent, "profile list current, persistent");
	is_int(mmc_feature_profiles(&f, prof, cur, 4), 2, "two profiles");
	ok(prof[0] == 9 && cur[0] && prof[1] == 10 && !cur[1],
	   "CD-R current, CD-RW not");
	is_int(mmc_config_next_feature(r, sizeof(r), &pos, &f), 1, "feature 2");
	ok(f.code == 1 && f.version == 2 && f.data_len == 4, "core v2");
	is_int(mmc_config_next_feature(r, sizeof(r), &pos, &f), 0, "end");
	/* descriptor overrunning the reply: walk stops, no overread */
	pos = 0;
	r[11] = 200;
	is_int(mmc_config_next_feature(r, sizeof(r), &pos, &f), 0,
	       "overlong descriptor ends the walk");
	is_int(mmc_parse_configuration(r, 7, &cfg), -EPROTO,
	       "7-byte reply: EPROTO");
	r[3] = 2; /* length field less than the header */
	is_int(mmc_parse_configuration(r, sizeof(r), &cfg), -EPROTO,
	       "length below header: EPROTO");
}

static void test_cdb__disc_info(void)
{
	uint8_t r[34] = {0, 32, 0x1D, 1, 3, 3, 3, 0x20, 0x00, 0, 0, 0};
	struct mmc_disc_info di;

	r[17] = 0x02;
	r[18] = 0x3A;
	r[19] = 0x11;
	r[20] = 0x00;
	r[21] = 79;
	r[22] = 59;
	r[23] = 74;
	is_int(mmc_parse_disc_info(r, sizeof(r), &di), 0, "RDI parses");
	ok(di.erasable && di.last_session_state == MMC_SESSION_COMPLETE &&
	       di.disc_status == MMC_DISC_INCOMPLETE,
	   "byte 2 0x1D: erasable, last complete, appendable");
	ok(di.nsessions == 3 && di.first_track_last_session == 3 &&
	       di.last_track_last_session == 3,
	   "counts");
	ok(di.uru && di.lead_valid && di.last_leadout_raw == 0x004F3B4A,
	   "URU, lead-out raw");
	r[9] = 1; /* MSB of the session count */
	is_int(mmc_parse_disc_info(r, sizeof(r), &di), 0, "RDI with MSB");
	is_int(di.nsessions, 259, "16-bit session count");
	is_int(mmc_parse_disc_info(r, 20, &di), 0, "truncated RDI parses");
	ok(!di.lead_valid, "truncated: lead-in/out absent");
	is_int(mmc_parse_disc_info(r, 11, &di), -EPROTO, "11 bytes: EPROTO");
	r[1] = 8; /* length field: 10 bytes */
	is_int(mmc_parse_disc_info(r, sizeof(r), &di), -EPROTO,
	       "length field too small: EPROTO");
}

static void test_cdb__track_info(void)
{
	uint8_t r[48] = {0, 46, 2, 2, 0, 0x04, 0x4F, 0x01};
	struct mmc_track_info ti;

	r[10] = 0xB3;
	r[11] = 0x2A; /* start 45866 */
	r[14] = 0xB3;
	r[15] = 0x2A;
	r[17] = 0x04;
	r[18] = 0xAD;
	r[19] = 0xC1;
	is_int(mmc_parse_track_info(r, sizeof(r), &ti), 0, "RTI parses");
	ok(ti.track == 2 && ti.session == 2 && ti.blank && ti.nwa_valid &&
	       !ti.damage && ti.track_mode == 4 && ti.data_mode == 0xF,
	   "invisible track fields");
	is_int(ti.nwa, 45866, "NWA");
	is_int(ti.free_blocks, 0x04ADC1, "free blocks");
	r[5] = 0x24;
	r[7] = 0;
	is_int(mmc_parse_track_info(r, 28, &ti), 0, "28-byte RTI parses");
	ok(ti.damage && !ti.nwa_valid, "damaged, no NWA");
	is_int(mmc_parse_track_info(r, 27, &ti), -EPROTO, "27 bytes: EPROTO");
	r[1] = 10;
	is_int(mmc_parse_track_info(r, sizeof(r), &ti), -EPROTO,
	       "length field 12: EPROTO");
}

static void test_cdb__toc(void)
{
	/* format 0, MSF: track 1 at 00:02:00, lead-out at 22:14:27 */
	uint8_t f0[] = {0, 18, 1, 1,	0,    0x14, 1, 0,  0,  0,
			2, 0,  0, 0x14, 0xAA, 0,    0, 22, 14, 27};
	uint8_t f1[] = {0, 10, 1, 2, 0, 0x14, 2, 0, 0, 1, 0xB3, 0x2A};
	uint8_t atip[28] = {0,	26, 0,	0, 0x50, 0,  0x40, 0,
			    97, 15, 35, 0, 79,	 59, 74};
	struct mmc_toc_session_info si;
	struct mmc_toc toc;
	struct mmc_atip a;

	is_int(mmc_parse_toc(f0, sizeof(f0), true, &toc), 0, "TOC parses");
	ok(toc.n == 2 && toc.e[0].track == 1 && toc.e[0].start == 0 &&
	       toc.e[0].adr == 1 && toc.e[0].control == 4,
	   "track 1 at LBA 0, data");
	ok(toc.e[1].track == MMC_TOC_LEADOUT &&
	       toc.e[1].start == (22 * 60 + 14) * 75 + 27 - 150,
	   "lead-out MSF converted");
	is_int(mmc_parse_toc(f0, 15, true, &toc), 0, "truncated TOC parses");
	is_int(toc.n, 1, "partial descriptor dropped");
	is_int(mmc_parse_toc(f0, 3, true, &toc), -EPROTO, "3 bytes: EPROTO");

	is_int(mmc_parse_toc_session_info(f1, sizeof(f1), false, &si), 0,
	       "session info parses");
	ok(si.last_session == 2 && si.first_track_last == 2 &&
	       si.start == 111402,
	   "last session 2, track 2 at 111402");
	is_int(mmc_parse_toc_session_info(f1, 11, false, &si), -EPROTO,
	       "11 bytes: EPROTO");

	is_int(mmc_parse_atip(atip, sizeof(atip), &a), 0, "ATIP parses");
	ok(a.rw && a.lead_in == -12490 && a.last_leadout == 359849,
	   "CD-RW, lead-in -12490, lead-out 359849");
	is_int(mmc_parse_atip(atip, 14, &a), -EPROTO, "14 bytes: EPROTO");
}

static void test_cdb__toc_raw(void)
{
	uint8_t r[4 + 11 * 4] = {0, 0, 1, 1};
	const uint8_t e[4][11] = {
	    {1, 0x14, 0, 0xA0, 0, 0, 0, 0, 1, 0x00, 0},
	    {1, 0x14, 0, 0xA1, 0, 0, 0, 0, 1, 0, 0},
	    {1, 0x14, 0, 0xA2, 0, 0, 0, 0, 0, 7, 77},
	    {1, 0x14, 0, 0x01, 0, 0, 0, 0, 0, 2, 0},
	};
	struct mmc_raw_toc *toc = malloc(sizeof(*toc));

	memcpy(r + 4, e, sizeof(e));
	r[1] = sizeof(r) - 2;
	is_int(mmc_parse_toc_raw(r, sizeof(r), toc), 0, "raw TOC parses");
	is_int(toc->n, 4, "4 descriptors");
	ok(toc->e[2].point == 0xA2 &&
	       mmc_raw_toc_paddr(&toc->e[2]) == 7 * 75 + 77 - 150,
	   "A2 lead-out");
	ok(toc->e[3].point == 1 && mmc_raw_toc_paddr(&toc->e[3]) == 0,
	   "track 1 at 0");
	is_int(mmc_parse_toc_raw(r, sizeof(r) - 5, toc), 0,
	       "truncated raw TOC parses");
	is_int(toc->n, 3, "partial descriptor dropped");
	r[1] = 0xFF; /* claims more than came */
	is_int(mmc_parse_toc_raw(r, sizeof(r), toc), 0, "overclaim parses");
	is_int(toc->n, 4, "only what was returned");
	free(toc);
}

static void test_cdb__mode_pages(void)
{
	/* MODE SENSE reply with an 8-byte block descriptor before page 2A */
	uint8_t r[8 + 8 + 36] = {0, 8 + 8 + 36 - 2, 0, 0, 0, 0, 0, 8};
	uint8_t *pg = r + 16;
	struct mmc_write_params wp;
	struct mmc_caps caps;

	pg[0] = 0x2A;
	pg[1] = 34;
	pg[2] = 0x3B;
	pg[3] = 0x07;
	pg[4] = 0xC0;
	pg[6] = 0x29;
	pg[8] = 0x1B;
	pg[9] = 0x90; /* 7056 kB/s */
	pg[12] = 0x08;
	pg[13] = 0x00;
	pg[18] = 0x1B;
	pg[19] = 0x90;
	pg[28] = 0x0B;
	pg[29] = 0x10;
	pg[31] = 1;
	pg[34] = 0x1B;
	pg[35] = 0x90;
	is_int(mmc_parse_caps(r, sizeof(r), &caps), 0,
	       "2A parses past the "
	       "block descriptor");
	ok(caps.read_cdr && caps.read_cdrw && caps.write_cdr &&
	       caps.write_cdrw && caps.test_write && caps.buf &&
	       caps.multisession && caps.lock && caps.eject &&
	       caps.loader_type == 1,
	   "2A bits");
	ok(caps.max_read_kbps == 7056 && caps.buffer_kib == 2048 &&
	       caps.max_write_kbps == 7056 && caps.cur_write_kbps == 2832,
	   "2A speeds");
	ok(caps.nwrite_speeds == 1 && caps.write_speeds[0] == 7056,
	   "2A speed descriptors");
	is_int(mmc_parse_caps(r, 16 + 20, &caps), 0, "short (qemu) 2A");
	ok(caps.nwrite_speeds == 0 && caps.max_write_kbps == 7056,
	   "short 2A: later fields absent");
	is_int(mmc_parse_write_params(r, sizeof(r), &wp), -EPROTO,
	       "page 2A is not page 05");
	r[7] = 200; /* block descriptors past the reply */
	is_int(mmc_parse_caps(r, sizeof(r), &caps), -EPROTO,
	       "hostile block descriptor length: EPROTO");
	r[7] = 8;
	is_int(mmc_parse_caps(r, 18, &caps), -EPROTO, "page cut: EPROTO");
}

static void test_cdb__capacity(void)
{
	const uint8_t r[8] = {0, 0x05, 0x7E, 0x3F, 0, 0, 0x08, 0};
	struct mmc_capacity cap;

	is_int(mmc_parse_capacity(r, 8, &cap), 0, "READ CAPACITY parses");
	ok(cap.last_lba == 0x057E3F && cap.block_len == 2048, "values");
	is_int(mmc_parse_capacity(r, 7, &cap), -EPROTO, "7 bytes: EPROTO");
}

int main(void)
{
	test_cdb__encoders();
	test_cdb__mode_select_page05();
	test_cdb__msf();
	test_cdb__inquiry();
	test_cdb__configuration();
	test_cdb__disc_info();
	test_cdb__track_info();
	test_cdb__toc();
	test_cdb__toc_raw();
	test_cdb__mode_pages();
	test_cdb__capacity();
	return tap_done();
}
