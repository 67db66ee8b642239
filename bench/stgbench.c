/*
 * stgbench.c - the driver of bench/staging: one measured run per process,
 * so that the script can drop the page cache between runs.
 *
 *   stgbench api-meta DIR N SIZE [PER_DIR]    N files of SIZE bytes, PER_DIR
 *   stgbench local-meta DIR N SIZE [PER_DIR]  (default 100) to a directory,
 *                                             then one sync at the end
 *   stgbench api-data DIR BYTES               one file in 1 MiB writes
 *   stgbench local-data DIR BYTES
 *   stgbench api-reopen DIR                   open (replay) and close a store
 *   stgbench jstat DIR                        the journal of a store: records,
 *                                             bytes used, file size (untimed)
 *
 * api-* go through staging/overlay.h over an empty base (a root directory
 * alone) in the store DIR; local-* do the same with plain system calls in
 * the directory DIR.  Both end durable: stg_sync() on one side, syncfs()
 * (after fdatasync() of the big file) on the other, as a filesystem's own
 * sync would.  Printed on standard output, one line: the elapsed seconds
 * (CLOCK_MONOTONIC, the whole run, store open and close included), then the
 * seconds spent in each phase (name=seconds), to show where the time goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "iso/node.h"
#include "staging/journal.h"
#include "staging/overlay.h"
#include "staging/store.h"

#define CHUNK (1u << 20)

static const char base_id[] = "stgbench empty base";

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Seconds per phase; the names are printed in this order. */
enum phase { P_OPEN, P_MKDIR, P_CREATE, P_WRITE, P_CLOSE, P_SYNC, P_NPHASES };
static const char *const phase_name[P_NPHASES] = {"open",  "mkdir", "create",
						  "write", "close", "sync"};
static double phase_secs[P_NPHASES];
static double t_mark;

static void start(void)
{
	t_mark = now();
}

static void stop(enum phase p)
{
	double t = now();
	phase_secs[p] += t - t_mark;
	t_mark = t;
}

static void report(double t0)
{
	printf("%.6f", now() - t0);
	for (int p = 0; p < P_NPHASES; p++)
		if (phase_secs[p] > 0)
			printf(" %s=%.3f", phase_name[p], phase_secs[p]);
	printf("\n");
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "stgbench: %s: %s\n", what, cds_errmsg(rc));
	return 1;
}

static int fail_errno(const char *what)
{
	fprintf(stderr, "stgbench: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Not zeros, so no layer below can take a shortcut. */
static void *make_buf(size_t len)
{
	uint8_t *b = malloc(len ? len : 1);
	uint32_t x = 2463534242u;
	for (size_t i = 0; b && i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
	return b;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*v = x;
	return 0;
}

/* ---- the API side ---- */

struct api {
	struct iso_node *base;
	struct stg_store *st;
	struct stg_overlay *ov;
};

static int api_open(const char *dir, struct api *a)
{
	a->base = iso_node_new("", S_IFDIR | 0755);
	if (!a->base)
		return -ENOMEM;
	a->base->nlink = 2;
	a->base->children_loaded = true;
	int rc = stg_store_open(dir, &a->st);
	if (rc)
		return rc;
	return stg_overlay_open(a->st, a->base, base_id, sizeof(base_id), NULL,
				NULL, &a->ov);
}

static void api_close(struct api *a)
{
	stg_overlay_close(a->ov);
	stg_store_close(a->st);
	iso_node_free(a->base);
}

/* The timed end of an API run: the one sync, the close, the report. */
static int api_finish(struct api *a, double t0, void *buf)
{
	int rc = stg_sync(a->ov);

	if (rc)
		return fail("stg_sync", rc);
	stop(P_SYNC);
	api_close(a);
	stop(P_CLOSE);
	report(t0);
	free(buf);
	return 0;
}

static int api_meta(const char *dir, uint64_t n, uint64_t size,
		    uint64_t per_dir)
{
	void *buf = make_buf((size_t)size);
	uid_t uid = getuid();
	gid_t gid = getgid();
	struct api a = {0};
	char name[32];
	uint64_t d_ino = 0, f_ino;
	int rc;

	if (!buf)
		return fail("malloc", -ENOMEM);
	double t0 = now();
	start();
	if ((rc = api_open(dir, &a)))
		return fail(dir, rc);
	stop(P_OPEN);
	for (uint64_t i = 0; i < n; i++) {
		if (i % per_dir == 0) {
			snprintf(name, sizeof(name), "d%05" PRIu64,
				 i / per_dir);
			rc = stg_mkdir(a.ov, STG_ROOT_INO, name, 0755, uid, gid,
				       &d_ino);
			if (rc)
				return fail("stg_mkdir", rc);
			stop(P_MKDIR);
		}
		snprintf(name, sizeof(name), "f%06" PRIu64, i);
		if ((rc = stg_create(a.ov, d_ino, name, S_IFREG | 0644, uid,
				     gid, &f_ino)))
			return fail("stg_create", rc);
		stop(P_CREATE);
		if (size) {
			ssize_t w = stg_write(a.ov, f_ino, 0, buf, size);
			if (w < 0)
				return fail("stg_write", (int)w);
			stop(P_WRITE);
		}
	}
	return api_finish(&a, t0, buf);
}

static int api_data(const char *dir, uint64_t bytes)
{
	void *buf = make_buf(CHUNK);
	struct api a = {0};
	uint64_t ino;
	int rc;

	if (!buf)
		return fail("malloc", -ENOMEM);
	double t0 = now();
	start();
	if ((rc = api_open(dir, &a)))
		return fail(dir, rc);
	stop(P_OPEN);
	if ((rc = stg_create(a.ov, STG_ROOT_INO, "big.bin", S_IFREG | 0644,
			     getuid(), getgid(), &ino)))
		return fail("stg_create", rc);
	stop(P_CREATE);
	for (uint64_t off = 0; off < bytes; off += CHUNK) {
		size_t c = bytes - off < CHUNK ? (size_t)(bytes - off) : CHUNK;
		ssize_t w = stg_write(a.ov, ino, off, buf, c);
		if (w < 0)
			return fail("stg_write", (int)w);
	}
	stop(P_WRITE);
	return api_finish(&a, t0, buf);
}

/* What a remount costs: the journal's replay. */
static int api_reopen(const char *dir)
{
	struct api a = {0};
	int rc;

	double t0 = now();
	start();
	if ((rc = api_open(dir, &a)))
		return fail(dir, rc);
	stop(P_OPEN);
	api_close(&a);
	stop(P_CLOSE);
	report(t0);
	return 0;
}

/* Records and bytes in use of DIR/journal, and the file's size. */
static int jstat(const char *dir)
{
	char path[PATH_MAX];
	struct stat s;
	struct stg_journal_parse res;

	snprintf(path, sizeof(path), "%s/journal", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &s))
		return fail_errno(path);
	uint8_t *buf = malloc(s.st_size ? (size_t)s.st_size : 1);
	if (!buf)
		return fail("malloc", -ENOMEM);
	size_t got = 0;
	while (got < (size_t)s.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)s.st_size - got);
		if (r <= 0)
			return fail_errno(path);
		got += (size_t)r;
	}
	close(fd);
	int rc = stg_journal_parse(buf, got, NULL, NULL, &res);
	if (rc)
		return fail(path, rc);
	printf("%" PRIu64 " %zu %zu\n", res.records, res.good_len, got);
	free(buf);
	return 0;
}

