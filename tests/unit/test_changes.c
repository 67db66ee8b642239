/*
 * test_changes.c - staging/changes: the list of what is staged over a
 * base session (every kind of change, moved disc directories with changes
 * inside, delete and recreate, hard links, attribute-only changes, changes
 * undone), its summary (count, new bytes with a hard link's data once)
 * and the commit's "anything staged?", which must agree with the list;
 * random operation sequences check them against each other and against an
 * independent comparison of the view with the base; a base read back from
 * a session burnt on a virtual disc; 100k staged entries (figures as
 * diagnostics).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/error.h"
#include "fs/commit.h"
#include "fs/medium.h"
#include "iso/node.h"
#include "mmc/emu.h"
#include "staging/changes.h"
#include "staging/discid.h"
#include "staging/overlay.h"
#include "staging/store.h"
#include "isotree.h"
#include "tap.h"

/* ---- the base tree ---- */

/*
 * /a.txt (5000)  /dir/b.bin (70000)  /dir/sub/c (10)  /dir/hl2 = /hl1
 * (a hard link, 100; /dir/hl2 is its first name in the overlay's walk)
 * /ln -> a.txt  /empty/  /docs/f00..f39 (10 each: a directory big enough
 * for the name index)
 */
static struct iso_node *make_base(void)
{
	struct iso_node *root = mk_node(NULL, "", S_IFDIR | 0755, 1, 0);
	char name[16];

	mk_node(root, "a.txt", S_IFREG | 0644, 10, 5000);
	struct iso_node *dir = mk_node(root, "dir", S_IFDIR | 0755, 11, 0);
	mk_node(dir, "b.bin", S_IFREG | 0600, 12, 70000);
	struct iso_node *sub = mk_node(dir, "sub", S_IFDIR | 0700, 13, 0);
	mk_node(sub, "c", S_IFREG | 0640, 14, 10);
	mk_node(dir, "hl2", S_IFREG | 0644, 15, 100)->nlink = 2;
	mk_node(root, "hl1", S_IFREG | 0644, 15, 100)->nlink = 2;
	iso_node_set_symlink(mk_node(root, "ln", S_IFLNK | 0777, 16, 5),
			     "a.txt");
	mk_node(root, "empty", S_IFDIR | 0755, 17, 0);
	struct iso_node *docs = mk_node(root, "docs", S_IFDIR | 0755, 18, 0);
	for (unsigned i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "f%02u", i);
		mk_node(docs, name, S_IFREG | 0644, 100 + i, 10);
	}
	return root;
}

static const unsigned char base_id[] = "changes base";

static struct stg_overlay *ov_open(const struct iso_node *base,
				   const char *name, struct stg_store **st)
{
	char dir[PATH_MAX];
	struct stg_overlay *ov = NULL;
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", tap_tmpdir(), name);
	rc = stg_store_open(dir, st);
	if (rc == 0)
		rc = stg_overlay_open(*st, base, base_id, sizeof(base_id),
				      tree_read, NULL, &ov);
	if (rc < 0) {
		printf("# open %s: %s\n", name, cds_errmsg(rc));
		stg_store_close(*st);
		*st = NULL;
	}
	return ov;
}

static void ov_close(struct stg_store *st, struct stg_overlay *ov)
{
	stg_overlay_close(ov);
	stg_store_close(st);
}

/* ---- staging by path ---- */

static uint64_t at(struct stg_overlay *ov, const char *path)
{
	uint64_t ino;
	return stg_lookup_path(ov, path, &ino) ? 0 : ino;
}

/* The parent's inode of @path ("/a/b"), its last name into @name. */
static int parent_of(struct stg_overlay *ov, const char *path, char *name,
		     uint64_t *dir)
{
	char buf[PATH_MAX];
	const char *slash = strrchr(path, '/');

	snprintf(buf, sizeof(buf), "%.*s", (int)(slash - path), path);
	snprintf(name, NAME_MAX + 1, "%s", slash + 1);
	return stg_lookup_path(ov, buf, dir);
}

static int put(struct stg_overlay *ov, const char *path, size_t size)
{
	char name[NAME_MAX + 1];
	uint8_t buf[4096];
	uint64_t dir, ino;
	int rc = parent_of(ov, path, name, &dir);

	if (rc == 0)
		rc = stg_create(ov, dir, name, S_IFREG | 0644, 0, 0, &ino);
	for (size_t off = 0; rc == 0 && off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? size - off : sizeof(buf);
		memset(buf, 'x', n);
		ssize_t w = stg_write(ov, ino, off, buf, n);
		rc = w < 0 ? (int)w : 0;
	}
	return rc;
}

static int mkd(struct stg_overlay *ov, const char *path)
{
	char name[NAME_MAX + 1];
	uint64_t dir;
	int rc = parent_of(ov, path, name, &dir);

	return rc ? rc : stg_mkdir(ov, dir, name, 0755, 0, 0, NULL);
}

static int rm(struct stg_overlay *ov, const char *path)
{
	char name[NAME_MAX + 1];
	uint64_t dir;
	int rc = parent_of(ov, path, name, &dir);

	return rc ? rc : stg_unlink(ov, dir, name);
}

static int rmd(struct stg_overlay *ov, const char *path)
{
	char name[NAME_MAX + 1];
	uint64_t dir;
	int rc = parent_of(ov, path, name, &dir);

	return rc ? rc : stg_rmdir(ov, dir, name);
}

static int mv(struct stg_overlay *ov, const char *from, const char *to,
	      unsigned flags)
{
	char n1[NAME_MAX + 1], n2[NAME_MAX + 1];
	uint64_t d1, d2;
	int rc = parent_of(ov, from, n1, &d1);

	if (rc == 0)
		rc = parent_of(ov, to, n2, &d2);
	return rc ? rc : stg_rename(ov, d1, n1, d2, n2, flags);
}

static int lnk(struct stg_overlay *ov, const char *from, const char *to)
{
	char name[NAME_MAX + 1];
	uint64_t dir, ino = at(ov, from);
	int rc = parent_of(ov, to, name, &dir);

	return rc ? rc : stg_link(ov, ino, dir, name);
}

static int set(struct stg_overlay *ov, const char *path, unsigned which,
	       mode_t mode, uid_t uid, time_t mtime)
{
	struct stg_attr a = {.mode = mode, .uid = uid};
	uint64_t ino;
	int rc = stg_lookup_path(ov, path, &ino);

	a.mtime.tv_sec = mtime;
	return rc ? rc : stg_setattr(ov, ino, &a, which);
}

