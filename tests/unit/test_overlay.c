/*
 * test_overlay.c - staging/overlay: every operation, the POSIX corners,
 * persistence across reopen, the snapshot, and a model-based test that
 * applies random operation sequences both to the overlay and to a real
 * directory and compares them (CDS_SLOW=1: ten times as many sequences).
 * Also: the order of data and journal syncs (fdatasync, fsync and syncfs
 * are wrapped and logged), the data files' fan-out into subdirectories and
 * the removal of strays on open, RENAME_EXCHANGE, and directories of 100k
 * entries (figures as diagnostics) plus the name index under churn against
 * a plain model.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "iso/node.h"
#include "iso/writer.h"
#include "staging/journal.h"
#include "staging/overlay.h"
#include "staging/store.h"
#include "isotree.h"
#include "tap.h"

#define BIGDIR_N 100000u

/* ---- the base tree ---- */

static int base_reads;

static int read_base(void *ctx, const struct iso_node *n, uint64_t off,
		     void *buf, size_t len)
{
	base_reads++;
	return tree_read(ctx, n, off, buf, len);
}

/*
 * /a.txt (5000 bytes)  /dir/b.bin (70000)  /dir/sub/c (10)
 * /hl1 = /dir/hl2 (hard link, 100)  /ln -> a.txt  /empty/
 */
static struct iso_node *make_base(void)
{
	struct iso_node *root = mk_node(NULL, "", S_IFDIR | 0755, 1, 0);
	mk_node(root, "a.txt", S_IFREG | 0644, 10, 5000);
	struct iso_node *dir = mk_node(root, "dir", S_IFDIR | 0755, 11, 0);
	mk_node(dir, "b.bin", S_IFREG | 0600, 12, 70000);
	struct iso_node *sub = mk_node(dir, "sub", S_IFDIR | 0700, 13, 0);
	mk_node(sub, "c", S_IFREG | 0640, 14, 10);
	mk_node(root, "hl1", S_IFREG | 0644, 15, 100)->nlink = 2;
	mk_node(dir, "hl2", S_IFREG | 0644, 15, 100)->nlink = 2;
	struct iso_node *ln = mk_node(root, "ln", S_IFLNK | 0777, 16, 5);
	iso_node_set_symlink(ln, "a.txt");
	mk_node(root, "empty", S_IFDIR | 0755, 17, 0);
	for (uint32_t i = 0; i < root->nchildren; i++)
		root->children[i]->children_loaded = true;
	root->children_loaded = true;
	return root;
}

/* The same tree in a real directory. */
static void make_real_base(const char *top)
{
	char p[512];
	mkdir(top, 0755);
	chmod(top, 0755);
#define P(s) (snprintf(p, sizeof(p), "%s/%s", top, s), p)
	struct {
		const char *path;
		uint64_t serial, size;
		mode_t mode;
	} files[] = {{"a.txt", 10, 5000, 0644},
		     {"dir/b.bin", 12, 70000, 0600},
		     {"dir/sub/c", 14, 10, 0640},
		     {"hl1", 15, 100, 0644}};
	mkdir(P("dir"), 0755);
	mkdir(P("dir/sub"), 0700);
	mkdir(P("empty"), 0755);
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		int fd = open(P(files[f].path), O_WRONLY | O_CREAT | O_TRUNC,
			      files[f].mode);
		static uint8_t buf[70000];
		size_t sz = (size_t)files[f].size;
		for (size_t o = 0; o < sz; o++)
			buf[o] = tree_byte(files[f].serial, o);
		if (write(fd, buf, sz) != (ssize_t)sz)
			perror("write");
		close(fd);
	}
	char p2[512];
	snprintf(p2, sizeof(p2), "%s/hl1", top);
	if (link(p2, P("dir/hl2")))
		perror("link");
	if (symlink("a.txt", P("ln")))
		perror("symlink");
#undef P
}

static const unsigned char base_id[] = "test base 1";

static int open_ov(const char *dir, struct iso_node *base,
		   struct stg_store **st, struct stg_overlay **ov)
{
	int rc = stg_store_open(dir, st);
	if (rc)
		return rc;
	rc = stg_overlay_open(*st, base, base_id, sizeof(base_id), read_base,
			      NULL, ov);
	if (rc) {
		stg_store_close(*st);
		*st = NULL;
	}
	return rc;
}

static void close_ov(struct stg_store *st, struct stg_overlay *ov)
{
	stg_sync(ov);
	stg_overlay_close(ov);
	stg_store_close(st);
}

/* Resolve a path of the merged view ("" = root). */
static int resolve(struct stg_overlay *ov, const char *path, uint64_t *ino)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", path);
	*ino = STG_ROOT_INO;
	for (char *s = strtok(buf, "/"); s; s = strtok(NULL, "/")) {
		int rc = stg_lookup(ov, *ino, s, ino);
		if (rc)
			return rc;
	}
	return 0;
}

static int read_all(struct stg_overlay *ov, uint64_t ino, uint8_t *buf,
		    size_t cap)
{
	size_t got = 0;
	for (;;) {
		ssize_t r = stg_read(ov, ino, got, buf + got,
				     cap - got < 1000 ? cap - got : 1000);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return (int)got;
		got += (size_t)r;
	}
}

/* ---- the model-based comparison ---- */

#define MAXMAP 4096
struct cmp {
	uint64_t real[MAXMAP], ov[MAXMAP];
	size_t n;
	int bad;
	char where[512];
};

static void fail(struct cmp *c, const char *what, const char *path)
{
	if (c->bad++ < 5)
		printf("# %s: %s: %s\n", c->where, path, what);
}

static bool map_ino(struct cmp *c, uint64_t r, uint64_t o)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->real[i] == r || c->ov[i] == o)
			return c->real[i] == r && c->ov[i] == o;
	if (c->n < MAXMAP) {
		c->real[c->n] = r;
		c->ov[c->n++] = o;
	}
	return true;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct names {
	char *v[256];
	size_t n;
};

static int collect_ov(void *ctx, const char *name, uint64_t ino, mode_t mode,
		      uint64_t next)
{
	struct names *ns = ctx;
	(void)ino;
	(void)mode;
	(void)next;
	if (ns->n < 256)
		ns->v[ns->n++] = strdup(name);
	return 0;
}

static void compare_dir(struct cmp *c, struct stg_overlay *ov, const char *real,
			const char *rel, uint64_t dino)
{
	struct names rn = {{0}, 0}, on = {{0}, 0};
	DIR *d = opendir(real);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    rn.n < 256)
			rn.v[rn.n++] = strdup(de->d_name);
	if (d)
		closedir(d);
	if (stg_readdir(ov, dino, 0, collect_ov, &on))
		fail(c, "readdir failed", rel);
	qsort(rn.v, rn.n, sizeof(char *), cmp_names);
	qsort(on.v, on.n, sizeof(char *), cmp_names);
	if (rn.n != on.n)
		fail(c, "entry counts differ", rel);
	for (size_t i = 0; i < rn.n && i < on.n; i++) {
		char rp[1024], op[1024];
		if (strcmp(rn.v[i], on.v[i])) {
			snprintf(op, sizeof(op), "names differ: %s vs %s",
				 rn.v[i], on.v[i]);
			fail(c, op, rel);
			break;
		}
		snprintf(rp, sizeof(rp), "%s/%s", real, rn.v[i]);
		snprintf(op, sizeof(op), "%s/%s", rel, rn.v[i]);
		struct stat st;
		struct stg_attr a;
		uint64_t ino;
		if (lstat(rp, &st) || stg_lookup(ov, dino, on.v[i], &ino) ||
		    stg_getattr(ov, ino, &a)) {
			fail(c, "stat/lookup failed", op);
			continue;
		}
		if (st.st_mode != a.mode)
			fail(c, "modes differ", op);
		if (st.st_nlink != a.nlink)
			fail(c, "link counts differ", op);
		if (geteuid() == 0 &&
		    (st.st_uid != a.uid || st.st_gid != a.gid))
			fail(c, "owners differ", op);
		if (!map_ino(c, st.st_ino, ino))
			fail(c, "hard link identity differs", op);
		if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
			if ((uint64_t)st.st_size != a.size)
				fail(c, "sizes differ", op);
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size == a.size) {
			size_t sz = (size_t)st.st_size;
			uint8_t *x = malloc(sz + 1), *y = malloc(sz + 1);
			int fd = open(rp, O_RDONLY);
			ssize_t r = fd >= 0 ? read(fd, x, sz + 1) : -1;
			if (fd >= 0)
				close(fd);
			int g = read_all(ov, ino, y, sz + 1);
			if (r != (ssize_t)sz || g != (int)sz ||
			    memcmp(x, y, sz))
				fail(c, "contents differ", op);
			free(x);
			free(y);
		}
		if (S_ISLNK(st.st_mode)) {
			char t1[256] = "", t2[256] = "";
			ssize_t l = readlink(rp, t1, sizeof(t1) - 1);
			if (l >= 0)
				t1[l] = 0;
			stg_readlink(ov, ino, t2, sizeof(t2));
			if (strcmp(t1, t2))
				fail(c, "symlink targets differ", op);
		}
		if (S_ISDIR(st.st_mode) && S_ISDIR(a.mode))
			compare_dir(c, ov, rp, op, ino);
	}
	for (size_t i = 0; i < rn.n; i++)
		free(rn.v[i]);
	for (size_t i = 0; i < on.n; i++)
		free(on.v[i]);
}

static int compare_all(struct stg_overlay *ov, const char *real,
		       const char *where)
{
	static struct cmp c;
	c.n = 0;
	c.bad = 0;
	snprintf(c.where, sizeof(c.where), "%s", where);
	struct stat st;
	struct stg_attr a;
	if (lstat(real, &st) || stg_getattr(ov, STG_ROOT_INO, &a) ||
	    st.st_nlink != a.nlink || st.st_mode != a.mode)
		fail(&c, "root attributes differ", "/");
	compare_dir(&c, ov, real, "", STG_ROOT_INO);
	return c.bad;
}

/* ---- random operations, applied to both ---- */

struct paths {
	char v[512][256];
	mode_t mode[512];
	size_t n;
};

static void walk(const char *top, const char *rel, struct paths *ps)
{
	char p[600];
	snprintf(p, sizeof(p), "%s%s%s", top, *rel ? "/" : "", rel);
	DIR *d = opendir(p);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    ps->n >= 512)
			continue;
		char r[256], full[900];
		snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "",
			 de->d_name);
		snprintf(full, sizeof(full), "%s/%s", top, r);
		struct stat st;
		if (lstat(full, &st))
			continue;
		size_t i = ps->n++;
		snprintf(ps->v[i], sizeof(ps->v[i]), "%s", r);
		ps->mode[i] = st.st_mode;
		if (S_ISDIR(st.st_mode))
			walk(top, r, ps);
	}
	if (d)
		closedir(d);
}

/* A random path: of type @type (0 = any), or "" (the root) for dirs. */
static const char *pick(struct tap_rng *r, const struct paths *ps, mode_t type)
{
	size_t cand[513], n = 0;
	for (size_t i = 0; i < ps->n; i++)
		if (!type || (ps->mode[i] & S_IFMT) == type)
			cand[n++] = i;
	if (type == S_IFDIR && (n == 0 || tap_rnd(r, 4) == 0))
		return "";
	if (n == 0)
		return NULL;
	return ps->v[cand[tap_rnd(r, (uint32_t)n)]];
}

static void split(const char *path, char *parent, char *name)
{
	const char *s = strrchr(path, '/');
	if (!s) {
		parent[0] = 0;
		strcpy(name, path);
	} else {
		memcpy(parent, path, (size_t)(s - path));
		parent[s - path] = 0;
		strcpy(name, s + 1);
	}
}

static const char *const NAMES[] = {"a", "b", "c", "d", "e", "x"};

static unsigned model_exchanges; /* RENAME_EXCHANGEs that swapped */

