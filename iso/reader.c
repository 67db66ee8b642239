/*
 * reader.c - read a session's tree: volume descriptors, directories,
 * names, relocation, file data.
 *
 * The on-disc layouts come from libiso9660 (iso9660_pvd_t,
 * iso9660_dir_t): their offsets name our fields and are checked against
 * ECMA-119 below.  We do not use libiso9660's reader itself: it opens a
 * path or a CdIo handle and reads the first session, while we read any
 * session through a cds_source (a drive, the emulator, a fuzzer's buffer)
 * and check every length in bytes we do not trust.
 */
#include "reader.h"

#include <cdio/iso9660.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "common/bytes.h"
#include "common/error.h"
#include "iso/rrip_read.h"

/* Volume descriptors [ECMA-119 8; reference 1.1-1.3]. */
#define VD_FIRST	 16  /* the set starts at session start + 16 */
#define VD_SCAN_END	 100 /* Linux scans start+16 .. start+99 */
#define VD_PRIMARY	 1
#define VD_SUPPLEMENTARY 2
#define VD_TERMINATOR	 255
#define VD_VOLUME_ID	 offsetof(iso9660_pvd_t, volume_id)
#define VD_SPACE_SIZE	 offsetof(iso9660_pvd_t, volume_space_size)
#define VD_ESCAPES	 88 /* SVD escape sequences (PVD: unused3) */
#define VD_BLOCK_SIZE	 offsetof(iso9660_pvd_t, logical_block_size)
#define VD_ROOT		 offsetof(iso9660_pvd_t, root_directory_record)
#define VD_APP_USE	 offsetof(iso9660_pvd_t, application_data)
#define VD_ROOT_LEN	 34

_Static_assert(VD_VOLUME_ID == 40, "ECMA-119 8.4.6");
_Static_assert(VD_SPACE_SIZE == 80, "ECMA-119 8.4.8");
_Static_assert(VD_BLOCK_SIZE == 128, "ECMA-119 8.4.12");
_Static_assert(VD_ROOT == 156, "ECMA-119 8.4.18");
_Static_assert(VD_APP_USE == 883, "ECMA-119 8.4.32");

/* Directory record [ECMA-119 9.1; reference 2.1]. */
#define DR_LEN	  offsetof(iso9660_dir_t, length)
#define DR_XAR	  offsetof(iso9660_dir_t, xa_length)
#define DR_EXTENT offsetof(iso9660_dir_t, extent)
#define DR_SIZE	  offsetof(iso9660_dir_t, size)
#define DR_DATE	  offsetof(iso9660_dir_t, recording_time)
#define DR_FLAGS  offsetof(iso9660_dir_t, file_flags)
#define DR_UNIT	  offsetof(iso9660_dir_t, file_unit_size)
#define DR_GAP	  offsetof(iso9660_dir_t, interleave_gap)
#define DR_LEN_FI offsetof(iso9660_dir_t, filename)
#define DR_NAME	  (DR_LEN_FI + 1)
#define DR_MIN	  (DR_NAME + 1)

_Static_assert(DR_EXTENT == 2 && DR_SIZE == 10 && DR_DATE == 18,
	       "ECMA-119 9.1.3-9.1.5");
_Static_assert(DR_FLAGS == 25 && DR_LEN_FI == 32, "ECMA-119 9.1.6, 9.1.10");

#define FLAG_DIR   0x02
#define FLAG_ASSOC 0x04
#define FLAG_MULTI 0x80 /* not the final record of the file */

/* Linux refuses files of more than 100 sections (inode.c). */
#define MAX_SECTIONS 100
/* Directory blocks read per source call. */
#define DIR_CHUNK 32
/* Deepest directory accepted.  A 4096-byte path holds at most 2048
 * levels; nothing usable is deeper than this, and the cap keeps
 * recursive consumers of the tree (iso_node_free) off a stack overflow. */
#define MAX_DEPTH  1024
#define TAG_PREFIX "CDSESSION-TAG:"
#define TAG_MAX	   128

/* A set of directory extents already read: reading one twice means a
 * loop or a shared directory, which no writer produces [reference 6]. */
struct lba_set {
	uint32_t *slot; /* lba + 1; 0 = empty */
	size_t cap, count;
};

struct iso_reader {
	struct cds_source *src;
	uint32_t session_start, vss;
	uint32_t limit; /* blocks [0, limit) may be read */
	enum iso_tree_kind kind;
	size_t su_skip; /* SP LEN_SKP */
	char volume_id[33];
	char tag[TAG_MAX + 1];
	bool has_tag;
	struct iso_node *root;
	uint64_t max_ino;
	struct lba_set loaded;
	/* Directory blocks read so far.  Directory extents of one session
	 * never overlap, so more than the medium holds means overlapping
	 * extents that would make reading quadratic [reference 6]. */
	uint64_t dir_blocks;
	uint8_t *dirbuf;		 /* DIR_CHUNK blocks */
	uint8_t bounce[CDS_SECTOR_SIZE]; /* file data, CL targets */
	struct iso_rrip_ctx rr;
	struct iso_rrip_info info;
};

struct dir_rec {
	uint32_t lba, size; /* extent (after the XAR) and data length */
	uint8_t flags, len_fi;
	const uint8_t *date, *id, *su;
	size_t su_len;
};

/* ---- small helpers ---- */

static uint32_t hash_u32(uint32_t v)
{
	v ^= v >> 16;
	v *= 0x7feb352dU;
	v ^= v >> 15;
	v *= 0x846ca68bU;
	return v ^ (v >> 16);
}

