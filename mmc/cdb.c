/* cdb.c - MMC command encoders and reply parsers (mmc-reference 2). */
#include "cdb.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/error.h"

const char *mmc_op_name(uint8_t opcode)
{
	switch (opcode) {
	case MMC_OP_TEST_UNIT_READY:
		return "TEST UNIT READY";
	case MMC_OP_REQUEST_SENSE:
		return "REQUEST SENSE";
	case MMC_OP_INQUIRY:
		return "INQUIRY";
	case MMC_OP_START_STOP_UNIT:
		return "START STOP UNIT";
	case MMC_OP_PREVENT_ALLOW:
		return "PREVENT ALLOW MEDIUM REMOVAL";
	case MMC_OP_READ_CAPACITY:
		return "READ CAPACITY";
	case MMC_OP_READ10:
		return "READ(10)";
	case MMC_OP_WRITE10:
		return "WRITE(10)";
	case MMC_OP_SYNCHRONIZE_CACHE:
		return "SYNCHRONIZE CACHE";
	case MMC_OP_READ_TOC:
		return "READ TOC/PMA/ATIP";
	case MMC_OP_GET_CONFIGURATION:
		return "GET CONFIGURATION";
	case MMC_OP_READ_DISC_INFO:
		return "READ DISC INFORMATION";
	case MMC_OP_READ_TRACK_INFO:
		return "READ TRACK INFORMATION";
	case MMC_OP_MODE_SELECT10:
		return "MODE SELECT(10)";
	case MMC_OP_MODE_SENSE10:
		return "MODE SENSE(10)";
	case MMC_OP_CLOSE_TRACK_SESSION:
		return "CLOSE TRACK/SESSION";
	case MMC_OP_BLANK:
		return "BLANK";
	case MMC_OP_SET_CD_SPEED:
		return "SET CD SPEED";
	case MMC_OP_WRITE12:
		return "WRITE(12)";
	case MMC_OP_READ_CD:
		return "READ CD";
	default:
		return "SCSI command";
	}
}

int32_t mmc_msf_to_lba(uint8_t m, uint8_t s, uint8_t f)
{
	int32_t v = ((int32_t)m * 60 + s) * 75 + f;

	return m < 90 ? v - MMC_CD_PREGAP : v - 450150;
}

void mmc_lba_to_msf(int32_t lba, uint8_t *m, uint8_t *s, uint8_t *f)
{
	int64_t v = lba >= -MMC_CD_PREGAP ? (int64_t)lba + MMC_CD_PREGAP
					  : (int64_t)lba + 450150;

	if (v < 0)
		v = 0;
	*f = (uint8_t)(v % 75);
	*s = (uint8_t)(v / 75 % 60);
	*m = (uint8_t)(v / 75 / 60 > 255 ? 255 : v / 75 / 60);
}

static void cmd_init(struct mmc_cmd *c, uint8_t op, uint8_t cdb_len,
		     enum mmc_dir dir, void *buf, size_t len, unsigned timeout)
{
	memset(c, 0, sizeof(*c));
	c->cdb[0] = op;
	c->cdb_len = cdb_len;
	c->dir = dir;
	c->buf = buf;
	c->len = len;
	c->timeout_ms = timeout;
}

void mmc_cdb_test_unit_ready(struct mmc_cmd *c)
{
	cmd_init(c, MMC_OP_TEST_UNIT_READY, 6, MMC_DIR_NONE, NULL, 0,
		 MMC_TIMEOUT_DEFAULT);
}

void mmc_cdb_prevent_allow(struct mmc_cmd *c, bool prevent)
{
	cmd_init(c, MMC_OP_PREVENT_ALLOW, 6, MMC_DIR_NONE, NULL, 0,
		 MMC_TIMEOUT_DEFAULT);
	c->cdb[4] = prevent ? 1 : 0;
}

void mmc_cdb_start_stop(struct mmc_cmd *c, enum mmc_start_stop what, bool immed)
{
	cmd_init(c, MMC_OP_START_STOP_UNIT, 6, MMC_DIR_NONE, NULL, 0,
		 MMC_TIMEOUT_LOAD);
	c->cdb[1] = immed ? 1 : 0;
	c->cdb[4] = (uint8_t)what;
}