/* Apply one random operation; returns 1 when the two disagree. */
static int random_op(struct tap_rng *r, struct stg_overlay *ov, const char *top,
		     char *desc, size_t dcap)
{
	struct paths *ps = malloc(sizeof(*ps));
	ps->n = 0;
	walk(top, "", ps);
	char parent[256], name[64], rp[700], rp2[700];
	const char *dir = pick(r, ps, S_IFDIR);
	snprintf(parent, sizeof(parent), "%s", dir);
	snprintf(name, sizeof(name), "%s", NAMES[tap_rnd(r, 6)]);
	snprintf(rp, sizeof(rp), "%s/%s%s%s", top, parent, *parent ? "/" : "",
		 name);
	uint64_t pino = 0, ino = 0;
	int orc = resolve(ov, parent, &pino), rrc = 0;
	int op = (int)tap_rnd(r, 12);
	const char *any = pick(r, ps, 0), *reg = pick(r, ps, S_IFREG);
	char sp[256], sparent[256], sname[64];
	uint64_t spino = 0;

	snprintf(desc, dcap, "op %d on %s/%s", op, parent, name);
	if (orc)
		goto out;
	switch (op) {
	case 0: {
		mode_t m = 0600 | tap_rnd(r, 0200);
		int fd = open(rp, O_CREAT | O_EXCL | O_WRONLY, m);
		rrc = fd < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		orc = stg_create(ov, pino, name, m, 0, 0, NULL);
		break;
	}
	case 1: {
		mode_t m = 0700 | tap_rnd(r, 0100);
		rrc = mkdir(rp, m) ? -errno : 0;
		orc = stg_mkdir(ov, pino, name, m, 0, 0, NULL);
		break;
	}
	case 2: {
		char t[32];
		snprintf(t, sizeof(t), "target%u", tap_rnd(r, 100));
		rrc = symlink(t, rp) ? -errno : 0;
		orc = stg_symlink(ov, pino, name, t, 0, 0, NULL);
		break;
	}
	case 3:
		rrc = mkfifo(rp, 0644) ? -errno : 0;
		orc = stg_mknod(ov, pino, name, S_IFIFO | 0644, 0, 0, 0, NULL);
		break;
	case 4: /* link */
	case 7: /* rename */
		if (!any)
			break;
		snprintf(sp, sizeof(sp), "%s", any);
		snprintf(desc, dcap, "op %d %s -> %s/%s", op, sp, parent, name);
		snprintf(rp2, sizeof(rp2), "%s/%s", top, sp);
		if ((orc = resolve(ov, sp, &ino)))
			break;
		if (op == 4) {
			rrc = link(rp2, rp) ? -errno : 0;
			orc = stg_link(ov, ino, pino, name);
		} else {
			uint32_t f = tap_rnd(r, 6);
			unsigned fl = f == 0   ? STG_RENAME_NOREPLACE
				      : f >= 4 ? STG_RENAME_EXCHANGE
					       : 0;
			const char *other = pick(r, ps, 0);
			if (fl == STG_RENAME_EXCHANGE && other &&
			    tap_rnd(r, 2)) {
				/* mostly with an existing entry */
				split(other, parent, name);
				snprintf(rp, sizeof(rp), "%s/%s", top, other);
				if ((orc = resolve(ov, parent, &pino)))
					break;
			}
			snprintf(desc, dcap, "op %d %s -> %s/%s (flags %u)", op,
				 sp, parent, name, fl);
			split(sp, sparent, sname);
			if ((orc = resolve(ov, sparent, &spino)))
				break;
			rrc = renameat2(AT_FDCWD, rp2, AT_FDCWD, rp, fl)
				  ? -errno
				  : 0;
			orc = stg_rename(ov, spino, sname, pino, name, fl);
			model_exchanges += fl == STG_RENAME_EXCHANGE && !rrc;
		}
		break;
	case 5:
	case 6:
		if (!any)
			break;
		snprintf(sp, sizeof(sp), "%s", any);
		snprintf(desc, dcap, "op %d %s", op, sp);
		snprintf(rp2, sizeof(rp2), "%s/%s", top, sp);
		split(sp, sparent, sname);
		if ((orc = resolve(ov, sparent, &spino)))
			break;
		rrc = (op == 5 ? unlink(rp2) : rmdir(rp2)) ? -errno : 0;
		orc = op == 5 ? stg_unlink(ov, spino, sname)
			      : stg_rmdir(ov, spino, sname);
		break;
	case 8:
	case 9:
	case 10:
		if (!reg)
			break;
		snprintf(sp, sizeof(sp), "%s", reg);
		snprintf(rp2, sizeof(rp2), "%s/%s", top, sp);
		if ((orc = resolve(ov, sp, &ino)))
			break;
		if (op == 8) {
			uint8_t buf[3000];
			uint32_t off = tap_rnd(r, 9000),
				 len = 1 + tap_rnd(r, 3000);
			for (uint32_t i = 0; i < len; i++)
				buf[i] = (uint8_t)tap_rnd(r, 256);
			snprintf(desc, dcap, "write %s %u+%u", sp, off, len);
			int fd = open(rp2, O_WRONLY);
			rrc = fd < 0 || pwrite(fd, buf, len, off) != len ? -EIO
									 : 0;
			if (fd >= 0)
				close(fd);
			ssize_t w = stg_write(ov, ino, off, buf, len);
			orc = w == (ssize_t)len ? 0 : -EIO;
		} else if (op == 9) {
			struct stg_attr a = {0};
			a.size = tap_rnd(r, 12000);
			snprintf(desc, dcap, "truncate %s %" PRIu64, sp,
				 a.size);
			rrc = truncate(rp2, (off_t)a.size) ? -errno : 0;
			orc = stg_setattr(ov, ino, &a, STG_SET_SIZE);
		} else if (geteuid() == 0 && tap_rnd(r, 3) == 0) {
			struct stg_attr a = {0};
			a.uid = tap_rnd(r, 3);
			a.gid = tap_rnd(r, 3);
			unsigned which = 1 + tap_rnd(r, 3);
			snprintf(desc, dcap, "chown %s %u:%u (%u)", sp, a.uid,
				 a.gid, which);
			rrc = lchown(rp2, which & 1 ? a.uid : (uid_t)-1,
				     which & 2 ? a.gid : (gid_t)-1)
				  ? -errno
				  : 0;
			orc = stg_setattr(ov, ino, &a,
					  (which & 1 ? STG_SET_UID : 0) |
					      (which & 2 ? STG_SET_GID : 0));
		} else {
			struct stg_attr a = {0};
			a.mode = 0600 | tap_rnd(r, 0200);
			snprintf(desc, dcap, "chmod %s %o", sp, a.mode);
			rrc = chmod(rp2, a.mode) ? -errno : 0;
			orc = stg_setattr(ov, ino, &a, STG_SET_MODE);
		}
		break;
	case 11:
		if (tap_rnd(r, 2) && (orc = resolve(ov, parent, &ino)) == 0)
			orc = stg_fsync(ov, ino, false);
		else
			orc = stg_sync(ov);
		break;
	}
out:
	free(ps);
	if (rrc != orc) {
		size_t l = strlen(desc);
		snprintf(desc + l, dcap - l, ": real %d overlay %d (%s)", rrc,
			 orc, orc ? cds_errmsg(orc) : "ok");
		return 1;
	}
	return 0;
}

static char *dump_all(struct stg_overlay *ov);

/* Bytes of the journal without its preallocated zeros. */
static off_t journal_size(const char *sdir)
{
	char p[300];
	snprintf(p, sizeof(p), "%s/journal", sdir);
	FILE *f = fopen(p, "rb");
	if (!f)
		return -1;
	off_t n = 0, used = 0;
	int c;
	while ((c = getc(f)) != EOF)
		if (++n, c)
			used = n;
	fclose(f);
	return used;
}

/* Compact: the merged view (dump) is the same before and after. */
static int compact_same(struct stg_overlay *ov)
{
	char *before = dump_all(ov);
	int rc = stg_overlay_compact(ov);
	char *after = dump_all(ov);
	if (!rc && strcmp(before, after))
		rc = -1;
	free(before);
	free(after);
	return rc;
}

static void model_test(struct iso_node *base, bool slow)
{
	const char *env = getenv("CDS_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	unsigned seqs = slow ? 4000 : 400, steps = 40;
	model_exchanges = 0;
	unsigned bad_ops = 0, bad_cmp = 0, bad_reopen = 0, compacted = 0,
		 bad_compact = 0;
	printf("# model test seed %" PRIu64 " (CDS_SEED=%" PRIu64
	       " to repeat)\n",
	       seed, seed);
	for (unsigned q = 0; q < seqs; q++) {
		struct tap_rng r = {seed * 1000003u + q + 1};
		char top[256], sdir[256], where[300], desc[512];
		snprintf(top, sizeof(top), "%s/real%u", tap_tmpdir(), q);
		snprintf(sdir, sizeof(sdir), "%s/store%u", tap_tmpdir(), q);
		make_real_base(top);
		struct stg_store *st;
		struct stg_overlay *ov;
		if (open_ov(sdir, base, &st, &ov)) {
			bad_ops++;
			continue;
		}
		/* every third sequence is compacted halfway and at the end,
		 * so that the model comparison covers compacted journals */
		bool compact = q % 3 == 0;
		for (unsigned k = 0; k < steps; k++) {
			if (compact && k == steps / 2) {
				compacted++;
				bad_compact += compact_same(ov) != 0;
			}
			if (random_op(&r, ov, top, desc, sizeof(desc))) {
				if (bad_ops++ < 8)
					printf("# seq %u step %u: %s\n", q, k,
					       desc);
				break;
			}
		}
		if (compact) {
			snprintf(where, sizeof(where), "seq %u before compact",
				 q);
			bad_cmp += compare_all(ov, top, where) != 0;
			bad_compact += compact_same(ov) != 0;
		}
		snprintf(where, sizeof(where), "seq %u", q);
		bad_cmp += compare_all(ov, top, where) != 0;
		close_ov(st, ov);
		if (open_ov(sdir, base, &st, &ov) == 0) {
			snprintf(where, sizeof(where), "seq %u reopened", q);
			bad_reopen += compare_all(ov, top, where) != 0;
			close_ov(st, ov);
		} else
			bad_reopen++;
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", top, sdir);
		if (system(cmd))
			break;
	}
	printf("# model test: %u successful RENAME_EXCHANGEs\n",
	       model_exchanges);
	is_int(bad_ops, 0, "model: %u sequences: every result matches", seqs);
	is_int(bad_cmp, 0, "model: merged view equals the real tree");
	is_int(bad_reopen, 0, "model: and still after a reopen");
	is_int(bad_compact, 0, "model: %u compactions keep the merged view",
	       compacted);
}

/* ---- directed tests ---- */

/* Regular files under @sdir/data, in its subdirectories too. */
static unsigned count_files_in(const char *p, int depth)
{
	DIR *d = opendir(p);
	unsigned n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char sub[512];
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", p, de->d_name);
		if (lstat(sub, &st))
			continue;
		if (S_ISDIR(st.st_mode) && depth < 2)
			n += count_files_in(sub, depth + 1);
		else
			n += !S_ISDIR(st.st_mode);
	}
	if (d)
		closedir(d);
	return n;
}

static unsigned count_data_files(const char *sdir)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/data", sdir);
	return count_files_in(p, 0);
}

/* The subdirectory of inode @ino's data file (overlay.h: data/XX/<ino>,
 * XX = (ino >> 7) & 0xff in hex). */
static unsigned data_sub(uint64_t ino)
{
	return (unsigned)((ino >> 7) & 0xff);
}

static void data_path(char *p, size_t cap, const char *sdir, uint64_t ino)
{
	snprintf(p, cap, "%s/data/%02x/%" PRIu64, sdir, data_sub(ino), ino);
}

static off_t data_file_size(const char *sdir, uint64_t ino)
{
	char p[512];
	struct stat st;
	data_path(p, sizeof(p), sdir, ino);
	return stat(p, &st) ? -1 : st.st_size;
}

static uint64_t ino_of(struct stg_overlay *ov, const char *path)
{
	uint64_t ino = 0;
	return resolve(ov, path, &ino) ? 0 : ino;
}

static bool is_pattern(const uint8_t *b, size_t len, uint64_t serial,
		       uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != tree_byte(serial, off + i))
			return false;
	return true;
}

/* A text dump of the merged view, to compare before and after reopen. */
struct dump {
	char *s;
	size_t len, cap;
	struct stg_overlay *ov;
};

