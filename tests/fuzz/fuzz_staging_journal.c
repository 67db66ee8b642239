/*
 * fuzz_staging_journal.c - the staging journal's parser (staging/journal.h).
 *
 * The input is a whole journal file.  Whatever parses must satisfy: the
 * good part lies within the input, replayed sequence numbers are >= 1 and
 * consecutive, the replayed records re-encode to exactly the good part, and
 * the good part alone (what open keeps after cutting a damaged tail) parses
 * again to the same records with nothing left over; only zeros lie between
 * data_end and the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "staging/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
	uint8_t *out; /* re-encoded journal */
	size_t out_len, cap;
	uint64_t n, last_seq;
};

static int replay(void *ctx, uint8_t type, uint64_t seq, const void *p,
		  size_t len)
{
	struct check *c = ctx;

	if (type == 0 || seq == 0 || (c->n && seq != c->last_seq + 1))
		abort();
	if (c->out_len + STG_JOURNAL_REC_OVERHEAD + len > c->cap)
		abort(); /* more replayed than there was input */
	c->out_len +=
	    stg_journal_encode_record(c->out + c->out_len, type, seq, p, len);
	c->n++;
	c->last_seq = seq;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stg_journal_parse res, again;
	struct check c = {0}, c2 = {0};
	int rc;

	c.cap = size;
	c.out = malloc(size ? size : 1);
	rc = stg_journal_parse(data, size, replay, &c, &res);
	if (rc < 0) {
		if (rc != -EUCLEAN && rc != -EPROTONOSUPPORT)
			abort();
		free(c.out);
		return 0;
	}
	if (res.good_len > size || res.records != c.n ||
	    res.last_seq != c.last_seq || res.hdr_len > STG_JOURNAL_HDR_MAX ||
	    res.hdr_off + res.hdr_len > res.good_len)
		abort();
	if ((res.stop == STG_STOP_END) != (res.good_len == size) ||
	    res.data_end < res.good_len || res.data_end > size ||
	    (res.stop == STG_STOP_ZEROS && res.data_end != res.good_len))
		abort();
	/* header + records re-encoded == the good part of the input */
	{
		size_t hsize = STG_JOURNAL_FILE_HDR_SIZE + res.hdr_len;
		uint8_t *hb = malloc(hsize);

		if (stg_journal_encode_header(hb, data + res.hdr_off,
					      res.hdr_len) != hsize ||
		    memcmp(hb, data, hsize) != 0 ||
		    hsize + c.out_len != res.good_len ||
		    memcmp(c.out, data + hsize, c.out_len) != 0)
			abort();
		free(hb);
	}
	for (size_t i = res.data_end; i < size; i++)
		if (data[i])
			abort();
	/* what open keeps parses clean */
	c2.cap = res.good_len;
	c2.out = malloc(res.good_len ? res.good_len : 1);
	rc = stg_journal_parse(data, res.good_len, replay, &c2, &again);
	if (rc != 0 || again.stop != STG_STOP_END || again.records != c.n ||
	    again.good_len != res.good_len || c2.out_len != c.out_len)
		abort();
	free(c.out);
	free(c2.out);
	return 0;
}