void mmc_cdb_set_cd_speed(struct mmc_cmd *c, uint16_t read_kbps,
			  uint16_t write_kbps)
{
	cmd_init(c, MMC_OP_SET_CD_SPEED, 12, MMC_DIR_NONE, NULL, 0,
		 MMC_TIMEOUT_DEFAULT);
	cds_put_be16(c->cdb + 2, read_kbps);
	cds_put_be16(c->cdb + 4, write_kbps);
}

void mmc_cdb_synchronize_cache(struct mmc_cmd *c, bool immed)
{
	cmd_init(c, MMC_OP_SYNCHRONIZE_CACHE, 10, MMC_DIR_NONE, NULL, 0,
		 immed ? MMC_TIMEOUT_IMMED : MMC_TIMEOUT_SYNC);
	c->cdb[1] = immed ? 0x02 : 0;
}

void mmc_cdb_close_track_session(struct mmc_cmd *c, enum mmc_close_function fn,
				 uint16_t track, bool immed)
{
	cmd_init(c, MMC_OP_CLOSE_TRACK_SESSION, 10, MMC_DIR_NONE, NULL, 0,
		 immed ? MMC_TIMEOUT_IMMED : MMC_TIMEOUT_CLOSE);
	c->cdb[1] = immed ? 1 : 0;
	c->cdb[2] = (uint8_t)fn & 0x07;
	cds_put_be16(c->cdb + 4, track);
}

void mmc_cdb_blank(struct mmc_cmd *c, enum mmc_blank_type type,
		   uint32_t address, bool immed)
{
	cmd_init(c, MMC_OP_BLANK, 12, MMC_DIR_NONE, NULL, 0,
		 immed ? MMC_TIMEOUT_IMMED : MMC_TIMEOUT_BLANK);
	c->cdb[1] = (uint8_t)((immed ? 0x10 : 0) | ((uint8_t)type & 0x07));
	cds_put_be32(c->cdb + 2, address);
}

void mmc_cdb_write10(struct mmc_cmd *c, int32_t lba, uint16_t blocks,
		     const void *buf)
{
	/* the transport never writes into a TO_DEV buffer */
	cmd_init(c, MMC_OP_WRITE10, 10, MMC_DIR_TO_DEV, (void *)buf,
		 (size_t)blocks * MMC_BLOCK_SIZE, MMC_TIMEOUT_WRITE);
	cds_put_be32(c->cdb + 2, (uint32_t)lba);
	cds_put_be16(c->cdb + 7, blocks);
}

void mmc_cdb_read10(struct mmc_cmd *c, int32_t lba, uint16_t blocks, void *buf)
{
	cmd_init(c, MMC_OP_READ10, 10, MMC_DIR_FROM_DEV, buf,
		 (size_t)blocks * MMC_BLOCK_SIZE, MMC_TIMEOUT_DEFAULT);
	cds_put_be32(c->cdb + 2, (uint32_t)lba);
	cds_put_be16(c->cdb + 7, blocks);
}

void mmc_cdb_request_sense(struct mmc_cmd *c, bool desc, void *buf,
			   uint8_t alloc)
{
	cmd_init(c, MMC_OP_REQUEST_SENSE, 6, MMC_DIR_FROM_DEV, buf, alloc,
		 MMC_TIMEOUT_DEFAULT);
	c->cdb[1] = desc ? 1 : 0;
	c->cdb[4] = alloc;
}

void mmc_cdb_inquiry(struct mmc_cmd *c, void *buf, uint8_t alloc)
{
	cmd_init(c, MMC_OP_INQUIRY, 6, MMC_DIR_FROM_DEV, buf, alloc,
		 MMC_TIMEOUT_DEFAULT);
	c->cdb[4] = alloc;
}

/* Copy an INQUIRY ASCII field, as much of it as the reply holds, and cut
 * trailing blanks; non-printable bytes become '?'. */
static void copy_ascii(char *dst, size_t dstsize, const uint8_t *buf,
		       size_t len, size_t off, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n && off + i < len && k + 1 < dstsize; i++) {
		uint8_t ch = buf[off + i];

		dst[k++] = ch >= 0x20 && ch < 0x7F ? (char)ch : '?';
	}
	while (k > 0 && dst[k - 1] == ' ')
		k--;
	dst[k] = '\0';
}

