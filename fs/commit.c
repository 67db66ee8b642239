/* commit.c - burn what is staged as a new session; recover after a crash. */
#include "commit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/log.h"
#include "common/sector.h"
#include "fs/medium.h"
#include "iso/closing.h"
#include "iso/node.h"
#include "iso/reader.h"
#include "iso/writer.h"
#include "mmc/drive.h"
#include "staging/changes.h"
#include "staging/commit.h"
#include "staging/journal.h"
#include "staging/overlay.h"
#include "staging/store.h"

/* One slot of the read-ahead ring: 128 KiB, a few WRITE(10)s; 32 slots
 * (4 MiB) ride out a slow data file or a directory being rendered
 * without letting the drive's own buffer run dry. */
#define CHUNK_SECTORS 64u
#define RING_SLOTS    32u
#define CHUNK_BYTES   ((size_t)CHUNK_SECTORS * CDS_SECTOR_SIZE)

/* Deeper than the overlay allows (2048): a corrupted tree is refused. */
#define MAX_DEPTH 4096

/* ---- small helpers ---- */

static uint64_t max_serial(const struct iso_node *n, int depth)
{
	uint64_t m = n->ino;

	for (uint32_t i = 0; depth < MAX_DEPTH && i < n->nchildren; i++) {
		uint64_t c = max_serial(n->children[i], depth + 1);
		if (c > m)
			m = c;
	}
	return m;
}

/* New data of the session: hard links (one serial, several names) are
 * written once, as the writer lays them out. */
struct data_count {
	uint64_t bytes;
	uint64_t *seen; /* serials of multi-link files counted */
	size_t n, cap;
};

static void count_data(struct data_count *dc, const struct iso_node *n,
		       int depth)
{
	if (n->content && n->nlink > 1 && n->ino) {
		for (size_t i = 0; i < dc->n; i++)
			if (dc->seen[i] == n->ino)
				goto children;
		if (dc->n == dc->cap) {
			size_t cap = dc->cap ? dc->cap * 2 : 16;
			uint64_t *p = realloc(dc->seen, cap * sizeof(*p));
			if (p) {
				dc->seen = p;
				dc->cap = cap;
			}
		}
		/* out of memory: a link may count twice; only a figure */
		if (dc->n < dc->cap)
			dc->seen[dc->n++] = n->ino;
	}
	if (n->content)
		dc->bytes += n->size;
children:
	for (uint32_t i = 0; depth < MAX_DEPTH && i < n->nchildren; i++)
		count_data(dc, n->children[i], depth + 1);
}

