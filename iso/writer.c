/* writer.c - plan a session's layout, then produce its sectors on demand. */
#include "writer.h"

#include <cdio/iso9660.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/error.h"
#include "iso/names.h"
#include "iso/rrip_write.h"

#define NONE	       UINT32_MAX
#define SYSTEM_AREA    16  /* zero sectors before the descriptors */
#define END_PADDING    150 /* as genisoimage: TAO read-ahead stays inside */
#define MAX_DEPTH      8   /* ECMA-119 6.8.2.1, the root is level 1 */
#define SECTION_MAX    0xFFFFF800u /* libisofs: 4 GiB - 2 KiB per section */
#define PREFETCH_FILES 64
#define PREFETCH_BYTES (16u << 20)
#define SYMLINK_MAX    4095
#define RECORD_BASE    33
#define RECORD_MAX     255
#define FLAG_DIR       0x02
#define FLAG_MULTI     0x80

/* What a record of an ECMA-119 directory stands for. */
enum rec_kind {
	REC_NODE,	 /* the entry itself */
	REC_PLACEHOLDER, /* a relocated directory's place: a file with CL */
	REC_RELOCATED,	 /* the relocated directory in rr_moved, with RE */
};

/* One name in its logical directory. */
struct went {
	struct iso_node *node;
	uint32_t dir;  /* wdir of a directory, else NONE */
	uint32_t data; /* wfile of new data, else NONE */
	uint64_t serial;
	uint32_t jid_off; /* Joliet identifier in w->jpool */
	uint8_t jid_len;  /* UCS-2 characters */
};

/* One record of an ECMA-119 directory. */
struct wrec {
	struct went *e;
	uint8_t kind;
	uint8_t id_len;
	char id[ISO_NAMES_ISO_MAX];
};

struct wdir {
	struct iso_node *node;
	struct went *self; /* its entry in the logical parent (root: NULL) */
	uint32_t parent;   /* ECMA-119 parent (after relocation) */
	uint32_t lparent;  /* logical parent */
	uint32_t depth;	   /* ECMA-119 level, root = 1 */
	bool relocated, synthetic;
	uint64_t serial;
	uint32_t nlink;

	struct went *ents; /* logical children, UTF-8 byte order */
	uint32_t nents;
	struct wrec *recs; /* ECMA-119 records in 9.3 order */
	uint32_t nrecs, recs_cap;
	struct went **jrecs; /* Joliet records in Joliet order */
	uint32_t njrecs;

	uint8_t id_len; /* identifier in the ECMA-119 parent */
	char id[ISO_NAMES_ISO_MAX];
	uint32_t ptnum, jptnum; /* path table record numbers (1-based) */
	uint32_t lba, size, ca_blocks;
	uint32_t jlba, jsize;
};

struct wfile {
	const struct iso_node *node;
	uint32_t lba;
	uint32_t nsect;
};

struct iso_writer {
	struct iso_write_opts o;
	char volume_id[33], tag[ISO_WRITER_TAG_MAX + 1];
	struct iso_node *root;
	struct iso_node *rr_moved_node; /* synthetic rr_moved, owned */

	struct wdir *dirs;
	uint32_t ndirs, dirs_cap;
	uint32_t rr_moved; /* wdir index or NONE */
	uint32_t *order;   /* ECMA-119 directories in path table order */
	uint32_t *jorder;  /* Joliet directories in path table order */
	uint32_t njdirs;

	struct wfile *files;
	uint32_t nfiles, files_cap;
	uint32_t prefetched; /* files[0 .. prefetched) were asked ahead */

	uint16_t *jpool;
	uint32_t jpool_len, jpool_cap;

	uint64_t next_serial;
	struct {
		uint64_t *keys;
		uint32_t *vals;
		uint32_t cap, n;
	} links; /* serial -> wfile, for hard links with new data */

	/* sectors 16 .. meta_end: descriptors and the four path tables */
	uint8_t *meta;
	uint32_t meta_sectors;
	uint32_t pt_size, jpt_size;
	uint32_t pt_l, pt_m, jpt_l, jpt_m; /* absolute LBAs */
	uint32_t dirs_start, jdirs_start, data_start, pad_start, nsectors;

	/* the last directory rendered (sequential reads render each once) */
	uint8_t *cache;
	size_t cache_cap;
	uint32_t cache_dir;
	bool cache_joliet, cache_valid;
};

/* ---- helpers ---------------------------------------------------------- */

/* "/a/b" of a node, for messages. */
static size_t node_path(const struct iso_node *n, char *buf, size_t cap)
{
	size_t len;

	if (!n || !n->parent) {
		buf[0] = '\0';
		return 0;
	}
	len = node_path(n->parent, buf, cap);
	if (len < cap)
		len += (size_t)snprintf(buf + len, cap - len, "/%s", n->name);
	return len;
}

static int bad_node(int err, const struct iso_node *n, const char *why)
{
	char path[1024];

	if (!node_path(n, path, sizeof(path)))
		snprintf(path, sizeof(path), "/");
	return cds_error(err, "%s: %s", path, why);
}

static uint32_t blocks(uint64_t bytes)
{
	return (uint32_t)((bytes + CDS_SECTOR_SIZE - 1) / CDS_SECTOR_SIZE);
}

