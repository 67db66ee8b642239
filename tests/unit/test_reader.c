/*
 * test_reader.c - iso/reader on discs made by others.
 *
 * Images are made at test time with genisoimage and xorriso from a tree
 * built here, and every attribute the reader reports is compared with
 * lstat()/readlink()/the file's bytes of the source tree.  Hostile cases
 * patch bytes of such an image in memory (or build a small one from
 * records) and expect -EUCLEAN with a message, never a crash.
 * CDS_SLOW=1 adds a real 4.5 GiB multi-extent file from xorriso.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"
#include "common/sector.h"
#include "iso/reader.h"
#include "tap.h"

#define SS CDS_SECTOR_SIZE

static char tmp[PATH_MAX];

/* ---- an in-memory source ---- */

struct mem_source {
	struct cds_source base;
	uint8_t *data;
	size_t size;
};

/* A block whose reads fail with -EIO (UINT32_MAX: none). */
static uint32_t bad_block = UINT32_MAX;

static int mem_read(struct cds_source *src, uint32_t lba, uint32_t count,
		    void *buf)
{
	struct mem_source *m = (struct mem_source *)src;

	if (lba > src->nsectors || count > src->nsectors - lba)
		return -EINVAL;
	if (bad_block >= lba && bad_block - lba < count)
		return -EIO;
	memcpy(buf, m->data + (size_t)lba * SS, (size_t)count * SS);
	return 0;
}

static void mem_close(struct cds_source *src)
{
	(void)src;
}

static const struct cds_source_ops mem_ops = {mem_read, mem_close};

