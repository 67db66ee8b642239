/* changes.c - the staged view against its base: one walk, three answers. */
#include "changes.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* Deeper than the overlay allows (2048): a corrupted tree is refused. */
#define MAX_DEPTH 4096

/* Base directories up to this size are searched by a plain scan. */
#define SCAN_MAX 16

enum walk_mode {
	W_COLLECT, /* the list, with paths */
	W_SUMMARY, /* count and bytes */
	W_ANY,	   /* stop at the first change */
};

struct stg_changes {
	struct stg_change *v;
	size_t n, cap;
};

/* A regular file's data for the summary: a hard link's inode once. */
struct data_ref {
	uint64_t ino, size;
};

struct walk {
	struct stg_overlay *ov;
	enum walk_mode mode;
	int err;
	bool changed; /* W_ANY: found one */

	/* base nodes still in the view; a base node not here is deleted */
	const struct iso_node **seen;
	size_t nseen, seen_cap;

	struct stg_changes *list; /* W_COLLECT */
	char path[PATH_MAX], from[PATH_MAX];

	uint64_t count, bytes; /* W_SUMMARY */
	struct data_ref *links;
	size_t nlinks, links_cap;
};

struct name_ix;

/* One directory being listed. */
struct dir_walk {
	struct walk *w;
	size_t len; /* of its path in w->path (W_COLLECT) */
	int depth;
	const struct iso_node *bdir; /* the base directory compared with */
	struct name_ix *index;	     /* bdir's children by name, lazily */
	uint64_t nent;		     /* entries listed */
};

static int grow(void *pp, size_t *cap, size_t n, size_t size, size_t first)
{
	void **p = pp;

	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : first;
	void *q = realloc(*p, ncap * size);
	if (!q)
		return cds_error(-ENOMEM, "out of memory");
	*p = q;
	*cap = ncap;
	return 0;
}

static int add_seen(struct walk *w, const struct iso_node *b)
{
	int rc = grow(&w->seen, &w->seen_cap, w->nseen, sizeof(*w->seen), 256);

	if (rc == 0)
		w->seen[w->nseen++] = b;
	return rc;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const struct iso_node *const *)a;
	uintptr_t y = (uintptr_t) * (const struct iso_node *const *)b;
	return x < y ? -1 : x > y;
}

static int add_change(struct walk *w, const char *path, const char *flags,
		      const char *from, uint64_t ino)
{
	struct stg_changes *l = w->list;
	int rc = grow(&l->v, &l->cap, l->n, sizeof(*l->v), 64);

	if (rc)
		return rc;
	struct stg_change *c = &l->v[l->n];
	char *p = strdup(path), *f = from ? strdup(from) : NULL;
	if (!p || (from && !f)) {
		free(p);
		free(f);
		return cds_error(-ENOMEM, "out of memory");
	}
	c->path = p;
	c->old_path = f;
	snprintf(c->flags, sizeof(c->flags), "%s", flags);
	c->ino = ino;
	l->n++;
	return 0;
}

/* ---- base lookups ---- */

struct name_ix {
	const struct iso_node *n;
	uint32_t pos; /* among the children: of equal names, the first wins */
};