static uint64_t new_data_bytes(const struct iso_node *root)
{
	struct data_count dc = {0};

	count_data(&dc, root, 0);
	free(dc.seen);
	return dc.bytes;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Progress with a rate over the last second or so. */
struct meter {
	const struct fs_commit_opts *o;
	struct fs_commit_progress p;
	double t0, last_t;
	uint64_t last_done;
};

static void meter_start(struct meter *mt, const struct fs_commit_opts *o,
			enum fs_commit_phase phase, uint64_t total)
{
	mt->o = o;
	memset(&mt->p, 0, sizeof(mt->p));
	mt->p.phase = phase;
	mt->p.total = total;
	mt->t0 = mt->last_t = now_s();
	mt->last_done = 0;
	if (o && o->progress)
		o->progress(&mt->p, o->ctx);
}

static void meter_update(struct meter *mt, uint64_t done, unsigned pct)
{
	double t;

	if (!mt->o || !mt->o->progress)
		return;
	t = now_s();
	if (t - mt->last_t >= 1.0) {
		mt->p.bytes_per_s =
		    (double)(done - mt->last_done) / (t - mt->last_t);
		mt->last_t = t;
		mt->last_done = done;
	} else if (!mt->p.bytes_per_s && t > mt->t0) {
		mt->p.bytes_per_s = (double)done / (t - mt->t0);
	}
	mt->p.done = done;
	mt->p.buffer_pct = pct;
	mt->o->progress(&mt->p, mt->o->ctx);
}

/* ---- the read-ahead ring: a producer thread renders sectors ---- */

struct ring {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *buf; /* RING_SLOTS * CHUNK_BYTES */
	struct iso_writer *w;
	uint32_t total, nchunks;
	uint32_t produced, consumed; /* chunks */
	uint32_t *crc;		     /* per chunk, for the verify */
	/* resuming a cut-off burn: the first @skip sectors are on the disc
	 * from @start already; they are read back and compared, not
	 * written */
	uint32_t skip, start;
	struct mmc_drive *d;
	bool stop;
	int err;
	char msg[512]; /* the producer's message: messages are per thread */
};

static uint32_t chunk_len(const struct ring *r, uint32_t i)
{
	uint32_t left = r->total - i * CHUNK_SECTORS;
	return left < CHUNK_SECTORS ? left : CHUNK_SECTORS;
}

static void *producer(void *arg)
{
	struct ring *r = arg;

	for (uint32_t i = 0; i < r->nchunks; i++) {
		uint8_t *slot = r->buf + (size_t)(i % RING_SLOTS) * CHUNK_BYTES;
		uint32_t n = chunk_len(r, i);
		int rc;

		pthread_mutex_lock(&r->mu);
		while (!r->stop && r->produced - r->consumed == RING_SLOTS)
			pthread_cond_wait(&r->cv, &r->mu);
		bool stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
		rc = iso_writer_read(r->w, i * CHUNK_SECTORS, n, slot);
		if (rc == 0) /* the consumer reads crc[] only at the verify */
			r->crc[i] =
			    stg_crc32c(0, slot, (size_t)n * CDS_SECTOR_SIZE);
		pthread_mutex_lock(&r->mu);
		if (rc < 0) {
			r->err = rc;
			snprintf(r->msg, sizeof(r->msg), "%s", cds_errmsg(rc));
			r->stop = true;
		} else {
			r->produced++;
		}
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		if (rc < 0)
			break;
	}
	return NULL;
}

/* The part of chunk @i below r->skip is on the disc already: it must be
 * what was generated now, else the session would not be the one begun. */
static int compare_prefix(struct ring *r, uint32_t i, const uint8_t *slot,
			  uint32_t n, uint8_t *buf)
{
	uint32_t first = i * CHUNK_SECTORS, lba = r->start + first;
	int rc;

	rc = mmc_drive_read(r->d, lba, n, buf);
	if (rc < 0)
		return cds_error_wrap(rc, "reading back the cut-off track");
	for (uint32_t k = 0; k < n; k++)
		if (memcmp(buf + (size_t)k * CDS_SECTOR_SIZE,
			   slot + (size_t)k * CDS_SECTOR_SIZE,
			   CDS_SECTOR_SIZE) != 0)
			return cds_error(-ESTALE,
					 "LBA %u on the disc differs from the "
					 "session laid out again (the staged "
					 "changes are not those of the cut-off "
					 "burn)",
					 lba + k);
	return 0;
}

/* Feed the drive from the ring until the session is written. */
static int burn_stream(struct ring *r, struct mmc_burn *b, struct meter *mt)
{
	uint8_t *cmp = NULL;
	int rc = 0;

	if (r->skip) {
		cmp = malloc(CHUNK_BYTES);
		if (!cmp)
			return cds_error(-ENOMEM, "out of memory");
	}

	for (uint32_t i = 0; i < r->nchunks; i++) {
		unsigned pct;

		pthread_mutex_lock(&r->mu);
		while (r->produced == i && !r->err)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->produced == i)
			rc = cds_error(r->err, "producing the session: %s",
				       r->msg);
		pct = (unsigned)((r->produced - i) * 100u / RING_SLOTS);
		pthread_mutex_unlock(&r->mu);
		if (rc < 0)
			break;
		const uint8_t *slot =
		    r->buf + (size_t)(i % RING_SLOTS) * CHUNK_BYTES;
		uint32_t n = chunk_len(r, i), first = i * CHUNK_SECTORS;
		uint32_t old = r->skip > first ? r->skip - first : 0;

		if (old > n)
			old = n;
		if (old)
			rc = compare_prefix(r, i, slot, old, cmp);
		if (rc == 0 && n > old)
			rc = mmc_burn_write(
			    b, slot + (size_t)old * CDS_SECTOR_SIZE, n - old);
		if (rc < 0)
			break;
		pthread_mutex_lock(&r->mu);
		r->consumed++;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		meter_update(mt,
			     (uint64_t)(i * CHUNK_SECTORS + chunk_len(r, i)) *
				 CDS_SECTOR_SIZE,
			     pct);
	}
	free(cmp);
	return rc;
}