static void dump_add(struct dump *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void dump_add(struct dump *d, const char *fmt, ...)
{
	va_list ap;
	char line[1024];
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (d->len + (size_t)n + 1 > d->cap) {
		d->cap = (d->len + (size_t)n + 1) * 2;
		d->s = realloc(d->s, d->cap);
	}
	memcpy(d->s + d->len, line, (size_t)n + 1);
	d->len += (size_t)n;
}

static void dump_dir(struct dump *d, uint64_t dir, const char *path);

static int dump_ent(void *ctx, const char *name, uint64_t ino, mode_t mode,
		    uint64_t next)
{
	struct dump *d = ((void **)ctx)[0];
	const char *path = ((void **)ctx)[1];
	struct stg_attr a;
	char p[512], t[256] = "";
	(void)mode;
	(void)next;
	stg_getattr(d->ov, ino, &a);
	uint32_t sum = 0;
	if (S_ISREG(a.mode)) {
		uint8_t buf[4096];
		for (uint64_t off = 0; off < a.size;) {
			ssize_t r = stg_read(d->ov, ino, off, buf, sizeof(buf));
			if (r <= 0)
				break;
			for (ssize_t i = 0; i < r; i++)
				sum = sum * 31 + buf[i];
			off += (uint64_t)r;
		}
	}
	if (S_ISLNK(a.mode))
		stg_readlink(d->ov, ino, t, sizeof(t));
	dump_add(d,
		 "%s/%s ino %" PRIu64
		 " mode %o uid %u gid %u nlink %u size %" PRIu64
		 " atime %lld.%09ld mtime %lld.%09ld ctime %lld.%09ld sum %08x "
		 "rdev %llx -> %s\n",
		 path, name, ino, (unsigned)a.mode, (unsigned)a.uid,
		 (unsigned)a.gid, a.nlink, a.size, (long long)a.atime.tv_sec,
		 a.atime.tv_nsec, (long long)a.mtime.tv_sec, a.mtime.tv_nsec,
		 (long long)a.ctime.tv_sec, a.ctime.tv_nsec, sum,
		 (unsigned long long)a.rdev, t);
	if (S_ISDIR(a.mode)) {
		snprintf(p, sizeof(p), "%s/%s", path, name);
		dump_dir(d, ino, p);
	}
	return 0;
}

static void dump_dir(struct dump *d, uint64_t dir, const char *path)
{
	void *ctx[2] = {d, (void *)path};
	stg_readdir(d->ov, dir, 0, dump_ent, ctx);
}

static char *dump_all(struct stg_overlay *ov)
{
	struct dump d = {NULL, 0, 0, ov};
	struct stg_attr a;
	stg_getattr(ov, STG_ROOT_INO, &a);
	dump_add(&d,
		 "root mode %o nlink %u mtime %lld.%09ld ctime %lld.%09ld\n",
		 (unsigned)a.mode, a.nlink, (long long)a.mtime.tv_sec,
		 a.mtime.tv_nsec, (long long)a.ctime.tv_sec, a.ctime.tv_nsec);
	dump_dir(&d, STG_ROOT_INO, "");
	return d.s;
}

struct stopper {
	unsigned n, stop_at;
	uint64_t last;
	char names[16][64];
};

static int stop_after(void *ctx, const char *name, uint64_t ino, mode_t mode,
		      uint64_t next)
{
	struct stopper *s = ctx;
	(void)ino;
	(void)mode;
	if (s->n < 16)
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	s->n++;
	s->last = next;
	return s->n == s->stop_at;
}

static void test_basics(struct iso_node *base)
{
	char sdir[256];
	snprintf(sdir, sizeof(sdir), "%s/basics", tap_tmpdir());
	struct stg_store *st;
	struct stg_overlay *ov;
	is_int(open_ov(sdir, base, &st, &ov), 0, "open a new overlay");
	uint64_t a = ino_of(ov, "a.txt"), h1 = ino_of(ov, "hl1"),
		 h2 = ino_of(ov, "dir/hl2"), ln = ino_of(ov, "ln");
	struct stg_attr at;
	is_int(stg_getattr(ov, STG_ROOT_INO, &at), 0, "getattr root");
	ok(S_ISDIR(at.mode) && at.nlink == 4, "root is a dir with 4 links");
	is_int(stg_getattr(ov, a, &at), 0, "getattr a.txt");
	ok(at.mode == (S_IFREG | 0644) && at.size == 5000 && at.nlink == 1,
	   "a.txt: mode, size and links from the base");
	ok(h1 && h1 == h2, "base hard links share one inode");
	is_int(stg_getattr(ov, h1, &at), 0, "getattr hl1");
	is_int(at.nlink, 2, "hl1 has 2 links");
	char t[64];
	is_int(stg_readlink(ov, ln, t, sizeof(t)), 5, "readlink ln");
	is_str(t, "a.txt", "ln's target");
	is_int(stg_readlink(ov, a, t, sizeof(t)), -EINVAL,
	       "readlink of a file");
	uint8_t buf[6000];
	is_int(stg_read(ov, a, 0, buf, sizeof(buf)), 5000, "read a.txt");
	ok(is_pattern(buf, 5000, 10, 0), "a.txt has its base content");
	is_int(stg_read(ov, a, 4990, buf, 100), 10, "short read at the end");
	is_int(stg_read(ov, a, 5000, buf, 100), 0, "read at the end: 0");
	is_int(stg_read(ov, STG_ROOT_INO, 0, buf, 1), -EISDIR,
	       "read of a directory");

	/* names */
	uint64_t ino;
	is_int(stg_lookup(ov, STG_ROOT_INO, "nothere", &ino), -ENOENT,
	       "lookup of a missing name");
	is_int(stg_lookup(ov, a, "x", &ino), -ENOTDIR,
	       "lookup in a regular file");
	const char *bad[] = {".", "..", "a/b", ""};
	for (size_t i = 0; i < 4; i++) {
		ok(stg_create(ov, STG_ROOT_INO, bad[i], 0644, 0, 0, NULL) < 0,
		   "create '%s' refused", bad[i]);
		ok(stg_mkdir(ov, STG_ROOT_INO, bad[i], 0755, 0, 0, NULL) < 0,
		   "mkdir '%s' refused", bad[i]);
		ok(stg_rename(ov, STG_ROOT_INO, "a.txt", STG_ROOT_INO, bad[i],
			      0) < 0,
		   "rename to '%s' refused", bad[i]);
		ok(stg_link(ov, a, STG_ROOT_INO, bad[i]) < 0,
		   "link as '%s' refused", bad[i]);
	}
	char longname[300];
	memset(longname, 'n', 256);
	longname[256] = 0;
	is_int(stg_create(ov, STG_ROOT_INO, longname, 0644, 0, 0, NULL),
	       -ENAMETOOLONG, "256-byte name refused");
	longname[255] = 0;
	is_int(stg_create(ov, STG_ROOT_INO, longname, 0644, 0, 0, NULL), 0,
	       "255-byte name accepted");
	is_int(stg_unlink(ov, STG_ROOT_INO, longname), 0, "and removed");

	/* create, write, read */
	uint64_t f;
	is_int(stg_create(ov, STG_ROOT_INO, "new", 0640, 12, 34, &f), 0,
	       "create new");
	ok(f > h1 && f > a, "new inode numbered after the base's");
	is_int(stg_create(ov, STG_ROOT_INO, "new", 0640, 0, 0, NULL), -EEXIST,
	       "create an existing name");
	is_int(stg_write(ov, f, 10, "hello", 5), 5, "write new");
	is_int(stg_read(ov, f, 0, buf, 100), 15, "read it back");
	ok(!memcmp(buf, "\0\0\0\0\0\0\0\0\0\0hello", 15),
	   "a hole reads as zeros");
	is_int(stg_getattr(ov, f, &at), 0, "getattr new");
	ok(at.uid == 12 && at.gid == 34 && at.mode == (S_IFREG | 0640) &&
	       at.size == 15,
	   "new: owner, mode, size");

	/* setattr */
	struct stg_attr sa = {0};
	sa.mode = 0600;
	sa.uid = 7;
	sa.gid = 8;
	sa.atime.tv_sec = 111;
	sa.mtime.tv_sec = 222;
	is_int(stg_setattr(ov, f, &sa,
			   STG_SET_MODE | STG_SET_UID | STG_SET_GID |
			       STG_SET_ATIME | STG_SET_MTIME),
	       0, "setattr");
	stg_getattr(ov, f, &at);
	ok(at.mode == (S_IFREG | 0600) && at.uid == 7 && at.gid == 8 &&
	       at.atime.tv_sec == 111 && at.mtime.tv_sec == 222,
	   "setattr: mode, owners, times");

	/* hard link to a base file, chmod one of them, no copy-up */
	int reads = base_reads;
	unsigned files = count_data_files(sdir);
	is_int(stg_link(ov, a, STG_ROOT_INO, "a-link"), 0, "link a.txt");
	is_int(stg_link(ov, STG_ROOT_INO, STG_ROOT_INO, "rootlink"), -EPERM,
	       "link to a directory refused");
	sa.mode = 0600;
	is_int(stg_setattr(ov, ino_of(ov, "a-link"), &sa, STG_SET_MODE), 0,
	       "chmod a-link");
	stg_getattr(ov, a, &at);
	ok(at.mode == (S_IFREG | 0600) && at.nlink == 2,
	   "a.txt sees the chmod, 2 links");
	sa.mode = 0604;
	is_int(stg_setattr(ov, h2, &sa, STG_SET_MODE), 0, "chmod dir/hl2");
	stg_getattr(ov, ino_of(ov, "hl1"), &at);
	ok(at.mode == (S_IFREG | 0604), "base hard link hl1 sees it");
	is_int(base_reads, reads, "no base data read for link and chmod");
	is_int(count_data_files(sdir), files, "no data file for them");

	/* rename of a base directory, then a change inside it */
	uint64_t dir = ino_of(ov, "dir");
	is_int(stg_rename(ov, STG_ROOT_INO, "dir", STG_ROOT_INO, "dir2", 0), 0,
	       "rename base dir");
	is_int(ino_of(ov, "dir"), 0, "old name gone");
	is_int(ino_of(ov, "dir2"), dir, "same inode under the new name");
	is_int(base_reads, reads, "renaming a base dir reads no data");
	uint64_t sub = ino_of(ov, "dir2/sub");
	is_int(stg_create(ov, sub, "inside", 0644, 0, 0, NULL), 0,
	       "create inside the renamed dir");
	is_int(stg_read(ov, ino_of(ov, "dir2/b.bin"), 60000, buf, 100), 100,
	       "read a base file in it");
	ok(is_pattern(buf, 100, 12, 60000), "its content is the base's");
	ok(ino_of(ov, "dir2/sub/inside") && ino_of(ov, "dir2/sub/c"),
	   "new and base children side by side");

	/* rename corners */
	uint64_t x;
	stg_create(ov, STG_ROOT_INO, "x", 0644, 0, 0, &x);
	stg_write(ov, x, 0, "xx", 2);
	is_int(stg_rename(ov, STG_ROOT_INO, "x", STG_ROOT_INO, "a.txt",
			  STG_RENAME_NOREPLACE),
	       -EEXIST, "NOREPLACE over an existing file");
	is_int(stg_rename(ov, STG_ROOT_INO, "x", STG_ROOT_INO, "a.txt", 0), 0,
	       "rename over a base file");
	is_int(ino_of(ov, "a.txt"), x, "a.txt is now x");
	stg_getattr(ov, ino_of(ov, "a-link"), &at);
	ok(at.nlink == 1 && at.size == 5000,
	   "the old a.txt lives on as a-link");
	is_int(stg_rename(ov, STG_ROOT_INO, "a.txt", STG_ROOT_INO, "empty", 0),
	       -EISDIR, "file over dir");
	is_int(stg_rename(ov, STG_ROOT_INO, "empty", STG_ROOT_INO, "a.txt", 0),
	       -ENOTDIR, "dir over file");
	is_int(stg_rename(ov, STG_ROOT_INO, "empty", STG_ROOT_INO, "dir2", 0),
	       -ENOTEMPTY, "dir over non-empty dir");
	is_int(stg_rename(ov, STG_ROOT_INO, "dir2", sub, "loop", 0), -EINVAL,
	       "dir into its own subtree");
	is_int(stg_rename(ov, STG_ROOT_INO, "dir2", dir, "loop", 0), -EINVAL,
	       "dir into itself");
	uint64_t e2;
	stg_mkdir(ov, STG_ROOT_INO, "e2", 0755, 0, 0, &e2);
	stg_getattr(ov, STG_ROOT_INO, &at);
	unsigned links = at.nlink;
	is_int(stg_rename(ov, STG_ROOT_INO, "e2", STG_ROOT_INO, "empty", 0), 0,
	       "dir over empty dir");
	stg_getattr(ov, STG_ROOT_INO, &at);
	is_int(at.nlink, links - 1, "root lost a link");
	is_int(ino_of(ov, "empty"), e2, "empty is e2 now");
	is_int(stg_rename(ov, STG_ROOT_INO, "hl1", dir, "hl2", 0), 0,
	       "rename onto another name of the same inode");
	ok(ino_of(ov, "hl1") && ino_of(ov, "dir2/hl2"),
	   "both names stay (POSIX)");
	is_int(stg_rename(ov, STG_ROOT_INO, "nope", STG_ROOT_INO, "z", 0),
	       -ENOENT, "rename of a missing name");
	is_int(stg_rename(ov, STG_ROOT_INO, "a.txt", STG_ROOT_INO, "a.txt", 4),
	       -EINVAL, "unsupported flags");

	/* unlink / rmdir */
	is_int(stg_rmdir(ov, STG_ROOT_INO, "dir2"), -ENOTEMPTY,
	       "rmdir non-empty");
	is_int(stg_rmdir(ov, STG_ROOT_INO, "a.txt"), -ENOTDIR,
	       "rmdir of a file");
	is_int(stg_unlink(ov, STG_ROOT_INO, "empty"), -EISDIR,
	       "unlink of a dir");
	is_int(stg_unlink(ov, STG_ROOT_INO, "nope"), -ENOENT,
	       "unlink of a missing name");

	/* delete then recreate with another type */
	is_int(stg_unlink(ov, STG_ROOT_INO, "ln"), 0, "unlink base symlink");
	uint64_t d2;
	is_int(stg_mkdir(ov, STG_ROOT_INO, "ln", 0700, 0, 0, &d2), 0,
	       "mkdir in its place");
	stg_getattr(ov, d2, &at);
	ok(S_ISDIR(at.mode) && d2 != ln, "ln is a new directory");
	is_int(stg_rmdir(ov, STG_ROOT_INO, "ln"), 0, "rmdir it");
	is_int(stg_symlink(ov, STG_ROOT_INO, "ln", "elsewhere", 0, 0, NULL), 0,
	       "and a symlink again");
	stg_readlink(ov, ino_of(ov, "ln"), t, sizeof(t));
	is_str(t, "elsewhere", "with the new target");
	is_int(stg_rmdir(ov, ino_of(ov, "dir2"), "sub"), -ENOTEMPTY,
	       "rmdir of a base dir with base children");
	is_int(stg_unlink(ov, sub, "c"), 0, "unlink base child");
	is_int(stg_unlink(ov, sub, "inside"), 0, "unlink new child");
	is_int(stg_rmdir(ov, ino_of(ov, "dir2"), "sub"), 0,
	       "now the base dir can go");

	/* mknod */
	uint64_t fifo, chr;
	is_int(
	    stg_mknod(ov, STG_ROOT_INO, "fifo", S_IFIFO | 0644, 0, 0, 0, &fifo),
	    0, "mkfifo");
	is_int(stg_mknod(ov, STG_ROOT_INO, "chr", S_IFCHR | 0600, makedev(1, 3),
			 0, 0, &chr),
	       0, "mknod chr");
	is_int(stg_mknod(ov, STG_ROOT_INO, "blk", S_IFBLK | 0600, makedev(8, 1),
			 0, 0, NULL),
	       0, "mknod blk");
	is_int(
	    stg_mknod(ov, STG_ROOT_INO, "bad", S_IFDIR | 0600, 0, 0, 0, NULL),
	    -EINVAL, "mknod of a directory refused");
	stg_getattr(ov, chr, &at);
	ok(S_ISCHR(at.mode) && at.rdev == makedev(1, 3), "chr: type, rdev");
	stg_getattr(ov, fifo, &at);
	ok(S_ISFIFO(at.mode), "fifo type");
	is_int(stg_write(ov, fifo, 0, "x", 1), -EINVAL, "write to a fifo");

	/* copy-up then truncate; truncating a base file copies only the
	 * kept part or nothing */
	uint64_t b = ino_of(ov, "dir2/b.bin");
	reads = base_reads;
	is_int(stg_write(ov, b, 100, "ABC", 3), 3, "write to base b.bin");
	ok(base_reads > reads, "copied up");
	is_int(data_file_size(sdir, b), 70000, "whole file copied");
	is_int(stg_read(ov, b, 98, buf, 7), 7, "read around the write");
	ok(buf[0] == tree_byte(12, 98) && !memcmp(buf + 2, "ABC", 3) &&
	       buf[5] == tree_byte(12, 103),
	   "old and new data");
	reads = base_reads;
	is_int(stg_write(ov, b, 0, "Z", 1), 1, "second write");
	is_int(base_reads, reads, "copied up only once");
	sa.size = 50;
	is_int(stg_setattr(ov, b, &sa, STG_SET_SIZE), 0, "truncate to 50");
	sa.size = 200;
	is_int(stg_setattr(ov, b, &sa, STG_SET_SIZE), 0, "extend to 200");
	is_int(stg_read(ov, b, 0, buf, 300), 200, "read 200");
	ok(buf[0] == 'Z' && is_pattern(buf + 1, 49, 12, 1) &&
	       !memcmp(buf + 50, (uint8_t[150]){0}, 150),
	   "kept part, then zeros");
	uint64_t h = ino_of(ov, "hl1");
	reads = base_reads;
	sa.size = 0;
	is_int(stg_setattr(ov, h, &sa, STG_SET_SIZE), 0,
	       "truncating open of a base file");
	is_int(base_reads, reads, "reads no base data");
	is_int(data_file_size(sdir, h), 0, "empty data file");
	stg_getattr(ov, ino_of(ov, "dir2/hl2"), &at);
	is_int(at.size, 0, "the other name sees the truncation");
	uint64_t al = ino_of(ov, "a-link");
	sa.size = 1000;
	is_int(stg_setattr(ov, al, &sa, STG_SET_SIZE), 0, "shrink a base file");
	is_int(data_file_size(sdir, al), 1000, "only the kept part copied");
	is_int(stg_read(ov, al, 0, buf, 2000), 1000, "read it");
	ok(is_pattern(buf, 1000, 10, 0), "kept part intact");
	is_int(stg_setattr(ov, STG_ROOT_INO, &sa, STG_SET_SIZE), -EISDIR,
	       "truncate a dir");

	/* readdir: stable order, resumable */
	struct stopper s1 = {0, 3, 0, {{0}}}, s2 = {0, 0, 0, {{0}}},
		       s3 = {0, 0, 0, {{0}}};
	stg_readdir(ov, STG_ROOT_INO, 0, stop_after, &s1);
	is_int(s1.n, 3, "readdir stops when asked");
	stg_readdir(ov, STG_ROOT_INO, s1.last, stop_after, &s2);
	stg_readdir(ov, STG_ROOT_INO, 0, stop_after, &s3);
	is_int(s1.n + s2.n, s3.n, "resuming lists the rest");
	ok(s3.n > 4 && !strcmp(s3.names[3], s2.names[0]), "in the same order");
	stg_unlink(ov, STG_ROOT_INO, s3.names[1]);
	struct stopper s4 = {0, 0, 0, {{0}}};
	stg_readdir(ov, STG_ROOT_INO, s1.last, stop_after, &s4);
	is_int(s4.n, s2.n, "a removal before the cookie does not shift it");
	is_int(stg_readdir(ov, a, 0, stop_after, &s4), -ENOTDIR,
	       "readdir of a file");

	/* fsync, sync; persistence */
	is_int(stg_fsync(ov, b, true), 0, "fsync");
	is_int(stg_sync(ov), 0, "sync");
	char *before = dump_all(ov);
	close_ov(st, ov);
	is_int(open_ov(sdir, base, &st, &ov), 0, "reopen");
	char *after = dump_all(ov);
	is_str(after, before, "merged view identical after reopen");
	free(before);
	free(after);
	/* and a change after reopen goes on from there */
	uint64_t late;
	is_int(stg_create(ov, STG_ROOT_INO, "late", 0644, 0, 0, &late), 0,
	       "create after reopen");
	ok(late > f, "inode numbers go on");

	/* snapshot */
	struct iso_node *snap = NULL;
	is_int(stg_snapshot(ov, &snap), 0, "snapshot");
	struct iso_node *sl = iso_node_find_child(snap, "a-link");
	struct iso_node *sd = iso_node_find_child(snap, "dir2");
	struct iso_node *sb = sd ? iso_node_find_child(sd, "b.bin") : NULL;
	struct iso_node *sx = iso_node_find_child(snap, "a.txt");
	ok(sl && sl->ino == 10 && sl->content && sl->nextents == 0 &&
	       sl->size == 1000,
	   "copied-up base file: base serial, new content");
	ok(sd && sd->ino == 11 && iso_node_is_dir(sd), "base dir keeps serial");
	ok(sb && sb->ino == 12 && sb->content, "b.bin has new content");
	ok(sx && sx->ino == 0 && sx->content, "new file: serial 0, content");
	if (sb && sb->content) {
		uint8_t c[4] = {0};
		sb->content->ops->read(sb->content, 0, c, 4);
		ok(c[0] == 'Z' && c[1] == tree_byte(12, 1),
		   "content reads the data file");
	}
	iso_node_free(snap);
	uint64_t n1;
	stg_create(ov, STG_ROOT_INO, "n1", 0644, 0, 0, &n1);
	stg_link(ov, n1, STG_ROOT_INO, "n2");
	stg_unlink(ov, STG_ROOT_INO, "chr");
	is_int(stg_snapshot(ov, &snap), 0, "snapshot again");
	struct iso_node *q1 = iso_node_find_child(snap, "n1"),
			*q2 = iso_node_find_child(snap, "n2"),
			*q3 = iso_node_find_child(snap, "dir2");
	ok(q1 && q2 && q1->ino == q2->ino && q1->ino > 17 && q1->nlink == 2,
	   "new hard links share a serial above the base's");
	ok(!iso_node_find_child(snap, "chr"), "deleted entry absent");
	struct iso_node *q4 = q3 ? iso_node_find_child(q3, "hl2") : NULL;
	ok(q4 && q4->ino == 15, "base hard link keeps its serial");
	/* the iso/ writer takes it (empty directories too): plans it and
	 * reads every new byte */
	struct iso_write_opts wo = {.start_lba = 30000, .now = 1};
	struct iso_writer *w = NULL;
	is_int(iso_writer_new(snap, &wo, &w), 0, "writer plans the snapshot");
	int wrc = -1;
	if (w) {
		uint32_t ns = iso_writer_nsectors(w);
		uint8_t *sec = malloc(2048 * 64);
		wrc = 0;
		for (uint32_t i = 0; i < ns && !wrc; i += 64)
			wrc = iso_writer_read(w, i, ns - i < 64 ? ns - i : 64,
					      sec);
		free(sec);
		iso_writer_free(w);
	}
	is_int(wrc, 0, "and produces every sector");
	iso_node_free(snap);
	close_ov(st, ov);

	/* another base session */
	static const unsigned char other[] = "another base";
	is_int(stg_store_open(sdir, &st), 0, "store open");
	int rc = stg_overlay_open(st, base, other, sizeof(other), read_base,
				  NULL, &ov);
	is_int(rc, -ESTALE, "journal of another base: -ESTALE");
	ok(strstr(cds_errmsg(rc), "another base") != NULL, "message: %s",
	   cds_errmsg(rc));
	stg_store_close(st);
}

/* ---- hostile journals ---- */

struct recs {
	uint8_t type[256];
	uint8_t *pay[256];
	size_t len[256];
	size_t n;
};

static int grab(void *ctx, uint8_t type, uint64_t seq, const void *p,
		size_t len)
{
	struct recs *r = ctx;
	(void)seq;
	if (r->n < 256) {
		r->type[r->n] = type;
		r->pay[r->n] = malloc(len ? len : 1);
		memcpy(r->pay[r->n], p, len);
		r->len[r->n++] = len;
	}
	return 0;
}

static int write_journal(const char *sdir, const struct recs *r)
{
	size_t cap = 64 + sizeof(base_id);
	for (size_t i = 0; i < r->n; i++)
		cap += r->len[i] + STG_JOURNAL_REC_OVERHEAD;
	uint8_t *buf = malloc(cap);
	size_t len = stg_journal_encode_header(buf, base_id, sizeof(base_id));
	for (size_t i = 0; i < r->n; i++)
		len += stg_journal_encode_record(buf + len, r->type[i], i + 1,
						 r->pay[i], r->len[i]);
	char p[512];
	snprintf(p, sizeof(p), "%s/journal", sdir);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int rc = fd >= 0 && write(fd, buf, len) == (ssize_t)len ? 0 : -EIO;
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static void test_hostile(struct iso_node *base)
{
	char sdir[256], p[512];
	snprintf(sdir, sizeof(sdir), "%s/hostile", tap_tmpdir());
	struct stg_store *st;
	struct stg_overlay *ov;
	/* a real journal with every record type */
	is_int(open_ov(sdir, base, &st, &ov), 0, "open");
	uint64_t f, d;
	stg_create(ov, STG_ROOT_INO, "f", 0644, 1, 2, &f);
	stg_write(ov, f, 0, "data", 4);
	stg_mkdir(ov, STG_ROOT_INO, "d", 0755, 0, 0, &d);
	stg_symlink(ov, d, "s", "target", 0, 0, NULL);
	stg_link(ov, f, d, "f2");
	stg_rename(ov, STG_ROOT_INO, "f", d, "f3", 0);
	struct stg_attr sa = {0};
	sa.size = 10;
	stg_setattr(ov, ino_of(ov, "a.txt"), &sa, STG_SET_SIZE);
	stg_unlink(ov, d, "f2");
	stg_mknod(ov, STG_ROOT_INO, "p", S_IFIFO | 0600, 0, 0, 0, NULL);
	is_int(
	    stg_rename(ov, d, "f3", STG_ROOT_INO, "dir", STG_RENAME_EXCHANGE),
	    0, "exchange across directories");
	is_int(stg_rename(ov, STG_ROOT_INO, "p", STG_ROOT_INO, "d",
			  STG_RENAME_EXCHANGE),
	       0, "exchange in one directory");
	char *before = dump_all(ov);
	close_ov(st, ov);

	snprintf(p, sizeof(p), "%s/journal", sdir);
	int fd = open(p, O_RDONLY);
	struct stat stt;
	fstat(fd, &stt);
	uint8_t *jbuf = malloc((size_t)stt.st_size);
	ok(read(fd, jbuf, (size_t)stt.st_size) == stt.st_size, "read journal");
	close(fd);
	struct recs orig = {{0}, {0}, {0}, 0};
	struct stg_journal_parse res;
	is_int(stg_journal_parse(jbuf, (size_t)stt.st_size, grab, &orig, &res),
	       0, "parse it");
	free(jbuf);
	ok(orig.n >= 9, "%zu records", orig.n);

	/* re-encoded unchanged it replays to the same view */
	is_int(write_journal(sdir, &orig), 0, "rewrite");
	is_int(open_ov(sdir, base, &st, &ov), 0, "reopen rewritten");
	char *after = dump_all(ov);
	is_str(after, before, "same view");
	free(after);
	close_ov(st, ov);

	/* a record naming a missing inode */
	struct recs bad = orig;
	uint8_t *m = malloc(orig.len[1]);
	memcpy(m, orig.pay[1], orig.len[1]);
	m[12] = 0xee; /* the write record's inode */
	bad.pay[1] = m;
	write_journal(sdir, &bad);
	is_int(stg_store_open(sdir, &st), 0, "store");
	int rc = stg_overlay_open(st, base, base_id, sizeof(base_id), read_base,
				  NULL, &ov);
	is_int(rc, -EUCLEAN, "bad record refused");
	ok(strstr(cds_errmsg(rc), "journal record 2") != NULL, "message: %s",
	   cds_errmsg(rc));
	stg_store_close(st);
	/* truncated payload */
	bad.len[1] = 15;
	write_journal(sdir, &bad);
	stg_store_open(sdir, &st);
	rc = stg_overlay_open(st, base, base_id, sizeof(base_id), read_base,
			      NULL, &ov);
	is_int(rc, -EUCLEAN, "truncated record refused: %s", cds_errmsg(rc));
	stg_store_close(st);
	free(m);

	/* the same state compacted: its records replay to the same view */
	struct recs comp = {{0}, {0}, {0}, 0};
	write_journal(sdir, &orig);
	if (open_ov(sdir, base, &st, &ov) == 0) {
		is_int(stg_overlay_compact(ov), 0, "compact it");
		close_ov(st, ov);
	}
	fd = open(p, O_RDONLY);
	fstat(fd, &stt);
	jbuf = malloc((size_t)stt.st_size);
	ok(read(fd, jbuf, (size_t)stt.st_size) == stt.st_size,
	   "read compacted journal");
	close(fd);
	stg_journal_parse(jbuf, (size_t)stt.st_size, grab, &comp, &res);
	free(jbuf);
	ok(comp.n >= 4 && comp.n < orig.n, "%zu compacted records", comp.n);
	is_int(open_ov(sdir, base, &st, &ov), 0, "reopen compacted");
	after = dump_all(ov);
	is_str(after, before, "same view");
	free(after);
	close_ov(st, ov);

	/* random mutations of the records, plain and compacted: never a
	 * crash */
	struct tap_rng r = {12345};
	unsigned opened = 0, refused = 0, trials = 1200;
	for (unsigned t = 0; t < trials; t++) {
		const struct recs *src = t % 2 ? &comp : &orig;
		struct recs x = *src;
		uint8_t *bufs[4] = {0};
		for (int k = 0; k < 4; k++) {
			size_t i = tap_rnd(&r, (uint32_t)src->n);
			size_t len = src->len[i];
			if (!bufs[k])
				bufs[k] = calloc(1, len + 8);
			memcpy(bufs[k], x.pay[i], len);
			switch (tap_rnd(&r, 4)) {
			case 0:
				bufs[k][tap_rnd(&r, (uint32_t)len)] ^=
				    (uint8_t)(1 + tap_rnd(&r, 255));
				break;
			case 1:
				bufs[k][tap_rnd(&r, (uint32_t)len)] =
				    (uint8_t)tap_rnd(&r, 4);
				break;
			case 2:
				len = tap_rnd(&r, (uint32_t)len + 8);
				break;
			default:
				x.type[i] = (uint8_t)(1 + tap_rnd(&r, 12));
			}
			x.pay[i] = bufs[k];
			x.len[i] = len;
		}
		if (tap_rnd(&r, 3) == 0) { /* shuffle two records */
			size_t i = tap_rnd(&r, (uint32_t)x.n),
			       j = tap_rnd(&r, (uint32_t)x.n);
			uint8_t *tp = x.pay[i];
			size_t tl = x.len[i];
			uint8_t ty = x.type[i];
			x.pay[i] = x.pay[j];
			x.len[i] = x.len[j];
			x.type[i] = x.type[j];
			x.pay[j] = tp;
			x.len[j] = tl;
			x.type[j] = ty;
		}
		write_journal(sdir, &x);
		if (stg_store_open(sdir, &st))
			break;
		rc = stg_overlay_open(st, base, base_id, sizeof(base_id),
				      read_base, NULL, &ov);
		if (rc == 0) {
			opened++;
			struct iso_node *snap;
			char *dmp = dump_all(ov);
			free(dmp);
			if (stg_snapshot(ov, &snap) == 0)
				iso_node_free(snap);
			stg_overlay_close(ov);
		} else if (rc == -EUCLEAN &&
			   strstr(cds_errmsg(rc), "journal record"))
			refused++;
		stg_store_close(st);
		for (int k = 0; k < 4; k++)
			free(bufs[k]);
	}
	is_int(opened + refused, trials,
	       "mutated journals: %u opened, %u refused with a message", opened,
	       refused);
	for (size_t i = 0; i < orig.n; i++)
		free(orig.pay[i]);
	for (size_t i = 0; i < comp.n; i++)
		free(comp.pay[i]);
	free(before);
}

static void test_pin(struct iso_node *base)
{
	char sdir[256];
	snprintf(sdir, sizeof(sdir), "%s/pin", tap_tmpdir());
	struct stg_store *st;
	struct stg_overlay *ov;
	if (open_ov(sdir, base, &st, &ov))
		return;
	uint64_t f, a = ino_of(ov, "a.txt");
	uint8_t buf[16];
	struct stg_attr at;
	stg_create(ov, STG_ROOT_INO, "tmp", 0644, 0, 0, &f);
	is_int(stg_pin(ov, f), 0, "pin an open file");
	is_int(stg_pin(ov, a), 0, "pin an open base file");
	stg_write(ov, f, 0, "abc", 3);
	is_int(stg_unlink(ov, STG_ROOT_INO, "tmp"), 0, "unlink it");
	is_int(stg_unlink(ov, STG_ROOT_INO, "a.txt"), 0,
	       "unlink the base file");
	is_int(stg_write(ov, f, 3, "def", 3), 3, "write after unlink");
	is_int(stg_read(ov, f, 0, buf, sizeof(buf)), 6, "read after unlink");
	ok(!memcmp(buf, "abcdef", 6), "both writes there");
	is_int(stg_write(ov, a, 0, "Q", 1), 1, "copy-up of a nameless file");
	is_int(stg_read(ov, a, 0, buf, 2), 2, "read it");
	ok(buf[0] == 'Q' && buf[1] == tree_byte(10, 1), "its data");
	is_int(stg_getattr(ov, f, &at), 0, "getattr");
	is_int(at.nlink, 0, "no links");
	is_int(stg_link(ov, f, STG_ROOT_INO, "back"), -ENOENT,
	       "no link to a nameless inode");
	stg_unpin(ov, f);
	is_int(stg_getattr(ov, f, &at), -ENOENT, "gone after the last unpin");
	is_int(stg_fsync(ov, a, false), 0, "fsync a nameless file");
	char *before = dump_all(ov);
	close_ov(st, ov);
	is_int(open_ov(sdir, base, &st, &ov), 0, "reopen: journal replays");
	char *after = dump_all(ov);
	is_str(after, before, "same view");
	is_int(count_data_files(sdir), 0, "their data files removed");
	free(before);
	free(after);
	close_ov(st, ov);
}

/* Writes @len bytes of file @k's content: its own bytes, so that a data
 * file read under another's name shows. */
static void fan_bytes(uint8_t *b, size_t len, unsigned k)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(k * 13 + i);
}

static void plant(const char *sdir, const char *rel, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/data/%s", sdir, rel);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static bool exists_in(const char *sdir, const char *rel)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/data/%s", sdir, rel);
	return lstat(p, &st) == 0;
}

