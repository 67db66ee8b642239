/* tree_scan.c - walk local paths into an iso/ tree (see tree_scan.h). */
#include "tree_scan.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/error.h"
#include "iso/node.h"

/* Error messages show at most this much of a path: a 12-level path of
 * 200-byte names would not fit the 512-byte message otherwise. */
#define SHOWN_PATH_MAX 360

/* libisofs refuses Rock Ridge symlink targets of this length or more
 * ("Rock Ridge path too long"), measured with xorriso 1.5.4. */
#define XORRISO_SYMLINK_MAX 1024

/*
 * A small open-addressing map from a pair of 64-bit keys to a value, for
 * (st_dev, st_ino) -> serial and serial -> name count.
 */
struct pair_slot {
	uint64_t a, b, val;
	bool used;
};

struct pair_map {
	struct pair_slot *slots;
	size_t cap, n; /* cap is 0 or a power of two */
};

static size_t pair_hash(uint64_t a, uint64_t b, size_t cap)
{
	uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);

	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return (size_t)h & (cap - 1);
}

static struct pair_slot *pair_find(const struct pair_map *m, uint64_t a,
				   uint64_t b)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = pair_hash(a, b, m->cap); m->slots[i].used;
	     i = (i + 1) & (m->cap - 1))
		if (m->slots[i].a == a && m->slots[i].b == b)
			return &m->slots[i];
	return NULL;
}

/* Insert a new key (not present) with @val; keeps the load under 1/2. */
static int pair_insert(struct pair_map *m, uint64_t a, uint64_t b, uint64_t val)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64, k;
		struct pair_slot *slots = calloc(cap, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		for (k = 0; k < m->cap; k++) {
			const struct pair_slot *o = &m->slots[k];

			if (!o->used)
				continue;
			for (i = pair_hash(o->a, o->b, cap); slots[i].used;
			     i = (i + 1) & (cap - 1))
				;
			slots[i] = *o;
		}
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	for (i = pair_hash(a, b, m->cap); m->slots[i].used;
	     i = (i + 1) & (m->cap - 1))
		;
	m->slots[i] = (struct pair_slot){.a = a, .b = b, .val = val, .used = 1};
	m->n++;
	return 0;
}

static void pair_map_clear(struct pair_map *m)
{
	free(m->slots);
	*m = (struct pair_map){0};
}

struct tree_scan {
	struct iso_node *root;
	uint64_t next_ino;
	bool root_attrs_set;
	struct pair_map excluded; /* (st_dev, st_ino) -> 0 */
	struct pair_map links;	  /* (st_dev, st_ino) -> serial, nlink > 1 */
	/* the path being looked at, grown as the walk descends */
	char *path;
	size_t path_len, path_cap;
};

int tree_scan_new(struct iso_node *root, uint64_t first_ino,
		  struct tree_scan **out)
{
	struct tree_scan *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->root = root;
	s->next_ino = first_ino ? first_ino : 1;
	*out = s;
	return 0;
}

int tree_scan_exclude(struct tree_scan *s, dev_t dev, ino_t ino)
{
	if (pair_find(&s->excluded, (uint64_t)dev, (uint64_t)ino))
		return 0;
	return pair_insert(&s->excluded, (uint64_t)dev, (uint64_t)ino, 0);
}

void tree_scan_free(struct tree_scan *s)
{
	if (!s)
		return;
	pair_map_clear(&s->links);
	pair_map_clear(&s->excluded);
	free(s->path);
	free(s);
}

/*
 * @path as an error message shows it: one printable line (control bytes
 * and bytes that are not UTF-8 as \xNN), the middle elided when long.
 */
static const char *shown(const char *path)
{
	static char buf[4 * PATH_MAX + 8];
	static char cut[SHOWN_PATH_MAX + 8];
	const unsigned char *p = (const unsigned char *)path;
	size_t left = strlen(path), o = 0, n, len;

	while (left && o + 5 < sizeof(buf)) {
		n = iso_utf8_seq_len((const char *)p, left);
		if (n == 0 || p[0] < 0x20 || p[0] == 0x7F) {
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
					      "\\x%02X", p[0]);
			n = 1;
		} else {
			memcpy(buf + o, p, n);
			o += n;
		}
		p += n;
		left -= n;
	}
	buf[o] = '\0';
	len = o;
	if (len <= SHOWN_PATH_MAX)
		return buf;
	/* keep the head and the tail, cut at UTF-8 character boundaries */
	n = SHOWN_PATH_MAX / 4;
	while (n && ((unsigned char)buf[n] & 0xC0) == 0x80)
		n--;
	memcpy(cut, buf, n);
	memcpy(cut + n, "...", 3);
	o = len - (SHOWN_PATH_MAX - n - 3);
	while (o < len && ((unsigned char)buf[o] & 0xC0) == 0x80)
		o++;
	memcpy(cut + n + 3, buf + o, len - o + 1);
	return cut;
}

