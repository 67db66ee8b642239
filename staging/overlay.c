/*
 * overlay.c - the staging overlay (see overlay.h).
 */
#include "staging/overlay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"
#include "staging/journal.h"
#include "staging/store.h"

/* Record types. */
enum {
	R_CREATE = 1,
	R_LINK = 2,
	R_UNLINK = 3,
	R_RENAME = 4,
	R_SETATTR = 5,
	R_COPYUP = 6,
	R_WRITE = 7,
	/* written only by compaction (stg_overlay_compact) */
	R_NEXTINO = 8, /* the next new inode number */
	R_INODE = 9,   /* an inode's whole state, created if new */
	R_DIR = 10,    /* a directory's whole listing */
	R_FREE = 11,   /* a deleted base inode */
};

/* stg_sync() compacts past this size and 4x the size after the last one. */
#define COMPACT_MIN_BYTES (4ull << 20)

/* commit() syncs data and journal when this much is buffered, well before
 * the journal writes its buffer out by itself (1 MiB): no record may
 * reach the kernel before the data it describes.  A live record is under
 * 8 KiB, so the buffer never reaches 1 MiB between two checks. */
#define ORDERED_SYNC_AT (512u << 10)

/* Sizes beyond this are refused (and on replay mean a bad record). */
#define MAX_FILE_SIZE (1ull << 46)
#define MAX_OPEN_FDS  64
/* sync_data() makes more dirty data files (and directories) than this
 * durable with one syncfs() instead of one fdatasync() each. */
#define SYNCFS_MIN 8
#define MAX_DEPTH  2048 /* PATH_MAX allows no more */
/* New inodes per base session: 16M; the inode table is indexed by number
 * (a direct table of at most 128 MiB of pointers). */
#define MAX_NEW_INODES (1u << 24)

/* Directories with more entries than this get a name index (hash); below
 * it a scan of the listing is as fast and costs no memory. */
#define INDEX_MIN 32u
#define NO_SLOT	  UINT32_MAX

struct ov_dirent {
	char *name;
	uint64_t ino;
	uint64_t cookie;
};

struct ov_inode {
	uint64_t ino;
	const struct iso_node *base; /* NULL for new inodes */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint32_t nlink;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	dev_t rdev;
	char *symlink;
	uint64_t serial; /* base serial, 0 for new */
	uint64_t snap_serial;
	bool has_data;	 /* data in DIR/data/XX/<ino> (data_name()) */
	bool dirty;	 /* written since the last sync */
	bool data_seen;	 /* its data file was opened: it exists */
	bool orphan;	 /* no name left, kept while pinned */
	bool changed;	 /* differs from the base (compaction writes it) */
	uint32_t pins;	 /* stg_pin() count */
	int fd;		 /* data file, -1 when closed */
	uint64_t parent; /* directories: their one parent */
	/* directories: entries in cookie order; a deleted one leaves a hole
	 * (name NULL) until the array is packed, so that deleting is O(1)
	 * and a listing resumes by binary search on the cookie */
	struct ov_dirent *ents;
	uint32_t nents;	 /* live entries */
	uint32_t nslots; /* used slots, holes included */
	uint32_t cap;
	uint32_t hcap;	/* size of hash, a power of 2; 0 without one */
	uint32_t *hash; /* name -> slot, open addressing; NO_SLOT is free */
	uint64_t next_cookie;
};

struct stg_overlay {
	struct stg_store *st;
	struct stg_journal *j;
	int datafd;		  /* DIR/data */
	bool datadir_dirty;	  /* a subdirectory was made */
	uint8_t subdir_dirty[32]; /* bit XX: DIR/data/XX got an entry */
	stg_read_base_fn read_base;
	void *read_ctx;
	struct ov_inode **tab;
	uint64_t ntab; /* tab[0 .. ntab-1], tab[0] unused */
	uint64_t first_new, next_ino;
	uint64_t base_max_serial;
	uint64_t *dead; /* inodes whose data files go after the next sync */
	size_t ndead, dead_cap;
	unsigned open_fds;
	bool replaying;
	bool need_check; /* compaction records replayed, not yet checked */
	uint64_t rec_no;
	uint64_t compacted_bytes; /* journal size after the last compaction */
};

/* ---- encoding ---- */

struct enc {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void enc_room(struct enc *e, size_t n)
{
	if (e->err || e->len + n <= e->cap)
		return;
	size_t cap = e->cap ? e->cap * 2 : 128;
	while (cap < e->len + n)
		cap *= 2;
	uint8_t *p = realloc(e->p, cap);
	if (!p) {
		e->err = -ENOMEM;
		return;
	}
	e->p = p;
	e->cap = cap;
}

static void put_u64(struct enc *e, uint64_t v)
{
	enc_room(e, 8);
	if (e->err)
		return;
	cds_put_le32(e->p + e->len, (uint32_t)v);
	cds_put_le32(e->p + e->len + 4, (uint32_t)(v >> 32));
	e->len += 8;
}

static void put_u32(struct enc *e, uint32_t v)
{
	enc_room(e, 4);
	if (e->err)
		return;
	cds_put_le32(e->p + e->len, v);
	e->len += 4;
}

static void put_ts(struct enc *e, struct timespec ts)
{
	put_u64(e, (uint64_t)(int64_t)ts.tv_sec);
	put_u32(e, (uint32_t)ts.tv_nsec);
}

static void put_str(struct enc *e, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	put_u32(e, (uint32_t)n);
	enc_room(e, n);
	if (e->err || !n)
		return;
	memcpy(e->p + e->len, s, n);
	e->len += n;
}

struct dec {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static uint64_t get_u64(struct dec *d)
{
	if (d->bad || d->len - d->off < 8) {
		d->bad = true;
		return 0;
	}
	uint64_t v = cds_get_le64(d->p + d->off);
	d->off += 8;
	return v;
}

static uint32_t get_u32(struct dec *d)
{
	if (d->bad || d->len - d->off < 4) {
		d->bad = true;
		return 0;
	}
	uint32_t v = cds_get_le32(d->p + d->off);
	d->off += 4;
	return v;
}

static struct timespec get_ts(struct dec *d)
{
	struct timespec ts = {0, 0};
	int64_t sec = (int64_t)get_u64(d);
	uint32_t nsec = get_u32(d);
	if (nsec >= 1000000000u)
		d->bad = true;
	else {
		ts.tv_sec = (time_t)sec;
		ts.tv_nsec = (long)nsec;
	}
	return ts;
}

/* A string of at most @max bytes, copied NUL-terminated into @buf. */
static size_t get_str(struct dec *d, char *buf, size_t max)
{
	uint32_t n = get_u32(d);
	if (d->bad || n > max || d->len - d->off < n ||
	    memchr(d->p + d->off, 0, n)) {
		d->bad = true;
		buf[0] = 0;
		return 0;
	}
	memcpy(buf, d->p + d->off, n);
	buf[n] = 0;
	d->off += n;
	return n;
}

/* ---- inodes ---- */

static struct ov_inode *get_ino(struct stg_overlay *ov, uint64_t ino)
{
	if (ino == 0 || ino >= ov->ntab)
		return NULL;
	return ov->tab[ino];
}

static bool is_dir(const struct ov_inode *n)
{
	return S_ISDIR(n->mode);
}

static int put_inode(struct stg_overlay *ov, struct ov_inode *n)
{
	if (n->ino >= ov->ntab) {
		uint64_t cap = ov->ntab ? ov->ntab : 16;
		while (cap <= n->ino)
			cap *= 2;
		struct ov_inode **t = realloc(ov->tab, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		memset(t + ov->ntab, 0, (cap - ov->ntab) * sizeof(*t));
		ov->tab = t;
		ov->ntab = cap;
	}
	ov->tab[n->ino] = n;
	return 0;
}

static void close_fd(struct stg_overlay *ov, struct ov_inode *n)
{
	if (n->fd >= 0) {
		close(n->fd);
		n->fd = -1;
		ov->open_fds--;
	}
}

/* The one place that names data files: XX/<ino> under DIR/data, XX the
 * two lower-case hex digits of (ino >> 7) & 0xff (see overlay.h). */
#define DATA_NAME_MAX 32
static unsigned data_sub(uint64_t ino)
{
	return (unsigned)((ino >> 7) & 0xff);
}

static void data_name(uint64_t ino, char name[DATA_NAME_MAX])
{
	snprintf(name, DATA_NAME_MAX, "%02x/%" PRIu64, data_sub(ino), ino);
}

static void free_inode(struct stg_overlay *ov, struct ov_inode *n)
{
	close_fd(ov, n);
	for (uint32_t i = 0; i < n->nslots; i++)
		free(n->ents[i].name);
	free(n->ents);
	free(n->hash);
	free(n->symlink);
	free(n);
}

static struct ov_inode *new_inode(uint64_t ino, mode_t mode)
{
	struct ov_inode *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->ino = ino;
	n->mode = mode;
	n->fd = -1;
	n->next_cookie = 1;
	return n;
}

/* FNV-1a, then a final mix so that the low bits depend on every byte. */
static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	return h;
}

static void index_insert(struct ov_inode *dir, uint32_t slot)
{
	uint32_t mask = dir->hcap - 1;
	uint32_t i = name_hash(dir->ents[slot].name) & mask;
	while (dir->hash[i] != NO_SLOT)
		i = (i + 1) & mask;
	dir->hash[i] = slot;
}

/* (Re)build the index for the current slots, at most half full; without
 * memory, or when the directory is small, go without one (it is only a
 * shortcut: find_ent scans instead). */
static void index_build(struct ov_inode *dir)
{
	free(dir->hash);
	dir->hash = NULL;
	dir->hcap = 0;
	if (dir->nents <= INDEX_MIN || dir->nents > UINT32_MAX / 4)
		return;
	uint32_t cap = 64;
	while (cap < dir->nents * 2 + 2)
		cap *= 2;
	uint32_t *t = malloc((size_t)cap * sizeof(*t));
	if (!t)
		return;
	memset(t, 0xff, (size_t)cap * sizeof(*t)); /* NO_SLOT */
	dir->hash = t;
	dir->hcap = cap;
	for (uint32_t i = 0; i < dir->nslots; i++)
		if (dir->ents[i].name)
			index_insert(dir, i);
}

/* Remove @slot from the index: linear probing with backward shift, so no
 * tombstones pile up. */
static void index_remove(struct ov_inode *dir, uint32_t slot)
{
	uint32_t mask = dir->hcap - 1;
	uint32_t i = name_hash(dir->ents[slot].name) & mask;
	while (dir->hash[i] != slot) {
		if (dir->hash[i] == NO_SLOT)
			return; /* not there: cannot happen */
		i = (i + 1) & mask;
	}
	for (uint32_t j = i;;) {
		j = (j + 1) & mask;
		if (dir->hash[j] == NO_SLOT)
			break;
		uint32_t home = name_hash(dir->ents[dir->hash[j]].name) & mask;
		/* j's entry may fill the gap at i unless its home lies
		 * cyclically in (i, j] */
		bool stays =
		    i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			dir->hash[i] = dir->hash[j];
			i = j;
		}
	}
	dir->hash[i] = NO_SLOT;
}

static struct ov_dirent *find_ent(struct ov_inode *dir, const char *name,
				  uint32_t *idx)
{
	if (dir->hash) {
		uint32_t mask = dir->hcap - 1;
		for (uint32_t i = name_hash(name) & mask;
		     dir->hash[i] != NO_SLOT; i = (i + 1) & mask) {
			uint32_t k = dir->hash[i];
			if (strcmp(dir->ents[k].name, name) == 0) {
				if (idx)
					*idx = k;
				return &dir->ents[k];
			}
		}
		return NULL;
	}
	for (uint32_t i = 0; i < dir->nslots; i++)
		if (dir->ents[i].name && strcmp(dir->ents[i].name, name) == 0) {
			if (idx)
				*idx = i;
			return &dir->ents[i];
		}
	return NULL;
}

/* Close the holes (the order, so the cookies, is kept) and give back
 * memory; slots move, so the index is rebuilt. */
static void pack_ents(struct ov_inode *dir)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < dir->nslots; i++)
		if (dir->ents[i].name)
			dir->ents[k++] = dir->ents[i];
	dir->nslots = k;
	if (dir->cap > 2 * k + 16) {
		uint32_t cap = k + k / 2 + 8;
		struct ov_dirent *e = realloc(dir->ents, cap * sizeof(*e));
		if (e) {
			dir->ents = e;
			dir->cap = cap;
		}
	}
	index_build(dir);
}

