/*
 * emu_state.h - the emulator's medium model and its on-file encoding
 * (internal to the emulator; see emu.h).
 *
 * The medium is a list of tracks in disc order, each tagged with its
 * session, plus the number of closed sessions and the finalized flag.
 * Everything a drive reports (disc status, A2, NWA, the invisible track)
 * is derived from that list with the CD geometry of mmc-reference 3.1.
 *
 * On file the model lives after the addressable area in two slots of
 * EMU_SLOT_SIZE bytes, written alternately:
 *
 *   0   8  magic "CDSEMUST"
 *   8   4  format version (2; 1 is still read), big-endian like every
 *          number here
 *   12  8  sequence number (the reader takes the valid slot with the
 *          higher one)
 *   20  4  payload length
 *   24  n  payload
 *   24+n 4 CRC-32 (IEEE 802.3) of bytes 0 .. 24+n
 *
 * Payload: media, flags (b0 finalized), finalizing multi-session value,
 * closed sessions, track count, 3 reserved; then 16 bytes per track:
 * start, user blocks, session, state, CONTROL, data block type, session
 * format, flags (version 2: b0 continuable; version 1: reserved, read as
 * 0), 2 reserved.  The decoder is a pure function over (buf, len):
 * every length is checked against its container and every semantic
 * invariant (order, geometry, capacity, session numbering) is verified,
 * so a damaged or hostile trailer gives an error, never a crash.
 */
#ifndef MMC_EMU_STATE_H
#define MMC_EMU_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu.h"
#include "mmc_const.h"

#define EMU_BLOCK	   2048u
#define EMU_SLOT_SIZE	   4096u
#define EMU_TRAILER_SIZE   (2 * EMU_SLOT_SIZE)
#define EMU_STATE_VERSION  2u
#define EMU_STATE_VERSION1 1u /* no track flags */
#define EMU_SLOT_HEADER	   24u
#define EMU_PAYLOAD_HEADER 8u
#define EMU_TRACK_RECORD   16u
#define EMU_MAX_TRACKS	   MMC_CD_MAX_TRACKS

enum emu_track_state {
	EMU_TRACK_OPEN = 1,	/* being written (TAO, not yet synced) */
	EMU_TRACK_COMPLETE = 2, /* closed: run-out written */
	EMU_TRACK_DAMAGED = 3,	/* interrupted write; writable only when
				   continuable */
};

/* Track flags */
#define EMU_TRACK_CONTINUABLE                                                  \
	0x01 /* if cut off, the drive reports it                               \
		Damage=1 NWA_V=1 and lets a WRITE at                           \
		its NWA continue it */

struct emu_track {
	uint32_t start;	    /* first LBA */
	uint32_t blocks;    /* user blocks recorded (run-out not included) */
	uint8_t session;    /* 1-based */
	uint8_t state;	    /* enum emu_track_state */
	uint8_t control;    /* TOC CONTROL nibble from page 05 track mode */
	uint8_t block_type; /* page 05 data block type: 8 or 10 */
	uint8_t session_format; /* page 05 session format: 00, 10, 20 */
	uint8_t flags;		/* EMU_TRACK_*; only on an unclosed track */
};

struct emu_medium {
	enum mmc_emu_media media;
	bool finalized;
	uint8_t final_multi; /* page 05 multi-session value at finalizing */
	uint8_t nclosed;     /* complete sessions */
	uint8_t ntracks;
	struct emu_track tracks[EMU_MAX_TRACKS];
};

/* ATIP: last possible lead-out start, lead-in start, erasable. */
uint32_t emu_media_capacity(enum mmc_emu_media media);
int32_t emu_media_lead_in(enum mmc_emu_media media);
bool emu_media_erasable(enum mmc_emu_media media);

uint32_t emu_crc32(const void *buf, size_t len);

void emu_medium_init(struct emu_medium *m, enum mmc_emu_media media);

/* End of a track's TOC span: start + user blocks + run-out. */
uint32_t emu_track_end(const struct emu_track *t);

/* Index range [*first, *last] of the tracks of session @s; false if the
 * session has no tracks. */
bool emu_session_tracks(const struct emu_medium *m, unsigned s, unsigned *first,
			unsigned *last);

/* A2 (lead-out start) of closed session @s (1..nclosed). */
uint32_t emu_session_leadout(const struct emu_medium *m, unsigned s);

/* Start of the next session's first track, after the last closed one
 * (0 on a blank disc). */
uint32_t emu_next_session_start(const struct emu_medium *m);

/* Does the open session (nclosed + 1) hold tracks? */
bool emu_session_open(const struct emu_medium *m);

/* The last track, if it belongs to the open session and is not complete
 * (being written or damaged); NULL otherwise. */
const struct emu_track *emu_incomplete_track(const struct emu_medium *m);

/* Is @t a damaged track that a WRITE at its NWA may continue? */
bool emu_track_continuable(const struct emu_track *t);

/*
 * The next writable address: true with *nwa set when a WRITE can go
 * somewhere (an open or continuable damaged track continues, or a new
 * track/session starts), false on a finalized or full disc or behind a
 * damaged track.
 */
bool emu_medium_nwa(const struct emu_medium *m, uint32_t *nwa);

/* Is there an invisible (blank, not yet started) track?  Its start is
 * the NWA. */
bool emu_invisible_track(const struct emu_medium *m, uint32_t *start);

/* Check every invariant; 0 or -EUCLEAN (no message: pure). */
int emu_medium_check(const struct emu_medium *m);

/* Encode @m into one slot (EMU_SLOT_SIZE bytes, zero padded). */
void emu_state_encode_slot(const struct emu_medium *m, uint64_t seq,
			   uint8_t *slot);

/*
 * Decode one slot.  0 with @out and @seq set; -EMEDIUMTYPE when the magic is
 * missing (not ours); -EUCLEAN for a bad checksum, version, length or a
 * broken invariant.  No message is recorded (pure function).
 */
int emu_state_decode_slot(const uint8_t *buf, size_t len,
			  struct emu_medium *out, uint64_t *seq);

/*
 * Decode a trailer of two slots (@len up to EMU_TRAILER_SIZE; a short
 * buffer makes the missing part invalid): the valid slot with the higher
 * sequence number wins.  -EMEDIUMTYPE if neither slot carries the magic,
 * -EUCLEAN if none is valid but one looked like ours.
 */
int emu_state_decode_trailer(const uint8_t *buf, size_t len,
			     struct emu_medium *out, uint64_t *seq);

#endif
