/* cache.c - a sector cache with read-ahead in front of a sector source. */
#include "cache.h"
#include "common/error.h"
#include "common/sector.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_SECTORS  FS_CACHE_BLOCK_SECTORS
#define BLOCK_BYTES    ((size_t)BLOCK_SECTORS * CDS_SECTOR_SIZE)
#define RA_MIN_BLOCKS  2   /* 128 KiB */
#define RA_MAX_BLOCKS  64  /* 4 MiB */
#define RUN_MAX_BLOCKS 128 /* a request below reads at most 8 MiB */
#define NSTREAMS       8
#define HASH_MAX       (1u << 16)
#define NO_LIMIT       UINT32_MAX
#define NBAD	       16

enum { BLK_LOADING, BLK_VALID };

struct block {
	uint32_t index; /* sector index / BLOCK_SECTORS */
	int state;
	uint8_t *data;
	struct block *hnext;	   /* hash chain */
	struct block *prev, *next; /* LRU list, valid blocks only */
};

struct stream {
	uint32_t end;	 /* the sector after its last read */
	uint32_t window; /* read-ahead, blocks; 0 until it proves sequential */
	/*
	 * Read-ahead stops before this block: one failed there.  The end of
	 * a session or track is followed by unreadable sectors, and a drive
	 * may take seconds to fail each request there.
	 */
	uint32_t limit;
	uint64_t used; /* tick of its last read: the oldest is replaced */
	uint64_t gen;  /* tells a stream from the one that replaced it */
};

struct cache {
	struct cds_source base;
	struct cds_source *below;
	pthread_mutex_t lock;
	pthread_cond_t loaded; /* a block left the loading state */
	struct block **hash;
	size_t hmask;
	struct block lru; /* sentinel: next is the most recently used */
	size_t nvalid, max_blocks;
	uint32_t nblocks, ra_max, run_max;
	struct stream streams[NSTREAMS];
	uint64_t tick, gen;
	/*
	 * Blocks that failed while the sectors asked of them read: partly
	 * unreadable (a file ending just before the gap after a track).
	 * Reads there ask for their own sectors only, uncached.
	 */
	uint32_t bad[NBAD];
	unsigned bad_next;
	struct fs_cache_stats st;
	/* FS_CACHE_ASYNC: one read-ahead run at a time, by a worker thread */
	bool async, stopping, worker_up, job_busy;
	pid_t worker_pid; /* a fork leaves the worker behind */
	pthread_t worker;
	pthread_cond_t work; /* a job was posted, or stopping */
	uint32_t job_n;	     /* blocks claimed for the worker, not yet taken */
	struct block *job_run[RUN_MAX_BLOCKS];
	size_t job_si; /* the stream it reads ahead for */
	uint64_t job_gen;
};

static const struct cds_source_ops cache_ops;

static struct block **bucket(struct cache *c, uint32_t index)
{
	return &c->hash[(index * 0x9E3779B1u) & c->hmask];
}

static struct block *lookup(struct cache *c, uint32_t index)
{
	struct block *b;

	for (b = *bucket(c, index); b; b = b->hnext)
		if (b->index == index)
			return b;
	return NULL;
}

static void unhash(struct cache *c, struct block *blk)
{
	struct block **p = bucket(c, blk->index);

	while (*p != blk)
		p = &(*p)->hnext;
	*p = blk->hnext;
}

static void lru_unlink(struct block *blk)
{
	blk->prev->next = blk->next;
	blk->next->prev = blk->prev;
}

static void lru_push(struct cache *c, struct block *blk)
{
	blk->prev = &c->lru;
	blk->next = c->lru.next;
	c->lru.next->prev = blk;
	c->lru.next = blk;
}

static void block_free(struct block *blk)
{
	free(blk->data);
	free(blk);
}

static void evict(struct cache *c)
{
	while (c->nvalid > c->max_blocks) {
		struct block *old = c->lru.prev;

		lru_unlink(old);
		unhash(c, old);
		block_free(old);
		c->nvalid--;
	}
}

/* Sectors in block @index: the last one may be short. */
static uint32_t block_len(const struct cache *c, uint32_t index)
{
	uint32_t first = index * BLOCK_SECTORS;
	uint32_t left = c->base.nsectors - first;

	return left < BLOCK_SECTORS ? left : BLOCK_SECTORS;
}

/*
 * Copy what [@first, @first + @n) holds of the read [@lba, @end) to
 * @buf, the read's buffer.
 */
