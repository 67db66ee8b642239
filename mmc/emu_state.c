/* emu_state.c - the emulator's medium model and its checksummed slots. */
#include "emu_state.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "common/bytes.h"

static const uint8_t emu_magic[8] = {'C', 'D', 'S', 'E', 'M', 'U', 'S', 'T'};

/* ATIP values seen on real media (mmc-reference 3.1). */
#define EMU_LEADOUT_80MIN 359849   /* 79:59:74 */
#define EMU_LEADOUT_74MIN 335975   /* 74:41:50 */
#define EMU_LEAD_IN_START (-12490) /* 97:15:35 */

uint32_t emu_media_capacity(enum mmc_emu_media media)
{
	return media == MMC_EMU_CDR74 ? EMU_LEADOUT_74MIN : EMU_LEADOUT_80MIN;
}

int32_t emu_media_lead_in(enum mmc_emu_media media)
{
	(void)media;
	return EMU_LEAD_IN_START;
}

bool emu_media_erasable(enum mmc_emu_media media)
{
	return media == MMC_EMU_CDRW;
}

/* Table-driven CRC-32 (reflected polynomial 0xEDB88320), as zlib's. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[n] = c;
	}
}

uint32_t emu_crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = 0xFFFFFFFFu;

	pthread_once(&crc_once, crc_init);
	for (size_t i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

void emu_medium_init(struct emu_medium *m, enum mmc_emu_media media)
{
	memset(m, 0, sizeof(*m));
	m->media = media;
}

uint32_t emu_track_end(const struct emu_track *t)
{
	return t->start + t->blocks + MMC_CD_RUNOUT;
}

bool emu_session_tracks(const struct emu_medium *m, unsigned s, unsigned *first,
			unsigned *last)
{
	bool found = false;

	for (unsigned i = 0; i < m->ntracks; i++) {
		if (m->tracks[i].session != s)
			continue;
		if (!found)
			*first = i;
		*last = i;
		found = true;
	}
	return found;
}

uint32_t emu_session_leadout(const struct emu_medium *m, unsigned s)
{
	unsigned first, last;

	if (!emu_session_tracks(m, s, &first, &last))
		return 0;
	return emu_track_end(&m->tracks[last]);
}

uint32_t emu_next_session_start(const struct emu_medium *m)
{
	if (m->nclosed == 0)
		return 0;
	return emu_session_leadout(m, m->nclosed) +
	       (m->nclosed == 1 ? MMC_CD_GAP_FIRST : MMC_CD_GAP_LATER);
}

bool emu_session_open(const struct emu_medium *m)
{
	return m->ntracks > 0 && m->tracks[m->ntracks - 1].session > m->nclosed;
}

const struct emu_track *emu_incomplete_track(const struct emu_medium *m)
{
	const struct emu_track *t;

	if (!emu_session_open(m))
		return NULL;
	t = &m->tracks[m->ntracks - 1];
	return t->state == EMU_TRACK_COMPLETE ? NULL : t;
}

bool emu_invisible_track(const struct emu_medium *m, uint32_t *start)
{
	uint32_t nwa;

	if (m->finalized || m->ntracks >= EMU_MAX_TRACKS)
		return false;
	if (emu_session_open(m)) {
		const struct emu_track *t = &m->tracks[m->ntracks - 1];
		if (t->state != EMU_TRACK_COMPLETE)
			return false;
		nwa = emu_track_end(t) + MMC_CD_PREGAP;
	} else {
		nwa = emu_next_session_start(m);
	}
	if (nwa >= emu_media_capacity(m->media))
		return false;
	*start = nwa;
	return true;
}

bool emu_track_continuable(const struct emu_track *t)
{
	return t->state == EMU_TRACK_DAMAGED &&
	       (t->flags & EMU_TRACK_CONTINUABLE);
}

bool emu_medium_nwa(const struct emu_medium *m, uint32_t *nwa)
{
	const struct emu_track *t = emu_incomplete_track(m);

	if (m->finalized)
		return false;
	if (t) {
		if (t->state == EMU_TRACK_DAMAGED && !emu_track_continuable(t))
			return false;
		if (t->start + t->blocks >= emu_media_capacity(m->media))
			return false;
		*nwa = t->start + t->blocks;
		return true;
	}
	return emu_invisible_track(m, nwa);
}

static bool valid_session_format(uint8_t f)
{
	return f == 0x00 || f == 0x10 || f == 0x20;
}

int emu_medium_check(const struct emu_medium *m)
{
	uint64_t cap;
	unsigned last_session;

	if ((unsigned)m->media > MMC_EMU_CDRW)
		return -EUCLEAN;
	cap = emu_media_capacity(m->media);
	if (m->ntracks > EMU_MAX_TRACKS || m->final_multi > 1)
		return -EUCLEAN;
	if (m->ntracks == 0)
		return m->nclosed == 0 && !m->finalized ? 0 : -EUCLEAN;
	last_session = m->tracks[m->ntracks - 1].session;
	if (m->nclosed != last_session && m->nclosed + 1u != last_session)
		return -EUCLEAN;
	if (m->finalized && m->nclosed != last_session)
		return -EUCLEAN;
	for (unsigned i = 0; i < m->ntracks; i++) {
		const struct emu_track *t = &m->tracks[i];
		const struct emu_track *p = i ? &m->tracks[i - 1] : NULL;
		uint64_t want;

		if ((t->control & 0x0C) != 0x04 ||
		    (t->block_type != 8 && t->block_type != 10) ||
		    !valid_session_format(t->session_format))
			return -EUCLEAN;
		if (t->state < EMU_TRACK_OPEN || t->state > EMU_TRACK_DAMAGED)
			return -EUCLEAN;
		if (t->flags & ~EMU_TRACK_CONTINUABLE ||
		    (t->flags && t->state == EMU_TRACK_COMPLETE))
			return -EUCLEAN;
		/* only the last track of the open session may be unclosed */
		if (t->state != EMU_TRACK_COMPLETE &&
		    (i + 1u != m->ntracks || t->session <= m->nclosed))
			return -EUCLEAN;
		if (t->state == EMU_TRACK_COMPLETE && t->blocks == 0)
			return -EUCLEAN;
		if (!p) {
			if (t->session != 1)
				return -EUCLEAN;
			want = 0;
		} else if (t->session == p->session) {
			want = (uint64_t)emu_track_end(p) + MMC_CD_PREGAP;
		} else if (t->session == p->session + 1u) {
			want = (uint64_t)emu_track_end(p) +
			       (p->session == 1 ? MMC_CD_GAP_FIRST
						: MMC_CD_GAP_LATER);
		} else {
			return -EUCLEAN;
		}
		if (t->start != want)
			return -EUCLEAN;
		/* the run-out of the last block may touch the lead-out */
		if ((uint64_t)t->start + t->blocks > cap)
			return -EUCLEAN;
	}
	return 0;
}