/* Load an image file, padded to whole sectors. */
static int mem_load(struct mem_source *m, const char *path)
{
	FILE *f = fopen(path, "rb");
	long size;

	m->base.ops = &mem_ops;
	m->data = NULL;
	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	m->base.nsectors = (uint32_t)((size + SS - 1) / SS);
	m->size = (size_t)m->base.nsectors * SS;
	m->data = calloc(1, m->size ? m->size : 1);
	if (!m->data || fread(m->data, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	return 0;
}

/* ---- helpers ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st != 0)
		fprintf(stderr, "# command failed (%d): %s\n", st, cmd);
	return st == -1 ? -1 : WEXITSTATUS(st);
}

static void write_file(const char *rel, const void *data, size_t len,
		       mode_t mode)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		fprintf(stderr, "# cannot write %s\n", p);
	if (fd >= 0)
		close(fd);
	chmod(p, mode);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size + 1);
	if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)size;
	return buf;
}

static int open_file(const char *img, uint32_t start,
		     const struct iso_read_opts *o, struct cds_source **src,
		     struct iso_reader **r)
{
	char p[PATH_MAX];
	int rc;

	*r = NULL;
	snprintf(p, sizeof(p), "%s/%s", tmp, img);
	rc = cds_file_source_open(p, src);
	if (rc < 0)
		return rc;
	rc = iso_reader_open(*src, start, o, r);
	if (rc < 0) {
		fprintf(stderr, "# open %s: %s\n", img, cds_errmsg(rc));
		cds_source_close(*src);
		*src = NULL;
	}
	return rc;
}

static void close_file(struct cds_source *src, struct iso_reader *r)
{
	iso_reader_close(r);
	cds_source_close(src);
}

/* Whole content of @n through iso_reader_read_file in odd-sized pieces. */
static char *read_all(struct iso_reader *r, const struct iso_node *n)
{
	char *buf = malloc(n->size + 1);
	uint64_t off = 0;

	if (!buf)
		return NULL;
	while (off < n->size) {
		int got = iso_reader_read_file(r, n, off, buf + off, 3001);

		if (got <= 0) {
			free(buf);
			return NULL;
		}
		off += (uint64_t)got;
	}
	return buf;
}

static size_t count_nodes(const struct iso_node *n)
{
	size_t c = 1;
	uint32_t i;

	for (i = 0; i < n->nchildren; i++)
		c += count_nodes(n->children[i]);
	return c;
}

/* ---- comparing a Rock Ridge tree with the source tree ---- */

enum {
	CMP_OWNER = 1,	/* uid, gid, permissions as on the source */
	CMP_ROOTED = 2, /* -r: uid/gid 0, r-x for all / r-- for all */
};

static struct {
	struct iso_reader *r;
	const char *root;
	unsigned flags;
	const char *label;
	int bad, seen;
} walk;

static void fail(const char *what, const char *rel, long long got,
		 long long want)
{
	if (walk.bad++ < 5)
		fprintf(stderr, "# %s: %s: %s got %lld want %lld\n", walk.label,
			rel, what, got, want);
}

static mode_t rooted_perm(const struct stat *st)
{
	mode_t p = 0444;

	if (S_ISDIR(st->st_mode) || (st->st_mode & 0111))
		p |= 0111;
	return p;
}

static int walk_one(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	const char *rel = path + strlen(walk.root);
	struct iso_node *n;
	int rc;

	(void)type;
	(void)ftw;
	if (!*rel)
		rel = "/";
	rc = iso_reader_lookup(walk.r, rel, &n);
	if (rc < 0) {
		fail("lookup failed", rel, rc, 0);
		return 0;
	}
	walk.seen++;
	if ((n->mode & S_IFMT) != (st->st_mode & S_IFMT))
		fail("type", rel, n->mode & S_IFMT, st->st_mode & S_IFMT);
	if (walk.flags & CMP_OWNER) {
		if ((n->mode & 07777) != (st->st_mode & 07777))
			fail("mode", rel, n->mode & 07777, st->st_mode & 07777);
		if (n->uid != st->st_uid || n->gid != st->st_gid)
			fail("uid/gid", rel, n->uid * 100000LL + n->gid,
			     st->st_uid * 100000LL + st->st_gid);
	}
	if (walk.flags & CMP_ROOTED) {
		if ((n->mode & 07777) != rooted_perm(st))
			fail("rooted mode", rel, n->mode & 07777,
			     rooted_perm(st));
		if (n->uid || n->gid)
			fail("rooted uid/gid", rel, n->uid, 0);
	}
	if (!S_ISDIR(st->st_mode) && n->nlink != st->st_nlink)
		fail("nlink", rel, n->nlink, (long long)st->st_nlink);
	if (strcmp(rel, "/") != 0 && n->mtime.tv_sec != st->st_mtime)
		fail("mtime", rel, n->mtime.tv_sec, st->st_mtime);
	/* TF ATTRIBUTES is ctime; directories change while the test runs */
	if ((walk.flags & (CMP_OWNER | CMP_ROOTED)) && !S_ISDIR(st->st_mode) &&
	    n->ctime.tv_sec != st->st_ctime)
		fail("ctime", rel, n->ctime.tv_sec, st->st_ctime);
	if (S_ISREG(st->st_mode)) {
		size_t len = 0;
		char *want = slurp(path, &len);
		char *got = NULL;

		if (n->size != (uint64_t)st->st_size)
			fail("size", rel, (long long)n->size, st->st_size);
		else if (!want || !(got = read_all(walk.r, n)) ||
			 memcmp(got, want, len) != 0)
			fail("content differs", rel, 0, 0);
		free(want);
		free(got);
	}
	if (S_ISLNK(st->st_mode)) {
		char t[PATH_MAX];
		ssize_t l = readlink(path, t, sizeof(t) - 1);

		t[l < 0 ? 0 : l] = '\0';
		if (!n->symlink || strcmp(n->symlink, t) != 0) {
			fail("symlink target", rel, 0, 0);
			fprintf(stderr, "#   got '%s' want '%s'\n",
				n->symlink ? n->symlink : "(null)", t);
		}
	}
	if ((S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) &&
	    n->rdev != st->st_rdev)
		fail("rdev", rel, (long long)n->rdev, (long long)st->st_rdev);
	return 0;
}

/* Every file under @root (relative paths) must match; the tree must hold
 * nothing else.  @root may list several directories merged at "/". */
static void compare_tree(struct iso_reader *r, const char *label,
			 unsigned flags, size_t extra_expected)
{
	char root[PATH_MAX];
	int rc;

	rc = iso_reader_load_all(r);
	is_int(rc, 0, "%s: load_all", label);
	if (rc < 0) {
		fprintf(stderr, "# %s\n", cds_errmsg(rc));
		return;
	}
	snprintf(root, sizeof(root), "%s/src", tmp);
	walk.r = r;
	walk.root = root;
	walk.flags = flags;
	walk.label = label;
	walk.bad = walk.seen = 0;
	nftw(root, walk_one, 16, FTW_PHYS);
	ok(walk.seen > 20 && walk.bad == 0,
	   "%s: %d files match the source in type, mode, owners, nlink, "
	   "mtime, size, content, symlink target, rdev (%d differ)",
	   label, walk.seen, walk.bad);
	is_int(count_nodes(iso_reader_root(r)),
	       (long long)walk.seen + (long long)extra_expected,
	       "%s: no node that the source does not have", label);
}

/* ---- the source tree ---- */

static bool have_devices;

static void make_tree(void)
{
	char p[PATH_MAX * 2], name[256];
	uint8_t *big = malloc(100001);
	int i;

	for (i = 0; i < 100001; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 8));
	sh("mkdir -p %s/src/sub/empty_dir "
	   "%s/src/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10",
	   tmp, tmp);
	write_file("src/hello.txt", "hello world\n", 12, 0640);
	write_file("src/bin.dat", big, 100001, 0644);
	write_file("src/block.dat", big, 2 * SS, 0600);
	write_file("src/empty", "", 0, 0644);
	write_file("src/exec.sh", "#!/bin/sh\n", 10, 0755);
	write_file("src/sub/inner.txt", "inner\n", 6, 0604);
	write_file("src/Mixed Case Name.TXT", "mixed\n", 6, 0644);
	write_file("src/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/leaf.txt", "leaf\n", 5,
		   0644);
	memset(name, 'n', 200);
	name[200] = '\0';
	snprintf(p, sizeof(p), "src/sub/%s", name);
	write_file(p, "long name\n", 10, 0644);
	sh("cd %s/src && ln hello.txt hardlink && ln -s hello.txt link && "
	   "ln -s /etc/passwd abslink && ln -s ../sub/./inner.txt sub/rel && "
	   "mkfifo fifo && chown 1234:5678 hello.txt && chown 42:43 sub && "
	   "chmod 0750 sub && chmod 1777 sub/empty_dir",
	   tmp);
	have_devices = sh("cd %s/src && mknod cdev c 1 3 && mknod bdev b 7 0 "
			  "2>/dev/null",
			  tmp) == 0;
	if (!have_devices)
		sh("rm -f %s/src/cdev %s/src/bdev", tmp, tmp);
	/* fixed times: 2021-03-04 05:06:07 UTC and one far in the past */
	sh("cd %s/src && touch -h -d '2021-03-04 05:06:07 UTC' hello.txt link "
	   "sub && touch -d '1985-01-02 03:04:05 UTC' bin.dat",
	   tmp);
	free(big);
}

/* ---- flavours ---- */

static void test_genisoimage_rj(void)
{
	struct iso_read_opts o = {0};
	struct cds_source *src;
	struct iso_reader *r;
	struct iso_node *n;
	char *buf;

	if (sh("genisoimage -quiet -R -J -joliet-long -V GENVOL -o %s/g-rj.iso "
	       "%s/src 2>/dev/null",
	       tmp, tmp) != 0) {
		ok(0, "genisoimage -R -J");
		return;
	}
	if (open_file("g-rj.iso", 0, NULL, &src, &r) < 0) {
		ok(0, "genisoimage -R -J opens");
		return;
	}
	is_int(iso_reader_kind(r), ISO_TREE_ROCK_RIDGE,
	       "genisoimage -R -J: Rock Ridge tree chosen");
	is_str(iso_reader_volume_id(r), "GENVOL", "volume id, spaces trimmed");
	ok(iso_reader_tag(r) == NULL, "no session tag on a foreign disc");
	ok(iso_reader_volume_space_size(r) == src->nsectors ||
	       iso_reader_volume_space_size(r) + 150 == src->nsectors,
	   "volume space size as recorded (%u of %u sectors)",
	   iso_reader_volume_space_size(r), src->nsectors);
	/* lazy: nothing below the root is read before it is needed */
	ok(!iso_reader_root(r)->children_loaded, "root not read at open");
	is_int(iso_reader_lookup(r, "/sub/inner.txt", &n), 0,
	       "lookup /sub/inner.txt");
	ok(n && !iso_reader_lookup(r, "/d1", &n) && !n->children_loaded,
	   "lookup loads only the directories on the way");
	is_int(iso_reader_lookup(r, "/nope", &n), -ENOENT, "lookup: ENOENT");
	ok(n == NULL, "lookup failure leaves *out NULL");
	is_int(iso_reader_lookup(r, "/hello.txt/x", &n), -ENOTDIR,
	       "lookup through a file: ENOTDIR");
	ok(strstr(cds_errmsg(-ENOTDIR), "hello.txt") != NULL,
	   "ENOTDIR message names the path");
	is_int(iso_reader_lookup(r, "//sub/../sub/./inner.txt", &n), 0,
	       "lookup with //, .. and .");
	is_int(iso_reader_lookup(r, "/", &n), 0, "lookup /");
	ok(n == iso_reader_root(r), "/ is the root");
	compare_tree(r, "genisoimage -R -J", CMP_OWNER, 0);
	is_int(iso_reader_lookup(r, "/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/leaf.txt",
				 &n),
	       0, "relocated deep directory shown at its place");
	ok(iso_node_find_child(iso_reader_root(r), "rr_moved") == NULL,
	   "rr_moved hidden");
	/* read_file corner cases */
	iso_reader_lookup(r, "/bin.dat", &n);
	buf = malloc(200000);
	is_int(iso_reader_read_file(r, n, 99990, buf, 100), 11,
	       "read_file short at the end");
	ok(buf[10] == (char)(uint8_t)(100000 * 7 + (100000 >> 8)),
	   "last byte right");
	is_int(iso_reader_read_file(r, n, 100001, buf, 100), 0,
	       "read_file at EOF: 0");
	is_int(iso_reader_read_file(r, n, 1ULL << 40, buf, 100), 0,
	       "read_file far past EOF: 0");
	is_int(iso_reader_read_file(r, n, 2047, buf, 4098), 4098,
	       "read_file across blocks");
	ok(buf[0] == (char)(uint8_t)(2047 * 7 + (2047 >> 8)) &&
	       buf[4097] == (char)(uint8_t)(6144 * 7 + (6144 >> 8)),
	   "bytes across blocks right");
	is_int(iso_reader_read_file(r, iso_reader_root(r), 0, buf, 1), -EISDIR,
	       "read_file on a directory: EISDIR");
	iso_reader_lookup(r, "/link", &n);
	is_int(iso_reader_read_file(r, n, 0, buf, 1), -EINVAL,
	       "read_file on a symlink: EINVAL");
	free(buf);
	close_file(src, r);

	/* the same disc without Rock Ridge: Joliet, then plain names */
	o.no_rock = true;
	if (open_file("g-rj.iso", 0, &o, &src, &r) == 0) {
		is_int(iso_reader_kind(r), ISO_TREE_JOLIET, "no_rock: Joliet");
		is_int(iso_reader_load_all(r), 0, "Joliet load_all");
		ok(iso_reader_lookup(r, "/Mixed Case Name.TXT", &n) == 0 &&
		       n->size == 6,
		   "Joliet keeps case and spaces");
		ok(iso_reader_lookup(r, "/link", &n) == 0 && S_ISREG(n->mode) &&
		       (n->mode & 07777) == 0444,
		   "Joliet: no Rock Ridge modes");
		close_file(src, r);
	}
	o.no_joliet = true;
	if (open_file("g-rj.iso", 0, &o, &src, &r) == 0) {
		is_int(iso_reader_kind(r), ISO_TREE_PLAIN,
		       "no_rock + no_joliet: plain");
		is_int(iso_reader_load_all(r), 0, "plain load_all");
		ok(iso_reader_lookup(r, "/hello.txt", &n) == 0 && n->size == 12,
		   "plain: HELLO.TXT;1 shown as hello.txt");
		ok(iso_reader_lookup(r, "/rr_moved", &n) == 0,
		   "plain: rr_moved visible (relocation really happened)");
		close_file(src, r);
	}
}

static void test_genisoimage_r(void)
{
	struct cds_source *src;
	struct iso_reader *r;

	if (sh("genisoimage -quiet -r -o %s/g-r.iso %s/src 2>/dev/null", tmp,
	       tmp) != 0 ||
	    open_file("g-r.iso", 0, NULL, &src, &r) < 0) {
		ok(0, "genisoimage -r");
		return;
	}
	compare_tree(r, "genisoimage -r", CMP_ROOTED, 0);
	close_file(src, r);
}

static void test_xorriso_hardlinks(void)
{
	struct cds_source *src;
	struct iso_reader *r;
	struct iso_node *a, *b, *c, *l;
	char t[400];

	/* a symlink target longer than an SU field: SL in a CE area */
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 150; i++)
		memcpy(t + 2 * i, "x/", 2);
	strcat(t, "target");
	if (sh("cd %s/src && ln -s %s longlink && xorriso -report_about "
	       "SORRY -outdev %s/x.iso -hardlinks on -joliet on -volid XVOL "
	       "-map %s/src / -commit >/dev/null 2>&1",
	       tmp, t, tmp, tmp) != 0 ||
	    open_file("x.iso", 0, NULL, &src, &r) < 0) {
		ok(0, "xorriso -hardlinks on");
		sh("rm -f %s/src/longlink", tmp);
		return;
	}
	is_int(iso_reader_kind(r), ISO_TREE_ROCK_RIDGE, "xorriso: Rock Ridge");
	is_str(iso_reader_volume_id(r), "XVOL", "xorriso volume id");
	compare_tree(r, "xorriso -hardlinks on", CMP_OWNER, 0);
	iso_reader_lookup(r, "/hello.txt", &a);
	iso_reader_lookup(r, "/hardlink", &b);
	iso_reader_lookup(r, "/bin.dat", &c);
	iso_reader_lookup(r, "/longlink", &l);
	ok(a && b && c && a->ino != 0 && a->ino == b->ino && a->ino != c->ino,
	   "PX serials: equal for hard links (%llu %llu), other files differ "
	   "(%llu)",
	   a ? (unsigned long long)a->ino : 0,
	   b ? (unsigned long long)b->ino : 0,
	   c ? (unsigned long long)c->ino : 0);
	ok(a && b && a->nextents == 1 && b->nextents == 1 &&
	       a->extents[0].lba == b->extents[0].lba,
	   "hard links share their extent");
	ok(l && l->symlink && strlen(l->symlink) == 306,
	   "306-byte symlink target through a continuation area");
	ok(iso_reader_max_ino(r) >= a->ino &&
	       iso_reader_max_ino(r) >= iso_reader_root(r)->ino &&
	       iso_reader_max_ino(r) > 10,
	   "max_ino %llu covers the serials",
	   (unsigned long long)iso_reader_max_ino(r));
	close_file(src, r);
	sh("rm -f %s/src/longlink", tmp);
}