static void copy_out(const uint8_t *data, uint32_t first, uint32_t n,
		     uint32_t lba, uint32_t end, uint8_t *buf)
{
	uint32_t from = first > lba ? first : lba;
	uint32_t to = first + n < end ? first + n : end;

	if (from < to)
		memcpy(buf + (size_t)(from - lba) * CDS_SECTOR_SIZE,
		       data + (size_t)(from - first) * CDS_SECTOR_SIZE,
		       (size_t)(to - from) * CDS_SECTOR_SIZE);
}

/*
 * Note the read [@lba, +@count) in the stream it continues, or start a
 * new stream with it.  Returns the read-ahead in blocks; *@si and *@gen
 * name the stream so that its window can grow once the read-ahead is
 * issued.
 */
static uint32_t stream_note(struct cache *c, uint32_t lba, uint32_t count,
			    size_t *si, uint64_t *gen)
{
	/*
	 * It continues a stream if it reads past the stream's end and starts
	 * at most its own length after it: FUSE threads reorder a stream's
	 * reads.  Reading the same sectors again is no progress.
	 */
	uint64_t tol = count;
	uint64_t end = (uint64_t)lba + count;
	struct stream *s;
	size_t i, victim = 0;

	c->tick++;
	for (i = 0; i < NSTREAMS; i++) {
		s = &c->streams[i];
		if (s->used && end > s->end && lba <= s->end + tol) {
			s->end = (uint32_t)end;
			s->used = c->tick;
			/* far past a failure: a bad spot, not an end */
			if (s->limit != NO_LIMIT &&
			    lba / BLOCK_SECTORS >=
				(uint64_t)s->limit + RA_MAX_BLOCKS)
				s->limit = NO_LIMIT;
			if (!s->window)
				s->window = RA_MIN_BLOCKS < c->ra_max
						? RA_MIN_BLOCKS
						: c->ra_max;
			*si = i;
			*gen = s->gen;
			return s->window;
		}
		if (s->used < c->streams[victim].used)
			victim = i;
	}
	s = &c->streams[victim];
	s->end = (uint32_t)end;
	s->window = 0;
	s->limit = NO_LIMIT;
	s->used = c->tick;
	s->gen = ++c->gen;
	*si = victim;
	*gen = s->gen;
	return 0;
}

static bool is_bad(const struct cache *c, uint32_t b)
{
	unsigned i;

	for (i = 0; i < NBAD; i++)
		if (c->bad[i] == b)
			return true;
	return false;
}

static void mark_bad(struct cache *c, uint32_t b)
{
	if (!is_bad(c, b))
		c->bad[c->bad_next++ % NBAD] = b;
}

/*
 * Claim the missing blocks from @b (missing) on, up to @last and at most
 * run_max, as being read: others wait for them rather than read them.
 * Returns how many, 0 when out of memory.
 */
static uint32_t claim_run(struct cache *c, uint32_t b, uint32_t last,
			  struct block **run)
{
	uint32_t n;

	for (n = 0; n < c->run_max && b + n <= last; n++) {
		struct block *blk;

		if (n && (lookup(c, b + n) || is_bad(c, b + n)))
			break;
		blk = calloc(1, sizeof(*blk));
		if (blk)
			blk->data = malloc(BLOCK_BYTES);
		if (!blk || !blk->data) {
			free(blk);
			break;
		}
		blk->index = b + n;
		blk->state = BLK_LOADING;
		blk->hnext = *bucket(c, blk->index);
		*bucket(c, blk->index) = blk;
		run[n] = blk;
	}
	return n;
}

/* Sectors of the @n blocks from @b. */
static uint32_t run_sectors(const struct cache *c, uint32_t b, uint32_t n)
{
	return (b + n - 1) * BLOCK_SECTORS + block_len(c, b + n - 1) -
	       b * BLOCK_SECTORS;
}

/*
 * Read the claimed @run of @n blocks below, without the lock.  *@tmp is
 * the run's data in one piece until free()d, NULL for one block (read in
 * place) or on failure.
 */
