/* closing.c - repeat the previous session's volume descriptors. */
#include "closing.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/error.h"

/* ECMA-119 8.1: descriptor type (byte 0), "CD001" (1-5), version (6). */
#define VD_TYPE_PRIMARY	      1
#define VD_TYPE_SUPPLEMENTARY 2
#define VD_TYPE_TERMINATOR    255
#define VD_VOLUME_SPACE_SIZE  80  /* 733, ECMA-119 8.4.8 */
#define VD_FIRST	      16  /* the set starts at session start + 16 */
#define VD_SCAN_LIMIT	      100 /* Linux scans start+16 .. start+99 */

int iso_closing_session(struct cds_source *disc, uint32_t last_start,
			uint32_t new_start, uint32_t nblocks, uint8_t *out)
{
	uint32_t n, end = new_start + nblocks;
	int rc, have_pvd = 0;

	if (nblocks < VD_FIRST + 3)
		return cds_error(-EINVAL, "closing session too short");
	memset(out, 0, (size_t)nblocks * CDS_SECTOR_SIZE);
	for (n = VD_FIRST; n < VD_SCAN_LIMIT && n < nblocks; n++) {
		uint8_t *vd = out + (size_t)n * CDS_SECTOR_SIZE;

		rc = cds_source_read(disc, last_start + n, 1, vd);
		if (rc < 0)
			return cds_error_wrap(rc,
					      "reading the volume "
					      "descriptors of the session "
					      "at %u",
					      last_start);
		if (memcmp(vd + 1, "CD001", 5) != 0 || vd[6] != 1)
			break;
		if (vd[0] == VD_TYPE_PRIMARY || vd[0] == VD_TYPE_SUPPLEMENTARY)
			cds_put_733(vd + VD_VOLUME_SPACE_SIZE, end);
		have_pvd |= vd[0] == VD_TYPE_PRIMARY;
		if (vd[0] == VD_TYPE_TERMINATOR)
			return have_pvd ? 0
					: cds_error(-EUCLEAN,
						    "session at "
						    "%u has no "
						    "primary "
						    "volume "
						    "descriptor",
						    last_start);
	}
	return cds_error(-EUCLEAN,
			 "session at %u has no valid ISO 9660 volume "
			 "descriptor set",
			 last_start);
}
