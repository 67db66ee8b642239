/* sense.c - sense decoding and the sense -> message/errno table. */
#include "sense.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "common/error.h"
#include "mmc_const.h"

#define ANY 0xFF

/* Sense-key-specific bytes (fixed format 15-17, or the payload of
 * descriptor type 02h) hold a progress indication for NO SENSE and NOT
 * READY when SKSV is set. */
static void take_sks(struct mmc_sense *out, const uint8_t *sks)
{
	if (!(sks[0] & 0x80))
		return;
	if (out->key == MMC_SK_NO_SENSE || out->key == MMC_SK_NOT_READY) {
		out->progress_valid = true;
		out->progress = cds_get_be16(sks + 1);
	}
}

static void parse_fixed(const uint8_t *raw, size_t n, struct mmc_sense *out)
{
	out->key = raw[2] & 0x0F;
	out->asc = n > 12 ? raw[12] : 0;
	out->ascq = n > 13 ? raw[13] : 0;
	if ((raw[0] & 0x80) && n >= 7) {
		out->info_valid = true;
		out->info = cds_get_be32(raw + 3);
	}
	if (n >= 18)
		take_sks(out, raw + 15);
}

static void parse_descriptor(const uint8_t *raw, size_t n,
			     struct mmc_sense *out)
{
	size_t p = 8;

	out->key = raw[1] & 0x0F;
	out->asc = raw[2];
	out->ascq = raw[3];
	while (p + 2 <= n) {
		uint8_t type = raw[p], dlen = raw[p + 1];

		if (p + 2 + dlen > n)
			break; /* truncated descriptor: ignore it */
		if (type == 0x00 && dlen >= 10 && (raw[p + 2] & 0x80)) {
			/* Information: 8 bytes at +4; an LBA fits 32 bits */
			out->info_valid = true;
			out->info = cds_get_be32(raw + p + 8);
		} else if (type == 0x02 && dlen >= 6) {
			take_sks(out, raw + p + 4);
		}
		p += 2 + (size_t)dlen;
	}
}

int mmc_sense_parse(const uint8_t *raw, size_t len, struct mmc_sense *out)
{
	size_t n;
	uint8_t code;

	memset(out, 0, sizeof(*out));
	n = len < sizeof(out->raw) ? len : sizeof(out->raw);
	memcpy(out->raw, raw, n);
	out->raw_len = (uint8_t)n;
	if (n < 1)
		return cds_error(-EPROTO, "empty sense data");
	code = raw[0] & 0x7F;
	if (code == 0x70 || code == 0x71) {
		if (n < 3)
			return cds_error(-EPROTO,
					 "sense data too short (%zu "
					 "bytes)",
					 n);
		/* additional length at byte 7 bounds what follows */
		if (n >= 8 && (size_t)raw[7] + 8 < n)
			n = (size_t)raw[7] + 8;
		parse_fixed(raw, n, out);
	} else if (code == 0x72 || code == 0x73) {
		if (n < 4)
			return cds_error(-EPROTO,
					 "sense data too short (%zu "
					 "bytes)",
					 n);
		if (n >= 8 && (size_t)raw[7] + 8 < n)
			n = (size_t)raw[7] + 8;
		parse_descriptor(raw, n, out);
	} else {
		return cds_error(-EPROTO, "unknown sense response code %02Xh",
				 code);
	}
	out->valid = true;
	return 0;
}

const char *mmc_sense_key_name(uint8_t key)
{
	static const char *const names[16] = {
	    [MMC_SK_NO_SENSE] = "NO SENSE",
	    [MMC_SK_RECOVERED_ERROR] = "RECOVERED ERROR",
	    [MMC_SK_NOT_READY] = "NOT READY",
	    [MMC_SK_MEDIUM_ERROR] = "MEDIUM ERROR",
	    [MMC_SK_HARDWARE_ERROR] = "HARDWARE ERROR",
	    [MMC_SK_ILLEGAL_REQUEST] = "ILLEGAL REQUEST",
	    [MMC_SK_UNIT_ATTENTION] = "UNIT ATTENTION",
	    [MMC_SK_DATA_PROTECT] = "DATA PROTECT",
	    [MMC_SK_BLANK_CHECK] = "BLANK CHECK",
	    [0x9] = "VENDOR SPECIFIC",
	    [0xA] = "COPY ABORTED",
	    [MMC_SK_ABORTED_COMMAND] = "ABORTED COMMAND",
	    [0xC] = "EQUAL",
	    [MMC_SK_VOLUME_OVERFLOW] = "VOLUME OVERFLOW",
	    [0xE] = "MISCOMPARE",
	    [0xF] = "RESERVED",
	};

	return names[key & 0x0F];
}