int mmc_parse_inquiry(const uint8_t *buf, size_t len, struct mmc_inquiry *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 5)
		return cds_error(-EPROTO,
				 "INQUIRY reply too short (%zu "
				 "bytes)",
				 len);
	/* additional length at byte 4 */
	if ((size_t)buf[4] + 5 < len)
		len = (size_t)buf[4] + 5;
	out->device_type = buf[0] & 0x1F;
	out->version = buf[2];
	copy_ascii(out->vendor, sizeof(out->vendor), buf, len, 8, 8);
	copy_ascii(out->product, sizeof(out->product), buf, len, 16, 16);
	copy_ascii(out->revision, sizeof(out->revision), buf, len, 32, 4);
	return 0;
}

/* Bytes of a reply that are both received and covered by its length
 * field (which counts the bytes after itself: @hdr of them). */
static size_t reply_len(const uint8_t *buf, size_t len, size_t field_len,
			size_t hdr)
{
	size_t claimed;

	if (len < field_len)
		return len;
	claimed =
	    (field_len == 4 ? cds_get_be32(buf) : cds_get_be16(buf)) + hdr;
	return claimed < len ? claimed : len;
}

void mmc_cdb_get_configuration(struct mmc_cmd *c, uint8_t rt, uint16_t start,
			       void *buf, uint16_t alloc)
{
	cmd_init(c, MMC_OP_GET_CONFIGURATION, 10, MMC_DIR_FROM_DEV, buf, alloc,
		 MMC_TIMEOUT_DEFAULT);
	c->cdb[1] = rt & 0x03;
	cds_put_be16(c->cdb + 2, start);
	cds_put_be16(c->cdb + 7, alloc);
}

int mmc_parse_configuration(const uint8_t *buf, size_t len,
			    struct mmc_config *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 8)
		return cds_error(-EPROTO,
				 "GET CONFIGURATION reply too short "
				 "(%zu bytes)",
				 len);
	out->data_len = (size_t)cds_get_be32(buf) + 4;
	out->len = reply_len(buf, len, 4, 4);
	if (out->len < 8)
		return cds_error(-EPROTO,
				 "GET CONFIGURATION reply claims "
				 "%zu bytes, less than its header",
				 out->data_len);
	out->current_profile = cds_get_be16(buf + 6);
	return 0;
}

int mmc_config_next_feature(const uint8_t *buf, size_t len, size_t *pos,
			    struct mmc_feature_desc *out)
{
	size_t end = reply_len(buf, len, 4, 4), p = *pos;

	if (end < 8)
		return cds_error(-EPROTO, "GET CONFIGURATION reply too short");
	if (p < 8)
		p = 8;
	if (p >= end)
		return 0;
	/* a truncated final descriptor ends the walk: the allocation
	 * length, not the drive, cut it */
	if (end - p < 4 || end - p < 4 + (size_t)buf[p + 3]) {
		*pos = end;
		return 0;
	}
	out->code = cds_get_be16(buf + p);
	out->version = (buf[p + 2] >> 2) & 0x0F;
	out->persistent = buf[p + 2] & 0x02;
	out->current = buf[p + 2] & 0x01;
	out->data_len = buf[p + 3];
	out->data = buf + p + 4;
	*pos = p + 4 + out->data_len;
	return 1;
}

int mmc_feature_profiles(const struct mmc_feature_desc *f, uint16_t *profiles,
			 bool *current, size_t max)
{
	size_t i, n;

	if (f->code != MMC_FEATURE_PROFILE_LIST || f->data_len % 4)
		return cds_error(-EPROTO, "malformed profile list feature");
	n = f->data_len / 4;
	for (i = 0; i < n && i < max; i++) {
		profiles[i] = cds_get_be16(f->data + 4 * i);
		if (current)
			current[i] = f->data[4 * i + 2] & 0x01;
	}
	return (int)n;
}

void mmc_cdb_read_disc_info(struct mmc_cmd *c, void *buf, uint16_t alloc)
{
	cmd_init(c, MMC_OP_READ_DISC_INFO, 10, MMC_DIR_FROM_DEV, buf, alloc,
		 MMC_TIMEOUT_DEFAULT);
	cds_put_be16(c->cdb + 7, alloc);
}