/*
 * Data files fan out to data/XX/<ino> (XX = ino & 0xff in hex); open
 * removes what no live inode owns under its own name: orphans in the
 * subdirectories, a file in the wrong subdirectory, flat files left in
 * data/ by the layout before.
 */
static void test_fanout(struct iso_node *base)
{
	enum { N = 600, GONE = 100 };
	char sdir[256];
	struct stg_store *st;
	struct stg_overlay *ov;
	uint64_t ino[N];
	uint8_t want[64], got[64];
	snprintf(sdir, sizeof(sdir), "%s/fanout", tap_tmpdir());
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "fanout: open");
		return;
	}
	int rc = 0;
	for (unsigned k = 0; k < N && !rc; k++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "f%u", k);
		rc = stg_create(ov, STG_ROOT_INO, nm, 0644, 0, 0, &ino[k]);
		fan_bytes(want, 10 + k % 50, k);
		if (!rc && stg_write(ov, ino[k], 0, want, 10 + k % 50) !=
			       (ssize_t)(10 + k % 50))
			rc = -EIO;
	}
	rc = rc ? rc : stg_sync(ov);
	is_int(rc, 0, "fanout: %u files written and synced", N);
	unsigned placed = 0, subdirs = 0, most = 0, wrong = 0,
		 expect[256] = {0};
	for (unsigned k = 0; k < N; k++) {
		placed += data_file_size(sdir, ino[k]) == (off_t)(10 + k % 50);
		expect[data_sub(ino[k])]++;
	}
	for (unsigned x = 0; x < 256; x++) {
		char rel[8], p[512];
		snprintf(rel, sizeof(rel), "%02x", x);
		snprintf(p, sizeof(p), "%s/data/%s", sdir, rel);
		unsigned n = count_files_in(p, 1);
		subdirs += exists_in(sdir, rel);
		wrong += expect[x] != (exists_in(sdir, rel) ? n : 0);
		most = n > most ? n : most;
	}
	is_int(placed, N, "fanout: each at data/XX/<ino>");
	/* new inodes are consecutive: they span this many subdirectories */
	unsigned span = (unsigned)((ino[N - 1] >> 7) - (ino[0] >> 7) + 1);
	ok(!wrong && most <= 128 && subdirs == span &&
	       count_data_files(sdir) == N,
	   "fanout: 128 consecutive inodes to a subdirectory (%u "
	   "subdirectories of %u, %u files at most, %u with other files)",
	   subdirs, span, most, wrong);

	for (unsigned k = 0; k < GONE && !rc; k++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "f%u", k);
		rc = stg_unlink(ov, STG_ROOT_INO, nm);
	}
	rc = rc ? rc : stg_sync(ov);
	ok(!rc && count_data_files(sdir) == N - GONE &&
	       data_file_size(sdir, ino[0]) < 0,
	   "fanout: deleted files' data removed after the sync (%u left)",
	   count_data_files(sdir));
	close_ov(st, ov);

	/* strays: an orphan in a subdirectory, a live file's name in the
	 * wrong subdirectory, flat files of the layout before (one naming
	 * a live inode), junk; a non-canonical name of a live inode */
	uint64_t live = ino[GONE + 7];
	char rel[64];
	plant(sdir, "00/99999999", "orphan");
	snprintf(rel, sizeof(rel), "%02x/%" PRIu64, (data_sub(live) + 1) & 0xff,
		 live);
	plant(sdir, rel, "misplaced");
	char misplaced[64];
	snprintf(misplaced, sizeof(misplaced), "%s", rel);
	snprintf(rel, sizeof(rel), "%" PRIu64, live);
	plant(sdir, rel, "flat leftover");
	plant(sdir, "junk", "junk");
	char odd[64];
	snprintf(odd, sizeof(odd), "%02x/0%" PRIu64, data_sub(live), live);
	plant(sdir, odd, "non-canonical");
	is_int(count_data_files(sdir), N - GONE + 5,
	       "fanout: 5 strays planted");
	is_int(open_ov(sdir, base, &st, &ov), 0, "fanout: reopen");
	ok(count_data_files(sdir) == N - GONE && !exists_in(sdir, rel) &&
	       !exists_in(sdir, misplaced) && !exists_in(sdir, "junk") &&
	       !exists_in(sdir, odd) && !exists_in(sdir, "00/99999999"),
	   "fanout: open removed the strays (%u data files)",
	   count_data_files(sdir));
	unsigned good = 0;
	for (unsigned k = GONE; k < N; k++) {
		size_t len = 10 + k % 50;
		fan_bytes(want, len, k);
		memset(got, 0, sizeof(got));
		good +=
		    stg_read(ov, ino[k], 0, got, sizeof(got)) == (ssize_t)len &&
		    !memcmp(got, want, len);
	}
	is_int(good, N - GONE, "fanout: every live file reads its own data");
	close_ov(st, ov);
}