static int add_ent(struct ov_inode *dir, const char *name, uint64_t ino)
{
	if (dir->nslots == dir->cap && dir->nents < dir->nslots / 2)
		pack_ents(dir); /* mostly holes: reuse them */
	if (dir->nslots == dir->cap) {
		if (dir->cap > UINT32_MAX / 2 - 1)
			return -ENOSPC;
		uint32_t cap = dir->cap ? dir->cap * 2 : 8;
		struct ov_dirent *e = realloc(dir->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		dir->ents = e;
		dir->cap = cap;
	}
	char *s = strdup(name);
	if (!s)
		return -ENOMEM;
	uint32_t slot = dir->nslots++;
	dir->ents[slot].name = s;
	dir->ents[slot].ino = ino;
	dir->ents[slot].cookie = dir->next_cookie++;
	dir->nents++;
	if (dir->hash && dir->nents * 2 < dir->hcap)
		index_insert(dir, slot);
	else if (dir->nents > INDEX_MIN)
		index_build(dir); /* the first index or a bigger one */
	return 0;
}

/* Slot @idx goes; other slots do not move unless the array is packed,
 * which renumbers them (callers look entries up again after this). */
static void del_ent(struct ov_inode *dir, uint32_t idx)
{
	if (dir->hash)
		index_remove(dir, idx);
	free(dir->ents[idx].name);
	dir->ents[idx].name = NULL;
	dir->nents--;
	while (dir->nslots && !dir->ents[dir->nslots - 1].name)
		dir->nslots--; /* holes at the end cost nothing to drop */
	if (dir->nslots > 64 && dir->nents < dir->nslots / 2)
		pack_ents(dir);
	else if (dir->hash && dir->nents <= INDEX_MIN / 2)
		index_build(dir); /* small again: drops the index */
}

/* Drop every entry (a compaction record replaces the listing). */
static void clear_ents(struct ov_inode *dir)
{
	for (uint32_t i = 0; i < dir->nslots; i++)
		free(dir->ents[i].name);
	dir->nslots = dir->nents = 0;
	free(dir->hash);
	dir->hash = NULL;
	dir->hcap = 0;
}

static void schedule_dead(struct stg_overlay *ov, uint64_t ino)
{
	if (ov->replaying)
		return; /* open removes orphans after replay */
	if (ov->ndead == ov->dead_cap) {
		size_t cap = ov->dead_cap ? ov->dead_cap * 2 : 16;
		uint64_t *d = realloc(ov->dead, cap * sizeof(*d));
		if (!d)
			return; /* the orphan scan on next open removes it */
		ov->dead = d;
		ov->dead_cap = cap;
	}
	ov->dead[ov->ndead++] = ino;
}

/* One name of @n is gone. */
static void drop_link(struct stg_overlay *ov, struct ov_inode *n)
{
	if (is_dir(n) || n->nlink <= 1) {
		if (n->pins && !is_dir(n) && !ov->replaying) {
			/* open: lives on, nameless and unjournaled */
			n->orphan = true;
			n->nlink = 0;
			return;
		}
		if (n->has_data)
			schedule_dead(ov, n->ino);
		ov->tab[n->ino] = NULL;
		free_inode(ov, n);
		return;
	}
	n->nlink--;
}

/* ---- the base tree ---- */

struct serial_map {
	uint64_t *serial, *ino;
	size_t cap;
};

static uint64_t *serial_slot(struct serial_map *m, uint64_t serial)
{
	size_t i = (size_t)(serial * 0x9e3779b97f4a7c15ull) & (m->cap - 1);
	while (m->serial[i] && m->serial[i] != serial)
		i = (i + 1) & (m->cap - 1);
	m->serial[i] = serial;
	return &m->ino[i];
}

static size_t count_nodes(const struct iso_node *n)
{
	size_t c = 1;
	for (uint32_t i = 0; i < n->nchildren; i++)
		c += count_nodes(n->children[i]);
	return c;
}

static int load_base(struct stg_overlay *ov, const struct iso_node *b,
		     uint64_t parent, struct serial_map *m, uint64_t *ino_out)
{
	if (b->ino > ov->base_max_serial)
		ov->base_max_serial = b->ino;
	if (!iso_node_is_dir(b) && b->nlink > 1 && b->ino) {
		uint64_t *slot = serial_slot(m, b->ino);
		struct ov_inode *o = *slot ? ov->tab[*slot] : NULL;
		if (o && (o->mode & S_IFMT) == (b->mode & S_IFMT)) {
			o->nlink++; /* another name of a base hard link */
			*ino_out = *slot;
			return 0;
		}
		if (!o)
			*slot = ov->next_ino;
	}
	struct ov_inode *n = new_inode(ov->next_ino++, b->mode);
	if (!n)
		return -ENOMEM;
	int rc = put_inode(ov, n);
	if (rc) {
		free_inode(ov, n);
		return rc;
	}
	n->base = b;
	n->uid = b->uid;
	n->gid = b->gid;
	n->nlink = is_dir(n) ? 2 : 1;
	n->size = b->size;
	n->atime = b->atime;
	n->mtime = b->mtime;
	n->ctime = b->ctime;
	n->rdev = b->rdev;
	n->serial = b->ino;
	n->parent = parent;
	if (b->symlink) {
		n->symlink = strdup(b->symlink);
		if (!n->symlink)
			return -ENOMEM;
		n->size = strlen(b->symlink);
	}
	*ino_out = n->ino;
	if (!is_dir(n))
		return 0;
	for (uint32_t i = 0; i < b->nchildren; i++) {
		const struct iso_node *c = b->children[i];
		uint64_t ci;
		if (iso_name_check(c->name, strlen(c->name)) ||
		    find_ent(n, c->name, NULL))
			continue; /* the reader never gives these */
		rc = load_base(ov, c, n->ino, m, &ci);
		if (rc)
			return rc;
		rc = add_ent(n, c->name, ci);
		if (rc)
			return rc;
		if (iso_node_is_dir(c))
			n->nlink++;
	}
	return 0;
}

/* ---- applying records (live and replay) ---- */

static int rec_err(struct stg_overlay *ov, int err, const char *what)
{
	if (ov->replaying)
		return cds_error(-EUCLEAN, "journal record %" PRIu64 ": %s",
				 ov->rec_no, what);
	return cds_error(err, "%s", what);
}

/* The inode a record names, once the record decoded whole: the checks
 * every record about one inode starts with. */
static int rec_inode(struct stg_overlay *ov, const struct dec *d, uint64_t ino,
		     struct ov_inode **n)
{
	if (d->bad)
		return rec_err(ov, -EINVAL, "truncated record");
	*n = get_ino(ov, ino);
	return *n ? 0 : rec_err(ov, -ENOENT, "no such inode");
}

static int check_name(struct stg_overlay *ov, const char *name)
{
	int rc = iso_name_check(name, strlen(name));
	if (rc && ov->replaying)
		return rec_err(ov, rc, "bad name");
	return rc;
}

static struct ov_inode *get_dir(struct stg_overlay *ov, uint64_t ino, int *rc)
{
	struct ov_inode *d = get_ino(ov, ino);
	if (!d)
		*rc = rec_err(ov, -ENOENT, "no such directory inode");
	else if (!is_dir(d)) {
		*rc = rec_err(ov, -ENOTDIR, "not a directory");
		d = NULL;
	}
	return d;
}

static void touch_dir(struct ov_inode *d, struct timespec now)
{
	d->mtime = now;
	d->ctime = now;
	d->changed = true;
}

static bool valid_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFIFO:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFSOCK:
		return true;
	}
	return false;
}

