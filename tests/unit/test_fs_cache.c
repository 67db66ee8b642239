/* test_fs_cache.c - fs/cache: the sector cache and its read-ahead. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/sector.h"
#include "fs/cache.h"
#include "tap.h"

#define SS	 CDS_SECTOR_SIZE
#define BS	 FS_CACHE_BLOCK_SECTORS
#define NO_FAULT UINT32_MAX

/*
 * A source whose data is a function of the LBA, counting what is asked
 * of it.  It can fail requests that include an LBA, sleep in each
 * request, hold requests at an LBA until released, and notices two
 * requests in flight at once that overlap.
 */
struct fake {
	struct cds_source base;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t requests, sectors;
	uint32_t largest;
	uint32_t fault;		  /* requests including it fail with -EIO */
	uint32_t fault_len;	  /* and the sectors after it, to this many */
	unsigned failed;	  /* requests failed so */
	unsigned sleep_us;	  /* per request */
	unsigned sleep_sector_us; /* per 16 sectors (32 KiB) */
	uint32_t gate; /* requests including it wait for !gate_closed */
	bool gate_closed;
	unsigned gated; /* requests waiting at the gate */
	/* in-flight requests, for overlaps and concurrency */
	uint32_t fl_lba[16], fl_n[16];
	unsigned inflight, max_inflight, overlaps;
};

static uint32_t mix(uint32_t lba, uint32_t word)
{
	uint32_t x = lba * 0x9E3779B1u + word * 0x85EBCA6Bu + 0x1234567u;

	x ^= x >> 15;
	x *= 0x2C1B3C6Du;
	x ^= x >> 12;
	return x;
}

static void fill(uint32_t lba, uint32_t count, uint8_t *buf)
{
	uint32_t s, w;

	for (s = 0; s < count; s++)
		for (w = 0; w < SS / 4; w++) {
			uint32_t x = mix(lba + s, w);

			memcpy(buf + (size_t)s * SS + w * 4, &x, 4);
		}
}

static bool includes(uint32_t lba, uint32_t count, uint32_t x)
{
	return x >= lba && x - lba < count;
}

