/*
 * test_journal.c - staging/journal (the write-ahead journal) and
 * staging/store (the store directory and its lock).
 *
 * CDS_SLOW=1 runs 200 kill -9 trials instead of 20.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"
#include "staging/journal.h"
#include "staging/store.h"
#include "tap.h"

#define MAXREC 4096
#define MAXPAY 64

/* What a replay saw. */
struct seen {
	uint64_t n;
	uint64_t seq[MAXREC];
	uint8_t type[MAXREC];
	size_t len[MAXREC];
	uint8_t data[MAXREC][MAXPAY];
	uint64_t fail_at; /* return -EIO at this record number (1-based) */
	uint64_t bad_payload;
};

/* The records of the generated journals: contents follow from seq. */
static size_t payload_for(uint64_t seq, uint8_t *out)
{
	size_t n = (size_t)(seq * 7 % 41);

	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(seq * 31 + i);
	return n;
}

static uint8_t type_for(uint64_t seq)
{
	return (uint8_t)(1 + seq % 200);
}

static int collect(void *ctx, uint8_t type, uint64_t seq, const void *p,
		   size_t len)
{
	struct seen *s = ctx;

	if (s->fail_at && s->n + 1 == s->fail_at)
		return -EIO;
	if (s->n < MAXREC) {
		s->seq[s->n] = seq;
		s->type[s->n] = type;
		s->len[s->n] = len;
		memcpy(s->data[s->n], p, len < MAXPAY ? len : MAXPAY);
	}
	s->n++;
	return 0;
}

/* Replay in the crash trials: checks contents as it goes, keeps no copy. */
static int check_gen(void *ctx, uint8_t type, uint64_t seq, const void *p,
		     size_t len)
{
	struct seen *s = ctx;
	uint8_t want[MAXPAY];
	size_t n = payload_for(seq, want);

	s->n++;
	if (seq != s->n || type != type_for(seq) || len != n ||
	    memcmp(p, want, n) != 0)
		s->bad_payload++;
	return 0;
}

/* 1 when s holds exactly the generated records 1..n. */
static int is_generated(const struct seen *s, uint64_t n)
{
	uint8_t want[MAXPAY];

	if (s->n != n)
		return 0;
	for (uint64_t i = 0; i < n && i < MAXREC; i++) {
		size_t len = payload_for(i + 1, want);
		if (s->seq[i] != i + 1 || s->type[i] != type_for(i + 1) ||
		    s->len[i] != len || memcmp(s->data[i], want, len) != 0)
			return 0;
	}
	return 1;
}

static void path_in_tmp(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tap_tmpdir(), name);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : (long)st.st_size;
}

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static uint8_t *read_whole(const char *path, size_t *len)
{
	long size = file_size(path);
	uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
	int fd = open(path, O_RDONLY);

	*len = 0;
	if (fd >= 0 && size > 0 && read(fd, buf, (size_t)size) == size)
		*len = (size_t)size;
	if (fd >= 0)
		close(fd);
	return buf;
}

/* Append the generated records first..last; ends[] gets the end offsets. */
static int append_gen(struct stg_journal *j, uint64_t first, uint64_t last,
		      uint64_t *ends)
{
	uint8_t p[MAXPAY];

	for (uint64_t s = first; s <= last; s++) {
		uint64_t seq;
		size_t n = payload_for(s, p);
		int rc = stg_journal_append(j, type_for(s), p, n, &seq);
		if (rc < 0 || seq != s)
			return rc < 0 ? rc : -1;
		if (ends)
			ends[s] = stg_journal_bytes(j);
	}
	return 0;
}

static const char HDR_A[] = "base session 1 at LBA 0, volume A";
static const char HDR_B[] = "base session 2 at LBA 9000, volume A";