static void test_joliet_only(void)
{
	struct cds_source *src;
	struct iso_reader *r;
	struct iso_node *n;
	struct stat st;
	char p[PATH_MAX];

	if (sh("genisoimage -quiet -J -joliet-long -o %s/j.iso %s/src "
	       "2>/dev/null",
	       tmp, tmp) != 0 ||
	    open_file("j.iso", 0, NULL, &src, &r) < 0) {
		ok(0, "genisoimage -J");
		return;
	}
	is_int(iso_reader_kind(r), ISO_TREE_JOLIET, "Joliet-only disc");
	is_int(iso_reader_load_all(r), 0, "Joliet load_all");
	ok(iso_reader_lookup(r, "/Mixed Case Name.TXT", &n) == 0,
	   "Joliet name with case and spaces");
	ok(iso_reader_lookup(r, "/hello.txt", &n) == 0 && n->size == 12 &&
	       n->mode == (S_IFREG | 0444),
	   "Joliet file: size, default mode");
	snprintf(p, sizeof(p), "%s/src/hello.txt", tmp);
	stat(p, &st);
	ok(n && n->mtime.tv_sec == st.st_mtime,
	   "Joliet mtime from the record date");
	ok(iso_reader_lookup(r, "/d1/d2/d3/d4/d5/d6", &n) == 0,
	   "deep path in Joliet");
	ok(iso_reader_lookup(r, "/sub", &n) == 0 && n->mode == (S_IFDIR | 0555),
	   "Joliet directory mode");
	close_file(src, r);
}

static void test_plain_levels(void)
{
	for (int level = 1; level <= 3; level++) {
		struct cds_source *src;
		struct iso_reader *r;
		struct iso_node *n;
		char *c;

		if (sh("genisoimage -quiet -iso-level %d -o %s/p%d.iso %s/src "
		       ">/dev/null 2>&1",
		       level, tmp, level, tmp) != 0 ||
		    open_file(level == 1   ? "p1.iso"
			      : level == 2 ? "p2.iso"
					   : "p3.iso",
			      0, NULL, &src, &r) < 0) {
			ok(0, "genisoimage -iso-level %d", level);
			continue;
		}
		is_int(iso_reader_kind(r), ISO_TREE_PLAIN,
		       "level %d: plain ISO 9660", level);
		is_int(iso_reader_load_all(r), 0, "level %d: load_all", level);
		ok(iso_reader_lookup(r, "/bin.dat", &n) == 0 &&
		       n->size == 100001 && n->mode == (S_IFREG | 0444),
		   "level %d: bin.dat, lower case, no ;1", level);
		c = n ? read_all(r, n) : NULL;
		ok(c &&
		       c[100000] == (char)(uint8_t)(100000 * 7 + (100000 >> 8)),
		   "level %d: content", level);
		free(c);
		ok(iso_reader_lookup(r, "/sub/inner.txt", &n) == 0 &&
		       n->size == 6,
		   "level %d: sub/inner.txt", level);
		if (level > 1)
			ok(iso_reader_lookup(r, "/mixed_case_name.txt", &n) ==
			       0,
			   "level %d: d-characters", level);
		close_file(src, r);
	}
}