static int burn_ring(struct ring *r, struct mmc_burn *b, struct meter *mt)
{
	pthread_t th;
	int rc;

	r->buf = malloc((size_t)RING_SLOTS * CHUNK_BYTES);
	if (!r->buf)
		return cds_error(-ENOMEM, "out of memory");
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	rc = -pthread_create(&th, NULL, producer, r);
	if (rc < 0) {
		rc = cds_error(rc, "starting the burn's reader thread: %s",
			       strerror(-rc));
	} else {
		rc = burn_stream(r, b, mt);
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(th, NULL);
	}
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r->buf);
	r->buf = NULL;
	return rc;
}

/* Read the session back and compare with the CRCs taken while burning. */
static int verify(struct mmc_drive *d, uint32_t start, const struct ring *r,
		  struct meter *mt)
{
	uint8_t *buf = malloc(CHUNK_BYTES);
	int rc = 0;

	if (!buf)
		return cds_error(-ENOMEM, "out of memory");
	for (uint32_t i = 0; i < r->nchunks && rc == 0; i++) {
		uint32_t n = chunk_len(r, i), lba = start + i * CHUNK_SECTORS;

		rc = mmc_drive_read(d, lba, n, buf);
		if (rc < 0)
			rc = cds_error_wrap(rc, "verify");
		else if (stg_crc32c(0, buf, (size_t)n * CDS_SECTOR_SIZE) !=
			 r->crc[i])
			rc = cds_error(-EIO,
				       "verify: the disc differs from what was "
				       "written in LBA %u-%u",
				       lba, lba + n - 1);
		else
			meter_update(mt,
				     (uint64_t)(i * CHUNK_SECTORS + n) *
					 CDS_SECTOR_SIZE,
				     0);
	}
	free(buf);
	return rc;
}

/* Where the session goes, or why none can. */
static int next_address(struct mmc_drive *d, uint32_t *nwa)
{
	struct mmc_disc *disc = malloc(sizeof(*disc));
	int rc;

	if (!disc)
		return cds_error(-ENOMEM, "out of memory");
	rc = mmc_drive_disc(d, disc);
	if (rc == 0 && disc->status == MMC_DISC_COMPLETE)
		rc = cds_error(-EROFS, "disc is closed (finalized); no more "
				       "sessions can be written");
	for (unsigned i = 0; rc == 0 && i < disc->ntracks; i++)
		if (!disc->tracks[i].complete || disc->tracks[i].damaged)
			rc = cds_error(-EUCLEAN,
				       "the disc has an unfinished track from "
				       "an interrupted burn (track %u)%s",
				       disc->tracks[i].number,
				       disc->erasable ? "; blank it" : "");
	if (rc == 0 && disc->nsessions &&
	    !disc->sessions[disc->nsessions - 1].complete)
		rc = cds_error(-EUCLEAN, "the disc has an unclosed session "
					 "from an interrupted burn: remount "
					 "or run cdsession-fix");
	if (rc == 0 && !disc->nwa_valid)
		rc = cds_error(-ENOSPC, "the disc has no next writable "
					"address: it is full");
	if (rc == 0)
		*nwa = disc->nwa;
	free(disc);
	return rc;
}

/* The base session's volume id (kept, as xorriso keeps it). */
static int base_volume_id(struct fs_medium *m, char *buf, size_t cap)
{
	struct iso_reader *r = NULL;
	int rc;

	if (m->nsessions == 0) {
		snprintf(buf, cap, "CDROM");
		return 0;
	}
	rc = iso_reader_open(m->src, m->last_start, NULL, &r);
	if (rc == 0)
		snprintf(buf, cap, "%s", iso_reader_volume_id(r));
	iso_reader_close(r);
	if (rc == 0 && !buf[0])
		snprintf(buf, cap, "CDROM");
	return rc < 0 ? cds_error_wrap(rc, "reading the base session") : 0;
}

/* ---- fs_commit ---- */

