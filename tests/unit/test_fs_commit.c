/*
 * test_fs_commit.c - fs/commit: staged changes burnt as sessions on a
 * virtual disc, read back by the iso/ reader; nothing staged, dummy
 * burns, injected write errors, crashes at several points of a burn and
 * the recovery after them, and the verify pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "fs/commit.h"
#include "fs/medium.h"
#include "iso/node.h"
#include "iso/reader.h"
#include "mmc/cdb.h"
#include "mmc/drive.h"
#include "mmc/drive_int.h"
#include "mmc/emu.h"
#include "staging/commit.h"
#include "staging/overlay.h"
#include "staging/store.h"
#include "tap.h"

/* ---- a mounted disc: medium, store, base tree, overlay ---- */

struct env {
	char disc[PATH_MAX], sdir[PATH_MAX];
	struct fs_medium *m;
	struct stg_store *st;
	struct iso_node *base;
	struct stg_overlay *ov;
	/* fs_resume() at the open, as a mount runs it: its result, and
	 * whether the mount would be read-only because it failed */
	struct fs_commit_result resumed;
	int resume_rc;
	bool ro;
};

static void tmp(char *buf, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", tap_tmpdir(), name);
}

static struct iso_node *empty_root(void)
{
	struct iso_node *r = iso_node_new("", S_IFDIR | 0755);

	if (r) {
		r->nlink = 2;
		r->children_loaded = true;
	}
	return r;
}

/* Open what a mount opens; @recover runs fs_recover() first. */
static int env_open(struct env *e, bool recover, bool *released)
{
	bool rel = false;
	int rc;

	rc = fs_medium_open(e->disc, FS_MEDIUM_WRITE | FS_MEDIUM_BLANK, &e->m);
	if (rc == 0)
		rc = stg_store_open(e->sdir, &e->st);
	if (rc == 0 && recover)
		rc = fs_recover(e->m, e->st, &rel);
	if (released)
		*released = rel;
	if (rc == 0) {
		if (e->m->nsessions == 0) {
			e->base = empty_root();
			rc = e->base ? 0 : -ENOMEM;
		} else {
			rc = fs_medium_read_tree(e->m, e->m->last_start,
						 &e->base);
		}
	}
	if (rc == 0)
		rc = stg_overlay_open(e->st, e->base, e->m->base_id,
				      STG_BASE_ID_SIZE, fs_medium_read_file,
				      e->m, &e->ov);
	e->ro = false;
	e->resume_rc = 0;
	memset(&e->resumed, 0, sizeof(e->resumed));
	if (rc == 0 && recover) {
		/* as fs/fs.c: a failure makes the mount read-only */
		e->resume_rc =
		    fs_resume(e->m, e->st, &e->ov, &e->base, NULL, &e->resumed);
		if (e->resume_rc < 0) {
			printf("# env_open %s: read-only: %s\n", e->disc,
			       cds_errmsg(e->resume_rc));
			e->ro = true;
			if (!e->ov)
				rc = e->resume_rc;
		}
	}
	if (rc < 0)
		printf("# env_open %s: %s\n", e->disc, cds_errmsg(rc));
	return rc;
}

static void env_close(struct env *e)
{
	if (e->ov)
		stg_sync(e->ov);
	stg_overlay_close(e->ov);
	iso_node_free(e->base);
	stg_store_close(e->st);
	fs_medium_close(e->m);
	e->ov = NULL;
	e->base = NULL;
	e->st = NULL;
	e->m = NULL;
}

/* A new blank disc, or the one an earlier test made. */
static void env_init(struct env *e, const char *disc, const char *store)
{
	int rc;

	memset(e, 0, sizeof(*e));
	tmp(e->disc, disc);
	tmp(e->sdir, store);
	rc = mmc_emu_create(e->disc, MMC_EMU_CDR80);
	if (rc < 0 && rc != -EEXIST)
		printf("# create %s: %s\n", e->disc, cds_errmsg(rc));
}

/* env_init() and env_open() with recovery, as a mount: false (reported)
 * when the disc or store cannot be opened. */
static bool env_ready(struct env *e, const char *disc, const char *store)
{
	env_init(e, disc, store);
	if (env_open(e, true, NULL) == 0)
		return true;
	ok(0, "open %s", disc);
	return false;
}

/* ---- staging through the overlay ---- */

static int resolve(struct stg_overlay *ov, const char *path, uint64_t *ino)
{
	char buf[PATH_MAX], *save = NULL, *tok;
	uint64_t cur = STG_ROOT_INO;
	int rc = 0;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && rc == 0;
	     tok = strtok_r(NULL, "/", &save))
		rc = stg_lookup(ov, cur, tok, &cur);
	*ino = cur;
	return rc;
}

/* Split "/a/b/c" into the parent's inode and "c". */
static int parent_of(struct stg_overlay *ov, const char *path, uint64_t *dir,
		     const char **name)
{
	char buf[PATH_MAX];
	const char *slash = strrchr(path, '/');

	snprintf(buf, sizeof(buf), "%.*s", (int)(slash - path), path);
	*name = slash + 1;
	return resolve(ov, buf, dir);
}

static uint8_t pat(uint64_t seed, uint64_t off)
{
	return (uint8_t)(seed * 131 + off * 7 + (off >> 11));
}

static int put_file(struct stg_overlay *ov, const char *path, uint64_t seed,
		    size_t size)
{
	uint64_t dir, ino;
	const char *name;
	uint8_t buf[65536];
	int rc = parent_of(ov, path, &dir, &name);

	if (rc == 0)
		rc = stg_lookup(ov, dir, name, &ino);
	if (rc == -ENOENT)
		rc =
		    stg_create(ov, dir, name, S_IFREG | 0644, 1000, 1000, &ino);
	if (rc == 0) {
		struct stg_attr a = {.size = 0};
		rc = stg_setattr(ov, ino, &a, STG_SET_SIZE);
	}
	for (size_t off = 0; rc == 0 && off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? size - off : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(seed, off + i);
		ssize_t w = stg_write(ov, ino, off, buf, n);
		rc = w < 0 ? (int)w : 0;
	}
	return rc;
}

/* ---- what a session holds ---- */

/* One expected node: type and permissions, content (regular files: the
 * pattern seed and size), symlink target. */
struct want {
	const char *path;
	mode_t mode;
	uint64_t seed;
	size_t size;
	const char *target;
};

static struct iso_node *find(struct iso_node *root, const char *path)
{
	char buf[PATH_MAX], *save = NULL, *tok;
	struct iso_node *n = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && n;
	     tok = strtok_r(NULL, "/", &save))
		n = iso_node_find_child(n, tok);
	return n;
}

static unsigned count_nodes(const struct iso_node *n)
{
	unsigned c = 1;

	for (uint32_t i = 0; i < n->nchildren; i++)
		c += count_nodes(n->children[i]);
	return c;
}

