/* test_discid.c - staging/discid: disc ids and base session identities. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/sector.h"
#include "iso/node.h"
#include "iso/writer.h"
#include "staging/discid.h"
#include "tap.h"

#define DISC_SECTORS 2000

/* Write a session holding one empty file @name at @start of @disc. */
static void put_session(uint8_t *disc, uint32_t start, const char *volid,
			const char *name, time_t now)
{
	struct iso_node *root = iso_node_new("", S_IFDIR | 0755);
	struct iso_write_opts o = {
	    .start_lba = start, .volume_id = volid, .now = now};
	struct iso_writer *w = NULL;

	iso_node_add_child(root, iso_node_new(name, S_IFREG | 0644));
	if (iso_writer_new(root, &o, &w) == 0 &&
	    start + iso_writer_nsectors(w) <= DISC_SECTORS)
		iso_writer_read(w, 0, iso_writer_nsectors(w),
				disc + (size_t)start * CDS_SECTOR_SIZE);
	iso_writer_free(w);
	iso_node_free(root);
}

int main(void)
{
	uint8_t *disc = calloc(DISC_SECTORS, CDS_SECTOR_SIZE);
	uint8_t *other = calloc(DISC_SECTORS, CDS_SECTOR_SIZE);
	struct cds_source *src = NULL, *osrc = NULL;
	char id1[STG_DISC_ID_MAX], id2[STG_DISC_ID_MAX], id3[STG_DISC_ID_MAX];
	uint8_t b1[STG_BASE_ID_SIZE], b2[STG_BASE_ID_SIZE],
	    b3[STG_BASE_ID_SIZE];
	int rc;

	cds_mem_source_new(disc, (size_t)DISC_SECTORS * CDS_SECTOR_SIZE, &src);
	cds_mem_source_new(other, (size_t)DISC_SECTORS * CDS_SECTOR_SIZE,
			   &osrc);

	rc = stg_disc_id(src, 0, id1);
	ok(rc == -EUCLEAN && strstr(cds_errmsg(rc), "primary volume"),
	   "blank: no id (%s)", cds_errmsg(rc));
	rc = stg_base_id(src, 0, b1);
	is_int(rc, -EUCLEAN, "blank: no base identity");

	put_session(disc, 0, "Holiday 2026!", "a", 1700000000);
	is_int(stg_disc_id(src, 0, id1), 0, "session 1: an id");
	ok(strncmp(id1, "Holiday_2026_-", 14) == 0 && strlen(id1) == 30,
	   "id is the volume id, sanitised, and 16 hex digits: %s", id1);
	for (size_t i = 0; id1[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
			    "XYZ0123456789._-",
			    id1[i])) {
			ok(0, "id character %zu", i);
			break;
		}
	is_int(stg_base_id(src, 0, b1), 0, "session 1: base identity");
	ok(memcmp(b1, "CDSBASE1", 8) == 0 && stg_base_id_start(b1) == 0,
	   "base identity names its start");

	/* a second session: the disc id stays, the base identity moves */
	put_session(disc, 700, "Holiday 2026!", "b", 1700000100);
	is_int(stg_disc_id(src, 0, id2), 0, "after session 2: an id");
	is_str(id2, id1, "the disc id does not change with a new session");
	is_int(stg_base_id(src, 700, b2), 0, "session 2: base identity");
	ok(memcmp(b1, b2, sizeof(b1)) != 0 && stg_base_id_start(b2) == 700,
	   "the base identity changes with the session");
	is_int(stg_base_id(src, 700, b3), 0, "again");
	ok(memcmp(b2, b3, sizeof(b2)) == 0, "and is stable when read again");

	/* another disc with the same volume id and file, another time */
	put_session(other, 0, "Holiday 2026!", "a", 1700000001);
	is_int(stg_disc_id(osrc, 0, id3), 0, "other disc: an id");
	ok(strcmp(id3, id1) != 0, "a disc made a second later differs");
	/* an empty volume id */
	put_session(other, 0, " ", "a", 1700000001);
	stg_disc_id(osrc, 0, id3);
	ok(strncmp(id3, "disc-", 5) == 0, "blank volume id: %s", id3);

	/* hostile: a set without a terminator, a start near the end */
	memset(disc + (size_t)(700 + 18) * CDS_SECTOR_SIZE, 0,
	       CDS_SECTOR_SIZE); /* the terminator (PVD, SVD, TERM) */
	for (uint32_t i = 18; i < 100; i++)
		memcpy(disc + (size_t)(700 + i) * CDS_SECTOR_SIZE,
		       disc + (size_t)(700 + 17) * CDS_SECTOR_SIZE,
		       CDS_SECTOR_SIZE);
	rc = stg_base_id(src, 700, b3);
	ok(rc == -EUCLEAN, "no terminator within 84 blocks: %s",
	   cds_errmsg(rc));
	rc = stg_base_id(src, DISC_SECTORS - 10, b3);
	ok(rc == -EUCLEAN, "a set past the end of the medium: %s",
	   cds_errmsg(rc));
	rc = stg_disc_id(src, UINT32_MAX - 3, id3);
	ok(rc == -EUCLEAN, "a start out of range: %s", cds_errmsg(rc));

	cds_source_close(src);
	cds_source_close(osrc);
	free(disc);
	free(other);
	return tap_done();
}