static void test_basic(void)
{
	char path[256], tmp[300];
	struct stg_journal *j = NULL;
	struct seen *s = calloc(1, sizeof(*s));
	size_t hsize = STG_JOURNAL_FILE_HDR_SIZE + sizeof(HDR_A);
	char hbuf[128];
	size_t hlen;
	uint64_t seq, dropped = 7;
	long size;
	int rc;

	/* check values: RFC 3720 B.4 (32 zero bytes), and "123456789" */
	{
		uint8_t zeros[32] = {0};
		is_int(stg_crc32c(0, zeros, 32), 0x8a9136aa,
		       "CRC-32C of zeros");
		is_int(stg_crc32c(0, "123456789", 9), 0xe3069283,
		       "CRC-32C check value");
		is_int(stg_crc32c(stg_crc32c(0, "1234", 4), "56789", 5),
		       0xe3069283, "CRC-32C continues");
		/* the hardware path (8 bytes at a time) against a bitwise
		 * one, every length and alignment up to 64 */
		uint8_t buf[80];
		int bad = 0;
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(i * 151 + 7);
		for (size_t off = 0; off < 8; off++)
			for (size_t n = 0; n <= 64; n++) {
				uint32_t c = ~0u;
				for (size_t k = 0; k < n; k++) {
					c ^= buf[off + k];
					for (int b = 0; b < 8; b++)
						c = c & 1
							? (c >> 1) ^ 0x82f63b78u
							: c >> 1;
				}
				bad += stg_crc32c(0, buf + off, n) != ~c;
			}
		is_int(bad, 0, "CRC-32C equals the bitwise one everywhere");
	}
	path_in_tmp(path, sizeof(path), "basic");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), collect, s, &j);
	is_int(rc, 0, "new journal created");
	is_int(file_size(path), hsize, "it holds just the header");
	ok(j && stg_journal_recovered(j, &dropped) == NULL && dropped == 0,
	   "a new journal is not a recovery");
	is_int(s->n, 0, "nothing replayed");
	is_int(stg_journal_last_seq(j), 0, "no sequence number yet");
	is_int(append_gen(j, 1, 50, NULL), 0, "50 records appended");
	is_int(file_size(path), hsize, "appends are only buffered");
	is_int(stg_journal_records(j), 50, "record count counts them");
	is_int(stg_journal_flush(j), 0, "flush");
	{
		size_t n, end = stg_journal_bytes(j);
		uint8_t *f = read_whole(path, &n);
		struct stg_journal_parse res;
		ok(n >= end && n % (1 << 20) == 0,
		   "flush preallocated: file %zu bytes, journal %zu", n, end);
		ok(stg_journal_parse(f, n, NULL, NULL, &res) == 0 &&
		       res.records == 50 && res.good_len == end &&
		       res.stop == STG_STOP_ZEROS,
		   "flush wrote them all, zeros after");
		free(f);
	}
	is_int(stg_journal_sync(j), 0, "sync");
	is_int(stg_journal_sync(j), 0, "sync with nothing new");
	stg_journal_close(j);

	rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), collect, s, &j);
	is_int(rc, 0, "reopened");
	ok(is_generated(s, 50), "the 50 records replayed in order, intact");
	ok(stg_journal_recovered(j, NULL) == NULL, "no recovery message");
	is_int(stg_journal_records(j), 50, "record count after reopen");
	is_int(stg_journal_last_seq(j), 50, "last sequence number");
	rc = stg_journal_append(j, 3, "x", 1, &seq);
	ok(rc == 0 && seq == 51, "appending goes on at 51");
	is_int(stg_journal_append(j, 0, "x", 1, NULL), -EINVAL,
	       "type 0 refused");
	is_int(stg_journal_append(j, 1, "x", STG_JOURNAL_PAYLOAD_MAX + 1, NULL),
	       -EMSGSIZE, "payload over 16 MiB refused");
	is_int(stg_journal_last_seq(j), 51, "refused appends use no number");
	stg_journal_close(j); /* flushes record 51 */
	memset(s, 0, sizeof(*s));
	rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), collect, s, &j);
	ok(rc == 0 && s->n == 51 && s->seq[50] == 51 && s->len[50] == 1,
	   "close flushed the last record");
	stg_journal_close(j);

	is_int(stg_journal_peek_header(path, hbuf, sizeof(hbuf), &hlen), 0,
	       "peek header");
	ok(hlen == sizeof(HDR_A) && memcmp(hbuf, HDR_A, hlen) == 0,
	   "peeked header is the caller's");
	is_int(stg_journal_peek_header(path, hbuf, 4, &hlen), -ERANGE,
	       "peek into a short buffer");
	is_int(hlen, sizeof(HDR_A), "but tells the length");

	size = file_size(path);
	rc = stg_journal_open(path, HDR_B, sizeof(HDR_B), collect, s, &j);
	is_int(rc, -ESTALE, "another base session: -ESTALE");
	ok(strstr(cds_errmsg(rc), "another base session") != NULL,
	   "message: %s", cds_errmsg(rc));
	is_int(file_size(path), size, "the journal is left alone");
	rc = stg_journal_open(path, HDR_A, 5, collect, s, &j);
	is_int(rc, -ESTALE, "a header prefix is another header too");

	memset(s, 0, sizeof(*s));
	s->fail_at = 10;
	rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), collect, s, &j);
	is_int(rc, -EIO, "replay error aborts open with that error");
	is_int(file_size(path), size, "the journal is left alone");

	/* a stale PATH.tmp (interrupted compaction) goes */
	write_file(tmp, (const uint8_t *)"junk", 4);
	memset(s, 0, sizeof(*s));
	rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), collect, s, &j);
	ok(rc == 0 && s->n == 51, "open with a stale .tmp");
	ok(access(tmp, F_OK) < 0, "stale .tmp removed");
	stg_journal_close(j);
	free(s);
}