/* Set the path to @path; trailing slashes dropped (but "/" stays). */
static int path_set(struct tree_scan *s, const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len + 1 > s->path_cap) {
		size_t cap = len + 1 > 256 ? len + 1 : 256;
		char *p = malloc(cap);

		if (!p)
			return -ENOMEM;
		free(s->path);
		s->path = p;
		s->path_cap = cap;
	}
	memcpy(s->path, path, len);
	s->path[len] = '\0';
	s->path_len = len;
	return 0;
}

/* Append "/name"; returns the length to restore with path_pop(). */
static int path_push(struct tree_scan *s, const char *name, size_t *saved)
{
	size_t nlen = strlen(name);
	bool slash = s->path_len && s->path[s->path_len - 1] != '/';
	size_t need = s->path_len + slash + nlen + 1;

	if (need > s->path_cap) {
		size_t cap = 2 * need;
		char *p = malloc(cap);

		if (!p)
			return -ENOMEM;
		memcpy(p, s->path, s->path_len + 1);
		free(s->path);
		s->path = p;
		s->path_cap = cap;
	}
	*saved = s->path_len;
	if (slash)
		s->path[s->path_len++] = '/';
	memcpy(s->path + s->path_len, name, nlen + 1);
	s->path_len += nlen;
	return 0;
}

static void path_pop(struct tree_scan *s, size_t saved)
{
	s->path_len = saved;
	s->path[saved] = '\0';
}

static void set_attrs(struct iso_node *n, const struct stat *st)
{
	n->mode = st->st_mode;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	n->atime = st->st_atim;
	n->mtime = st->st_mtim;
	n->ctime = st->st_ctim;
}

/* The serial of a non-directory: shared by the names of one inode. */
static int serial_for(struct tree_scan *s, const struct stat *st, uint64_t *out)
{
	struct pair_slot *slot;
	int rc;

	if (st->st_nlink > 1) {
		slot = pair_find(&s->links, (uint64_t)st->st_dev,
				 (uint64_t)st->st_ino);
		if (slot) {
			*out = slot->val;
			return 0;
		}
		rc = pair_insert(&s->links, (uint64_t)st->st_dev,
				 (uint64_t)st->st_ino, s->next_ino);
		if (rc < 0)
			return rc;
	}
	*out = s->next_ino++;
	return 0;
}

static int read_symlink(struct tree_scan *s, const struct stat *st,
			struct iso_node *n)
{
	/* st_size is the target length; a link rewritten since lstat
	 * shows up as a full buffer and is read again larger */
	size_t cap = st->st_size > 0 ? (size_t)st->st_size + 1 : 256;
	char *buf;
	ssize_t len;
	int rc;

	for (;;) {
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		len = readlink(s->path, buf, cap);
		if (len < 0) {
			rc = cds_error(-errno, "%s: %s", shown(s->path),
				       strerror(errno));
			free(buf);
			return rc;
		}
		if ((size_t)len < cap)
			break;
		free(buf);
		if (cap > (size_t)PATH_MAX * 4)
			return cds_error(-ENAMETOOLONG,
					 "%s: symlink target is too long",
					 shown(s->path));
		cap *= 2;
	}
	buf[len] = '\0';
	rc = iso_node_set_symlink(n, buf);
	free(buf);
	return rc;
}