static int grow_array(void **p, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = reallocarray(*p, n, size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static int link_find(struct iso_writer *w, uint64_t key, uint32_t **val)
{
	uint32_t i;

	if (w->links.n * 2 >= w->links.cap) {
		uint32_t cap = w->links.cap ? w->links.cap * 2 : 1024, j;
		uint64_t *keys = calloc(cap, sizeof(*keys));
		uint32_t *vals = calloc(cap, sizeof(*vals));

		if (!keys || !vals) {
			free(keys);
			free(vals);
			return -ENOMEM;
		}
		for (j = 0; j < w->links.cap; j++) {
			if (!w->links.keys[j])
				continue;
			i = (uint32_t)(w->links.keys[j] * 0x9E3779B97F4A7C15u >>
				       32) &
			    (cap - 1);
			while (keys[i])
				i = (i + 1) & (cap - 1);
			keys[i] = w->links.keys[j];
			vals[i] = w->links.vals[j];
		}
		free(w->links.keys);
		free(w->links.vals);
		w->links.keys = keys;
		w->links.vals = vals;
		w->links.cap = cap;
	}
	i = (uint32_t)(key * 0x9E3779B97F4A7C15u >> 32) & (w->links.cap - 1);
	while (w->links.keys[i] && w->links.keys[i] != key)
		i = (i + 1) & (w->links.cap - 1);
	if (!w->links.keys[i]) {
		w->links.keys[i] = key;
		w->links.vals[i] = NONE;
		w->links.n++;
	}
	*val = &w->links.vals[i];
	return 0;
}

/* ---- planning: the tree ------------------------------------------------ */

static int new_dir(struct iso_writer *w, struct iso_node *node,
		   struct went *self, uint32_t lparent, uint32_t *out)
{
	struct wdir *d;
	int rc = grow_array((void **)&w->dirs, &w->dirs_cap, w->ndirs + 1,
			    sizeof(*w->dirs));

	if (rc)
		return rc;
	d = &w->dirs[w->ndirs];
	memset(d, 0, sizeof(*d));
	d->node = node;
	d->self = self;
	d->lparent = lparent;
	d->parent = lparent;
	d->serial = node->ino ? node->ino : w->next_serial++;
	if (self)
		self->serial = d->serial;
	*out = w->ndirs++;
	return 0;
}

static int add_rec(struct wdir *d, struct went *e, uint8_t kind)
{
	int rc = grow_array((void **)&d->recs, &d->recs_cap, d->nrecs + 1,
			    sizeof(*d->recs));

	if (rc)
		return rc;
	d->recs[d->nrecs].e = e;
	d->recs[d->nrecs].kind = kind;
	d->nrecs++;
	return 0;
}

static int cmp_child_names(const void *a, const void *b)
{
	const struct iso_node *x = *(struct iso_node *const *)a;
	const struct iso_node *y = *(struct iso_node *const *)b;

	return strcmp(x->name, y->name);
}

static int check_node(const struct iso_node *n)
{
	mode_t t = n->mode & S_IFMT;
	int rc = iso_name_check(n->name, strlen(n->name));

	if (rc)
		return bad_node(rc, n, cds_errmsg(rc));
	if (t == S_IFLNK) {
		if (!n->symlink || !n->symlink[0])
			return bad_node(-EINVAL, n, "symlink without a target");
		if (strlen(n->symlink) > SYMLINK_MAX)
			return bad_node(-ENAMETOOLONG, n,
					"symlink target longer than 4095 "
					"bytes");
	}
	if (t == S_IFREG && n->size && !n->nextents && !n->content)
		return bad_node(-EINVAL, n, "regular file without data");
	if (t == S_IFREG && n->nextents) {
		uint64_t sum = 0;

		for (uint32_t i = 0; i < n->nextents; i++)
			sum += n->extents[i].length;
		if (sum != n->size)
			return bad_node(-EINVAL, n,
					"extents do not add up to the size");
	}
	if (t != S_IFREG && t != S_IFDIR && t != S_IFLNK && t != S_IFCHR &&
	    t != S_IFBLK && t != S_IFIFO && t != S_IFSOCK)
		return bad_node(-EINVAL, n, "unknown file type");
	return 0;
}

/* The directory relocated directories go to: an existing /rr_moved of
 * the tree (an earlier session's, shown empty by the reader) or a new
 * one left out of the Joliet tree. */
static int reloc_dir(struct iso_writer *w, uint32_t *out)
{
	static const char *const names[] = {"rr_moved", ".rr_moved"};
	struct wdir *root = &w->dirs[0];
	int rc;

	if (w->rr_moved != NONE)
		goto out;
	for (size_t k = 0; k < 2 && w->rr_moved == NONE; k++) {
		bool taken = false;

		for (uint32_t i = 0; i < root->nents; i++) {
			struct went *e = &root->ents[i];

			if (strcmp(e->node->name, names[k]) != 0)
				continue;
			taken = true;
			if (e->dir != NONE)
				w->rr_moved = e->dir;
		}
		if (taken || w->rr_moved != NONE)
			continue;
		w->rr_moved_node = iso_node_new(names[k], S_IFDIR | 0555);
		if (!w->rr_moved_node)
			return -ENOMEM;
		w->rr_moved_node->mtime.tv_sec = w->o.now;
		w->rr_moved_node->atime = w->rr_moved_node->mtime;
		w->rr_moved_node->ctime = w->rr_moved_node->mtime;
		rc = new_dir(w, w->rr_moved_node, NULL, 0, &w->rr_moved);
		if (rc)
			return rc;
		w->dirs[w->rr_moved].synthetic = true;
		w->dirs[w->rr_moved].depth = 2;
		/* its record in the root, not in the Joliet tree */
		w->rr_moved_node->ino = w->dirs[w->rr_moved].serial;
		rc = add_rec(&w->dirs[0], NULL, REC_NODE);
		if (rc)
			return rc;
	}
	if (w->rr_moved == NONE)
		return cds_error(-EINVAL,
				 "/rr_moved and /.rr_moved are taken: no "
				 "place for relocated directories");
out:
	*out = w->rr_moved;
	return 0;
}

/* Read the children of wdir @di into entries and records. */
static int scan_dir(struct iso_writer *w, uint32_t di)
{
	struct iso_node *dn = w->dirs[di].node;
	struct iso_node **kids = NULL;
	uint32_t n = dn->nchildren, nsub = 0;
	int rc = 0;

	if (n) {
		kids = malloc((size_t)n * sizeof(*kids));
		w->dirs[di].ents = calloc(n, sizeof(struct went));
		if (!kids || !w->dirs[di].ents) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(kids, dn->children, (size_t)n * sizeof(*kids));
		qsort(kids, n, sizeof(*kids), cmp_child_names);
	}
	w->dirs[di].nents = n;
	for (uint32_t i = 0; i < n; i++) {
		struct went *e = &w->dirs[di].ents[i];
		struct iso_node *c = kids[i];

		rc = check_node(c);
		if (rc)
			goto out;
		if (i && strcmp(kids[i - 1]->name, c->name) == 0) {
			rc = bad_node(-EINVAL, c, "name given twice");
			goto out;
		}
		e->node = c;
		e->dir = NONE;
		e->data = NONE;
		if (iso_node_is_dir(c)) {
			uint32_t sub, depth = w->dirs[di].depth + 1;
			bool reloc = depth > MAX_DEPTH;

			nsub++;
			rc = new_dir(w, c, e, di, &sub);
			if (rc)
				goto out;
			e->dir = sub;
			if (reloc) {
				uint32_t rm = 0;

				rc = reloc_dir(w, &rm);
				if (rc)
					goto out;
				w->dirs[sub].parent = rm;
				w->dirs[sub].relocated = true;
				depth = w->dirs[rm].depth + 1;
				rc = add_rec(&w->dirs[rm], e, REC_RELOCATED);
				if (rc)
					goto out;
			}
			w->dirs[sub].depth = depth;
			rc = add_rec(&w->dirs[di], e,
				     reloc ? REC_PLACEHOLDER : REC_NODE);
			if (rc)
				goto out;
			continue;
		}
		e->serial = c->ino ? c->ino : w->next_serial++;
		if ((c->mode & S_IFMT) == S_IFREG && !c->nextents && c->size) {
			uint32_t *slot = NULL;

			if (c->ino) {
				rc = link_find(w, c->ino, &slot);
				if (rc)
					goto out;
			}
			if (slot && *slot != NONE &&
			    w->files[*slot].node->size == c->size) {
				e->data = *slot; /* a hard link: one copy */
			} else {
				rc = grow_array((void **)&w->files,
						&w->files_cap, w->nfiles + 1,
						sizeof(*w->files));
				if (rc)
					goto out;
				w->files[w->nfiles].node = c;
				e->data = w->nfiles++;
				if (slot)
					*slot = e->data;
			}
		}
		rc = add_rec(&w->dirs[di], e, REC_NODE);
		if (rc)
			goto out;
	}
	w->dirs[di].nlink = 2 + nsub;
out:
	free(kids);
	return rc;
}

/* The name an ECMA-119 record carries in NM and is mangled from. */
static const char *rec_name(const struct iso_writer *w, const struct wrec *r)
{
	return r->e ? r->e->node->name : w->rr_moved_node->name;
}

/* qsort_r comparators: @ctx is the writer (no global state, so writers
 * in several threads do not meet). */
static int cmp_rec_utf8(const void *a, const void *b, void *ctx)
{
	const struct wrec *x = a, *y = b;
	int c = strcmp(rec_name(ctx, x), rec_name(ctx, y));

	if (c)
		return c;
	/* equal names only meet in rr_moved: breadth-first scan order */
	if (!x->e || !y->e)
		return 0;
	return x->e->dir < y->e->dir ? -1 : x->e->dir > y->e->dir;
}

static int cmp_rec_iso(const void *a, const void *b, void *ctx)
{
	const struct wrec *x = a, *y = b;

	(void)ctx;
	return iso_names_cmp_iso9660(x->id, x->id_len, y->id, y->id_len);
}

static int cmp_jrec(const void *a, const void *b, void *ctx)
{
	const struct iso_writer *w = ctx;
	const struct went *x = *(struct went *const *)a;
	const struct went *y = *(struct went *const *)b;

	return iso_names_cmp_joliet(w->jpool + x->jid_off, x->jid_len,
				    w->jpool + y->jid_off, y->jid_len);
}

static bool rec_is_dir(const struct wrec *r)
{
	return r->kind != REC_PLACEHOLDER && (!r->e || r->e->dir != NONE);
}

static uint32_t rec_dir(const struct iso_writer *w, const struct wrec *r)
{
	return r->e ? r->e->dir : w->rr_moved;
}

static int name_dir(struct iso_writer *w, struct iso_namer *nm, uint32_t di)
{
	struct wdir *d = &w->dirs[di];
	int rc;

	if (d->nrecs > 1) /* qsort_r may not take a NULL array */
		qsort_r(d->recs, d->nrecs, sizeof(*d->recs), cmp_rec_utf8, w);
	iso_namer_reset(nm);
	for (uint32_t i = 0; i < d->nrecs; i++) {
		struct wrec *r = &d->recs[i];
		const char *name = rec_name(w, r);

		rc = iso_namer_iso9660(nm, name, strlen(name), rec_is_dir(r),
				       r->id);
		if (rc < 0)
			return rc;
		r->id_len = (uint8_t)rc;
		if (rec_is_dir(r)) {
			struct wdir *sub = &w->dirs[rec_dir(w, r)];

			memcpy(sub->id, r->id, r->id_len);
			sub->id_len = r->id_len;
		}
	}
	if (d->nrecs > 1) /* qsort_r may not take a NULL array */
		qsort_r(d->recs, d->nrecs, sizeof(*d->recs), cmp_rec_iso, w);
	if (d->synthetic || w->o.no_joliet)
		return 0;

	/* Joliet: the logical children, already in UTF-8 byte order */
	iso_namer_reset(nm);
	d->jrecs =
	    malloc((size_t)(d->nents ? d->nents : 1) * sizeof(*d->jrecs));
	if (!d->jrecs)
		return -ENOMEM;
	for (uint32_t i = 0; i < d->nents; i++) {
		struct went *e = &d->ents[i];
		const char *name = e->node->name;

		rc = grow_array((void **)&w->jpool, &w->jpool_cap,
				w->jpool_len + ISO_NAMES_JOLIET_MAX + 2,
				sizeof(*w->jpool));
		if (rc)
			return rc;
		rc = iso_namer_joliet(nm, name, strlen(name), e->dir != NONE,
				      w->jpool + w->jpool_len);
		if (rc < 0)
			return rc;
		e->jid_off = w->jpool_len;
		e->jid_len = (uint8_t)rc;
		w->jpool_len += (uint32_t)rc;
		d->jrecs[d->njrecs++] = e;
	}
	if (d->njrecs > 1) /* qsort_r may not take a NULL array */
		qsort_r(d->jrecs, d->njrecs, sizeof(*d->jrecs), cmp_jrec, w);
	return 0;
}

/* Breadth first over the ECMA-119 (or Joliet) tree: path table order. */
static int make_order(struct iso_writer *w, bool joliet)
{
	uint32_t *ord = malloc((size_t)w->ndirs * sizeof(*ord));
	uint32_t n = 1;

	if (!ord)
		return -ENOMEM;
	ord[0] = 0;
	for (uint32_t k = 0; k < n; k++) {
		struct wdir *d = &w->dirs[ord[k]];

		if (joliet) {
			d->jptnum = k + 1;
			for (uint32_t i = 0; i < d->njrecs; i++)
				if (d->jrecs[i]->dir != NONE)
					ord[n++] = d->jrecs[i]->dir;
			continue;
		}
		d->ptnum = k + 1;
		for (uint32_t i = 0; i < d->nrecs; i++)
			if (rec_is_dir(&d->recs[i]))
				ord[n++] = rec_dir(w, &d->recs[i]);
	}
	if (joliet) {
		w->jorder = ord;
		w->njdirs = n;
	} else {
		w->order = ord;
	}
	/* a parent number is 16 bits (ECMA-119 9.4.6) */
	for (uint32_t k = 0; k < n; k++) {
		const struct wdir *d = &w->dirs[ord[k]];
		uint32_t pn = joliet ? w->dirs[d->lparent].jptnum
				     : w->dirs[d->parent].ptnum;

		if (pn > 0xFFFF)
			return cds_error(-EINVAL,
					 "more than 65535 directories "
					 "have subdirectories: a path table "
					 "cannot number them");
	}
	return 0;
}

/* ---- rendering: directory records ------------------------------------- */

struct emit {
	struct iso_writer *w;
	uint8_t *buf; /* NULL while measuring */
	uint32_t pos;
	struct rr_area ca;
	struct rr_entries rr;
};

/* A record's bytes before its System Use field: the fixed part, the
 * identifier and the pad byte that keeps the field at an even offset. */
static uint32_t record_head_len(uint8_t id_len)
{
	return RECORD_BASE + id_len + (id_len % 2 ? 0 : 1);
}

/* Room for the System Use field of a record whose head is @len bytes:
 * even, so that LEN_DR stays even with the field padded. */
static size_t su_avail(uint32_t len)
{
	return RECORD_MAX - 1 - len;
}

static void put_record(struct emit *m, const char *id, uint8_t id_len,
		       uint32_t extent, uint32_t size, uint8_t flags,
		       const struct timespec *mtime, bool rock)
{
	uint32_t len = record_head_len(id_len);
	uint8_t *p = NULL;
	size_t su = 0;

	/* measure the System Use field first: a record stays in its block */
	if (rock) {
		struct rr_area dry = m->ca;

		dry.buf = NULL;
		su = rr_place(&m->rr, NULL, su_avail(len), &dry);
		su += su % 2;
	}
	if (m->pos % CDS_SECTOR_SIZE + len + su > CDS_SECTOR_SIZE)
		m->pos += CDS_SECTOR_SIZE - m->pos % CDS_SECTOR_SIZE;
	if (m->buf)
		p = m->buf + m->pos;
	if (rock)
		rr_place(&m->rr, p ? p + len : NULL, su_avail(len), &m->ca);
	if (p) {
		p[0] = (uint8_t)(len + su);
		p[1] = 0;
		cds_put_733(p + 2, extent);
		cds_put_733(p + 10, size);
		rr_dtime(p + 18, mtime->tv_sec);
		p[25] = flags;
		cds_put_723(p + 28, 1);
		p[32] = id_len;
		memcpy(p + 33, id, id_len);
	}
	m->pos += len + (uint32_t)su;
}

static void add_attrs(struct emit *m, const struct iso_node *n, uint64_t serial,
		      uint32_t nlink)
{
	rr_add_px(&m->rr, n->mode, nlink, n->uid, n->gid, serial);
	rr_add_tf(&m->rr, n->has_crtime ? &n->crtime : NULL, &n->mtime,
		  &n->atime, &n->ctime);
}

static uint32_t node_nlink(const struct iso_node *n)
{
	return n->nlink ? n->nlink : 1;
}

/* What the System Use field of @r's record still holds after @used
 * bytes of entries, keeping room for a CE; 0 if nothing. */
static size_t su_room(const struct wrec *r, size_t used)
{
	size_t avail = su_avail(record_head_len(r->id_len));

	return avail > used + RR_CE_LEN ? avail - used - RR_CE_LEN : 0;
}

/* The sections of a regular file: kept extents or its new data. */
static uint32_t file_sections(const struct iso_writer *w, const struct went *e,
			      uint32_t k, uint32_t *lba, uint32_t *len)
{
	const struct iso_node *n = e->node;
	uint64_t size = n->size, off = (uint64_t)k * SECTION_MAX;
	uint32_t count;

	if (n->nextents) {
		*lba = n->extents[k].lba;
		*len = n->extents[k].length;
		return n->nextents;
	}
	count = size ? (uint32_t)((size + SECTION_MAX - 1) / SECTION_MAX) : 1;
	*lba = e->data == NONE
		   ? 0
		   : w->files[e->data].lba + (uint32_t)(off / CDS_SECTOR_SIZE);
	*len = size - off > SECTION_MAX ? SECTION_MAX : (uint32_t)(size - off);
	return count;
}

static void emit_entry(struct emit *m, const struct wrec *r)
{
	struct iso_writer *w = m->w;
	const struct went *e = r->e;
	const struct iso_node *n = e ? e->node : w->rr_moved_node;
	mode_t t = n->mode & S_IFMT;
	uint32_t lba = 0, len = 0, count = 1;

	if (t == S_IFDIR) {
		const struct wdir *d = &w->dirs[rec_dir(w, r)];

		rr_reset(&m->rr);
		add_attrs(m, n, d->serial, d->nlink);
		rr_add_nm(&m->rr, n->name, strlen(n->name), 0);
		if (r->kind == REC_PLACEHOLDER) {
			/* a file record: readers that know CL show the
			 * directory here, the others an empty file */
			rr_add_cl(&m->rr, d->lba);
			put_record(m, r->id, r->id_len, 0, 0, 0, &n->mtime,
				   true);
			return;
		}
		if (r->kind == REC_RELOCATED)
			rr_add_re(&m->rr);
		put_record(m, r->id, r->id_len, d->lba, d->size, FLAG_DIR,
			   &n->mtime, true);
		return;
	}
	for (uint32_t k = 0; k < count; k++) {
		if (t == S_IFREG)
			count = file_sections(w, e, k, &lba, &len);
		rr_reset(&m->rr);
		add_attrs(m, n, e->serial, node_nlink(n));
		/* NM whole: Linux drops an NM entry that would take a name
		 * to 254 bytes, so [250][5] shows 250 bytes, [100][155] 100 */
		rr_add_nm(&m->rr, n->name, strlen(n->name), 0);
		if (t == S_IFLNK)
			rr_add_sl(&m->rr, n->symlink, su_room(r, m->rr.len));
		if (t == S_IFCHR || t == S_IFBLK)
			rr_add_pn(&m->rr, n->rdev);
		put_record(m, r->id, r->id_len, lba, len,
			   k + 1 < count ? FLAG_MULTI : 0, &n->mtime, true);
	}
}

/* An ECMA-119 directory and its continuation areas. */
static void emit_dir(struct emit *m, uint32_t di)
{
	struct iso_writer *w = m->w;
	const struct wdir *d = &w->dirs[di];
	const struct wdir *p = &w->dirs[d->parent];
	static const char dot = 0, dotdot = 1;

	rr_reset(&m->rr);
	if (di == 0)
		rr_add_sp(&m->rr);
	add_attrs(m, d->node, d->serial, d->nlink);
	if (di == 0)
		rr_add_er(&m->rr);
	put_record(m, &dot, 1, d->lba, d->size, FLAG_DIR, &d->node->mtime,
		   true);
	rr_reset(&m->rr);
	add_attrs(m, p->node, p->serial, p->nlink);
	if (d->relocated)
		rr_add_pl(&m->rr, w->dirs[d->lparent].lba);
	put_record(m, &dotdot, 1, p->lba, p->size, FLAG_DIR, &p->node->mtime,
		   true);
	for (uint32_t i = 0; i < d->nrecs; i++)
		emit_entry(m, &d->recs[i]);
}

static void put_ucs2(uint8_t *p, const uint16_t *u, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		cds_put_be16(p + 2 * i, u[i]);
}

/* A Joliet directory: the logical tree, no Rock Ridge. */
static void emit_jdir(struct emit *m, uint32_t di)
{
	struct iso_writer *w = m->w;
	const struct wdir *d = &w->dirs[di];
	const struct wdir *p = &w->dirs[d->lparent];
	static const char dot = 0, dotdot = 1;
	char id[2 * (ISO_NAMES_JOLIET_MAX + 2)];

	put_record(m, &dot, 1, d->jlba, d->jsize, FLAG_DIR, &d->node->mtime,
		   false);
	put_record(m, &dotdot, 1, p->jlba, p->jsize, FLAG_DIR, &p->node->mtime,
		   false);
	for (uint32_t i = 0; i < d->njrecs; i++) {
		const struct went *e = d->jrecs[i];
		const struct iso_node *n = e->node;
		uint32_t lba = 0, len = 0, count = 1;
		uint8_t id_len = (uint8_t)(2 * e->jid_len);

		put_ucs2((uint8_t *)id, w->jpool + e->jid_off, e->jid_len);
		if (e->dir != NONE) {
			const struct wdir *s = &w->dirs[e->dir];

			put_record(m, id, id_len, s->jlba, s->jsize, FLAG_DIR,
				   &n->mtime, false);
			continue;
		}
		for (uint32_t k = 0; k < count; k++) {
			if ((n->mode & S_IFMT) == S_IFREG)
				count = file_sections(w, e, k, &lba, &len);
			put_record(m, id, id_len, lba, len,
				   k + 1 < count ? FLAG_MULTI : 0, &n->mtime,
				   false);
		}
	}
}

static void emit_init(struct emit *m, struct iso_writer *w, uint8_t *buf,
		      uint32_t ca_lba, uint32_t dir_bytes)
{
	m->w = w;
	m->buf = buf;
	m->pos = 0;
	m->ca.buf = buf ? buf + dir_bytes : NULL;
	m->ca.lba = ca_lba;
	m->ca.off = 0;
}

/* ---- planning: the layout --------------------------------------------- */

static int check_size(uint64_t start, uint64_t lba)
{
	if (start + lba > UINT32_MAX)
		return cds_error(-EFBIG, "the session does not fit 2^32 "
					 "sectors");
	return 0;
}

static int layout(struct iso_writer *w)
{
	uint64_t lba =
	    (uint64_t)w->o.start_lba + SYSTEM_AREA + (w->o.no_joliet ? 2 : 3);
	struct emit *m = malloc(sizeof(*m));
	int rc = 0;

	if (!m)
		return -ENOMEM;
	/* path tables: one record per directory, 8 bytes + padded id */
	w->pt_size = 0;
	w->jpt_size = 0;
	for (uint32_t i = 0; i < w->ndirs; i++) {
		const struct wdir *d = &w->dirs[i];
		uint32_t idl = i ? d->id_len : 1;

		w->pt_size += 8 + idl + idl % 2;
		if (!d->synthetic && !w->o.no_joliet) {
			idl = i ? 2 * d->self->jid_len : 1;
			w->jpt_size += 8 + idl + idl % 2;
		}
	}
	w->pt_l = (uint32_t)lba;
	w->pt_m = w->pt_l + blocks(w->pt_size);
	lba = w->pt_m + blocks(w->pt_size);
	if (!w->o.no_joliet) {
		w->jpt_l = (uint32_t)lba;
		w->jpt_m = w->jpt_l + blocks(w->jpt_size);
		lba = w->jpt_m + blocks(w->jpt_size);
	}
	w->meta_sectors = (uint32_t)(lba - w->o.start_lba - SYSTEM_AREA);
	w->dirs_start = (uint32_t)(lba - w->o.start_lba);

	/* ECMA-119 directories, each followed by its continuation areas */
	for (uint32_t k = 0; k < w->ndirs; k++) {
		struct wdir *d = &w->dirs[w->order[k]];

		emit_init(m, w, NULL, 0, 0);
		emit_dir(m, w->order[k]);
		d->size = blocks(m->pos) * CDS_SECTOR_SIZE;
		d->ca_blocks = blocks(m->ca.off);
		d->lba = (uint32_t)lba;
		lba += blocks(m->pos) + d->ca_blocks;
		rc = check_size(0, lba);
		if (rc)
			goto out;
	}
	w->jdirs_start = (uint32_t)(lba - w->o.start_lba);
	for (uint32_t k = 0; !w->o.no_joliet && k < w->njdirs; k++) {
		struct wdir *d = &w->dirs[w->jorder[k]];

		emit_init(m, w, NULL, 0, 0);
		emit_jdir(m, w->jorder[k]);
		d->jsize = blocks(m->pos) * CDS_SECTOR_SIZE;
		d->jlba = (uint32_t)lba;
		lba += blocks(m->pos);
		rc = check_size(0, lba);
		if (rc)
			goto out;
	}
	w->data_start = (uint32_t)(lba - w->o.start_lba);
	for (uint32_t i = 0; i < w->nfiles; i++) {
		uint64_t n = blocks(w->files[i].node->size);

		rc = check_size(lba, n);
		if (rc)
			goto out;
		w->files[i].lba = (uint32_t)lba;
		w->files[i].nsect = (uint32_t)n;
		lba += n;
	}
	w->pad_start = (uint32_t)(lba - w->o.start_lba);
	rc = check_size(lba, END_PADDING);
	if (rc)
		goto out;
	w->nsectors = (uint32_t)(lba + END_PADDING - w->o.start_lba);
out:
	free(m);
	return rc;
}

/* ---- volume descriptors and path tables -------------------------------- */

static void put_dec_date(uint8_t *p, time_t t)
{
	struct tm tm;
	char s[32];

	if (t == 0 || !gmtime_r(&t, &tm)) {
		memset(p, '0', 16); /* "not specified" */
		p[16] = 0;
		return;
	}
	snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02d00",
		 (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(p, s, 16);
	p[16] = 0; /* GMT */
}

/* Text fields: ASCII padded with spaces, or UCS-2BE padded likewise. */
static void put_text(uint8_t *p, size_t cap, const char *s, bool ucs2)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < cap; i += ucs2 ? 2 : 1) {
		size_t k = ucs2 ? i / 2 : i;
		uint8_t c = k < n ? (uint8_t)s[k] : ' ';

		if (ucs2 && i + 1 < cap) {
			p[i] = 0;
			p[i + 1] = c;
		} else if (!ucs2) {
			p[i] = c;
		}
	}
}

static void put_vd(struct iso_writer *w, uint8_t *vd, bool joliet)
{
	const struct wdir *root = &w->dirs[0];
	uint8_t *r = vd + offsetof(iso9660_pvd_t, root_directory_record);
	/* ECMA-119 8.4.8 says the volume's size; mkisofs writes the
	 * session's only, but Linux 6.1.176 and later then reject every
	 * CE of a late session as "out of volume" and drop Rock Ridge
	 * (iso9660-reference 1.6, measured with kernel-isofs), and
	 * xorriso and genisoimage -M do not need the session size.  So:
	 * the total, from LBA 0 to the end of this session. */
	uint32_t vss = w->o.start_lba + w->nsectors;

	vd[0] = joliet ? ISO_VD_SUPPLEMENTARY : ISO_VD_PRIMARY;
	memcpy(vd + 1, "CD001", 5);
	vd[6] = 1;
	put_text(vd + offsetof(iso9660_pvd_t, system_id), 32, "LINUX", joliet);
	put_text(vd + offsetof(iso9660_pvd_t, volume_id), 32, w->volume_id,
		 joliet);
	cds_put_733(vd + offsetof(iso9660_pvd_t, volume_space_size), vss);
	if (joliet)
		memcpy(vd + 88, "%/E", 3); /* UCS-2 level 3 */
	cds_put_723(vd + offsetof(iso9660_pvd_t, volume_set_size), 1);
	cds_put_723(vd + offsetof(iso9660_pvd_t, volume_sequence_number), 1);
	cds_put_723(vd + offsetof(iso9660_pvd_t, logical_block_size),
		    CDS_SECTOR_SIZE);
	cds_put_733(vd + offsetof(iso9660_pvd_t, path_table_size),
		    joliet ? w->jpt_size : w->pt_size);
	cds_put_le32(vd + offsetof(iso9660_pvd_t, type_l_path_table),
		     joliet ? w->jpt_l : w->pt_l);
	cds_put_be32(vd + offsetof(iso9660_pvd_t, type_m_path_table),
		     joliet ? w->jpt_m : w->pt_m);
	r[0] = 34;
	cds_put_733(r + 2, joliet ? root->jlba : root->lba);
	cds_put_733(r + 10, joliet ? root->jsize : root->size);
	rr_dtime(r + 18, root->node->mtime.tv_sec);
	r[25] = FLAG_DIR;
	cds_put_723(r + 28, 1);
	r[32] = 1;
	put_text(vd + offsetof(iso9660_pvd_t, volume_set_id), 128, "", joliet);
	put_text(vd + offsetof(iso9660_pvd_t, publisher_id), 128, "", joliet);
	put_text(vd + offsetof(iso9660_pvd_t, preparer_id), 128, "", joliet);
	put_text(vd + offsetof(iso9660_pvd_t, application_id), 128,
		 "CDSESSION " CDS_VERSION, joliet);
	put_text(vd + offsetof(iso9660_pvd_t, copyright_file_id), 37, "",
		 joliet);
	put_text(vd + offsetof(iso9660_pvd_t, abstract_file_id), 37, "",
		 joliet);
	put_text(vd + offsetof(iso9660_pvd_t, bibliographic_file_id), 37, "",
		 joliet);
	put_dec_date(vd + offsetof(iso9660_pvd_t, creation_date), w->o.now);
	put_dec_date(vd + offsetof(iso9660_pvd_t, modification_date), w->o.now);
	put_dec_date(vd + offsetof(iso9660_pvd_t, expiration_date), 0);
	put_dec_date(vd + offsetof(iso9660_pvd_t, effective_date), w->o.now);
	vd[offsetof(iso9660_pvd_t, file_structure_version)] = 1;
	if (!joliet && w->tag[0]) {
		uint8_t *app = vd + offsetof(iso9660_pvd_t, application_data);

		memcpy(app, ISO_WRITER_TAG_PREFIX,
		       sizeof(ISO_WRITER_TAG_PREFIX) - 1);
		memcpy(app + sizeof(ISO_WRITER_TAG_PREFIX) - 1, w->tag,
		       strlen(w->tag));
	}
}

static void put_path_table(struct iso_writer *w, uint8_t *l, uint8_t *mt,
			   bool joliet)
{
	uint32_t n = joliet ? w->njdirs : w->ndirs, pos = 0;
	const uint32_t *ord = joliet ? w->jorder : w->order;

	for (uint32_t k = 0; k < n; k++) {
		const struct wdir *d = &w->dirs[ord[k]];
		uint32_t lba = joliet ? d->jlba : d->lba;
		uint32_t pn = k == 0   ? 1
			      : joliet ? w->dirs[d->lparent].jptnum
				       : w->dirs[d->parent].ptnum;
		uint8_t idl = k == 0   ? 1
			      : joliet ? (uint8_t)(2 * d->self->jid_len)
				       : d->id_len;

		l[pos] = mt[pos] = idl;
		cds_put_le32(l + pos + 2, lba);
		cds_put_be32(mt + pos + 2, lba);
		cds_put_le16(l + pos + 6, (uint16_t)pn);
		cds_put_be16(mt + pos + 6, (uint16_t)pn);
		if (k == 0) {
			l[pos + 8] = mt[pos + 8] = 0;
		} else if (joliet) {
			put_ucs2(l + pos + 8, w->jpool + d->self->jid_off,
				 d->self->jid_len);
			memcpy(mt + pos + 8, l + pos + 8, idl);
		} else {
			memcpy(l + pos + 8, d->id, idl);
			memcpy(mt + pos + 8, d->id, idl);
		}
		pos += 8 + idl + idl % 2;
	}
}

static int make_meta(struct iso_writer *w)
{
	uint8_t *m = calloc(w->meta_sectors, CDS_SECTOR_SIZE);
	uint32_t base = w->o.start_lba + SYSTEM_AREA;
	uint8_t *term;

	if (!m)
		return -ENOMEM;
	put_vd(w, m, false);
	if (!w->o.no_joliet)
		put_vd(w, m + CDS_SECTOR_SIZE, true);
	term = m + (w->o.no_joliet ? 1 : 2) * CDS_SECTOR_SIZE;
	term[0] = ISO_VD_END;
	memcpy(term + 1, "CD001", 5);
	term[6] = 1;
	put_path_table(w, m + (size_t)(w->pt_l - base) * CDS_SECTOR_SIZE,
		       m + (size_t)(w->pt_m - base) * CDS_SECTOR_SIZE, false);
	if (!w->o.no_joliet)
		put_path_table(
		    w, m + (size_t)(w->jpt_l - base) * CDS_SECTOR_SIZE,
		    m + (size_t)(w->jpt_m - base) * CDS_SECTOR_SIZE, true);
	w->meta = m;
	return 0;
}

/* ---- the public API ----------------------------------------------------- */

static int check_opts(struct iso_writer *w, const struct iso_write_opts *o)
{
	const char *vid = o->volume_id ? o->volume_id : "CDROM";
	size_t n = strlen(vid);

	if (!n || n > 32)
		return cds_error(-EINVAL, "volume id '%s': 1 to 32 characters",
				 vid);
	for (size_t i = 0; i < n; i++)
		if (vid[i] < 0x20 || vid[i] > 0x7e)
			return cds_error(-EINVAL,
					 "volume id: printable ASCII only");
	memcpy(w->volume_id, vid, n + 1);
	if (o->tag) {
		n = strlen(o->tag);
		if (!n || n > ISO_WRITER_TAG_MAX)
			return cds_error(-EINVAL,
					 "session tag: 1 to %d characters",
					 ISO_WRITER_TAG_MAX);
		for (size_t i = 0; i < n; i++)
			if (o->tag[i] < 0x21 || o->tag[i] > 0x7e)
				return cds_error(-EINVAL,
						 "session tag: printable "
						 "ASCII without spaces "
						 "only");
		memcpy(w->tag, o->tag, n + 1);
	}
	return 0;
}

static uint64_t max_serial(const struct iso_node *n)
{
	uint64_t m = n->ino;

	for (uint32_t i = 0; i < n->nchildren; i++) {
		uint64_t c = max_serial(n->children[i]);

		if (c > m)
			m = c;
	}
	return m;
}

int iso_writer_new(struct iso_node *root, const struct iso_write_opts *o,
		   struct iso_writer **out)
{
	struct iso_writer *w = calloc(1, sizeof(*w));
	struct iso_namer *nm = NULL;
	uint32_t root_ix;
	int rc;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->o = *o;
	if (!w->o.now)
		w->o.now = time(NULL);
	w->root = root;
	w->rr_moved = NONE;
	rc = check_opts(w, o);
	if (rc)
		goto fail;
	if (!iso_node_is_dir(root)) {
		rc = cds_error(-ENOTDIR, "the root is not a directory");
		goto fail;
	}
	w->next_serial = o->next_ino ? o->next_ino : max_serial(root) + 1;
	rc = new_dir(w, root, NULL, 0, &root_ix);
	if (rc)
		goto fail;
	w->dirs[0].depth = 1;
	/* breadth first; scan_dir appends the subdirectories it finds */
	for (uint32_t i = 0; i < w->ndirs; i++) {
		rc = scan_dir(w, i);
		if (rc)
			goto fail;
	}
	if (w->rr_moved != NONE)
		w->dirs[w->rr_moved].nlink =
		    2 + (w->dirs[w->rr_moved].synthetic
			     ? w->dirs[w->rr_moved].nrecs
			     : w->dirs[w->rr_moved].nlink - 2);
	rc = iso_namer_new(&nm);
	if (rc)
		goto fail;
	for (uint32_t i = 0; i < w->ndirs; i++) {
		rc = name_dir(w, nm, i);
		if (rc)
			goto fail;
	}
	rc = make_order(w, false);
	if (!rc && !o->no_joliet)
		rc = make_order(w, true);
	if (!rc)
		rc = layout(w);
	if (!rc)
		rc = make_meta(w);
	if (rc)
		goto fail;
	iso_namer_free(nm);
	*out = w;
	return 0;
fail:
	iso_namer_free(nm);
	iso_writer_free(w);
	return rc;
}

uint32_t iso_writer_nsectors(const struct iso_writer *w)
{
	return w->nsectors;
}

/* Render directory @di (ECMA-119 or Joliet) into the cache. */
static int render_dir(struct iso_writer *w, uint32_t di, bool joliet)
{
	const struct wdir *d = &w->dirs[di];
	uint32_t dir_bytes = joliet ? d->jsize : d->size;
	size_t need =
	    dir_bytes + (joliet ? 0 : (size_t)d->ca_blocks * CDS_SECTOR_SIZE);
	struct emit *m;

	if (w->cache_valid && w->cache_dir == di && w->cache_joliet == joliet)
		return 0;
	if (need > w->cache_cap) {
		uint8_t *c = realloc(w->cache, need);

		if (!c)
			return -ENOMEM;
		w->cache = c;
		w->cache_cap = need;
	}
	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	memset(w->cache, 0, need);
	emit_init(m, w, w->cache, d->lba + d->size / CDS_SECTOR_SIZE,
		  dir_bytes);
	if (joliet)
		emit_jdir(m, di);
	else
		emit_dir(m, di);
	free(m);
	w->cache_dir = di;
	w->cache_joliet = joliet;
	w->cache_valid = true;
	return 0;
}

/* Copy sectors of directories from @sector (session-relative). */
static int read_dirs(struct iso_writer *w, uint32_t sector, uint32_t count,
		     uint8_t *buf, bool joliet)
{
	const uint32_t *ord = joliet ? w->jorder : w->order;
	uint32_t n = joliet ? w->njdirs : w->ndirs;
	uint32_t lba = w->o.start_lba + sector;
	uint32_t lo = 0, hi = n;

	/* the last directory starting at or before @lba */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct wdir *d = &w->dirs[ord[mid]];

		if ((joliet ? d->jlba : d->lba) <= lba)
			lo = mid;
		else
			hi = mid;
	}
	while (count) {
		const struct wdir *d = &w->dirs[ord[lo]];
		uint32_t start = joliet ? d->jlba : d->lba;
		uint32_t len = joliet
				   ? d->jsize / CDS_SECTOR_SIZE
				   : d->size / CDS_SECTOR_SIZE + d->ca_blocks;
		uint32_t k = lba - start, take = len - k;
		int rc = render_dir(w, ord[lo], joliet);

		if (rc)
			return rc;
		if (take > count)
			take = count;
		memcpy(buf, w->cache + (size_t)k * CDS_SECTOR_SIZE,
		       (size_t)take * CDS_SECTOR_SIZE);
		buf += (size_t)take * CDS_SECTOR_SIZE;
		count -= take;
		lba += take;
		lo++;
	}
	return 0;
}