struct sense_entry {
	uint8_t key, asc, ascq; /* ANY matches everything */
	int err;
	bool at_lba; /* append " at LBA n" when Information is valid */
	const char *msg;
};

/*
 * First match wins, so specific entries precede the wildcards.  Keys the
 * sources leave unverified (mmc-reference 7) match any key.
 */
static const struct sense_entry sense_table[] = {
    {MMC_SK_NOT_READY, 0x3A, ANY, -ENOMEDIUM, false, "medium not present"},
    {MMC_SK_NOT_READY, 0x04, 0x01, -EAGAIN, false, "drive is becoming ready"},
    {MMC_SK_NOT_READY, 0x04, 0x02, -EIO, false,
     "drive not ready: initializing command required"},
    {MMC_SK_NOT_READY, 0x04, 0x03, -EIO, false,
     "drive not ready: manual intervention required"},
    {MMC_SK_NOT_READY, 0x04, 0x04, -EBUSY, false, "format in progress"},
    {MMC_SK_NOT_READY, 0x04, 0x07, -EBUSY, false, "operation in progress"},
    {MMC_SK_NOT_READY, 0x04, 0x08, -EBUSY, false, "long write in progress"},
    {MMC_SK_NOT_READY, 0x04, ANY, -EAGAIN, false, "drive not ready"},
    {MMC_SK_NOT_READY, 0x30, ANY, -EMEDIUMTYPE, false,
     "incompatible medium (cannot read this disc)"},
    {MMC_SK_UNIT_ATTENTION, 0x28, ANY, -EAGAIN, false,
     "medium may have changed"},
    {MMC_SK_UNIT_ATTENTION, 0x29, ANY, -EAGAIN, false,
     "drive was reset (power on or bus reset)"},
    {MMC_SK_UNIT_ATTENTION, 0x3A, ANY, -ENOMEDIUM, false, "medium not present"},
    {ANY, 0x27, ANY, -EROFS, false, "medium is write-protected"},
    {MMC_SK_ILLEGAL_REQUEST, 0x20, 0x00, -EOPNOTSUPP, false,
     "the drive does not support this command"},
    {MMC_SK_ILLEGAL_REQUEST, 0x21, 0x02, -EINVAL, false,
     "invalid address for write"},
    {MMC_SK_ILLEGAL_REQUEST, 0x21, ANY, -EINVAL, true, "address out of range"},
    {MMC_SK_ILLEGAL_REQUEST, 0x24, ANY, -EINVAL, false,
     "invalid field in command"},
    {MMC_SK_ILLEGAL_REQUEST, 0x26, ANY, -EINVAL, false,
     "invalid field in parameter list"},
    {MMC_SK_ILLEGAL_REQUEST, 0x1A, ANY, -EINVAL, false,
     "parameter list length error"},
    {MMC_SK_ILLEGAL_REQUEST, 0x2C, ANY, -EINVAL, false,
     "command sequence error"},
    {MMC_SK_ILLEGAL_REQUEST, 0x53, 0x02, -EBUSY, false,
     "medium removal is prevented (the tray is locked)"},
    {MMC_SK_ILLEGAL_REQUEST, 0x64, 0x00, -EIO, true,
     "illegal mode for this track (e.g. a run-out block)"},
    {MMC_SK_ILLEGAL_REQUEST, 0x64, 0x01, -EINVAL, false, "invalid packet size"},
    {ANY, 0x30, 0x05, -EMEDIUMTYPE, false,
     "cannot write this medium: incompatible format (a closed disc?)"},
    {ANY, 0x30, 0x06, -EMEDIUMTYPE, false,
     "cannot format this medium: incompatible medium"},
    {ANY, 0x30, ANY, -EMEDIUMTYPE, false, "incompatible medium"},
    {ANY, 0x0C, 0x09, -EIO, true,
     "write error: buffer underrun (loss of streaming)"},
    {ANY, 0x0C, ANY, -EIO, true, "write error"},
    {ANY, 0x11, ANY, -EIO, true, "unrecovered read error"},
    {ANY, 0x63, ANY, -ENOSPC, false,
     "end of user area encountered on this track: the disc is full"},
    {ANY, 0x72, 0x03, -EIO, false,
     "session fixation error: the session has an incomplete track"},
    {ANY, 0x72, 0x05, -ENOSPC, false,
     "no more track reservations "
     "allowed"},
    {ANY, 0x72, ANY, -EIO, false, "session fixation error"},
    {ANY, 0x73, 0x01, 0, false, "power calibration area almost full"},
    {ANY, 0x73, 0x02, -ENOSPC, false,
     "power calibration area is full: no more sessions can be written"},
    {ANY, 0x73, ANY, -EIO, false, "power calibration error"},
    /* fallbacks by key */
    {MMC_SK_NO_SENSE, ANY, ANY, 0, false, "no sense"},
    {MMC_SK_RECOVERED_ERROR, ANY, ANY, 0, false, "recovered error"},
    {MMC_SK_NOT_READY, ANY, ANY, -EIO, false, "drive not ready"},
    {MMC_SK_MEDIUM_ERROR, ANY, ANY, -EIO, true, "medium error"},
    {MMC_SK_HARDWARE_ERROR, ANY, ANY, -EIO, false,
     "drive hardware "
     "error"},
    {MMC_SK_ILLEGAL_REQUEST, ANY, ANY, -EINVAL, false, "illegal request"},
    {MMC_SK_UNIT_ATTENTION, ANY, ANY, -EAGAIN, false, "unit attention"},
    {MMC_SK_DATA_PROTECT, ANY, ANY, -EROFS, false, "medium is write-protected"},
    {MMC_SK_BLANK_CHECK, ANY, ANY, -EIO, true,
     "blank check: the area is not written"},
    {MMC_SK_ABORTED_COMMAND, ANY, ANY, -EAGAIN, false,
     "the drive aborted the command"},
    {MMC_SK_VOLUME_OVERFLOW, ANY, ANY, -ENOSPC, false,
     "volume overflow: the disc is full"},
    {ANY, ANY, ANY, -EIO, false, "drive error"},
};

