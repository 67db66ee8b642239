/*
 * rrip_read.h - parse the SUSP / Rock Ridge entries of one directory
 * record (IEEE P1281, P1282), following continuation areas.
 *
 * Internal to the reader (iso/reader.c).  The parser collects what one
 * record says about its file; the reader turns that into a node.
 */
#ifndef ISO_RRIP_READ_H
#define ISO_RRIP_READ_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/sector.h"

/* Linux caps a CE chain at 32 per record (rock.c RR_MAX_CE_ENTRIES). */
#define ISO_RRIP_MAX_CE	  32
#define ISO_RRIP_NAME_MAX 255

/* Where continuation areas may be read from: [0, limit) of @src.  One
 * block is cached because a directory's CAs usually share a block. */
struct iso_rrip_ctx {
	struct cds_source *src;
	uint32_t limit;
	bool cached;
	uint32_t cached_lba;
	/* Blocks read for continuation areas, and the most allowed (0: no
	 * limit).  Records of a directory share their CA blocks, so a
	 * session needs far fewer than the medium has; chains that jump
	 * between blocks on every record would otherwise read the medium
	 * many times over. */
	uint64_t reads, max_reads;
	uint8_t block[CDS_SECTOR_SIZE];
};

/* TF stamps in flag-bit order (RRIP 4.1.6). */
enum iso_rrip_tf {
	ISO_TF_CREATE,
	ISO_TF_MODIFY,
	ISO_TF_ACCESS,
	ISO_TF_ATTRIBUTES,
	ISO_TF_COUNT
};

struct iso_rrip_info {
	bool has_sp, has_er, has_px, has_pn, has_nm, has_sl, has_cl, has_re;
	uint8_t sp_skip; /* SP LEN_SKP */
	mode_t mode;
	uint32_t nlink, uid, gid;
	uint64_t ino; /* PX serial (44-byte form), else 0 */
	uint32_t dev_high, dev_low;
	uint32_t cl_lba;
	bool tf_set[ISO_TF_COUNT];
	struct timespec tf[ISO_TF_COUNT];
	size_t name_len;
	char name[ISO_RRIP_NAME_MAX + 1];
	size_t sl_len;
	char sl[PATH_MAX];
	/* parser state across entries and CAs */
	bool nm_continues, sl_component_continues;
};

/*
 * Parse the System Use field @su (@len bytes, after any SP skip) into
 * @info (reset first).  Entries with a wrong length are ignored as Linux
 * does; a CE chain longer than ISO_RRIP_MAX_CE, a CE outside its block or
 * the medium, more CA block reads than ctx->max_reads, an NM longer than
 * 255 bytes, an SL target longer than PATH_MAX or an SL component past its
 * entry give -EUCLEAN with a message.
 * -EIO from the source.
 */
int iso_rrip_parse(struct iso_rrip_ctx *ctx, const uint8_t *su, size_t len,
		   struct iso_rrip_info *info);

/* ECMA-119 9.1.5 / 8.4.26.1 dates: 7-byte binary and 17-byte decimal
 * forms with their GMT offset.  Invalid fields give time 0. */
struct timespec iso_date7(const uint8_t *p);
struct timespec iso_date17(const uint8_t *p);

#endif