int mmc_parse_disc_info(const uint8_t *buf, size_t len,
			struct mmc_disc_info *out)
{
	size_t n = reply_len(buf, len, 2, 2);

	memset(out, 0, sizeof(*out));
	/* up to the MSBs of the session and track counts */
	if (n < 12)
		return cds_error(-EPROTO,
				 "READ DISC INFORMATION reply too "
				 "short (%zu of 12 bytes)",
				 n);
	out->erasable = buf[2] & 0x10;
	out->last_session_state = (buf[2] >> 2) & 0x03;
	out->disc_status = buf[2] & 0x03;
	out->first_track = buf[3];
	out->nsessions = (uint16_t)(buf[9] << 8 | buf[4]);
	out->first_track_last_session = (uint16_t)(buf[10] << 8 | buf[5]);
	out->last_track_last_session = (uint16_t)(buf[11] << 8 | buf[6]);
	out->did_valid = buf[7] & 0x80;
	out->dbc_valid = buf[7] & 0x40;
	out->uru = buf[7] & 0x20;
	out->dac_valid = buf[7] & 0x10;
	out->dbit = buf[7] & 0x04;
	out->bg_format_status = buf[7] & 0x03;
	out->disc_type = buf[8];
	if (n >= 16)
		out->disc_id = cds_get_be32(buf + 12);
	if (n >= 24) {
		out->lead_valid = true;
		out->last_lead_in_raw = cds_get_be32(buf + 16);
		out->last_leadout_raw = cds_get_be32(buf + 20);
	}
	return 0;
}

void mmc_cdb_read_track_info(struct mmc_cmd *c, enum mmc_rti_address type,
			     uint32_t address, void *buf, uint16_t alloc)
{
	cmd_init(c, MMC_OP_READ_TRACK_INFO, 10, MMC_DIR_FROM_DEV, buf, alloc,
		 MMC_TIMEOUT_DEFAULT);
	c->cdb[1] = (uint8_t)type & 0x03;
	cds_put_be32(c->cdb + 2, address);
	cds_put_be16(c->cdb + 7, alloc);
}

int mmc_parse_track_info(const uint8_t *buf, size_t len,
			 struct mmc_track_info *out)
{
	size_t n = reply_len(buf, len, 2, 2);

	memset(out, 0, sizeof(*out));
	/* up to the track size; the MSBs and later fields are optional */
	if (n < 28)
		return cds_error(-EPROTO,
				 "READ TRACK INFORMATION reply too "
				 "short (%zu of 28 bytes)",
				 n);
	out->track = buf[2];
	out->session = buf[3];
	if (n >= 34) {
		out->track |= (uint16_t)(buf[32] << 8);
		out->session |= (uint16_t)(buf[33] << 8);
	}
	out->damage = buf[5] & 0x20;
	out->copy = buf[5] & 0x10;
	out->track_mode = buf[5] & 0x0F;
	out->reserved = buf[6] & 0x80;
	out->blank = buf[6] & 0x40;
	out->packet = buf[6] & 0x20;
	out->fixed_packet = buf[6] & 0x10;
	out->data_mode = buf[6] & 0x0F;
	out->lra_valid = buf[7] & 0x02;
	out->nwa_valid = buf[7] & 0x01;
	out->start = cds_get_be32(buf + 8);
	out->nwa = cds_get_be32(buf + 12);
	out->free_blocks = cds_get_be32(buf + 16);
	out->packet_size = cds_get_be32(buf + 20);
	out->size = cds_get_be32(buf + 24);
	if (n >= 32)
		out->last_recorded = cds_get_be32(buf + 28);
	return 0;
}

void mmc_cdb_read_capacity(struct mmc_cmd *c, void *buf)
{
	cmd_init(c, MMC_OP_READ_CAPACITY, 10, MMC_DIR_FROM_DEV, buf,
		 MMC_READ_CAPACITY_LEN, MMC_TIMEOUT_DEFAULT);
}

int mmc_parse_capacity(const uint8_t *buf, size_t len, struct mmc_capacity *out)
{
	memset(out, 0, sizeof(*out));
	if (len < MMC_READ_CAPACITY_LEN)
		return cds_error(-EPROTO,
				 "READ CAPACITY reply too short "
				 "(%zu of 8 bytes)",
				 len);
	out->last_lba = cds_get_be32(buf);
	out->block_len = cds_get_be32(buf + 4);
	return 0;
}