static bool content_ok(struct fs_medium *m, const struct iso_node *n,
		       uint64_t seed, size_t size)
{
	uint8_t buf[65536];

	if (n->size != size)
		return false;
	for (size_t off = 0; off < size; off += sizeof(buf)) {
		size_t len =
		    size - off < sizeof(buf) ? size - off : sizeof(buf);
		if (fs_medium_read_file(m, n, off, buf, len) < 0)
			return false;
		for (size_t i = 0; i < len; i++)
			if (buf[i] != pat(seed, off + i))
				return false;
	}
	return true;
}

/* The tree of the session at @start is exactly @w (plus the root). */
static void check_tree(struct fs_medium *m, uint32_t start,
		       const struct want *w, unsigned nw, const char *what)
{
	struct iso_node *root = NULL;
	unsigned bad = 0;

	if (fs_medium_read_tree(m, start, &root) < 0) {
		ok(0, "%s: read the session at %u: %s", what, start,
		   cds_errmsg(-EIO));
		return;
	}
	for (unsigned i = 0; i < nw; i++) {
		struct iso_node *n = find(root, w[i].path);
		bool good = n && n->mode == w[i].mode;

		if (good && S_ISREG(w[i].mode))
			good = content_ok(m, n, w[i].seed, w[i].size);
		if (good && S_ISLNK(w[i].mode))
			good = n->symlink && !strcmp(n->symlink, w[i].target);
		if (!good) {
			printf("# %s: %s %s (mode %o)\n", what, w[i].path,
			       n ? "differs" : "missing",
			       n ? (unsigned)n->mode : 0u);
			bad++;
		}
	}
	is_int(bad, 0, "%s: every staged node is in the session", what);
	is_int(count_nodes(root), nw + 1, "%s: and nothing else", what);
	iso_node_free(root);
}

static void overlay_clean(struct env *e, uint64_t dir,
			  const struct iso_node *bdir, unsigned *bad);

struct lst {
	char names[64][64];
	uint64_t inos[64];
	unsigned n;
};

static int lst_add(void *ctx, const char *name, uint64_t ino, mode_t mode,
		   uint64_t next)
{
	struct lst *l = ctx;
	(void)mode;
	(void)next;
	if (l->n < 64) {
		snprintf(l->names[l->n], 64, "%s", name);
		l->inos[l->n++] = ino;
	}
	return 0;
}

/* Every entry of the merged view is its base node, unchanged. */
static void overlay_clean(struct env *e, uint64_t dir,
			  const struct iso_node *bdir, unsigned *bad)
{
	struct lst l = {.n = 0};

	stg_readdir(e->ov, dir, 0, lst_add, &l);
	if (l.n != bdir->nchildren)
		(*bad)++;
	for (unsigned i = 0; i < l.n; i++) {
		const struct iso_node *b = NULL;
		unsigned ch = 0;
		if (stg_origin(e->ov, l.inos[i], &b, &ch) < 0 || !b || ch ||
		    strcmp(b->name, l.names[i]) != 0) {
			/* a base hard link may show another name */
			if (!b || ch || !b->ino)
				(*bad)++;
		} else if (iso_node_is_dir(b)) {
			overlay_clean(e, l.inos[i], b, bad);
		}
	}
}

static void check_handed_back(struct env *e, const char *what)
{
	struct stg_intent in;
	unsigned bad = 0;

	ok(e->ov != NULL, "%s: an overlay is handed back", what);
	if (!e->ov)
		return;
	overlay_clean(e, STG_ROOT_INO, e->base, &bad);
	is_int(bad, 0, "%s: the new overlay is empty over the new base", what);
	is_int(stg_commit_read_intent(e->st, &in), -ENOENT,
	       "%s: no intent left", what);
}

static uint32_t disc_nwa(struct env *e)
{
	struct mmc_disc *d = calloc(1, sizeof(*d));
	uint32_t nwa = 0;

	if (d && mmc_drive_disc(e->m->drive, d) == 0)
		nwa = d->nwa_valid ? d->nwa : UINT32_MAX;
	free(d);
	return nwa;
}

/* The volume id of the disc's last session. */
static const char *volume_id(struct env *e)
{
	static char buf[64];
	struct iso_reader *r = NULL;

	buf[0] = '\0';
	if (iso_reader_open(e->m->src, e->m->last_start, NULL, &r) == 0)
		snprintf(buf, sizeof(buf), "%s", iso_reader_volume_id(r));
	iso_reader_close(r);
	return buf;
}

/* ---- progress hooks ---- */

struct seen {
	uint64_t verify_total, verify_done, burn_total, burn_done;
	unsigned max_pct;
	int corrupt_fd; /* >= 0: spoil one sector before the verify */
	uint64_t corrupt_lba;
	int corrupt_where; /* 1: its last sector, 2: the one after it */
	int exit_at;	   /* crash the child: 1 after the last block,
			      2 there after closing the track, 3 at verify,
			      4 at the layout (before the intent), 5 after
			      the intent, before the first block */
	struct mmc_drive *drive;
	double burn_t0, burn_t1; /* first and last burn progress */
	int signal_fd;		 /* > 0: write a byte there mid-burn */
};

static double now(void);

