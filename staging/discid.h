/*
 * discid.h - who a disc is, and which session staged changes apply to.
 *
 * The staging store lives in a directory named after the disc, so that
 * remounting the same disc finds its pending changes, and its journal
 * carries the identity of the session the changes are based on, so that
 * a disc that got a session elsewhere is noticed instead of silently
 * misapplied (see journal.h, -ESTALE).
 *
 * Disc id: "<volume id>-<16 hex digits>", the hex digits being the 64-bit
 * FNV-1a hash of the first session's primary volume descriptor (all 2048
 * bytes of LBA first_start + 16).  On a write-once medium that block never
 * changes, so the id is the same at every mount and after every later
 * session, and two discs differ unless their first PVDs are byte-equal
 * (the PVD holds the creation time to the hundredth of a second).  The
 * volume id part (characters outside [A-Za-z0-9._-] as '_', at most 32) is
 * there for people reading /var/lib/cdsession; "disc" when empty.
 *
 * Base identity (the journal header): 32 bytes, "CDSBASE1", the last
 * session's start LBA (u32 little-endian), 4 zero bytes, the FNV-1a 64
 * hash of its volume descriptor blocks (start + 16 up to and including the
 * terminator, at most 84 blocks, u64 little-endian), and 8 zero bytes
 * reserved.  A new session changes it; remounting does not.
 */
#ifndef CDS_STAGING_DISCID_H
#define CDS_STAGING_DISCID_H

#include <stddef.h>
#include <stdint.h>

#include "common/sector.h"

#define STG_DISC_ID_MAX	 50 /* 32 + '-' + 16 + NUL */
#define STG_BASE_ID_SIZE 32

/*
 * The id of the disc whose first session starts at @first_start, into
 * @id (STG_DISC_ID_MAX bytes).  -EUCLEAN with a message when there is no
 * ISO 9660 primary volume descriptor there, -EIO from the source.
 */
int stg_disc_id(struct cds_source *src, uint32_t first_start, char *id);

/*
 * The identity of the session at @last_start into @base
 * (STG_BASE_ID_SIZE bytes).  -EUCLEAN with a message when its volume
 * descriptor set is missing or has no terminator within 84 blocks.
 */
int stg_base_id(struct cds_source *src, uint32_t last_start, uint8_t *base);

/* The start LBA recorded in a base identity (for messages). */
uint32_t stg_base_id_start(const uint8_t *base);

#endif