/* Ask for the data of the files after @cur ahead of time: up to
 * PREFETCH_FILES files or PREFETCH_BYTES, whichever comes first (open
 * files are what it costs). */
static void prefetch_after(struct iso_writer *w, uint32_t cur)
{
	uint64_t bytes = 0;

	if (w->prefetched <= cur)
		w->prefetched = cur + 1;
	for (uint32_t i = cur + 1; i < w->prefetched; i++)
		bytes += w->files[i].node->size;
	while (w->prefetched < w->nfiles &&
	       w->prefetched - cur <= PREFETCH_FILES &&
	       bytes < PREFETCH_BYTES) {
		struct iso_content *c = w->files[w->prefetched].node->content;

		if (c->ops->prefetch)
			c->ops->prefetch(c);
		bytes += w->files[w->prefetched++].node->size;
	}
}

static int read_data(struct iso_writer *w, uint32_t sector, uint32_t count,
		     uint8_t *buf)
{
	uint32_t lba = w->o.start_lba + sector, lo = 0, hi = w->nfiles;

	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (w->files[mid].lba <= lba)
			lo = mid;
		else
			hi = mid;
	}
	while (count) {
		const struct wfile *f = &w->files[lo];
		struct iso_content *c = f->node->content;
		uint32_t k = lba - f->lba, take = f->nsect - k;
		uint64_t off = (uint64_t)k * CDS_SECTOR_SIZE;
		size_t bytes;
		int rc;

		if (take > count)
			take = count;
		if (k == 0)
			prefetch_after(w, lo);
		bytes = (size_t)take * CDS_SECTOR_SIZE;
		if (off + bytes > f->node->size) {
			size_t have = (size_t)(f->node->size - off);

			memset(buf + have, 0, bytes - have);
			bytes = have;
		}
		rc = c->ops->read(c, off, buf, bytes);
		if (rc < 0)
			return rc;
		buf += (size_t)take * CDS_SECTOR_SIZE;
		count -= take;
		lba += take;
		lo++;
	}
	return 0;
}