static void hook(const struct fs_commit_progress *p, void *ctx)
{
	struct seen *s = ctx;

	if (p->phase == FS_COMMIT_BURN) {
		if (p->done == 0)
			s->burn_t0 = now();
		if (s->signal_fd > 0 && p->done * 4 >= p->total) {
			if (write(s->signal_fd, "x", 1) != 1)
				_exit(5);
			s->signal_fd = 0;
		}
		s->burn_t1 = now();
		s->burn_total = p->total;
		s->burn_done = p->done;
		if (p->buffer_pct > s->max_pct)
			s->max_pct = p->buffer_pct;
		if (p->total && p->done == p->total && s->exit_at == 2 &&
		    s->drive) {
			/* what SYNCHRONIZE CACHE does inside the finish:
			 * the track is closed, the session is not */
			struct mmc_cmd c;
			mmc_cdb_synchronize_cache(&c, false);
			mmc_drive_run(s->drive, &c);
		}
		if (p->total && p->done == p->total &&
		    (s->exit_at == 1 || s->exit_at == 2))
			_exit(0);
	}
	if ((p->phase == FS_COMMIT_LAYOUT && s->exit_at == 4) ||
	    (p->phase == FS_COMMIT_BURN && p->done == 0 && s->exit_at == 5))
		_exit(0);
	if (p->phase == FS_COMMIT_VERIFY) {
		if (p->done == 0 && s->exit_at == 3)
			_exit(0);
		if (p->done == 0 && s->corrupt_fd >= 0) {
			if (s->corrupt_where)
				s->corrupt_lba +=
				    p->total / 2048 - (s->corrupt_where == 1);
			static const char junk[] = "not what was burnt";
			if (pwrite(s->corrupt_fd, junk, sizeof(junk),
				   (off_t)s->corrupt_lba * 2048) !=
			    (ssize_t)sizeof(junk))
				printf("# corrupt: pwrite failed\n");
		}
		s->verify_total = p->total;
		s->verify_done = p->done;
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the tests ---- */

#define BIG_SIZE (3u << 20)

static const struct want tree1[] = {
    {"/d", S_IFDIR | 0755, 0, 0, NULL},
    {"/d/a.txt", S_IFREG | 0644, 1, 5000, NULL},
    {"/d/b.txt", S_IFREG | 0644, 2, 100, NULL},
    {"/d/sub", S_IFDIR | 0700, 0, 0, NULL},
    {"/d/sub/empty", S_IFREG | 0644, 0, 0, NULL},
    {"/keep.txt", S_IFREG | 0644, 3, 70000, NULL},
    {"/over.txt", S_IFREG | 0644, 4, 3000, NULL},
    {"/big.bin", S_IFREG | 0644, 5, BIG_SIZE, NULL},
    {"/ln", S_IFLNK | 0777, 0, 0, "d/a.txt"},
    {"/hl", S_IFREG | 0644, 1, 5000, NULL},
};

static void test_first_commit(void)
{
	struct env e;
	struct fs_commit_result res;
	struct seen s = {.corrupt_fd = -1};
	struct fs_commit_opts o = {.progress = hook, .ctx = &s};
	uint64_t d, sub, ino;
	int rc;

	if (!env_ready(&e, "disc1", "store1"))
		return;
	is_int(e.m->nsessions, 0, "blank disc: no session");
	rc = stg_mkdir(e.ov, STG_ROOT_INO, "d", S_IFDIR | 0755, 1000, 1000, &d);
	if (rc == 0)
		rc =
		    stg_mkdir(e.ov, d, "sub", S_IFDIR | 0700, 1000, 1000, &sub);
	if (rc == 0)
		rc = stg_create(e.ov, sub, "empty", S_IFREG | 0644, 1000, 1000,
				NULL);
	if (rc == 0)
		rc = put_file(e.ov, "/d/a.txt", 1, 5000);
	if (rc == 0)
		rc = put_file(e.ov, "/d/b.txt", 2, 100);
	if (rc == 0)
		rc = put_file(e.ov, "/keep.txt", 3, 70000);
	if (rc == 0)
		rc = put_file(e.ov, "/over.txt", 4, 3000);
	if (rc == 0)
		rc = put_file(e.ov, "/big.bin", 5, BIG_SIZE);
	if (rc == 0)
		rc = stg_symlink(e.ov, STG_ROOT_INO, "ln", "d/a.txt", 1000,
				 1000, NULL);
	if (rc == 0)
		rc = resolve(e.ov, "/d/a.txt", &ino);
	if (rc == 0)
		rc = stg_link(e.ov, ino, STG_ROOT_INO, "hl");
	is_int(rc, 0, "stage: mkdir, create, write, symlink, link");

	double t0 = now();
	rc = fs_commit(e.m, e.st, &e.ov, &e.base, &o, &res);
	double dt = now() - t0;
	is_int(rc, 0, "first commit: %s", rc < 0 ? cds_errmsg(rc) : "ok");
	ok(res.burnt, "first commit burnt a session");
	printf("# first commit: %u sectors, %" PRIu64 " bytes of new data "
	       "in %.3f s\n",
	       res.nsectors, res.data_bytes, dt);
	is_int(res.start, 0, "first session at LBA 0 of a blank CD");
	is_int(res.data_bytes, 5000 + 100 + 70000 + 3000 + BIG_SIZE,
	       "new data bytes counted once per inode");
	is_int(e.m->nsessions, 1, "the disc has 1 session");
	is_str(e.m->tag, res.tag, "its tag is the commit's");
	is_str(volume_id(&e), "CDROM", "a blank disc's first session: CDROM");
	is_int(s.burn_total, (uint64_t)res.nsectors * 2048,
	       "burn progress total");
	is_int(s.burn_done, s.burn_total, "burn progress reached the total");
	printf("# read-ahead buffer fill peaked at %u%%\n", s.max_pct);
	/* (7) the verify read the whole session, no more */
	is_int(s.verify_total, (uint64_t)res.nsectors * 2048,
	       "verify covers the session's sectors");
	is_int(s.verify_done, s.verify_total, "verify read them all");
	check_tree(e.m, e.m->last_start, tree1,
		   sizeof(tree1) / sizeof(tree1[0]), "session 1");
	{
		struct iso_node *a = find(e.base, "/d/a.txt"),
				*h = find(e.base, "/hl");
		ok(a && h && a->ino == h->ino && a->nlink == 2 && a->nextents &&
		       h->nextents && a->extents[0].lba == h->extents[0].lba,
		   "hard link: one serial, nlink 2, one extent");
	}
	check_handed_back(&e, "first commit");
	env_close(&e);
}

static const struct want tree2[] = {
    {"/e", S_IFDIR | 0755, 0, 0, NULL},
    {"/e/a.txt", S_IFREG | 0644, 1, 5000, NULL},
    {"/e/sub", S_IFDIR | 0700, 0, 0, NULL},
    {"/e/sub/empty", S_IFREG | 0644, 0, 0, NULL},
    {"/keep.txt", S_IFREG | 0644, 3, 70000, NULL},
    {"/over.txt", S_IFREG | 0644, 9, 4000, NULL},
    {"/big.bin", S_IFREG | 0600, 5, BIG_SIZE, NULL},
    {"/new.txt", S_IFREG | 0644, 7, 12345, NULL},
    {"/ln", S_IFLNK | 0777, 0, 0, "d/a.txt"},
    {"/hl", S_IFREG | 0644, 1, 5000, NULL},
};

static bool same_extent(struct iso_node *r1, struct iso_node *r2,
			const char *p1, const char *p2)
{
	struct iso_node *a = find(r1, p1), *b = find(r2, p2);

	return a && b && a->nextents == 1 && b->nextents == 1 &&
	       a->extents[0].lba == b->extents[0].lba &&
	       a->extents[0].length == b->extents[0].length;
}

static void test_second_commit(void)
{
	struct env e;
	struct fs_commit_result res;
	struct iso_node *t1 = NULL, *t2 = NULL;
	uint64_t big;
	uint32_t s1;
	int rc;

	if (!env_ready(&e, "disc1", "store1")) /* made by the first test */
		return;
	s1 = e.m->last_start;
	rc = stg_rename(e.ov, STG_ROOT_INO, "d", STG_ROOT_INO, "e", 0);
	if (rc == 0)
		rc = resolve(e.ov, "/big.bin", &big);
	if (rc == 0) {
		struct stg_attr a = {.mode = 0600};
		rc = stg_setattr(e.ov, big, &a, STG_SET_MODE);
	}
	if (rc == 0) {
		uint64_t e_ino;
		rc = resolve(e.ov, "/e", &e_ino);
		if (rc == 0)
			rc = stg_unlink(e.ov, e_ino, "b.txt");
	}
	if (rc == 0)
		rc = put_file(e.ov, "/new.txt", 7, 12345);
	if (rc == 0)
		rc = put_file(e.ov, "/over.txt", 9, 4000);
	is_int(rc, 0, "stage: rename dir, chmod, unlink, create, overwrite");
	rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	is_int(rc, 0, "second commit: %s", rc < 0 ? cds_errmsg(rc) : "ok");
	ok(res.burnt, "second commit burnt");
	is_int(e.m->nsessions, 2, "the disc has 2 sessions");
	ok(res.start > s1, "session 2 after session 1");
	is_int(res.data_bytes, 12345 + 4000, "only new and changed data");
	check_tree(e.m, e.m->last_start, tree2,
		   sizeof(tree2) / sizeof(tree2[0]), "session 2");
	check_tree(e.m, s1, tree1, sizeof(tree1) / sizeof(tree1[0]),
		   "session 1 still");
	if (fs_medium_read_tree(e.m, s1, &t1) == 0 &&
	    fs_medium_read_tree(e.m, e.m->last_start, &t2) == 0) {
		ok(same_extent(t1, t2, "/keep.txt", "/keep.txt"),
		   "untouched file keeps its extent");
		ok(same_extent(t1, t2, "/big.bin", "/big.bin"),
		   "chmod keeps the extent");
		ok(same_extent(t1, t2, "/d/a.txt", "/e/a.txt"),
		   "a file in a renamed directory keeps its extent");
		ok(same_extent(t1, t2, "/hl", "/hl"), "hard link too");
		ok(!same_extent(t1, t2, "/over.txt", "/over.txt"),
		   "the overwritten file has a new extent");
		struct iso_node *a = find(t2, "/e/a.txt"), *h = find(t2, "/hl");
		ok(a && h && a->ino == h->ino, "hard link keeps its serial");
	} else {
		ok(0, "read both sessions");
	}
	iso_node_free(t1);
	iso_node_free(t2);
	check_handed_back(&e, "second commit");
	env_close(&e);
}

static void test_nothing_staged(void)
{
	struct env e;
	struct fs_commit_result res;
	uint32_t nwa;
	unsigned ns;
	uint64_t ino;
	int rc;

	if (!env_ready(&e, "disc1", "store1"))
		return;
	nwa = disc_nwa(&e);
	ns = e.m->nsessions;
	rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	is_int(rc, 0, "nothing staged: commit succeeds");
	ok(!res.burnt, "nothing staged: nothing burnt");
	/* a change made and undone is no change */
	rc = stg_create(e.ov, STG_ROOT_INO, "tmp", S_IFREG | 0644, 0, 0, &ino);
	if (rc == 0)
		rc = stg_unlink(e.ov, STG_ROOT_INO, "tmp");
	if (rc == 0)
		rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	is_int(rc, 0, "created and removed: commit succeeds");
	ok(!res.burnt, "created and removed: nothing burnt");
	is_int(disc_nwa(&e), nwa, "the next writable address did not move");
	is_int(e.m->nsessions, ns, "no session added");
	env_close(&e);
}

static void test_dummy(void)
{
	struct env e;
	struct fs_commit_result res;
	struct fs_commit_opts o = {.dummy = true};
	struct stg_intent in;
	uint32_t nwa;
	uint64_t ino;
	int rc;

	if (!env_ready(&e, "disc1", "store1"))
		return;
	nwa = disc_nwa(&e);
	rc = put_file(e.ov, "/dummy.txt", 11, 20000);
	if (rc == 0)
		rc = fs_commit(e.m, e.st, &e.ov, &e.base, &o, &res);
	is_int(rc, 0, "dummy commit: %s", rc < 0 ? cds_errmsg(rc) : "ok");
	ok(!res.burnt, "dummy: reported as not burnt");
	ok(res.nsectors > 0, "dummy: the session was laid out");
	is_int(e.m->nsessions, 2, "dummy: no session added");
	is_int(disc_nwa(&e), nwa, "dummy: the next writable address is kept");
	is_int(resolve(e.ov, "/dummy.txt", &ino), 0,
	       "dummy: the change is still staged");
	is_int(stg_commit_read_intent(e.st, &in), -ENOENT, "dummy: no intent");
	/* and it goes on the disc with the next real commit */
	o.dummy = false;
	o.volume_id = "MYDISC";
	rc = fs_commit(e.m, e.st, &e.ov, &e.base, &o, &res);
	is_int(rc, 0, "commit after dummy: %s", rc < 0 ? cds_errmsg(rc) : "ok");
	is_int(e.m->nsessions, 3, "commit after dummy: session 3");
	{
		struct iso_node *n = find(e.base, "/dummy.txt");
		ok(n && content_ok(e.m, n, 11, 20000),
		   "commit after dummy: the file is on the disc");
	}
	is_str(volume_id(&e), "MYDISC", "the volume id given is used");
	rc = put_file(e.ov, "/vol.txt", 12, 10);
	if (rc == 0)
		rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	is_int(rc, 0, "session 4: %s", rc < 0 ? cds_errmsg(rc) : "ok");
	is_str(volume_id(&e), "MYDISC", "the next session keeps it");
	env_close(&e);
}

/* Stage a small tree on a blank-based store. */
static int stage_small(struct env *e, uint64_t seed)
{
	int rc =
	    stg_mkdir(e->ov, STG_ROOT_INO, "x", S_IFDIR | 0755, 0, 0, NULL);
	if (rc == 0)
		rc = put_file(e->ov, "/x/f1", seed, 300000);
	if (rc == 0)
		rc = put_file(e->ov, "/f2", seed + 1, 777);
	return rc;
}

/* A blank disc @disc with store @store holding what @stage puts there
 * (@seed), closed as a mount leaves it, for a child to commit: false
 * (reported) when it could not be opened. */
static bool staged_disc(struct env *e, const char *disc, const char *store,
			int (*stage)(struct env *, uint64_t), uint64_t seed)
{
	if (!env_ready(e, disc, store))
		return false;
	is_int(stage(e, seed), 0, "stage on %s", disc);
	env_close(e);
	return true;
}

static bool small_staged(struct env *e, uint64_t seed)
{
	uint8_t buf[4096];
	uint64_t ino;
	ssize_t n;

	if (resolve(e->ov, "/x/f1", &ino) < 0)
		return false;
	for (uint64_t off = 0; off < 300000; off += (uint64_t)n) {
		n = stg_read(e->ov, ino, off, buf, sizeof(buf));
		if (n <= 0)
			return false;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pat(seed, off + (uint64_t)i))
				return false;
	}
	return resolve(e->ov, "/f2", &ino) == 0;
}

static void check_small_on_disc(struct env *e, uint64_t seed, const char *what)
{
	const struct want w[] = {
	    {"/x", S_IFDIR | 0755, 0, 0, NULL},
	    {"/x/f1", S_IFREG | 0644, seed, 300000, NULL},
	    {"/f2", S_IFREG | 0644, seed + 1, 777, NULL},
	};
	check_tree(e->m, e->m->last_start, w, 3, what);
}

static void test_write_error(void)
{
	struct env e, fresh;
	struct fs_commit_result res;
	struct stg_intent in;
	bool rel = true;
	int rc;

	env_init(&e, "disc5", "store5");
	setenv("CDSESSION_EMU", "write-error=100", 1);
	if (env_open(&e, true, NULL) < 0) {
		ok(0, "open disc5");
		unsetenv("CDSESSION_EMU");
		return;
	}
	is_int(stage_small(&e, 20), 0, "stage on disc5");
	rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	ok(rc < 0, "write error: the commit fails");
	printf("# message: %s\n", cds_errmsg(rc));
	ok(rc < 0 && strstr(cds_errmsg(rc), "write error at LBA 100"),
	   "write error: the message names the cause");
	ok(e.ov && small_staged(&e, 20), "write error: still staged");
	is_int(stg_commit_read_intent(e.st, &in), 0,
	       "write error: the intent is left for fs_recover");
	env_close(&e);
	unsetenv("CDSESSION_EMU");

	/* remount without the fault */
	rc = env_open(&e, true, &rel);
	is_int(rc, 0, "write error: remount with fs_recover");
	ok(!rel, "write error: nothing released");
	is_int(stg_commit_read_intent(e.st, &in), -ENOENT,
	       "write error: fs_recover dropped the intent");
	ok(e.ov && small_staged(&e, 20), "write error: still staged after "
					 "remount");
	/* the track the error cut off is damaged: a CD-R takes no more */
	rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	ok(rc < 0 && strstr(cds_errmsg(rc), "unfinished track"),
	   "damaged disc: the next commit says why it cannot (%s)",
	   cds_errmsg(rc));
	ok(e.ov && small_staged(&e, 20), "damaged disc: still staged");
	env_close(&e);

	/* the same changes go onto another blank disc */
	env_init(&fresh, "disc5b", "store5");
	rc = env_open(&fresh, true, &rel);
	is_int(rc, 0, "new blank disc, same store");
	if (rc == 0) {
		rc = fs_commit(fresh.m, fresh.st, &fresh.ov, &fresh.base, NULL,
			       &res);
		is_int(rc, 0, "the next commit succeeds: %s",
		       rc < 0 ? cds_errmsg(rc) : "ok");
		check_small_on_disc(&fresh, 20, "after the write error");
	}
	env_close(&fresh);
}

/* Commit in a child that dies at @exit_at (see struct seen) or by the
 * power cut in @emu_env; returns the child's wait status. */
static int child_commit(struct env *e, const char *emu_env, int exit_at)
{
	pid_t pid;
	int status = -1;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct seen s = {.corrupt_fd = -1, .exit_at = exit_at};
		struct fs_commit_opts o = {.progress = hook, .ctx = &s};
		struct fs_commit_result res;

		if (emu_env)
			setenv("CDSESSION_EMU", emu_env, 1);
		if (env_open(e, false, NULL) < 0)
			_exit(2);
		s.drive = e->m->drive;
		int rc = fs_commit(e->m, e->st, &e->ov, &e->base, &o, &res);
		/* a crash: no cleanup */
		_exit(rc < 0 ? 3 : 4);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static void test_crash(void)
{
	struct env e;
	struct fs_commit_result res;
	bool rel = true;
	int rc, st;

	/* (a) the power fails mid-burn */
	if (!staged_disc(&e, "disc6", "store6", stage_small, 30))
		return;
	st = child_commit(&e, "power-cut=120", 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 3,
	   "power cut: the child's commit failed (status %d)", st);
	rc = env_open(&e, true, &rel);
	is_int(rc, 0, "power cut: remount, fs_recover");
	ok(!rel, "power cut: nothing released");
	is_int(e.m->nsessions, 0, "power cut: no session on the disc");
	ok(e.ov && small_staged(&e, 30), "power cut: everything still staged");
	env_close(&e);
	env_init(&e, "disc6b", "store6"); /* another blank disc */
	rc = env_open(&e, true, &rel);
	if (rc == 0)
		rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	is_int(rc, 0, "power cut: the next commit succeeds on a new disc");
	if (rc == 0)
		check_small_on_disc(&e, 30, "after the power cut");

	/* (b) killed after the session was closed, before the release */
	rc = put_file(e.ov, "/later", 31, 50000);
	is_int(rc, 0, "stage on disc6b");
	env_close(&e);
	st = child_commit(&e, NULL, 3);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "killed before the verify");
	rc = env_open(&e, true, &rel);
	is_int(rc, 0, "burnt: remount, fs_recover: %s",
	       rc < 0 ? cds_errmsg(rc) : "ok");
	ok(rel, "burnt: the staged copy was released");
	is_int(e.m->nsessions, 2, "burnt: the session is on the disc");
	{
		struct iso_node *n = e.base ? find(e.base, "/later") : NULL;
		ok(n && content_ok(e.m, n, 31, 50000),
		   "burnt: the file is in the new base");
		unsigned bad = 0;
		if (e.ov)
			overlay_clean(&e, STG_ROOT_INO, e.base, &bad);
		is_int(bad, 0, "burnt: nothing staged any more");
	}

	/* (c) killed after the track was closed, the session left open */
	rc = put_file(e.ov, "/third", 32, 40000);
	is_int(rc, 0, "stage for the open-session crash");
	env_close(&e);
	st = child_commit(&e, NULL, 2);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "killed before closing "
						  "the session");
	{
		struct fs_medium *m = NULL;
		struct mmc_disc *d = calloc(1, sizeof(*d));
		if (fs_medium_open(e.disc, FS_MEDIUM_BLANK, &m) == 0 && d &&
		    mmc_drive_disc(m->drive, d) == 0)
			ok(d->nsessions == 3 && !d->sessions[2].complete,
			   "the disc has an open third session");
		else
			ok(0, "read the disc");
		fs_medium_close(m);
		free(d);
	}
	{
		/* a read-only mount must not judge the store yet */
		struct fs_medium *m = NULL;
		struct stg_store *sto = NULL;
		struct stg_intent in;
		rc = fs_medium_open(e.disc, 0, &m);
		if (rc == 0)
			rc = stg_store_open(e.sdir, &sto);
		if (rc == 0)
			rc = fs_recover(m, sto, &rel);
		is_int(rc, 0, "open session, read-only: fs_recover");
		ok(!rel, "open session, read-only: nothing released");
		is_int(sto ? stg_commit_read_intent(sto, &in) : -1, 0,
		       "open session, read-only: the intent is kept");
		stg_store_close(sto);
		fs_medium_close(m);
	}
	rc = env_open(&e, true, &rel);
	is_int(rc, 0, "open session: remount, fs_recover: %s",
	       rc < 0 ? cds_errmsg(rc) : "ok");
	ok(rel, "open session: closed, counted as burnt, released");
	is_int(e.m->nsessions, 3, "open session: now a complete session");
	{
		struct iso_node *n = e.base ? find(e.base, "/third") : NULL;
		ok(n && content_ok(e.m, n, 32, 40000),
		   "open session: the file is in the new base");
	}
	/* a new session can follow */
	rc = put_file(e.ov, "/fourth", 33, 1000);
	if (rc == 0)
		rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	is_int(rc, 0, "a session follows the closed one: %s",
	       rc < 0 ? cds_errmsg(rc) : "ok");
	is_int(e.m->nsessions, 4, "4 sessions");

	/* (d) killed after the last block, the track left open */
	rc = put_file(e.ov, "/fifth", 34, 1000);
	is_int(rc, 0, "stage for the open-track crash");
	env_close(&e);
	st = child_commit(&e, NULL, 1);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "killed with the track "
						  "open");
	rc = env_open(&e, true, &rel);
	is_int(rc, 0, "open track: remount, fs_recover: %s",
	       rc < 0 ? cds_errmsg(rc) : "ok");
	ok(!rel, "open track: nothing released");
	is_int(e.m->nsessions, 4, "open track: still 4 complete sessions");
	{
		uint64_t ino;
		is_int(e.ov ? resolve(e.ov, "/fifth", &ino) : -1, 0,
		       "open track: the change is still staged");
	}
	rc = e.ov ? fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res) : -1;
	ok(rc < 0, "open track: the cut-off track blocks new sessions (%s)",
	   cds_errmsg(rc));
	env_close(&e);
}