static int wr(struct stg_overlay *ov, const char *path, uint64_t off,
	      const char *s)
{
	ssize_t w = stg_write(ov, at(ov, path), off, s, strlen(s));
	return w < 0 ? (int)w : 0;
}

/* ---- what the module says ---- */

/* The list as `cdsession staging list` prints it (without escapes). */
static char *list_str(struct stg_overlay *ov, const struct iso_node *base,
		      int *rc)
{
	struct stg_changes *ch = NULL;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	*rc = stg_changes_collect(ov, base, &ch);
	for (size_t i = 0; f && *rc == 0 && i < stg_changes_count(ch); i++) {
		const struct stg_change *c = stg_changes_at(ch, i);
		fprintf(f, "%-3s %s%s%s\n", c->flags, c->path,
			c->old_path ? " <- " : "",
			c->old_path ? c->old_path : "");
	}
	if (f)
		fclose(f);
	stg_changes_free(ch);
	return s ? s : strdup("(out of memory)");
}

static size_t lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static bool root_changed(struct stg_overlay *ov)
{
	const struct iso_node *b;
	unsigned ch = 0;
	return stg_origin(ov, STG_ROOT_INO, &b, &ch) == 0 && ch;
}

/* The list is @want (lines as printed), the summary counts its lines and
 * @bytes, and stg_changes_any() says @any. */
static void check(struct stg_overlay *ov, const struct iso_node *base,
		  const char *want, uint64_t bytes, bool any, const char *what)
{
	uint64_t n = 99, b = 99;
	bool ch = !any;
	int rc;
	char *got = list_str(ov, base, &rc);

	is_int(rc, 0, "%s: collect", what);
	is_str(got, want, "%s: the list", what);
	rc = stg_changes_summary(ov, base, &n, &b);
	is_int(rc, 0, "%s: summary", what);
	is_int(n, lines(want), "%s: summary counts %zu changes", what,
	       lines(want));
	is_int(b, bytes, "%s: %" PRIu64 " bytes of new data", what, bytes);
	rc = stg_changes_any(ov, base, &ch);
	is_int(rc, 0, "%s: any", what);
	ok(ch == any, "%s: anything staged: %s", what, any ? "yes" : "no");
	free(got);
}

/* ---- directed tests ---- */

static void test_nothing(struct iso_node *base)
{
	struct stg_store *st;
	struct stg_overlay *ov = ov_open(base, "nothing", &st);
	uint64_t ino;

	if (!ov) {
		ok(0, "open");
		return;
	}
	check(ov, base, "", 0, false, "nothing staged");
	/* undone: nothing either */
	int rc = put(ov, "/tmp", 3000);
	if (rc == 0)
		rc = rm(ov, "/tmp");
	if (rc == 0)
		rc = mkd(ov, "/d2");
	if (rc == 0)
		rc = put(ov, "/d2/f", 10);
	if (rc == 0)
		rc = rm(ov, "/d2/f");
	if (rc == 0)
		rc = rmd(ov, "/d2");
	is_int(rc, 0, "stage and undo: create, write, unlink, mkdir, rmdir");
	check(ov, base, "", 0, false, "created then deleted");
	/* a rename back and forth changes only the listing's order, which a
	 * session does not keep */
	rc = mv(ov, "/a.txt", "/z", 0);
	if (rc == 0)
		rc = mv(ov, "/z", "/a.txt", 0);
	if (rc == 0)
		rc = mv(ov, "/dir/sub", "/sub2", 0);
	if (rc == 0)
		rc = mv(ov, "/sub2", "/dir/sub", 0);
	if (rc == 0) /* two names of one base inode: a no-op */
		rc = mv(ov, "/hl1", "/dir/hl2", 0);
	is_int(rc, 0, "stage and undo: renames back");
	check(ov, base, "", 0, false, "renamed back");
	/* an attribute set to what it was */
	rc = set(ov, "/a.txt", STG_SET_MODE, 0644, 0, 0);
	if (rc == 0)
		rc = set(ov, "/dir/b.bin", STG_SET_MODE, 0755, 0, 0);
	if (rc == 0)
		rc = set(ov, "/dir/b.bin", STG_SET_MODE, 0600, 0, 0);
	/* a directory's times follow its entries: not a change */
	if (rc == 0)
		rc = set(ov, "/dir", STG_SET_MTIME, 0, 0, 1234567);
	is_int(rc, 0, "stage: chmod to the same mode, chmod back, dir mtime");
	check(ov, base, "", 0, false, "attributes as they were");
	/* a file unlinked and linked back under its base name, from its
	 * other name: the same inode at the same place */
	rc = rm(ov, "/hl1");
	if (rc == 0)
		rc = lnk(ov, "/dir/hl2", "/hl1");
	is_int(rc, 0, "stage: unlink a hard link, link it again");
	check(ov, base, "", 0, false, "hard link unlinked and linked back");
	ino = at(ov, "/hl1");
	ok(ino && ino == at(ov, "/dir/hl2"), "one inode under both names");
	ov_close(st, ov);
}

static void test_kinds(struct iso_node *base)
{
	struct stg_store *st;
	struct stg_overlay *ov = ov_open(base, "kinds", &st);

	if (!ov) {
		ok(0, "open");
		return;
	}
	int rc = put(ov, "/new.txt", 100);
	if (rc == 0)
		rc = wr(ov, "/a.txt", 10, "hello");
	if (rc == 0)
		rc = set(ov, "/dir/b.bin", STG_SET_MODE, 0640, 0, 0);
	if (rc == 0)
		rc = mv(ov, "/dir/sub/c", "/c2", 0);
	if (rc == 0)
		rc = rm(ov, "/ln");
	if (rc == 0)
		rc = mkd(ov, "/empty/n");
	if (rc == 0)
		rc = stg_symlink(ov, at(ov, "/empty/n"), "s", "../x", 0, 0,
				 NULL);
	if (rc == 0)
		rc = stg_mknod(ov, at(ov, "/empty/n"), "p", S_IFIFO | 0644, 0,
			       0, 0, NULL);
	if (rc == 0)
		rc = rm(ov, "/docs/f17");
	if (rc == 0)
		rc = wr(ov, "/docs/f03", 0, "x");
	is_int(rc, 0, "stage one change of each kind");
	/* new data: new.txt, and the whole of a.txt and f03 (copied up) */
	check(ov, base,
	      "Mm  /a.txt\n"
	      "R   /c2 <- /dir/sub/c\n"
	      "m   /dir/b.bin\n"
	      "Mm  /docs/f03\n"
	      "D   /docs/f17\n"
	      "A   /empty/n\n"
	      "A   /empty/n/p\n"
	      "A   /empty/n/s\n"
	      "D   /ln\n"
	      "A   /new.txt\n",
	      100 + 5000 + 10, true, "one of each kind");
	ov_close(st, ov);
}