static void test_bad_headers(void)
{
	char path[256];
	uint8_t buf[256];
	struct stg_journal *j = NULL;
	size_t n, hlen;
	int rc;

	path_in_tmp(path, sizeof(path), "hdr");
	write_file(path, (const uint8_t *)"#!/bin/sh\necho hello\n", 21);
	rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), NULL, NULL, &j);
	is_int(rc, -EUCLEAN, "a shell script is no journal");
	ok(strstr(cds_errmsg(rc), "not a cdsession journal") != NULL,
	   "message: %s", cds_errmsg(rc));

	n = stg_journal_encode_header(buf, HDR_A, sizeof(HDR_A));
	cds_put_le32(buf + 8, 2);
	cds_put_le32(buf + n - 4, stg_crc32c(0, buf, n - 4));
	write_file(path, buf, n);
	rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), NULL, NULL, &j);
	is_int(rc, -EPROTONOSUPPORT, "format version 2 refused");
	ok(strstr(cds_errmsg(rc), "version 2") != NULL, "message: %s",
	   cds_errmsg(rc));

	n = stg_journal_encode_header(buf, HDR_A, sizeof(HDR_A));
	cds_put_le32(buf + 12, STG_JOURNAL_HDR_MAX + 1);
	write_file(path, buf, n);
	is_int(stg_journal_open(path, HDR_A, sizeof(HDR_A), NULL, NULL, &j),
	       -EUCLEAN, "header length over 4096 refused");
	is_int(stg_journal_peek_header(path, buf, sizeof(buf), &hlen), -EUCLEAN,
	       "and peek refuses it too");

	/* every single bit flip of the header is caught */
	n = stg_journal_encode_header(buf, HDR_A, sizeof(HDR_A));
	int caught = 0;
	for (size_t bit = 0; bit < n * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << bit % 8);
		write_file(path, buf, n);
		rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), NULL, NULL,
				      &j);
		if (rc == -EUCLEAN || rc == -EPROTONOSUPPORT)
			caught++;
		else
			stg_journal_close(j);
		buf[bit / 8] ^= (uint8_t)(1u << bit % 8);
	}
	is_int(caught, n * 8, "each of the %zu header bit flips refused",
	       n * 8);
	is_int(stg_journal_open(path, HDR_A, sizeof(HDR_A), NULL, NULL, &j),
	       -EUCLEAN, "a damaged header is never overwritten");
	is_int(stg_journal_open("/nonexistent-dir/j", "", 0, NULL, NULL, &j),
	       -ENOENT, "missing directory: -ENOENT");
	ok(strstr(cds_errmsg(-ENOENT), "/nonexistent-dir/j") != NULL,
	   "message names the path: %s", cds_errmsg(-ENOENT));
}

/* Cut a 50-record journal at every length and reopen it. */
static void test_truncation(void)
{
	enum { N = 50 };
	char ref[256], path[256];
	uint64_t ends[N + 1];
	struct stg_journal *j = NULL;
	struct seen *s = calloc(1, sizeof(*s));
	uint8_t *whole;
	size_t size, hsize = STG_JOURNAL_FILE_HDR_SIZE + sizeof(HDR_A);
	int bad_hdr = 0, bad_rec = 0, bad_trunc = 0, bad_msg = 0, msgs = 0;
	long first_bad = -1;
	struct timespec t0, t1;

	path_in_tmp(ref, sizeof(ref), "trunc-ref");
	path_in_tmp(path, sizeof(path), "trunc");
	stg_journal_open(ref, HDR_A, sizeof(HDR_A), NULL, NULL, &j);
	ends[0] = hsize;
	append_gen(j, 1, N, ends);
	stg_journal_close(j);
	whole = read_whole(ref, &size);
	ok(size >= ends[N], "reference journal of %d records, %llu bytes", N,
	   (unsigned long long)ends[N]);
	size = ends[N]; /* without the preallocated zeros */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t cut = 0; cut <= size; cut++) {
		uint64_t k = 0, dropped;
		const char *msg;
		char off[64];
		int rc;

		write_file(path, whole, cut);
		memset(s, 0, sizeof(*s));
		j = NULL;
		rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), collect, s,
				      &j);
		if (cut > 0 && cut < hsize) {
			/* an incomplete header: refused, file untouched */
			if (rc != -EUCLEAN ||
			    !strstr(cds_errmsg(rc), "cut short") ||
			    file_size(path) != (long)cut) {
				bad_hdr++;
				first_bad =
				    first_bad < 0 ? (long)cut : first_bad;
			}
			if (rc == 0)
				stg_journal_close(j);
			continue;
		}
		while (k < N && ends[k + 1] <= cut)
			k++;
		if (rc != 0 || !is_generated(s, k)) {
			bad_rec++;
			first_bad = first_bad < 0 ? (long)cut : first_bad;
			if (rc == 0)
				stg_journal_close(j);
			continue;
		}
		/* The bytes after the last whole record: nothing, or zeros
		 * (preallocated space), or a piece of a record up to @nz. */
		size_t nz = cut;
		while (nz > ends[k] && whole[nz - 1] == 0)
			nz--;
		/* cut 0 is an empty file: a fresh journal */
		if (file_size(path) != (long)(cut == 0	      ? hsize
					      : nz == ends[k] ? cut
							      : ends[k]) ||
		    stg_journal_last_seq(j) != k) {
			bad_trunc++;
			first_bad = first_bad < 0 ? (long)cut : first_bad;
		}
		msg = stg_journal_recovered(j, &dropped);
		snprintf(off, sizeof(off), "offset %llu ",
			 (unsigned long long)ends[k]);
		if (cut == 0 || nz == ends[k]) {
			if (msg)
				bad_msg++;
		} else if (!msg || dropped != nz - ends[k] ||
			   !strstr(msg, off) || !strstr(msg, "1 record(s)")) {
			bad_msg++;
			first_bad = first_bad < 0 ? (long)cut : first_bad;
		} else if (++msgs == 1) {
			printf("# e.g. %s\n", msg);
		}
		stg_journal_close(j);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	is_int(bad_hdr, 0, "cuts inside the header: -EUCLEAN, file untouched");
	is_int(bad_rec, 0, "other cuts: exactly the whole records replayed");
	is_int(bad_trunc, 0, "and the file cut back to them");
	is_int(bad_msg, 0,
	       "a message exactly when non-zero bytes were dropped");
	if (first_bad >= 0)
		printf("# first bad cut at %ld\n", first_bad);
	ok(msgs > (int)(size - hsize) * 9 / 10,
	   "%d cuts inside records reported", msgs);
	printf("# %zu reopens in %.2f s\n", size + 1,
	       (double)(t1.tv_sec - t0.tv_sec) +
		   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(whole);
	free(s);
}