/* Spoil sector @lba_off of the new session (or @where, see struct seen)
 * between the burn and the verify. */
static int spoilt_commit(struct env *e, uint32_t lba_off, int where)
{
	struct fs_commit_result res;
	struct seen s = {.corrupt_where = where};
	struct fs_commit_opts o = {.progress = hook, .ctx = &s};
	int rc;

	s.corrupt_lba = disc_nwa(e) + lba_off;
	s.corrupt_fd = open(e->disc, O_WRONLY | O_CLOEXEC);
	rc = fs_commit(e->m, e->st, &e->ov, &e->base, &o, &res);
	close(s.corrupt_fd);
	return rc;
}

static void test_verify_mismatch(void)
{
	struct env e;
	struct stg_intent in;
	bool rel = false;
	int rc;

	if (!env_ready(&e, "disc7", "store7"))
		return;
	is_int(stage_small(&e, 40), 0, "stage on disc7");
	rc = spoilt_commit(&e, 0, 0);
	ok(rc < 0 && strstr(cds_errmsg(rc), "verify"),
	   "a spoilt first sector fails the verify (%s)", cds_errmsg(rc));
	ok(e.ov && small_staged(&e, 40), "verify failure: still staged");
	is_int(stg_commit_read_intent(e.st, &in), -ENOENT,
	       "verify failure: the intent is dropped, never released");
	env_close(&e);
	rc = env_open(&e, true, &rel);
	is_int(rc, -ESTALE,
	       "verify failure: the store conflicts with the "
	       "disc (%s)",
	       cds_errmsg(rc));
	ok(!rel, "verify failure: nothing released");
	env_close(&e);

	/* the verify reads up to the session's last sector, not past it */
	env_init(&e, "disc7b", "store7b");
	rc = env_open(&e, true, NULL);
	if (rc == 0)
		rc = stage_small(&e, 41);
	if (rc == 0)
		rc = spoilt_commit(&e, 0, 1);
	ok(rc < 0 && strstr(cds_errmsg(rc), "verify"),
	   "a spoilt last sector fails the verify (%s)", cds_errmsg(rc));
	env_close(&e);
	env_init(&e, "disc7c", "store7c");
	rc = env_open(&e, true, NULL);
	if (rc == 0)
		rc = stage_small(&e, 42);
	if (rc == 0)
		rc = spoilt_commit(&e, 0, 2);
	is_int(rc, 0, "a spoilt sector after the session is not read (%s)",
	       rc < 0 ? cds_errmsg(rc) : "ok");
	env_close(&e);
}