/* Levels below the root: bounded so that the recursive walks (snapshot)
 * stay shallow whatever a hostile journal builds. */
static unsigned dir_depth(struct stg_overlay *ov, uint64_t d)
{
	unsigned depth = 0;
	while (d != STG_ROOT_INO && depth <= MAX_DEPTH) {
		const struct ov_inode *n = get_ino(ov, d);
		if (!n)
			break;
		d = n->parent;
		depth++;
	}
	return depth;
}

/* Levels of directories below @n (0 when it has no subdirectory). */
static unsigned dir_height(struct stg_overlay *ov, const struct ov_inode *n)
{
	unsigned h = 0;
	for (uint32_t i = 0; i < n->nslots; i++) {
		const struct ov_inode *c =
		    n->ents[i].name ? get_ino(ov, n->ents[i].ino) : NULL;
		if (c && is_dir(c)) {
			unsigned ch = 1 + dir_height(ov, c);
			if (ch > h)
				h = ch;
		}
	}
	return h;
}

static int ap_create(struct stg_overlay *ov, struct dec *d, struct timespec now)
{
	char name[256], target[4096];
	int rc = 0;
	uint64_t parent = get_u64(d), ino = get_u64(d);
	uint32_t mode = get_u32(d), uid = get_u32(d), gid = get_u32(d);
	uint64_t rdev = get_u64(d);
	get_str(d, name, 255);
	size_t tlen = get_str(d, target, sizeof(target) - 1);
	if (d->bad)
		return rec_err(ov, -EINVAL, "truncated record");
	struct ov_inode *dir = get_dir(ov, parent, &rc);
	if (!dir)
		return rc;
	if ((rc = check_name(ov, name)))
		return rc;
	if (ino != ov->next_ino)
		return rec_err(ov, -EINVAL, "inode number out of sequence");
	if (ino - ov->first_new >= MAX_NEW_INODES)
		return rec_err(ov, -ENOSPC,
			       "too many new files since the last session");
	if (!valid_type(mode) || (mode & ~(uint32_t)(S_IFMT | 07777)))
		return rec_err(ov, -EINVAL, "bad file type");
	if (S_ISLNK(mode) != (tlen != 0))
		return rec_err(ov, -EINVAL, "symlink target mismatch");
	if (find_ent(dir, name, NULL))
		return rec_err(ov, -EEXIST, "file exists");
	if (S_ISDIR(mode) && dir_depth(ov, parent) + 1 > MAX_DEPTH)
		return rec_err(ov, -ELOOP, "directories nested too deep");
	struct ov_inode *n = new_inode(ino, mode);
	if (!n)
		return -ENOMEM;
	n->uid = uid;
	n->gid = gid;
	n->rdev = (dev_t)rdev;
	n->atime = n->mtime = n->ctime = now;
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	n->parent = parent;
	n->has_data = S_ISREG(mode);
	n->changed = true;
	if (S_ISLNK(mode)) {
		n->symlink = strdup(target);
		n->size = tlen;
		if (!n->symlink) {
			free_inode(ov, n);
			return -ENOMEM;
		}
	}
	if ((rc = put_inode(ov, n)) || (rc = add_ent(dir, name, ino))) {
		if (ov->tab && ino < ov->ntab)
			ov->tab[ino] = NULL;
		free_inode(ov, n);
		return rc;
	}
	ov->next_ino++;
	if (S_ISDIR(mode))
		dir->nlink++;
	touch_dir(dir, now);
	return 0;
}

static int ap_link(struct stg_overlay *ov, struct dec *d, struct timespec now)
{
	char name[256];
	int rc = 0;
	uint64_t ino = get_u64(d), parent = get_u64(d);
	get_str(d, name, 255);
	if (d->bad)
		return rec_err(ov, -EINVAL, "truncated record");
	struct ov_inode *n = get_ino(ov, ino);
	if (!n || n->orphan)
		return rec_err(ov, -ENOENT, "no such inode");
	struct ov_inode *dir = get_dir(ov, parent, &rc);
	if (!dir)
		return rc;
	if ((rc = check_name(ov, name)))
		return rc;
	if (find_ent(dir, name, NULL))
		return rec_err(ov, -EEXIST, "file exists");
	if (is_dir(n))
		return rec_err(ov, -EPERM, "hard link to a directory");
	if (n->nlink >= 65000)
		return rec_err(ov, -EMLINK, "too many links");
	if ((rc = add_ent(dir, name, ino)))
		return rc;
	n->nlink++;
	n->ctime = now;
	n->changed = true;
	touch_dir(dir, now);
	return 0;
}

static int ap_unlink(struct stg_overlay *ov, struct dec *d, struct timespec now)
{
	char name[256];
	int rc = 0;
	uint64_t parent = get_u64(d);
	get_str(d, name, 255);
	uint32_t rmdir = get_u32(d);
	if (d->bad || rmdir > 1)
		return rec_err(ov, -EINVAL, "truncated record");
	struct ov_inode *dir = get_dir(ov, parent, &rc);
	if (!dir)
		return rc;
	if ((rc = check_name(ov, name)))
		return rc;
	uint32_t idx;
	struct ov_dirent *e = find_ent(dir, name, &idx);
	if (!e)
		return rec_err(ov, -ENOENT, "no such file");
	struct ov_inode *n = get_ino(ov, e->ino);
	if (rmdir && !is_dir(n))
		return rec_err(ov, -ENOTDIR, "not a directory");
	if (!rmdir && is_dir(n))
		return rec_err(ov, -EISDIR, "is a directory");
	if (rmdir && n->nents)
		return rec_err(ov, -ENOTEMPTY, "directory not empty");
	del_ent(dir, idx);
	if (rmdir)
		dir->nlink--;
	n->ctime = now;
	n->changed = true;
	drop_link(ov, n);
	touch_dir(dir, now);
	return 0;
}

/* Is @anc @d itself or one of its ancestors? */
static bool is_ancestor(struct stg_overlay *ov, uint64_t anc, uint64_t d)
{
	for (unsigned depth = 0; depth < 100000; depth++) {
		if (d == anc)
			return true;
		if (d == STG_ROOT_INO)
			return false;
		const struct ov_inode *n = get_ino(ov, d);
		if (!n)
			return false;
		d = n->parent;
	}
	return true; /* a cycle: refuse */
}

/*
 * RENAME_EXCHANGE, checked by ap_rename: the two entries keep their names
 * and places in their listings (so their cookies) and swap inodes, as
 * ext4 does.  A directory that changes parent takes its link to the new
 * parent along; neither is an ancestor of the other's parent (checked), so
 * the depths are unchanged except for the moved subtrees.
 */
static int exchange(struct stg_overlay *ov, struct ov_inode *odir,
		    struct ov_dirent *oe, struct ov_inode *ndir,
		    struct ov_dirent *ne, struct timespec now)
{
	struct ov_inode *a = get_ino(ov, oe->ino), *b = get_ino(ov, ne->ino);
	if (odir != ndir && is_dir(b) &&
	    dir_depth(ov, odir->ino) + 1 + dir_height(ov, b) > MAX_DEPTH)
		return rec_err(ov, -ELOOP, "directories nested too deep");
	oe->ino = b->ino;
	ne->ino = a->ino;
	if (odir != ndir) {
		if (is_dir(a)) {
			a->parent = ndir->ino;
			odir->nlink--;
			ndir->nlink++;
		}
		if (is_dir(b)) {
			b->parent = odir->ino;
			ndir->nlink--;
			odir->nlink++;
		}
	}
	a->ctime = now;
	b->ctime = now;
	a->changed = true;
	b->changed = true;
	touch_dir(odir, now);
	touch_dir(ndir, now);
	return 0;
}

static int ap_rename(struct stg_overlay *ov, struct dec *d, struct timespec now)
{
	char oname[256], nname[256];
	int rc = 0;
	uint64_t odir_i = get_u64(d), ndir_i = get_u64(d);
	get_str(d, oname, 255);
	get_str(d, nname, 255);
	uint32_t flags = get_u32(d);
	if (d->bad)
		return rec_err(ov, -EINVAL, "truncated record");
	if ((flags & ~(STG_RENAME_NOREPLACE | STG_RENAME_EXCHANGE)) ||
	    flags == (STG_RENAME_NOREPLACE | STG_RENAME_EXCHANGE))
		return rec_err(ov, -EINVAL, "unsupported rename flags");
	struct ov_inode *odir = get_dir(ov, odir_i, &rc);
	if (!odir)
		return rc;
	struct ov_inode *ndir = get_dir(ov, ndir_i, &rc);
	if (!ndir)
		return rc;
	if ((rc = check_name(ov, oname)) || (rc = check_name(ov, nname)))
		return rc;
	uint32_t oidx, nidx;
	struct ov_dirent *oe = find_ent(odir, oname, &oidx);
	if (!oe)
		return rec_err(ov, -ENOENT, "no such file");
	struct ov_inode *src = get_ino(ov, oe->ino);
	struct ov_dirent *ne = find_ent(ndir, nname, &nidx);
	/* the checks in Linux's order, so that errors match a local fs */
	if (ne && (flags & STG_RENAME_NOREPLACE))
		return rec_err(ov, -EEXIST, "file exists");
	if (!ne && (flags & STG_RENAME_EXCHANGE))
		return rec_err(ov, -ENOENT, "no such file");
	if (is_dir(src) && is_ancestor(ov, src->ino, ndir_i))
		return rec_err(ov, -EINVAL,
			       "cannot move a directory into itself");
	if (ne && is_ancestor(ov, ne->ino, odir_i))
		return (flags & STG_RENAME_EXCHANGE)
			   ? rec_err(ov, -EINVAL,
				     "cannot move a directory into itself")
			   : rec_err(ov, -ENOTEMPTY, "directory not empty");
	if (is_dir(src) && odir != ndir &&
	    dir_depth(ov, ndir_i) + 1 + dir_height(ov, src) > MAX_DEPTH)
		return rec_err(ov, -ELOOP, "directories nested too deep");
	if (ne && ne->ino == src->ino)
		return 0; /* same file (or a hard link of it): nothing */
	if (flags & STG_RENAME_EXCHANGE)
		return exchange(ov, odir, oe, ndir, ne, now);
	if (ne) {
		struct ov_inode *tgt = get_ino(ov, ne->ino);
		if (is_dir(src) && !is_dir(tgt))
			return rec_err(ov, -ENOTDIR, "not a directory");
		if (!is_dir(src) && is_dir(tgt))
			return rec_err(ov, -EISDIR, "is a directory");
		if (is_dir(tgt) && tgt->nents)
			return rec_err(ov, -ENOTEMPTY, "directory not empty");
		del_ent(ndir, nidx);
		if (is_dir(tgt))
			ndir->nlink--;
		tgt->ctime = now;
		tgt->changed = true;
		drop_link(ov, tgt);
		/* deleting may pack the listing: the source's slot moves */
		if (odir == ndir)
			find_ent(odir, oname, &oidx);
	}
	uint64_t sino = src->ino;
	del_ent(odir, oidx);
	if ((rc = add_ent(ndir, nname, sino)))
		return rc; /* ENOMEM: the live side reports it */
	if (is_dir(src) && odir != ndir) {
		odir->nlink--;
		ndir->nlink++;
		src->parent = ndir_i;
	}
	src->ctime = now;
	src->changed = true;
	touch_dir(odir, now);
	touch_dir(ndir, now);
	return 0;
}

