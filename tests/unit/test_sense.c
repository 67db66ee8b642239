/* test_sense.c - fixed and descriptor sense, progress, and the
 * key/ASC/ASCQ -> message/errno table. */
#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "mmc/sense.h"
#include "tap.h"

static void fixed(uint8_t *r, uint8_t key, uint8_t asc, uint8_t ascq)
{
	memset(r, 0, 18);
	r[0] = 0x70;
	r[2] = key;
	r[7] = 10;
	r[12] = asc;
	r[13] = ascq;
}

static void test_sense__fixed(void)
{
	struct mmc_sense s;
	uint8_t r[18];

	fixed(r, 3, 0x0C, 0x00);
	r[0] = 0xF0; /* Valid: Information holds the LBA */
	r[3] = 0x00;
	r[4] = 0x01;
	r[5] = 0xB3;
	r[6] = 0x2A;
	is_int(mmc_sense_parse(r, 18, &s), 0, "fixed sense parses");
	ok(s.valid && s.key == 3 && s.asc == 0x0C && s.ascq == 0, "3/0C/00");
	ok(s.info_valid && s.info == 111402, "Information = 111402");
	ok(!s.progress_valid, "no progress");
	is_int(s.raw_len, 18, "raw copy kept");

	fixed(r, 2, 0x04, 0x07);
	r[15] = 0x80; /* SKSV */
	r[16] = 0x80;
	r[17] = 0x00;
	is_int(mmc_sense_parse(r, 18, &s), 0, "progress sense parses");
	ok(s.progress_valid && s.progress == 0x8000, "progress 50 %%");
	ok(mmc_sense_in_progress(&s), "operation in progress");
	ok(!s.info_valid, "Information not valid without the Valid bit");

	fixed(r, 5, 0x24, 0x00);
	r[15] = 0x80; /* SKSV on ILLEGAL REQUEST is a field pointer */
	is_int(mmc_sense_parse(r, 18, &s), 0, "field pointer sense parses");
	ok(!s.progress_valid, "field pointer is not progress");

	fixed(r, 2, 0x04, 0x08);
	r[7] = 4; /* additional length stops before ASC */
	r[15] = 0x80;
	is_int(mmc_sense_parse(r, 18, &s), 0, "short additional length");
	ok(s.asc == 0 && !s.progress_valid,
	   "bytes past the additional length ignored");

	fixed(r, 6, 0x28, 0x00);
	r[0] = 0x71;
	is_int(mmc_sense_parse(r, 14, &s), 0, "deferred, 14 bytes");
	ok(s.key == 6 && s.asc == 0x28, "6/28/00");
	is_int(mmc_sense_parse(r, 2, &s), -EPROTO, "2 bytes: EPROTO");
	ok(!s.valid, "not valid");
	is_int(mmc_sense_parse(r, 0, &s), -EPROTO, "empty: EPROTO");
	r[0] = 0x7F;
	is_int(mmc_sense_parse(r, 18, &s), -EPROTO, "unknown code: EPROTO");
}

static void test_sense__descriptor(void)
{
	uint8_t r[32] = {0x72, 0x03, 0x11, 0x00, 0, 0, 0, 20,
			 /* Information descriptor */
			 0x00, 0x0A, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x30, 0x39,
			 /* sense-key specific, progress (ignored: key 3) */
			 0x02, 0x06, 0, 0, 0x80, 0x40, 0x00, 0};
	struct mmc_sense s;

	is_int(mmc_sense_parse(r, 28, &s), 0, "descriptor sense parses");
	ok(s.key == 3 && s.asc == 0x11 && s.ascq == 0, "3/11/00");
	ok(s.info_valid && s.info == 12345, "Information = 12345");
	ok(!s.progress_valid, "progress only for NO SENSE / NOT READY");

	r[1] = 0x02;
	r[2] = 0x04;
	r[3] = 0x04;
	is_int(mmc_sense_parse(r, 28, &s), 0, "format in progress parses");
	ok(s.progress_valid && s.progress == 0x4000, "progress 25 %%");
	ok(mmc_sense_in_progress(&s), "format in progress");

	r[9] = 0x40; /* descriptor overruns: ignored, no overread */
	is_int(mmc_sense_parse(r, 28, &s), 0, "overrunning descriptor");
	ok(!s.info_valid, "overrunning descriptor ignored");
	is_int(mmc_sense_parse(r, 3, &s), -EPROTO, "3 bytes: EPROTO");
}

