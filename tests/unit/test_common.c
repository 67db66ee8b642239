/* test_common.c - common/: error messages, byte order, file source. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"
#include "common/sector.h"
#include "tap.h"

static int fails_deep(void)
{
	return cds_error(-ENOSPC, "image needs %u blocks", 42u);
}

static void test_common__error(void)
{
	int rc = fails_deep();

	is_int(rc, -ENOSPC, "cds_error returns its errno");
	is_str(cds_errmsg(rc), "image needs 42 blocks", "message recorded");
	is_str(cds_errmsg(-EIO), strerror(EIO),
	       "another errno falls back to strerror");
	rc = cds_error_wrap(rc, "burn %s", "d.cdr");
	is_str(cds_errmsg(rc), "burn d.cdr: image needs 42 blocks",
	       "wrap prefixes context");
	cds_error_clear();
	is_str(cds_errmsg(-ENOSPC), strerror(ENOSPC), "clear forgets");
	rc = cds_error_wrap(-EROFS, "open");
	is_str(cds_errmsg(rc), "open: Read-only file system",
	       "wrap without a message uses strerror");
}

static void test_common__bytes(void)
{
	uint8_t b[8];

	cds_put_be32(b, 0x01020304);
	is_int(b[0], 1, "be32 msb first");
	is_int(cds_get_be32(b), 0x01020304, "be32 round trip");
	cds_put_le32(b, 0x01020304);
	is_int(b[0], 4, "le32 lsb first");
	is_int(cds_get_le32(b), 0x01020304, "le32 round trip");
	cds_put_be24(b, 0xABCDEF);
	is_int(cds_get_be24(b), 0xABCDEF, "be24 round trip");
	cds_put_733(b, 0x11223344);
	is_int(cds_get_le32(b), 0x11223344, "733 LE half");
	is_int(cds_get_be32(b + 4), 0x11223344, "733 BE half");
	/* readers take the LE half when the halves disagree (as Linux) */
	cds_put_be32(b + 4, 7);
	is_int(cds_get_733(b), 0x11223344, "733 reader uses LE half");
	cds_put_723(b, 0xBEEF);
	is_int(cds_get_le16(b), 0xBEEF, "723 LE half");
	is_int(cds_get_be16(b + 2), 0xBEEF, "723 BE half");
	cds_put_be64(b, 0x0102030405060708ULL);
	ok(cds_get_be64(b) == 0x0102030405060708ULL, "be64 round trip");
	cds_put_le64(b, 0x0102030405060708ULL);
	ok(cds_get_le64(b) == 0x0102030405060708ULL, "le64 round trip");
}

static void test_common__file_source(void)
{
	char path[256], buf[2 * CDS_SECTOR_SIZE];
	struct cds_source *src = NULL;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/src.bin", tap_tmpdir());
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	memset(buf, 'a', CDS_SECTOR_SIZE);
	memset(buf + CDS_SECTOR_SIZE, 'b', 100);
	ok(write(fd, buf, CDS_SECTOR_SIZE + 100) == CDS_SECTOR_SIZE + 100,
	   "wrote a file of 1 sector + 100 bytes");
	close(fd);
	rc = cds_file_source_open(path, &src);
	is_int(rc, 0, "file source opens");
	is_int(src->nsectors, 2, "partial sector rounds up");
	memset(buf, 0xff, sizeof(buf));
	is_int(cds_source_read(src, 0, 2, buf), 0, "read both sectors");
	ok(buf[0] == 'a' && buf[CDS_SECTOR_SIZE] == 'b' &&
	       buf[CDS_SECTOR_SIZE + 100] == 0 &&
	       buf[2 * CDS_SECTOR_SIZE - 1] == 0,
	   "partial sector padded with zeros");
	rc = cds_source_read(src, 1, 2, buf);
	is_int(rc, -EINVAL, "read past the end refused");
	ok(strstr(cds_errmsg(rc), "outside") != NULL, "with a message");
	is_int(cds_source_read(src, 0xFFFFFFFFu, 2, buf), -EINVAL,
	       "huge LBA does not wrap");
	cds_source_close(src);
	rc = cds_file_source_open("/nonexistent/x", &src);
	is_int(rc, -ENOENT, "missing file");
	ok(strstr(cds_errmsg(rc), "/nonexistent/x") != NULL,
	   "message names the file");
}

int main(void)
{
	test_common__error();
	test_common__bytes();
	test_common__file_source();
	return tap_done();
}