static void test_depth(struct iso_node *base)
{
	char sdir[256];
	snprintf(sdir, sizeof(sdir), "%s/depth", tap_tmpdir());
	struct stg_store *st;
	struct stg_overlay *ov;
	if (open_ov(sdir, base, &st, &ov))
		return;
	uint64_t d = STG_ROOT_INO, top = 0;
	int rc = 0;
	unsigned made = 0;
	while (!rc && made < 3000) {
		rc = stg_mkdir(ov, d, "d", 0755, 0, 0, &d);
		made += !rc;
		if (made == 1)
			top = d;
	}
	is_int(made, 2048, "directories nest 2048 levels deep");
	is_int(rc, -ELOOP, "and no deeper");
	uint64_t side;
	stg_mkdir(ov, STG_ROOT_INO, "side", 0755, 0, 0, &side);
	is_int(stg_rename(ov, STG_ROOT_INO, "d", side, "d", 0), -ELOOP,
	       "moving the chain one level down is refused");
	stg_create(ov, side, "f", 0644, 0, 0, NULL);
	is_int(
	    stg_rename(ov, STG_ROOT_INO, "d", side, "f", STG_RENAME_EXCHANGE),
	    -ELOOP, "exchanging it one level down is refused");
	is_int(
	    stg_rename(ov, side, "f", STG_ROOT_INO, "d", STG_RENAME_EXCHANGE),
	    -ELOOP, "and the other way round");
	is_int(stg_rename(ov, STG_ROOT_INO, "d", STG_ROOT_INO, "side",
			  STG_RENAME_EXCHANGE),
	       0, "exchanging it at its own level is fine");
	(void)top;
	struct iso_node *snap;
	is_int(stg_snapshot(ov, &snap), 0, "snapshot of the deep tree");
	iso_node_free(snap);
	close_ov(st, ov);
}

/* ---- kill -9 ---- */

static uint8_t crash_byte(unsigned id, size_t off)
{
	return (uint8_t)(id * 13 + off * 3);
}

static size_t crash_len(unsigned id)
{
	return 100 + id * 37 % 5000;
}

/* The child: creates, writes and fsyncs files, renames some, and tells
 * the parent through @fd what is durable ("C id", "R id" before a rename,
 * "D id" after its fsync). */
static void crash_child(const char *sdir, struct iso_node *base, int fd,
			bool compact)
{
	struct stg_store *st;
	struct stg_overlay *ov;
	uint64_t dirs[4], inos[4096];
	uint8_t buf[5200];
	char name[32], line[32];
	if (open_ov(sdir, base, &st, &ov))
		_exit(2);
	for (int k = 0; k < 4; k++) {
		snprintf(name, sizeof(name), "d%d", k);
		if (stg_mkdir(ov, STG_ROOT_INO, name, 0755, 0, 0, &dirs[k]))
			_exit(3);
	}
	stg_sync(ov);
	for (unsigned i = 0; i < 4096; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		if (stg_create(ov, dirs[i % 4], name, 0644, 0, 0, &inos[i]))
			_exit(4);
		size_t len = crash_len(i);
		for (size_t o = 0; o < len; o++)
			buf[o] = crash_byte(i, o);
		if (stg_write(ov, inos[i], 0, buf, len) != (ssize_t)len)
			_exit(5);
		if (i % 3 == 0)
			stg_sync(ov); /* group commit: no promise */
		if (compact && i % 16 == 15 && stg_overlay_compact(ov))
			_exit(9);
		if (i % 2 == 0) {
			if (stg_fsync(ov, inos[i], false))
				_exit(6);
			int n = snprintf(line, sizeof(line), "C %u\n", i);
			if (write(fd, line, (size_t)n) != n)
				_exit(7);
		}
		if (i % 10 == 4) {
			unsigned j = i - 4; /* fsynced earlier */
			int n = snprintf(line, sizeof(line), "R %u\n", j);
			if (write(fd, line, (size_t)n) != n)
				_exit(7);
			char o[32], g[32];
			snprintf(o, sizeof(o), "f%u", j);
			snprintf(g, sizeof(g), "g%u", j);
			if (stg_rename(ov, dirs[j % 4], o, dirs[j % 4], g, 0) ||
			    stg_fsync(ov, inos[j], false))
				_exit(8);
			n = snprintf(line, sizeof(line), "D %u\n", j);
			if (write(fd, line, (size_t)n) != n)
				_exit(7);
		}
	}
	_exit(0);
}

static bool file_ok(struct stg_overlay *ov, uint64_t dir, const char *name,
		    unsigned id)
{
	uint64_t ino;
	static uint8_t buf[5200];
	if (stg_lookup(ov, dir, name, &ino))
		return false;
	size_t len = crash_len(id);
	if (read_all(ov, ino, buf, sizeof(buf)) != (int)len)
		return false;
	for (size_t o = 0; o < len; o++)
		if (buf[o] != crash_byte(id, o))
			return false;
	return true;
}