static int read_run(struct cache *c, struct block **run, uint32_t n,
		    uint8_t **tmp)
{
	uint32_t i, b = run[0]->index, nsec = run_sectors(c, b, n);
	int rc;

	*tmp = NULL;
	if (n == 1)
		return cds_source_read(c->below, b * BLOCK_SECTORS, nsec,
				       run[0]->data);
	/* one request for the run needs a contiguous buffer */
	*tmp = malloc((size_t)nsec * CDS_SECTOR_SIZE);
	if (!*tmp)
		return cds_error(-ENOMEM, "no memory for a %u-sector read",
				 nsec);
	rc = cds_source_read(c->below, b * BLOCK_SECTORS, nsec, *tmp);
	if (rc < 0) {
		free(*tmp);
		*tmp = NULL;
		return rc;
	}
	for (i = 0; i < n; i++)
		memcpy(run[i]->data, *tmp + i * BLOCK_BYTES,
		       (size_t)block_len(c, b + i) * CDS_SECTOR_SIZE);
	return 0;
}

/* With the lock: make a read run valid (@ok) or forget it, and wake up
 * those waiting for it. */
static void publish_run(struct cache *c, struct block **run, uint32_t n,
			bool ok)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (ok) {
			run[i]->state = BLK_VALID;
			lru_push(c, run[i]);
			c->nvalid++;
		} else {
			unhash(c, run[i]);
			block_free(run[i]);
		}
	}
	if (ok)
		evict(c);
	pthread_cond_broadcast(&c->loaded);
}

/*
 * The last block a read-ahead of @w blocks from block @from may read for
 * stream @si (if still @gen): @from - 1 when none.
 */
static uint32_t ra_last(const struct cache *c, size_t si, uint64_t gen,
			uint32_t from, uint32_t w)
{
	uint64_t last = (uint64_t)from + w - 1;
	const struct stream *s = &c->streams[si];

	if (last >= c->nblocks)
		last = (uint64_t)c->nblocks - 1;
	if (s->gen == gen && last >= s->limit)
		last = (uint64_t)s->limit - 1;
	return last + 1 < from ? from - 1 : (uint32_t)last;
}

/* A read-ahead for stream @si (if still @gen) from block @b failed. */
static void ra_failed(struct cache *c, size_t si, uint64_t gen, uint32_t b)
{
	struct stream *s = &c->streams[si];

	if (s->gen != gen)
		return;
	s->window = 0;
	if (b < s->limit)
		s->limit = b;
}

static void grow_window(struct cache *c, size_t si, uint64_t gen)
{
	struct stream *s = &c->streams[si];

	if (s->gen == gen)
		s->window =
		    s->window * 2 < c->ra_max ? s->window * 2 : c->ra_max;
}

/*
 * The read [@lba, @end) found block @b (of its blocks up to @b_last)
 * missing: read it below with the missing blocks after it, up to @ra
 * blocks past @b_last, in one request, and copy what the read asked for
 * to @buf.  Called and returns with the lock held, which it drops for the
 * read below.  On success *@next is the first block of the read still to
 * copy.
 */
static int load_run(struct cache *c, uint32_t b, uint32_t b_last, uint32_t ra,
		    size_t si, uint64_t gen, uint32_t lba, uint32_t end,
		    uint8_t *buf, uint32_t *next)
{
	struct block *run[RUN_MAX_BLOCKS];
	uint32_t n, first, nsec, last = b_last, fallback = 0;
	uint8_t *tmp;
	int rc;

	if (ra)
		last = ra_last(c, si, gen, b_last + 1, ra);
	n = claim_run(c, b, last, run);
	if (!n)
		return cds_error(-ENOMEM, "no memory for the sector cache");
	first = b * BLOCK_SECTORS;
	nsec = run_sectors(c, b, n);
	if (b + n - 1 > b_last) {
		c->st.readahead_sectors +=
		    (uint64_t)(first + nsec) -
		    ((uint64_t)b_last + 1) * BLOCK_SECTORS;
		grow_window(c, si, gen);
	}
	c->st.reads_below++;
	c->st.sectors_below += nsec;
	c->st.misses += (b + n - 1 < b_last ? b + n - 1 : b_last) - b + 1;
	pthread_mutex_unlock(&c->lock);

	rc = read_run(c, run, n, &tmp);
	if (rc == 0)
		copy_out(tmp ? tmp : run[0]->data, first, nsec, lba, end, buf);
	free(tmp);
	if (rc < 0 && (first < lba || first + nsec > end)) {
		/* what failed may lie outside what was asked: ask for that */
		uint32_t at = first > lba ? first : lba;

		fallback = end - at;
		rc =
		    cds_source_read(c->below, at, fallback,
				    buf + (size_t)(at - lba) * CDS_SECTOR_SIZE);
	}

	pthread_mutex_lock(&c->lock);
	if (fallback) {
		c->st.reads_below++;
		c->st.sectors_below += fallback;
	}
	publish_run(c, run, n, !fallback && rc == 0);
	if (fallback || rc < 0)
		ra_failed(c, si, gen, b_last + 1); /* it may be the cause */
	if (fallback && rc == 0 && b + n - 1 <= b_last) {
		/* no read-ahead: the sectors not asked for failed */
		if (first < lba)
			mark_bad(c, b);
		if (first + nsec > end)
			mark_bad(c, b + n - 1);
	}
	*next = fallback ? b_last + 1 : b + n;
	return rc;
}