/* Flip one bit in each record: replay stops right before it. */
static void test_bit_flips(void)
{
	enum { N = 50 };
	char ref[256], path[256];
	uint64_t ends[N + 1];
	struct stg_journal *j = NULL;
	struct seen *s = calloc(1, sizeof(*s));
	uint8_t *whole;
	size_t size, hsize = STG_JOURNAL_FILE_HDR_SIZE + sizeof(HDR_A);
	int bad = 0, tried = 0;

	path_in_tmp(ref, sizeof(ref), "flip-ref");
	path_in_tmp(path, sizeof(path), "flip");
	stg_journal_open(ref, HDR_A, sizeof(HDR_A), NULL, NULL, &j);
	ends[0] = hsize;
	append_gen(j, 1, N, ends);
	stg_journal_close(j);
	whole = read_whole(ref, &size);
	size = ends[N];
	for (int i = 0; i < N; i++) {
		size_t rec_len = ends[i + 1] - ends[i];
		/* three places per record: head, middle, checksum */
		size_t where[3] = {(size_t)i % 13, rec_len / 2, rec_len - 1};

		for (int w = 0; w < 3; w++) {
			size_t at = ends[i] + where[w];
			uint8_t bit = (uint8_t)(1u << (i + w) % 8);
			char want[64];
			const char *msg;
			int rc;

			whole[at] ^= bit;
			write_file(path, whole, size);
			whole[at] ^= bit;
			memset(s, 0, sizeof(*s));
			rc = stg_journal_open(path, HDR_A, sizeof(HDR_A),
					      collect, s, &j);
			tried++;
			if (rc != 0) {
				bad++;
				printf("# record %d byte %zu: open %d\n", i,
				       where[w], rc);
				continue;
			}
			msg = stg_journal_recovered(j, NULL);
			snprintf(want, sizeof(want), "offset %llu ",
				 (unsigned long long)ends[i]);
			if (!is_generated(s, (uint64_t)i) || !msg ||
			    !strstr(msg, want) ||
			    file_size(path) != (long)ends[i]) {
				bad++;
				printf("# record %d byte %zu: %llu replayed, "
				       "%s\n",
				       i, where[w], (unsigned long long)s->n,
				       msg ? msg : "no message");
			}
			if (i == 20 && w == 1)
				printf("# e.g. %s\n", msg ? msg : "");
			/* a payload flip leaves the rest parseable */
			if (i == 20 && w == 1)
				ok(msg && strstr(msg, "(bad checksum): 30 "
						      "record(s)"),
				   "mid-file damage counts the records lost");
			/* and the cut bytes are kept, byte for byte */
			if (i == 20 && w == 1) {
				const char *k =
				    msg ? strstr(msg, "kept in ") : NULL;
				char kp[512] = "";
				size_t klen = 0;
				uint8_t *kb = NULL;

				if (k)
					sscanf(k + 8, "%511[^)]", kp);
				if (kp[0])
					kb = read_whole(kp, &klen);
				whole[at] ^= bit;
				ok(kb && klen == size - ends[i] &&
				       memcmp(kb, whole + ends[i], klen) == 0,
				   "the damaged tail is kept in %s", kp);
				whole[at] ^= bit;
				free(kb);
			}
			stg_journal_close(j);
		}
	}
	is_int(bad, 0, "%d bit flips: replay stops before the damaged record",
	       tried);
	free(whole);
	free(s);
}

/* Compaction: a key-value state where record = (key, value). */
struct kv {
	uint32_t val[10];
	uint64_t last_seq;
	int fail_after; /* emit fails after this many records, or -1 */
	int wrong;	/* emit appends to the live journal */
	struct stg_journal *live;
};