/* Figures: many files of some size, unpaced emulator. */
static void test_figures(void)
{
	struct env e;
	struct fs_commit_result res;
	char path[64];
	int rc = 0;
	unsigned nfiles = 200;

	if (!env_ready(&e, "disc8", "store8"))
		return;
	for (unsigned i = 0; i < nfiles && rc == 0; i++) {
		snprintf(path, sizeof(path), "/f%03u", i);
		rc = put_file(e.ov, path, i, 100000 + i * 500);
	}
	is_int(rc, 0, "stage %u files", nfiles);
	double t0 = now();
	rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	double dt = now() - t0;
	is_int(rc, 0, "commit %u files: %s", nfiles,
	       rc < 0 ? cds_errmsg(rc) : "ok");
	printf("# commit of %u files, %.1f MB new data, %u sectors: %.3f s "
	       "(burn + verify + release + re-read)\n",
	       nfiles, (double)res.data_bytes / 1e6, res.nsectors, dt);
	env_close(&e);
}

/* Finalize, then nothing more can be burnt; a read-only medium neither. */
static void test_close_disc(void)
{
	struct env e;
	struct fs_commit_result res;
	struct fs_commit_opts o = {.close_disc = true};
	struct fs_medium *ro = NULL;
	uint64_t ino;
	int rc;

	if (!env_ready(&e, "disc8", "store8")) /* made by test_figures */
		return;
	rc = put_file(e.ov, "/last", 50, 9000);
	if (rc == 0)
		rc = fs_commit(e.m, e.st, &e.ov, &e.base, &o, &res);
	is_int(rc, 0, "close_disc commit: %s", rc < 0 ? cds_errmsg(rc) : "ok");
	is_int(e.m->nsessions, 2, "close_disc: session 2");
	rc = put_file(e.ov, "/too-late", 51, 10);
	if (rc == 0)
		rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	is_int(rc, -EROFS, "a finalized disc takes no session (%s)",
	       cds_errmsg(rc));
	is_int(e.ov ? resolve(e.ov, "/too-late", &ino) : -1, 0,
	       "finalized: the change stays staged");
	env_close(&e);
	rc = fs_medium_open(e.disc, 0, &ro);
	if (rc == 0) {
		struct stg_overlay *ov = NULL;
		struct iso_node *base = NULL;
		rc = fs_commit(ro, NULL, &ov, &base, NULL, &res);
		is_int(rc, -EROFS, "a read-only medium is refused (%s)",
		       cds_errmsg(rc));
	} else {
		ok(0, "open disc8 read-only");
	}
	fs_medium_close(ro);
}