static void test_crash(struct iso_node *base, bool slow, bool compact)
{
	unsigned trials = slow	    ? 200
			  : compact ? 15
				    : 20,
		 bad = 0, checked = 0, opened = 0;
	struct tap_rng r = {(uint64_t)time(NULL) | 1};
	for (unsigned t = 0; t < trials; t++) {
		char sdir[256];
		snprintf(sdir, sizeof(sdir), "%s/crash%s%u", tap_tmpdir(),
			 compact ? "c" : "", t);
		int pfd[2];
		if (pipe(pfd))
			break;
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			crash_child(sdir, base, pfd[1], compact);
		}
		close(pfd[1]);
		usleep(2000 + tap_rnd(&r, 60000));
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		static char state[4096]; /* 0 none, 'C', 'R', 'D' */
		memset(state, 0, sizeof(state));
		FILE *f = fdopen(pfd[0], "r");
		char c;
		unsigned id;
		while (f && fscanf(f, " %c %u", &c, &id) == 2)
			if (id < sizeof(state))
				state[id] = c;
		if (f)
			fclose(f);
		struct stg_store *st;
		struct stg_overlay *ov;
		if (open_ov(sdir, base, &st, &ov)) {
			bad++;
			printf("# trial %u: reopen failed\n", t);
			continue;
		}
		opened++;
		uint64_t dirs[4] = {0};
		for (int k = 0; k < 4; k++) {
			char dn[8];
			snprintf(dn, sizeof(dn), "d%d", k);
			stg_lookup(ov, STG_ROOT_INO, dn, &dirs[k]);
		}
		for (unsigned i = 0; i < sizeof(state); i++) {
			if (!state[i])
				continue;
			char fn[32], gn[32];
			snprintf(fn, sizeof(fn), "f%u", i);
			snprintf(gn, sizeof(gn), "g%u", i);
			bool okf = file_ok(ov, dirs[i % 4], fn, i),
			     okg = file_ok(ov, dirs[i % 4], gn, i);
			bool good = state[i] == 'C'   ? okf
				    : state[i] == 'R' ? okf != okg
						      : okg && !okf;
			checked++;
			if (!good && bad++ < 5)
				printf("# trial %u: file %u (%c) lost\n", t, i,
				       state[i]);
		}
		close_ov(st, ov);
	}
	const char *what = compact ? " during compactions" : "";
	is_int(opened, trials, "kill -9%s: %u trials reopen", what, trials);
	is_int(bad, 0, "kill -9%s: all %u fsynced files intact", what, checked);
}

/* Random operations, then compaction: same view, smaller journal, and
 * it goes on working after a reopen. */
static void test_compact(struct iso_node *base)
{
	char top[256], sdir[256], desc[512];
	struct tap_rng r = {(uint64_t)time(NULL) * 7 + 3};
	struct stg_store *st;
	struct stg_overlay *ov;
	unsigned bad_ops = 0;
	snprintf(top, sizeof(top), "%s/creal", tap_tmpdir());
	snprintf(sdir, sizeof(sdir), "%s/cstore", tap_tmpdir());
	make_real_base(top);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "compact: open");
		return;
	}
	for (unsigned k = 0; k < 600; k++)
		if (random_op(&r, ov, top, desc, sizeof(desc)) && bad_ops++ < 4)
			printf("# compact step %u: %s\n", k, desc);
	is_int(stg_sync(ov), 0, "compact: sync");
	off_t before = journal_size(sdir);
	char *view = dump_all(ov);
	is_int(compact_same(ov), 0, "compact: same merged view after it");
	off_t after = journal_size(sdir);
	ok(after > 0 && after < before,
	   "compact: journal shrank (%lld -> %lld bytes)", (long long)before,
	   (long long)after);
	close_ov(st, ov);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "compact: reopen");
		free(view);
		return;
	}
	char *again = dump_all(ov);
	is_str(again, view, "compact: same merged view after a reopen");
	free(again);
	free(view);
	is_int(compare_all(ov, top, "compacted"), 0,
	       "compact: merged view equals the real tree");
	for (unsigned k = 0; k < 200; k++)
		if (random_op(&r, ov, top, desc, sizeof(desc)) && bad_ops++ < 4)
			printf("# compact step %u: %s\n", k, desc);
	stg_sync(ov);
	close_ov(st, ov);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "compact: reopen after more operations");
		return;
	}
	is_int(compare_all(ov, top, "compacted, more ops, reopened"), 0,
	       "compact: more operations after it survive a reopen");
	is_int(compact_same(ov), 0, "compact: again");
	close_ov(st, ov);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "compact: reopen after the second");
		return;
	}
	is_int(compare_all(ov, top, "compacted twice"), 0,
	       "compact: a second compaction survives a reopen");
	/* stg_sync() compacts by itself once the journal is past 4 MiB:
	 * chmod back and forth (an even number: the mode ends as it was) */
	uint64_t ino = STG_ROOT_INO;
	struct stg_attr sa = {0};
	off_t big = 0;
	int rc = 0;
	for (unsigned k = 0; k < 64000 && !rc; k++) {
		struct stg_attr ga;
		rc = stg_getattr(ov, ino, &ga);
		sa.mode = ga.mode ^ 1;
		if (!rc)
			rc = stg_setattr(ov, ino, &sa, STG_SET_MODE);
	}
	big = journal_size(sdir); /* without the buffered tail */
	char *pre = dump_all(ov);
	is_int(rc, 0, "compact: 64000 chmods");
	is_int(stg_sync(ov), 0, "compact: sync");
	off_t small = journal_size(sdir);
	ok(big > (3 << 20) && small > 0 && small < (1 << 20),
	   "compact: stg_sync compacted it (%lld -> %lld bytes)",
	   (long long)big, (long long)small);
	close_ov(st, ov);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "compact: reopen after the automatic one");
		free(pre);
		return;
	}
	char *post = dump_all(ov);
	is_str(post, pre, "compact: same view after it and a reopen");
	free(post);
	free(pre);
	close_ov(st, ov);
	is_int(bad_ops, 0, "compact: every operation matched the real tree");
}

/* ---- durable ordering ---- */

/*
 * fdatasync(2), fsync(2) and syncfs(2) as the overlay calls them, logged
 * while sync_log_on is set: "d<ino>" for a data file, "J" for the
 * journal, "D<name>" for a directory's fsync (Ddata, D7f for data/7f),
 * "S" for syncfs, so that a test can check that data is synced before the
 * records that describe it.
 */
static bool sync_log_on;
static char sync_log[8192];

static void log_sync(int fd, bool is_syncfs)
{
	char link[64], path[512];
	struct stat st;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t l = readlink(link, path, sizeof(path) - 1);
	path[l > 0 ? l : 0] = 0;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(sync_log);
	if (is_syncfs)
		snprintf(sync_log + n, sizeof(sync_log) - n, "S ");
	else if (!fstat(fd, &st) && S_ISDIR(st.st_mode))
		snprintf(sync_log + n, sizeof(sync_log) - n, "D%s ", base);
	else if (!strcmp(base, "journal"))
		snprintf(sync_log + n, sizeof(sync_log) - n, "J ");
	else if (strstr(path, "/data/"))
		snprintf(sync_log + n, sizeof(sync_log) - n, "d%s ", base);
	else
		snprintf(sync_log + n, sizeof(sync_log) - n, "? ");
}

int fdatasync(int fd)
{
	if (sync_log_on)
		log_sync(fd, false);
	return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
	if (sync_log_on)
		log_sync(fd, false);
	return (int)syscall(SYS_fsync, fd);
}

int syncfs(int fd)
{
	if (sync_log_on)
		log_sync(fd, true);
	return (int)syscall(SYS_syncfs, fd);
}

static void log_start(void)
{
	sync_log[0] = 0;
	sync_log_on = true;
}

/* Where @key first occurs in the log, or -1. */
static long log_pos(const char *key)
{
	const char *p = strstr(sync_log, key);
	return p ? p - sync_log : -1;
}

/* Where data file @ino's sync first occurs in the log, or -1. */
static long log_data_pos(uint64_t ino)
{
	char key[32];
	snprintf(key, sizeof(key), "d%" PRIu64 " ", ino);
	return log_pos(key);
}

static void test_ordering(struct iso_node *base)
{
	char sdir[256];
	struct stg_store *st;
	struct stg_overlay *ov;
	uint64_t a = 0, b = 0, c = 0, d = 0;
	uint8_t buf[5000];
	snprintf(sdir, sizeof(sdir), "%s/ordstore", tap_tmpdir());
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "ordering: open");
		return;
	}
	memset(buf, 'x', sizeof(buf));
	int rc = stg_create(ov, STG_ROOT_INO, "oa", 0644, 0, 0, &a);
	if (!rc)
		rc = stg_create(ov, STG_ROOT_INO, "ob", 0644, 0, 0, &b);
	if (!rc)
		rc = stg_create(ov, STG_ROOT_INO, "oc", 0644, 0, 0, &c);
	if (!rc)
		rc = stg_create(ov, STG_ROOT_INO, "od", 0644, 0, 0, &d);
	if (!rc)
		rc = stg_sync(ov);
	is_int(rc, 0, "ordering: four files");

	/* (a) fsync of one file syncs every file's data before the journal,
	 * which holds the other file's size record too; and the new files'
	 * entries: their subdirectories, and data/ which got the
	 * subdirectories (a fresh store has none) */
	char sub_a[512], key_a[16], key_b[16];
	data_path(sub_a, sizeof(sub_a), sdir, a);
	*strrchr(sub_a, '/') = 0;
	struct stat sst;
	bool made = stat(sub_a, &sst) != 0;
	snprintf(key_a, sizeof(key_a), "D%02x ", data_sub(a));
	snprintf(key_b, sizeof(key_b), "D%02x ", data_sub(b));
	stg_write(ov, a, 0, buf, 100);
	stg_write(ov, b, 0, buf, 200);
	log_start();
	rc = stg_fsync(ov, a, false);
	sync_log_on = false;
	long pa = log_data_pos(a), pb = log_data_pos(b), pj = log_pos("J ");
	ok(!rc && pa >= 0 && pb >= 0 && pj > pa && pj > pb && log_pos("S ") < 0,
	   "ordering: fsync(a) syncs a's and b's data before the journal "
	   "(%s)",
	   sync_log);
	long pda = log_pos(key_a), pdb = log_pos(key_b),
	     pdd = log_pos("Ddata ");
	ok(!rc && made && pda >= 0 && pdb >= 0 && pdd >= 0 && pj > pda &&
	       pj > pdb && pj > pdd,
	   "ordering: and their new entries (%.2s/, %.2s/, data/) before it",
	   key_a + 1, key_b + 1);

	/* an existing file rewritten: its data only, no directory */
	stg_write(ov, a, 0, buf, 50);
	log_start();
	rc = stg_fsync(ov, a, false);
	sync_log_on = false;
	pa = log_data_pos(a);
	pj = log_pos("J ");
	ok(!rc && pa >= 0 && pj > pa && !strchr(sync_log, 'D') &&
	       log_pos("S ") < 0,
	   "ordering: a rewrite syncs the data file alone, then the journal "
	   "(%s)",
	   sync_log);

	/* more than a few dirty files: one syncfs, before the journal */
	uint64_t many[12];
	rc = 0;
	for (unsigned k = 0; k < 12 && !rc; k++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "om%u", k);
		rc = stg_create(ov, STG_ROOT_INO, nm, 0644, 0, 0, &many[k]);
	}
	rc = rc ? rc : stg_sync(ov);
	for (unsigned k = 0; k < 12 && !rc; k++)
		if (stg_write(ov, many[k], 0, buf, 1000 + k) != 1000 + (int)k)
			rc = -EIO;
	log_start();
	rc = rc ? rc : stg_sync(ov);
	sync_log_on = false;
	long ps = log_pos("S ");
	pj = log_pos("J ");
	ok(!rc && ps >= 0 && pj > ps && !strchr(sync_log, 'd') &&
	       !strchr(sync_log, 'D'),
	   "ordering: 12 dirty files: one syncfs, then the journal (%s)",
	   sync_log);
	unsigned placed = 0;
	for (unsigned k = 0; k < 12; k++)
		placed += data_file_size(sdir, many[k]) == 1000 + (off_t)k;
	is_int(placed, 12, "ordering: their data files are data/XX/<ino>");
	/* all clean now: the next sync syncs no data */
	log_start();
	rc = stg_sync(ov);
	sync_log_on = false;
	ok(!rc && !strchr(sync_log, 'd') && !strchr(sync_log, 'D') &&
	       log_pos("S ") < 0,
	   "ordering: nothing dirty after it (%s)", sync_log);

	/* the unlocked half (stg_sync_prepare/flush): the dirty data files'
	 * fdatasync or one syncfs, never the journal; nothing when clean */
	log_start();
	stg_sync_flush(stg_sync_prepare(ov));
	sync_log_on = false;
	ok(sync_log[0] == 0, "plan: nothing dirty, nothing synced (%s)",
	   sync_log);
	stg_write(ov, a, 0, buf, 70);
	stg_write(ov, b, 0, buf, 80);
	log_start();
	stg_sync_flush(stg_sync_prepare(ov));
	sync_log_on = false;
	ok(log_data_pos(a) >= 0 && log_data_pos(b) >= 0 && log_pos("J ") < 0 &&
	       log_pos("S ") < 0,
	   "plan: two dirty files: their fdatasync, no journal (%s)", sync_log);
	log_start();
	rc = stg_sync(ov);
	sync_log_on = false;
	pj = log_pos("J ");
	ok(!rc && pj >= 0 && log_data_pos(a) >= 0 && log_data_pos(a) < pj,
	   "plan: the sync after it still syncs data before the journal (%s)",
	   sync_log);
	for (unsigned k = 0; k < 12 && !rc; k++)
		if (stg_write(ov, many[k], 0, buf, 900) != 900)
			rc = -EIO;
	log_start();
	stg_sync_flush(stg_sync_prepare(ov));
	sync_log_on = false;
	ok(!rc && log_pos("S ") >= 0 && !strchr(sync_log, 'd') &&
	       log_pos("J ") < 0,
	   "plan: 12 dirty files: one syncfs, no journal (%s)", sync_log);
	rc = stg_sync(ov);
	is_int(rc, 0, "plan: and the sync after it");
	stg_sync_flush(NULL); /* no plan (out of memory): nothing */

	/* (b) the journal never writes its buffer out by itself before the
	 * data: commit syncs both once 512 KiB are buffered */
	stg_write(ov, c, 0, buf, 300);
	off_t j0 = journal_size(sdir);
	log_start();
	struct stg_attr sa = {0};
	for (unsigned k = 0; k < 8000 && !rc; k++) { /* about 680 KiB */
		sa.mode = 0600 | (k & 1);
		rc = stg_setattr(ov, d, &sa, STG_SET_MODE);
	}
	sync_log_on = false;
	off_t j1 = journal_size(sdir);
	long pc = log_data_pos(c);
	pj = log_pos("J ");
	ok(!rc && j1 >= j0 + (512 << 10) && pc >= 0 && pj > pc,
	   "ordering: 512 KiB of records: data, then journal synced "
	   "(%lld -> %lld bytes; %s)",
	   (long long)j0, (long long)j1, sync_log);

	/* (c) close hands the buffered records to the kernel: data first */
	stg_write(ov, d, 0, buf, 400);
	log_start();
	stg_overlay_close(ov);
	sync_log_on = false;
	stg_store_close(st);
	ok(log_data_pos(d) >= 0, "ordering: close syncs dirty data (%s)",
	   sync_log);

	/* kill -9 after a write past the end: its record is lost but its
	 * bytes are in the data file; open cuts them off, so that a later
	 * extension reads zeros there, not the lost write's bytes */
	pid_t pid = fork();
	if (pid == 0) {
		if (open_ov(sdir, base, &st, &ov))
			_exit(2);
		memset(buf, 's', sizeof(buf));
		if (stg_write(ov, a, 100, buf, sizeof(buf) - 100) !=
		    (ssize_t)sizeof(buf) - 100)
			_exit(3);
		_exit(0); /* like kill -9: the record stays in the buffer */
	}
	int status = 0;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "ordering: child wrote and died");
	off_t grown = data_file_size(sdir, a);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "ordering: reopen");
		return;
	}
	struct stg_attr ga;
	stg_getattr(ov, a, &ga);
	ok(grown == (off_t)sizeof(buf) && ga.size == 100 &&
	       data_file_size(sdir, a) == 100,
	   "ordering: open cut the data file to its inode's size "
	   "(%lld -> %lld, size %" PRIu64 ")",
	   (long long)grown, (long long)data_file_size(sdir, a), ga.size);
	sa.size = sizeof(buf);
	rc = stg_setattr(ov, a, &sa, STG_SET_SIZE);
	uint8_t got[5000];
	int n = read_all(ov, a, got, sizeof(got));
	bool zeros = n == (int)sizeof(got);
	for (int i = 0; zeros && i < n; i++)
		zeros = got[i] == (i < 100 ? 'x' : 0);
	ok(!rc && zeros, "ordering: extended afterwards, it reads zeros");
	close_ov(st, ov);

	/* a write that fails half way (RLIMIT_FSIZE) is cut back at once */
	pid = fork();
	if (pid == 0) {
		uint64_t w;
		struct rlimit rl = {3000, 3000};
		if (open_ov(sdir, base, &st, &ov) ||
		    stg_create(ov, STG_ROOT_INO, "ow", 0644, 0, 0, &w) ||
		    stg_sync(ov))
			_exit(2);
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl))
			_exit(3);
		if (stg_write(ov, w, 0, buf, sizeof(buf)) >= 0)
			_exit(4);
		_exit(data_file_size(sdir, w) == 0 ? 0 : 5);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "ordering: a failed write leaves nothing past the end (%d)",
	   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---- RENAME_EXCHANGE ---- */