static void test_multisession(void)
{
	struct cds_source *src;
	struct iso_reader *r;
	struct iso_node *keep, *n;
	struct stat st;
	uint32_t next;
	char p[PATH_MAX], *c;

	sh("mkdir -p %s/ms1/d %s/ms2/d && echo one >%s/ms1/keep && "
	   "echo old >%s/ms1/d/x && echo two >%s/ms2/new && "
	   "echo new >%s/ms2/d/y",
	   tmp, tmp, tmp, tmp, tmp, tmp);
	snprintf(p, sizeof(p), "%s/ms.iso", tmp);
	if (sh("genisoimage -quiet -R -J -o %s %s/ms1 2>/dev/null", p, tmp) !=
		0 ||
	    stat(p, &st) < 0) {
		ok(0, "session 1");
		return;
	}
	next = (uint32_t)(st.st_size / SS) + 7; /* a gap, as on a CD */
	if (sh("genisoimage -quiet -R -J -C 0,%u -M %s -o %s/ms2.part "
	       "%s/ms2 2>/dev/null && dd if=%s/ms2.part of=%s bs=2048 "
	       "seek=%u conv=notrunc 2>/dev/null",
	       next, p, tmp, tmp, tmp, p, next) != 0 ||
	    open_file("ms.iso", next, NULL, &src, &r) < 0) {
		ok(0, "session 2");
		return;
	}
	is_int(iso_reader_load_all(r), 0, "session 2: load_all");
	is_int(count_nodes(iso_reader_root(r)), 6,
	       "session 2 shows the merged tree (/, keep, new, d, d/x, d/y)"
	       " + nothing else");
	ok(iso_reader_lookup(r, "/keep", &keep) == 0 && keep->nextents == 1 &&
	       keep->extents[0].lba < next,
	   "untouched file's extent points into session 1");
	c = keep ? read_all(r, keep) : NULL;
	ok(c && memcmp(c, "one\n", 4) == 0, "session 1 data read");
	free(c);
	ok(iso_reader_lookup(r, "/d/x", &n) == 0 && n->extents[0].lba < next,
	   "old file in a rewritten directory");
	ok(iso_reader_lookup(r, "/d/y", &n) == 0 && n->extents[0].lba >= next,
	   "new file in session 2");
	c = n ? read_all(r, n) : NULL;
	ok(c && memcmp(c, "new\n", 4) == 0, "session 2 data read");
	free(c);
	close_file(src, r);
	if (open_file("ms.iso", 0, NULL, &src, &r) == 0) {
		is_int(iso_reader_load_all(r), 0, "session 1 still readable");
		is_int(count_nodes(iso_reader_root(r)), 4,
		       "session 1 shows its own tree");
		close_file(src, r);
	}

	/* xorriso on a file: sessions at 32-block steps, the newest
	 * descriptors copied to LBA 16 with the total size */
	if (sh("cd %s && xorriso -report_about SORRY -dev xms.iso -map ms1 / "
	       "-commit >/dev/null 2>&1 && xorriso -report_about SORRY -dev "
	       "xms.iso -map ms2 / -commit >/dev/null 2>&1",
	       tmp) != 0 ||
	    open_file("xms.iso", 0, NULL, &src, &r) < 0) {
		ok(0, "xorriso two sessions");
		return;
	}
	is_int(iso_reader_load_all(r), 0, "xorriso sessions: load_all at 0");
	is_int(count_nodes(iso_reader_root(r)), 6,
	       "LBA 16 copy shows the newest, merged tree");
	ok(iso_reader_lookup(r, "/keep", &keep) == 0 &&
	       keep->extents[0].lba < 64,
	   "kept file's extent in the first session");
	c = keep ? read_all(r, keep) : NULL;
	ok(c && memcmp(c, "one\n", 4) == 0, "its data");
	free(c);
	close_file(src, r);
}

/* Two adjacent records made into one file of two sections. */
static void test_multi_extent_patched(void)
{
	struct mem_source m;
	struct iso_reader *r;
	struct iso_node *n;
	char p[PATH_MAX], *c;
	uint8_t *aa, *ab;
	uint8_t data[2 * SS];

	sh("mkdir -p %s/me", tmp);
	memset(data, 'A', SS);
	write_file("me/aa", data, SS, 0644);
	memset(data, 'B', 100);
	write_file("me/ab", data, 100, 0644);
	snprintf(p, sizeof(p), "%s/me.iso", tmp);
	if (sh("genisoimage -quiet -o %s %s/me 2>/dev/null", p, tmp) != 0 ||
	    mem_load(&m, p) < 0) {
		ok(0, "multi-extent image");
		return;
	}
	aa = memmem(m.data, m.size, "AA.;1", 5);
	ab = memmem(m.data, m.size, "AB.;1", 5);
	if (!aa || !ab || ab != aa - 33 + aa[-33] + 33) {
		ok(0, "records AA and AB adjacent");
		free(m.data);
		return;
	}
	aa[-33 + 25] |= 0x80; /* not the final record */
	ab[1] = 'A';
	if (iso_reader_open(&m.base, 0, NULL, &r) == 0) {
		is_int(iso_reader_load_all(r), 0, "multi-extent: load_all");
		ok(iso_reader_lookup(r, "/aa", &n) == 0 && n->nextents == 2 &&
		       n->size == SS + 100,
		   "two sections, sizes summed");
		c = n ? read_all(r, n) : NULL;
		ok(c && c[0] == 'A' && c[SS - 1] == 'A' && c[SS] == 'B' &&
		       c[SS + 99] == 'B',
		   "data read across sections");
		free(c);
		is_int(iso_node_find_child(iso_reader_root(r), "ab") != NULL, 0,
		       "one node for the file");
		iso_reader_close(r);
	}
	/* the final record is missing: the name changes mid-file */
	ab[1] = 'B';
	if (iso_reader_open(&m.base, 0, NULL, &r) == 0) {
		is_int(iso_reader_load_all(r), -EUCLEAN,
		       "multi-extent without its final record");
		iso_reader_close(r);
	}
	free(m.data);
}

/* xorriso's own > 4 GiB file, streamed into a sparse memory source. */
struct sparse_source {
	struct cds_source base;
	uint8_t **blk; /* NULL = zeros */
};

static int sparse_read(struct cds_source *src, uint32_t lba, uint32_t count,
		       void *buf)
{
	struct sparse_source *s = (struct sparse_source *)src;

	if (lba > src->nsectors || count > src->nsectors - lba)
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		uint8_t *d = (uint8_t *)buf + (size_t)i * SS;

		if (s->blk[lba + i])
			memcpy(d, s->blk[lba + i], SS);
		else
			memset(d, 0, SS);
	}
	return 0;
}

static const struct cds_source_ops sparse_ops = {sparse_read, mem_close};

