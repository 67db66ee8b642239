/*
 * fuzz_emu_state.c - the virtual disc's medium-state trailer decoder.
 *
 * The input is a trailer (two slots); whatever decodes must satisfy the
 * model's invariants, answer every query without reading outside its
 * track table, and survive an encode/decode round trip unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmc/emu_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_or_die(const struct emu_medium *a, const struct emu_medium *b)
{
	if (a->media != b->media || a->finalized != b->finalized ||
	    a->final_multi != b->final_multi || a->nclosed != b->nclosed ||
	    a->ntracks != b->ntracks)
		abort();
	for (unsigned i = 0; i < a->ntracks; i++)
		if (memcmp(&a->tracks[i], &b->tracks[i], sizeof(a->tracks[i])))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t slot[EMU_SLOT_SIZE];
	struct emu_medium m, back;
	uint64_t seq, seq2;
	uint32_t nwa, start;

	if (emu_state_decode_trailer(data, size, &m, &seq) != 0)
		return 0;
	if (emu_medium_check(&m) != 0)
		abort();
	(void)emu_medium_nwa(&m, &nwa);
	(void)emu_invisible_track(&m, &start);
	(void)emu_incomplete_track(&m);
	(void)emu_next_session_start(&m);
	for (unsigned s = 1; s <= m.nclosed; s++)
		(void)emu_session_leadout(&m, s);
	emu_state_encode_slot(&m, seq, slot);
	if (emu_state_decode_slot(slot, sizeof(slot), &back, &seq2) != 0 ||
	    seq2 != seq)
		abort();
	same_or_die(&m, &back);
	return 0;
}