static void test_moved(struct iso_node *base)
{
	struct stg_store *st;
	struct stg_overlay *ov = ov_open(base, "moved", &st);

	if (!ov) {
		ok(0, "open");
		return;
	}
	/* a disc directory renamed, with changes inside, and a new one
	 * where it was */
	int rc = mv(ov, "/dir", "/moved", 0);
	if (rc == 0)
		rc = wr(ov, "/moved/b.bin", 5, "abc");
	if (rc == 0)
		rc = rm(ov, "/moved/sub/c");
	if (rc == 0)
		rc = put(ov, "/moved/sub/new", 7);
	if (rc == 0)
		rc = mkd(ov, "/dir");
	if (rc == 0)
		rc = put(ov, "/dir/x", 3);
	is_int(rc, 0, "stage: move a directory, change inside, new one");
	check(ov, base,
	      "A   /dir\n"
	      "D   /dir/sub/c\n"
	      "A   /dir/x\n"
	      "R   /moved <- /dir\n"
	      "Mm  /moved/b.bin\n"
	      "A   /moved/sub/new\n",
	      70000 + 7 + 3, true, "moved directory");
	ov_close(st, ov);

	ov = ov_open(base, "moved2", &st);
	if (!ov) {
		ok(0, "open");
		return;
	}
	/* out of a directory that moves too, into a new directory */
	rc = mv(ov, "/dir/sub", "/top", 0);
	if (rc == 0)
		rc = mv(ov, "/dir", "/empty/dir", 0);
	if (rc == 0)
		rc = mkd(ov, "/n");
	if (rc == 0)
		rc = mv(ov, "/docs", "/n/docs2", 0);
	if (rc == 0)
		rc = rm(ov, "/n/docs2/f00");
	if (rc == 0)
		rc = set(ov, "/n/docs2/f39", STG_SET_MODE, 0600, 0, 0);
	is_int(rc, 0, "stage: nested moves");
	check(ov, base,
	      "D   /docs/f00\n"
	      "R   /empty/dir <- /dir\n"
	      "A   /n\n"
	      "R   /n/docs2 <- /docs\n"
	      "m   /n/docs2/f39\n"
	      "R   /top <- /dir/sub\n",
	      0, true, "nested moves");
	ov_close(st, ov);

	ov = ov_open(base, "exchange", &st);
	if (!ov) {
		ok(0, "open");
		return;
	}
	rc = mv(ov, "/docs/f01", "/docs/f02", STG_RENAME_EXCHANGE);
	is_int(rc, 0, "stage: exchange two files");
	check(ov, base,
	      "R   /docs/f01 <- /docs/f02\n"
	      "R   /docs/f02 <- /docs/f01\n",
	      0, true, "exchanged");
	ov_close(st, ov);
}

static void test_recreate(struct iso_node *base)
{
	struct stg_store *st;
	struct stg_overlay *ov = ov_open(base, "recreate", &st);

	if (!ov) {
		ok(0, "open");
		return;
	}
	int rc = rm(ov, "/a.txt");
	if (rc == 0)
		rc = put(ov, "/a.txt", 20);
	if (rc == 0)
		rc = rmd(ov, "/empty");
	if (rc == 0)
		rc = mkd(ov, "/empty");
	if (rc == 0)
		rc = rm(ov, "/dir/sub/c");
	if (rc == 0)
		rc = rmd(ov, "/dir/sub");
	if (rc == 0)
		rc = rm(ov, "/ln");
	if (rc == 0) /* the same target: still another inode */
		rc = stg_symlink(ov, STG_ROOT_INO, "ln", "a.txt", 0, 0, NULL);
	if (rc == 0) /* over another file */
		rc = mv(ov, "/docs/f01", "/docs/f02", 0);
	is_int(rc, 0, "stage: delete and recreate");
	check(ov, base,
	      "D   /a.txt\n"
	      "A   /a.txt\n"
	      "D   /dir/sub\n"
	      "D   /dir/sub/c\n"
	      "D   /docs/f02\n"
	      "R   /docs/f02 <- /docs/f01\n"
	      "D   /empty\n"
	      "A   /empty\n"
	      "D   /ln\n"
	      "A   /ln\n",
	      20, true, "deleted and made again");
	ov_close(st, ov);
}

