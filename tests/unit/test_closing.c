/* test_closing.c - iso/closing: the final session that closes a disc. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/error.h"
#include "common/sector.h"
#include "iso/closing.h"
#include "tap.h"

static void put_vd(uint8_t *disc, uint32_t lba, uint8_t type, uint32_t size)
{
	uint8_t *vd = disc + (size_t)lba * CDS_SECTOR_SIZE;

	vd[0] = type;
	memcpy(vd + 1, "CD001", 5);
	vd[6] = 1;
	if (type != 255)
		cds_put_733(vd + 80, size);
	memset(vd + 156, 0x5a, 34); /* a root record to keep verbatim */
}

int main(void)
{
	enum { DISC = 600, LAST = 100, NEW = 400, N = 300 };
	uint8_t *disc;
	struct cds_source *src = NULL;
	uint8_t *out = malloc((size_t)N * CDS_SECTOR_SIZE);
	int rc;

	disc = calloc(DISC, CDS_SECTOR_SIZE);
	cds_mem_source_new(disc, (size_t)DISC * CDS_SECTOR_SIZE, &src);
	put_vd(disc, LAST + 16, 1, LAST + 50);
	put_vd(disc, LAST + 17, 2, LAST + 50);
	put_vd(disc, LAST + 18, 255, 0);
	memset(out, 0xee, (size_t)N * CDS_SECTOR_SIZE);
	rc = iso_closing_session(src, LAST, NEW, N, out);
	is_int(rc, 0, "closing session built");
	is_int(out[16 * CDS_SECTOR_SIZE], 1, "PVD at +16");
	is_int(out[17 * CDS_SECTOR_SIZE], 2, "SVD at +17");
	is_int(out[18 * CDS_SECTOR_SIZE], 255, "terminator at +18");
	is_int(cds_get_733(out + 16 * CDS_SECTOR_SIZE + 80), NEW + N,
	       "PVD volume space size covers the new session");
	is_int(cds_get_be32(out + 17 * CDS_SECTOR_SIZE + 84), NEW + N,
	       "SVD volume space size, BE half too");
	is_mem(out + 16 * CDS_SECTOR_SIZE + 156,
	       disc + (size_t)(LAST + 16) * CDS_SECTOR_SIZE + 156, 34,
	       "root directory record kept: it points at the old tree");
	ok(out[0] == 0 && out[19 * CDS_SECTOR_SIZE] == 0 &&
	       out[(size_t)N * CDS_SECTOR_SIZE - 1] == 0,
	   "system area and padding are zeros");

	/* hostile: no terminator within the scan limit */
	memset(disc, 0, (size_t)DISC * CDS_SECTOR_SIZE);
	for (int i = 16; i < 120; i++)
		put_vd(disc, LAST + i, 2, 1);
	rc = iso_closing_session(src, LAST, NEW, N, out);
	is_int(rc, -EUCLEAN, "no terminator: refused");
	/* no primary descriptor */
	memset(disc, 0, (size_t)DISC * CDS_SECTOR_SIZE);
	put_vd(disc, LAST + 16, 2, 1);
	put_vd(disc, LAST + 17, 255, 0);
	rc = iso_closing_session(src, LAST, NEW, N, out);
	is_int(rc, -EUCLEAN, "no PVD: refused");
	ok(strstr(cds_errmsg(rc), "primary") != NULL, "message says why");
	/* not ISO at all, and a read outside the disc */
	memset(disc, 0, (size_t)DISC * CDS_SECTOR_SIZE);
	is_int(iso_closing_session(src, LAST, NEW, N, out), -EUCLEAN,
	       "blank session: refused");
	is_int(iso_closing_session(src, DISC - 10, NEW, N, out), -EINVAL,
	       "read past the disc: error, no overrun");
	is_int(iso_closing_session(src, LAST, NEW, 10, out), -EINVAL,
	       "too short a session refused");
	cds_source_close(src);
	free(disc);
	free(out);
	return tap_done();
}