struct commit {
	struct fs_medium *m;
	struct stg_store *st;
	const struct fs_commit_opts *o;
	struct fs_commit_result *res;
	struct iso_node *snap;
	struct iso_writer *w;
	struct mmc_burn *b;
	struct ring ring;
	struct meter mt;
	time_t now; /* the writer's time, recorded in the intent */
	bool intent;
};

/* Lay the snapshot out as a session at @start with the commit's tag and
 * time: a pure function of (snapshot, base, start, tag, volume id, time),
 * which fs_resume() relies on. */
static int layout_at(struct commit *c, const struct iso_node *base,
		     uint32_t start)
{
	struct iso_write_opts wo = {0};
	char vol[64];
	uint64_t top;
	int rc;

	if (!c->o->volume_id) {
		rc = base_volume_id(c->m, vol, sizeof(vol));
		if (rc < 0)
			return rc;
	}
	top = max_serial(base, 0);
	if (max_serial(c->snap, 0) > top)
		top = max_serial(c->snap, 0);
	wo.start_lba = start;
	wo.volume_id = c->o->volume_id ? c->o->volume_id : vol;
	wo.tag = c->res->tag;
	wo.next_ino = top + 1;
	wo.now = c->now;
	rc = iso_writer_new(c->snap, &wo, &c->w);
	if (rc < 0)
		return cds_error_wrap(rc, "laying out the session");
	c->res->start = start;
	c->res->nsectors = iso_writer_nsectors(c->w);
	c->res->data_bytes = new_data_bytes(c->snap);
	return 0;
}

/* Lay out the session at the next writable address and begin the burn. */
static int layout(struct commit *c, const struct iso_node *base)
{
	uint32_t nwa = 0;
	int rc;

	rc = next_address(c->m->drive, &nwa);
	if (rc == 0)
		rc = stg_commit_new_tag(c->res->tag);
	if (rc < 0)
		return rc;
	/* explicit, and recorded in the intent: a session cut off by a power
	 * loss can then be laid out again byte for byte (fs_resume()) */
	c->now = time(NULL);
	rc = layout_at(c, base, nwa);
	if (rc < 0)
		return rc;
	struct mmc_burn_opts bo = {
	    .multi = !c->o->close_disc,
	    .dummy = c->o->dummy,
	    .speed = c->o->speed,
	};
	rc = mmc_burn_begin(c->m->drive, &bo, c->res->nsectors, &c->b);
	if (rc < 0)
		return rc;
	if (mmc_burn_start_lba(c->b) != nwa)
		return cds_error(-EIO,
				 "the drive would write the session at LBA %u, "
				 "but it was laid out for LBA %u (the next "
				 "writable address it reported)",
				 mmc_burn_start_lba(c->b), nwa);
	return 0;
}

/* Stream the laid-out session to the burn begun (from c->ring.skip on)
 * and close it. */
static int burn_session(struct commit *c)
{
	int rc;

	c->ring.w = c->w;
	c->ring.total = c->res->nsectors;
	c->ring.nchunks =
	    (c->res->nsectors + CHUNK_SECTORS - 1) / CHUNK_SECTORS;
	c->ring.crc =
	    calloc(c->ring.nchunks ? c->ring.nchunks : 1, sizeof(*c->ring.crc));
	if (!c->ring.crc)
		return cds_error(-ENOMEM, "out of memory");
	meter_start(&c->mt, c->o, FS_COMMIT_BURN,
		    (uint64_t)c->res->nsectors * CDS_SECTOR_SIZE);
	rc = burn_ring(&c->ring, c->b, &c->mt);
	if (rc < 0)
		return rc;
	rc = mmc_burn_finish(c->b);
	c->b = NULL; /* freed by finish, also on failure */
	return rc;
}

static int burn(struct commit *c, const uint8_t *base_id)
{
	struct stg_intent in = {.start = c->res->start};
	int rc;

	/* a dummy burn leaves nothing on the disc: no intent to record */
	if (!c->o->dummy) {
		memcpy(in.base, base_id, STG_BASE_ID_SIZE);
		snprintf(in.tag, sizeof(in.tag), "%s", c->res->tag);
		in.now = c->now;
		rc = stg_commit_intent(c->st, &in);
		if (rc < 0)
			return rc;
		c->intent = true;
	}
	return burn_session(c);
}