static void test_multi_extent_xorriso(void)
{
	static const uint8_t zero[SS];
	struct sparse_source s = {{&sparse_ops, 0}, NULL};
	struct iso_reader *r;
	struct iso_node *n = NULL;
	int rc;
	char cmd[PATH_MAX * 2], tail[16];
	uint8_t *b = malloc(SS);
	uint64_t size = 4608ULL << 20;
	uint32_t cap = 1u << 22;
	FILE *f;

	s.blk = calloc(cap, sizeof(*s.blk));
	sh("mkdir -p %s/huge && truncate -s %llu %s/huge/big && "
	   "printf tail-marker | dd of=%s/huge/big bs=1 seek=%llu "
	   "conv=notrunc 2>/dev/null",
	   tmp, (unsigned long long)size, tmp, tmp,
	   (unsigned long long)size - 11);
	snprintf(cmd, sizeof(cmd),
		 "xorriso -as mkisofs -quiet -iso-level 3 -R -o - %s/huge "
		 "2>/dev/null",
		 tmp);
	f = popen(cmd, "r");
	while (f && fread(b, 1, SS, f) == SS && s.base.nsectors < cap) {
		if (memcmp(b, zero, SS) != 0) {
			s.blk[s.base.nsectors] = b;
			b = malloc(SS);
		}
		s.base.nsectors++;
	}
	if (f)
		pclose(f);
	ok(s.base.nsectors > size / SS, "xorriso 4.5 GiB image streamed");
	if (iso_reader_open(&s.base, 0, NULL, &r) == 0) {
		is_int(iso_reader_load_all(r), 0, "huge: load_all");
		rc = iso_reader_lookup(r, "/big", &n);
		ok(rc == 0 && n->size == size && n->nextents == 2,
		   "4.5 GiB file of %u sections, size %llu",
		   n ? n->nextents : 0, n ? (unsigned long long)n->size : 0);
		ok(n && iso_reader_read_file(r, n, size - 11, tail, 11) == 11 &&
		       memcmp(tail, "tail-marker", 11) == 0,
		   "last bytes read from the second section");
		iso_reader_close(r);
	}
	for (uint32_t i = 0; i < s.base.nsectors; i++)
		free(s.blk[i]);
	free(s.blk);
	free(b);
	sh("rm -rf %s/huge", tmp);
}

/* ---- hostile images ---- */

static struct mem_source hm;
static uint8_t *pristine;

static void restore(void)
{
	memcpy(hm.data, pristine, hm.size);
}

/* Open and load everything; returns the first error. */
static int try_all(const struct iso_read_opts *o)
{
	struct iso_reader *r;
	struct iso_node *n;
	int rc;

	rc = iso_reader_open(&hm.base, 0, o, &r);
	if (rc < 0)
		return rc;
	rc = iso_reader_load_all(r);
	if (rc == 0)
		(void)iso_reader_lookup(r, "/hello.txt", &n);
	iso_reader_close(r);
	return rc;
}

static void expect(int rc, const char *needle, const char *what)
{
	const char *msg = cds_errmsg(rc);

	ok(rc == -EUCLEAN && strstr(msg, needle),
	   "hostile: %s: -EUCLEAN (%d) \"%s\"", what, rc, msg);
}

/* Offset of the directory record whose identifier is @id, searched from
 * block @from (past the path tables, which hold directory names too). */
static size_t rec_of(uint32_t from, const char *id)
{
	size_t len = strlen(id), at = (size_t)from * SS;
	uint8_t *p;

	while ((p = memmem(hm.data + at, hm.size - at, id, len)) != NULL) {
		if (p[-1] == len && p[-33] >= 33 + len)
			return (size_t)(p - 33 - hm.data);
		at = (size_t)(p - hm.data) + 1;
	}
	return 0;
}

/* Offset of SUSP entry @sig within the record at @rec. */
static size_t susp_of(size_t rec, const char *sig)
{
	uint8_t *p = memmem(hm.data + rec, hm.data[rec], sig, 2);

	return p ? (size_t)(p - hm.data) : 0;
}