static const struct sense_entry *lookup(const struct mmc_sense *s)
{
	size_t i;

	for (i = 0; i < sizeof(sense_table) / sizeof(sense_table[0]); i++) {
		const struct sense_entry *e = &sense_table[i];

		if ((e->key == ANY || e->key == s->key) &&
		    (e->asc == ANY || e->asc == s->asc) &&
		    (e->ascq == ANY || e->ascq == s->ascq))
			return e;
	}
	return &sense_table[i - 1];
}

const char *mmc_sense_message(const struct mmc_sense *s, char *buf, size_t len)
{
	const struct sense_entry *e;

	if (!s->valid) {
		snprintf(buf, len, "command failed without sense data");
		return buf;
	}
	e = lookup(s);
	if (e->at_lba && s->info_valid)
		snprintf(buf, len, "%s at LBA %u", e->msg, s->info);
	else
		snprintf(buf, len, "%s", e->msg);
	return buf;
}

int mmc_sense_errno(const struct mmc_sense *s)
{
	if (!s->valid)
		return -EIO;
	return lookup(s)->err;
}

bool mmc_sense_in_progress(const struct mmc_sense *s)
{
	return s->valid && s->key == MMC_SK_NOT_READY && s->asc == 0x04 &&
	       (s->ascq == 0x04 || s->ascq == 0x07 || s->ascq == 0x08);
}

const char *mmc_sense_format(const char *opname, const struct mmc_sense *s,
			     char *buf, size_t len)
{
	char msg[128];

	mmc_sense_message(s, msg, sizeof(msg));
	if (s->valid)
		snprintf(buf, len, "%s: %s (sense %X/%02X/%02X)", opname, msg,
			 s->key, s->asc, s->ascq);
	else
		snprintf(buf, len, "%s: %s", opname, msg);
	return buf;
}

int mmc_sense_error(const char *opname, const struct mmc_sense *s)
{
	char buf[256];
	int err = mmc_sense_errno(s);

	if (err == 0)
		err = -EIO;
	return cds_error(err, "%s",
			 mmc_sense_format(opname, s, buf, sizeof(buf)));
}