void emu_state_encode_slot(const struct emu_medium *m, uint64_t seq,
			   uint8_t *slot)
{
	uint32_t plen = EMU_PAYLOAD_HEADER + m->ntracks * EMU_TRACK_RECORD;
	uint8_t *p = slot + EMU_SLOT_HEADER;

	memset(slot, 0, EMU_SLOT_SIZE);
	memcpy(slot, emu_magic, sizeof(emu_magic));
	cds_put_be32(slot + 8, EMU_STATE_VERSION);
	cds_put_be64(slot + 12, seq);
	cds_put_be32(slot + 20, plen);
	p[0] = (uint8_t)m->media;
	p[1] = m->finalized ? 1 : 0;
	p[2] = m->final_multi;
	p[3] = m->nclosed;
	p[4] = m->ntracks;
	for (unsigned i = 0; i < m->ntracks; i++) {
		const struct emu_track *t = &m->tracks[i];
		uint8_t *r = p + EMU_PAYLOAD_HEADER + i * EMU_TRACK_RECORD;

		cds_put_be32(r, t->start);
		cds_put_be32(r + 4, t->blocks);
		r[8] = t->session;
		r[9] = t->state;
		r[10] = t->control;
		r[11] = t->block_type;
		r[12] = t->session_format;
		r[13] = t->flags;
	}
	cds_put_be32(p + plen, emu_crc32(slot, EMU_SLOT_HEADER + plen));
}