static int kv_replay(void *ctx, uint8_t type, uint64_t seq, const void *p,
		     size_t len)
{
	struct kv *kv = ctx;
	const uint8_t *b = p;

	if (type != 1 || len != 5 || b[0] >= 10 || seq <= kv->last_seq)
		return -EBADMSG;
	kv->val[b[0]] = cds_get_le32(b + 1);
	kv->last_seq = seq;
	return 0;
}

static int kv_set(struct stg_journal *j, struct kv *kv, uint8_t key, uint32_t v)
{
	uint8_t b[5];

	b[0] = key;
	cds_put_le32(b + 1, v);
	kv->val[key] = v;
	return stg_journal_append(j, 1, b, sizeof(b), NULL);
}

static int kv_emit(void *ctx, struct stg_journal *tmp)
{
	struct kv *kv = ctx;

	for (uint8_t k = 0; k < 10; k++) {
		uint8_t b[5];
		int rc;

		if (kv->fail_after == k)
			return -EIO;
		b[0] = k;
		cds_put_le32(b + 1, kv->val[k]);
		rc = stg_journal_append(kv->wrong ? kv->live : tmp, 1, b,
					sizeof(b), NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void test_compaction(void)
{
	char path[256], tmp[300];
	struct stg_journal *j = NULL;
	struct kv kv, back;
	long before;
	int rc;

	path_in_tmp(path, sizeof(path), "compact");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	memset(&kv, 0, sizeof(kv));
	kv.fail_after = -1;
	stg_journal_open(path, HDR_A, sizeof(HDR_A), NULL, NULL, &j);
	for (uint32_t i = 0; i < 100; i++)
		kv_set(j, &kv, (uint8_t)(i * 7 % 10), i * 1000 + 1);
	/* 90 appended and written, 10 still buffered when compaction starts */
	stg_journal_sync(j);
	for (uint32_t i = 0; i < 10; i++)
		kv_set(j, &kv, (uint8_t)i, 77 + i);
	before = (long)stg_journal_bytes(j);

	kv.fail_after = 3;
	rc = stg_journal_compact(j, kv_emit, &kv);
	is_int(rc, -EIO, "emit failure fails the compaction");
	ok(access(tmp, F_OK) < 0, "and leaves no .tmp");
	is_int(stg_journal_records(j), 110, "the old journal goes on");
	kv.fail_after = -1;
	kv.wrong = 1;
	kv.live = j;
	rc = stg_journal_compact(j, kv_emit, &kv);
	is_int(rc, -EBUSY, "appending to the old journal while compacting");
	kv.wrong = 0;

	rc = stg_journal_compact(j, kv_emit, &kv);
	is_int(rc, 0, "compaction");
	is_int(stg_journal_records(j), 10, "10 live records left");
	is_int(stg_journal_last_seq(j), 120, "sequence numbers went on");
	ok((long)stg_journal_bytes(j) < before, "smaller: %ld < %ld bytes",
	   (long)stg_journal_bytes(j), before);
	ok(access(tmp, F_OK) < 0, "no .tmp left");
	kv_set(j, &kv, 4, 4444);
	kv_set(j, &kv, 9, 9999);
	is_int(stg_journal_last_seq(j), 122, "appends after compaction");
	stg_journal_close(j);

	memset(&back, 0, sizeof(back));
	rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), kv_replay, &back, &j);
	is_int(rc, 0, "reopened the compacted journal");
	is_mem(back.val, kv.val, sizeof(kv.val), "state survived");
	is_int(back.last_seq, 122, "replayed up to seq 122");
	ok(j && stg_journal_recovered(j, NULL) == NULL, "nothing dropped");
	stg_journal_close(j);
}

/* In a child limited to a small file size: writes fail with EFBIG. */
static void child_sticky(int wfd, void *arg)
{
	const char *path = arg;
	struct stg_journal *j;
	struct rlimit rl = {300, 300};
	char out[800];
	int rc1, rc2, rc3;

	signal(SIGXFSZ, SIG_IGN);
	if (stg_journal_open(path, HDR_A, sizeof(HDR_A), NULL, NULL, &j) < 0)
		_exit(3);
	setrlimit(RLIMIT_FSIZE, &rl);
	append_gen(j, 1, 20, NULL);
	rc1 = stg_journal_sync(j);
	rc2 = stg_journal_append(j, 1, "x", 1, NULL);
	rc3 = stg_journal_sync(j);
	snprintf(out, sizeof(out), "%d %d %d %s", rc1, rc2, rc3,
		 cds_errmsg(rc3));
	if (write(wfd, out, strlen(out)) < 0)
		_exit(4);
	stg_journal_close(j);
}

static int in_child(uid_t uid, void (*fn)(int wfd, void *arg), void *arg,
		    char *out, size_t cap);

static void test_sticky(void)
{
	char path[256], out[800], want[64];
	struct stg_journal *j = NULL;
	struct seen *s = calloc(1, sizeof(*s));
	int rc;

	path_in_tmp(path, sizeof(path), "sticky");
	in_child((uid_t)-1, child_sticky, path, out, sizeof(out));
	snprintf(want, sizeof(want), "%d %d %d ", -EFBIG, -EFBIG, -EFBIG);
	ok(strncmp(out, want, strlen(want)) == 0,
	   "a failed write fails every later append and sync: %s", out);
	ok(strstr(out, "earlier write failed") != NULL, "and says why");
	rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), collect, s, &j);
	ok(rc == 0 && s->n == 0 && j && !stg_journal_recovered(j, NULL),
	   "the partial write was cut back: clean reopen, %llu records",
	   (unsigned long long)s->n);
	stg_journal_close(j);
	free(s);
}