/* Hand the new session to the caller: its tree, a fresh overlay over it. */
static int rebase(struct commit *c, const uint8_t *old_id,
		  struct stg_overlay **ov, struct iso_node **base)
{
	struct iso_node *root = NULL;
	struct stg_overlay *nov = NULL;
	int rc;

	rc = fs_medium_refresh(c->m);
	if (rc == 0 && strcmp(c->m->tag, c->res->tag) != 0)
		rc = cds_error(-EIO,
			       "after the burn the disc's last session is "
			       "not the new one (tag \"%s\", expected \"%s\")",
			       c->m->tag, c->res->tag);
	if (rc == 0)
		rc = fs_medium_read_tree(c->m, c->m->last_start, &root);
	if (rc < 0)
		return rc; /* the intent stays: fs_recover() releases */
	/* The release wants the overlay closed.  Should it or the reopen
	 * fail, the caller still gets an overlay: over the new base when
	 * the old journal is gone, else over the old one (its journal
	 * intact; the intent lets fs_recover() release it later); NULL
	 * only when neither opens. */
	stg_overlay_close(*ov);
	*ov = NULL;
	rc = stg_commit_release(c->st);
	int orc = stg_overlay_open(c->st, root, c->m->base_id, STG_BASE_ID_SIZE,
				   fs_medium_read_file, c->m, &nov);
	if (orc == 0) {
		iso_node_free(*base);
		*base = root;
	} else {
		struct cds_error_state saved;

		iso_node_free(root);
		if (!rc)
			rc = orc;
		cds_error_save(&saved);
		if (stg_overlay_open(c->st, *base, old_id, STG_BASE_ID_SIZE,
				     fs_medium_read_file, c->m, &nov) < 0)
			nov = NULL;
		cds_error_restore(&saved);
	}
	*ov = nov;
	return rc;
}

/* After the burn: verify, release the staged copy, rebase. */
static int verify_release(struct commit *c, const uint8_t *base_id,
			  struct stg_overlay **ov, struct iso_node **base)
{
	int rc;

	if (!c->o->no_verify) {
		meter_start(&c->mt, c->o, FS_COMMIT_VERIFY,
			    (uint64_t)c->res->nsectors * CDS_SECTOR_SIZE);
		rc = verify(c->m->drive, c->res->start, &c->ring, &c->mt);
		if (rc < 0) {
			/* The session is on the disc but wrong: it must not
			 * count as burnt (fs_recover() would release the
			 * staged copy).  Without the intent the store reads
			 * as staged over an older session (STALE): kept
			 * untouched for `cdsession staging export`. */
			struct cds_error_state saved;

			cds_error_save(&saved);
			if (stg_commit_drop_intent(c->st) == 0)
				c->intent = false;
			cds_error_restore(&saved);
			return rc;
		}
	}
	/* the contents read the overlay's data files: free before closing */
	iso_writer_free(c->w);
	c->w = NULL;
	iso_node_free(c->snap);
	c->snap = NULL;
	c->res->burnt = true;
	rc = rebase(c, base_id, ov, base);
	if (rc == 0)
		meter_start(&c->mt, c->o, FS_COMMIT_DONE, 0);
	return rc;
}

static void commit_end(struct commit *c)
{
	if (c->b) {
		struct cds_error_state saved;

		cds_error_save(&saved);
		mmc_burn_abort(c->b);
		cds_error_restore(&saved);
	}
	if (c->intent && c->o->dummy)
		stg_commit_drop_intent(c->st);
	iso_writer_free(c->w);
	iso_node_free(c->snap);
	free(c->ring.crc);
}