static void test_hostile(void)
{
	char p[PATH_MAX];
	size_t hello, sub, link, root_dot, ce, e;
	uint32_t root_lba;
	int rc;

	snprintf(p, sizeof(p), "%s/g-rj.iso", tmp);
	if (mem_load(&hm, p) < 0) {
		ok(0, "hostile base image");
		return;
	}
	pristine = malloc(hm.size);
	memcpy(pristine, hm.data, hm.size);
	is_int(try_all(NULL), 0, "hostile base image reads");
	root_lba = cds_get_733(hm.data + 16 * SS + 156 + 2);
	hello = rec_of(root_lba, "HELLO.TXT;1");
	sub = rec_of(root_lba, "SUB");
	link = rec_of(root_lba, "LINK.;1");
	root_dot = (size_t)root_lba * SS;
	ok(hello && sub && link, "records found");

	hm.data[hello] = 20;
	expect(try_all(NULL), "record length", "record length < 33");
	restore();
	hm.data[hello] = 254; /* runs past the block end or into others */
	rc = try_all(NULL);
	ok(rc == -EUCLEAN, "hostile: record length 254: %s", cds_errmsg(rc));
	restore();
	hm.data[hello + 32] = 250;
	expect(try_all(NULL), "identifier", "LEN_FI past its record");
	restore();
	cds_put_733(hm.data + hello + 2, hm.base.nsectors + 5);
	expect(try_all(NULL), "outside the volume", "file extent outside");
	restore();
	cds_put_733(hm.data + hello + 10, 0xFFFFFFFFu);
	expect(try_all(NULL), "outside the volume", "huge file size");
	restore();
	cds_put_733(hm.data + sub + 2, root_lba);
	expect(try_all(NULL), "loop", "directory loop through an extent");
	restore();
	cds_put_733(hm.data + sub + 2, 0xFFFFFFF0u);
	expect(try_all(NULL), "outside the volume", "directory outside");
	restore();
	hm.data[hello + 26] = 1;
	expect(try_all(NULL), "interleaved", "interleaved file");
	restore();

	/* Rock Ridge names */
	e = susp_of(hello, "NM");
	ok(e != 0, "NM of hello.txt found");
	if (e) {
		hm.data[e + 5 + 2] = '/';
		expect(try_all(NULL), "'/'", "NM with '/'");
		restore();
		hm.data[e + 5 + 2] = '\0';
		expect(try_all(NULL), "NUL", "NM with NUL");
		restore();
		hm.data[e + 4] = 2;
		expect(try_all(NULL), "'.'", "NM CURRENT");
		restore();
		hm.data[e + 4] = 4;
		expect(try_all(NULL), "'..'", "NM PARENT");
		restore();
		hm.data[e + 2] = 5 + 250; /* past the SU field: ignored */
		is_int(try_all(NULL), 0, "NM longer than its field ignored");
		restore();
	}
	e = susp_of(link, "SL");
	ok(e != 0, "SL of link found");
	if (e) {
		hm.data[e + 6] = 250;
		expect(try_all(NULL), "SL component", "SL component overflow");
		restore();
		hm.data[e + 7] = 0;
		expect(try_all(NULL), "NUL", "SL component with NUL");
		restore();
	}
	/* CE of the root's "." record (genisoimage puts ER there) */
	ce = susp_of(root_dot, "CE");
	ok(ce != 0, "root CE found");
	if (ce) {
		uint32_t b = cds_get_733(hm.data + ce + 4);
		uint32_t off = cds_get_733(hm.data + ce + 12);
		uint8_t *ca = hm.data + (size_t)b * SS + off;

		/* a CE in the area pointing at the area itself */
		memcpy(ca, hm.data + ce, 28);
		cds_put_733(hm.data + ce + 20, 28);
		expect(try_all(NULL), "CE chain", "CE loop");
		restore();
		cds_put_733(hm.data + ce + 4, 0x7FFFFFFF);
		expect(try_all(NULL), "CE block", "CE outside the volume");
		restore();
		cds_put_733(hm.data + ce + 12, 2000);
		expect(try_all(NULL), "crosses", "CE across its block");
		restore();
	}
	/* relocation: the CL placeholder of d7 */
	e = 0;
	{
		uint8_t *q = hm.data + 18 * SS;

		while ((q = memmem(q, hm.size - (size_t)(q - hm.data),
				   "CL\x0c\x01", 4)) != NULL) {
			e = (size_t)(q - hm.data);
			break;
		}
	}
	ok(e != 0, "CL entry found");
	if (e) {
		cds_put_733(hm.data + e + 4, root_lba);
		expect(try_all(NULL), "loop", "CL to the root");
		restore();
		cds_put_733(hm.data + e + 4, cds_get_733(hm.data + hello + 2));
		expect(try_all(NULL), "CL block", "CL to file data");
		restore();
		cds_put_733(hm.data + e + 4, 0x7FFFFFFF);
		expect(try_all(NULL), "CL block", "CL outside");
		restore();
	}
	/* read errors: reported, the directory stays unloaded, and a
	 * later try (the drive recovered) succeeds */
	{
		struct iso_reader *r;
		struct iso_node *n = NULL, *d = NULL;
		char b[16];

		ok(iso_reader_open(&hm.base, 0, NULL, &r) == 0, "open");
		bad_block = cds_get_733(hm.data + sub + 2);
		rc = iso_reader_lookup(r, "/sub/inner.txt", &n);
		ok(rc == -EIO && strstr(cds_errmsg(rc), "/sub"),
		   "read error in a directory: EIO naming it (%s)",
		   cds_errmsg(rc));
		ok(iso_reader_lookup(r, "/sub", &d) == 0 &&
		       !d->children_loaded && d->nchildren == 0,
		   "the failed directory stays unloaded and empty");
		bad_block = UINT32_MAX;
		is_int(iso_reader_lookup(r, "/sub/inner.txt", &n), 0,
		       "and loads on the next try");
		iso_reader_lookup(r, "/hello.txt", &n);
		bad_block = n ? n->extents[0].lba : 0;
		is_int(iso_reader_read_file(r, n, 0, b, sizeof(b)), -EIO,
		       "read error in file data: EIO");
		bad_block = UINT32_MAX;
		is_int(iso_reader_read_file(r, n, 0, b, sizeof(b)), 12,
		       "file data after recovery");
		iso_reader_close(r);
	}
	/* our writer's session tag in the PVD application use field */
	{
		struct iso_reader *r;

		memcpy(hm.data + 16 * SS + 883, "CDSESSION-TAG:s1-2026 ", 22);
		ok(iso_reader_open(&hm.base, 0, NULL, &r) == 0 &&
		       iso_reader_tag(r) &&
		       strcmp(iso_reader_tag(r), "s1-2026") == 0,
		   "session tag read, padding trimmed");
		iso_reader_close(r);
		memcpy(hm.data + 16 * SS + 883 + 16, "\x01", 1);
		ok(iso_reader_open(&hm.base, 0, NULL, &r) == 0 &&
		       iso_reader_tag(r) == NULL,
		   "a tag with a control character is no tag");
		iso_reader_close(r);
		restore();
	}
	/* volume descriptors */
	hm.data[16 * SS + 1] = 'X';
	expect(try_all(NULL), "primary volume descriptor", "no PVD");
	restore();
	hm.data[16 * SS + 156 + 25] = 0;
	expect(try_all(NULL), "not a directory", "root not a directory");
	restore();
	cds_put_723(hm.data + 16 * SS + 128, 512);
	expect(try_all(NULL), "block size", "block size 512");
	restore();
	cds_put_733(hm.data + 16 * SS + 156 + 2, 0x7FFFFFF0);
	rc = try_all(NULL);
	ok(rc == -EUCLEAN, "hostile: root outside: %s", cds_errmsg(rc));
	restore();
	for (int i = 16; i < 120 && (size_t)i * SS < hm.size; i++)
		if (hm.data[(size_t)i * SS] == 255)
			hm.data[(size_t)i * SS] = 3; /* no terminator */
	is_int(try_all(NULL), 0, "no terminator: scan capped, PVD used");
	restore();

	/* Joliet names */
	{
		struct iso_read_opts o = {.no_rock = true};
		uint8_t *j = memmem(hm.data + 18 * SS, hm.size - 18 * SS,
				    "\0h\0e\0l\0l\0o\0.\0t\0x\0t", 18);

		ok(j != NULL, "Joliet record found");
		if (j) {
			j[3] = '/';
			expect(try_all(&o), "'/'", "Joliet name with '/'");
			restore();
			j[-1] = 4;
			memcpy(j, "\0.\0.", 4);
			expect(try_all(&o), "'.'", "Joliet name '..'");
			restore();
			j[-1] = 17;
			expect(try_all(&o), "odd length", "Joliet odd length");
			restore();
			memcpy(j, "\xdc\x00", 2);
			expect(try_all(&o), "surrogate",
			       "Joliet lone surrogate");
			restore();
		}
	}
	/* plain ISO names */
	{
		struct iso_read_opts o = {.no_rock = true, .no_joliet = true};

		hm.data[hello + 33 + 2] = '/';
		expect(try_all(&o), "'/'", "ISO name with '/'");
		restore();
		hm.data[hello + 33 + 2] = '\0';
		expect(try_all(&o), "NUL", "ISO name with NUL");
		restore();
		hm.data[hello + 32] = 2;
		memcpy(hm.data + hello + 33, "..", 2);
		expect(try_all(&o), "'.'", "ISO name '..'");
		restore();
		hm.data[hello + 32] = 1;
		hm.data[hello + 33] = '/';
		expect(try_all(&o), "'/'", "ISO name '/'");
		restore();
		/* two names that translate alike */
		memcpy(hm.data + link + 33, "HELLO.TXT;1", 11);
		hm.data[link + 32] = 11;
		rc = try_all(&o);
		ok(rc == 0 || rc == -EUCLEAN, "duplicate names: no crash (%s)",
		   cds_errmsg(rc));
		restore();
	}
	free(pristine);
	free(hm.data);
}

/* ---- small synthetic discs ---- */

static size_t put_rec(uint8_t *p, uint32_t lba, uint32_t size, uint8_t flags,
		      const char *id, size_t idlen)
{
	size_t len = 33 + idlen + !(idlen & 1);

	memset(p, 0, len);
	p[0] = (uint8_t)len;
	cds_put_733(p + 2, lba);
	cds_put_733(p + 10, size);
	p[18] = 100; /* 2000-01-01 */
	p[19] = 1;
	p[20] = 1;
	p[25] = flags;
	cds_put_723(p + 28, 1);
	p[32] = (uint8_t)idlen;
	memcpy(p + 33, id, idlen);
	return len;
}

static void put_pvd(uint8_t *d, uint32_t nsec, uint32_t root, uint32_t rsize)
{
	uint8_t *v = d + 16 * SS;

	v[0] = 1;
	memcpy(v + 1, "CD001", 5);
	v[6] = 1;
	memset(v + 40, ' ', 32);
	memcpy(v + 40, "SYN", 3);
	cds_put_733(v + 80, nsec);
	cds_put_723(v + 128, SS);
	put_rec(v + 156, root, rsize, 2, "\0", 1);
	v = d + 17 * SS;
	v[0] = 255;
	memcpy(v + 1, "CD001", 5);
	v[6] = 1;
}