int iso_writer_read(struct iso_writer *w, uint32_t sector, uint32_t count,
		    void *buf)
{
	uint8_t *p = buf;

	if (sector > w->nsectors || count > w->nsectors - sector)
		return cds_error(-EINVAL,
				 "sectors %u+%u are outside the session "
				 "of %u",
				 sector, count, w->nsectors);
	while (count) {
		uint32_t end, take;
		int rc = 0;

		if (sector < SYSTEM_AREA) {
			end = SYSTEM_AREA;
		} else if (sector < w->dirs_start) {
			end = w->dirs_start;
		} else if (sector < w->jdirs_start) {
			end = w->jdirs_start;
		} else if (sector < w->data_start) {
			end = w->data_start;
		} else if (sector < w->pad_start) {
			end = w->pad_start;
		} else {
			end = w->nsectors;
		}
		take = end - sector < count ? end - sector : count;
		if (sector < SYSTEM_AREA || sector >= w->pad_start)
			memset(p, 0, (size_t)take * CDS_SECTOR_SIZE);
		else if (sector < w->dirs_start)
			memcpy(p,
			       w->meta + (size_t)(sector - SYSTEM_AREA) *
					     CDS_SECTOR_SIZE,
			       (size_t)take * CDS_SECTOR_SIZE);
		else if (sector < w->jdirs_start)
			rc = read_dirs(w, sector, take, p, false);
		else if (sector < w->data_start)
			rc = read_dirs(w, sector, take, p, true);
		else
			rc = read_data(w, sector, take, p);
		if (rc)
			return rc;
		p += (size_t)take * CDS_SECTOR_SIZE;
		sector += take;
		count -= take;
	}
	return 0;
}

struct writer_source {
	struct cds_source base;
	struct iso_writer *w;
};

static int source_read(struct cds_source *src, uint32_t lba, uint32_t count,
		       void *buf)
{
	return iso_writer_read(((struct writer_source *)src)->w, lba, count,
			       buf);
}

static void source_close(struct cds_source *src)
{
	free(src);
}

static const struct cds_source_ops writer_source_ops = {source_read,
							source_close};

int iso_writer_source(struct iso_writer *w, struct cds_source **out)
{
	struct writer_source *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->base.ops = &writer_source_ops;
	s->base.nsectors = w->nsectors;
	s->w = w;
	*out = &s->base;
	return 0;
}

void iso_writer_free(struct iso_writer *w)
{
	if (!w)
		return;
	for (uint32_t i = 0; i < w->ndirs; i++) {
		free(w->dirs[i].ents);
		free(w->dirs[i].recs);
		free(w->dirs[i].jrecs);
	}
	free(w->dirs);
	free(w->order);
	free(w->jorder);
	free(w->files);
	free(w->jpool);
	free(w->links.keys);
	free(w->links.vals);
	free(w->meta);
	free(w->cache);
	iso_node_free(w->rr_moved_node);
	free(w);
}