static int ap_setattr(struct stg_overlay *ov, struct dec *d,
		      struct timespec now)
{
	uint64_t ino = get_u64(d);
	uint32_t which = get_u32(d), mode = get_u32(d), uid = get_u32(d),
		 gid = get_u32(d);
	uint64_t size = get_u64(d);
	struct timespec at = get_ts(d), mt = get_ts(d);
	struct ov_inode *n;
	int rc = rec_inode(ov, d, ino, &n);
	if (rc)
		return rc;
	if (which & ~0x3fu)
		return rec_err(ov, -EINVAL, "bad attribute mask");
	if (which & STG_SET_SIZE) {
		if (is_dir(n))
			return rec_err(ov, -EISDIR, "is a directory");
		if (!S_ISREG(n->mode))
			return rec_err(ov, -EINVAL, "not a regular file");
		if (size > MAX_FILE_SIZE)
			return rec_err(ov, -EFBIG, "file too large");
		if (n->base && !n->has_data && size != n->size)
			return rec_err(
			    ov, -EINVAL,
			    "size change of a base file not copied up");
	}
	if (which & STG_SET_MODE)
		n->mode = (n->mode & S_IFMT) | (mode & 07777);
	if (which & STG_SET_UID)
		n->uid = uid;
	if (which & STG_SET_GID)
		n->gid = gid;
	if (which & STG_SET_SIZE) {
		if (size != n->size)
			n->mtime = now;
		n->size = size;
	}
	if (which & STG_SET_ATIME)
		n->atime = at;
	if (which & STG_SET_MTIME)
		n->mtime = mt;
	n->ctime = now;
	n->changed = true;
	return 0;
}

static int ap_copyup(struct stg_overlay *ov, struct dec *d, struct timespec now)
{
	uint64_t ino = get_u64(d), size = get_u64(d);
	struct ov_inode *n;
	int rc = rec_inode(ov, d, ino, &n);
	if (rc)
		return rc;
	if (!S_ISREG(n->mode) || !n->base || n->has_data)
		return rec_err(ov, -EINVAL, "copy-up of a file that has data");
	if (size > n->size)
		return rec_err(ov, -EINVAL, "copy-up past the end of the file");
	n->has_data = true;
	if (size != n->size)
		n->mtime = now;
	n->size = size;
	n->ctime = now;
	n->changed = true;
	return 0;
}

static int ap_write(struct stg_overlay *ov, struct dec *d, struct timespec now)
{
	uint64_t ino = get_u64(d), size = get_u64(d);
	struct ov_inode *n;
	int rc = rec_inode(ov, d, ino, &n);
	if (rc)
		return rc;
	if (!S_ISREG(n->mode) || !n->has_data)
		return rec_err(ov, -EINVAL, "write to a file without data");
	if (size > MAX_FILE_SIZE || size < n->size)
		return rec_err(ov, -EINVAL, "bad size");
	n->size = size;
	n->mtime = now;
	n->ctime = now;
	n->changed = true;
	return 0;
}

/* ---- compaction records ---- */

static int ap_nextino(struct stg_overlay *ov, struct dec *d,
		      struct timespec now)
{
	uint64_t next = get_u64(d);
	(void)now;
	if (d->bad)
		return rec_err(ov, -EINVAL, "truncated record");
	if (next < ov->next_ino)
		return rec_err(ov, -EINVAL, "inode number out of sequence");
	/* the inode table is indexed by number: a hostile jump must not
	 * size it */
	if (next - ov->first_new > MAX_NEW_INODES)
		return rec_err(ov, -EINVAL, "inode number out of range");
	ov->next_ino = next;
	return 0;
}

static int ap_inode(struct stg_overlay *ov, struct dec *d, struct timespec now)
{
	char target[4096];
	uint64_t ino = get_u64(d), parent = get_u64(d);
	uint32_t mode = get_u32(d), uid = get_u32(d), gid = get_u32(d),
		 nlink = get_u32(d);
	uint64_t rdev = get_u64(d), size = get_u64(d);
	struct timespec at = get_ts(d), mt = get_ts(d), ct = get_ts(d);
	uint32_t has_data = get_u32(d);
	size_t tlen = get_str(d, target, sizeof(target) - 1);
	(void)now;
	if (d->bad || has_data > 1)
		return rec_err(ov, -EINVAL, "truncated record");
	if (ino == 0 || ino >= ov->next_ino)
		return rec_err(ov, -EINVAL, "inode number out of sequence");
	if (!valid_type(mode) || (mode & ~(uint32_t)(S_IFMT | 07777)))
		return rec_err(ov, -EINVAL, "bad file type");
	if (S_ISLNK(mode) != (tlen != 0) || (S_ISLNK(mode) && size != tlen))
		return rec_err(ov, -EINVAL, "symlink target mismatch");
	if (size > MAX_FILE_SIZE || (has_data && !S_ISREG(mode)))
		return rec_err(ov, -EINVAL, "bad size");
	if (nlink == 0)
		return rec_err(ov, -EINVAL, "bad link count");
	struct ov_inode *n = get_ino(ov, ino);
	if (n && (n->mode & S_IFMT) != (mode & S_IFMT))
		return rec_err(ov, -EINVAL, "file type changed");
	if (!n && ino < ov->first_new)
		return rec_err(ov, -ENOENT, "no such inode");
	if (n && n->base && !has_data && !n->has_data && S_ISREG(mode) &&
	    size != n->size)
		return rec_err(ov, -EINVAL,
			       "size change of a base file not copied up");
	if (n && S_ISLNK(mode) && strcmp(n->symlink ? n->symlink : "", target))
		return rec_err(ov, -EINVAL, "symlink target changed");
	if (S_ISREG(mode) && !has_data && !(n && n->base))
		return rec_err(ov, -EINVAL, "new file without data");
	if (n && n->has_data && !has_data)
		return rec_err(ov, -EINVAL, "data file dropped");
	if (!n) {
		n = new_inode(ino, mode);
		if (!n)
			return -ENOMEM;
		if (S_ISLNK(mode) && !(n->symlink = strdup(target))) {
			free_inode(ov, n);
			return -ENOMEM;
		}
		int rc = put_inode(ov, n);
		if (rc) {
			free_inode(ov, n);
			return rc;
		}
	}
	n->mode = mode;
	n->uid = uid;
	n->gid = gid;
	n->nlink = nlink;
	n->rdev = (dev_t)rdev;
	n->size = size;
	n->atime = at;
	n->mtime = mt;
	n->ctime = ct;
	n->has_data = has_data;
	n->parent = parent;
	n->changed = true;
	ov->need_check = true; /* parent is checked with the listings */
	return 0;
}

static int ap_dir(struct stg_overlay *ov, struct dec *d, struct timespec now)
{
	char name[256];
	int rc = 0;
	uint64_t ino = get_u64(d);
	uint32_t count = get_u32(d);
	(void)now;
	if (d->bad)
		return rec_err(ov, -EINVAL, "truncated record");
	struct ov_inode *dir = get_dir(ov, ino, &rc);
	if (!dir)
		return rc;
	/* the new listing replaces the old one */
	clear_ents(dir);
	dir->changed = true;
	ov->need_check = true;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t child = get_u64(d);
		get_str(d, name, 255);
		if (d->bad)
			return rec_err(ov, -EINVAL, "truncated record");
		if ((rc = check_name(ov, name)))
			return rc;
		if (!get_ino(ov, child))
			return rec_err(ov, -ENOENT, "no such inode");
		if (find_ent(dir, name, NULL))
			return rec_err(ov, -EEXIST, "file exists");
		if ((rc = add_ent(dir, name, child)))
			return rc;
	}
	return 0;
}

static int ap_free(struct stg_overlay *ov, struct dec *d, struct timespec now)
{
	uint64_t ino = get_u64(d);
	(void)now;
	if (d->bad)
		return rec_err(ov, -EINVAL, "truncated record");
	struct ov_inode *n = get_ino(ov, ino);
	if (!n || ino >= ov->first_new || ino == STG_ROOT_INO)
		return rec_err(ov, -ENOENT, "no such inode");
	ov->tab[ino] = NULL;
	free_inode(ov, n);
	ov->need_check = true;
	return 0;
}

/*
 * After compaction records, before anything else uses the tree: every
 * entry names a live inode, and every directory is listed under the
 * parent it records, within MAX_DEPTH of the root (so no cycle), once.
 * A hostile journal must not leave dangling entries or loops behind.
 */