static void test_links(struct iso_node *base)
{
	struct stg_store *st;
	struct stg_overlay *ov = ov_open(base, "links", &st);

	if (!ov) {
		ok(0, "open");
		return;
	}
	int rc = put(ov, "/n1", 3000);
	if (rc == 0)
		rc = lnk(ov, "/n1", "/n2");
	if (rc == 0)
		rc = mkd(ov, "/l");
	if (rc == 0)
		rc = lnk(ov, "/n1", "/l/n3");
	if (rc == 0) /* a base hard link's data: both names, once */
		rc = wr(ov, "/hl1", 0, "zz");
	if (rc == 0) /* a new name of a base file */
		rc = lnk(ov, "/a.txt", "/a2");
	is_int(rc, 0, "stage: hard links");
	check(ov, base,
	      "R   /a2 <- /a.txt\n"
	      "Mm  /dir/hl2\n"
	      "Mm  /hl1\n"
	      "A   /l\n"
	      "A   /l/n3\n"
	      "A   /n1\n"
	      "A   /n2\n",
	      3000 + 100, true, "hard links: data once");
	ov_close(st, ov);

	/* a base hard link losing either name, the one the overlay knows
	 * it by (/dir/hl2) included */
	static const struct {
		const char *rm, *mv, *want;
	} cases[] = {
	    {"/dir/hl2", NULL, "D   /dir/hl2\n"},
	    {"/hl1", NULL, "D   /hl1\n"},
	    {"/hl1", "/dir/hl2", "D   /dir/hl2\nD   /hl1\n"},
	    {NULL, "/dir/hl2", "R   /hx <- /dir/hl2\n"},
	    {NULL, "/hl1", "D   /hl1\nR   /hx <- /dir/hl2\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "hl%zu", i);
		ov = ov_open(base, name, &st);
		if (!ov) {
			ok(0, "open");
			return;
		}
		rc = cases[i].rm ? rm(ov, cases[i].rm) : 0;
		if (rc == 0 && cases[i].mv && cases[i].rm)
			rc = rm(ov, cases[i].mv);
		else if (rc == 0 && cases[i].mv)
			rc = mv(ov, cases[i].mv, "/hx", 0);
		is_int(rc, 0, "stage: base hard link case %zu", i);
		check(ov, base, cases[i].want, 0, true, name);
		ov_close(st, ov);
	}
}

static void test_attrs(struct iso_node *base)
{
	struct stg_store *st;
	struct stg_overlay *ov = ov_open(base, "attrs", &st);

	if (!ov) {
		ok(0, "open");
		return;
	}
	/* the root: "m /", a session records it */
	int rc = set(ov, "", STG_SET_MODE, 0700, 0, 0);
	is_int(rc, 0, "stage: chmod the root");
	check(ov, base, "m   /\n", 0, true, "root's permissions");
	rc = set(ov, "", STG_SET_MODE, 0755, 0, 0);
	is_int(rc, 0, "stage: chmod the root back");
	check(ov, base, "", 0, false, "root's permissions back");

	rc = set(ov, "/a.txt", STG_SET_MODE, 0600, 0, 0);
	if (rc == 0)
		rc = set(ov, "/dir/b.bin", STG_SET_UID, 0, 5, 0);
	if (rc == 0)
		rc = set(ov, "/dir/sub/c", STG_SET_MTIME, 0, 0, 2000000000);
	if (rc == 0)
		rc = set(ov, "/dir", STG_SET_MODE, 0700, 0, 0);
	if (rc == 0)
		rc = set(ov, "/docs", STG_SET_UID, 0, 7, 0);
	is_int(rc, 0, "stage: chmod, chown, utimens");
	check(ov, base,
	      "m   /a.txt\n"
	      "m   /dir\n"
	      "m   /dir/b.bin\n"
	      "m   /dir/sub/c\n"
	      "m   /docs\n",
	      0, true, "attributes only");
	ov_close(st, ov);
}

/* Paths longer than PATH_MAX: the list refuses, the others need none. */
static void test_deep(struct iso_node *base)
{
	struct stg_store *st;
	struct stg_overlay *ov = ov_open(base, "deep", &st);
	char name[48];
	uint64_t dir = STG_ROOT_INO, n = 0, bytes = 1;
	struct stg_changes *ch = NULL;
	bool any = false;
	int rc = 0;

	if (!ov) {
		ok(0, "open");
		return;
	}
	memset(name, 'd', 40);
	name[40] = '\0';
	for (unsigned i = 0; i < 150 && rc == 0; i++)
		rc = stg_mkdir(ov, dir, name, 0755, 0, 0, &dir);
	is_int(rc, 0, "stage: 150 nested directories of 40-byte names");
	rc = stg_changes_collect(ov, base, &ch);
	is_int(rc, -ENAMETOOLONG, "collect: path too long (%s)",
	       cds_errmsg(rc));
	ok(!ch, "collect: no list then");
	rc = stg_changes_summary(ov, base, &n, &bytes);
	is_int(rc, 0, "summary: no path limit");
	is_int(n, 150, "summary: 150 changes");
	is_int(bytes, 0, "summary: no data");
	rc = stg_changes_any(ov, base, &any);
	ok(rc == 0 && any, "any: yes");
	ov_close(st, ov);
}

/* ---- random sequences ---- */

#define MAXP 512
struct vpaths {
	char p[MAXP][256];
	mode_t mode[MAXP];
	size_t n;
};

struct vwalk {
	struct vpaths *ps;
	struct stg_overlay *ov;
	char path[256];
};

static void view_paths(struct vwalk *v, uint64_t dir);

static int vp_ent(void *ctx, const char *name, uint64_t ino, mode_t mode,
		  uint64_t next)
{
	struct vwalk *v = ctx;
	size_t len = strlen(v->path);
	(void)next;
	if (v->ps->n >= MAXP || len + strlen(name) + 2 > sizeof(v->path))
		return 0;
	snprintf(v->path + len, sizeof(v->path) - len, "/%s", name);
	snprintf(v->ps->p[v->ps->n], 256, "%s", v->path);
	v->ps->mode[v->ps->n++] = mode;
	if (S_ISDIR(mode))
		view_paths(v, ino);
	v->path[len] = '\0';
	return 0;
}

static void view_paths(struct vwalk *v, uint64_t dir)
{
	stg_readdir(v->ov, dir, 0, vp_ent, v);
}

/* A random path of the view of type @type (0: any); "" is the root. */
static const char *pick(struct tap_rng *r, const struct vpaths *ps, mode_t type)
{
	size_t cand[MAXP], n = 0;
	for (size_t i = 0; i < ps->n; i++)
		if (!type || (ps->mode[i] & S_IFMT) == type)
			cand[n++] = i;
	if (type == S_IFDIR && (n == 0 || tap_rnd(r, 4) == 0))
		return "";
	return n ? ps->p[cand[tap_rnd(r, (uint32_t)n)]] : NULL;
}

/* base names among them, so that names are deleted and made again */
static const char *const NAMES[] = {"a.txt", "dir", "sub", "c",	    "hl1",
				    "hl2",   "ln",  "f03", "empty", "x"};

/* How to take the last operation back: a sequence often does, so that
 * "nothing staged" and near misses (a rename back) come up often. */
enum undo_kind { U_NONE, U_UNLINK, U_RMDIR, U_RENAME, U_EXCHANGE, U_ATTR };
struct undo {
	enum undo_kind kind;
	char a[300], b[300];
	struct stg_attr attr;
	unsigned which;
};

static int take_back(struct stg_overlay *ov, const struct undo *u)
{
	switch (u->kind) {
	case U_UNLINK:
		return rm(ov, u->a);
	case U_RMDIR:
		return rmd(ov, u->a);
	case U_RENAME:
		return mv(ov, u->a, u->b, 0);
	case U_EXCHANGE:
		return mv(ov, u->a, u->b, STG_RENAME_EXCHANGE);
	case U_ATTR:
		return stg_setattr(ov, at(ov, u->a), &u->attr, u->which);
	default:
		return 0;
	}
}

/* Change an attribute of @p, remembering the old value in @u. */
static int set_attr(struct stg_overlay *ov, const char *p,
		    const struct stg_attr *a, unsigned which, struct undo *u)
{
	uint64_t ino;
	int rc = stg_lookup_path(ov, p, &ino);

	if (rc == 0)
		rc = stg_getattr(ov, ino, &u->attr);
	if (rc == 0)
		rc = stg_setattr(ov, ino, a, which);
	if (rc == 0) {
		u->kind = U_ATTR;
		u->which = which;
		snprintf(u->a, sizeof(u->a), "%s", p);
	}
	return rc;
}

/* One random operation through the overlay, how to take it back into
 * @u (@gentle: nothing that can not be taken back); failures (EEXIST,
 * ENOTEMPTY, ...) are part of the game. */
static void random_op(struct tap_rng *r, struct stg_overlay *ov, struct undo *u,
		      bool gentle, char *desc, size_t dcap)
{
	struct vpaths *ps;
	struct vwalk v = {.ov = ov};
	char to[300];
	const char *dir, *any, *reg;
	int op = (int)tap_rnd(r, 14), rc = 0;

	u->kind = U_NONE;
	/* gentle: only what can be taken back */
	if (gentle && (op == 2 || op == 3 || op == 7 || op == 8 || op == 9))
		op = 5;
	ps = malloc(sizeof(*ps));
	v.ps = ps;
	ps->n = 0;
	view_paths(&v, STG_ROOT_INO);
	dir = pick(r, ps, S_IFDIR);
	any = pick(r, ps, 0);
	reg = pick(r, ps, S_IFREG);
	snprintf(to, sizeof(to), "%s/%s", dir, NAMES[tap_rnd(r, 10)]);
	snprintf(desc, dcap, "op %d", op);
	switch (op) {
	case 0:
		snprintf(desc, dcap, "create %s", to);
		rc = put(ov, to, tap_rnd(r, 3) ? 0 : tap_rnd(r, 5000));
		if (rc == 0)
			*u = (struct undo){.kind = U_UNLINK};
		break;
	case 1:
		snprintf(desc, dcap, "mkdir %s", to);
		rc = mkd(ov, to);
		if (rc == 0)
			*u = (struct undo){.kind = U_RMDIR};
		break;
	case 2:
	case 3: {
		char name[NAME_MAX + 1];
		uint64_t d;
		snprintf(desc, dcap, "%s %s", op == 2 ? "symlink" : "mkfifo",
			 to);
		rc = parent_of(ov, to, name, &d);
		if (rc == 0 && op == 2)
			rc = stg_symlink(ov, d, name, "a.txt", 0, 0, NULL);
		else if (rc == 0)
			rc = stg_mknod(ov, d, name, S_IFIFO | 0644, 0, 0, 0,
				       NULL);
		break;
	}
	case 4:
		if (!reg)
			break;
		snprintf(desc, dcap, "link %s %s", reg, to);
		rc = lnk(ov, reg, to);
		if (rc == 0)
			*u = (struct undo){.kind = U_UNLINK};
		break;
	case 5:
	case 6: {
		uint32_t f = tap_rnd(r, 4);
		unsigned fl = f == 0   ? STG_RENAME_NOREPLACE
			      : f == 1 ? STG_RENAME_EXCHANGE
				       : 0;
		if (!any)
			break;
		if (fl == STG_RENAME_EXCHANGE && tap_rnd(r, 2))
			snprintf(to, sizeof(to), "%s", pick(r, ps, 0));
		snprintf(desc, dcap, "rename %s %s (%u)", any, to, fl);
		bool was = at(ov, to) != 0;
		if (gentle && was && fl != STG_RENAME_EXCHANGE)
			fl = STG_RENAME_NOREPLACE;
		rc = mv(ov, any, to, fl);
		if (rc == 0 && (fl == STG_RENAME_EXCHANGE || !was)) {
			*u = (struct undo){.kind = fl == STG_RENAME_EXCHANGE
						       ? U_EXCHANGE
						       : U_RENAME};
			snprintf(u->b, sizeof(u->b), "%s", any);
		}
		break;
	}
	case 7:
		if (!any)
			break;
		snprintf(desc, dcap, "unlink/rmdir %s", any);
		rc = rm(ov, any);
		if (rc == -EISDIR || rc == -EPERM)
			rc = rmd(ov, any);
		break;
	case 8:
		if (!reg)
			break;
		snprintf(desc, dcap, "write %s", reg);
		rc = wr(ov, reg, tap_rnd(r, 6000), "some bytes");
		break;
	case 9:
		if (!reg)
			break;
		struct stg_attr t = {.size = tap_rnd(r, 6000)};
		snprintf(desc, dcap, "truncate %s %" PRIu64, reg, t.size);
		rc = stg_setattr(ov, at(ov, reg), &t, STG_SET_SIZE);
		break;
	case 10:
	case 11: {
		static const mode_t modes[] = {0644, 0755, 0600, 0700, 0640};
		const char *p = tap_rnd(r, 8) && any ? any : "";
		struct stg_attr a = {.mode = modes[tap_rnd(r, 5)]};
		snprintf(desc, dcap, "chmod %s %o", p, (unsigned)a.mode);
		rc = set_attr(ov, p, &a, STG_SET_MODE, u);
		break;
	}
	case 12: {
		const char *p = any ? any : "";
		struct stg_attr a = {.uid = tap_rnd(r, 2) * 5};
		snprintf(desc, dcap, "chown %s %u", p, (unsigned)a.uid);
		rc = set_attr(ov, p, &a, STG_SET_UID, u);
		break;
	}
	case 13: {
		const char *p = any ? any : "";
		struct stg_attr a = {0};
		a.mtime.tv_sec = tap_rnd(r, 2) ? 1000000000 : 2000000000;
		snprintf(desc, dcap, "utimens %s %lld", p,
			 (long long)a.mtime.tv_sec);
		rc = set_attr(ov, p, &a, STG_SET_MTIME, u);
		break;
	}
	}
	if (rc == 0 && u->kind != U_NONE && u->kind != U_ATTR)
		snprintf(u->a, sizeof(u->a), "%s", to);
	if (rc)
		u->kind = U_NONE;
	free(ps);
}

static const struct iso_node *base_at(const struct iso_node *root,
				      const char *path)
{
	char buf[PATH_MAX], *save = NULL;
	const struct iso_node *n = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *t = strtok_r(buf, "/", &save); t && n;
	     t = strtok_r(NULL, "/", &save))
		n = iso_node_find_child(n, t);
	return n;
}