static int fake_read(struct cds_source *src, uint32_t lba, uint32_t count,
		     void *buf)
{
	struct fake *f = (struct fake *)src;
	unsigned slot, i;
	int rc = 0;

	if (lba > src->nsectors || count > src->nsectors - lba)
		return cds_error(-EINVAL, "fake: %u+%u outside", lba, count);
	pthread_mutex_lock(&f->lock);
	f->requests++;
	f->sectors += count;
	if (count > f->largest)
		f->largest = count;
	for (slot = 0; slot < 16 && f->fl_n[slot]; slot++)
		;
	for (i = 0; i < 16; i++)
		if (f->fl_n[i] && lba < f->fl_lba[i] + f->fl_n[i] &&
		    f->fl_lba[i] < lba + count)
			f->overlaps++;
	if (slot < 16) {
		f->fl_lba[slot] = lba;
		f->fl_n[slot] = count;
	}
	if (++f->inflight > f->max_inflight)
		f->max_inflight = f->inflight;
	if (includes(lba, count, f->fault) ||
	    (f->fault != NO_FAULT && includes(f->fault, f->fault_len, lba))) {
		rc = cds_error(-EIO, "fake: injected fault at %u", f->fault);
		f->failed++;
	}
	if (includes(lba, count, f->gate)) {
		f->gated++;
		pthread_cond_broadcast(&f->cond);
		while (f->gate_closed)
			pthread_cond_wait(&f->cond, &f->lock);
		f->gated--;
	}
	pthread_mutex_unlock(&f->lock);
	if (f->sleep_us || f->sleep_sector_us)
		usleep(f->sleep_us + f->sleep_sector_us * (count / 16));
	if (rc == 0)
		fill(lba, count, buf);
	pthread_mutex_lock(&f->lock);
	if (slot < 16)
		f->fl_n[slot] = 0;
	f->inflight--;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static void fake_close(struct cds_source *src)
{
	(void)src;
}

static const struct cds_source_ops fake_ops = {fake_read, fake_close};

static void fake_init(struct fake *f, uint32_t nsectors)
{
	memset(f, 0, sizeof(*f));
	f->base.ops = &fake_ops;
	f->base.nsectors = nsectors;
	f->fault = NO_FAULT;
	f->fault_len = 1;
	f->gate = NO_FAULT;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
}

/* The worker may be reading: change the fault under the fake's lock. */
static void fake_set_fault(struct fake *f, uint32_t lba)
{
	pthread_mutex_lock(&f->lock);
	f->fault = lba;
	pthread_mutex_unlock(&f->lock);
}

static void fake_fini(struct fake *f)
{
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
}

/* Read through @c and compare with the fake's data; 0 or a message. */
static const char *check_read(struct cds_source *c, uint32_t lba,
			      uint32_t count, uint8_t *got, uint8_t *want)
{
	int rc;

	memset(got, 0xA5, (size_t)count * SS);
	rc = cds_source_read(c, lba, count, got);
	if (rc < 0)
		return cds_errmsg(rc);
	fill(lba, count, want);
	if (memcmp(got, want, (size_t)count * SS))
		return "data differs";
	return NULL;
}

static void diag_read_failure(uint32_t lba, uint32_t len, const char *err)
{
	printf("# first bad read: %u+%u: %s\n", lba, len, err);
}

static uint32_t rnd(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*state >> 33);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_fs_cache__basics(void)
{
	struct fake f;
	struct cds_source *c = NULL;
	struct fs_cache_stats st;
	uint8_t got[4 * SS], want[4 * SS];
	const char *err;
	int rc;

	fake_init(&f, 100); /* 3 blocks and a short one */
	is_int(fs_cache_new(&f.base, 0, 0, &c), 0, "cache opens");
	is_int(c->nsectors, 100, "as many sectors as below");
	fs_cache_stats(c, &st);
	is_int(st.max_blocks, 4, "no more blocks than the source holds");
	err = check_read(c, 97, 3, got, want);
	ok(!err, "last sectors of a short last block: %s", err ? err : "ok");
	rc = cds_source_read(c, 98, 3, got);
	is_int(rc, -EINVAL, "read past the end refused");
	ok(strstr(cds_errmsg(rc), "outside") != NULL, "with a message");
	is_int(cds_source_read(c, 0xFFFFFFFFu, 2, got), -EINVAL,
	       "huge LBA does not wrap");
	is_int(cds_source_read(c, 100, 0, got), 0, "empty read at the end");
	is_int(cds_source_read(c, 101, 0, got), -EINVAL,
	       "empty read past the end");
	fs_cache_stats(c, &st);
	is_int(st.reads_below, 1, "refused reads reach nothing below");
	fs_cache_stats(&f.base, &st);
	is_int(st.max_blocks, 0, "stats of a source that is no cache: zeros");
	cds_source_close(c);
	is_int(fs_cache_new(NULL, 0, 0, &c), -EINVAL, "no source below");
	fake_fini(&f);
}

/*
 * Thousands of random reads of random lengths, across block boundaries
 * and the short last block, against a small cache: every byte must be
 * what the source holds, and the cache must stay within its bound.
 */
static void test_fs_cache__random_bytes(void)
{
	enum { NSEC = 20011, MAXLEN = 100, READS = 5000 };
	static uint8_t got[MAXLEN * SS], want[MAXLEN * SS], direct[MAXLEN * SS];
	struct fake f;
	struct cds_source *c = NULL;
	struct fs_cache_stats st;
	uint64_t seed = 42;
	unsigned bad = 0, over = 0, i, sequential = 0;
	uint32_t lba = 0, len = 1;
	const char *err = NULL;

	fake_init(&f, NSEC);
	is_int(fs_cache_new(&f.base, 1 << 20, 0, &c), 0, "1 MiB cache opens");
	for (i = 0; i < READS; i++) {
		/* now and then continue the last read, to mix in streams */
		if (rnd(&seed) % 4 == 0 && lba + len < NSEC) {
			lba += len;
			sequential++;
		} else {
			lba = rnd(&seed) % NSEC;
		}
		len = 1 + rnd(&seed) % MAXLEN;
		if (len > NSEC - lba)
			len = NSEC - lba;
		err = check_read(c, lba, len, got, want);
		if (!err && cds_source_read(&f.base, lba, len, direct) == 0 &&
		    memcmp(got, direct, (size_t)len * SS))
			err = "differs from a direct read";
		if (err && !bad++)
			diag_read_failure(lba, len, err);
		fs_cache_stats(c, &st);
		if (st.cached_blocks > st.max_blocks)
			over++;
	}
	is_int(bad, 0, "%d random reads (%u continuing) return every byte",
	       READS, sequential);
	is_int(over, 0, "never more than the bound cached");
	fs_cache_stats(c, &st);
	is_int(st.max_blocks, 16, "1 MiB holds 16 blocks");
	is_int(st.cached_blocks, 16, "a full cache holds them all");
	ok(st.hits > 0 && st.misses > 0, "hits (%llu) and misses (%llu)",
	   (unsigned long long)st.hits, (unsigned long long)st.misses);
	printf("# %llu reads below, %llu sectors, %llu read ahead\n",
	       (unsigned long long)st.reads_below,
	       (unsigned long long)st.sectors_below,
	       (unsigned long long)st.readahead_sectors);
	is_int(f.overlaps, 0, "no overlapping requests below");
	cds_source_close(c);
	fake_fini(&f);
}

/* Requests below since the last call. */
static uint64_t requests_since(struct fake *f, uint64_t *last)
{
	uint64_t n = f->requests - *last;

	*last = f->requests;
	return n;
}

static void test_fs_cache__lru(void)
{
	struct fake f;
	struct cds_source *c = NULL;
	struct fs_cache_stats st;
	uint8_t got[SS], want[SS];
	uint64_t last = 0;
	unsigned bad = 0;
	uint32_t i;

	/* blocks 10 apart: no read continues another, so no read-ahead */
	fake_init(&f, 100 * BS);
	is_int(fs_cache_new(&f.base, 4 * BS * SS, 0, &c), 0, "4-block cache");
	for (i = 0; i < 4; i++)
		bad += check_read(c, i * 10 * BS + 3, 1, got, want) != NULL;
	is_int(requests_since(&f, &last), 4, "4 blocks read below");
	bad += check_read(c, 0 * 10 * BS + 7, 1, got, want) != NULL;
	is_int(requests_since(&f, &last), 0, "block 0 again: a hit");
	bad += check_read(c, 4 * 10 * BS, 1, got, want) != NULL;
	is_int(requests_since(&f, &last), 1, "a fifth block is read");
	fs_cache_stats(c, &st);
	is_int(st.cached_blocks, 4, "and one evicted");
	bad += check_read(c, 0 * 10 * BS + 31, 1, got, want) != NULL;
	is_int(requests_since(&f, &last), 0, "block 0, used recently, stayed");
	bad += check_read(c, 1 * 10 * BS, 1, got, want) != NULL;
	is_int(requests_since(&f, &last), 1,
	       "block 10, the least recently used, was evicted");
	is_int(bad, 0, "all of it read right");
	fs_cache_stats(c, &st);
	is_int(st.hits, 2, "2 hits counted");
	is_int(st.misses, 6, "6 misses counted");
	is_int(st.readahead_sectors, 0, "nothing read ahead");
	cds_source_close(c);
	fake_fini(&f);
}

/*
 * Read @mib MiB sequentially in @piece-sector reads, as FUSE does, from a
 * source that sleeps @sleep_us per request; returns the seconds taken.
 */
static double sequential(struct cds_source *src, uint32_t start, unsigned mib,
			 uint32_t piece, unsigned *bad)
{
	static uint8_t got[256 * SS], want[256 * SS];
	uint32_t lba, end = start + mib * (1u << 20) / SS;
	double t0 = now();

	for (lba = start; lba < end; lba += piece)
		if (check_read(src, lba, piece, got, want))
			++*bad;
	return now() - t0;
}

/*
 * A sequential read of N MiB issues few large requests below, not one per
 * block or per read: the read-ahead window grows to 4 MiB.
 */
static void test_fs_cache__sequential(void)
{
	enum { MIB = 32 };
	struct fake f;
	struct cds_source *c = NULL;
	struct fs_cache_stats st;
	static uint8_t got[64 * SS], want[64 * SS];
	unsigned bad = 0;
	uint64_t blocks = MIB * (1u << 20) / (BS * SS), last = 0;
	double t_cache, t_direct;
	uint32_t lba;

	fake_init(&f, 200000);
	f.sleep_us = 2000; /* to show what the read-ahead is worth */
	is_int(fs_cache_new(&f.base, 0, 0, &c), 0, "default cache");
	t_cache = sequential(c, 1000, MIB, 64, &bad);
	is_int(bad, 0, "%d MiB read sequentially in 128 KiB reads", MIB);
	fs_cache_stats(c, &st);
	printf("# %llu requests below (%llu blocks; %d reads), largest %u "
	       "sectors, %llu sectors below, %llu read ahead\n",
	       (unsigned long long)st.reads_below, (unsigned long long)blocks,
	       MIB * 8, f.largest, (unsigned long long)st.sectors_below,
	       (unsigned long long)st.readahead_sectors);
	ok(st.reads_below <= MIB * 2, "few requests below: %llu <= %d",
	   (unsigned long long)st.reads_below, MIB * 2);
	ok(f.largest >= 64 * BS && f.largest <= 67 * BS,
	   "the window grew to 4 MiB: %u sectors at once", f.largest);
	ok(st.sectors_below >= (uint64_t)MIB * 512 &&
	       st.sectors_below <= (uint64_t)MIB * 512 + 65 * BS + BS,
	   "read below: what was read, and at most one window more");
	ok(st.hits > st.misses, "mostly hits");
	requests_since(&f, &last);
	t_direct = sequential(&f.base, 1000, MIB, 64, &bad);
	printf("# %d MiB at 2 ms a request: %.3f s through the cache, "
	       "%.3f s direct (%llu requests)\n",
	       MIB, t_cache, t_direct,
	       (unsigned long long)requests_since(&f, &last));
	f.sleep_us = 0;

	/* 4 KiB reads: the window grows all the same */
	cds_source_close(c);
	is_int(fs_cache_new(&f.base, 0, 0, &c), 0, "a new cache");
	sequential(c, 77777, 8, 2, &bad);
	is_int(bad, 0, "8 MiB read sequentially in 4 KiB reads");
	fs_cache_stats(c, &st);
	printf("# 8 MiB in 4 KiB reads: %llu requests below\n",
	       (unsigned long long)st.reads_below);
	ok(st.reads_below <= 16, "few requests below: %llu <= 16",
	   (unsigned long long)st.reads_below);

	/* FUSE threads reorder a stream's reads: swap each pair */
	cds_source_close(c);
	is_int(fs_cache_new(&f.base, 0, 0, &c), 0, "a new cache");
	for (lba = 5000; lba < 5000 + 16 * 512; lba += 128) {
		bad += check_read(c, lba + 64, 64, got, want) != NULL;
		bad += check_read(c, lba, 64, got, want) != NULL;
	}
	is_int(bad, 0, "16 MiB read in swapped pairs of 128 KiB reads");
	fs_cache_stats(c, &st);
	printf("# swapped pairs: %llu requests below\n",
	       (unsigned long long)st.reads_below);
	ok(st.reads_below <= 32, "few requests below: %llu <= 32",
	   (unsigned long long)st.reads_below);

	/* a random read after it reads its block only, no window */
	requests_since(&f, &last);
	f.sectors = 0;
	bad += check_read(c, 150000, 8, (uint8_t[8 * SS]){0},
			  (uint8_t[8 * SS]){0}) != NULL;
	is_int(f.sectors, BS, "a random read after a stream: one block");
	bad += check_read(c, 150008, 8, (uint8_t[8 * SS]){0},
			  (uint8_t[8 * SS]){0}) != NULL;
	is_int(f.sectors, BS, "continuing it within the block: a hit");
	bad += check_read(c, 150016, 32, (uint8_t[32 * SS]){0},
			  (uint8_t[32 * SS]){0}) != NULL;
	is_int(f.sectors, 2 * BS + 2 * BS,
	       "then into the next block: it and a 128 KiB window");
	is_int(bad, 0, "read right");
	cds_source_close(c);
	fake_fini(&f);
}

/* Random reads read about what they ask, without big read-ahead. */
static void test_fs_cache__random_no_readahead(void)
{
	enum { READS = 2000, MAXLEN = 32 };
	static uint8_t got[MAXLEN * SS], want[MAXLEN * SS];
	struct fake f;
	struct cds_source *c = NULL;
	struct fs_cache_stats st;
	uint64_t seed = 7, asked = 0, spanned = 0;
	unsigned bad = 0, i;

	fake_init(&f, 1u << 19); /* 1 GiB */
	is_int(fs_cache_new(&f.base, 0, 0, &c), 0, "default cache");
	for (i = 0; i < READS; i++) {
		uint32_t len = 1 + rnd(&seed) % MAXLEN;
		uint32_t lba = rnd(&seed) % (f.base.nsectors - len);

		asked += len;
		spanned += ((lba + len - 1) / BS - lba / BS + 1) * BS;
		bad += check_read(c, lba, len, got, want) != NULL;
	}
	is_int(bad, 0, "%d random reads right", READS);
	fs_cache_stats(c, &st);
	printf("# asked %llu sectors in %d reads, their blocks %llu; read "
	       "below %llu in %llu requests, %llu read ahead\n",
	       (unsigned long long)asked, READS, (unsigned long long)spanned,
	       (unsigned long long)st.sectors_below,
	       (unsigned long long)st.reads_below,
	       (unsigned long long)st.readahead_sectors);
	ok(st.sectors_below <= spanned, "no more than the blocks asked for");
	ok(st.readahead_sectors * 20 <= st.sectors_below,
	   "read-ahead under 5%%");
	cds_source_close(c);
	fake_fini(&f);
}

/* Errors from below are returned and not cached. */
static void test_fs_cache__errors(unsigned flags)
{
	struct fake f;
	struct cds_source *c = NULL;
	static uint8_t got[64 * SS], want[64 * SS];
	uint64_t last = 0;
	const char *err;
	unsigned bad = 0;
	uint32_t lba;
	int rc;

	fake_init(&f, 20000);
	is_int(fs_cache_new(&f.base, 0, flags, &c), 0, "cache opens (%s)",
	       flags ? "async" : "sync");
	fake_set_fault(&f, 1000); /* in block 31 (992..1023) */
	rc = cds_source_read(c, 992, BS, got);
	is_int(rc, -EIO, "a read of exactly the faulty block fails");
	ok(strstr(cds_errmsg(rc), "injected fault at 1000") != NULL,
	   "with the message from below: %s", cds_errmsg(rc));
	is_int(requests_since(&f, &last), 1, "in one request");
	rc = cds_source_read(c, 992, BS, got);
	is_int(rc, -EIO, "so does the same read again");
	ok(requests_since(&f, &last) >= 1, "asked below again: not cached");
	rc = cds_source_read(c, 990, 20, got);
	is_int(rc, -EIO, "a read over the fault fails");
	requests_since(&f, &last);
	rc = cds_source_read(c, 1000, 1, got);
	is_int(rc, -EIO, "so does the faulty sector alone");
	ok(requests_since(&f, &last) >= 1, "it was asked below again");
	err = check_read(c, 995, 4, got, want);
	ok(!err, "its block's other sectors read alone: %s", err ? err : "ok");
	err = check_read(c, 1001, 23, got, want);
	ok(!err, "those after it too: %s", err ? err : "ok");
	fake_set_fault(&f, NO_FAULT);
	err = check_read(c, 1000, 1, got, want);
	ok(!err, "cleared, the sector reads: %s", err ? err : "ok");
	err = check_read(c, 990, 20, got, want);
	ok(!err, "and the read over it: %s", err ? err : "ok");

	/* a stream whose read-ahead runs into a fault: only it fails */
	fake_set_fault(&f, 5000);
	for (lba = 3000; lba + 16 <= 5000; lba += 16)
		bad += check_read(c, lba, 16, got, want) != NULL;
	is_int(bad, 0, "a stream up to a fault reads (read-ahead fails)");
	is_int(cds_source_read(c, 4992, 16, got), -EIO,
	       "the read over the fault fails");
	fake_set_fault(&f, NO_FAULT);
	err = check_read(c, 4992, 16, got, want);
	ok(!err, "and reads once the fault is gone: %s", err ? err : "ok");
	cds_source_close(c);
	fake_fini(&f);
}

struct reader {
	struct cds_source *c;
	uint64_t seed;
	uint32_t nsectors;
	unsigned reads, bad;
	const char *err;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	static _Thread_local uint8_t got[64 * SS], want[64 * SS];
	uint32_t lba = 0, len = 1;
	unsigned i;

	for (i = 0; i < r->reads; i++) {
		const char *err;

		if (rnd(&r->seed) % 3 && lba + len + 64 < r->nsectors) {
			lba += len; /* streams, and blocks others read */
		} else {
			lba = rnd(&r->seed) % (r->nsectors - 64);
		}
		len = 1 + rnd(&r->seed) % 64;
		err = check_read(r->c, lba, len, got, want);
		if (err && !r->bad++)
			r->err = err;
	}
	return NULL;
}

static void test_fs_cache__threads(unsigned flags)
{
	enum { THREADS = 4 };
	struct fake f;
	struct cds_source *c = NULL;
	struct fs_cache_stats st;
	struct reader r[THREADS];
	pthread_t t[THREADS];
	unsigned i, bad = 0;

	fake_init(&f, 30000);
	f.sleep_us = 50;
	is_int(fs_cache_new(&f.base, 2 << 20, flags, &c), 0, "2 MiB cache (%s)",
	       flags ? "async" : "sync");
	for (i = 0; i < THREADS; i++) {
		r[i] = (struct reader){c,    1000 + i, f.base.nsectors,
				       2000, 0,	       NULL};
		pthread_create(&t[i], NULL, reader_thread, &r[i]);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (r[i].bad)
			printf("# thread %u: %u bad reads: %s\n", i, r[i].bad,
			       r[i].err);
		bad += r[i].bad;
	}
	is_int(bad, 0, "%d threads x %u reads, every byte right", THREADS,
	       r[0].reads);
	fs_cache_wait_idle(c);
	is_int(f.overlaps, 0, "no sector read below twice at once");
	fs_cache_stats(c, &st);
	ok(st.cached_blocks <= st.max_blocks, "within the bound");
	printf("# %u requests at most at once below; %llu hits, %llu misses, "
	       "%llu requests below (%llu by the worker)\n",
	       f.max_inflight, (unsigned long long)st.hits,
	       (unsigned long long)st.misses,
	       (unsigned long long)st.reads_below,
	       (unsigned long long)st.background_reads);
	cds_source_close(c);
	fake_fini(&f);
}

struct one_read {
	struct cds_source *c;
	uint32_t lba, count;
	const char *err;
	bool done;
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
};

static void *one_read_thread(void *arg)
{
	struct one_read *o = arg;
	static _Thread_local uint8_t got[8 * SS], want[8 * SS];
	const char *err = check_read(o->c, o->lba, o->count, got, want);

	pthread_mutex_lock(o->lock);
	o->err = err;
	o->done = true;
	pthread_cond_broadcast(o->cond);
	pthread_mutex_unlock(o->lock);
	return NULL;
}

/*
 * Held at a gate below, a read must not stop the others: a hit and a
 * miss elsewhere complete meanwhile, and readers of its block wait for
 * it rather than read it again.
 */
static void test_fs_cache__no_lock_across_reads(void)
{
	struct fake f;
	struct cds_source *c = NULL;
	struct one_read o[5];
	pthread_t t[5];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	uint8_t got[SS], want[SS];
	struct timespec until;
	unsigned i, done = 0;
	int rc = 0;

	fake_init(&f, 10000);
	is_int(fs_cache_new(&f.base, 0, 0, &c), 0, "cache opens");
	ok(!check_read(c, 5000, 1, got, want), "block 156 cached");
	f.gate = 1000;
	f.gate_closed = true;
	for (i = 0; i < 5; i++) {
		/* 0: the gated block; 1, 2: the same block; 3: a hit at
		 * 5000; 4: a miss at 8000 */
		uint32_t lba = i < 3 ? 995 + i : i == 3 ? 5001 : 8000;

		o[i] = (struct one_read){c, lba, 4, NULL, false, &lock, &cond};
	}
	pthread_create(&t[0], NULL, one_read_thread, &o[0]);
	pthread_mutex_lock(&f.lock);
	while (!f.gated)
		pthread_cond_wait(&f.cond, &f.lock);
	pthread_mutex_unlock(&f.lock);
	for (i = 1; i < 5; i++)
		pthread_create(&t[i], NULL, one_read_thread, &o[i]);
	/* a deadlock detector, not a timing threshold */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&lock);
	while (rc == 0 && !(o[3].done && o[4].done))
		rc = pthread_cond_timedwait(&cond, &lock, &until);
	for (i = 0; i < 5; i++)
		done += o[i].done;
	pthread_mutex_unlock(&lock);
	is_int(rc, 0, "the hit and the miss elsewhere completed");
	is_int(done, 2, "while the gated block's readers waited");
	pthread_mutex_lock(&f.lock);
	f.gate_closed = false;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.lock);
	for (i = 0; i < 5; i++) {
		pthread_join(t[i], NULL);
		ok(!o[i].err, "reader %u read right: %s", i,
		   o[i].err ? o[i].err : "ok");
	}
	is_int(f.requests, 3, "3 requests below: block 156, 31 once, 250");
	is_int(f.max_inflight, 2, "two of them at once");
	cds_source_close(c);
	fake_fini(&f);
}