static int check_tree(struct stg_overlay *ov)
{
	ov->need_check = false;
	for (uint64_t i = 1; i < ov->ntab; i++)
		if (ov->tab[i])
			ov->tab[i]->snap_serial = 0;
	for (uint64_t i = 1; i < ov->ntab; i++) {
		struct ov_inode *dir = ov->tab[i];
		if (!dir || !is_dir(dir))
			continue;
		for (uint32_t k = 0; k < dir->nslots; k++) {
			if (!dir->ents[k].name)
				continue;
			struct ov_inode *c = get_ino(ov, dir->ents[k].ino);
			if (!c || c->orphan)
				return rec_err(ov, -EINVAL, "dangling entry");
			if (!is_dir(c))
				continue;
			if (c->parent != i || c->snap_serial++ ||
			    c->ino == STG_ROOT_INO ||
			    dir_depth(ov, c->ino) > MAX_DEPTH)
				return rec_err(ov, -EINVAL,
					       "bad directory tree");
		}
	}
	for (uint64_t i = 1; i < ov->ntab; i++) {
		struct ov_inode *n = ov->tab[i];
		if (n && is_dir(n) && i != STG_ROOT_INO && !n->snap_serial)
			return rec_err(ov, -EINVAL, "unlisted directory");
	}
	return 0;
}

/* One applier per record type, shared by live operations and replay. */
static int (*const appliers[])(struct stg_overlay *, struct dec *,
			       struct timespec) = {
    [R_CREATE] = ap_create, [R_LINK] = ap_link,	      [R_UNLINK] = ap_unlink,
    [R_RENAME] = ap_rename, [R_SETATTR] = ap_setattr, [R_COPYUP] = ap_copyup,
    [R_WRITE] = ap_write,   [R_NEXTINO] = ap_nextino, [R_INODE] = ap_inode,
    [R_DIR] = ap_dir,	    [R_FREE] = ap_free,
};

static int apply(struct stg_overlay *ov, uint8_t type, const void *payload,
		 size_t len)
{
	struct dec d = {payload, len, 0, false};
	struct timespec now = get_ts(&d);
	int rc;

	if (d.bad)
		return rec_err(ov, -EINVAL, "truncated record");
	if (type >= sizeof(appliers) / sizeof(appliers[0]) || !appliers[type])
		return rec_err(ov, -EINVAL, "unknown record type");
	if (ov->need_check && type < R_NEXTINO && (rc = check_tree(ov)))
		return rc;
	rc = appliers[type](ov, &d, now);
	if (!rc && d.off != d.len)
		return rec_err(ov, -EINVAL, "trailing bytes");
	return rc;
}

static int replay_cb(void *ctx, uint8_t type, uint64_t seq, const void *payload,
		     size_t len)
{
	struct stg_overlay *ov = ctx;
	(void)seq;
	ov->rec_no++;
	int rc = apply(ov, type, payload, len);
	if (rc && rc != -EUCLEAN)
		rc = cds_error(rc, "journal record %" PRIu64 ": %s", ov->rec_no,
			       strerror(-rc));
	return rc;
}

static int sync_data(struct stg_overlay *ov);
static int ordered_sync(struct stg_overlay *ov);

/* Apply the record in @e, then journal it (records about a nameless
 * pinned inode are not journaled: replay has freed it already). */
static int commit(struct stg_overlay *ov, uint8_t type, struct enc *e)
{
	int rc = e->err;
	bool orphan = false;
	if (!rc && stg_journal_buffered(ov->j) >= ORDERED_SYNC_AT)
		rc = ordered_sync(ov);
	if (!rc && (type == R_SETATTR || type == R_COPYUP || type == R_WRITE) &&
	    e->len >= 20) {
		const struct ov_inode *n = get_ino(ov, cds_get_le64(e->p + 12));
		orphan = n && n->orphan;
	}
	if (!rc)
		rc = apply(ov, type, e->p, e->len);
	if (!rc && !orphan)
		rc = stg_journal_append(ov->j, type, e->p, e->len, NULL);
	free(e->p);
	return rc;
}

static struct enc enc_start(void)
{
	struct enc e = {NULL, 0, 0, 0};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	put_ts(&e, now);
	return e;
}

/* ---- open / close ---- */

static void cut_data_file(int dirfd, const char *name, uint64_t size)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (!ftruncate(fd, (off_t)size))
		fdatasync(fd);
	close(fd);
}

/* The inode owning data file @leaf of subdirectory @sub, or NULL when none
 * does under exactly that name (an orphan, or a misplaced file). */
static const struct ov_inode *data_owner(struct stg_overlay *ov,
					 const char *sub, const char *leaf)
{
	if (leaf[0] < '0' || leaf[0] > '9')
		return NULL;
	char *end, name[DATA_NAME_MAX], want[DATA_NAME_MAX];
	errno = 0;
	unsigned long long v = strtoull(leaf, &end, 10);
	const struct ov_inode *n =
	    (*end || errno) ? NULL : get_ino(ov, (uint64_t)v);
	if (!n || !n->has_data)
		return NULL;
	data_name(n->ino, want);
	snprintf(name, sizeof(name), "%s/%s", sub, leaf);
	return strcmp(name, want) ? NULL : n;
}

static bool is_data_subdir(const char *name)
{
	return strlen(name) == 2 && strspn(name, "0123456789abcdef") == 2;
}

static void tidy_subdir(struct stg_overlay *ov, const char *sub)
{
	int fd = openat(ov->datafd, sub,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	int fd2 = dup(fd);
	DIR *dp = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (!dp) {
		if (fd2 >= 0)
			close(fd2);
		close(fd);
		return;
	}
	struct dirent *de;
	bool kept = false;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		const struct ov_inode *n = data_owner(ov, sub, de->d_name);
		struct stat sb;
		if (!n) {
			kept |= unlinkat(fd, de->d_name, 0) != 0;
			continue;
		}
		kept = true;
		if (!fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) &&
		    S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > n->size)
			cut_data_file(fd, de->d_name, n->size);
	}
	closedir(dp);
	close(fd);
	if (!kept) /* made again with its next file */
		unlinkat(ov->datafd, sub, AT_REMOVEDIR);
}

/*
 * Remove the data files no live inode owns, and cut the ones longer than
 * their inode: bytes written after the last sync whose record was lost
 * (kill -9, a crash, a failed write) must not reappear when the file is
 * extended later; the cut is synced so that it is not lost either.  Files
 * directly in DIR/data (the flat layout before the fan-out, or strays) are
 * orphans too.
 */
static int tidy_data_files(struct stg_overlay *ov)
{
	int fd = openat(ov->datafd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(dp))) {
		struct stat sb;
		if (de->d_name[0] == '.' ||
		    fstatat(ov->datafd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISDIR(sb.st_mode)) {
			if (is_data_subdir(de->d_name))
				tidy_subdir(ov, de->d_name);
		} else
			unlinkat(ov->datafd, de->d_name, 0);
	}
	closedir(dp);
	return 0;
}

int stg_overlay_open(struct stg_store *st, const struct iso_node *base_root,
		     const void *base_id, size_t base_id_len,
		     stg_read_base_fn read_base, void *read_ctx,
		     struct stg_overlay **out)
{
	*out = NULL;
	if (!base_root || !iso_node_is_dir(base_root))
		return cds_error(-EINVAL,
				 "overlay: base root is not a directory");
	struct stg_overlay *ov = calloc(1, sizeof(*ov));
	if (!ov)
		return -ENOMEM;
	ov->st = st;
	ov->datafd = -1;
	ov->read_base = read_base;
	ov->read_ctx = read_ctx;
	ov->next_ino = STG_ROOT_INO;
	int rc;

	size_t count = count_nodes(base_root);
	struct serial_map m = {NULL, NULL, 16};
	while (m.cap < count * 2)
		m.cap *= 2;
	m.serial = calloc(m.cap, sizeof(uint64_t));
	m.ino = calloc(m.cap, sizeof(uint64_t));
	uint64_t root;
	rc = (m.serial && m.ino)
		 ? load_base(ov, base_root, STG_ROOT_INO, &m, &root)
		 : -ENOMEM;
	free(m.serial);
	free(m.ino);
	if (rc)
		goto fail;
	ov->first_new = ov->next_ino;

	int dfd = stg_store_dirfd(st);
	if (mkdirat(dfd, "data", 0700) && errno != EEXIST) {
		rc = cds_error(-errno, "staging: cannot create %s/data: %s",
			       stg_store_dir(st), strerror(errno));
		goto fail;
	}
	ov->datafd = openat(dfd, "data", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ov->datafd < 0) {
		rc = cds_error(-errno, "staging: cannot open %s/data: %s",
			       stg_store_dir(st), strerror(errno));
		goto fail;
	}
	fsync(dfd);

	char path[4096];
	snprintf(path, sizeof(path), "%s/journal", stg_store_dir(st));
	ov->replaying = true;
	rc =
	    stg_journal_open(path, base_id, base_id_len, replay_cb, ov, &ov->j);
	if (!rc && ov->need_check)
		rc = check_tree(ov);
	ov->replaying = false;
	if (rc)
		goto fail;
	ov->compacted_bytes = stg_journal_bytes(ov->j);
	tidy_data_files(ov);
	*out = ov;
	return 0;
fail:
	stg_overlay_close(ov);
	return rc;
}

void stg_overlay_close(struct stg_overlay *ov)
{
	if (!ov)
		return;
	/* the flush below hands records to the kernel, which may write them
	 * before unsynced data: sync the data first (an error here is an
	 * I/O error on the data already; the records still go) */
	if (ov->j)
		sync_data(ov);
	stg_journal_close(ov->j);
	for (uint64_t i = 0; i < ov->ntab; i++)
		if (ov->tab[i])
			free_inode(ov, ov->tab[i]);
	free(ov->tab);
	free(ov->dead);
	if (ov->datafd >= 0)
		close(ov->datafd);
	free(ov);
}

/* ---- metadata operations ---- */

static int need(struct stg_overlay *ov, uint64_t ino, struct ov_inode **n)
{
	*n = get_ino(ov, ino);
	if (!*n)
		return cds_error(-ENOENT, "no inode %" PRIu64, ino);
	return 0;
}