void mmc_cdb_read_toc(struct mmc_cmd *c, enum mmc_toc_format fmt, bool msf,
		      uint8_t track_session, void *buf, uint16_t alloc)
{
	cmd_init(c, MMC_OP_READ_TOC, 10, MMC_DIR_FROM_DEV, buf, alloc,
		 MMC_TIMEOUT_DEFAULT);
	c->cdb[1] = msf ? 0x02 : 0;
	c->cdb[2] = (uint8_t)fmt & 0x0F;
	c->cdb[6] = track_session;
	cds_put_be16(c->cdb + 7, alloc);
}

/* A 4-byte TOC address field: LBA, or 0,M,S,F. */
static int32_t toc_addr(const uint8_t *p, bool msf)
{
	return msf ? mmc_msf_to_lba(p[1], p[2], p[3])
		   : (int32_t)cds_get_be32(p);
}

int mmc_parse_toc(const uint8_t *buf, size_t len, bool msf, struct mmc_toc *out)
{
	size_t n = reply_len(buf, len, 2, 2), p;

	memset(out, 0, sizeof(*out));
	if (n < 4)
		return cds_error(-EPROTO,
				 "READ TOC reply too short (%zu "
				 "bytes)",
				 n);
	out->first = buf[2];
	out->last = buf[3];
	/* a partial final descriptor was cut by the allocation length */
	for (p = 4; p + 8 <= n; p += 8) {
		struct mmc_toc_entry *e;

		if (out->n == MMC_TOC_MAX_ENTRIES)
			return cds_error(-EPROTO,
					 "READ TOC reply has more "
					 "than %d tracks",
					 MMC_TOC_MAX_ENTRIES);
		e = &out->e[out->n++];
		e->adr = buf[p + 1] >> 4;
		e->control = buf[p + 1] & 0x0F;
		e->track = buf[p + 2];
		e->start = toc_addr(buf + p + 4, msf);
	}
	return 0;
}

int mmc_parse_toc_session_info(const uint8_t *buf, size_t len, bool msf,
			       struct mmc_toc_session_info *out)
{
	size_t n = reply_len(buf, len, 2, 2);

	memset(out, 0, sizeof(*out));
	if (n < 12)
		return cds_error(-EPROTO,
				 "READ TOC session info too short "
				 "(%zu of 12 bytes)",
				 n);
	out->first_session = buf[2];
	out->last_session = buf[3];
	out->adr = buf[5] >> 4;
	out->control = buf[5] & 0x0F;
	out->first_track_last = buf[6];
	out->start = toc_addr(buf + 8, msf);
	return 0;
}

int mmc_parse_toc_raw(const uint8_t *buf, size_t len, struct mmc_raw_toc *out)
{
	size_t n = reply_len(buf, len, 2, 2), p;

	out->n = 0;
	out->first_session = out->last_session = 0;
	if (n < 4)
		return cds_error(-EPROTO,
				 "raw TOC reply too short (%zu "
				 "bytes)",
				 n);
	out->first_session = buf[2];
	out->last_session = buf[3];
	for (p = 4; p + 11 <= n; p += 11) {
		struct mmc_raw_toc_entry *e;

		if (out->n == MMC_RAW_TOC_MAX)
			return cds_error(-EPROTO,
					 "raw TOC has more than %d "
					 "entries",
					 MMC_RAW_TOC_MAX);
		e = &out->e[out->n++];
		e->session = buf[p];
		e->adr = buf[p + 1] >> 4;
		e->control = buf[p + 1] & 0x0F;
		e->tno = buf[p + 2];
		e->point = buf[p + 3];
		e->min = buf[p + 4];
		e->sec = buf[p + 5];
		e->frame = buf[p + 6];
		e->zero = buf[p + 7];
		e->pmin = buf[p + 8];
		e->psec = buf[p + 9];
		e->pframe = buf[p + 10];
	}
	return 0;
}

int32_t mmc_raw_toc_paddr(const struct mmc_raw_toc_entry *e)
{
	return mmc_msf_to_lba(e->pmin, e->psec, e->pframe);
}