struct case_ {
	uint8_t key, asc, ascq;
	int err;
	const char *msg;
};

static void test_sense__table(void)
{
	static const struct case_ cases[] = {
	    {2, 0x3A, 0x00, -ENOMEDIUM, "medium not present"},
	    {2, 0x3A, 0x02, -ENOMEDIUM, "medium not present"},
	    {2, 0x04, 0x01, -EAGAIN, "drive is becoming ready"},
	    {2, 0x04, 0x07, -EBUSY, "operation in progress"},
	    {2, 0x04, 0x08, -EBUSY, "long write in progress"},
	    {2, 0x04, 0x04, -EBUSY, "format in progress"},
	    {6, 0x28, 0x00, -EAGAIN, "medium may have changed"},
	    {6, 0x29, 0x00, -EAGAIN, "drive was reset (power on or bus reset)"},
	    {7, 0x27, 0x00, -EROFS, "medium is write-protected"},
	    {5, 0x21, 0x02, -EINVAL, "invalid address for write"},
	    {5, 0x24, 0x00, -EINVAL, "invalid field in command"},
	    {5, 0x20, 0x00, -EOPNOTSUPP,
	     "the drive does not support this command"},
	    {5, 0x30, 0x00, -EMEDIUMTYPE, "incompatible medium"},
	    {5, 0x30, 0x05, -EMEDIUMTYPE,
	     "cannot write this medium: incompatible format (a closed "
	     "disc?)"},
	    {3, 0x0C, 0x09, -EIO,
	     "write error: buffer underrun (loss of streaming)"},
	    {5, 0x72, 0x03, -EIO,
	     "session fixation error: the session has an incomplete "
	     "track"},
	    {5, 0x63, 0x00, -ENOSPC,
	     "end of user area encountered on this track: the disc is "
	     "full"},
	    {0xD, 0x00, 0x00, -ENOSPC, "volume overflow: the disc is full"},
	    {4, 0x44, 0x00, -EIO, "drive hardware error"},
	    {0xB, 0x00, 0x00, -EAGAIN, "the drive aborted the command"},
	    {1, 0x17, 0x01, 0, "recovered error"},
	    {5, 0x99, 0x99, -EINVAL, "illegal request"},
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_ *c = &cases[i];
		struct mmc_sense s = {.valid = true};

		s.key = c->key;
		s.asc = c->asc;
		s.ascq = c->ascq;
		is_int(mmc_sense_errno(&s), c->err, "%X/%02X/%02X errno",
		       c->key, c->asc, c->ascq);
		is_str(mmc_sense_message(&s, buf, sizeof(buf)), c->msg,
		       "%X/%02X/%02X message", c->key, c->asc, c->ascq);
	}
}

static void test_sense__format(void)
{
	struct mmc_sense s = {.valid = true, .key = 3, .asc = 0x0C};
	char buf[256];
	int rc;

	s.info_valid = true;
	s.info = 1234;
	is_str(mmc_sense_format("WRITE(10)", &s, buf, sizeof(buf)),
	       "WRITE(10): write error at LBA 1234 (sense 3/0C/00)",
	       "formatted write error");
	rc = mmc_sense_error("WRITE(10)", &s);
	is_int(rc, -EIO, "mmc_sense_error returns EIO");
	is_str(cds_errmsg(rc),
	       "WRITE(10): write error at LBA 1234 (sense 3/0C/00)",
	       "and records the message");
	s.key = 1;
	s.asc = 0x17;
	is_int(mmc_sense_error("READ(10)", &s), -EIO,
	       "a failed command is never success");
	memset(&s, 0, sizeof(s));
	is_str(mmc_sense_format("BLANK", &s, buf, sizeof(buf)),
	       "BLANK: command failed without sense data", "no sense data");
	is_int(mmc_sense_errno(&s), -EIO, "no sense data: EIO");
	is_str(mmc_sense_key_name(5), "ILLEGAL REQUEST", "key name");
}

int main(void)
{
	test_sense__fixed();
	test_sense__descriptor();
	test_sense__table();
	test_sense__format();
	return tap_done();
}