/* Figures at a paced speed: how full the read-ahead stays. */
static void test_paced(void)
{
	struct env e;
	struct fs_commit_result res;
	struct seen s = {.corrupt_fd = -1};
	struct fs_commit_opts o = {.progress = hook, .ctx = &s};
	int rc;

	env_init(&e, "disc9", "store9");
	setenv("CDSESSION_EMU", "speed=48", 1);
	rc = env_open(&e, true, NULL);
	unsetenv("CDSESSION_EMU");
	if (rc < 0) {
		ok(0, "open disc9");
		return;
	}
	rc = put_file(e.ov, "/paced.bin", 60, 4u << 20);
	double t0 = now();
	if (rc == 0)
		rc = fs_commit(e.m, e.st, &e.ov, &e.base, &o, &res);
	double dt = now() - t0;
	is_int(rc, 0, "paced commit (48x): %s", rc < 0 ? cds_errmsg(rc) : "ok");
	double bt = s.burn_t1 - s.burn_t0;
	printf("# 48x emulator: %u sectors: writing %.2f s (%.2f MB/s), whole "
	       "commit (lead-in/out, verify, re-read) %.2f s; read-ahead "
	       "buffer peaked at %u%%\n",
	       res.nsectors, bt,
	       bt > 0 ? (double)res.nsectors * 2048 / 1e6 / bt : 0.0, dt,
	       s.max_pct);
	env_close(&e);
}