/*
 * A reader that works on what it reads (1 ms a 128 KiB read) from a
 * source that takes 2 ms a request and 100 MB/s: with FS_CACHE_ASYNC the
 * worker reads the next window meanwhile.
 */
static double paced(struct cds_source *c, uint32_t start, unsigned mib,
		    unsigned *bad)
{
	static uint8_t got[64 * SS], want[64 * SS];
	uint32_t lba, end = start + mib * (1u << 20) / SS;
	double t0 = now();

	for (lba = start; lba < end; lba += 64) {
		if (check_read(c, lba, 64, got, want))
			++*bad;
		usleep(1000);
	}
	return now() - t0;
}

static void test_fs_cache__async(void)
{
	enum { MIB = 32 };
	struct fake f;
	struct cds_source *c = NULL;
	struct fs_cache_stats st, sync_st;
	unsigned bad = 0;
	double t_sync, t_async;
	uint8_t got[SS], want[SS];

	fake_init(&f, 200000);
	f.sleep_us = 2000;
	f.sleep_sector_us = 320;
	is_int(fs_cache_new(&f.base, 0, 0, &c), 0, "sync cache");
	t_sync = paced(c, 1000, MIB, &bad);
	fs_cache_stats(c, &sync_st);
	cds_source_close(c);
	is_int(fs_cache_new(&f.base, 0, FS_CACHE_ASYNC, &c), 0, "async cache");
	t_async = paced(c, 1000, MIB, &bad);
	fs_cache_wait_idle(c);
	is_int(bad, 0, "%d MiB read sequentially, both ways", MIB);
	fs_cache_stats(c, &st);
	printf("# paced reader, %d MiB: sync %.3f s, %llu requests, %llu "
	       "blocks missed; async %.3f s, %llu requests (%llu by the "
	       "worker), %llu blocks missed\n",
	       MIB, t_sync, (unsigned long long)sync_st.reads_below,
	       (unsigned long long)sync_st.misses, t_async,
	       (unsigned long long)st.reads_below,
	       (unsigned long long)st.background_reads,
	       (unsigned long long)st.misses);
	ok(st.background_reads >= 1, "the worker read ahead");
	ok(st.reads_below <= MIB * 2, "few requests below: %llu <= %d",
	   (unsigned long long)st.reads_below, MIB * 2);
	ok(st.cached_blocks <= st.max_blocks, "within the bound");
	ok(!check_read(c, 150000, 1, got, want), "a random read after it");

	/* closing while the worker reads waits for it */
	paced(c, 100000, 2, &bad);
	cds_source_close(c);
	is_int(f.inflight, 0, "closed: nothing in flight below");
	is_int(bad, 0, "read right");
	fake_fini(&f);
}