static int cmp_ix(const void *a, const void *b)
{
	const struct name_ix *x = a, *y = b;
	int c = strcmp(x->n->name, y->n->name);
	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* The base child @name of the directory walked, NULL if none: the first
 * of that name, as the overlay keeps the first (duplicates are hostile). */
static const struct iso_node *base_child(struct dir_walk *d, const char *name)
{
	const struct iso_node *dir = d->bdir;
	uint32_t n = dir ? dir->nchildren : 0;

	if (n <= SCAN_MAX) {
		for (uint32_t i = 0; i < n; i++)
			if (strcmp(dir->children[i]->name, name) == 0)
				return dir->children[i];
		return NULL;
	}
	if (!d->index) {
		d->index = malloc(n * sizeof(*d->index));
		if (!d->index) {
			d->w->err = cds_error(-ENOMEM, "out of memory");
			return NULL;
		}
		for (uint32_t i = 0; i < n; i++)
			d->index[i] = (struct name_ix){dir->children[i], i};
		qsort(d->index, n, sizeof(*d->index), cmp_ix);
	}
	uint32_t lo = 0, hi = n;
	while (lo < hi) { /* the first slot whose name is >= @name */
		uint32_t mid = lo + (hi - lo) / 2;
		if (strcmp(d->index[mid].n->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && strcmp(d->index[lo].n->name, name) == 0)
		return d->index[lo].n;
	return NULL;
}

/* The same file of the base: the node itself or another name of it. */
static bool same_file(const struct iso_node *a, const struct iso_node *b)
{
	return a && b &&
	       (a == b || (!iso_node_is_dir(a) && a->ino && a->ino == b->ino &&
			   a->nlink > 1));
}

/* The path of base node @n (the reader nests at most 1024 levels). */
static size_t base_path_at(const struct iso_node *n, char *buf, size_t cap)
{
	size_t len;

	if (!n || !n->parent)
		return 0;
	len = base_path_at(n->parent, buf, cap);
	if (len < cap)
		len += (size_t)snprintf(buf + len, cap - len, "/%s", n->name);
	return len;
}

static void base_path(const struct iso_node *n, char *buf, size_t cap)
{
	if (base_path_at(n, buf, cap) == 0)
		snprintf(buf, cap, "/");
}

/* ---- the view ---- */

static int walk_view(struct walk *w, uint64_t dir, size_t len, int depth,
		     const struct iso_node *bdir);

/* Count a change that is not a deletion (W_SUMMARY). */
static int count_change(struct walk *w, const char *flags, uint64_t ino,
			mode_t mode)
{
	struct stg_attr a;
	int rc;

	w->count++;
	if ((flags[0] != 'A' && !strchr(flags, 'M')) || !S_ISREG(mode))
		return 0;
	rc = stg_getattr(w->ov, ino, &a);
	if (rc < 0 || !S_ISREG(a.mode))
		return 0; /* as the list's user: not counted */
	if (a.nlink <= 1) {
		w->bytes += a.size;
		return 0;
	}
	/* hard links: summed once each after the walk */
	rc = grow(&w->links, &w->links_cap, w->nlinks, sizeof(*w->links), 64);
	if (rc == 0)
		w->links[w->nlinks++] = (struct data_ref){ino, a.size};
	return rc;
}

static int view_entry(void *ctx, const char *name, uint64_t ino, mode_t mode,
		      uint64_t next)
{
	struct dir_walk *d = ctx;
	struct walk *w = d->w;
	const struct iso_node *b = NULL, *here;
	unsigned changed = 0;
	char flags[4];
	size_t n = 0;
	(void)next;

	d->nent++;
	if (w->mode == W_COLLECT &&
	    (size_t)snprintf(w->path + d->len, PATH_MAX - d->len, "/%s",
			     name) >= PATH_MAX - d->len) {
		w->path[d->len] = '\0';
		w->err = cds_error(-ENAMETOOLONG, "%s/%s: path too long",
				   w->path, name);
		return 1;
	}
	w->err = stg_origin(w->ov, ino, &b, &changed);
	here = w->err ? NULL : base_child(d, name);
	if (w->err)
		return 1;
	if (!b)
		flags[n++] = 'A';
	else if (!same_file(b, here))
		flags[n++] = 'R';
	if (changed & STG_CHANGED_DATA)
		flags[n++] = 'M';
	if (changed & STG_CHANGED_ATTR)
		flags[n++] = 'm';
	flags[n] = '\0';
	if (w->mode == W_ANY) {
		if (n) {
			w->changed = true;
			return 1;
		}
	} else {
		/* a moved inode accounts for its origin; an unmoved one for
		 * the base name here (of a hard link, maybe not the name
		 * stg_origin() gives) */
		if (b)
			w->err = add_seen(w, flags[0] == 'R' ? b : here);
		if (!w->err && n && w->mode == W_COLLECT) {
			if (flags[0] == 'R')
				base_path(b, w->from, sizeof(w->from));
			w->err =
			    add_change(w, w->path, flags,
				       flags[0] == 'R' ? w->from : NULL, ino);
		} else if (!w->err && n) {
			w->err = count_change(w, flags, ino, mode);
		}
	}
	if (!w->err && S_ISDIR(mode))
		w->err = walk_view(
		    w, ino, w->mode == W_COLLECT ? strlen(w->path) : 0,
		    d->depth + 1, b && iso_node_is_dir(b) ? b : NULL);
	if (w->mode == W_COLLECT)
		w->path[d->len] = '\0';
	return w->err || w->changed ? 1 : 0;
}

static int walk_view(struct walk *w, uint64_t dir, size_t len, int depth,
		     const struct iso_node *bdir)
{
	struct dir_walk d = {.w = w, .len = len, .depth = depth, .bdir = bdir};
	int rc;

	if (depth > MAX_DEPTH)
		return cds_error(-ELOOP, "staged tree too deep");
	rc = stg_readdir(w->ov, dir, 0, view_entry, &d);
	free(d.index);
	if (rc == 0)
		rc = w->err;
	/* with every entry unchanged (else it stopped), a base name that is
	 * not listed is a deletion: the entries are distinct base names */
	if (rc == 0 && w->mode == W_ANY && !w->changed &&
	    d.nent != (bdir ? bdir->nchildren : 0))
		w->changed = true;
	return rc;
}

/* ---- the base ---- */

static bool is_seen(const struct walk *w, const struct iso_node *c)
{
	return w->nseen &&
	       bsearch(&c, w->seen, w->nseen, sizeof(*w->seen), cmp_ptr);
}

/* Base nodes that are nowhere in the view: deleted. */
static int walk_deleted(struct walk *w, const struct iso_node *dir, size_t len,
			int depth)
{
	if (depth > MAX_DEPTH)
		return cds_error(-ELOOP, "base tree too deep");
	for (uint32_t i = 0; i < dir->nchildren; i++) {
		const struct iso_node *c = dir->children[i];
		size_t clen = 0;
		int rc = 0;
		if (w->mode == W_COLLECT) {
			if (snprintf(w->path + len, PATH_MAX - len, "/%s",
				     c->name) >= (int)(PATH_MAX - len))
				return cds_error(-ENAMETOOLONG,
						 "%s: path too long", w->path);
			clen = strlen(w->path);
		}
		if (!is_seen(w, c)) {
			if (w->mode == W_COLLECT)
				rc = add_change(w, w->path, "D", NULL, 0);
			else
				w->count++;
		}
		if (!rc && iso_node_is_dir(c))
			rc = walk_deleted(w, c, clen, depth + 1);
		if (w->mode == W_COLLECT)
			w->path[len] = '\0';
		if (rc)
			return rc;
	}
	return 0;
}

static int cmp_data(const void *a, const void *b)
{
	const struct data_ref *x = a, *y = b;
	return (x->ino > y->ino) - (x->ino < y->ino);
}

static int cmp_change(const void *a, const void *b)
{
	const struct stg_change *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	/* a deletion before what now has its name */
	return c ? c : (x->flags[0] != 'D') - (y->flags[0] != 'D');
}

/* The view, then the base against what the view showed of it. */
static int run(struct walk *w, const struct iso_node *base_root)
{
	int rc;

	/* the root's own attributes (a chmod of the mount point): "m /" */
	const struct iso_node *rb = NULL;
	unsigned rch = 0;
	rc = stg_origin(w->ov, STG_ROOT_INO, &rb, &rch);
	if (rc == 0 && (rb != base_root || rch)) {
		if (w->mode == W_COLLECT)
			rc = add_change(w, "/", "m", NULL, STG_ROOT_INO);
		else if (w->mode == W_SUMMARY)
			w->count++;
		else
			w->changed = true;
	}
	if (rc || w->changed)
		goto out;
	w->path[0] = '\0';
	rc = walk_view(w, STG_ROOT_INO, 0, 0, base_root);
	if (rc == 0 && w->mode != W_ANY) {
		if (w->nseen) /* qsort(NULL, 0) is undefined */
			qsort(w->seen, w->nseen, sizeof(*w->seen), cmp_ptr);
		w->path[0] = '\0';
		rc = walk_deleted(w, base_root, 0, 0);
	}
out:
	free(w->seen);
	w->seen = NULL;
	return rc;
}

static struct walk *walk_new(struct stg_overlay *ov, enum walk_mode mode)
{
	/* the path buffers are too big for the stack of a FUSE thread */
	struct walk *w = calloc(1, sizeof(*w));

	if (!w) {
		cds_error(-ENOMEM, "out of memory");
		return NULL;
	}
	w->ov = ov;
	w->mode = mode;
	return w;
}

int stg_changes_collect(struct stg_overlay *ov,
			const struct iso_node *base_root,
			struct stg_changes **out)
{
	struct walk *w = walk_new(ov, W_COLLECT);
	struct stg_changes *l = calloc(1, sizeof(*l));
	int rc = w && l ? 0 : cds_error(-ENOMEM, "out of memory");

	*out = NULL;
	if (rc == 0) {
		w->list = l;
		rc = run(w, base_root);
	}
	free(w);
	if (rc < 0) {
		stg_changes_free(l);
		return rc;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_change);
	*out = l;
	return 0;
}

size_t stg_changes_count(const struct stg_changes *c)
{
	return c ? c->n : 0;
}

const struct stg_change *stg_changes_at(const struct stg_changes *c, size_t i)
{
	return &c->v[i];
}

void stg_changes_free(struct stg_changes *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free((char *)c->v[i].path);
		free((char *)c->v[i].old_path);
	}
	free(c->v);
	free(c);
}

int stg_changes_summary(struct stg_overlay *ov,
			const struct iso_node *base_root, uint64_t *count,
			uint64_t *bytes)
{
	struct walk *w = walk_new(ov, W_SUMMARY);
	int rc = w ? 0 : -ENOMEM;

	*count = *bytes = 0;
	if (rc == 0)
		rc = run(w, base_root);
	if (rc == 0) {
		if (w->nlinks)
			qsort(w->links, w->nlinks, sizeof(*w->links), cmp_data);
		for (size_t i = 0; i < w->nlinks; i++)
			if (i == 0 || w->links[i].ino != w->links[i - 1].ino)
				w->bytes += w->links[i].size;
		*count = w->count;
		*bytes = w->bytes;
	}
	if (w)
		free(w->links);
	free(w);
	return rc;
}

int stg_changes_any(struct stg_overlay *ov, const struct iso_node *base_root,
		    bool *changed)
{
	struct walk *w = walk_new(ov, W_ANY);
	int rc;

	*changed = false;
	if (!w)
		return -ENOMEM;
	rc = run(w, base_root);
	if (rc == 0)
		*changed = w->changed;
	free(w);
	return rc;
}
