/* inomap.c - stable inode numbers across commits. */
#include "inomap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "staging/overlay.h"

struct fs_inomap {
	uint64_t *to_nr; /* by overlay inode */
	uint64_t nto;
	uint64_t *to_ino; /* by stable number */
	uint64_t nfrom;
	uint64_t next_nr; /* above every number handed out */
	bool rebased;	  /* a commit happened: no more identity */
};

/* The captured view: a tree of names with their stable numbers. */
struct cap_ent {
	char *name;
	uint64_t nr;
	struct cap_dir *dir; /* NULL unless a directory */
};

struct cap_dir {
	struct cap_ent *ents; /* sorted by name after capture */
	size_t n, cap;
};

struct fs_inomap_capture {
	struct cap_dir root;
	uint64_t root_nr;
};

static int grow(uint64_t **a, uint64_t *n, uint64_t need)
{
	if (need < *n)
		return 0;
	uint64_t cap = *n ? *n : 1024;
	while (cap <= need)
		cap *= 2;
	uint64_t *p = realloc(*a, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + *n, 0, (cap - *n) * sizeof(*p));
	*a = p;
	*n = cap;
	return 0;
}

int fs_inomap_new(struct fs_inomap **out)
{
	struct fs_inomap *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->next_nr = 2; /* 1 is the root's */
	*out = m;
	return 0;
}

void fs_inomap_free(struct fs_inomap *m)
{
	if (!m)
		return;
	free(m->to_nr);
	free(m->to_ino);
	free(m);
}

static int bind(struct fs_inomap *m, uint64_t ino, uint64_t nr)
{
	if (grow(&m->to_nr, &m->nto, ino) || grow(&m->to_ino, &m->nfrom, nr))
		return -ENOMEM;
	m->to_nr[ino] = nr;
	m->to_ino[nr] = ino;
	if (nr >= m->next_nr)
		m->next_nr = nr + 1;
	return 0;
}

uint64_t fs_inomap_stable(struct fs_inomap *m, uint64_t ino)
{
	if (ino == 0)
		return 0;
	if (ino < m->nto && m->to_nr[ino])
		return m->to_nr[ino];
	/* before any commit numbers equal inode numbers; the root is 1 */
	uint64_t nr = !m->rebased || ino == STG_ROOT_INO ? ino : m->next_nr;
	return bind(m, ino, nr) ? 0 : nr;
}

uint64_t fs_inomap_ino(const struct fs_inomap *m, uint64_t nr)
{
	if (nr < m->nfrom && m->to_ino[nr])
		return m->to_ino[nr];
	/* not handed out yet: before a commit the numbers are the inodes */
	if (!m->rebased && nr >= m->next_nr)
		return nr;
	return nr == STG_ROOT_INO ? STG_ROOT_INO : 0;
}

void fs_inomap_drop(struct fs_inomap *m, uint64_t ino)
{
	if (ino < m->nto && m->to_nr[ino]) {
		m->to_ino[m->to_nr[ino]] = 0;
		m->to_nr[ino] = 0;
	}
}

/* ---- capture and rebase ---- */

static void free_dir(struct cap_dir *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->ents[i].name);
		if (d->ents[i].dir) {
			free_dir(d->ents[i].dir);
			free(d->ents[i].dir);
		}
	}
	free(d->ents);
}

void fs_inomap_capture_free(struct fs_inomap_capture *c)
{
	if (!c)
		return;
	free_dir(&c->root);
	free(c);
}

struct cap_walk {
	struct fs_inomap *m;
	struct stg_overlay *ov;
	struct cap_dir *dir;
	int err;
};

static int capture_dir(struct fs_inomap *m, struct stg_overlay *ov,
		       uint64_t ino, struct cap_dir *d);

static int cap_entry(void *ctx, const char *name, uint64_t ino, mode_t mode,
		     uint64_t next)
{
	struct cap_walk *w = ctx;
	struct cap_dir *d = w->dir;
	(void)next;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct cap_ent *e = realloc(d->ents, cap * sizeof(*e));
		if (!e) {
			w->err = -ENOMEM;
			return 1;
		}
		d->ents = e;
		d->cap = cap;
	}
	struct cap_ent *e = &d->ents[d->n];
	e->name = strdup(name);
	e->nr = fs_inomap_stable(w->m, ino);
	e->dir = S_ISDIR(mode) ? calloc(1, sizeof(*e->dir)) : NULL;
	if (!e->name || !e->nr || (S_ISDIR(mode) && !e->dir)) {
		free(e->name);
		free(e->dir);
		w->err = -ENOMEM;
		return 1;
	}
	d->n++;
	if (e->dir)
		w->err = capture_dir(w->m, w->ov, ino, e->dir);
	return w->err ? 1 : 0;
}

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct cap_ent *)a)->name,
		      ((const struct cap_ent *)b)->name);
}

static int capture_dir(struct fs_inomap *m, struct stg_overlay *ov,
		       uint64_t ino, struct cap_dir *d)
{
	struct cap_walk w = {m, ov, d, 0};
	int rc = stg_readdir(ov, ino, 0, cap_entry, &w);

	if (rc == 0)
		rc = w.err;
	if (rc == 0)
		qsort(d->ents, d->n, sizeof(*d->ents), cmp_ent);
	return rc;
}

int fs_inomap_capture(struct fs_inomap *m, struct stg_overlay *ov,
		      struct fs_inomap_capture **out)
{
	struct fs_inomap_capture *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->root_nr = fs_inomap_stable(m, STG_ROOT_INO);
	rc = capture_dir(m, ov, STG_ROOT_INO, &c->root);
	if (rc) {
		fs_inomap_capture_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

struct rebase_walk {
	struct fs_inomap *m;
	struct stg_overlay *ov;
	const struct cap_dir *old;
	int err;
};

static int rebase_dir(struct fs_inomap *m, struct stg_overlay *ov, uint64_t ino,
		      const struct cap_dir *old);

static int rebase_entry(void *ctx, const char *name, uint64_t ino, mode_t mode,
			uint64_t next)
{
	struct rebase_walk *w = ctx;
	struct cap_ent key = {.name = (char *)name};
	const struct cap_ent *e = w->old
				      ? bsearch(&key, w->old->ents, w->old->n,
						sizeof(*w->old->ents), cmp_ent)
				      : NULL;
	(void)next;

	/* a second name of a hard link was bound by the first */
	if (e && !(ino < w->m->nto && w->m->to_nr[ino]))
		w->err = bind(w->m, ino, e->nr);
	if (!w->err && S_ISDIR(mode))
		w->err = rebase_dir(w->m, w->ov, ino, e ? e->dir : NULL);
	return w->err ? 1 : 0;
}

static int rebase_dir(struct fs_inomap *m, struct stg_overlay *ov, uint64_t ino,
		      const struct cap_dir *old)
{
	struct rebase_walk w = {m, ov, old, 0};
	int rc = stg_readdir(ov, ino, 0, rebase_entry, &w);

	return rc ? rc : w.err;
}

int fs_inomap_rebase(struct fs_inomap *m, struct fs_inomap_capture *c,
		     struct stg_overlay *ov)
{
	/* every old binding goes: what the new view holds is bound again */
	if (m->to_nr)
		memset(m->to_nr, 0, m->nto * sizeof(*m->to_nr));
	if (m->to_ino)
		memset(m->to_ino, 0, m->nfrom * sizeof(*m->to_ino));
	m->rebased = true;
	int rc = bind(m, STG_ROOT_INO, c->root_nr);
	if (rc == 0)
		rc = rebase_dir(m, ov, STG_ROOT_INO, &c->root);
	return rc;
}