/* A staged data file that cannot be read while the session is produced:
 * the reader thread's failure stops the burn with its message. */
static void test_producer_error(void)
{
	struct env e;
	struct fs_commit_result res;
	char data[PATH_MAX + 32], name[32];
	uint64_t ino;
	int rc;

	if (!env_ready(&e, "disc10", "store10"))
		return;
	rc = stage_small(&e, 70);
	if (rc == 0)
		rc = resolve(e.ov, "/x/f1", &ino);
	if (rc == 0)
		rc = stg_sync(e.ov);
	is_int(rc, 0, "stage on disc10");
	/* a symlink loop in place of the data file: open fails ELOOP */
	snprintf(name, sizeof(name), "%" PRIu64, ino);
	/* staging/overlay.h: data files live in data/XX/<ino> */
	snprintf(data, sizeof(data), "%s/data/%02x/%s", e.sdir,
		 (unsigned)((ino >> 7) & 0xff), name);
	ok(unlink(data) == 0 && symlink(name, data) == 0,
	   "replace the data file by a symlink loop");
	rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	ok(rc < 0 && strstr(cds_errmsg(rc), "producing the session") &&
	       strstr(cds_errmsg(rc), name),
	   "an unreadable data file fails the commit (%s)", cds_errmsg(rc));
	is_int(e.m->nsessions, 0, "no session counted");
	ok(e.ov != NULL, "the overlay is still there");
	env_close(&e);
}

/* A real kill -9 part-way through a paced burn. */
static void test_kill9(void)
{
	struct env e;
	struct fs_commit_result res;
	bool rel = false;
	int pfd[2], status = 0, rc;
	char c;
	pid_t pid;

	if (!env_ready(&e, "disc11", "store11"))
		return;
	rc = put_file(e.ov, "/k.bin", 80, 2u << 20);
	is_int(rc, 0, "stage on disc11");
	env_close(&e);
	if (pipe(pfd) < 0) {
		ok(0, "pipe");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct seen s = {.corrupt_fd = -1, .signal_fd = pfd[1]};
		struct fs_commit_opts o = {.progress = hook, .ctx = &s};

		close(pfd[0]);
		setenv("CDSESSION_EMU", "speed=8", 1);
		if (env_open(&e, false, NULL) < 0)
			_exit(2);
		rc = fs_commit(e.m, e.st, &e.ov, &e.base, &o, &res);
		_exit(rc < 0 ? 3 : 4);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) == 1)
		kill(pid, SIGKILL);
	close(pfd[0]);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "the committing child was killed mid-burn (status %d)", status);
	rc = env_open(&e, true, &rel);
	is_int(rc, 0, "kill -9: remount, fs_recover: %s",
	       rc < 0 ? cds_errmsg(rc) : "ok");
	if (rc < 0) {
		env_close(&e);
		return;
	}
	if (e.m->nsessions == 1) {
		/* it got through: the session counts */
		struct iso_node *n = find(e.base, "/k.bin");
		ok(rel && n && content_ok(e.m, n, 80, 2u << 20),
		   "kill -9: the session is on the disc, the store released");
	} else {
		uint64_t ino;
		ok(!rel && resolve(e.ov, "/k.bin", &ino) == 0,
		   "kill -9: nothing on the disc, the change still staged");
		env_close(&e);
		env_init(&e, "disc11b", "store11");
		rc = env_open(&e, true, &rel);
		if (rc == 0)
			rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
		is_int(rc, 0,
		       "kill -9: the next commit succeeds on a new disc");
		struct iso_node *n = e.base ? find(e.base, "/k.bin") : NULL;
		ok(n && content_ok(e.m, n, 80, 2u << 20),
		   "kill -9: the file is complete on the new disc");
	}
	env_close(&e);
}

/* Killed before anything reached the disc: during the layout, and just
 * after the intent was recorded (the drive set up, no block written). */
static void test_crash_early(void)
{
	static const char *const what[] = {"during the layout",
					   "after the intent"};
	for (int k = 0; k < 2; k++) {
		struct env e;
		struct fs_commit_result res;
		char disc[16], store[16], intent[PATH_MAX + 16];
		struct stat sb;
		bool rel = true;
		int rc, st;

		snprintf(disc, sizeof(disc), "disc2%d", k);
		snprintf(store, sizeof(store), "store2%d", k);
		if (!staged_disc(&e, disc, store, stage_small,
				 40 + (uint64_t)k))
			return;
		st = child_commit(&e, NULL, 4 + k);
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "killed %s", what[k]);
		snprintf(intent, sizeof(intent), "%s/intent", e.sdir);
		ok((stat(intent, &sb) == 0) == (k == 1),
		   "killed %s: the intent is %s", what[k],
		   k ? "recorded" : "not recorded yet");
		rc = env_open(&e, true, &rel);
		is_int(rc, 0, "killed %s: remount, fs_recover", what[k]);
		ok(!rel, "killed %s: nothing released", what[k]);
		ok(stat(intent, &sb) != 0, "killed %s: no intent left",
		   what[k]);
		is_int(e.m ? e.m->nsessions : 99, 0,
		       "killed %s: no session on the disc", what[k]);
		ok(e.ov && small_staged(&e, 40 + (uint64_t)k),
		   "killed %s: everything still staged", what[k]);
		rc = e.ov ? fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res)
			  : -1;
		is_int(rc, 0, "killed %s: the next commit succeeds", what[k]);
		if (rc == 0)
			check_small_on_disc(&e, 40 + (uint64_t)k, what[k]);
		env_close(&e);
	}
}

/* The small tree plus a file big enough (36 MB, 17578 blocks) that the
 * emulator persists the cut-off track's progress (every 16384 blocks):
 * the drive then reports an NWA past the start. */
