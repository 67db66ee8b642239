/*
 * closing.h - a minimal final session that closes an appendable disc.
 *
 * A CD whose last session is closed and appendable cannot be finalized by
 * a CLOSE SESSION alone: that session's lead-in already says "another
 * session may follow".  Closing it takes one more session, written with
 * multi-session = "close disc".  This builds that session so that it shows
 * the same tree as the previous one: ISO 9660 addresses are absolute, so a
 * copy of the previous volume descriptor set still points at the previous
 * directories and path tables; only the volume space size is updated.
 */
#ifndef ISO_CLOSING_H
#define ISO_CLOSING_H

#include <stdint.h>

#include "common/sector.h"

/*
 * Fill @out (@nblocks * 2048 bytes, @nblocks >= 19) with a session for
 * start LBA @new_start that repeats the volume descriptors of the session
 * at @last_start read from @disc.  -EUCLEAN with a message when the
 * previous session has no valid volume descriptor set.
 */
int iso_closing_session(struct cds_source *disc, uint32_t last_start,
			uint32_t new_start, uint32_t nblocks, uint8_t *out);

#endif