static bool lba_set_has(const struct lba_set *s, uint32_t lba)
{
	size_t i;

	if (!s->cap)
		return false;
	for (i = hash_u32(lba) & (s->cap - 1); s->slot[i];
	     i = (i + 1) & (s->cap - 1))
		if (s->slot[i] == lba + 1)
			return true;
	return false;
}

static int lba_set_add(struct lba_set *s, uint32_t lba)
{
	size_t i;

	if ((s->count + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64, j;
		uint32_t *slot = calloc(cap, sizeof(*slot));

		if (!slot)
			return -ENOMEM;
		for (j = 0; j < s->cap; j++) {
			if (!s->slot[j])
				continue;
			for (i = hash_u32(s->slot[j] - 1) & (cap - 1); slot[i];
			     i = (i + 1) & (cap - 1))
				;
			slot[i] = s->slot[j];
		}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	for (i = hash_u32(lba) & (s->cap - 1); s->slot[i];
	     i = (i + 1) & (s->cap - 1))
		;
	s->slot[i] = lba + 1;
	s->count++;
	return 0;
}

/* "/a/b" of @n for messages; a long path keeps its last components
 * ("/.../y/z") so that the reason after it still fits the message. */
#define PATH_SHOWN 160
static const char *node_path(const struct iso_node *n, char *buf, size_t size)
{
	const struct iso_node *p;
	size_t pos;

	if (size > PATH_SHOWN)
		size = PATH_SHOWN;
	pos = size - 1;
	buf[pos] = '\0';
	if (!n || !n->parent) {
		snprintf(buf, size, "/");
		return buf;
	}
	for (p = n; p && p->parent; p = p->parent) {
		size_t l = strlen(p->name);

		if (l + 1 + 4 > pos) {
			memcpy(buf + pos - 4, "/...", 4);
			return buf + pos - 4;
		}
		pos -= l;
		memcpy(buf + pos, p->name, l);
		buf[--pos] = '/';
	}
	return buf + pos;
}

/* A name from the disc, made printable for a message. */
static const char *printable(const char *s, size_t len, char *buf, size_t size)
{
	size_t i, n = len < size - 1 ? len : size - 1;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[n] = '\0';
	return buf;
}

/* Blocks [lba, lba + ceil(bytes/2048)) lie on the medium. */
static bool extent_ok(const struct iso_reader *r, uint32_t lba, uint64_t bytes)
{
	uint64_t blocks = (bytes + CDS_SECTOR_SIZE - 1) / CDS_SECTOR_SIZE;

	return lba < r->limit && blocks <= r->limit - lba;
}

/*
 * Parse the record at @p with @avail bytes left in its block.  A record
 * must hold its identifier and end in its block [ECMA-119 6.8.1.1];
 * interleaved files are not supported (Linux reports them as empty,
 * libisofs refuses them).
 */
static int dir_rec_parse(const uint8_t *p, size_t avail, struct dir_rec *d)
{
	size_t len = p[DR_LEN], su;

	if (len < DR_MIN || len > avail)
		return cds_error(-EUCLEAN,
				 "directory record length %zu is invalid "
				 "(%zu bytes left in its block)",
				 len, avail);
	d->len_fi = p[DR_LEN_FI];
	if (d->len_fi == 0 || DR_NAME + (size_t)d->len_fi > len)
		return cds_error(-EUCLEAN,
				 "directory record identifier of %u bytes "
				 "does not fit its record of %zu",
				 d->len_fi, len);
	if (p[DR_UNIT] || p[DR_GAP])
		return cds_error(-EUCLEAN, "interleaved files are not "
					   "supported");
	d->lba = cds_get_733(p + DR_EXTENT);
	if ((uint64_t)d->lba + p[DR_XAR] > UINT32_MAX)
		return cds_error(-EUCLEAN, "extent address out of range");
	d->lba += p[DR_XAR]; /* data follows the XAR [ECMA-119 6.5.1] */
	d->size = cds_get_733(p + DR_SIZE);
	d->flags = p[DR_FLAGS];
	d->date = p + DR_DATE;
	d->id = p + DR_NAME;
	/* System Use follows the identifier and its pad byte, present
	 * when LEN_FI is even [ECMA-119 9.1.12]. */
	su = DR_NAME + d->len_fi + !(d->len_fi & 1);
	d->su = p + (su < len ? su : len);
	d->su_len = su < len ? len - su : 0;
	return 0;
}

static bool dir_rec_is_dot(const struct dir_rec *d)
{
	return d->len_fi == 1 && d->id[0] <= 1; /* "." 0x00, ".." 0x01 */
}

/* ---- names ---- */

/* Remove a ";version" suffix; Linux keeps a name without one as is. */
static size_t strip_version(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	if (i > 0 && s[i - 1] == ';')
		return i - 1;
	return len;
}

/* Plain ISO 9660 name as Linux map=normal shows it (dir.c
 * isofs_name_translate): lower case, no ";1", no trailing "." */
static size_t iso_name_translate(const struct dir_rec *d, char *out)
{
	size_t i, len = strip_version((const char *)d->id, d->len_fi);

	for (i = 0; i < len; i++) {
		char c = (char)d->id[i];

		out[i] = c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
	}
	if (len > 1 && out[len - 1] == '.')
		len--;
	out[len] = '\0';
	return len;
}

/* Joliet UCS-2BE to UTF-8 (surrogate pairs accepted as libisofs's
 * joliet_utf16 writes them), then ";1" and trailing dots dropped as
 * Linux joliet.c does.  -EUCLEAN for an odd length or a lone
 * surrogate. */
static int joliet_name(const struct dir_rec *d, char *out, size_t size,
		       size_t *outlen)
{
	size_t i, n = 0;

	if (d->len_fi & 1)
		return cds_error(-EUCLEAN, "Joliet name of odd length %u",
				 d->len_fi);
	for (i = 0; i < d->len_fi; i += 2) {
		uint32_t c = cds_get_be16(d->id + i);

		if (c >= 0xD800 && c <= 0xDBFF && i + 3 < d->len_fi) {
			uint32_t lo = cds_get_be16(d->id + i + 2);

			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				c = 0x10000 + ((c - 0xD800) << 10) +
				    (lo - 0xDC00);
				i += 2;
			}
		}
		if (c >= 0xD800 && c <= 0xDFFF)
			return cds_error(-EUCLEAN,
					 "Joliet name with a lone surrogate");
		if (n + 4 >= size)
			return cds_error(-EUCLEAN, "Joliet name too long");
		if (c < 0x80) {
			out[n++] = (char)c;
		} else if (c < 0x800) {
			out[n++] = (char)(0xC0 | c >> 6);
			out[n++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			out[n++] = (char)(0xE0 | c >> 12);
			out[n++] = (char)(0x80 | (c >> 6 & 0x3F));
			out[n++] = (char)(0x80 | (c & 0x3F));
		} else {
			out[n++] = (char)(0xF0 | c >> 18);
			out[n++] = (char)(0x80 | (c >> 12 & 0x3F));
			out[n++] = (char)(0x80 | (c >> 6 & 0x3F));
			out[n++] = (char)(0x80 | (c & 0x3F));
		}
	}
	n = strip_version(out, n);
	while (n > 1 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	*outlen = n;
	return 0;
}

/* ---- nodes ---- */

/* A Rock Ridge PX mode whose type bits make no sense becomes a regular
 * file; the ISO directory flag (or CL) decides what is a directory, so
 * a disc cannot make us read a file's data as a directory or lose one. */
static mode_t rr_mode(mode_t px, bool is_dir)
{
	mode_t perm = px & 07777;

	if (is_dir)
		return S_IFDIR | perm;
	switch (px & S_IFMT) {
	case S_IFREG:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return (px & S_IFMT) | perm;
	default:
		return S_IFREG | perm;
	}
}

/* Attributes from Rock Ridge PX, PN, TF [RRIP 4.1.1, 4.1.2, 4.1.6]. */
static void apply_rr_attrs(struct iso_reader *r, struct iso_node *n,
			   const struct iso_rrip_info *info, bool is_dir)
{
	if (info->has_px) {
		n->mode = rr_mode(info->mode, is_dir);
		n->nlink = info->nlink;
		n->uid = info->uid;
		n->gid = info->gid;
		n->ino = info->ino;
		if (n->ino > r->max_ino)
			r->max_ino = n->ino;
	}
	if (info->has_pn && (S_ISCHR(n->mode) || S_ISBLK(n->mode))) {
		/* Linux rock.c: a 32-bit dev_t in dev_low alone */
		if (info->dev_high == 0 && (info->dev_low & ~0xffU))
			n->rdev =
			    makedev(info->dev_low >> 8, info->dev_low & 0xff);
		else
			n->rdev = makedev(info->dev_high, info->dev_low);
	}
	if (info->tf_set[ISO_TF_MODIFY])
		n->mtime = info->tf[ISO_TF_MODIFY];
	if (info->tf_set[ISO_TF_ACCESS])
		n->atime = info->tf[ISO_TF_ACCESS];
	if (info->tf_set[ISO_TF_ATTRIBUTES])
		n->ctime = info->tf[ISO_TF_ATTRIBUTES];
	else if (info->tf_set[ISO_TF_MODIFY])
		n->ctime = info->tf[ISO_TF_MODIFY];
	if (info->tf_set[ISO_TF_CREATE]) {
		n->has_crtime = true;
		n->crtime = info->tf[ISO_TF_CREATE];
	}
}

static int rr_parse_record(struct iso_reader *r, const struct dir_rec *d)
{
	size_t skip = r->su_skip;

	if (d->su_len < skip)
		skip = d->su_len;
	return iso_rrip_parse(&r->rr, d->su + skip, d->su_len - skip, &r->info);
}

/*
 * The relocated directory a CL entry points at [RRIP 4.1.5.1]: its "."
 * record gives the extent and, as in Linux (rock.c, isofs_iget_reloc),
 * the attributes.  A CL in that "." record is refused like Linux's
 * RR_RELOC_DE check.
 */
static int read_cl_target(struct iso_reader *r, uint32_t lba,
			  struct iso_node *n)
{
	struct dir_rec d;
	int rc;

	if (lba >= r->limit)
		return cds_error(
		    -EUCLEAN, "Rock Ridge CL block %u outside the volume", lba);
	rc = cds_source_read(r->src, lba, 1, r->bounce);
	if (rc < 0)
		return cds_error_wrap(rc, "reading relocated directory %u",
				      lba);
	rc = dir_rec_parse(r->bounce, CDS_SECTOR_SIZE, &d);
	if (rc < 0)
		return cds_error_wrap(rc, "Rock Ridge CL block %u", lba);
	if (!dir_rec_is_dot(&d) || d.id[0] != 0 || !(d.flags & FLAG_DIR))
		return cds_error(
		    -EUCLEAN, "Rock Ridge CL block %u is not a directory", lba);
	rc = rr_parse_record(r, &d);
	if (rc < 0)
		return rc;
	if (r->info.has_cl)
		return cds_error(-EUCLEAN, "recursive Rock Ridge directory "
					   "relocation");
	n->mode = S_IFDIR | 0555;
	n->atime = n->mtime = n->ctime = iso_date7(d.date);
	apply_rr_attrs(r, n, &r->info, true);
	n->dir_lba = d.lba;
	n->dir_size = d.size;
	n->size = d.size;
	return 0;
}

/*
 * One file from its first directory record @p and its data sections.
 * Returns 0 with *@out set, 1 when the record is hidden (Rock Ridge RE:
 * the directory shows up at its CL placeholder instead), <0 on error.
 */
static int make_node(struct iso_reader *r, struct iso_node *dir,
		     const uint8_t *p, const struct iso_extent *ext,
		     uint32_t next, uint64_t total, struct iso_node **out)
{
	char name[1024], where[PATH_MAX], shown[80];
	size_t name_len = 0;
	struct dir_rec d;
	struct iso_node *n = NULL;
	bool is_dir, rock = r->kind == ISO_TREE_ROCK_RIDGE;
	uint32_t cl_lba = 0;
	uint32_t i;
	int rc;

	*out = NULL;
	rc = dir_rec_parse(p, p[DR_LEN], &d);
	if (rc < 0)
		return rc;
	is_dir = d.flags & FLAG_DIR;
	if (rock) {
		rc = rr_parse_record(r, &d);
		if (rc < 0)
			return rc;
		if (r->info.has_re)
			return 1;
		if (r->info.has_cl) {
			is_dir = true;
			cl_lba = r->info.cl_lba;
		}
	}
	if (rock && r->info.has_nm) {
		name_len = r->info.name_len;
		memcpy(name, r->info.name, name_len + 1);
	} else if (r->kind == ISO_TREE_JOLIET) {
		rc = joliet_name(&d, name, sizeof(name), &name_len);
		if (rc < 0)
			return cds_error_wrap(
			    rc, "directory %s",
			    node_path(dir, where, sizeof(where)));
	} else {
		name_len = iso_name_translate(&d, name);
	}
	rc = iso_name_check(name, name_len);
	if (rc < 0)
		return cds_error(
		    -EUCLEAN, "directory %s: file name \"%s\" refused: %s",
		    node_path(dir, where, sizeof(where)),
		    printable(name, name_len, shown, sizeof(shown)),
		    cds_errmsg(rc));
	if (is_dir && next > 1)
		return cds_error(-EUCLEAN,
				 "directory %s: directory %s has several "
				 "extents",
				 node_path(dir, where, sizeof(where)), name);

	n = iso_node_new(name, is_dir ? S_IFDIR | 0555 : S_IFREG | 0444);
	if (!n)
		return -ENOMEM;
	n->atime = n->mtime = n->ctime = iso_date7(d.date);
	if (rock)
		apply_rr_attrs(r, n, &r->info, is_dir);
	if (rock && S_ISLNK(n->mode)) {
		rc = iso_node_set_symlink(n, r->info.sl);
		if (rc < 0)
			goto fail;
	}
	if (cl_lba) {
		/* placeholder name, target's attributes */
		rc = read_cl_target(r, cl_lba, n);
		if (rc < 0)
			goto fail;
	} else if (is_dir) {
		n->dir_lba = d.lba;
		n->dir_size = d.size;
		n->size = d.size;
	} else if (S_ISREG(n->mode)) {
		for (i = 0; i < next; i++)
			if (ext[i].length &&
			    !extent_ok(r, ext[i].lba, ext[i].length)) {
				rc = cds_error(
				    -EUCLEAN,
				    "directory %s: %s has data at "
				    "%u..+%u bytes, outside the "
				    "volume (%u blocks)",
				    node_path(dir, where, sizeof(where)), name,
				    ext[i].lba, ext[i].length, r->limit);
				goto fail;
			}
		n->size = total;
		if (total) {
			rc = iso_node_set_extents(n, ext, next);
			if (rc < 0)
				goto fail;
		}
	}
	*out = n;
	return 0;
fail:
	iso_node_free(n);
	return rc;
}

/* ---- directories ---- */

/* Names of the directory being read, to refuse duplicates: the tree
 * maps a name to one node. */
struct name_index {
	uint32_t *slot; /* child index + 1 */
	size_t cap;
};

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Returns 1 if a child of @dir has @dir->children[idx]'s name, else adds
 * it.  The index is rebuilt from @dir->children when it grows. */
static int name_index_add(struct name_index *x, const struct iso_node *dir,
			  uint32_t idx)
{
	const char *name = dir->children[idx]->name;
	size_t i;

	if ((size_t)(idx + 1) * 2 > x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		uint32_t *slot = calloc(cap, sizeof(*slot));
		uint32_t j;

		if (!slot)
			return -ENOMEM;
		free(x->slot);
		x->slot = slot;
		x->cap = cap;
		for (j = 0; j < idx; j++) {
			i = hash_name(dir->children[j]->name) & (cap - 1);
			while (slot[i])
				i = (i + 1) & (cap - 1);
			slot[i] = j + 1;
		}
	}
	for (i = hash_name(name) & (x->cap - 1); x->slot[i];
	     i = (i + 1) & (x->cap - 1))
		if (strcmp(dir->children[x->slot[i] - 1]->name, name) == 0)
			return 1;
	x->slot[i] = idx + 1;
	return 0;
}

/* Append without iso_node_add_child()'s linear name search: the index
 * above does that in O(1), which keeps 10k-entry directories fast. */
static int append_child(struct iso_node *dir, struct iso_node *child,
			struct name_index *x)
{
	char where[PATH_MAX];
	int rc;

	rc = iso_node_append_child(dir, child);
	if (rc < 0)
		return rc;
	rc = name_index_add(x, dir, dir->nchildren - 1);
	if (rc != 0) {
		/* not kept: the caller still owns @child */
		dir->nchildren--;
		child->parent = NULL;
	}
	if (rc == 1)
		return cds_error(-EUCLEAN, "directory %s: two files named %s",
				 node_path(dir, where, sizeof(where)),
				 child->name);
	return rc;
}

static void drop_children(struct iso_node *dir)
{
	uint32_t i;

	for (i = 0; i < dir->nchildren; i++)
		iso_node_free(dir->children[i]);
	free(dir->children);
	dir->children = NULL;
	dir->nchildren = dir->children_cap = 0;
}

/* A file's sections collected over consecutive records [reference 2.5]. */
struct multi {
	uint32_t count;
	uint64_t total;
	uint8_t first[256]; /* the first record, for name and Rock Ridge */
	struct iso_extent ext[MAX_SECTIONS];
};

static int add_record(struct iso_reader *r, struct iso_node *dir,
		      const uint8_t *p, const struct dir_rec *d,
		      struct multi *m, struct name_index *x, uint32_t *hidden)
{
	struct iso_node *n = NULL;
	char where[PATH_MAX];
	int rc;

	if (m->count) {
		const uint8_t *f = m->first;

		if (f[DR_LEN_FI] != d->len_fi ||
		    memcmp(f + DR_NAME, d->id, d->len_fi) != 0)
			return cds_error(-EUCLEAN,
					 "directory %s: multi-extent file "
					 "ends without its final record",
					 node_path(dir, where, sizeof(where)));
	} else {
		memcpy(m->first, p, p[DR_LEN]);
		m->total = 0;
	}
	if (m->count == MAX_SECTIONS)
		return cds_error(
		    -EUCLEAN, "directory %s: file of more than %d sections",
		    node_path(dir, where, sizeof(where)), MAX_SECTIONS);
	m->ext[m->count].lba = d->lba;
	m->ext[m->count].length = d->size;
	m->count++;
	m->total += d->size;
	if (d->flags & FLAG_MULTI)
		return 0;
	rc = make_node(r, dir, m->first, m->ext, m->count, m->total, &n);
	m->count = 0;
	if (rc < 0)
		return rc;
	if (rc == 1) {
		(*hidden)++;
		return 0;
	}
	rc = append_child(dir, n, x);
	if (rc < 0)
		iso_node_free(n);
	return rc;
}

static int read_dir_records(struct iso_reader *r, struct iso_node *dir,
			    uint32_t *hidden)
{
	uint32_t nblocks =
	    (uint32_t)(((uint64_t)dir->dir_size + CDS_SECTOR_SIZE - 1) /
		       CDS_SECTOR_SIZE);
	struct name_index x = {NULL, 0};
	struct multi *m = NULL;
	char where[PATH_MAX];
	uint32_t b = 0;
	int rc = 0;

	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->count = 0;
	while (b < nblocks) {
		uint32_t count =
		    nblocks - b < DIR_CHUNK ? nblocks - b : DIR_CHUNK;
		uint32_t k;

		rc =
		    cds_source_read(r->src, dir->dir_lba + b, count, r->dirbuf);
		if (rc < 0) {
			rc = cds_error_wrap(
			    rc, "reading directory %s",
			    node_path(dir, where, sizeof(where)));
			goto out;
		}
		for (k = 0; k < count; k++, b++) {
			const uint8_t *blk = r->dirbuf + k * CDS_SECTOR_SIZE;
			uint64_t left =
			    dir->dir_size - (uint64_t)b * CDS_SECTOR_SIZE;
			size_t end = left < CDS_SECTOR_SIZE ? (size_t)left
							    : CDS_SECTOR_SIZE;
			size_t off = 0;

			/* LEN_DR 0: the rest of the block is unused
			 * [ECMA-119 6.8.1.1]. */
			while (off < end && blk[off] != 0) {
				const uint8_t *rec = blk + off;
				struct dir_rec d;

				rc = dir_rec_parse(rec, end - off, &d);
				if (rc < 0) {
					rc = cds_error_wrap(
					    rc, "directory %s, block %u",
					    node_path(dir, where,
						      sizeof(where)),
					    dir->dir_lba + b);
					goto out;
				}
				off += rec[DR_LEN];
				if (dir_rec_is_dot(&d) ||
				    (d.flags & FLAG_ASSOC))
					continue;
				rc = add_record(r, dir, rec, &d, m, &x, hidden);
				if (rc < 0)
					goto out;
			}
		}
	}
	if (m->count)
		rc = cds_error(-EUCLEAN,
			       "directory %s: multi-extent file without "
			       "its final record",
			       node_path(dir, where, sizeof(where)));
out:
	free(x.slot);
	free(m);
	return rc;
}

static bool is_rr_moved(const struct iso_node *n)
{
	return iso_node_is_dir(n) && (strcmp(n->name, "rr_moved") == 0 ||
				      strcmp(n->name, ".rr_moved") == 0);
}

static int load_dir(struct iso_reader *r, struct iso_node *dir,
		    uint32_t *hidden);

/*
 * The directory mkisofs moved deep directories into (rr_moved, libisofs
 * .rr_moved) holds only RE-marked records, which the logical tree shows
 * at their CL placeholders.  Left empty it is an artefact, not a user
 * directory: drop it so a rewrite does not carry it on [reference 3.7].
 */
static int drop_relocation_dir(struct iso_reader *r, struct iso_node *root)
{
	uint32_t i;
	int rc;

	for (i = 0; i < root->nchildren; i++) {
		struct iso_node *c = root->children[i];
		uint32_t hidden = 0;

		if (!is_rr_moved(c))
			continue;
		rc = load_dir(r, c, &hidden);
		if (rc < 0)
			return rc;
		if (hidden && c->nchildren == 0) {
			iso_node_detach(c);
			iso_node_free(c);
		}
		return 0;
	}
	return 0;
}

/* Levels below the root, counted up to MAX_DEPTH + 1 at most. */
static unsigned depth_of(const struct iso_node *n)
{
	unsigned d = 0;

	while (n->parent && d <= MAX_DEPTH) {
		n = n->parent;
		d++;
	}
	return d;
}

static int load_dir(struct iso_reader *r, struct iso_node *dir,
		    uint32_t *hidden)
{
	char where[PATH_MAX];
	uint64_t nblocks;
	int rc;

	if (!iso_node_is_dir(dir))
		return cds_error(-ENOTDIR, "%s is not a directory",
				 node_path(dir, where, sizeof(where)));
	if (dir->children_loaded)
		return 0;
	if (!extent_ok(r, dir->dir_lba, dir->dir_size) ||
	    dir->dir_size < DR_MIN)
		return cds_error(-EUCLEAN,
				 "directory %s: extent %u (%u bytes) is "
				 "outside the volume or empty",
				 node_path(dir, where, sizeof(where)),
				 dir->dir_lba, dir->dir_size);
	/* No writer shares a directory extent; a second use is a loop
	 * through ordinary extents or CL [reference 6]. */
	if (lba_set_has(&r->loaded, dir->dir_lba))
		return cds_error(-EUCLEAN,
				 "directory %s: extent %u is read twice "
				 "(a directory loop)",
				 node_path(dir, where, sizeof(where)),
				 dir->dir_lba);
	if (depth_of(dir) > MAX_DEPTH)
		return cds_error(
		    -EUCLEAN, "directory %s: deeper than %d levels",
		    node_path(dir, where, sizeof(where)), MAX_DEPTH);
	nblocks =
	    ((uint64_t)dir->dir_size + CDS_SECTOR_SIZE - 1) / CDS_SECTOR_SIZE;
	if (r->dir_blocks + nblocks > r->limit)
		return cds_error(-EUCLEAN,
				 "directory %s: directories hold more blocks "
				 "than the volume (overlapping extents)",
				 node_path(dir, where, sizeof(where)));
	rc = read_dir_records(r, dir, hidden);
	if (rc == 0)
		rc = lba_set_add(&r->loaded, dir->dir_lba);
	if (rc == 0) {
		dir->children_loaded = true;
		r->dir_blocks += nblocks;
	}
	if (rc == 0 && dir == r->root && r->kind == ISO_TREE_ROCK_RIDGE)
		rc = drop_relocation_dir(r, dir);
	if (rc < 0) {
		drop_children(dir);
		dir->children_loaded = false;
	}
	return rc;
}

int iso_reader_load_dir(struct iso_reader *r, struct iso_node *dir)
{
	uint32_t hidden = 0;

	return load_dir(r, dir, &hidden);
}

int iso_reader_load_all(struct iso_reader *r)
{
	struct iso_node **stack = NULL;
	size_t depth = 0, cap = 0;
	int rc = 0;

	if (!r->root)
		return cds_error(-EINVAL, "the reader's tree was taken");
	stack = malloc(64 * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	cap = 64;
	stack[depth++] = r->root;
	while (depth) {
		struct iso_node *dir = stack[--depth];
		uint32_t i;

		rc = iso_reader_load_dir(r, dir);
		if (rc < 0)
			break;
		for (i = 0; i < dir->nchildren; i++) {
			if (!iso_node_is_dir(dir->children[i]))
				continue;
			if (depth == cap) {
				struct iso_node **s =
				    reallocarray(stack, cap * 2, sizeof(*s));

				if (!s) {
					rc = -ENOMEM;
					goto out;
				}
				stack = s;
				cap *= 2;
			}
			stack[depth++] = dir->children[i];
		}
	}
out:
	free(stack);
	return rc;
}

int iso_reader_lookup(struct iso_reader *r, const char *path,
		      struct iso_node **out)
{
	struct iso_node *n = r->root;
	const char *p = path;
	int rc;

	*out = NULL;
	if (!n)
		return cds_error(-EINVAL, "the reader's tree was taken");
	while (*p) {
		const char *end;
		char comp[NAME_MAX + 1];
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len > NAME_MAX)
			return cds_error(-ENAMETOOLONG, "%s: name too long",
					 path);
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		if (!iso_node_is_dir(n))
			return cds_error(-ENOTDIR, "%s: not a directory", path);
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (n->parent)
				n = n->parent;
			continue;
		}
		rc = iso_reader_load_dir(r, n);
		if (rc < 0)
			return rc;
		n = iso_node_find_child(n, comp);
		if (!n)
			return cds_error(-ENOENT,
					 "%s: no such file or directory", path);
	}
	*out = n;
	return 0;
}

/* ---- file data ---- */

/* @len bytes at byte @off of the extent at @lba (checked on loading). */
static int read_extent(struct iso_reader *r, uint32_t lba, uint64_t off,
		       uint8_t *buf, size_t len)
{
	while (len) {
		uint32_t sec = lba + (uint32_t)(off / CDS_SECTOR_SIZE);
		size_t in = off % CDS_SECTOR_SIZE, n;
		int rc;

		if (sec >= r->limit)
			return cds_error(-EUCLEAN,
					 "file data at block %u outside the "
					 "volume",
					 sec);
		if (in == 0 && len >= CDS_SECTOR_SIZE) {
			uint32_t count = (uint32_t)(len / CDS_SECTOR_SIZE);

			if (count > 512)
				count = 512;
			if (count > r->limit - sec)
				count = r->limit - sec;
			rc = cds_source_read(r->src, sec, count, buf);
			n = (size_t)count * CDS_SECTOR_SIZE;
		} else {
			rc = cds_source_read(r->src, sec, 1, r->bounce);
			n = CDS_SECTOR_SIZE - in;
			if (n > len)
				n = len;
			if (rc == 0)
				memcpy(buf, r->bounce + in, n);
		}
		if (rc < 0)
			return cds_error_wrap(rc, "reading block %u", sec);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

int iso_reader_read_file(struct iso_reader *r, const struct iso_node *n,
			 uint64_t off, void *buf, size_t len)
{
	uint64_t start = 0;
	size_t done = 0;
	uint32_t i;
	int rc;

	if (iso_node_is_dir(n))
		return cds_error(-EISDIR, "%s is a directory", n->name);
	if (!S_ISREG(n->mode))
		return cds_error(-EINVAL, "%s is not a regular file", n->name);
	if (off >= n->size)
		return 0;
	if (len > n->size - off)
		len = (size_t)(n->size - off);
	if (len > INT_MAX)
		len = INT_MAX;
	for (i = 0; i < n->nextents && done < len; i++) {
		const struct iso_extent *e = &n->extents[i];
		uint64_t pos = off + done;

		if (pos < start + e->length) {
			uint64_t in = pos - start;
			size_t chunk = len - done;

			if (chunk > e->length - in)
				chunk = (size_t)(e->length - in);
			rc = read_extent(r, e->lba, in, (uint8_t *)buf + done,
					 chunk);
			if (rc < 0)
				return rc;
			done += chunk;
		}
		start += e->length;
	}
	if (done < len)
		return cds_error(-EUCLEAN,
				 "%s: extents hold fewer bytes than its size",
				 n->name);
	return (int)done;
}

/* ---- volume descriptors ---- */

static void copy_trimmed(char *dst, const uint8_t *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	while (i > 0 && dst[i - 1] == ' ')
		i--;
	dst[i] = '\0';
}

/* "CDSESSION-TAG:" + printable ASCII, NUL/space padded (our writer). */
static void read_tag(struct iso_reader *r, const uint8_t *pvd)
{
	const uint8_t *t = pvd + VD_APP_USE + strlen(TAG_PREFIX);
	size_t i, len = 0;

	if (memcmp(pvd + VD_APP_USE, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return;
	for (i = 0; i < TAG_MAX && t[i]; i++) {
		if (t[i] < 0x20 || t[i] > 0x7e)
			return;
		r->tag[i] = (char)t[i];
		if (t[i] != ' ')
			len = i + 1;
	}
	r->tag[len] = '\0';
	r->has_tag = len > 0;
}

/* The root's "." record: SP (at 0, or after a 14-byte CD-XA field as
 * Linux retries), ER, and the root's own Rock Ridge attributes. */
static int probe_rock(struct iso_reader *r, const struct dir_rec *root,
		      bool have_joliet, bool *rock)
{
	struct dir_rec d;
	size_t at;
	int rc;

	*rock = false;
	if (!extent_ok(r, root->lba, CDS_SECTOR_SIZE))
		return cds_error(-EUCLEAN,
				 "root directory at %u outside the "
				 "volume",
				 root->lba);
	rc = cds_source_read(r->src, root->lba, 1, r->dirbuf);
	if (rc < 0)
		return cds_error_wrap(rc, "reading the root directory");
	rc = dir_rec_parse(r->dirbuf, CDS_SECTOR_SIZE, &d);
	if (rc < 0)
		return cds_error_wrap(rc, "root directory");
	for (at = 0; at <= 14 && at <= d.su_len; at += 14) {
		rc = iso_rrip_parse(&r->rr, d.su + at, d.su_len - at, &r->info);
		if (rc < 0)
			return cds_error_wrap(rc, "root directory");
		if (r->info.has_sp)
			break;
	}
	/* Reference 3.4: Linux takes Rock Ridge when an ER is present;
	 * with SP but no ER it still honours the entries unless a Joliet
	 * tree is there to use instead. */
	if (!r->info.has_sp ||
	    !(r->info.has_er || (!have_joliet && r->info.has_px)))
		return 0;
	*rock = true;
	r->su_skip = r->info.sp_skip;
	return 0;
}

int iso_reader_open(struct cds_source *src, uint32_t session_start,
		    const struct iso_read_opts *o, struct iso_reader **out)
{
	static const struct iso_read_opts defaults;
	struct iso_reader *r;
	uint8_t *vd = NULL, *pvd = NULL, *svd = NULL;
	struct dir_rec root;
	uint32_t i;
	bool rock = false;
	int rc;

	*out = NULL;
	if (!o)
		o = &defaults;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->src = src;
	r->session_start = session_start;
	r->limit = src->nsectors;
	r->rr.src = src;
	r->rr.limit = src->nsectors;
	r->dirbuf = malloc((size_t)DIR_CHUNK * CDS_SECTOR_SIZE);
	vd = malloc(3 * CDS_SECTOR_SIZE);
	if (!r->dirbuf || !vd) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = VD_FIRST; i < VD_SCAN_END; i++) {
		uint8_t *b = vd + 2 * CDS_SECTOR_SIZE;

		if (session_start >= src->nsectors ||
		    i >= src->nsectors - session_start)
			break;
		rc = cds_source_read(src, session_start + i, 1, b);
		if (rc < 0) {
			rc = cds_error_wrap(rc,
					    "reading the volume descriptors "
					    "of the session at %u",
					    session_start);
			goto fail;
		}
		if (memcmp(b + 1, ISO_STANDARD_ID, 5) != 0)
			continue; /* unknown: skipped, as Linux does */
		if (b[0] == VD_TERMINATOR)
			break;
		if (b[0] == VD_PRIMARY && !pvd) {
			pvd = vd;
			memcpy(pvd, b, CDS_SECTOR_SIZE);
		} else if (b[0] == VD_SUPPLEMENTARY && !svd &&
			   b[VD_ESCAPES] == 0x25 && b[VD_ESCAPES + 1] == 0x2F &&
			   (b[VD_ESCAPES + 2] == 0x40 ||
			    b[VD_ESCAPES + 2] == 0x43 ||
			    b[VD_ESCAPES + 2] == 0x45)) {
			svd = vd + CDS_SECTOR_SIZE;
			memcpy(svd, b, CDS_SECTOR_SIZE);
		}
	}
	if (!pvd) {
		rc = cds_error(-EUCLEAN,
			       "no ISO 9660 primary volume descriptor in the "
			       "session at %u",
			       session_start);
		goto fail;
	}
	if (cds_get_723(pvd + VD_BLOCK_SIZE) != CDS_SECTOR_SIZE) {
		rc = cds_error(-EUCLEAN, "logical block size %u is not 2048",
			       cds_get_723(pvd + VD_BLOCK_SIZE));
		goto fail;
	}
	if (o->no_joliet)
		svd = NULL;
	r->vss = cds_get_733(pvd + VD_SPACE_SIZE);
	/* All of the session lies below start + VSS whether VSS counts
	 * from the session start (mkisofs) or from LBA 0 [reference 1.6];
	 * older sessions' files lie below the start. */
	if (r->vss && (uint64_t)session_start + r->vss < r->limit)
		r->limit = session_start + r->vss;
	r->rr.limit = r->limit;
	r->rr.max_reads = 4 * (uint64_t)r->limit + 1024;
	copy_trimmed(r->volume_id, pvd + VD_VOLUME_ID, 32);
	read_tag(r, pvd);

	rc = dir_rec_parse(pvd + VD_ROOT, VD_ROOT_LEN, &root);
	if (rc == 0 && !(root.flags & FLAG_DIR))
		rc = cds_error(-EUCLEAN, "root record is not a directory");
	if (rc < 0)
		goto fail_wrap;
	if (!o->no_rock) {
		rc = probe_rock(r, &root, svd != NULL, &rock);
		if (rc < 0)
			goto fail;
	}
	if (rock) {
		r->kind = ISO_TREE_ROCK_RIDGE;
	} else if (svd) {
		r->kind = ISO_TREE_JOLIET;
		rc = dir_rec_parse(svd + VD_ROOT, VD_ROOT_LEN, &root);
		if (rc == 0 && !(root.flags & FLAG_DIR))
			rc = cds_error(-EUCLEAN,
				       "root record is not a directory");
		if (rc < 0)
			goto fail_wrap;
	} else {
		r->kind = ISO_TREE_PLAIN;
	}
	r->root = iso_node_new("", S_IFDIR | 0555);
	if (!r->root) {
		rc = -ENOMEM;
		goto fail;
	}
	r->root->atime = r->root->mtime = r->root->ctime = iso_date7(root.date);
	if (rock)
		apply_rr_attrs(r, r->root, &r->info, true);
	r->root->dir_lba = root.lba;
	r->root->dir_size = root.size;
	r->root->size = root.size;
	free(vd);
	*out = r;
	return 0;
fail_wrap:
	rc = cds_error_wrap(rc, "session at %u", session_start);
fail:
	free(vd);
	iso_reader_close(r);
	return rc;
}

/* ---- accessors ---- */

enum iso_tree_kind iso_reader_kind(const struct iso_reader *r)
{
	return r->kind;
}

struct iso_node *iso_reader_root(struct iso_reader *r)
{
	return r->root;
}

const char *iso_reader_tag(const struct iso_reader *r)
{
	return r->has_tag ? r->tag : NULL;
}

const char *iso_reader_volume_id(const struct iso_reader *r)
{
	return r->volume_id;
}

uint32_t iso_reader_volume_space_size(const struct iso_reader *r)
{
	return r->vss;
}

uint64_t iso_reader_max_ino(struct iso_reader *r)
{
	return r->max_ino;
}

struct iso_node *iso_reader_take_root(struct iso_reader *r)
{
	struct iso_node *root;

	if (!r->root || iso_reader_load_all(r) < 0)
		return NULL;
	root = r->root;
	r->root = NULL;
	return root;
}

void iso_reader_close(struct iso_reader *r)
{
	if (!r)
		return;
	iso_node_free(r->root);
	free(r->loaded.slot);
	free(r->dirbuf);
	free(r);
}