int stg_lookup(struct stg_overlay *ov, uint64_t parent, const char *name,
	       uint64_t *ino)
{
	int rc = 0;
	struct ov_inode *d = get_dir(ov, parent, &rc);
	if (!d)
		return rc;
	if ((rc = iso_name_check(name, strlen(name))))
		return rc;
	const struct ov_dirent *e = find_ent(d, name, NULL);
	if (!e)
		return -ENOENT;
	*ino = e->ino;
	return 0;
}

int stg_lookup_path(struct stg_overlay *ov, const char *path, uint64_t *ino)
{
	char comp[NAME_MAX + 1];
	uint64_t cur = STG_ROOT_INO;

	while (*path == '/')
		path++;
	while (*path) {
		size_t n = strcspn(path, "/");
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, path, n);
		comp[n] = '\0';
		int rc = stg_lookup(ov, cur, comp, &cur);
		if (rc)
			return rc;
		path += n;
		while (*path == '/')
			path++;
	}
	*ino = cur;
	return 0;
}

int stg_getattr(struct stg_overlay *ov, uint64_t ino, struct stg_attr *a)
{
	struct ov_inode *n;
	int rc = need(ov, ino, &n);
	if (rc)
		return rc;
	a->ino = n->ino;
	a->mode = n->mode;
	a->uid = n->uid;
	a->gid = n->gid;
	a->nlink = n->nlink;
	a->size = n->size;
	a->atime = n->atime;
	a->mtime = n->mtime;
	a->ctime = n->ctime;
	a->rdev = n->rdev;
	return 0;
}

int stg_readlink(struct stg_overlay *ov, uint64_t ino, char *buf, size_t cap)
{
	struct ov_inode *n;
	int rc = need(ov, ino, &n);
	if (rc)
		return rc;
	if (!S_ISLNK(n->mode) || !n->symlink)
		return -EINVAL;
	size_t len = strlen(n->symlink);
	if (cap) {
		size_t c = len < cap - 1 ? len : cap - 1;
		memcpy(buf, n->symlink, c);
		buf[c] = 0;
	}
	return (int)len;
}

int stg_readdir(struct stg_overlay *ov, uint64_t dir, uint64_t cookie,
		stg_readdir_fn fn, void *ctx)
{
	int rc = 0;
	struct ov_inode *d = get_dir(ov, dir, &rc);
	if (!d)
		return rc;
	/* cookies increase along the array (holes keep theirs): binary
	 * search the start */
	uint32_t lo = 0, hi = d->nslots;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (d->ents[mid].cookie <= cookie)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t i = lo; i < d->nslots; i++) {
		if (!d->ents[i].name)
			continue;
		const struct ov_inode *n = get_ino(ov, d->ents[i].ino);
		if (fn(ctx, d->ents[i].name, d->ents[i].ino, n->mode,
		       d->ents[i].cookie))
			break;
	}
	return 0;
}

static int make(struct stg_overlay *ov, uint64_t parent, const char *name,
		mode_t mode, dev_t rdev, const char *target, uid_t uid,
		gid_t gid, uint64_t *ino)
{
	int rc = iso_name_check(name, strlen(name));
	if (rc)
		return rc;
	if (target && (!*target || strlen(target) >= 4096))
		return cds_error(-ENAMETOOLONG, "bad symlink target length");
	uint64_t new_ino = ov->next_ino;
	struct enc e = enc_start();
	put_u64(&e, parent);
	put_u64(&e, new_ino);
	put_u32(&e, (uint32_t)mode);
	put_u32(&e, (uint32_t)uid);
	put_u32(&e, (uint32_t)gid);
	put_u64(&e, (uint64_t)rdev);
	put_str(&e, name);
	put_str(&e, target);
	rc = commit(ov, R_CREATE, &e);
	if (!rc && ino)
		*ino = new_ino;
	return rc;
}

int stg_create(struct stg_overlay *ov, uint64_t parent, const char *name,
	       mode_t mode, uid_t uid, gid_t gid, uint64_t *ino)
{
	return make(ov, parent, name, S_IFREG | (mode & 07777), 0, NULL, uid,
		    gid, ino);
}

int stg_mkdir(struct stg_overlay *ov, uint64_t parent, const char *name,
	      mode_t mode, uid_t uid, gid_t gid, uint64_t *ino)
{
	return make(ov, parent, name, S_IFDIR | (mode & 07777), 0, NULL, uid,
		    gid, ino);
}

int stg_symlink(struct stg_overlay *ov, uint64_t parent, const char *name,
		const char *target, uid_t uid, gid_t gid, uint64_t *ino)
{
	if (!target)
		return -EINVAL;
	return make(ov, parent, name, S_IFLNK | 0777, 0, target, uid, gid, ino);
}

int stg_mknod(struct stg_overlay *ov, uint64_t parent, const char *name,
	      mode_t mode, dev_t rdev, uid_t uid, gid_t gid, uint64_t *ino)
{
	mode_t t = mode & S_IFMT;
	if (t != S_IFIFO && t != S_IFCHR && t != S_IFBLK && t != S_IFSOCK &&
	    t != S_IFREG)
		return cds_error(-EINVAL, "mknod: unsupported file type");
	if (t != S_IFCHR && t != S_IFBLK)
		rdev = 0;
	return make(ov, parent, name, t | (mode & 07777), rdev, NULL, uid, gid,
		    ino);
}

int stg_link(struct stg_overlay *ov, uint64_t ino, uint64_t newparent,
	     const char *newname)
{
	int rc = iso_name_check(newname, strlen(newname));
	if (rc)
		return rc;
	struct enc e = enc_start();
	put_u64(&e, ino);
	put_u64(&e, newparent);
	put_str(&e, newname);
	return commit(ov, R_LINK, &e);
}

static int remove_name(struct stg_overlay *ov, uint64_t parent,
		       const char *name, uint32_t rmdir)
{
	int rc = iso_name_check(name, strlen(name));
	if (rc)
		return rc;
	struct enc e = enc_start();
	put_u64(&e, parent);
	put_str(&e, name);
	put_u32(&e, rmdir);
	return commit(ov, R_UNLINK, &e);
}

int stg_unlink(struct stg_overlay *ov, uint64_t parent, const char *name)
{
	return remove_name(ov, parent, name, 0);
}

int stg_rmdir(struct stg_overlay *ov, uint64_t parent, const char *name)
{
	return remove_name(ov, parent, name, 1);
}

int stg_rename(struct stg_overlay *ov, uint64_t olddir, const char *oldname,
	       uint64_t newdir, const char *newname, unsigned flags)
{
	int rc = iso_name_check(oldname, strlen(oldname));
	if (!rc)
		rc = iso_name_check(newname, strlen(newname));
	if (rc)
		return rc;
	struct enc e = enc_start();
	put_u64(&e, olddir);
	put_u64(&e, newdir);
	put_str(&e, oldname);
	put_str(&e, newname);
	put_u32(&e, flags);
	return commit(ov, R_RENAME, &e);
}

int stg_pin(struct stg_overlay *ov, uint64_t ino)
{
	struct ov_inode *n;
	int rc = need(ov, ino, &n);
	if (!rc)
		n->pins++;
	return rc;
}

void stg_unpin(struct stg_overlay *ov, uint64_t ino)
{
	struct ov_inode *n = get_ino(ov, ino);
	if (!n || !n->pins || --n->pins || !n->orphan)
		return;
	if (n->has_data)
		schedule_dead(ov, n->ino);
	ov->tab[n->ino] = NULL;
	free_inode(ov, n);
}

/* ---- data ---- */

static int data_fd(struct stg_overlay *ov, struct ov_inode *n, bool create)
{
	if (n->fd >= 0)
		return n->fd;
	if (ov->open_fds >= MAX_OPEN_FDS) {
		/* a crude cache: start over (dirty files get synced by
		 * stg_sync through a fresh descriptor) */
		for (uint64_t i = 0; i < ov->ntab; i++)
			if (ov->tab[i])
				close_fd(ov, ov->tab[i]);
	}
	char name[DATA_NAME_MAX];
	data_name(n->ino, name);
	/* a file not yet seen is most likely a new one being written: then
	 * one openat() with O_CREAT, not a failing one first */
	int fd = create && !n->data_seen
		     ? -1
		     : openat(ov->datafd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (create && (!n->data_seen || errno == ENOENT))) {
		/* perhaps a new entry: its directory is to be synced */
		int flags = O_RDWR | O_CLOEXEC | O_CREAT;
		fd = openat(ov->datafd, name, flags, 0600);
		char sub[3] = {name[0], name[1], 0};
		if (fd < 0 && errno == ENOENT) {
			/* the subdirectory comes with its first file */
			if (!mkdirat(ov->datafd, sub, 0700))
				ov->datadir_dirty = true;
			else if (errno != EEXIST)
				return cds_error(-errno,
						 "staging: data directory "
						 "%s/data/%s: %s",
						 stg_store_dir(ov->st), sub,
						 strerror(errno));
			fd = openat(ov->datafd, name, flags, 0600);
		}
		if (fd >= 0)
			ov->subdir_dirty[data_sub(n->ino) / 8] |=
			    (uint8_t)(1u << (data_sub(n->ino) % 8));
	}
	if (fd < 0) {
		if (errno == ENOENT && !create)
			return -ENOENT;
		return cds_error(-errno, "staging: data file %s/data/%s: %s",
				 stg_store_dir(ov->st), name, strerror(errno));
	}
	n->fd = fd;
	n->data_seen = true;
	ov->open_fds++;
	return fd;
}