/* ---- an independent comparison of the view with the base ---- */

struct ents {
	char name[64][64];
	uint64_t ino[64];
	unsigned n;
	bool overflow;
};

static int ent_add(void *ctx, const char *name, uint64_t ino, mode_t mode,
		   uint64_t next)
{
	struct ents *e = ctx;
	(void)mode, (void)next;
	if (e->n == 64) {
		e->overflow = true;
		return 1;
	}
	snprintf(e->name[e->n], 64, "%s", name);
	e->ino[e->n++] = ino;
	return 0;
}

static bool node_differs(struct stg_overlay *ov, uint64_t ino,
			 const struct iso_node *b);

/* Does directory @dir of the view hold other names, or other files,
 * than base directory @b?  Attributes, data and symlink targets. */
static bool dir_differs(struct stg_overlay *ov, uint64_t dir,
			const struct iso_node *b)
{
	struct ents *e = malloc(sizeof(*e));
	bool d;

	e->n = 0;
	e->overflow = false;
	d = stg_readdir(ov, dir, 0, ent_add, e) != 0 || e->overflow ||
	    e->n != b->nchildren;
	for (unsigned i = 0; !d && i < e->n; i++) {
		const struct iso_node *c = iso_node_find_child(b, e->name[i]);
		d = !c || node_differs(ov, e->ino[i], c);
	}
	free(e);
	return d;
}