int mmc_parse_atip(const uint8_t *buf, size_t len, struct mmc_atip *out)
{
	size_t n = reply_len(buf, len, 2, 2);

	memset(out, 0, sizeof(*out));
	/* through the last possible lead-out M:S:F at 12-14 */
	if (n < 15)
		return cds_error(-EPROTO,
				 "ATIP reply too short (%zu of 15 "
				 "bytes)",
				 n);
	out->rw = buf[6] & 0x40;
	out->a1_valid = buf[6] & 0x04;
	out->lead_in = mmc_msf_to_lba(buf[8], buf[9], buf[10]);
	out->last_leadout = mmc_msf_to_lba(buf[12], buf[13], buf[14]);
	return 0;
}

void mmc_cdb_mode_sense10(struct mmc_cmd *c, uint8_t page,
			  enum mmc_page_control pc, void *buf, uint16_t alloc)
{
	cmd_init(c, MMC_OP_MODE_SENSE10, 10, MMC_DIR_FROM_DEV, buf, alloc,
		 MMC_TIMEOUT_DEFAULT);
	c->cdb[2] = (uint8_t)(((unsigned)pc & 0x03) << 6 | (page & 0x3F));
	cds_put_be16(c->cdb + 7, alloc);
}

/*
 * Find page @code in a MODE SENSE(10) reply: skip the 8-byte header and
 * the block descriptors; return the page's offset and its received length
 * (header + page length, clipped to the reply), or -EPROTO.
 */
static int find_mode_page(const uint8_t *buf, size_t len, uint8_t code,
			  size_t *off, size_t *plen)
{
	size_t n = reply_len(buf, len, 2, 2), p, want;

	if (n < MMC_MODE_HEADER_LEN)
		return cds_error(-EPROTO,
				 "MODE SENSE reply too short (%zu "
				 "bytes)",
				 n);
	p = MMC_MODE_HEADER_LEN + cds_get_be16(buf + 6);
	if (p + 2 > n)
		return cds_error(-EPROTO,
				 "MODE SENSE reply holds no page "
				 "%02Xh",
				 code);
	if ((buf[p] & 0x3F) != code)
		return cds_error(-EPROTO,
				 "MODE SENSE returned page %02Xh "
				 "instead of %02Xh",
				 buf[p] & 0x3F, code);
	want = 2 + (size_t)buf[p + 1];
	*off = p;
	*plen = want < n - p ? want : n - p;
	return 0;
}

int mmc_parse_write_params(const uint8_t *buf, size_t len,
			   struct mmc_write_params *out)
{
	const uint8_t *pg;
	size_t off, n;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = find_mode_page(buf, len, MMC_PAGE_WRITE_PARAMETERS, &off, &n);
	if (rc)
		return rc;
	/* through the session format byte */
	if (n < 9)
		return cds_error(-EPROTO,
				 "write parameters page too short "
				 "(%zu of 9 bytes)",
				 n);
	pg = buf + off;
	out->ps = pg[0] & 0x80;
	out->page_len = pg[1];
	out->bufe = pg[2] & 0x40;
	out->ls_valid = pg[2] & 0x20;
	out->test_write = pg[2] & 0x10;
	out->write_type = pg[2] & 0x0F;
	out->multi_session = pg[3] >> 6;
	out->fixed_packet = pg[3] & 0x20;
	out->copy = pg[3] & 0x10;
	out->track_mode = pg[3] & 0x0F;
	out->data_block_type = pg[4] & 0x0F;
	out->link_size = pg[5];
	out->host_app_code = pg[7] & 0x3F;
	out->session_format = pg[8];
	if (n >= 14)
		out->packet_size = cds_get_be32(pg + 10);
	if (n >= 16)
		out->audio_pause = cds_get_be16(pg + 14);
	if (n >= 32)
		memcpy(out->mcn, pg + 16, 16);
	if (n >= 48)
		memcpy(out->isrc, pg + 32, 16);
	if (n >= 52)
		memcpy(out->subheader, pg + 48, 4);
	return 0;
}