/* ---- the local side ---- */

static int write_full(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf = (const char *)buf + w;
		len -= (size_t)w;
	}
	return 0;
}

static int local_meta(const char *dir, uint64_t n, uint64_t size,
		      uint64_t per_dir)
{
	void *buf = make_buf((size_t)size);
	char name[64];
	int top, d = -1;

	if (!buf)
		return fail("malloc", -ENOMEM);
	double t0 = now();
	start();
	if (mkdir(dir, 0755) && errno != EEXIST)
		return fail_errno(dir);
	if ((top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail_errno(dir);
	stop(P_OPEN);
	for (uint64_t i = 0; i < n; i++) {
		if (i % per_dir == 0) {
			snprintf(name, sizeof(name), "d%05" PRIu64,
				 i / per_dir);
			if (d >= 0)
				close(d);
			if (mkdirat(top, name, 0755))
				return fail_errno(name);
			d = openat(top, name,
				   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (d < 0)
				return fail_errno(name);
			stop(P_MKDIR);
		}
		snprintf(name, sizeof(name), "f%06" PRIu64, i);
		int fd = openat(d, name,
				O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return fail_errno(name);
		stop(P_CREATE);
		if (size) {
			if (write_full(fd, buf, (size_t)size))
				return fail_errno(name);
			stop(P_WRITE);
		}
		close(fd);
		stop(P_CLOSE);
	}
	if (d >= 0)
		close(d);
	if (syncfs(top))
		return fail_errno("syncfs");
	stop(P_SYNC);
	close(top);
	report(t0);
	free(buf);
	return 0;
}

static int local_data(const char *dir, uint64_t bytes)
{
	void *buf = make_buf(CHUNK);
	char path[PATH_MAX];

	if (!buf)
		return fail("malloc", -ENOMEM);
	double t0 = now();
	start();
	if (mkdir(dir, 0755) && errno != EEXIST)
		return fail_errno(dir);
	snprintf(path, sizeof(path), "%s/big.bin", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail_errno(path);
	stop(P_CREATE);
	for (uint64_t off = 0; off < bytes; off += CHUNK) {
		size_t c = bytes - off < CHUNK ? (size_t)(bytes - off) : CHUNK;
		if (write_full(fd, buf, c))
			return fail_errno(path);
	}
	stop(P_WRITE);
	if (fdatasync(fd) || syncfs(fd))
		return fail_errno("sync");
	stop(P_SYNC);
	close(fd);
	stop(P_CLOSE);
	report(t0);
	free(buf);
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: stgbench api-meta|local-meta DIR N SIZE [PER_DIR]\n"
		"       stgbench api-data|local-data DIR BYTES\n"
		"       stgbench api-reopen|jstat DIR\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t n, size, per_dir = 100;

	if (argc < 3)
		return usage();
	const char *mode = argv[1], *dir = argv[2];
	bool meta = !strcmp(mode, "api-meta") || !strcmp(mode, "local-meta");
	bool data = !strcmp(mode, "api-data") || !strcmp(mode, "local-data");

	if (meta) {
		if (argc < 5 || argc > 6 || parse_u64(argv[3], &n) ||
		    parse_u64(argv[4], &size) || size > (1u << 30) ||
		    (argc == 6 && parse_u64(argv[5], &per_dir)) || !per_dir)
			return usage();
		return mode[0] == 'a' ? api_meta(dir, n, size, per_dir)
				      : local_meta(dir, n, size, per_dir);
	}
	if (data) {
		if (argc != 4 || parse_u64(argv[3], &n))
			return usage();
		return mode[0] == 'a' ? api_data(dir, n) : local_data(dir, n);
	}
	if (argc != 3)
		return usage();
	if (!strcmp(mode, "api-reopen"))
		return api_reopen(dir);
	if (!strcmp(mode, "jstat"))
		return jstat(dir);
	return usage();
}