/*
 * Read what [@lba, @end) asks of block @b, known to be partly unreadable,
 * uncached, into @buf.  With the lock held, dropped for the read.
 */
static int read_direct(struct cache *c, uint32_t b, uint32_t lba, uint32_t end,
		       uint8_t *buf)
{
	uint32_t from = b * BLOCK_SECTORS, to = from + block_len(c, b);
	int rc;

	from = from > lba ? from : lba;
	to = to < end ? to : end;
	c->st.reads_below++;
	c->st.sectors_below += to - from;
	c->st.misses++;
	pthread_mutex_unlock(&c->lock);
	rc = cds_source_read(c->below, from, to - from,
			     buf + (size_t)(from - lba) * CDS_SECTOR_SIZE);
	pthread_mutex_lock(&c->lock);
	return rc;
}

static void *worker_main(void *arg)
{
	struct cache *c = arg;
	struct block *run[RUN_MAX_BLOCKS];
	uint8_t *tmp;
	uint64_t gen;
	uint32_t n, b;
	size_t si;
	int rc;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->job_n && !c->stopping)
			pthread_cond_wait(&c->work, &c->lock);
		if (c->stopping)
			break; /* a job still posted is dropped by close */
		n = c->job_n;
		si = c->job_si;
		gen = c->job_gen;
		memcpy(run, c->job_run, n * sizeof(*run));
		c->job_n = 0;
		c->job_busy = true;
		b = run[0]->index;
		c->st.reads_below++;
		c->st.background_reads++;
		c->st.sectors_below += run_sectors(c, b, n);
		c->st.readahead_sectors += run_sectors(c, b, n);
		pthread_mutex_unlock(&c->lock);
		/* a failure is not reported: a reader will meet it itself */
		rc = read_run(c, run, n, &tmp);
		free(tmp);
		pthread_mutex_lock(&c->lock);
		c->job_busy = false;
		publish_run(c, run, n, rc == 0);
		if (rc < 0)
			ra_failed(c, si, gen, b);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/*
 * With FS_CACHE_ASYNC, after a read of a sequential stream up to block
 * @b_last with a @w-block window: when less than a window after it
 * is cached or being read, post the next window to the worker so that
 * the reader does not wait for it.  The lock is held.
 */
static void prefetch(struct cache *c, uint32_t b_last, uint32_t w, size_t si,
		     uint64_t gen)
{
	uint32_t m, last;

	if (!c->async || !w || c->job_n || c->job_busy || c->stopping)
		return;
	for (m = b_last + 1; m < c->nblocks && m - b_last <= w; m++)
		if (!lookup(c, m))
			break;
	last = ra_last(c, si, gen, m, w);
	if (m >= c->nblocks || m - b_last > w || last < m || is_bad(c, m))
		return;
	if (c->worker_up && c->worker_pid != getpid())
		return; /* forked: the worker stayed with the parent */
	if (!c->worker_up) {
		if (pthread_create(&c->worker, NULL, worker_main, c))
			return; /* then the reads themselves read ahead */
		c->worker_up = true;
		c->worker_pid = getpid();
	}
	c->job_n = claim_run(c, m, last, c->job_run);
	if (c->job_n) {
		c->job_si = si;
		c->job_gen = gen;
		grow_window(c, si, gen);
		pthread_cond_signal(&c->work);
	}
}