int mmc_cdb_mode_select_write_params(struct mmc_cmd *c,
				     const struct mmc_write_params *p,
				     uint8_t *buf, size_t size)
{
	uint8_t plen = p->page_len ? p->page_len : MMC_PAGE05_LEN;
	size_t total = MMC_MODE_HEADER_LEN + 2 + (size_t)plen;
	uint8_t *pg = buf + MMC_MODE_HEADER_LEN;

	if (plen < 14 || size < total)
		return cds_error(-EINVAL,
				 "MODE SELECT: no room for a %u-byte "
				 "write parameters page",
				 plen);
	memset(buf, 0, total);
	cmd_init(c, MMC_OP_MODE_SELECT10, 10, MMC_DIR_TO_DEV, buf, total,
		 MMC_TIMEOUT_DEFAULT);
	c->cdb[1] = 0x10; /* PF: the page follows the MMC format */
	cds_put_be16(c->cdb + 7, (uint16_t)total);
	/* the mode header's fields are reserved on SELECT: all zero */
	pg[0] = MMC_PAGE_WRITE_PARAMETERS; /* PS is reserved on SELECT */
	pg[1] = plen;
	pg[2] = (uint8_t)((p->bufe ? 0x40 : 0) | (p->ls_valid ? 0x20 : 0) |
			  (p->test_write ? 0x10 : 0) | (p->write_type & 0x0F));
	pg[3] = (uint8_t)((p->multi_session & 0x03) << 6 |
			  (p->fixed_packet ? 0x20 : 0) | (p->copy ? 0x10 : 0) |
			  (p->track_mode & 0x0F));
	pg[4] = p->data_block_type & 0x0F;
	pg[5] = p->link_size;
	pg[7] = p->host_app_code & 0x3F;
	pg[8] = p->session_format;
	cds_put_be32(pg + 10, p->packet_size);
	cds_put_be16(pg + 14, p->audio_pause);
	if (plen + 2 >= 32)
		memcpy(pg + 16, p->mcn, 16);
	if (plen + 2 >= 48)
		memcpy(pg + 32, p->isrc, 16);
	if (plen + 2 >= 52)
		memcpy(pg + 48, p->subheader, 4);
	return 0;
}

int mmc_parse_caps(const uint8_t *buf, size_t len, struct mmc_caps *out)
{
	const uint8_t *pg;
	size_t off, n, i;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = find_mode_page(buf, len, MMC_PAGE_CAPABILITIES, &off, &n);
	if (rc)
		return rc;
	/* through the mechanism byte 6 */
	if (n < 7)
		return cds_error(-EPROTO,
				 "capabilities page too short (%zu "
				 "of 7 bytes)",
				 n);
	pg = buf + off;
	out->read_cdr = pg[2] & 0x01;
	out->read_cdrw = pg[2] & 0x02;
	out->read_dvdrom = pg[2] & 0x08;
	out->read_dvdr = pg[2] & 0x10;
	out->read_dvdram = pg[2] & 0x20;
	out->write_cdr = pg[3] & 0x01;
	out->write_cdrw = pg[3] & 0x02;
	out->test_write = pg[3] & 0x04;
	out->write_dvdr = pg[3] & 0x10;
	out->write_dvdram = pg[3] & 0x20;
	out->buf = pg[4] & 0x80;
	out->multisession = pg[4] & 0x40;
	out->lock = pg[6] & 0x01;
	out->locked = pg[6] & 0x02;
	out->eject = pg[6] & 0x08;
	out->loader_type = pg[6] >> 5;
	if (n >= 10)
		out->max_read_kbps = cds_get_be16(pg + 8);
	if (n >= 14)
		out->buffer_kib = cds_get_be16(pg + 12);
	if (n >= 16)
		out->cur_read_kbps = cds_get_be16(pg + 14);
	if (n >= 20)
		out->max_write_kbps = cds_get_be16(pg + 18);
	if (n >= 22)
		out->cur_write_kbps = cds_get_be16(pg + 20);
	if (n >= 30) /* MMC-3 moved the current write speed here */
		out->cur_write_kbps = cds_get_be16(pg + 28);
	if (n >= 32) {
		size_t want = cds_get_be16(pg + 30);

		for (i = 0;
		     i < want && 32 + 4 * i + 4 <= n && i < MMC_CAPS_MAX_SPEEDS;
		     i++)
			out->write_speeds[i] =
			    cds_get_be16(pg + 32 + 4 * i + 2);
		out->nwrite_speeds = (unsigned)i;
	}
	return 0;
}