/* The writer in a kill -9 trial.  Never returns. */
static void crash_child(const char *path, int k, int wfd)
{
	struct stg_journal *j;
	uint8_t p[MAXPAY];

	if (stg_journal_open(path, HDR_A, sizeof(HDR_A), NULL, NULL, &j) < 0)
		_exit(3);
	for (uint64_t s = 1; s < 200000; s++) {
		size_t n = payload_for(s, p);
		uint64_t rep[2];

		if (stg_journal_append(j, type_for(s), p, n, NULL) < 0)
			_exit(4);
		if (s % (uint64_t)k)
			continue;
		if (stg_journal_sync(j) < 0)
			_exit(5);
		rep[0] = s;
		rep[1] = stg_journal_bytes(j);
		if (write(wfd, rep, sizeof(rep)) != sizeof(rep))
			_exit(6);
	}
	_exit(0);
}

static void test_crash(void)
{
	int trials = getenv("CDS_SLOW") ? 200 : 20;
	unsigned seed = (unsigned)time(NULL);
	char path[256], copy[256];
	struct seen *s = calloc(1, sizeof(*s));
	int bad_kill = 0, bad_loss = 0, killed = 0;
	uint64_t max_synced = 0;

	printf("# crash trials: %d, seed %u\n", trials, seed);
	srand(seed);
	path_in_tmp(path, sizeof(path), "crash");
	path_in_tmp(copy, sizeof(copy), "crash-powerloss");
	for (int t = 0; t < trials; t++) {
		int fds[2], status;
		uint64_t rep[2], synced = 0, synced_bytes = 0;
		struct timespec delay = {0, (rand() % 40 + 1) * 1000000L};
		struct stg_journal *j = NULL;
		uint8_t *whole;
		size_t size;
		pid_t pid;
		int rc;

		unlink(path);
		if (pipe(fds) < 0)
			break;
		pid = fork();
		if (pid == 0) {
			close(fds[0]);
			crash_child(path, 1 + t % 7, fds[1]);
		}
		close(fds[1]);
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status))
			killed++;
		while (read(fds[0], rep, sizeof(rep)) == sizeof(rep)) {
			synced = rep[0];
			synced_bytes = rep[1];
		}
		close(fds[0]);
		if (synced > max_synced)
			max_synced = synced;

		/*
		 * The power loss variant: what was not synced may be lost
		 * in 512-byte pieces (zeros: the preallocated space shows
		 * through), garbled, or kept; the file may end anywhere
		 * after the synced part.
		 */
		whole = read_whole(path, &size);
		/* the header is durable once the file exists (renamed in) */
		if (synced_bytes < STG_JOURNAL_FILE_HDR_SIZE + sizeof(HDR_A))
			synced_bytes =
			    size ? STG_JOURNAL_FILE_HDR_SIZE + sizeof(HDR_A)
				 : 0;
		if (size > synced_bytes + (1 << 16))
			size = synced_bytes + (1 << 16);
		for (size_t i = synced_bytes; i < size; i += 512) {
			size_t end = i + 512 < size ? i + 512 : size;
			int what = rand() % 4;
			for (size_t b = i; b < end && what; b++)
				whole[b] = what == 1 ? (uint8_t)rand() : 0;
		}
		if (size > synced_bytes)
			size = synced_bytes +
			       (size_t)rand() % (size - synced_bytes + 1);
		write_file(copy, whole, size);
		free(whole);

		memset(s, 0, sizeof(*s));
		rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), check_gen, s,
				      &j);
		if (rc != 0 || s->bad_payload || s->n < synced) {
			bad_kill++;
			printf("# trial %d: open %d, %llu replayed, %llu "
			       "synced, %llu bad\n",
			       t, rc, (unsigned long long)s->n,
			       (unsigned long long)synced,
			       (unsigned long long)s->bad_payload);
		}
		stg_journal_close(j);
		memset(s, 0, sizeof(*s));
		j = NULL;
		rc = stg_journal_open(copy, HDR_A, sizeof(HDR_A), check_gen, s,
				      &j);
		if (rc != 0 || s->bad_payload || s->n < synced) {
			bad_loss++;
			printf("# power loss trial %d: open %d, %llu replayed, "
			       "%llu synced\n",
			       t, rc, (unsigned long long)s->n,
			       (unsigned long long)synced);
		}
		stg_journal_close(j);
	}
	is_int(bad_kill, 0,
	       "kill -9 at a random moment (%d of %d killed): every synced "
	       "record back, the rest a gapless prefix",
	       killed, trials);
	is_int(bad_loss, 0,
	       "simulated power loss (unsynced tail cut and scrambled): the "
	       "same");
	printf("# most records synced before a kill: %llu\n",
	       (unsigned long long)max_synced);
	free(s);
}