static bool ts_ge(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec ||
	       (a.tv_sec == b.tv_sec && a.tv_nsec >= b.tv_nsec);
}

static uint32_t nlink_of(struct stg_overlay *ov, uint64_t ino)
{
	struct stg_attr a = {0};
	stg_getattr(ov, ino, &a);
	return a.nlink;
}

struct order {
	char v[16][32];
	uint64_t ino[16];
	unsigned n;
};

static int order_ent(void *ctx, const char *name, uint64_t ino, mode_t mode,
		     uint64_t next)
{
	struct order *o = ctx;
	(void)mode;
	(void)next;
	if (o->n < 16) {
		snprintf(o->v[o->n], sizeof(o->v[0]), "%s", name);
		o->ino[o->n++] = ino;
	}
	return 0;
}

static void test_exchange(struct iso_node *base)
{
	char sdir[256];
	struct stg_store *st;
	struct stg_overlay *ov;
	const unsigned X = STG_RENAME_EXCHANGE, R = STG_ROOT_INO;
	snprintf(sdir, sizeof(sdir), "%s/xchg", tap_tmpdir());
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "exchange: open");
		return;
	}
	/* /p1/f (file "F")  /p1/g  /p2/d/inner  /p2/e/  /p1/h = /p2/h2 */
	uint64_t p1, p2, f, g, d, inner, e, h;
	int rc = stg_mkdir(ov, R, "p1", 0755, 0, 0, &p1);
	rc = rc ? rc : stg_mkdir(ov, R, "p2", 0755, 0, 0, &p2);
	rc = rc ? rc : stg_create(ov, p1, "f", 0644, 0, 0, &f);
	rc = rc ? rc : stg_create(ov, p1, "g", 0600, 0, 0, &g);
	rc = rc ? rc : stg_mkdir(ov, p2, "d", 0755, 0, 0, &d);
	rc = rc ? rc : stg_create(ov, d, "inner", 0644, 0, 0, &inner);
	rc = rc ? rc : stg_mkdir(ov, p2, "e", 0700, 0, 0, &e);
	rc = rc ? rc : stg_create(ov, p1, "h", 0644, 0, 0, &h);
	rc = rc ? rc : stg_link(ov, h, p2, "h2");
	if (!rc && stg_write(ov, f, 0, "F", 1) != 1)
		rc = -EIO;
	is_int(rc, 0, "exchange: the tree");

	is_int(stg_rename(ov, p1, "f", p1, "g", X | STG_RENAME_NOREPLACE),
	       -EINVAL, "exchange: with NOREPLACE is -EINVAL");
	is_int(stg_rename(ov, p1, "f", p1, "g", 4), -EINVAL,
	       "exchange: an unknown flag is -EINVAL");
	is_int(stg_rename(ov, p1, "nope", p1, "g", X), -ENOENT,
	       "exchange: missing source is -ENOENT");
	is_int(stg_rename(ov, p1, "f", p1, "nope", X), -ENOENT,
	       "exchange: missing target is -ENOENT");
	ok(ino_of(ov, "p1/f") == f && ino_of(ov, "p1/g") == g &&
	       !ino_of(ov, "p1/nope"),
	   "exchange: nothing changed by the failures");

	struct timespec pause = {0, 2000000}, t0;
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_REALTIME, &t0);
	struct stg_attr a1, a2;
	is_int(stg_rename(ov, p1, "f", p1, "f", X), 0,
	       "exchange: an entry with itself is a no-op");
	is_int(stg_rename(ov, p1, "h", p2, "h2", X), 0,
	       "exchange: two names of one inode is a no-op");
	stg_getattr(ov, p1, &a1);
	stg_getattr(ov, h, &a2);
	ok(ino_of(ov, "p1/f") == f && ino_of(ov, "p1/h") == h &&
	       ino_of(ov, "p2/h2") == h && !ts_ge(a1.mtime, t0) &&
	       !ts_ge(a2.ctime, t0),
	   "exchange: and touches nothing");

	/* two files in one directory: names and places stay, inodes swap */
	struct order o1 = {.n = 0}, o2 = {.n = 0};
	stg_readdir(ov, p1, 0, order_ent, &o1);
	is_int(stg_rename(ov, p1, "f", p1, "g", X), 0,
	       "exchange: two files in one directory");
	stg_readdir(ov, p1, 0, order_ent, &o2);
	bool same = o1.n == o2.n && o1.n == 3;
	for (unsigned i = 0; same && i < o1.n; i++)
		same = !strcmp(o1.v[i], o2.v[i]) &&
		       o2.ino[i] == (o1.ino[i] == f   ? g
				     : o1.ino[i] == g ? f
						      : o1.ino[i]);
	ok(same, "exchange: the listing keeps its order, inodes swapped");
	uint8_t b[4] = {0};
	ok(ino_of(ov, "p1/g") == f && ino_of(ov, "p1/f") == g &&
	       stg_read(ov, ino_of(ov, "p1/g"), 0, b, 4) == 1 && b[0] == 'F',
	   "exchange: g is the old f (with its data)");
	stg_getattr(ov, f, &a1);
	stg_getattr(ov, g, &a2);
	ok(ts_ge(a1.ctime, t0) && ts_ge(a2.ctime, t0),
	   "exchange: both inodes' ctime is updated");
	stg_getattr(ov, p1, &a1);
	ok(ts_ge(a1.mtime, t0) && ts_ge(a1.ctime, t0),
	   "exchange: the directory's mtime and ctime too");

	/* a file and a directory across directories */
	uint32_t l1 = nlink_of(ov, p1), l2 = nlink_of(ov, p2);
	clock_gettime(CLOCK_REALTIME, &t0);
	is_int(stg_rename(ov, p1, "g", p2, "d", X), 0,
	       "exchange: a file with a directory across directories");
	ok(ino_of(ov, "p1/g") == d && ino_of(ov, "p2/d") == f &&
	       ino_of(ov, "p1/g/inner") == inner,
	   "exchange: the directory moved with its contents");
	ok(nlink_of(ov, p1) == l1 + 1 && nlink_of(ov, p2) == l2 - 1,
	   "exchange: parents' link counts follow the directory (%u->%u, "
	   "%u->%u)",
	   l1, nlink_of(ov, p1), l2, nlink_of(ov, p2));
	stg_getattr(ov, p2, &a2);
	stg_getattr(ov, d, &a1);
	ok(ts_ge(a2.mtime, t0) && ts_ge(a2.ctime, t0) && ts_ge(a1.ctime, t0),
	   "exchange: both parents' times and the directory's ctime");
	/* the moved directory's parent is p1 now: p1 is its ancestor */
	is_int(stg_rename(ov, R, "p1", d, "loop", 0), -EINVAL,
	       "exchange: the directory's parent pointer follows it");
	is_int(stg_rename(ov, p2, "e", d, "e", 0), 0,
	       "exchange: a directory can move into it");
	is_int(stg_rename(ov, d, "e", p2, "e", 0), 0, "and back");

	/* two directories across directories: link counts unchanged */
	l1 = nlink_of(ov, p1);
	l2 = nlink_of(ov, p2);
	is_int(stg_rename(ov, p1, "g", p2, "e", X), 0,
	       "exchange: two directories across directories");
	ok(ino_of(ov, "p2/e") == d && ino_of(ov, "p1/g") == e &&
	       ino_of(ov, "p2/e/inner") == inner && nlink_of(ov, p1) == l1 &&
	       nlink_of(ov, p2) == l2,
	   "exchange: swapped, parents' link counts unchanged");
	is_int(stg_rename(ov, R, "p2", d, "loop", 0), -EINVAL,
	       "exchange: both parent pointers follow");

	/* ancestors and descendants */
	uint64_t deep;
	stg_mkdir(ov, d, "deep", 0755, 0, 0, &deep);
	is_int(stg_rename(ov, R, "p2", deep, "x", 0), -EINVAL,
	       "(setup: p2 is an ancestor of deep)");
	stg_create(ov, deep, "leaf", 0644, 0, 0, NULL);
	is_int(stg_rename(ov, R, "p2", deep, "leaf", X), -EINVAL,
	       "exchange: a directory with an entry below it is -EINVAL");
	is_int(stg_rename(ov, deep, "leaf", R, "p2", X), -EINVAL,
	       "exchange: an entry with a directory above it is -EINVAL");
	is_int(stg_rename(ov, p2, "e", d, "deep", X), -EINVAL,
	       "exchange: a directory with its child is -EINVAL");
	is_int(stg_rename(ov, d, "deep", p2, "e", X), -EINVAL,
	       "exchange: a directory with its parent is -EINVAL");
	is_int(stg_rename(ov, d, "inner", d, "deep", X), 0,
	       "exchange: siblings, one a directory, in one directory");
	ok(ino_of(ov, "p2/e/inner/leaf") && ino_of(ov, "p2/e/deep") == inner,
	   "exchange: swapped in place");

	/* base entries: nothing copied up */
	uint64_t atxt = ino_of(ov, "a.txt"), bbin = ino_of(ov, "dir/b.bin");
	unsigned files = count_data_files(sdir);
	is_int(stg_rename(ov, R, "a.txt", ino_of(ov, "dir"), "b.bin", X), 0,
	       "exchange: two base files");
	uint8_t buf[100];
	ok(ino_of(ov, "a.txt") == bbin && ino_of(ov, "dir/b.bin") == atxt &&
	       stg_read(ov, bbin, 60000, buf, 100) == 100 &&
	       is_pattern(buf, 100, 12, 60000) &&
	       count_data_files(sdir) == files,
	   "exchange: base files swap without a copy-up");
	uint32_t lr = nlink_of(ov, R), ld = nlink_of(ov, ino_of(ov, "dir"));
	is_int(stg_rename(ov, R, "empty", ino_of(ov, "dir"), "sub", X), 0,
	       "exchange: two base directories");
	ok(ino_of(ov, "empty/c") && !ino_of(ov, "dir/sub/c") &&
	       nlink_of(ov, R) == lr && nlink_of(ov, ino_of(ov, "dir")) == ld,
	   "exchange: base directories swapped");

	/* replay, compaction and replay of that */
	char *view = dump_all(ov);
	close_ov(st, ov);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "exchange: reopen");
		free(view);
		return;
	}
	char *again = dump_all(ov);
	is_str(again, view, "exchange: the same after a reopen (replay)");
	free(again);
	is_int(compact_same(ov), 0, "exchange: compaction keeps it");
	close_ov(st, ov);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "exchange: reopen after compaction");
		free(view);
		return;
	}
	again = dump_all(ov);
	is_str(again, view, "exchange: the same after compaction and reopen");
	free(again);
	free(view);
	close_ov(st, ov);
}