static ssize_t read_data(struct stg_overlay *ov, struct ov_inode *n,
			 uint64_t off, void *buf, size_t len)
{
	int fd = data_fd(ov, n, false);
	size_t got = 0;
	if (fd >= 0) {
		while (got < len) {
			ssize_t r = pread(fd, (char *)buf + got, len - got,
					  (off_t)(off + got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return cds_error(-errno, "staging: read: %s",
						 strerror(errno));
			if (r == 0)
				break;
			got += (size_t)r;
		}
	} else if (fd != -ENOENT)
		return fd;
	memset((char *)buf + got, 0, len - got); /* past the data file */
	return (ssize_t)len;
}

ssize_t stg_read(struct stg_overlay *ov, uint64_t ino, uint64_t off, void *buf,
		 size_t len)
{
	struct ov_inode *n;
	int rc = need(ov, ino, &n);
	if (rc)
		return rc;
	if (is_dir(n))
		return -EISDIR;
	if (!S_ISREG(n->mode))
		return -EINVAL;
	if (off >= n->size)
		return 0;
	if (len > n->size - off)
		len = (size_t)(n->size - off);
	if (n->has_data)
		return read_data(ov, n, off, buf, len);
	if (!ov->read_base)
		return cds_error(-EIO, "staging: no reader for base files");
	rc = ov->read_base(ov->read_ctx, n->base, off, buf, len);
	return rc ? rc : (ssize_t)len;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t w = pwrite(fd, (const char *)buf + done, len - done,
				   (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return cds_error(-errno, "staging: write: %s",
					 strerror(errno));
		done += (size_t)w;
	}
	return 0;
}

/* Copy the first @keep bytes of base file @n into its data file. */
static int copy_up(struct stg_overlay *ov, struct ov_inode *n, uint64_t keep)
{
	close_fd(ov, n);
	char name[DATA_NAME_MAX];
	data_name(n->ino, name);
	unlinkat(ov->datafd, name, 0); /* a stale one */
	int fd = data_fd(ov, n, true);
	if (fd < 0)
		return fd;
	int rc = 0;
	if (ftruncate(fd, 0))
		return cds_error(-errno, "staging: copy-up: %s",
				 strerror(errno));
	size_t bufsz = 1u << 16;
	char *buf = malloc(bufsz);
	if (!buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < keep && !rc;) {
		size_t c = keep - off < bufsz ? (size_t)(keep - off) : bufsz;
		rc = ov->read_base
			 ? ov->read_base(ov->read_ctx, n->base, off, buf, c)
			 : -EIO;
		if (!rc)
			rc = write_all(fd, buf, c, off);
		off += c;
	}
	free(buf);
	if (rc)
		return cds_error_wrap(rc, "staging: copy-up of inode %" PRIu64,
				      n->ino);
	if (fdatasync(fd))
		return cds_error(-errno, "staging: copy-up: fdatasync: %s",
				 strerror(errno));
	struct enc e = enc_start();
	put_u64(&e, n->ino);
	put_u64(&e, keep);
	return commit(ov, R_COPYUP, &e);
}

static void mark_dirty(struct stg_overlay *ov, struct ov_inode *n)
{
	(void)ov;
	n->dirty = true;
}

ssize_t stg_write(struct stg_overlay *ov, uint64_t ino, uint64_t off,
		  const void *buf, size_t len)
{
	struct ov_inode *n;
	int rc = need(ov, ino, &n);
	if (rc)
		return rc;
	if (is_dir(n))
		return -EISDIR;
	if (!S_ISREG(n->mode))
		return -EINVAL;
	if (off > MAX_FILE_SIZE || len > MAX_FILE_SIZE - off)
		return cds_error(-EFBIG, "staging: file too large");
	if (!n->has_data && (rc = copy_up(ov, n, n->size)))
		return rc;
	int fd = data_fd(ov, n, true);
	if (fd < 0)
		return fd;
	mark_dirty(ov, n);
	uint64_t end = off + len;
	if (!(rc = write_all(fd, buf, len, off))) {
		struct enc e = enc_start();
		put_u64(&e, n->ino);
		put_u64(&e, end > n->size ? end : n->size);
		rc = commit(ov, R_WRITE, &e);
	}
	/* what a failed write put past the end must not show later (commit
	 * may have synced and closed descriptors: fetch it again); should
	 * this fail too, the next open cuts it, and the write's error stands */
	if (rc && end > n->size && (fd = data_fd(ov, n, false)) >= 0) {
		int cut = ftruncate(fd, (off_t)n->size);
		(void)cut;
	}
	return rc ? rc : (ssize_t)len;
}

int stg_setattr(struct stg_overlay *ov, uint64_t ino, const struct stg_attr *a,
		unsigned which)
{
	struct ov_inode *n;
	int rc = need(ov, ino, &n);
	if (rc)
		return rc;
	if (which & ~0x3fu)
		return cds_error(-EINVAL, "setattr: bad mask");
	if (which & STG_SET_SIZE) {
		if (is_dir(n))
			return -EISDIR;
		if (!S_ISREG(n->mode))
			return -EINVAL;
		if (a->size > MAX_FILE_SIZE)
			return cds_error(-EFBIG, "staging: file too large");
		if (!n->has_data && a->size != n->size &&
		    (rc =
			 copy_up(ov, n, a->size < n->size ? a->size : n->size)))
			return rc;
		if (n->has_data) {
			int fd = data_fd(ov, n, true);
			if (fd < 0)
				return fd;
			if (ftruncate(fd, (off_t)a->size))
				return cds_error(-errno,
						 "staging: truncate: %s",
						 strerror(errno));
			mark_dirty(ov, n);
		}
	}
	struct enc e = enc_start();
	put_u64(&e, ino);
	put_u32(&e, which);
	put_u32(&e, (uint32_t)a->mode);
	put_u32(&e, (uint32_t)a->uid);
	put_u32(&e, (uint32_t)a->gid);
	put_u64(&e, a->size);
	put_ts(&e, a->atime);
	put_ts(&e, a->mtime);
	return commit(ov, R_SETATTR, &e);
}

/*
 * Make every dirty data file durable, and the directory entries of new
 * ones: a few by fdatasync each, then the subdirectories that got entries,
 * then DIR/data if a subdirectory was made; more at once by one syncfs(),
 * far cheaper than one device flush per file (see overlay.h).
 */
static int sync_data(struct stg_overlay *ov)
{
	size_t work = ov->datadir_dirty;
	for (uint64_t i = 0; i < ov->ntab && work <= SYNCFS_MIN; i++)
		work += ov->tab[i] && ov->tab[i]->dirty;
	for (unsigned x = 0; x < 256 && work <= SYNCFS_MIN; x++)
		work += (ov->subdir_dirty[x / 8] >> (x % 8)) & 1u;
	if (work > SYNCFS_MIN) {
		if (syncfs(ov->datafd))
			return cds_error(-errno, "staging: syncfs %s/data: %s",
					 stg_store_dir(ov->st),
					 strerror(errno));
		for (uint64_t i = 0; i < ov->ntab; i++)
			if (ov->tab[i])
				ov->tab[i]->dirty = false;
		memset(ov->subdir_dirty, 0, sizeof(ov->subdir_dirty));
		ov->datadir_dirty = false;
		return 0;
	}
	for (uint64_t i = 0; i < ov->ntab; i++) {
		struct ov_inode *n = ov->tab[i];
		if (!n || !n->dirty)
			continue;
		int fd = data_fd(ov, n, false);
		if (fd >= 0 && fdatasync(fd))
			return cds_error(-errno, "staging: fdatasync: %s",
					 strerror(errno));
		n->dirty = false;
	}
	for (unsigned x = 0; x < 256; x++) {
		if (!((ov->subdir_dirty[x / 8] >> (x % 8)) & 1u))
			continue;
		char sub[3];
		snprintf(sub, sizeof(sub), "%02x", x);
		int fd =
		    openat(ov->datafd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd)) {
			int err = errno;
			if (fd >= 0)
				close(fd);
			return cds_error(-err, "staging: fsync data/%s: %s",
					 sub, strerror(err));
		}
		close(fd);
		ov->subdir_dirty[x / 8] &= (uint8_t) ~(1u << (x % 8));
	}
	if (ov->datadir_dirty) {
		if (fsync(ov->datafd))
			return cds_error(-errno, "staging: fsync data: %s",
					 strerror(errno));
		ov->datadir_dirty = false;
	}
	return 0;
}

struct stg_sync_plan {
	bool whole_fs; /* syncfs() of fds[0]'s filesystem */
	unsigned n;
	int fds[SYNCFS_MIN];
};

struct stg_sync_plan *stg_sync_prepare(struct stg_overlay *ov)
{
	struct stg_sync_plan *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	for (uint64_t i = 0; i < ov->ntab && !p->whole_fs; i++) {
		struct ov_inode *n = ov->tab[i];
		if (!n || !n->dirty)
			continue;
		if (p->n == SYNCFS_MIN) {
			p->whole_fs = true; /* as sync_data() will decide */
			break;
		}
		int fd = data_fd(ov, n, false);
		if (fd >= 0 && (fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) >= 0)
			p->fds[p->n++] = fd;
	}
	if (p->whole_fs) {
		while (p->n > 1)
			close(p->fds[--p->n]);
		if (p->n == 0) {
			int fd = fcntl(ov->datafd, F_DUPFD_CLOEXEC, 0);
			if (fd >= 0)
				p->fds[p->n++] = fd;
		}
	}
	return p;
}

void stg_sync_flush(struct stg_sync_plan *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++) {
		/* errors come back from the stg_sync() that follows */
		if (p->whole_fs)
			(void)syncfs(p->fds[i]);
		else
			(void)fdatasync(p->fds[i]);
		close(p->fds[i]);
	}
	free(p);
}

static void remove_dead(struct stg_overlay *ov)
{
	for (size_t i = 0; i < ov->ndead; i++) {
		char name[DATA_NAME_MAX];
		data_name(ov->dead[i], name);
		unlinkat(ov->datafd, name, 0);
	}
	ov->ndead = 0;
}

/*
 * Data before records, like ext4's data=ordered: every dirty data file is
 * fdatasynced before the journal, because the journal holds every other
 * file's records too and none may be durable before its data.
 */
static int ordered_sync(struct stg_overlay *ov)
{
	int rc = sync_data(ov);
	if (!rc)
		rc = stg_journal_sync(ov->j);
	if (!rc)
		remove_dead(ov);
	return rc;
}

int stg_fsync(struct stg_overlay *ov, uint64_t ino, bool datasync)
{
	struct ov_inode *n;
	int rc = need(ov, ino, &n);
	(void)datasync; /* the journal holds the metadata either way */
	return rc ? rc : ordered_sync(ov);
}

/* ---- compaction ---- */

static int emit_rec(struct stg_journal *tmp, uint8_t type, struct enc *e)
{
	int rc = e->err;
	if (!rc)
		rc = stg_journal_append(tmp, type, e->p, e->len, NULL);
	free(e->p);
	return rc;
}

/*
 * The live state as records: the next inode number, the whole state of
 * each inode that differs from the base (new ones are created with their
 * own numbers), the listing of each changed directory, and the base inodes
 * that are gone.  Nameless pinned inodes are left out, as always.
 */
static int emit_state(void *ctx, struct stg_journal *tmp)
{
	struct stg_overlay *ov = ctx;
	struct enc e = enc_start();
	int rc;

	put_u64(&e, ov->next_ino);
	if ((rc = emit_rec(tmp, R_NEXTINO, &e)))
		return rc;
	for (uint64_t i = 1; i < ov->ntab; i++) {
		const struct ov_inode *n = ov->tab[i];
		if (!n || n->orphan || !n->changed)
			continue;
		e = enc_start();
		put_u64(&e, n->ino);
		put_u64(&e, n->parent);
		put_u32(&e, (uint32_t)n->mode);
		put_u32(&e, (uint32_t)n->uid);
		put_u32(&e, (uint32_t)n->gid);
		put_u32(&e, n->nlink);
		put_u64(&e, (uint64_t)n->rdev);
		put_u64(&e, n->size);
		put_ts(&e, n->atime);
		put_ts(&e, n->mtime);
		put_ts(&e, n->ctime);
		put_u32(&e, n->has_data);
		put_str(&e, S_ISLNK(n->mode) ? n->symlink : NULL);
		if ((rc = emit_rec(tmp, R_INODE, &e)))
			return rc;
	}
	for (uint64_t i = 1; i < ov->ntab; i++) {
		const struct ov_inode *n = ov->tab[i];
		if (!n || !is_dir(n) || !n->changed)
			continue;
		e = enc_start();
		put_u64(&e, n->ino);
		put_u32(&e, n->nents);
		for (uint32_t k = 0; k < n->nslots; k++) {
			if (!n->ents[k].name)
				continue;
			put_u64(&e, n->ents[k].ino);
			put_str(&e, n->ents[k].name);
		}
		if (e.len > STG_JOURNAL_PAYLOAD_MAX) {
			free(e.p);
			return cds_error(-EFBIG,
					 "compaction: directory too large");
		}
		if ((rc = emit_rec(tmp, R_DIR, &e)))
			return rc;
	}
	for (uint64_t i = STG_ROOT_INO + 1; i < ov->first_new; i++) {
		if (ov->tab[i] && !ov->tab[i]->orphan)
			continue;
		e = enc_start();
		put_u64(&e, i);
		if ((rc = emit_rec(tmp, R_FREE, &e)))
			return rc;
	}
	return 0;
}

int stg_overlay_compact(struct stg_overlay *ov)
{
	/* the new journal must not describe data that is not durable */
	int rc = sync_data(ov);
	if (!rc)
		rc = stg_journal_compact(ov->j, emit_state, ov);
	if (!rc) {
		ov->compacted_bytes = stg_journal_bytes(ov->j);
		remove_dead(ov);
	}
	return rc;
}

int stg_sync(struct stg_overlay *ov)
{
	int rc = ordered_sync(ov);
	uint64_t bytes = stg_journal_bytes(ov->j);
	if (!rc && bytes > COMPACT_MIN_BYTES &&
	    bytes / 4 > ov->compacted_bytes && stg_overlay_compact(ov)) {
		/* everything is durable already: the sync succeeded; try
		 * again after as much growth (the old journal stays valid) */
		ov->compacted_bytes = bytes;
	}
	return rc;
}

/* ---- snapshot ---- */

struct data_content {
	struct iso_content c;
	int datafd;
	uint64_t ino;
	int fd;		  /* open from the prefetch or first read to the end */
	uint64_t fd_size; /* the data file's size when opened */
	bool missing;	  /* no data file: reads as zeros */
};

/* Open the data file once; 0 (also when it is missing) or an error. */
static int dc_open(struct data_content *d)
{
	char name[DATA_NAME_MAX];
	struct stat sb;

	if (d->fd >= 0 || d->missing)
		return 0;
	data_name(d->ino, name);
	d->fd = openat(d->datafd, name, O_RDONLY | O_CLOEXEC);
	if (d->fd < 0) {
		if (errno == ENOENT) {
			d->missing = true;
			return 0;
		}
		return cds_error(-errno, "staging: data file %s: %s", name,
				 strerror(errno));
	}
	d->fd_size = fstat(d->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	return 0;
}

static int dc_read(struct iso_content *c, uint64_t off, void *buf, size_t len)
{
	struct data_content *d = (struct data_content *)c;
	size_t got = 0;
	int rc = dc_open(d);

	if (rc)
		return rc;
	while (d->fd >= 0 && got < len) {
		ssize_t r = pread(d->fd, (char *)buf + got, len - got,
				  (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			/* never zeros for data that is there but unreadable:
			 * the session would be burnt and the copy released */
			char name[DATA_NAME_MAX];
			int err = errno;
			data_name(d->ino, name);
			return cds_error(-err, "staging: data file %s: %s",
					 name, strerror(err));
		}
		if (r == 0)
			break; /* past the data file's end: zeros */
		got += (size_t)r;
	}
	memset((char *)buf + got, 0, len - got);
	/* one open file per content at most: read in file order */
	if (d->fd >= 0 && off + len >= d->fd_size) {
		close(d->fd);
		d->fd = -1; /* a later read opens it again */
	}
	return 0;
}

/* The writer asks for files a little ahead: their data in the page cache
 * in parallel instead of one cold file after another. */
static void dc_prefetch(struct iso_content *c)
{
	struct data_content *d = (struct data_content *)c;

	if (dc_open(d) == 0 && d->fd >= 0)
		posix_fadvise(d->fd, 0, 16 << 20, POSIX_FADV_WILLNEED);
}

static void dc_release(struct iso_content *c)
{
	struct data_content *d = (struct data_content *)c;

	if (d->fd >= 0)
		close(d->fd);
	free(c);
}

static const struct iso_content_ops dc_ops = {dc_read, dc_release, dc_prefetch};

static int snap_node(struct stg_overlay *ov, struct ov_inode *n,
		     const char *name, struct iso_node **out)
{
	struct iso_node *x = iso_node_new(name, n->mode);
	if (!x)
		return -ENOMEM;
	x->uid = n->uid;
	x->gid = n->gid;
	x->nlink = n->nlink;
	x->atime = n->atime;
	x->mtime = n->mtime;
	x->ctime = n->ctime;
	x->size = n->size;
	x->rdev = n->rdev;
	x->ino = n->serial;
	if (!x->ino && !is_dir(n) && n->nlink > 1) {
		if (!n->snap_serial)
			n->snap_serial = ++ov->base_max_serial;
		x->ino = n->snap_serial;
	}
	int rc = 0;
	if (n->symlink)
		rc = iso_node_set_symlink(x, n->symlink);
	if (!rc && S_ISREG(n->mode) && !n->has_data && n->base)
		rc = iso_node_set_extents(x, n->base->extents,
					  n->base->nextents);
	if (!rc && S_ISREG(n->mode) && n->has_data && n->size) {
		struct data_content *d = calloc(1, sizeof(*d));
		if (!d)
			rc = -ENOMEM;
		else {
			d->c.ops = &dc_ops;
			d->fd = -1;
			d->datafd = ov->datafd;
			d->ino = n->ino;
			x->content = &d->c;
		}
	}
	for (uint32_t i = 0; !rc && is_dir(n) && i < n->nslots; i++) {
		struct iso_node *c;
		if (!n->ents[i].name)
			continue;
		rc =
		    snap_node(ov, ov->tab[n->ents[i].ino], n->ents[i].name, &c);
		if (!rc && (rc = iso_node_append_child(x, c)))
			iso_node_free(c);
	}
	if (is_dir(n))
		x->children_loaded = true;
	if (rc) {
		iso_node_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

int stg_snapshot(struct stg_overlay *ov, struct iso_node **root)
{
	uint64_t saved = ov->base_max_serial;
	for (uint64_t i = 0; i < ov->ntab; i++)
		if (ov->tab[i])
			ov->tab[i]->snap_serial = 0;
	int rc = snap_node(ov, ov->tab[STG_ROOT_INO], "", root);
	ov->base_max_serial = saved;
	return rc;
}

/* ---- what changed (cdsession staging list/export) ---- */

int stg_origin(struct stg_overlay *ov, uint64_t ino,
	       const struct iso_node **base, unsigned *changed)
{
	struct ov_inode *n;
	int rc = need(ov, ino, &n);

	if (rc)
		return rc;
	*base = n->base;
	*changed = 0;
	if (!n->base)
		return 0;
	const struct iso_node *b = n->base;
	if (n->has_data)
		*changed |= STG_CHANGED_DATA;
	/* a directory's size and times follow its entries: not a change */
	if (n->mode != b->mode || n->uid != b->uid || n->gid != b->gid ||
	    (!is_dir(n) &&
	     (n->size != b->size || n->mtime.tv_sec != b->mtime.tv_sec ||
	      n->mtime.tv_nsec != b->mtime.tv_nsec)))
		*changed |= STG_CHANGED_ATTR;
	return 0;
}

uint64_t stg_staged_bytes(const struct stg_overlay *ov)
{
	uint64_t sum = 0;

	for (uint64_t i = 1; i < ov->ntab; i++) {
		const struct ov_inode *n = ov->tab[i];
		/* what a session must write: new files and changed data, in
		 * whole blocks; hard links once (one inode) */
		if (n && S_ISREG(n->mode) && !n->orphan &&
		    (n->has_data || !n->base))
			sum += (n->size + 2047) / 2048 * 2048;
	}
	return sum;
}
