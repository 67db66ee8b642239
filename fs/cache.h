/*
 * cache.h - a sector cache with read-ahead in front of a sector source.
 *
 * The filesystem reads files of the disc through it.  An optical drive
 * seeks in ~100 ms but streams at 1-10+ MB/s, so what it needs is few,
 * large requests.  The cache is itself a struct cds_source (a decorator),
 * so whatever reads a source can read through it.
 *
 * Policy:
 * - data is kept in blocks of FS_CACHE_BLOCK_SECTORS (64 KiB); at most
 *   cache_bytes of them stay, the least recently used are dropped first;
 * - a read that continues one of the last few reads (a stream: FUSE
 *   reads a file in pieces, several files at once) is sequential: when
 *   it misses, the blocks it needs and a read-ahead window after them are
 *   read below in ONE request.  The window starts at 128 KiB and doubles
 *   each time it is read, up to 4 MiB (or half the cache);
 * - any other read starts a new stream with no read-ahead: it reads only
 *   the blocks it needs;
 * - errors from below are returned, never cached: the next read asks
 *   again.  The end of a track or session is followed by unreadable
 *   sectors, and a drive may take seconds to fail a request there, so
 *   when a request larger than what was asked fails, the sectors asked
 *   for are read alone, uncached; the stream reads ahead no further than
 *   the failure (until it gets well past it), and a block whose other
 *   sectors failed is remembered (the last 16 such): reads there ask for
 *   their own sectors only;
 * - reads from several threads at once are safe.  The mutex is not held
 *   across a read below, and a block one thread is reading is waited for
 *   by the others, not read twice;
 * - the read-ahead is synchronous: the read that misses waits for the
 *   whole window.  With FS_CACHE_ASYNC, a sequential stream that has
 *   less than a window cached ahead of it also has the next window
 *   read by a worker thread (one such request at a time), so that a
 *   steady reader does not wait for the drive; failures there are
 *   dropped, the reader meets them itself.  The worker starts at the
 *   first such read-ahead: a process that forks (daemonizes) must do so
 *   before it reads through the cache, or open the cache after.
 */
#ifndef CDS_FS_CACHE_H
#define CDS_FS_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cds_source;

#define FS_CACHE_BLOCK_SECTORS 32u
#define FS_CACHE_DEFAULT_BYTES (64u << 20)

/* fs_cache_new() flags */
#define FS_CACHE_ASYNC 0x1 /* read ahead in a worker thread too */

struct fs_cache_stats {
	uint64_t hits;		    /* blocks reads found cached (or coming) */
	uint64_t misses;	    /* blocks reads had to read below */
	uint64_t reads_below;	    /* requests issued to the source below */
	uint64_t sectors_below;	    /* sectors those requests asked for */
	uint64_t readahead_sectors; /* of them, past the blocks asked for */
	uint64_t background_reads;  /* of the requests, by the worker */
	size_t cached_blocks;	    /* blocks held now */
	size_t max_blocks;	    /* the bound cache_bytes sets */
};

/*
 * A cache of @cache_bytes (0: FS_CACHE_DEFAULT_BYTES; at least one
 * block) in front of @below, which it borrows: @below must outlive the
 * cache, and closing the cache does not close it.  Reads beyond
 * below->nsectors (taken now) fail with -EINVAL as a source's do.
 * @below is read from several threads at once when the cache is (and by
 * the worker): the file and mmc drive sources allow that.  @flags: 0 or
 * FS_CACHE_ASYNC.
 */
int fs_cache_new(struct cds_source *below, size_t cache_bytes, unsigned flags,
		 struct cds_source **out);

/* Counters since fs_cache_new(); zeros if @cache is not a cache. */
void fs_cache_stats(const struct cds_source *cache, struct fs_cache_stats *st);

/* Wait until the worker has no read-ahead posted or under way (for tests
 * and measurements; closing the cache does not need it). */
void fs_cache_wait_idle(struct cds_source *cache);

#endif