/* The writer in a kill -9 trial of compaction: op i sets key i % 10 to i. */
static void compact_child(const char *path, int wfd)
{
	struct stg_journal *j;
	struct kv kv;

	memset(&kv, 0, sizeof(kv));
	kv.fail_after = -1;
	if (stg_journal_open(path, HDR_A, sizeof(HDR_A), kv_replay, &kv, &j) <
	    0)
		_exit(3);
	for (uint32_t i = 1; i < 1000000; i++) {
		if (kv_set(j, &kv, (uint8_t)(i % 10), i) < 0)
			_exit(4);
		if (i % 3)
			continue;
		if ((i % 48 == 0 ? stg_journal_compact(j, kv_emit, &kv)
				 : stg_journal_sync(j)) < 0)
			_exit(5);
		if (write(wfd, &i, sizeof(i)) != sizeof(i))
			_exit(6);
	}
	_exit(0);
}

/* kill -9 while compacting now and then: the state is whole, never mixed. */
static void test_compaction_crash(void)
{
	int trials = getenv("CDS_SLOW") ? 200 : 20;
	char path[256], tmp[300];
	int bad = 0, compacted = 0;

	path_in_tmp(path, sizeof(path), "compact-crash");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	for (int t = 0; t < trials; t++) {
		struct timespec delay = {0, (rand() % 40 + 1) * 1000000L};
		struct stg_journal *j = NULL;
		uint32_t rep, synced = 0, m = 0;
		struct kv kv;
		int fds[2], rc, whole = 1;
		pid_t pid;

		unlink(path);
		if (pipe(fds) < 0)
			break;
		pid = fork();
		if (pid == 0) {
			close(fds[0]);
			compact_child(path, fds[1]);
		}
		close(fds[1]);
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		while (read(fds[0], &rep, sizeof(rep)) == sizeof(rep))
			synced = rep;
		close(fds[0]);
		memset(&kv, 0, sizeof(kv));
		rc = stg_journal_open(path, HDR_A, sizeof(HDR_A), kv_replay,
				      &kv, &j);
		/* the newest op present tells which state this must be */
		for (int k = 0; k < 10; k++)
			if (kv.val[k] > m)
				m = kv.val[k];
		for (uint32_t k = 0; k < 10; k++) {
			uint32_t want = m >= k ? m - (m - k) % 10 : 0;
			if (kv.val[k] != want)
				whole = 0;
		}
		if (rc != 0 || m < synced || !whole) {
			bad++;
			printf("# trial %d: open %d, state after op %u (%s), "
			       "%u synced\n",
			       t, rc, m, whole ? "whole" : "mixed", synced);
		}
		if (j && stg_journal_records(j) < m && m > 0)
			compacted++;
		stg_journal_close(j);
	}
	is_int(bad, 0,
	       "kill -9 with compactions (%d trials, %d found compacted): "
	       "every synced change back, no mixed state",
	       trials, compacted);
	ok(access(tmp, F_OK) < 0, "no .tmp left behind after reopen");
}

/* Run @fn in a child (optionally as another uid); it reports a string. */
static int in_child(uid_t uid, void (*fn)(int wfd, void *arg), void *arg,
		    char *out, size_t cap)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (uid != (uid_t)-1 && setresuid(uid, uid, uid) < 0)
			_exit(2);
		fn(fds[1], arg);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void child_open_store(int wfd, void *arg)
{
	struct stg_store *st;
	char msg[600];
	int rc = stg_store_open(arg, &st);

	snprintf(msg, sizeof(msg), "%d %s", rc, rc ? cds_errmsg(rc) : "");
	if (write(wfd, msg, strlen(msg)) < 0)
		_exit(3);
	stg_store_close(st);
}

struct dd_case {
	const char *xdg, *home;
};

static void child_default_dir(int wfd, void *arg)
{
	const struct dd_case *c = arg;
	char buf[512];
	int rc;

	if (c->xdg)
		setenv("XDG_DATA_HOME", c->xdg, 1);
	else
		unsetenv("XDG_DATA_HOME");
	setenv("HOME", c->home, 1);
	rc = stg_store_default_dir("disc-1", buf, sizeof(buf));
	if (rc < 0)
		snprintf(buf, sizeof(buf), "error %d", rc);
	if (write(wfd, buf, strlen(buf)) < 0)
		_exit(3);
}