static void test_synthetic(void)
{
	enum { DEEP = 1100 };
	struct mem_source m = {{&mem_ops, 20 + DEEP}, NULL, 0};
	struct iso_reader *r;
	struct iso_node *n;
	size_t off;
	int rc;

	/* a chain of DEEP directories, each the only child of the last */
	m.size = (size_t)m.base.nsectors * SS;
	m.data = calloc(1, m.size);
	put_pvd(m.data, m.base.nsectors, 20, SS);
	for (uint32_t i = 0; i < DEEP; i++) {
		uint8_t *b = m.data + (size_t)(20 + i) * SS;

		off = put_rec(b, 20 + i, SS, 2, "\0", 1);
		off += put_rec(b + off, i ? 19 + i : 20, SS, 2, "\1", 1);
		if (i + 1 < DEEP)
			put_rec(b + off, 21 + i, SS, 2, "D", 1);
	}
	ok(iso_reader_open(&m.base, 0, NULL, &r) == 0, "synthetic deep disc");
	if (r) {
		is_str(iso_reader_volume_id(r), "SYN", "synthetic volume id");
		rc = iso_reader_load_all(r);
		expect(rc, "deeper than", "directory chain of 1100 levels");
		iso_reader_close(r);
	}
	/* overlapping directory extents: the root lists 600 directories,
	 * each starting one block after the last and running to the same
	 * end, so reading them all would be quadratic */
	memset(m.data, 0, m.size);
	put_pvd(m.data, m.base.nsectors, 20, 12 * SS);
	off = put_rec(m.data + 20 * SS, 20, 12 * SS, 2, "\0", 1);
	off += put_rec(m.data + 20 * SS + off, 20, 12 * SS, 2, "\1", 1);
	for (uint32_t k = 0; k < 600; k++) {
		char id[8];

		if (off % SS > SS - 40)
			off = (off / SS + 1) * SS;
		snprintf(id, sizeof(id), "D%u", k);
		off += put_rec(m.data + 20 * SS + off, 40 + k, (640 - k) * SS,
			       2, id, strlen(id));
	}
	if (iso_reader_open(&m.base, 0, NULL, &r) == 0) {
		rc = iso_reader_load_all(r);
		expect(rc, "overlapping", "overlapping directory extents");
		iso_reader_close(r);
	}
	/* a file of 101 sections */
	memset(m.data, 0, m.size);
	put_pvd(m.data, m.base.nsectors, 20, 4 * SS);
	off = put_rec(m.data + 20 * SS, 20, 4 * SS, 2, "\0", 1);
	off += put_rec(m.data + 20 * SS + off, 20, 4 * SS, 2, "\1", 1);
	for (int i = 0; i < 101; i++) {
		uint8_t *b = m.data + 20 * SS;

		if (off % SS > SS - 40)
			off = (off / SS + 1) * SS;
		off += put_rec(b + off, 30, 10, i < 100 ? 0x80 : 0, "F.;1", 4);
	}
	if (iso_reader_open(&m.base, 0, NULL, &r) == 0) {
		rc = iso_reader_load_all(r);
		expect(rc, "sections", "file of 101 sections");
		iso_reader_close(r);
	}
	/* 100 sections are fine and sum up */
	memset(m.data + 20 * SS, 0, 4 * SS);
	off = put_rec(m.data + 20 * SS, 20, 4 * SS, 2, "\0", 1);
	off += put_rec(m.data + 20 * SS + off, 20, 4 * SS, 2, "\1", 1);
	for (int i = 0; i < 100; i++) {
		uint8_t *b = m.data + 20 * SS;

		if (off % SS > SS - 40)
			off = (off / SS + 1) * SS;
		off += put_rec(b + off, 30, 10, i < 99 ? 0x80 : 0, "F.;1", 4);
	}
	if (iso_reader_open(&m.base, 0, NULL, &r) == 0) {
		is_int(iso_reader_load_all(r), 0, "file of 100 sections");
		ok(iso_reader_lookup(r, "/f", &n) == 0 && n->size == 1000 &&
		       n->nextents == 100,
		   "100 sections of 10 bytes: size 1000");
		iso_reader_close(r);
	}
	/* a session start past the medium, and one without descriptors */
	is_int(iso_reader_open(&m.base, m.base.nsectors - 3, NULL, &r),
	       -EUCLEAN, "session start near the end: EUCLEAN");
	is_int(iso_reader_open(&m.base, UINT32_MAX, NULL, &r), -EUCLEAN,
	       "session start UINT32_MAX: EUCLEAN");
	free(m.data);
}

/* genisoimage -R -J of 10k empty files in 100 directories; with CDS_SLOW
 * the 100k files in 1000 directories of the requirement (creating them
 * takes most of the time, not reading them). */