int fs_commit(struct fs_medium *m, struct stg_store *st,
	      struct stg_overlay **ov, struct iso_node **base,
	      const struct fs_commit_opts *o, struct fs_commit_result *res)
{
	static const struct fs_commit_opts defaults = {0};
	struct commit c = {
	    .m = m, .st = st, .o = o ? o : &defaults, .res = res};
	uint8_t base_id[STG_BASE_ID_SIZE];
	bool changed = false;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!m->writable)
		return cds_error(-EROFS, "%s was opened read-only: cannot burn",
				 m->path);
	memcpy(base_id, m->base_id, sizeof(base_id));
	meter_start(&c.mt, c.o, FS_COMMIT_LAYOUT, 0);
	/* the journal then describes exactly the snapshot */
	rc = stg_sync(*ov);
	if (rc == 0)
		rc = stg_changes_any(*ov, *base, &changed);
	if (rc < 0 || !changed)
		goto out;
	rc = stg_snapshot(*ov, &c.snap);
	if (rc == 0)
		rc = layout(&c, *base);
	if (rc == 0)
		rc = burn(&c, base_id);
	if (rc < 0)
		goto out;
	if (c.o->dummy) {
		res->burnt = false;
		goto out;
	}
	rc = verify_release(&c, base_id, ov, base);
out:
	commit_end(&c);
	if (rc < 0)
		return cds_error_wrap(rc, "commit");
	return 0;
}

/* ---- fs_resume ---- */

/* The cut-off track of the disc's open session, or NULL. */
static const struct mmc_track *cut_track(const struct mmc_disc *disc)
{
	const struct mmc_track *t;

	if (disc->status == MMC_DISC_COMPLETE || !disc->nsessions ||
	    disc->sessions[disc->nsessions - 1].complete || !disc->ntracks)
		return NULL;
	t = &disc->tracks[disc->ntracks - 1];
	if (t->session != disc->sessions[disc->nsessions - 1].number ||
	    !t->damaged)
		return NULL;
	return t;
}

/* Is the intent the one of the burn that @t's session was cut off in? */
static int intent_for(struct fs_medium *m, struct stg_store *st,
		      const struct mmc_track *t, struct stg_intent *in)
{
	int rc = stg_commit_read_intent(st, in);

	if (rc == -ENOENT)
		return cds_error(-ENOENT,
				 "no commit intent names the session "
				 "at LBA %u",
				 t->start);
	if (rc < 0)
		return rc;
	if (in->start != t->start ||
	    memcmp(in->base, m->base_id, STG_BASE_ID_SIZE) != 0)
		return cds_error(-ESTALE,
				 "the commit intent names a session at LBA %u "
				 "over another base, not the one cut off at "
				 "LBA %u",
				 in->start, t->start);
	if (!in->now)
		return cds_error(
		    -ENOEXEC, "the commit intent was recorded without the "
			      "writer's time (an older version): the session "
			      "cannot be laid out again");
	return 0;
}

int fs_resume(struct fs_medium *m, struct stg_store *st,
	      struct stg_overlay **ov, struct iso_node **base,
	      const struct fs_commit_opts *o, struct fs_commit_result *res)
{
	static const struct fs_commit_opts defaults = {0};
	struct commit c = {
	    .m = m, .st = st, .o = o ? o : &defaults, .res = res};
	uint8_t base_id[STG_BASE_ID_SIZE];
	struct mmc_disc *disc = NULL;
	const struct mmc_track *t;
	struct stg_intent in;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!m->writable)
		return 0;
	disc = malloc(sizeof(*disc));
	if (!disc)
		return cds_error(-ENOMEM, "out of memory");
	rc = mmc_drive_disc(m->drive, disc);
	if (rc < 0)
		goto out;
	t = cut_track(disc);
	if (!t)
		goto out; /* nothing cut off */
	if (c.o->dummy) {
		rc = cds_error(-EROFS, "a test write (dummy) does not finish "
				       "the session an interrupted burn cut "
				       "off");
		goto out;
	}
	if (!t->continuable) {
		rc = cds_error(-EUCLEAN,
			       "the drive cannot continue track %u that an "
			       "interrupted burn cut off",
			       t->number);
		goto out;
	}
	rc = intent_for(m, st, t, &in);
	if (rc < 0)
		goto out;
	memcpy(base_id, m->base_id, sizeof(base_id));
	snprintf(res->tag, sizeof(res->tag), "%s", in.tag);
	c.now = (time_t)in.now;
	c.intent = true; /* on file already */
	meter_start(&c.mt, c.o, FS_COMMIT_LAYOUT, 0);
	/* exactly as the interrupted commit laid it out: its snapshot is
	 * what the journal holds (nothing can change before this runs) */
	rc = stg_sync(*ov);
	if (rc == 0)
		rc = stg_snapshot(*ov, &c.snap);
	if (rc == 0)
		rc = layout_at(&c, *base, in.start);
	if (rc < 0)
		goto out;
	struct mmc_burn_opts bo = {.multi = !c.o->close_disc,
				   .speed = c.o->speed};
	rc = mmc_burn_resume(m->drive, &bo, in.start, res->nsectors, &c.b);
	if (rc < 0)
		goto out;
	c.ring.skip = mmc_burn_next_lba(c.b) - in.start;
	c.ring.start = in.start;
	c.ring.d = m->drive;
	cds_log(CDS_LOG_INFO,
		"%s: finishing the session cut off at LBA %u: %u of %u "
		"blocks were on the disc",
		m->path, in.start, c.ring.skip, res->nsectors);
	/* blocks [start, NWA) are compared before the first write: a
	 * mismatch leaves the disc untouched */
	rc = burn_session(&c);
	if (rc == 0)
		rc = verify_release(&c, base_id, ov, base);