/*
 * A file that ends where an unreadable area begins (the lead-out after a
 * session): its stream's read-ahead fails there once or twice, not at
 * every read.
 */
static void test_fs_cache__unreadable_end(unsigned flags)
{
	struct fake f;
	struct cds_source *c = NULL;
	static uint8_t got[64 * SS], want[64 * SS];
	unsigned bad = 0;
	uint32_t lba;

	fake_init(&f, 20000);
	f.fault = 10000;
	f.fault_len = 2000;
	is_int(fs_cache_new(&f.base, 0, flags, &c), 0, "cache opens (%s)",
	       flags ? "async" : "sync");
	for (lba = 10000 - 80 * 64; lba < 10000; lba += 64)
		bad += check_read(c, lba, 64, got, want) != NULL;
	for (lba = 10000 - 40 * 3; lba + 3 <= 10000; lba += 3)
		bad += check_read(c, lba, 3, got, want) != NULL;
	fs_cache_wait_idle(c);
	is_int(bad, 0, "a file up to the unreadable area reads");
	printf("# %u requests failed, %llu requests in all\n", f.failed,
	       (unsigned long long)f.requests);
	ok(f.failed <= 4, "few requests failed: %u <= 4", f.failed);
	is_int(cds_source_read(c, 10000, 1, got), -EIO,
	       "the unreadable area fails");
	cds_source_close(c);
	fake_fini(&f);
}