/* ---- large directories ---- */

static double secs_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

struct page {
	uint8_t *seen; /* by the number in the name */
	unsigned n, dups, bad;
	uint64_t next;
};

static int page_ent(void *ctx, const char *name, uint64_t ino, mode_t mode,
		    uint64_t next)
{
	struct page *p = ctx;
	unsigned v;
	(void)ino;
	(void)mode;
	if (sscanf(name, "f%u", &v) != 1 || v >= BIGDIR_N)
		p->bad++;
	else if (p->seen[v]++)
		p->dups++;
	p->next = next;
	return ++p->n % 100 == 0; /* pages of 100 entries */
}

/* List @dir in pages of 100; returns the entries seen. */
static unsigned list_pages(struct stg_overlay *ov, uint64_t dir, uint8_t *seen,
			   unsigned *dups, unsigned *bad)
{
	struct page p = {seen, 0, 0, 0, 0};
	memset(seen, 0, BIGDIR_N);
	for (;;) {
		unsigned before = p.n;
		if (stg_readdir(ov, dir, p.next, page_ent, &p) || p.n == before)
			break;
	}
	*dups = p.dups;
	*bad = p.bad;
	return p.n;
}

/*
 * BIGDIR_N files in one directory: creation, lookups, a listing in pages
 * of 100 (resumed at a cookie each time), deleting every other one, a
 * reopen (replay) and a compaction.  Figures are diagnostics only.
 */
static void test_bigdir(struct iso_node *base)
{
	char sdir[256];
	struct stg_store *st;
	struct stg_overlay *ov;
	struct timespec t0;
	uint8_t *seen = malloc(BIGDIR_N);
	uint64_t *inos = malloc(BIGDIR_N * sizeof(*inos));
	unsigned dups, bad, n, miss = 0;
	int rc = 0;
	char name[32];
	snprintf(sdir, sizeof(sdir), "%s/bigstore", tap_tmpdir());
	if (!seen || !inos || open_ov(sdir, base, &st, &ov)) {
		ok(0, "bigdir: open");
		free(seen);
		free(inos);
		return;
	}
	uint64_t dir;
	rc = stg_mkdir(ov, STG_ROOT_INO, "big", 0755, 0, 0, &dir);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < BIGDIR_N && !rc; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		rc = stg_create(ov, dir, name, 0644, 0, 0, &inos[i]);
	}
	printf("# bigdir: %u creates in one directory: %.3f s\n", BIGDIR_N,
	       secs_since(&t0));
	is_int(rc, 0, "bigdir: %u creates", BIGDIR_N);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < BIGDIR_N; i++) {
		uint64_t ino = 0;
		snprintf(name, sizeof(name), "f%u", i);
		miss += stg_lookup(ov, dir, name, &ino) || ino != inos[i];
	}
	printf("# bigdir: %u lookups: %.3f s\n", BIGDIR_N, secs_since(&t0));
	is_int(miss, 0, "bigdir: every name looks up to its inode");
	is_int(stg_lookup(ov, dir, "nosuch", &inos[0]), -ENOENT,
	       "bigdir: a missing name is -ENOENT");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = list_pages(ov, dir, seen, &dups, &bad);
	printf("# bigdir: listing in pages of 100: %.3f s\n", secs_since(&t0));
	ok(n == BIGDIR_N && !dups && !bad,
	   "bigdir: paged listing gives each entry once (%u, %u dups)", n,
	   dups);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < BIGDIR_N && !rc; i += 2) {
		snprintf(name, sizeof(name), "f%u", i);
		rc = stg_unlink(ov, dir, name);
	}
	printf("# bigdir: %u unlinks: %.3f s\n", BIGDIR_N / 2, secs_since(&t0));
	is_int(rc, 0, "bigdir: unlink every other one");
	miss = 0;
	for (unsigned i = 0; i < BIGDIR_N; i++) {
		uint64_t ino = 0;
		snprintf(name, sizeof(name), "f%u", i);
		rc = stg_lookup(ov, dir, name, &ino);
		miss += i % 2 ? rc || ino != inos[i] : rc != -ENOENT;
	}
	is_int(miss, 0, "bigdir: lookups after the unlinks");
	n = list_pages(ov, dir, seen, &dups, &bad);
	miss = 0;
	for (unsigned i = 0; i < BIGDIR_N; i++)
		miss += seen[i] != i % 2;
	ok(n == BIGDIR_N / 2 && !dups && !bad && !miss,
	   "bigdir: paged listing after the unlinks (%u)", n);
	is_int(stg_sync(ov), 0, "bigdir: sync");
	stg_overlay_close(ov);
	stg_store_close(st);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "bigdir: reopen");
		free(seen);
		free(inos);
		return;
	}
	printf("# bigdir: reopen (replay): %.3f s\n", secs_since(&t0));
	n = list_pages(ov, dir, seen, &dups, &bad);
	miss = 0;
	for (unsigned i = 0; i < BIGDIR_N; i++) {
		uint64_t ino = 0;
		snprintf(name, sizeof(name), "f%u", i);
		rc = stg_lookup(ov, dir, name, &ino);
		miss += i % 2 ? rc || ino != inos[i] || !seen[i]
			      : rc != -ENOENT || seen[i];
	}
	ok(n == BIGDIR_N / 2 && !dups && !miss,
	   "bigdir: the same after a reopen (%u)", n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(stg_overlay_compact(ov), 0, "bigdir: compact");
	printf("# bigdir: compaction: %.3f s\n", secs_since(&t0));
	stg_overlay_close(ov);
	stg_store_close(st);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "bigdir: reopen after compaction");
		free(seen);
		free(inos);
		return;
	}
	n = list_pages(ov, dir, seen, &dups, &bad);
	miss = 0;
	for (unsigned i = 0; i < BIGDIR_N; i++) {
		uint64_t ino = 0;
		snprintf(name, sizeof(name), "f%u", i);
		rc = stg_lookup(ov, dir, name, &ino);
		miss += i % 2 ? rc || ino != inos[i] : rc != -ENOENT;
	}
	ok(n == BIGDIR_N / 2 && !dups && !miss,
	   "bigdir: the same after compaction and a reopen (%u)", n);
	close_ov(st, ov);
	free(seen);
	free(inos);
}

/*
 * The name index under churn: random creates, unlinks, renames and
 * exchanges over a pool of names in two directories that grow past the
 * index threshold and shrink below it again, checked against a plain
 * model (a list per directory in listing order) by lookups of every name
 * and full listings, also after a reopen and a compaction.
 */
#define IX_NAMES 2000u

struct ix_dir {
	unsigned name[2 * IX_NAMES]; /* listing order */
	uint64_t ino[2 * IX_NAMES];
	unsigned n;
};

static int ix_find(const struct ix_dir *d, unsigned name)
{
	for (unsigned i = 0; i < d->n; i++)
		if (d->name[i] == name)
			return (int)i;
	return -1;
}

static void ix_del(struct ix_dir *d, int i)
{
	memmove(d->name + i, d->name + i + 1,
		(d->n - (unsigned)i - 1) * sizeof(d->name[0]));
	memmove(d->ino + i, d->ino + i + 1,
		(d->n - (unsigned)i - 1) * sizeof(d->ino[0]));
	d->n--;
}

struct ix_list {
	const struct ix_dir *m;
	unsigned k, bad;
};

static int ix_ent(void *ctx, const char *name, uint64_t ino, mode_t mode,
		  uint64_t next)
{
	struct ix_list *l = ctx;
	unsigned v;
	(void)mode;
	(void)next;
	if (l->k >= l->m->n || sscanf(name, "n%u", &v) != 1 ||
	    v != l->m->name[l->k] || ino != l->m->ino[l->k])
		l->bad++;
	l->k++;
	return 0;
}

/* Mismatches between the overlay and the model. */
static unsigned ix_check(struct stg_overlay *ov, const uint64_t dirs[2],
			 const struct ix_dir m[2])
{
	unsigned bad = 0;
	char name[16];
	for (int k = 0; k < 2; k++) {
		struct ix_list l = {&m[k], 0, 0};
		stg_readdir(ov, dirs[k], 0, ix_ent, &l);
		bad += l.bad + (l.k != m[k].n);
		for (unsigned v = 0; v < IX_NAMES; v++) {
			uint64_t ino = 0;
			snprintf(name, sizeof(name), "n%u", v);
			int rc = stg_lookup(ov, dirs[k], name, &ino);
			int i = ix_find(&m[k], v);
			bad += i < 0 ? rc != -ENOENT : rc || ino != m[k].ino[i];
		}
	}
	return bad;
}

static void test_index(struct iso_node *base)
{
	char sdir[256], n1[16], n2[16];
	struct stg_store *st;
	struct stg_overlay *ov;
	static struct ix_dir m[2];
	uint64_t dirs[2];
	struct tap_rng r = {(uint64_t)time(NULL) * 31 + 7};
	unsigned bad_rc = 0, bad_view = 0, checks = 0, peak = 0, low = 0;
	snprintf(sdir, sizeof(sdir), "%s/ixstore", tap_tmpdir());
	memset(m, 0, sizeof(m));
	if (open_ov(sdir, base, &st, &ov) ||
	    stg_mkdir(ov, STG_ROOT_INO, "i0", 0755, 0, 0, &dirs[0]) ||
	    stg_mkdir(ov, STG_ROOT_INO, "i1", 0755, 0, 0, &dirs[1])) {
		ok(0, "index: open");
		return;
	}
	for (unsigned step = 0; step < 24000; step++) {
		/* grow, drain, grow again, then churn */
		unsigned phase = step / 6000, op = tap_rnd(&r, 10);
		if (phase == 0 || phase == 2)
			op = op < 5 ? 0 : op - 4; /* mostly creates */
		else if (phase == 1)
			op = op < 6 ? 1 : op - 5; /* mostly unlinks */
		else
			op = op % 5;
		unsigned k = tap_rnd(&r, 2), j = tap_rnd(&r, 2);
		unsigned a = tap_rnd(&r, IX_NAMES), b = tap_rnd(&r, IX_NAMES);
		struct ix_dir *dk = &m[k], *dj = &m[j];
		if (phase == 1 && op == 1 && dk->n)
			a = dk->name[tap_rnd(&r, dk->n)]; /* drain it */
		int ia = ix_find(dk, a), ib = ix_find(dj, b), rc, want;
		snprintf(n1, sizeof(n1), "n%u", a);
		snprintf(n2, sizeof(n2), "n%u", b);
		switch (op) {
		case 0: {
			uint64_t ino = 0;
			rc = stg_create(ov, dirs[k], n1, 0644, 0, 0, &ino);
			want = ia >= 0 ? -EEXIST : 0;
			if (!rc && ia < 0) {
				dk->name[dk->n] = a;
				dk->ino[dk->n++] = ino;
			}
			break;
		}
		case 1:
			rc = stg_unlink(ov, dirs[k], n1);
			want = ia < 0 ? -ENOENT : 0;
			if (!rc && ia >= 0)
				ix_del(dk, ia);
			break;
		case 2:
		case 3: {
			rc = stg_rename(ov, dirs[k], n1, dirs[j], n2, 0);
			want = ia < 0 ? -ENOENT : 0;
			if (rc || ia < 0 || (k == j && a == b))
				break;
			uint64_t ino = dk->ino[ia];
			if (ib >= 0)
				ix_del(dj, ib);
			ix_del(dk, ix_find(dk, a));
			dj->name[dj->n] = b;
			dj->ino[dj->n++] = ino;
			break;
		}
		default:
			rc = stg_rename(ov, dirs[k], n1, dirs[j], n2,
					STG_RENAME_EXCHANGE);
			want = ia < 0 || ib < 0 ? -ENOENT : 0;
			if (!rc && ia >= 0 && ib >= 0) {
				uint64_t t = dk->ino[ia];
				dk->ino[ia] = dj->ino[ib];
				dj->ino[ib] = t;
			}
		}
		if (rc != want && bad_rc++ < 4)
			printf("# index step %u: op %u %u/%s %u/%s: %d, want "
			       "%d\n",
			       step, op, k, n1, j, n2, rc, want);
		if (m[0].n > peak)
			peak = m[0].n;
		if (step == 11999)
			low = m[0].n;
		if (step % 100 == 99) {
			checks++;
			bad_view += ix_check(ov, dirs, m);
		}
	}
	printf("# index: a directory grew to %u entries, drained to %u; %u "
	       "checks\n",
	       peak, low, checks);
	is_int(bad_rc, 0, "index: every result as the model says");
	is_int(bad_view, 0, "index: lookups and listings match the model");
	close_ov(st, ov);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "index: reopen");
		return;
	}
	is_int(ix_check(ov, dirs, m), 0, "index: the same after a reopen");
	is_int(stg_overlay_compact(ov), 0, "index: compact");
	close_ov(st, ov);
	if (open_ov(sdir, base, &st, &ov)) {
		ok(0, "index: reopen after compaction");
		return;
	}
	is_int(ix_check(ov, dirs, m), 0,
	       "index: the same after compaction and a reopen");
	close_ov(st, ov);
}

int main(void)
{
	umask(0);
	struct iso_node *base = make_base();
	test_basics(base);
	test_hostile(base);
	test_depth(base);
	test_fanout(base);
	test_pin(base);
	test_crash(base, getenv("CDS_SLOW") != NULL, false);
	test_crash(base, getenv("CDS_SLOW") != NULL, true);
	test_compact(base);
	test_exchange(base);
	test_ordering(base);
	test_bigdir(base);
	test_index(base);
	model_test(base, getenv("CDS_SLOW") != NULL);
	iso_node_free(base);
	return tap_done();
}