static bool node_differs(struct stg_overlay *ov, uint64_t ino,
			 const struct iso_node *b)
{
	struct stg_attr a;

	if (stg_getattr(ov, ino, &a) || a.mode != b->mode || a.uid != b->uid ||
	    a.gid != b->gid)
		return true;
	if (S_ISDIR(a.mode))
		return dir_differs(ov, ino, b);
	if (a.size != b->size || a.mtime.tv_sec != b->mtime.tv_sec ||
	    a.mtime.tv_nsec != b->mtime.tv_nsec || a.nlink != b->nlink)
		return true;
	if (S_ISLNK(a.mode)) {
		char t[256];
		return stg_readlink(ov, ino, t, sizeof(t)) < 0 || !b->symlink ||
		       strcmp(t, b->symlink) != 0;
	}
	if (!S_ISREG(a.mode))
		return false;
	uint8_t buf[8192];
	for (uint64_t off = 0; off < a.size;) {
		ssize_t n = stg_read(ov, ino, off, buf, sizeof(buf));
		if (n <= 0)
			return true;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != tree_byte(b->ino, off + (uint64_t)i))
				return true;
		off += (uint64_t)n;
	}
	return false;
}

/* The bytes of new data as staging_status counted them before (each
 * change in turn, a hard link skipped when an earlier change has its
 * inode): the oracle of the summary. */
static uint64_t naive_bytes(struct stg_overlay *ov,
			    const struct stg_changes *ch)
{
	uint64_t bytes = 0;
	size_t n = stg_changes_count(ch);

	for (size_t i = 0; i < n; i++) {
		const struct stg_change *c = stg_changes_at(ch, i);
		struct stg_attr a;
		bool counted = false;
		if ((c->flags[0] != 'A' && !strchr(c->flags, 'M')) ||
		    stg_getattr(ov, c->ino, &a) || !S_ISREG(a.mode))
			continue;
		for (size_t k = 0; a.nlink > 1 && k < i && !counted; k++)
			counted = stg_changes_at(ch, k)->ino == c->ino;
		if (!counted)
			bytes += a.size;
	}
	return bytes;
}

struct rstats {
	unsigned checks, clean, bad;
};

/* Everything the three answers must agree on, and the list's entries
 * against the view and the base. */
static void verify(struct stg_overlay *ov, const struct iso_node *base,
		   struct rstats *rs, const char *what)
{
	struct stg_changes *ch = NULL;
	uint64_t n = 0, bytes = 0;
	bool any = false, bad = false;
	int rc = stg_changes_collect(ov, base, &ch);

	if (rc == 0)
		rc = stg_changes_summary(ov, base, &n, &bytes);
	if (rc == 0)
		rc = stg_changes_any(ov, base, &any);
	size_t cnt = stg_changes_count(ch);
	if (rc || n != cnt || bytes != naive_bytes(ov, ch) ||
	    any != (cnt > 0 || root_changed(ov)))
		bad = true;
	for (size_t i = 0; !bad && i < cnt; i++) {
		const struct stg_change *c = stg_changes_at(ch, i);
		const struct iso_node *b = NULL;
		unsigned chg;
		if (i && strcmp(stg_changes_at(ch, i - 1)->path, c->path) > 0)
			bad = true;
		else if (c->flags[0] == 'D')
			bad = !base_at(base, c->path) || c->ino;
		else
			bad = at(ov, c->path) != c->ino ||
			      stg_origin(ov, c->ino, &b, &chg) ||
			      (c->flags[0] == 'A') != !b ||
			      (c->flags[0] == 'R' &&
			       (!c->old_path || !base_at(base, c->old_path)));
	}
	/* nothing staged: the view is the base, checked without the module */
	if (!bad && !any) {
		rs->clean++;
		bad = dir_differs(ov, STG_ROOT_INO, base);
	}
	if (bad && rs->bad++ < 5) {
		printf("# %s: rc %d count %" PRIu64 "/%zu bytes %" PRIu64
		       "/%" PRIu64 " any %d root %d\n",
		       what, rc, n, cnt, bytes, naive_bytes(ov, ch), any,
		       root_changed(ov));
		for (size_t i = 0; i < cnt; i++)
			printf("#   %-3s %s\n", stg_changes_at(ch, i)->flags,
			       stg_changes_at(ch, i)->path);
	}
	rs->checks++;
	stg_changes_free(ch);
}