/*
 * A bad sector inside a file: the read over it fails, the reads around it
 * do, and once the stream is far past it, it reads ahead again.
 */
static void test_fs_cache__bad_spot(void)
{
	struct fake f;
	struct cds_source *c = NULL;
	struct fs_cache_stats st;
	static uint8_t got[64 * SS], want[64 * SS];
	unsigned bad = 0, failed_reads = 0;
	uint64_t ra_before = 0;
	uint32_t lba;

	fake_init(&f, 40000);
	f.fault = 5000;
	is_int(fs_cache_new(&f.base, 0, 0, &c), 0, "cache opens");
	for (lba = 3000; lba < 12000; lba += 64) {
		const char *err = check_read(c, lba, 64, got, want);

		if (lba == 9000 - 8) {
			fs_cache_stats(c, &st);
			ra_before = st.readahead_sectors;
		}
		if (includes(lba, 64, 5000))
			failed_reads += err != NULL;
		else
			bad += err != NULL;
	}
	is_int(failed_reads, 1, "the read over the bad sector fails");
	is_int(bad, 0, "the others read right");
	fs_cache_stats(c, &st);
	printf("# %u requests failed, %llu requests in all\n", f.failed,
	       (unsigned long long)f.requests);
	ok(f.failed <= 4, "few requests failed: %u <= 4", f.failed);
	ok(st.readahead_sectors > ra_before + 64 * BS,
	   "far past it, the stream reads ahead again");
	cds_source_close(c);
	fake_fini(&f);
}

int main(void)
{
	test_fs_cache__basics();
	test_fs_cache__random_bytes();
	test_fs_cache__lru();
	test_fs_cache__sequential();
	test_fs_cache__random_no_readahead();
	test_fs_cache__errors(0);
	test_fs_cache__errors(FS_CACHE_ASYNC);
	test_fs_cache__threads(0);
	test_fs_cache__threads(FS_CACHE_ASYNC);
	test_fs_cache__async();
	test_fs_cache__unreadable_end(0);
	test_fs_cache__unreadable_end(FS_CACHE_ASYNC);
	test_fs_cache__bad_spot();
	test_fs_cache__no_lock_across_reads();
	return tap_done();
}