int emu_state_decode_slot(const uint8_t *buf, size_t len,
			  struct emu_medium *out, uint64_t *seq)
{
	struct emu_medium m;
	const uint8_t *p;
	uint32_t plen, version;

	if (len < sizeof(emu_magic) ||
	    memcmp(buf, emu_magic, sizeof(emu_magic)) != 0)
		return -EMEDIUMTYPE;
	if (len < EMU_SLOT_HEADER + 4)
		return -EUCLEAN;
	version = cds_get_be32(buf + 8);
	if (version != EMU_STATE_VERSION && version != EMU_STATE_VERSION1)
		return -EUCLEAN;
	plen = cds_get_be32(buf + 20);
	if (plen < EMU_PAYLOAD_HEADER || plen > len - EMU_SLOT_HEADER - 4)
		return -EUCLEAN;
	p = buf + EMU_SLOT_HEADER;
	if (cds_get_be32(p + plen) != emu_crc32(buf, EMU_SLOT_HEADER + plen))
		return -EUCLEAN;
	if (p[0] > MMC_EMU_CDRW || p[1] > 1 || p[4] > EMU_MAX_TRACKS ||
	    plen != EMU_PAYLOAD_HEADER + (uint32_t)p[4] * EMU_TRACK_RECORD)
		return -EUCLEAN;
	emu_medium_init(&m, (enum mmc_emu_media)p[0]);
	m.finalized = p[1] != 0;
	m.final_multi = p[2];
	m.nclosed = p[3];
	m.ntracks = p[4];
	for (unsigned i = 0; i < m.ntracks; i++) {
		const uint8_t *r =
		    p + EMU_PAYLOAD_HEADER + i * EMU_TRACK_RECORD;
		struct emu_track *t = &m.tracks[i];

		t->start = cds_get_be32(r);
		t->blocks = cds_get_be32(r + 4);
		t->session = r[8];
		t->state = r[9];
		t->control = r[10];
		t->block_type = r[11];
		t->session_format = r[12];
		/* version 1 left the byte reserved: whatever it holds */
		t->flags = version == EMU_STATE_VERSION1 ? 0 : r[13];
	}
	if (emu_medium_check(&m) != 0)
		return -EUCLEAN;
	*out = m;
	*seq = cds_get_be64(buf + 12);
	return 0;
}

int emu_state_decode_trailer(const uint8_t *buf, size_t len,
			     struct emu_medium *out, uint64_t *seq)
{
	struct emu_medium m[2];
	uint64_t s[2] = {0, 0};
	int rc[2];
	int best;

	for (int i = 0; i < 2; i++) {
		size_t off = (size_t)i * EMU_SLOT_SIZE;
		size_t n = len > off ? len - off : 0;

		if (n > EMU_SLOT_SIZE)
			n = EMU_SLOT_SIZE;
		rc[i] = n ? emu_state_decode_slot(buf + off, n, &m[i], &s[i])
			  : -EMEDIUMTYPE;
	}
	if (rc[0] && rc[1])
		return rc[0] == -EUCLEAN || rc[1] == -EUCLEAN ? -EUCLEAN
							      : -EMEDIUMTYPE;
	if (rc[0])
		best = 1;
	else if (rc[1])
		best = 0;
	else
		best = s[1] > s[0] ? 1 : 0;
	*out = m[best];
	*seq = s[best];
	return 0;
}