static void test_random(struct iso_node *base)
{
	const char *env = getenv("CDS_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	unsigned seqs = getenv("CDS_SLOW") ? 3000 : 300, steps = 25;
	struct rstats rs = {0};
	unsigned bad_reopen = 0;

	printf("# random test seed %" PRIu64 " (CDS_SEED=%" PRIu64
	       " to repeat)\n",
	       seed, seed);
	for (unsigned q = 0; q < seqs; q++) {
		struct tap_rng r = {seed * 1000003u + q + 1};
		char name[64], desc[600], where[700];
		struct stg_store *st;
		snprintf(name, sizeof(name), "rnd%u", q);
		struct stg_overlay *ov = ov_open(base, name, &st);
		if (!ov) {
			rs.bad++;
			continue;
		}
		struct undo *u = calloc(steps, sizeof(*u));
		unsigned nu = 0;
		for (unsigned k = 0; k < steps; k++) {
			/* taking back in reverse order goes back to the base */
			if (nu && tap_rnd(&r, 2)) {
				nu--;
				snprintf(desc, sizeof(desc), "undo %d %s %s",
					 (int)u[nu].kind, u[nu].a, u[nu].b);
				take_back(ov, &u[nu]);
			} else {
				random_op(&r, ov, &u[nu], q % 2 == 0, desc,
					  sizeof(desc));
				nu += u[nu].kind != U_NONE;
			}
			snprintf(where, sizeof(where), "seq %u step %u (%s)", q,
				 k, desc);
			verify(ov, base, &rs, where);
		}
		free(u);
		/* the list is the journal's: the same after a replay */
		int rc1, rc2;
		char *before = list_str(ov, base, &rc1);
		stg_sync(ov);
		ov_close(st, ov);
		ov = ov_open(base, name, &st);
		char *after = ov ? list_str(ov, base, &rc2) : NULL;
		bad_reopen += !after || rc1 || rc2 || strcmp(before, after);
		free(before);
		free(after);
		if (ov)
			ov_close(st, ov);
		snprintf(where, sizeof(where), "rm -rf '%s/%s'", tap_tmpdir(),
			 name);
		if (system(where))
			break;
	}
	printf("# random: %u checks, %u with nothing staged\n", rs.checks,
	       rs.clean);
	is_int(rs.bad, 0,
	       "random: %u sequences: list, summary and any agree, and "
	       "'nothing' is the base",
	       seqs);
	ok(rs.clean > seqs / 10 && rs.clean < rs.checks,
	   "random: both answers occur (%u of %u nothing staged)", rs.clean,
	   rs.checks);
	is_int(bad_reopen, 0, "random: the same list after reopening");
}

/* ---- 100k staged entries ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BIG_BASE 20000u
#define NEW_DIRS 100u
#define NEW_PER	 1000u

/* /big/b00000..b19999 (100 bytes each) */
static struct iso_node *make_big_base(void)
{
	struct iso_node *root = mk_node(NULL, "", S_IFDIR | 0755, 1, 0);
	struct iso_node *big = mk_node(root, "big", S_IFDIR | 0755, 2, 0);
	char name[16];

	for (unsigned i = 0; i < BIG_BASE; i++) {
		snprintf(name, sizeof(name), "b%05u", i);
		mk_node(big, name, S_IFREG | 0644, 1000 + i, 100);
	}
	return root;
}

static void test_100k(void)
{
	struct iso_node *base = make_big_base();
	struct stg_store *st;
	struct stg_overlay *ov = ov_open(base, "big", &st);
	uint64_t want_n = 0, want_bytes = 0, n = 0, bytes = 0;
	uint64_t dir, ino, big = 0;
	char name[64], to[64];
	bool any = true;
	double t;
	int rc = 0;

	if (!ov) {
		ok(0, "open");
		iso_node_free(base);
		return;
	}
	t = now_s();
	rc = stg_changes_any(ov, base, &any);
	printf("# nothing staged over %u base files: any %.4f s\n", BIG_BASE,
	       now_s() - t);
	ok(rc == 0 && !any, "big base, nothing staged: any says no");
	t = now_s();
	rc = stg_changes_summary(ov, base, &n, &bytes);
	printf("# nothing staged over %u base files: summary %.4f s\n",
	       BIG_BASE, now_s() - t);
	ok(rc == 0 && n == 0 && bytes == 0, "and the summary says 0");

	t = now_s();
	/* 100 new directories of 1000 new files, one in 100 with data */
	for (unsigned d = 0; d < NEW_DIRS && rc == 0; d++) {
		snprintf(name, sizeof(name), "n%02u", d);
		rc = stg_mkdir(ov, STG_ROOT_INO, name, 0755, 0, 0, &dir);
		want_n++;
		for (unsigned f = 0; f < NEW_PER && rc == 0; f++) {
			snprintf(name, sizeof(name), "f%04u", f);
			rc = stg_create(ov, dir, name, S_IFREG | 0644, 0, 0,
					&ino);
			want_n++;
			if (rc == 0 && f % 100 == 0) {
				struct stg_attr a = {.size = 4096};
				rc = stg_setattr(ov, ino, &a, STG_SET_SIZE);
				want_bytes += 4096;
			}
		}
	}
	/* a second name for one file in 10 (those with data among them):
	 * data once; sorted after the first names, as a scan finds late */
	if (rc == 0)
		rc = mkd(ov, "/zlinks");
	want_n++;
	for (unsigned d = 0; d < NEW_DIRS && rc == 0; d++)
		for (unsigned f = 0; f < NEW_PER && rc == 0; f += 10) {
			snprintf(name, sizeof(name), "/n%02u/f%04u", d, f);
			snprintf(to, sizeof(to), "/zlinks/%02u-%04u", d, f);
			rc = lnk(ov, name, to);
			want_n++;
		}
	/* base files: chmod 5000, move 1000, delete 1000, write 100 */
	if (rc == 0)
		rc = mkd(ov, "/moved");
	want_n++;
	if (rc == 0)
		rc = stg_lookup_path(ov, "/big", &big);
	for (unsigned i = 0; i < 7100 && rc == 0; i++) {
		snprintf(name, sizeof(name), "/big/b%05u", i * 2);
		if (i < 5000) {
			rc = set(ov, name, STG_SET_MODE, 0600, 0, 0);
		} else if (i < 6000) {
			snprintf(to, sizeof(to), "/moved/b%05u", i * 2);
			rc = mv(ov, name, to, 0);
		} else if (i < 7000) {
			rc = rm(ov, name);
		} else {
			rc = wr(ov, name, 0, "x");
			want_bytes += 100;
		}
		want_n++;
	}
	printf("# staging %" PRIu64 " changes took %.2f s\n", want_n,
	       now_s() - t);
	is_int(rc, 0, "stage %" PRIu64 " changes", want_n);

	t = now_s();
	rc = stg_changes_summary(ov, base, &n, &bytes);
	printf("# %" PRIu64 " changes: summary %.4f s\n", n, now_s() - t);
	is_int(rc, 0, "100k: summary");
	is_int(n, want_n, "100k: every change counted");
	is_int(bytes, want_bytes, "100k: new data, hard links once");

	t = now_s();
	rc = stg_changes_any(ov, base, &any);
	printf("# %" PRIu64 " changes: any %.6f s\n", n, now_s() - t);
	ok(rc == 0 && any, "100k: any says yes");

	struct stg_changes *ch = NULL;
	t = now_s();
	rc = stg_changes_collect(ov, base, &ch);
	printf("# %" PRIu64 " changes: collect (sorted list) %.4f s\n", n,
	       now_s() - t);
	is_int(stg_changes_count(ch), want_n, "100k: the list has them all");
	/* what status did before: a scan of the earlier changes for each
	 * hard-linked one */
	t = now_s();
	uint64_t naive = rc == 0 ? naive_bytes(ov, ch) : 0;
	printf("# %" PRIu64 " changes: bytes the old quadratic way %.4f s\n", n,
	       now_s() - t);
	is_int(naive, bytes, "100k: the same bytes as the old way");
	stg_changes_free(ch);
	ov_close(st, ov);
	iso_node_free(base);
}

/* ---- a base burnt on a virtual disc and read back ---- */

struct disc {
	struct fs_medium *m;
	struct stg_store *st;
	struct iso_node *base;
	struct stg_overlay *ov;
};

static int disc_open(struct disc *d, const char *path, const char *sdir)
{
	int rc = fs_medium_open(path, FS_MEDIUM_WRITE | FS_MEDIUM_BLANK, &d->m);

	if (rc == 0)
		rc = stg_store_open(sdir, &d->st);
	if (rc == 0 && d->m->nsessions == 0) {
		d->base = mk_node(NULL, "", S_IFDIR | 0755, 0, 0);
		rc = d->base ? 0 : -ENOMEM;
	} else if (rc == 0) {
		rc = fs_medium_read_tree(d->m, d->m->last_start, &d->base);
	}
	if (rc == 0)
		rc = stg_overlay_open(d->st, d->base, d->m->base_id,
				      STG_BASE_ID_SIZE, fs_medium_read_file,
				      d->m, &d->ov);
	if (rc < 0)
		printf("# open %s: %s\n", path, cds_errmsg(rc));
	return rc;
}

static void disc_close(struct disc *d)
{
	if (d->ov)
		stg_sync(d->ov);
	stg_overlay_close(d->ov);
	iso_node_free(d->base);
	stg_store_close(d->st);
	fs_medium_close(d->m);
	memset(d, 0, sizeof(*d));
}

static void test_disc(void)
{
	char path[PATH_MAX], sdir[PATH_MAX];
	struct disc d = {0};
	struct fs_commit_result res;
	int rc;

	snprintf(path, sizeof(path), "%s/disc.cdr", tap_tmpdir());
	snprintf(sdir, sizeof(sdir), "%s/disc-store", tap_tmpdir());
	rc = mmc_emu_create(path, MMC_EMU_CDR80);
	if (rc == 0)
		rc = disc_open(&d, path, sdir);
	if (rc < 0) {
		ok(0, "virtual disc: %s", cds_errmsg(rc));
		disc_close(&d);
		return;
	}
	check(d.ov, d.base, "", 0, false, "blank disc");
	rc = mkd(d.ov, "/docs");
	if (rc == 0)
		rc = put(d.ov, "/docs/a.txt", 1000);
	if (rc == 0)
		rc = put(d.ov, "/docs/b.txt", 20);
	if (rc == 0)
		rc = mkd(d.ov, "/keep");
	if (rc == 0)
		rc = put(d.ov, "/keep/k", 5000);
	if (rc == 0)
		rc = lnk(d.ov, "/keep/k", "/keep/k2");
	if (rc == 0)
		rc = stg_symlink(d.ov, STG_ROOT_INO, "ln", "docs", 0, 0, NULL);
	is_int(rc, 0, "stage a tree on the blank disc");
	check(d.ov, d.base,
	      "A   /docs\n"
	      "A   /docs/a.txt\n"
	      "A   /docs/b.txt\n"
	      "A   /keep\n"
	      "A   /keep/k\n"
	      "A   /keep/k2\n"
	      "A   /ln\n",
	      1000 + 20 + 5000, true, "blank disc, a tree staged");
	rc = fs_commit(d.m, d.st, &d.ov, &d.base, NULL, &res);
	ok(rc == 0 && res.burnt, "burnt: %s", rc ? cds_errmsg(rc) : "ok");
	/* the session as the reader gives it back, hard link included */
	check(d.ov, d.base, "", 0, false, "just burnt");
	disc_close(&d);
	if (disc_open(&d, path, sdir) < 0) {
		ok(0, "reopen");
		disc_close(&d);
		return;
	}
	check(d.ov, d.base, "", 0, false, "reopened");
	const struct iso_node *k = base_at(d.base, "/keep/k");
	ok(k && k->nlink == 2 && k->ino, "the base has the hard link");
	/* each name of the burnt hard link */
	rc = rm(d.ov, "/keep/k");
	if (rc == 0)
		rc = mv(d.ov, "/docs", "/d2", 0);
	if (rc == 0)
		rc = wr(d.ov, "/d2/b.txt", 0, "new");
	is_int(rc, 0, "stage over the burnt session");
	check(d.ov, d.base,
	      "R   /d2 <- /docs\n"
	      "Mm  /d2/b.txt\n"
	      "D   /keep/k\n",
	      20, true, "over the burnt session");
	/* the same after a remount: the journal over the read-back tree */
	disc_close(&d);
	if (disc_open(&d, path, sdir) < 0) {
		ok(0, "reopen");
		disc_close(&d);
		return;
	}
	check(d.ov, d.base,
	      "R   /d2 <- /docs\n"
	      "Mm  /d2/b.txt\n"
	      "D   /keep/k\n",
	      20, true, "over the burnt session, remounted");
	rc = rm(d.ov, "/keep/k2");
	is_int(rc, 0, "stage: the other name too");
	check(d.ov, d.base,
	      "R   /d2 <- /docs\n"
	      "Mm  /d2/b.txt\n"
	      "D   /keep/k\n"
	      "D   /keep/k2\n",
	      20, true, "both names gone");
	disc_close(&d);
}

int main(void)
{
	struct iso_node *base = make_base();

	test_nothing(base);
	test_kinds(base);
	test_moved(base);
	test_recreate(base);
	test_links(base);
	test_attrs(base);
	test_deep(base);
	test_random(base);
	test_disc();
	test_100k();
	iso_node_free(base);
	return tap_done();
}