out:
	commit_end(&c);
	free(disc);
	if (rc < 0)
		return cds_error_wrap(rc, "finishing the interrupted burn");
	return 0;
}

/* ---- fs_recover ---- */

/*
 * A burn cut off leaves the session open.  If its tracks are complete (a
 * crash between closing the track and closing the session) it can be
 * closed, appendable, and the session counts.  A track cut off mid-write
 * is damaged: the emulator, like a CD-R drive, then refuses CLOSE SESSION
 * (05/72/03) and any WRITE behind it (05/21/02), so a CD-R takes no new
 * session.  That is logged, not an error: the staged changes are intact,
 * and the next commit names the cause.  A CD-RW's broken session is
 * blanked (BLANK type 6), and the next commit burns it again.  A drive may
 * instead report the cut-off track as continuable (Damage=1 NWA_V=1): then
 * *@cut is set, and fs_resume() may finish the session.
 */
static int close_open_session(struct fs_medium *m, bool *pending, bool *cut,
			      uint32_t *cut_start)
{
	struct mmc_disc *disc = malloc(sizeof(*disc));
	const struct mmc_session *last;
	int rc;

	if (!disc)
		return cds_error(-ENOMEM, "out of memory");
	rc = mmc_drive_disc(m->drive, disc);
	if (rc < 0 || disc->status == MMC_DISC_COMPLETE || !disc->nsessions)
		goto out;
	last = &disc->sessions[disc->nsessions - 1];
	if (last->complete &&
	    disc->last_session_state != MMC_SESSION_INCOMPLETE)
		goto out;
	for (unsigned i = 0; i < disc->ntracks; i++)
		if (disc->tracks[i].session == last->number &&
		    (!disc->tracks[i].complete || disc->tracks[i].damaged)) {
			if (disc->tracks[i].continuable && !disc->erasable &&
			    m->writable) {
				/* a CD-R: what is on the disc may be kept and
				 * finished (a CD-RW is blanked, as ever) */
				cds_log(CDS_LOG_INFO,
					"%s: track %u was cut off by an "
					"interrupted burn; the drive can "
					"continue it at LBA %u",
					m->path, disc->tracks[i].number,
					disc->tracks[i].nwa);
				*cut = true;
				*cut_start = disc->tracks[i].start;
				goto out;
			}
			if (disc->erasable && m->writable) {
				/* a CD-RW: blank the broken session; what it
				 * was to hold is still staged */
				cds_log(
				    CDS_LOG_WARN,
				    "%s: track %u was cut off by an "
				    "interrupted burn; blanking its session",
				    m->path, disc->tracks[i].number);
				rc = mmc_drive_blank_session(m->drive);
				if (rc == 0)
					rc = fs_medium_refresh(m);
				goto out;
			}
			cds_log(CDS_LOG_WARN,
				"%s: track %u was cut off by an interrupted "
				"burn; no session can follow it%s",
				m->path, disc->tracks[i].number,
				disc->erasable ? " until the disc is blanked"
					       : "");
			goto out;
		}
	if (last->complete)
		goto out; /* an empty open session: nothing to close */
	if (!m->writable) {
		*pending = true;
		goto out;
	}
	cds_log(CDS_LOG_INFO, "%s: closing the session left open at LBA %u",
		m->path, last->start);
	rc = mmc_drive_close_session(m->drive, true);
	if (rc == 0)
		rc = fs_medium_refresh(m);
out:
	free(disc);
	return rc;
}