static void test_store(void)
{
	char dir[256], parent[256], lockf[300], out[700], want[64], buf[300];
	struct stg_store *st = NULL;
	struct stat sb;
	int rc;

	path_in_tmp(parent, sizeof(parent), "stores/a");
	path_in_tmp(dir, sizeof(dir), "stores/a/disc-1");
	rc = stg_store_open(dir, &st);
	is_int(rc, 0, "store created with its parents");
	memset(&sb, 0, sizeof(sb));
	stat(dir, &sb);
	is_int(sb.st_mode & 07777, 0700, "store directory mode 0700");
	memset(&sb, 0, sizeof(sb));
	stat(parent, &sb);
	is_int(sb.st_mode & 07777, 0700, "created parent mode 0700");
	snprintf(lockf, sizeof(lockf), "%s/lock", dir);
	{
		size_t n;
		uint8_t *pid = read_whole(lockf, &n);
		snprintf(want, sizeof(want), "%ld\n", (long)getpid());
		ok(n == strlen(want) && memcmp(pid, want, n) == 0,
		   "lock file holds our pid");
		free(pid);
	}
	ok(st && stg_store_dirfd(st) >= 0 &&
	       strcmp(stg_store_dir(st), dir) == 0,
	   "accessors");

	in_child((uid_t)-1, child_open_store, dir, out, sizeof(out));
	snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());
	ok(strncmp(out, "-16 ", 4) == 0 && strstr(out, "in use") &&
	       strstr(out, want),
	   "second open elsewhere: -EBUSY naming us: %s", out);
	stg_store_close(st);
	in_child((uid_t)-1, child_open_store, dir, out, sizeof(out));
	is_str(out, "0 ", "after close the other process gets it");
	rc = stg_store_open(dir, &st);
	is_int(rc, 0, "and the lock died with it");
	stg_store_close(st);

	chmod(dir, 0770);
	rc = stg_store_open(dir, &st);
	is_int(rc, -EPERM, "group-writable store refused");
	ok(strstr(cds_errmsg(rc), "writable") != NULL, "message: %s",
	   cds_errmsg(rc));
	chmod(dir, 0700);
	if (geteuid() == 0) {
		if (chown(dir, 65534, 65534) == 0) {
			rc = stg_store_open(dir, &st);
			is_int(rc, -EPERM, "store of another user refused");
			ok(strstr(cds_errmsg(rc), "owned by uid 65534"),
			   "message: %s", cds_errmsg(rc));
			if (chown(dir, 0, 0) < 0)
				printf("# chown back failed\n");
		}
	}
	snprintf(buf, sizeof(buf), "%s/file", parent);
	write_file(buf, (const uint8_t *)"x", 1);
	rc = stg_store_open(buf, &st);
	ok(rc < 0 && strstr(cds_errmsg(rc), buf), "a file is no store: %s",
	   cds_errmsg(rc));

	/* disc ids */
	const char *badids[] = {
	    "",
	    ".",
	    "..",
	    "a/b",
	    "a b",
	    "ä",
	    "../x",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaa"};
	int refused = 0;
	for (size_t i = 0; i < sizeof(badids) / sizeof(badids[0]); i++)
		refused += stg_store_default_dir(badids[i], buf, sizeof(buf)) ==
			   -EINVAL;
	is_int(refused, sizeof(badids) / sizeof(badids[0]),
	       "bad disc ids refused");
	is_int(stg_store_check_id("Disc_1.2-x"), 0, "a good id");
	is_int(stg_store_check_id("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				  "aaaaaaaaaaaaaaaaaaaaa"),
	       0, "64 characters fit");
	ok(strstr(cds_errmsg(stg_store_check_id("a/b")), "a/b") != NULL,
	   "message names the id");
	is_int(stg_store_default_dir("disc-1", buf, 10), -ENAMETOOLONG,
	       "short buffer");
	if (geteuid() == 0) {
		rc = stg_store_default_dir("disc-1", buf, sizeof(buf));
		ok(rc == 0 && strcmp(buf, "/var/lib/cdsession/disc-1") == 0,
		   "root: /var/lib/cdsession/ID (%s)", buf);
		struct dd_case c1 = {"/x/data", "/home/u"};
		struct dd_case c2 = {"relative", "/home/u"};
		struct dd_case c3 = {NULL, "/home/u"};
		in_child(65534, child_default_dir, &c1, out, sizeof(out));
		is_str(out, "/x/data/cdsession/disc-1", "user: XDG_DATA_HOME");
		in_child(65534, child_default_dir, &c2, out, sizeof(out));
		is_str(out, "/home/u/.local/share/cdsession/disc-1",
		       "user: relative XDG_DATA_HOME ignored");
		in_child(65534, child_default_dir, &c3, out, sizeof(out));
		is_str(out, "/home/u/.local/share/cdsession/disc-1",
		       "user: HOME");
	} else {
		struct dd_case c1 = {"/x/data", "/home/u"};
		struct dd_case c3 = {NULL, "/home/u"};
		in_child((uid_t)-1, child_default_dir, &c1, out, sizeof(out));
		is_str(out, "/x/data/cdsession/disc-1", "user: XDG_DATA_HOME");
		in_child((uid_t)-1, child_default_dir, &c3, out, sizeof(out));
		is_str(out, "/home/u/.local/share/cdsession/disc-1",
		       "user: HOME");
		printf("# not root: the /var/lib branch is not tested\n");
	}
}

int main(void)
{
	test_basic();
	test_bad_headers();
	test_truncation();
	test_bit_flips();
	test_compaction();
	test_sticky();
	test_crash();
	test_compaction_crash();
	test_store();
	return tap_done();
}
