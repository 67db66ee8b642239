/*
 * fuzz_staging_intent.c - the commit intent's parser (staging/commit.h).
 *
 * Whatever parses must re-encode to exactly the input (version 1 without
 * a time, version 2 with one) and carry a tag of 1..STG_TAG_MAX printable
 * characters without spaces.
 */
#include <stdlib.h>
#include <string.h>

#include "staging/commit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stg_intent in;
	uint8_t again[STG_INTENT_MAX];

	if (stg_intent_parse(data, size, &in))
		return 0;
	size_t tlen = strlen(in.tag);
	if (tlen == 0 || tlen > STG_TAG_MAX)
		abort();
	for (size_t i = 0; i < tlen; i++)
		if (in.tag[i] <= ' ' || in.tag[i] > '~')
			abort();
	if (stg_intent_encode(&in, again) != size ||
	    memcmp(again, data, size) != 0)
		abort();
	return 0;
}