static int cache_read(struct cds_source *src, uint32_t lba, uint32_t count,
		      void *buf)
{
	struct cache *c = (struct cache *)src;
	uint32_t end = lba + count, b, b_last, ra;
	uint64_t gen;
	size_t si;
	int rc = 0;

	rc = cds_source_check_range(src, lba, count);
	if (rc)
		return rc;
	if (!count)
		return 0;
	b = lba / BLOCK_SECTORS;
	b_last = (end - 1) / BLOCK_SECTORS;
	pthread_mutex_lock(&c->lock);
	ra = stream_note(c, lba, count, &si, &gen);
	while (b <= b_last) {
		struct block *blk = lookup(c, b);

		if (blk && blk->state == BLK_VALID) {
			copy_out(blk->data, b * BLOCK_SECTORS, block_len(c, b),
				 lba, end, buf);
			lru_unlink(blk);
			lru_push(c, blk);
			c->st.hits++;
			b++;
			continue;
		}
		if (blk) {
			/* being read: wait for it, then look again */
			pthread_cond_wait(&c->loaded, &c->lock);
			continue;
		}
		if (is_bad(c, b))
			rc = read_direct(c, b++, lba, end, buf);
		else
			rc = load_run(c, b, b_last, ra, si, gen, lba, end, buf,
				      &b);
		if (rc < 0)
			break;
	}
	if (rc == 0 && c->streams[si].gen == gen)
		prefetch(c, b_last, c->streams[si].window, si, gen);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static void cache_close(struct cds_source *src)
{
	struct cache *c = (struct cache *)src;
	struct block *blk, *next;

	if (!c)
		return;
	if (c->worker_up && c->worker_pid == getpid()) {
		pthread_mutex_lock(&c->lock);
		c->stopping = true;
		pthread_cond_signal(&c->work);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->worker, NULL);
	}
	if (c->job_n)
		publish_run(c, c->job_run, c->job_n, false);
	for (blk = c->lru.next; blk != &c->lru; blk = next) {
		next = blk->next;
		block_free(blk);
	}
	pthread_cond_destroy(&c->loaded);
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->lock);
	free(c->hash);
	free(c);
}

static const struct cds_source_ops cache_ops = {
    .read = cache_read,
    .close = cache_close,
};

int fs_cache_new(struct cds_source *below, size_t cache_bytes, unsigned flags,
		 struct cds_source **out)
{
	struct cache *c;
	size_t hsize = 64;

	if (!below)
		return cds_error(-EINVAL, "no source for the sector cache");
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base.ops = &cache_ops;
	c->base.nsectors = below->nsectors;
	c->below = below;
	c->nblocks =
	    (uint32_t)(((uint64_t)below->nsectors + BLOCK_SECTORS - 1) /
		       BLOCK_SECTORS);
	if (!cache_bytes)
		cache_bytes = FS_CACHE_DEFAULT_BYTES;
	c->max_blocks = cache_bytes / BLOCK_BYTES;
	/* more than the source holds would never fill */
	if (c->max_blocks > c->nblocks)
		c->max_blocks = c->nblocks;
	if (!c->max_blocks)
		c->max_blocks = 1;
	/* read-ahead that evicts itself before it is used is wasted */
	c->ra_max = c->max_blocks / 2 < RA_MAX_BLOCKS
			? (uint32_t)(c->max_blocks / 2)
			: RA_MAX_BLOCKS;
	c->run_max = c->max_blocks < RUN_MAX_BLOCKS ? (uint32_t)c->max_blocks
						    : RUN_MAX_BLOCKS;
	while (hsize < c->max_blocks + RUN_MAX_BLOCKS && hsize < HASH_MAX)
		hsize *= 2;
	c->hash = calloc(hsize, sizeof(*c->hash));
	if (!c->hash) {
		free(c);
		return -ENOMEM;
	}
	c->hmask = hsize - 1;
	c->lru.next = c->lru.prev = &c->lru;
	memset(c->bad, 0xff, sizeof(c->bad)); /* NO_LIMIT: none */
	c->st.max_blocks = c->max_blocks;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->loaded, NULL);
	pthread_cond_init(&c->work, NULL);
	c->async = flags & FS_CACHE_ASYNC;
	*out = &c->base;
	return 0;
}

void fs_cache_stats(const struct cds_source *cache, struct fs_cache_stats *st)
{
	struct cache *c = (struct cache *)cache;

	memset(st, 0, sizeof(*st));
	if (!cache || cache->ops != &cache_ops)
		return;
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	st->cached_blocks = c->nvalid;
	pthread_mutex_unlock(&c->lock);
}

void fs_cache_wait_idle(struct cds_source *cache)
{
	struct cache *c = (struct cache *)cache;

	if (!cache || cache->ops != &cache_ops)
		return;
	pthread_mutex_lock(&c->lock);
	while (c->job_n || c->job_busy)
		pthread_cond_wait(&c->loaded, &c->lock);
	pthread_mutex_unlock(&c->lock);
}