static void test_speed(void)
{
	const int MANY_DIRS = getenv("CDS_SLOW") ? 1000 : 100;
	struct cds_source *src;
	struct iso_reader *r;
	struct timespec t0, t1;
	char p[PATH_MAX];
	double ms;
	int rc, fd;

	snprintf(p, sizeof(p), "%s/many", tmp);
	mkdir(p, 0755);
	for (int d = 0; d < MANY_DIRS; d++) {
		snprintf(p, sizeof(p), "%s/many/d%d", tmp, d);
		mkdir(p, 0755);
		for (int f = 0; f < 100; f++) {
			snprintf(
			    p, sizeof(p),
			    "%s/many/d%d/file_with_a_longish_name_%05d.txt",
			    tmp, d, f);
			fd = open(p, O_WRONLY | O_CREAT, 0644);
			if (fd >= 0)
				close(fd);
		}
	}
	if (sh("genisoimage -quiet -R -J -o %s/many.iso %s/many 2>/dev/null && "
	       "rm -rf %s/many",
	       tmp, tmp, tmp) != 0 ||
	    open_file("many.iso", 0, NULL, &src, &r) < 0) {
		ok(0, "%d-file image", MANY_DIRS * 100);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = iso_reader_load_all(r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	is_int(rc, 0, "%d files: load_all", MANY_DIRS * 100);
	is_int(count_nodes(iso_reader_root(r)), MANY_DIRS * 101 + 1,
	       "every file and directory a node");
	/* a figure, not a threshold: timings do not belong in make check */
	printf("# load_all of %d files from a file in %.1f ms\n",
	       MANY_DIRS * 100, ms);
	close_file(src, r);
}

/* ---- small synthetic Rock Ridge discs ---- */

static size_t put_rec_su(uint8_t *p, uint32_t lba, uint32_t size, uint8_t flags,
			 const char *id, size_t idlen, const uint8_t *su,
			 size_t sulen)
{
	size_t len = put_rec(p, lba, size, flags, id, idlen);

	memcpy(p + len, su, sulen);
	p[0] = (uint8_t)(len + sulen);
	return len + sulen;
}

static size_t su_hdr(uint8_t *e, const char *sig, size_t len)
{
	e[0] = (uint8_t)sig[0];
	e[1] = (uint8_t)sig[1];
	e[2] = (uint8_t)len;
	e[3] = 1;
	return len;
}

static size_t su_sp_er(uint8_t *e)
{
	su_hdr(e, "SP", 7);
	e[4] = 0xBE;
	e[5] = 0xEF;
	e[6] = 0;
	su_hdr(e + 7, "ER", 18);
	e[11] = 10;
	e[12] = e[13] = 0;
	e[14] = 1;
	memcpy(e + 15, "RRIP_1991A", 10);
	return 25;
}

static size_t su_px(uint8_t *e, mode_t mode)
{
	memset(e, 0, 36);
	su_hdr(e, "PX", 36);
	cds_put_733(e + 4, mode);
	cds_put_733(e + 12, 1);
	return 36;
}

static size_t su_ce(uint8_t *e, uint32_t blk, uint32_t off, uint32_t len)
{
	su_hdr(e, "CE", 28);
	cds_put_733(e + 4, blk);
	cds_put_733(e + 12, off);
	cds_put_733(e + 20, len);
	return 28;
}

static size_t su_nm(uint8_t *e, uint8_t flags, char c, size_t n)
{
	su_hdr(e, "NM", 5 + n);
	e[4] = flags;
	memset(e + 5, c, n);
	return 5 + n;
}

/* A disc of @nsec blocks: PVD, terminator, root at 20 (@rblocks blocks)
 * whose "." carries SP and ER; returns the offset after "." and "..". */
static size_t rr_disc(struct mem_source *m, uint32_t nsec, uint32_t rblocks)
{
	uint8_t su[64];
	size_t off, n = su_sp_er(su);

	m->base.ops = &mem_ops;
	m->base.nsectors = nsec;
	m->size = (size_t)nsec * SS;
	free(m->data);
	m->data = calloc(1, m->size);
	put_pvd(m->data, nsec, 20, rblocks * SS);
	off =
	    put_rec_su(m->data + 20 * SS, 20, rblocks * SS, 2, "\0", 1, su, n);
	off += put_rec(m->data + 20 * SS + off, 20, rblocks * SS, 2, "\1", 1);
	return off;
}

static int rr_load(struct mem_source *m, struct iso_reader **out)
{
	struct iso_reader *r;
	int rc = iso_reader_open(&m->base, 0, NULL, &r);

	if (out)
		*out = NULL;
	if (rc < 0)
		return rc;
	if (iso_reader_kind(r) != ISO_TREE_ROCK_RIDGE) {
		iso_reader_close(r);
		return -EPROTO;
	}
	rc = iso_reader_load_all(r);
	if (rc < 0 || !out)
		iso_reader_close(r);
	else
		*out = r;
	return rc;
}

static void test_synthetic_rr(void)
{
	struct mem_source m = {{&mem_ops, 0}, NULL, 0};
	struct iso_reader *r;
	struct iso_node *n;
	uint8_t su[256], *ca;
	size_t off, k;
	int rc;

	/* the builder itself: a file with PX and NM reads */
	off = rr_disc(&m, 40, 1);
	k = su_px(su, S_IFREG | 0640);
	k += su_nm(su + k, 0, 'a', 10);
	put_rec_su(m.data + 20 * SS + off, 30, 0, 0, "A.;1", 4, su, k);
	rc = rr_load(&m, &r);
	is_int(rc, 0, "synthetic Rock Ridge disc");
	if (r) {
		ok(iso_reader_lookup(r, "/aaaaaaaaaa", &n) == 0 &&
		       n->mode == (S_IFREG | 0640),
		   "synthetic: NM name and PX mode");
		iso_reader_close(r);
	}

	/* NM continued through a CE to more than 255 bytes */
	off = rr_disc(&m, 40, 1);
	k = su_nm(su, 1, 'a', 180);
	k += su_ce(su + k, 30, 0, 200);
	put_rec_su(m.data + 20 * SS + off, 31, 0, 0, "A.;1", 4, su, k);
	su_nm(m.data + 30 * SS, 0, 'b', 100);
	expect(rr_load(&m, NULL), "NM name longer", "NM of 280 bytes");

	/* SL whose CE area continues in itself: the target outgrows
	 * PATH_MAX long before the CE chain cap */
	off = rr_disc(&m, 40, 1);
	k = su_px(su, S_IFLNK | 0777);
	k += su_ce(su + k, 30, 0, 2040);
	put_rec_su(m.data + 20 * SS + off, 0, 0, 0, "L.;1", 4, su, k);
	ca = m.data + 30 * SS;
	for (int i = 0; i < 8; i++) {
		uint8_t *e = ca + i * 247;

		su_hdr(e, "SL", 247);
		e[4] = 1;
		e[5] = 0;
		e[6] = 240;
		memset(e + 7, 's', 240);
	}
	su_ce(ca + 8 * 247, 30, 0, 2040);
	expect(rr_load(&m, NULL), "SL target longer", "SL beyond PATH_MAX");

	/* a CL whose target's "." record has a CL itself */
	off = rr_disc(&m, 40, 1);
	k = su_px(su, S_IFDIR | 0755);
	k += su_hdr(su + k, "CL", 12);
	cds_put_733(su + k - 8, 30);
	put_rec_su(m.data + 20 * SS + off, 0, 0, 0, "P.;1", 4, su, k);
	k = su_hdr(su, "CL", 12);
	cds_put_733(su + 4, 30);
	put_rec_su(m.data + 30 * SS, 30, SS, 2, "\0", 1, su, k);
	expect(rr_load(&m, NULL), "recursive", "CL in a CL target");

	/* a CL to a proper directory works and shows its "." attributes */
	k = su_px(su, S_IFDIR | 0710);
	put_rec_su(m.data + 30 * SS, 30, SS, 2, "\0", 1, su, k);
	put_rec(m.data + 30 * SS + 34 + k, 20, SS, 2, "\1", 1);
	rc = rr_load(&m, &r);
	is_int(rc, 0, "CL to a directory");
	if (r) {
		ok(iso_reader_lookup(r, "/p", &n) == 0 &&
		       n->mode == (S_IFDIR | 0710) && n->dir_lba == 30,
		   "CL placeholder shows the relocated directory");
		iso_reader_close(r);
	}

	/* CE chains jumping between two blocks on every record: reading
	 * stops at the budget instead of re-reading the medium */
	off = rr_disc(&m, 60, 30);
	ca = m.data + 55 * SS;
	su_ce(ca, 56, 0, 28);
	su_ce(m.data + 56 * SS, 57, 0, 4);
	su_hdr(m.data + 57 * SS, "ST", 4);
	for (k = 0; k < 800; k++) {
		char id[16];
		size_t l;

		snprintf(id, sizeof(id), "F%04zu.;1", k);
		l = su_ce(su, 55, 0, 28);
		if (off % SS > SS - 80)
			off = (off / SS + 1) * SS;
		off += put_rec_su(m.data + 20 * SS + off, 0, 0, 0, id,
				  strlen(id), su, l);
	}
	expect(rr_load(&m, NULL), "continuation blocks",
	       "CE reads over the budget");

	/* SP and PX but no ER, no Joliet: the entries are still honoured
	 * [reference 3.4] */
	off = rr_disc(&m, 40, 1);
	memset(m.data + 20 * SS, 0, 200);
	k = su_sp_er(su) - 18; /* SP only */
	k += su_px(su + k, S_IFDIR | 0700);
	off = put_rec_su(m.data + 20 * SS, 20, SS, 2, "\0", 1, su, k);
	off += put_rec(m.data + 20 * SS + off, 20, SS, 2, "\1", 1);
	k = su_px(su, S_IFREG | 0600);
	put_rec_su(m.data + 20 * SS + off, 30, 0, 0, "A.;1", 4, su, k);
	rc = rr_load(&m, &r);
	is_int(rc, 0, "SP without ER: Rock Ridge");
	if (r) {
		ok(iso_reader_lookup(r, "/a", &n) == 0 &&
		       n->mode == (S_IFREG | 0600),
		   "SP without ER: PX used");
		iso_reader_close(r);
	}
	(void)off;
	free(m.data);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "%s", tap_tmpdir());
	make_tree();
	test_genisoimage_rj();
	test_genisoimage_r();
	test_xorriso_hardlinks();
	test_joliet_only();
	test_plain_levels();
	test_multisession();
	test_multi_extent_patched();
	test_hostile();
	test_synthetic();
	test_synthetic_rr();
	test_speed();
	if (getenv("CDS_SLOW"))
		test_multi_extent_xorriso();
	return tap_done();
}
