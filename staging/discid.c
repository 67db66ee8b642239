/* discid.c - the disc id and the base session identity (see discid.h). */
#include "discid.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "common/error.h"

#define VD_FIRST   16 /* the descriptors start at session start + 16 */
#define VD_SCAN	   84 /* Linux scans start+16 .. start+99 */
#define VOLID_OFF  40 /* PVD volume identifier, 32 bytes */
#define VOLID_LEN  32
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t len)
{
	while (len--)
		h = (h ^ *p++) * FNV_PRIME;
	return h;
}

static bool is_vd(const uint8_t *b)
{
	return memcmp(b + 1, "CD001", 5) == 0 && b[6] == 1;
}

static int read_block(struct cds_source *src, uint32_t lba, uint8_t *b)
{
	if (lba >= src->nsectors)
		return cds_error(-EUCLEAN,
				 "no volume descriptor at block %u: the "
				 "medium ends at %u",
				 lba, src->nsectors);
	return cds_source_read(src, lba, 1, b);
}

int stg_disc_id(struct cds_source *src, uint32_t first_start, char *id)
{
	uint8_t b[CDS_SECTOR_SIZE];
	char name[VOLID_LEN + 1];
	size_t n = 0;
	uint64_t h;
	int rc;

	if (first_start > UINT32_MAX - VD_FIRST)
		return cds_error(-EUCLEAN, "session start %u out of range",
				 first_start);
	rc = read_block(src, first_start + VD_FIRST, b);
	if (rc < 0)
		return rc;
	if (!is_vd(b) || b[0] != 1)
		return cds_error(-EUCLEAN,
				 "no ISO 9660 primary volume descriptor in "
				 "the first session (block %u)",
				 first_start + VD_FIRST);
	h = fnv1a(FNV_OFFSET, b, sizeof(b));
	for (size_t i = 0; i < VOLID_LEN; i++) {
		char c = (char)b[VOLID_OFF + i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')
			name[n++] = c;
		else
			name[n++] = '_';
	}
	/* the field is space padded: drop what the padding became */
	while (n && b[VOLID_OFF + n - 1] == ' ')
		n--;
	if (n == 0)
		snprintf(name, sizeof(name), "disc");
	else
		name[n] = '\0';
	snprintf(id, STG_DISC_ID_MAX, "%s-%016llx", name,
		 (unsigned long long)h);
	return 0;
}

int stg_base_id(struct cds_source *src, uint32_t last_start, uint8_t *base)
{
	uint8_t b[CDS_SECTOR_SIZE];
	uint64_t h = FNV_OFFSET;
	bool pvd = false;
	int rc;

	if (last_start > UINT32_MAX - VD_FIRST - VD_SCAN)
		return cds_error(-EUCLEAN, "session start %u out of range",
				 last_start);
	for (uint32_t i = 0; i < VD_SCAN; i++) {
		rc = read_block(src, last_start + VD_FIRST + i, b);
		if (rc < 0)
			return rc;
		if (!is_vd(b))
			break;
		h = fnv1a(h, b, sizeof(b));
		pvd |= b[0] == 1;
		if (b[0] != 255)
			continue;
		if (!pvd)
			break;
		memset(base, 0, STG_BASE_ID_SIZE);
		memcpy(base, "CDSBASE1", 8);
		cds_put_le32(base + 8, last_start);
		cds_put_le64(base + 16, h);
		return 0;
	}
	return cds_error(-EUCLEAN,
			 "the session at block %u has no ISO 9660 volume "
			 "descriptor set",
			 last_start);
}

uint32_t stg_base_id_start(const uint8_t *base)
{
	return cds_get_le32(base + 8);
}