/* A new node for the file at s->path, described by @st. */
static int make_node(struct tree_scan *s, const char *name,
		     const struct stat *st, struct iso_node **out)
{
	struct iso_node *n = iso_node_new(name, st->st_mode);
	int rc = 0;

	if (!n)
		return -ENOMEM;
	set_attrs(n, st);
	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		n->ino = s->next_ino++;
		n->children_loaded = true;
		break;
	case S_IFREG:
		n->size = (uint64_t)st->st_size;
		rc = iso_content_from_path(s->path, &n->content);
		break;
	case S_IFLNK:
		rc = read_symlink(s, st, n);
		/* valid Rock Ridge, but libisofs refuses the whole image */
		if (rc == 0 && strlen(n->symlink) >= XORRISO_SYMLINK_MAX)
			fprintf(stderr,
				"%s: warning: %s: a symlink target of %zu "
				"bytes: xorriso cannot read images with "
				"targets of %d bytes or more\n",
				cli_progname, shown(s->path),
				strlen(n->symlink), XORRISO_SYMLINK_MAX);
		break;
	case S_IFCHR:
	case S_IFBLK:
		n->rdev = st->st_rdev;
		break;
	default: /* S_IFIFO */
		break;
	}
	if (rc == 0 && !iso_node_is_dir(n))
		rc = serial_for(s, st, &n->ino);
	if (rc < 0) {
		iso_node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/*
 * Index of the children a directory had before this pass: name -> slot
 * in dir->children.  Slots do not move while the pass runs (a replaced
 * child takes its predecessor's slot; new ones are appended).
 */
struct child_index {
	uint32_t *slots; /* child number + 1; 0 = free */
	size_t cap;
};

static size_t name_hash(const char *name, size_t cap)
{
	uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001B3ull;
	return (size_t)(h ^ h >> 32) & (cap - 1);
}

static int child_index_build(struct child_index *ix, const struct iso_node *dir)
{
	size_t cap = 16, i;
	uint32_t k;

	while (cap < 2 * (size_t)dir->nchildren)
		cap *= 2;
	ix->slots = calloc(cap, sizeof(*ix->slots));
	if (!ix->slots)
		return -ENOMEM;
	ix->cap = cap;
	for (k = 0; k < dir->nchildren; k++) {
		for (i = name_hash(dir->children[k]->name, cap); ix->slots[i];
		     i = (i + 1) & (cap - 1))
			;
		ix->slots[i] = k + 1;
	}
	return 0;
}

static struct iso_node **child_index_find(const struct child_index *ix,
					  struct iso_node *dir,
					  const char *name)
{
	size_t i;

	if (!ix->cap)
		return NULL;
	for (i = name_hash(name, ix->cap); ix->slots[i];
	     i = (i + 1) & (ix->cap - 1)) {
		struct iso_node **c = &dir->children[ix->slots[i] - 1];

		if (strcmp((*c)->name, name) == 0)
			return c;
	}
	return NULL;
}

static int scan_dir(struct tree_scan *s, struct iso_node *dir);

/*
 * Put the file at s->path (described by @st) into @dir as @name.  @slot
 * is where @dir already holds that name, or NULL.
 */
static int add_entry(struct tree_scan *s, struct iso_node *dir,
		     const char *name, const struct stat *st,
		     struct iso_node **slot)
{
	struct iso_node *n;
	int rc;

	if (slot && iso_node_is_dir(*slot) && S_ISDIR(st->st_mode)) {
		/* merge: new attributes, old serial and old children */
		set_attrs(*slot, st);
		return scan_dir(s, *slot);
	}
	rc = make_node(s, name, st, &n);
	if (rc < 0)
		return rc;
	if (slot) {
		/* replace in place: no old byte is referenced any more */
		(*slot)->parent = NULL;
		iso_node_free(*slot);
		*slot = n;
		n->parent = dir;
	} else {
		rc = iso_node_append_child(dir, n);
		if (rc < 0) {
			iso_node_free(n);
			return rc;
		}
	}
	return S_ISDIR(st->st_mode) ? scan_dir(s, n) : 0;
}

/* lstat s->path; a missing file is an error naming it. */
static int lstat_path(struct tree_scan *s, struct stat *st)
{
	if (lstat(s->path, st) == 0)
		return 0;
	if (errno == ENOENT)
		return cds_error(-ENOENT, "%s: vanished while being read",
				 shown(s->path));
	return cds_error(-errno, "%s: %s", shown(s->path), strerror(errno));
}

/* Skip what cannot be recorded and refuse names that cannot be. */
static int check_entry(struct tree_scan *s, const char *name,
		       const struct stat *st, bool *skip)
{
	int rc;

	*skip = false;
	if (pair_find(&s->excluded, (uint64_t)st->st_dev,
		      (uint64_t)st->st_ino)) {
		*skip = true;
		return 0;
	}
	if (S_ISSOCK(st->st_mode)) {
		fprintf(stderr,
			"%s: warning: %s: sockets cannot be recorded, "
			"skipped\n",
			cli_progname, shown(s->path));
		*skip = true;
		return 0;
	}
	rc = iso_name_check(name, strlen(name));
	if (rc < 0)
		return cds_error(rc, "%s: cannot be recorded: %s",
				 shown(s->path), cds_errmsg(rc));
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory s->path, sorted (so that serials do not depend
 * on the order readdir happens to return). */
static int read_names(struct tree_scan *s, char ***out, size_t *count)
{
	char **names = NULL, **grown;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(s->path);
	if (!d) {
		if (errno == ENOENT)
			return cds_error(-ENOENT,
					 "%s: vanished while being read",
					 shown(s->path));
		return cds_error(-errno, "%s: %s", shown(s->path),
				 strerror(errno));
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = cds_error(-errno, "%s: %s", shown(s->path),
					       strerror(errno));
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = reallocarray(names, cap, sizeof(*names));
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			names = grown;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc < 0) {
		while (n)
			free(names[--n]);
		free(names);
		return rc;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*count = n;
	return 0;
}

/* Add the entries of directory s->path into @dir. */
static int scan_dir(struct tree_scan *s, struct iso_node *dir)
{
	struct child_index ix = {0};
	char **names = NULL;
	size_t count = 0, i, saved;
	struct stat st;
	bool skip;
	int rc;

	rc = read_names(s, &names, &count);
	if (rc < 0)
		return rc;
	if (dir->nchildren) {
		rc = child_index_build(&ix, dir);
		if (rc < 0)
			goto out;
	}
	for (i = 0; i < count; i++) {
		rc = path_push(s, names[i], &saved);
		if (rc < 0)
			goto out;
		rc = lstat_path(s, &st);
		if (rc == 0)
			rc = check_entry(s, names[i], &st, &skip);
		if (rc == 0 && !skip)
			rc = add_entry(s, dir, names[i], &st,
				       child_index_find(&ix, dir, names[i]));
		path_pop(s, saved);
		if (rc < 0)
			goto out;
	}
out:
	free(ix.slots);
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return rc;
}

int tree_scan_add(struct tree_scan *s, const char *path)
{
	struct iso_node **slot = NULL;
	const char *name;
	struct stat st;
	bool skip;
	uint32_t k;
	int rc;

	rc = path_set(s, path);
	if (rc < 0)
		return rc;
	/* PATH itself is followed if it is a symlink, as `cp -H` does;
	 * what lies below it is recorded as it is */
	if (stat(s->path, &st) < 0)
		return cds_error(-errno, "%s: %s", shown(s->path),
				 strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (!s->root_attrs_set) {
			/* the root takes the first directory's attributes */
			set_attrs(s->root, &st);
			s->root_attrs_set = true;
		}
		return scan_dir(s, s->root);
	}
	name = strrchr(s->path, '/');
	name = name ? name + 1 : s->path;
	rc = check_entry(s, name, &st, &skip);
	if (rc < 0 || skip)
		return rc;
	for (k = 0; k < s->root->nchildren; k++)
		if (strcmp(s->root->children[k]->name, name) == 0)
			slot = &s->root->children[k];
	return add_entry(s, s->root, name, &st, slot);
}

/*
 * Pass 0: files of an earlier session recorded without serials (mkisofs
 * writes RRIP 1.09 PX without one) get fresh serials here; those sharing
 * their data (one extent, as mkisofs writes hard links) share one, so
 * that their link count survives the new session.
 */
static int give_serials(struct tree_scan *s, struct pair_map *m,
			struct iso_node *dir)
{
	struct pair_slot *slot;
	uint32_t k;
	int rc = 0;

	for (k = 0; rc == 0 && k < dir->nchildren; k++) {
		struct iso_node *c = dir->children[k];

		if (iso_node_is_dir(c)) {
			rc = give_serials(s, m, c);
			continue;
		}
		if (c->ino)
			continue;
		if (!S_ISREG(c->mode) || !c->nextents || !c->size) {
			c->ino = s->next_ino++;
			continue;
		}
		slot = pair_find(m, c->extents[0].lba, c->size);
		if (slot) {
			c->ino = slot->val;
			continue;
		}
		c->ino = s->next_ino++;
		rc = pair_insert(m, c->extents[0].lba, c->size, c->ino);
	}
	return rc;
}

/* Pass 1 of tree_scan_finish(): count the names of each serial. */
static int count_names(struct pair_map *m, const struct iso_node *dir)
{
	struct pair_slot *slot;
	uint32_t k;
	int rc;

	for (k = 0; k < dir->nchildren; k++) {
		const struct iso_node *c = dir->children[k];

		if (iso_node_is_dir(c)) {
			rc = count_names(m, c);
		} else if (c->ino) {
			slot = pair_find(m, c->ino, 1);
			rc = 0;
			if (slot)
				slot->val++;
			else
				rc = pair_insert(m, c->ino, 1, 1);
		} else {
			rc = 0;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Pass 2: set the link counts. */
static void set_nlinks(const struct pair_map *m, struct iso_node *dir)
{
	uint32_t k, subdirs = 0;

	for (k = 0; k < dir->nchildren; k++) {
		struct iso_node *c = dir->children[k];
		const struct pair_slot *slot;

		if (iso_node_is_dir(c)) {
			subdirs++;
			set_nlinks(m, c);
			continue;
		}
		slot = c->ino ? pair_find(m, c->ino, 1) : NULL;
		c->nlink = slot ? (uint32_t)slot->val : 1;
	}
	dir->nlink = 2 + subdirs;
}

int tree_scan_finish(struct tree_scan *s, uint64_t *next_ino)
{
	struct pair_map counts = {0}, shared = {0};
	int rc;

	rc = give_serials(s, &shared, s->root);
	pair_map_clear(&shared);
	if (rc == 0)
		rc = count_names(&counts, s->root);
	if (rc == 0)
		set_nlinks(&counts, s->root);
	pair_map_clear(&counts);
	*next_ino = s->next_ino;
	return rc;
}
