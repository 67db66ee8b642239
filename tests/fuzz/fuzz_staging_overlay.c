/*
 * fuzz_staging_overlay.c - replay of untrusted journal records by the
 * staging overlay (staging/overlay.h).
 *
 * The input is a list of records, each [type u8][length u16 LE][payload];
 * they are written as a well-formed journal (right header, sequence and
 * checksums, so the journal's own parser lets them through) over a small
 * base tree, and the overlay is opened on it.  Whatever the records say,
 * open must either succeed with a consistent view (walked, snapshotted,
 * changed once more, some entries exchanged and walked again) or fail with
 * an error: never crash or leak.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iso/node.h"
#include "staging/journal.h"
#include "staging/overlay.h"
#include "staging/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_id[] = "fuzz base";
static struct iso_node *base;
static struct stg_store *store;
static char dir[64];

static int read_base(void *ctx, const struct iso_node *n, uint64_t off,
		     void *buf, size_t len)
{
	(void)ctx;
	if (off > n->size || len > n->size - off)
		abort(); /* the overlay must never ask past the end */
	memset(buf, (int)(n->ino + off), len);
	return 0;
}

static struct iso_node *add(struct iso_node *d, const char *name, mode_t mode,
			    uint64_t ino, uint64_t size)
{
	struct iso_node *n = iso_node_new(name, mode);
	if (!n)
		abort();
	n->ino = ino;
	n->size = size;
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	if (d && iso_node_add_child(d, n))
		abort();
	return n;
}

static void cleanup(void)
{
	char cmd[128];
	stg_store_close(store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

static void setup(void)
{
	base = add(NULL, "", S_IFDIR | 0755, 1, 0);
	add(base, "a", S_IFREG | 0644, 10, 3000);
	struct iso_node *d = add(base, "d", S_IFDIR | 0755, 11, 0);
	add(d, "b", S_IFREG | 0600, 12, 100);
	add(base, "h", S_IFREG | 0644, 13, 50)->nlink = 2;
	add(d, "h", S_IFREG | 0644, 13, 50)->nlink = 2;
	struct iso_node *l = add(d, "l", S_IFLNK | 0777, 14, 1);
	iso_node_set_symlink(l, "a");
	snprintf(dir, sizeof(dir), "/tmp/fuzz_staging_overlay.%d",
		 (int)getpid());
	if (stg_store_open(dir, &store))
		abort();
	atexit(cleanup);
}

static int walk(void *ctx, const char *name, uint64_t ino, mode_t mode,
		uint64_t next)
{
	struct stg_overlay *ov = ctx;
	struct stg_attr a;
	uint64_t again;
	char buf[64];
	(void)next;
	if (stg_getattr(ov, ino, &a) || (a.mode & S_IFMT) != (mode & S_IFMT))
		abort();
	if (stg_lookup(ov, 0, name, &again) == 0)
		abort();
	if (S_ISREG(mode))
		stg_read(ov, ino, a.size > 10 ? a.size - 10 : 0, buf,
			 sizeof(buf));
	if (S_ISLNK(mode) && stg_readlink(ov, ino, buf, sizeof(buf)) < 0)
		abort();
	if (S_ISDIR(mode))
		stg_readdir(ov, ino, 0, walk, ov);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base)
		setup();
	uint8_t *j = malloc(64 + size * 7);
	if (!j)
		return 0;
	size_t len = stg_journal_encode_header(j, base_id, sizeof(base_id));
	uint64_t seq = 1;
	for (size_t off = 0; size - off >= 3;) {
		uint8_t type = data[off];
		size_t n = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		off += 3;
		if (n > size - off)
			n = size - off;
		if (type)
			len += stg_journal_encode_record(j + len, type, seq++,
							 data + off, n);
		off += n;
	}
	char path[128];
	snprintf(path, sizeof(path), "%s/journal", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, j, len) != (ssize_t)len)
		abort();
	close(fd);
	free(j);

	struct stg_overlay *ov;
	if (stg_overlay_open(store, base, base_id, sizeof(base_id), read_base,
			     NULL, &ov))
		return 0;
	stg_readdir(ov, STG_ROOT_INO, 0, walk, ov);
	struct iso_node *snap;
	if (stg_snapshot(ov, &snap) == 0)
		iso_node_free(snap);
	stg_create(ov, STG_ROOT_INO, "zz", 0644, 0, 0, NULL);
	/* exchanges over whatever tree the records built, then a look at
	 * the result */
	uint64_t d;
	if (stg_lookup(ov, STG_ROOT_INO, "d", &d) == 0) {
		stg_rename(ov, STG_ROOT_INO, "zz", d, "b", STG_RENAME_EXCHANGE);
		stg_rename(ov, STG_ROOT_INO, "a", d, "h", STG_RENAME_EXCHANGE);
		stg_rename(ov, d, "b", STG_ROOT_INO, "d", STG_RENAME_EXCHANGE);
		stg_readdir(ov, STG_ROOT_INO, 0, walk, ov);
	}
	stg_overlay_close(ov);
	return 0;
}