int fs_recover(struct fs_medium *m, struct stg_store *st, bool *released)
{
	struct stg_state_info info;
	struct stg_intent in;
	bool pending = false, cut = false;
	uint32_t cut_start = 0;
	int rc;

	*released = false;
	rc = close_open_session(m, &pending, &cut, &cut_start);
	if (rc < 0)
		return cds_error_wrap(rc, "recovering %s", m->path);
	if (cut && stg_commit_read_intent(st, &in) == 0 &&
	    in.start == cut_start &&
	    memcmp(in.base, m->base_id, STG_BASE_ID_SIZE) == 0)
		/* judging the store would drop the intent fs_resume() needs
		 * (its session is not on the disc yet): leave it all */
		return 0;
	if (pending) {
		/* Judging the store now would drop an intent whose session
		 * is on the disc, only not closed yet: leave it all as it
		 * is for a writable mount. */
		cds_log(CDS_LOG_WARN,
			"%s: a session was left open by an interrupted burn; "
			"mount the disc writable to close it",
			m->path);
		return 0;
	}
	rc = stg_store_state(st, m->base_id, m->tag[0] ? m->tag : NULL, &info);
	if (rc < 0)
		return rc;
	switch (info.state) {
	case STG_STATE_BURNT:
		rc = stg_commit_release(st);
		if (rc == 0)
			*released = true;
		return rc;
	case STG_STATE_STALE:
		return stg_stale_error(st, info.staged_base, m->base_id);
	case STG_STATE_EMPTY:
	case STG_STATE_CURRENT:
	default:
		return 0;
	}
}

/* ---- closing the disc ---- */

/* An appendable disc whose last session is already closed: write a final
 * session repeating the previous tree (see iso/closing.h). */
static int close_with_final_session(struct mmc_drive *d)
{
	struct mmc_burn_opts bo = {.multi = false};
	struct cds_source *src = NULL;
	struct mmc_burn *b = NULL;
	uint32_t last, next;
	uint8_t *buf = NULL;
	int rc;

	rc = mmc_drive_msinfo(d, &last, &next);
	if (rc < 0)
		return rc;
	buf = malloc((size_t)MMC_CD_MIN_TRACK * CDS_SECTOR_SIZE);
	if (!buf)
		return -ENOMEM;
	rc = mmc_drive_source(d, &src);
	if (rc < 0)
		goto out;
	rc = mmc_burn_begin(d, &bo, MMC_CD_MIN_TRACK, &b);
	if (rc < 0)
		goto out;
	rc = iso_closing_session(src, last, mmc_burn_start_lba(b),
				 MMC_CD_MIN_TRACK, buf);
	if (rc == 0)
		rc = mmc_burn_write(b, buf, MMC_CD_MIN_TRACK);
	if (rc < 0) {
		mmc_burn_abort(b);
		goto out;
	}
	rc = mmc_burn_finish(b);
out:
	cds_source_close(src);
	free(buf);
	return rc;
}

int fs_close_disc(struct mmc_drive *d, bool *already)
{
	struct mmc_disc *disc = calloc(1, sizeof(*disc));
	int rc;

	*already = false;
	if (!disc)
		return -ENOMEM;
	rc = mmc_drive_disc(d, disc);
	if (rc < 0)
		goto out;
	switch (disc->status) {
	case MMC_DISC_COMPLETE:
		*already = true;
		goto out;
	case MMC_DISC_EMPTY:
		rc = cds_error(-EINVAL, "the disc is blank: there is no "
					"session to close");
		goto out;
	case MMC_DISC_INCOMPLETE:
		break;
	default:
		rc = cds_error(-EMEDIUMTYPE,
			       "%s discs have no sessions to close",
			       disc->media_name);
		goto out;
	}
	/* the drive layer refuses a session holding a damaged track */
	if (disc->last_session_state == MMC_SESSION_INCOMPLETE)
		rc = mmc_drive_close_session(d, false);
	else
		rc = close_with_final_session(d);
out:
	free(disc);
	return rc;
}