#define RESUME_SIZE (36u * 1000 * 1000)

static int stage_big(struct env *e, uint64_t seed)
{
	int rc = stage_small(e, seed);

	if (rc == 0)
		rc = put_file(e->ov, "/big", seed + 2, RESUME_SIZE);
	return rc;
}

static void check_big_on_disc(struct env *e, uint64_t seed, const char *what)
{
	const struct want w[] = {
	    {"/x", S_IFDIR | 0755, 0, 0, NULL},
	    {"/x/f1", S_IFREG | 0644, seed, 300000, NULL},
	    {"/f2", S_IFREG | 0644, seed + 1, 777, NULL},
	    {"/big", S_IFREG | 0644, seed + 2, RESUME_SIZE, NULL},
	};
	check_tree(e->m, e->m->last_start, w, 4, what);
}

/* The last track of the disc, as the drive reports it. */
static bool last_track(struct env *e, struct mmc_track *t, unsigned *nsess,
		       bool *last_complete, bool *nwa_valid)
{
	struct mmc_disc *d = calloc(1, sizeof(*d));
	bool got = d && mmc_drive_disc(e->m->drive, d) == 0 && d->ntracks;

	if (got) {
		*t = d->tracks[d->ntracks - 1];
		*nsess = d->nsessions;
		*last_complete = d->sessions[d->nsessions - 1].complete;
		*nwa_valid = d->nwa_valid;
	}
	free(d);
	return got;
}

/* The intent in @e's store (closed), read without opening the rest. */
static int read_intent(struct env *e, struct stg_intent *in)
{
	struct stg_store *st = NULL;
	int rc = stg_store_open(e->sdir, &st);

	if (rc == 0)
		rc = stg_commit_read_intent(st, in);
	stg_store_close(st);
	return rc;
}

static void test_resume(void)
{
	struct env e;
	struct fs_commit_result res;
	struct stg_intent in;
	struct mmc_track t;
	unsigned nsess = 0;
	bool rel = true, complete = true, nwa_valid = false;
	uint32_t end;
	int rc, st;

	/* (a) a power cut mid-burn that the drive reports continuable */
	if (!staged_disc(&e, "disc12", "store12", stage_big, 60))
		return;
	st = child_commit(&e, "power-cut=17000,cut-continuable", 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 3,
	   "continuable cut: the child's commit failed (status %d)", st);
	is_int(read_intent(&e, &in), 0, "the intent is on file");
	ok(in.now != 0, "it records the writer's time");
	{
		/* the disc as the cut left it */
		struct fs_medium *m = NULL;
		struct env look = e;
		rc = fs_medium_open(e.disc, FS_MEDIUM_BLANK, &m);
		look.m = m;
		ok(rc == 0 &&
		       last_track(&look, &t, &nsess, &complete, &nwa_valid) &&
		       t.damaged && t.continuable && t.start == in.start &&
		       t.nwa == in.start + 16384 && !complete,
		   "cut off: track damaged, continuable at start + 16384");
		fs_medium_close(m);
	}
	rc = env_open(&e, true, &rel);
	is_int(rc, 0, "continuable cut: remount: %s",
	       rc < 0 ? cds_errmsg(rc) : "ok");
	is_int(e.resume_rc, 0, "the session was finished: %s",
	       e.resume_rc < 0 ? cds_errmsg(e.resume_rc) : "ok");
	ok(e.resumed.burnt && !e.ro, "burnt, the mount writable");
	ok(!rel, "fs_recover released nothing (the session was not on the "
		 "disc then)");
	is_int(e.resumed.start, in.start, "at the intent's start");
	is_int(e.m->nsessions, 1, "one complete session");
	is_str(e.m->tag, in.tag, "its tag is the intent's");
	check_big_on_disc(&e, 60, "finished session");
	is_int(stg_commit_read_intent(e.st, &in), -ENOENT,
	       "the intent is gone");
	{
		unsigned bad = 0;
		if (e.ov)
			overlay_clean(&e, STG_ROOT_INO, e.base, &bad);
		is_int(bad, 0, "the staged copy was released");
	}
	ok(last_track(&e, &t, &nsess, &complete, &nwa_valid) && nsess == 1 &&
	       complete && t.complete && !t.damaged && nwa_valid,
	   "toc: one complete session, its track complete, appendable");
	end = t.start + t.blocks;
	is_int(disc_nwa(&e), end + 11400, "the next session after it");
	rc = put_file(e.ov, "/after", 61, 5000);
	if (rc == 0)
		rc = fs_commit(e.m, e.st, &e.ov, &e.base, NULL, &res);
	is_int(rc, 0, "the next commit: %s", rc < 0 ? cds_errmsg(rc) : "ok");
	is_int(e.m->nsessions, 2, "two sessions");
	is_int(res.start, end + 11400, "session 2 after the finished one");
	env_close(&e);

	/* (b) the staged tree changed after the cut: not finished */
	if (!staged_disc(&e, "disc13", "store13", stage_big, 70))
		return;
	st = child_commit(&e, "power-cut=17000,cut-continuable", 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 3,
	   "continuable cut: the child's commit failed (status %d)", st);
	rc = env_open(&e, false, NULL); /* no recovery: change the tree */
	is_int(rc, 0, "open without recovery");
	is_int(rc == 0 ? put_file(e.ov, "/new", 71, 100) : -1, 0,
	       "a file staged after the cut");
	env_close(&e);
	rc = env_open(&e, true, &rel);
	is_int(rc, 0, "changed: remount: %s", rc < 0 ? cds_errmsg(rc) : "ok");
	is_int(e.resume_rc, -ESTALE, "not finished: %s",
	       cds_errmsg(e.resume_rc));
	ok(e.ro && !e.resumed.burnt, "the mount is read-only");
	ok(strstr(cds_errmsg(e.resume_rc), "differs") != NULL,
	   "the message names the cause");
	ok(!rel, "nothing released");
	is_int(e.m->nsessions, 0, "no complete session");
	ok(last_track(&e, &t, &nsess, &complete, &nwa_valid) && t.damaged &&
	       t.continuable && t.nwa == t.start + 16384,
	   "the disc is untouched: the track still cut off at the same NWA");
	ok(e.ov && small_staged(&e, 70), "everything still staged");
	{
		uint64_t ino;
		is_int(e.ov ? resolve(e.ov, "/new", &ino) : -1, 0,
		       "the later change too");
	}
	is_int(stg_commit_read_intent(e.st, &in), 0, "the intent is kept");
	env_close(&e);
}

int main(void)
{
	test_first_commit();
	test_second_commit();
	test_nothing_staged();
	test_dummy();
	test_write_error();
	test_crash();
	test_crash_early();
	test_resume();
	test_verify_mismatch();
	test_figures();
	test_close_disc();
	test_producer_error();
	test_kill9();
	test_paced();
	return tap_done();
}
