/*
 * writer.h - a continuation session as a stream of 2048-byte sectors.
 *
 * Lays out a tree of iso_nodes the way `mkisofs -R -J -C last,next -M prev`
 * does (iso9660-reference 5.2, 5.8): every address absolute from the
 * session's start LBA; 16 zero sectors, PVD, Joliet SVD, terminator; the
 * four path tables; the ECMA-119 directories with Rock Ridge (RRIP 1.12
 * PX with inode serials, PN, SL, NM, TF, CE, RE/CL/PL relocation into
 * /rr_moved); the Joliet directories; the data of new files; 150 sectors
 * of padding.  Files that keep extents of an earlier session are only
 * pointed at: not one byte of old data is written again.
 *
 * The whole layout is planned by iso_writer_new(), so the session's size
 * is known before its first sector is produced; sectors are then made on
 * demand, file data read from each node's content when its sectors are
 * asked for.
 */
#ifndef ISO_WRITER_H
#define ISO_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/sector.h"
#include "iso/node.h"

/* Longest session tag: printable ASCII without spaces after "CDSESSION-TAG:" in
 * the PVD's application use field (ECMA-119 8.4.32, offset 883). */
#define ISO_WRITER_TAG_MAX    128
#define ISO_WRITER_TAG_PREFIX "CDSESSION-TAG:"

struct iso_write_opts {
	uint32_t start_lba;    /* absolute LBA of the session's sector 0 */
	const char *volume_id; /* printable ASCII <= 32; NULL = "CDROM" */
	const char *tag;       /* session tag or NULL */
	bool no_joliet;
	uint64_t next_ino; /* first fresh PX serial; 0 = 1 + max in the tree */
	time_t now;	   /* volume descriptor dates; 0 = time(NULL) */
};

struct iso_writer;

/*
 * Plan the session for the tree under @root (borrowed: it must stay
 * unchanged until iso_writer_free()).  Every name, record, path table,
 * continuation area, relocation and new file extent is decided here.
 * Returns 0, -ENAMETOOLONG or -EINVAL (message naming the path) for what
 * cannot be represented (name > 255 bytes, invalid UTF-8, symlink target
 * > 4095 bytes, bad tag or volume id, more than 65535 parent
 * directories), -EFBIG if the session would not fit 2^32 sectors,
 * -ENOMEM.
 */
int iso_writer_new(struct iso_node *root, const struct iso_write_opts *o,
		   struct iso_writer **out);

/* Sectors in the session, including the padding. */
uint32_t iso_writer_nsectors(const struct iso_writer *w);

/*
 * Produce @count sectors from session sector @sector (0 = disc LBA
 * start_lba) into @buf.  Any order works; sequential reads are cheap
 * (one directory is rendered at a time and cached).  -EINVAL for a range
 * past the end; errors of a content read are passed on with their message.
 */
int iso_writer_read(struct iso_writer *w, uint32_t sector, uint32_t count,
		    void *buf);

/*
 * The session as a cds_source (LBA 0 = session sector 0, nsectors =
 * iso_writer_nsectors()).  Closing it does not free the writer, which must
 * outlive it.  0 or -ENOMEM.
 */
int iso_writer_source(struct iso_writer *w, struct cds_source **out);

void iso_writer_free(struct iso_writer *w);

#endif
