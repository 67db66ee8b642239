/*
 * test_commit.c - staging/commit: the intent record (round trip, every
 * damaged form refused), the release (journal, data and intent gone, the
 * next open empty) and the store's state against a disc in each case.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"
#include "iso/node.h"
#include "staging/commit.h"
#include "staging/journal.h"
#include "staging/overlay.h"
#include "staging/store.h"
#include "tap.h"

static void make_base_id(uint8_t *id, uint32_t start, uint8_t salt)
{
	memset(id, 0, STG_BASE_ID_SIZE);
	memcpy(id, "CDSBASE1", 8);
	id[8] = (uint8_t)start;
	id[9] = (uint8_t)(start >> 8);
	id[10] = (uint8_t)(start >> 16);
	id[11] = (uint8_t)(start >> 24);
	for (int i = 16; i < 24; i++)
		id[i] = (uint8_t)(salt * 13 + i);
}

static int no_base_read(void *ctx, const struct iso_node *n, uint64_t off,
			void *buf, size_t len)
{
	(void)ctx, (void)n, (void)off, (void)buf, (void)len;
	return -EIO; /* the base has no files */
}

/* Entries of @path whose names start with @prefix ("" = all but . and
 * ..); (size_t)-1 when @path is missing. */
static size_t count_entries(const char *path, const char *prefix)
{
	DIR *d = opendir(path);
	size_t n = 0;
	const struct dirent *e;

	if (!d)
		return (size_t)-1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static size_t count_dir(const char *path)
{
	return count_entries(path, "");
}

/* DIR/released.* directories */
static size_t count_released(const char *path)
{
	return count_entries(path, "released.");
}

/* Files under @path and in its subdirectories (the overlay keeps data
 * files in data/XX/); (size_t)-1 when @path is missing. */
static size_t count_files(const char *path)
{
	DIR *d = opendir(path);
	size_t n = 0;
	const struct dirent *e;

	if (!d)
		return (size_t)-1;
	while ((e = readdir(d))) {
		char sub[1024];
		struct stat sb;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (!lstat(sub, &sb) && S_ISDIR(sb.st_mode))
			n += count_dir(sub);
		else
			n++;
	}
	closedir(d);
	return n;
}

static bool exists(const char *dir, const char *name)
{
	char p[512];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &sb) == 0;
}

static void test_tags(void)
{
	char a[STG_TAG_MAX + 1], b[STG_TAG_MAX + 1];

	is_int(stg_commit_new_tag(a), 0, "tag made");
	is_int(stg_commit_new_tag(b), 0, "second tag made");
	is_int(strlen(a), 20, "tag is cds- and 16 hex digits: %s", a);
	ok(strncmp(a, "cds-", 4) == 0 &&
	       strspn(a + 4, "0123456789abcdef") == 16,
	   "tag alphabet");
	ok(strcmp(a, b) != 0, "two tags differ");
}

static void test_intent_bytes(void)
{
	struct stg_intent in = {.start = 123456}, out;
	uint8_t buf[STG_INTENT_MAX], bad[STG_INTENT_MAX];
	size_t len;

	make_base_id(in.base, 3000, 1);
	snprintf(in.tag, sizeof(in.tag), "cds-0123456789abcdef");
	len = stg_intent_encode(&in, buf);
	is_int(len, 8 + 32 + 8 + 20 + 4, "intent length");
	is_mem(buf, "CDSINT01", 8, "without a time: version 1, as before");
	memset(&out, 0, sizeof(out));
	out.now = 5;
	is_int(stg_intent_parse(buf, len, &out), 0, "intent parses");
	is_mem(out.base, in.base, STG_BASE_ID_SIZE, "base kept");
	is_int(out.start, 123456, "start kept");
	is_str(out.tag, in.tag, "tag kept");
	ok(out.now == 0, "version 1: no time (cannot resume)");

	/* version 2 carries the writer's time */
	in.now = (int64_t)1795000000 + ((int64_t)1 << 40);
	len = stg_intent_encode(&in, buf);
	is_int(len, 8 + 32 + 8 + 8 + 20 + 4, "version 2 length");
	is_mem(buf, "CDSINT02", 8, "with a time: version 2");
	memset(&out, 0, sizeof(out));
	is_int(stg_intent_parse(buf, len, &out), 0, "version 2 parses");
	ok(out.now == in.now, "time kept (64 bits)");
	is_int(out.start, 123456, "start kept");
	is_str(out.tag, in.tag, "tag kept");
	/* a version 2 intent is never written with time 0 */
	memset(buf + 8 + 32 + 4, 0, 8);
	cds_put_le32(buf + len - 4, stg_crc32c(0, buf, len - 4));
	is_int(stg_intent_parse(buf, len, &out), -EUCLEAN,
	       "version 2 with time 0 refused");
	len = stg_intent_encode(&in, buf);

	/* every single-bit flip and every cut is refused */
	size_t flips_refused = 0, cuts_refused = 0;
	for (size_t i = 0; i < len * 8; i++) {
		memcpy(bad, buf, len);
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		flips_refused += stg_intent_parse(bad, len, &out) == -EUCLEAN;
	}
	is_int(flips_refused, len * 8, "all %zu bit flips refused", len * 8);
	for (size_t cut = 0; cut < len; cut++)
		cuts_refused += stg_intent_parse(buf, cut, &out) == -EUCLEAN;
	is_int(cuts_refused, len, "all %zu cuts refused", len);

	/* a tag with a space or control byte is refused even with a good CRC */
	snprintf(in.tag, sizeof(in.tag), "bad tag");
	len = stg_intent_encode(&in, buf);
	is_int(stg_intent_parse(buf, len, &out), -EUCLEAN,
	       "tag with a space refused");
}

static void test_intent_file(const char *dir)
{
	struct stg_store *st = NULL;
	struct stg_intent in = {.start = 777}, out;

	is_int(stg_store_open(dir, &st), 0, "store open");
	is_int(stg_commit_read_intent(st, &out), -ENOENT, "no intent yet");
	make_base_id(in.base, 50, 2);
	snprintf(in.tag, sizeof(in.tag), "cds-feedfacecafebeef");
	in.now = 1795000000;
	is_int(stg_commit_intent(st, &in), 0, "intent written");
	ok(!exists(dir, "intent.tmp"), "no temporary left");
	memset(&out, 0, sizeof(out));
	is_int(stg_commit_read_intent(st, &out), 0, "intent read back");
	is_str(out.tag, in.tag, "tag read back");
	is_int(out.start, 777, "start read back");
	ok(out.now == 1795000000, "time read back");

	snprintf(in.tag, sizeof(in.tag), "has space");
	is_int(stg_commit_intent(st, &in), -EINVAL, "bad tag not written");
	is_int(stg_commit_read_intent(st, &out), 0, "old intent intact");
	is_str(out.tag, "cds-feedfacecafebeef", "old tag intact");

	/* damage the file on disk: reported, not trusted */
	char p[512];
	snprintf(p, sizeof(p), "%s/intent", dir);
	int fd = open(p, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, "X", 1, 60) == 1, "damage the intent");
	close(fd);
	is_int(stg_commit_read_intent(st, &out), -EUCLEAN, "damage noticed");
	ok(strstr(cds_errmsg(-EUCLEAN), "damaged") != NULL, "message: %s",
	   cds_errmsg(-EUCLEAN));
	is_int(stg_commit_drop_intent(st), 0, "intent dropped");
	is_int(stg_commit_read_intent(st, &out), -ENOENT, "intent gone");
	is_int(stg_commit_drop_intent(st), 0, "dropping none is fine");
	stg_store_close(st);
}

/* Stage two files over @base_id in @dir; returns the store, left open. */
static struct stg_store *stage_some(const char *dir, const uint8_t *base_id)
{
	struct stg_store *st = NULL;
	struct stg_overlay *ov = NULL;
	struct iso_node *root = iso_node_new("", S_IFDIR | 0755);
	uint64_t a, b;

	if (stg_store_open(dir, &st))
		return NULL;
	if (!root || stg_overlay_open(st, root, base_id, STG_BASE_ID_SIZE,
				      no_base_read, NULL, &ov)) {
		stg_store_close(st);
		iso_node_free(root);
		return NULL;
	}
	stg_create(ov, STG_ROOT_INO, "a", 0644, 0, 0, &a);
	stg_create(ov, STG_ROOT_INO, "b", 0600, 0, 0, &b);
	stg_write(ov, a, 0, "hello", 5);
	stg_write(ov, b, 0, "world!", 6);
	stg_sync(ov);
	stg_overlay_close(ov);
	iso_node_free(root);
	return st;
}

static void test_release_and_state(const char *dir)
{
	uint8_t base1[STG_BASE_ID_SIZE], base2[STG_BASE_ID_SIZE],
	    base3[STG_BASE_ID_SIZE];
	struct stg_state_info si;
	struct stg_intent in = {.start = 4000};
	char data[512];

	make_base_id(base1, 0, 1);
	make_base_id(base2, 4000, 2);
	make_base_id(base3, 4000, 3);
	snprintf(data, sizeof(data), "%s/data", dir);

	struct stg_store *st = stage_some(dir, base1);
	ok(st != NULL, "staged two files");
	if (!st)
		return;
	is_int(count_files(data), 2, "two data files");
	is_int(stg_store_state(st, base1, NULL, &si), 0, "state");
	is_int(si.state, STG_STATE_CURRENT, "current over base 1");
	is_mem(si.staged_base, base1, STG_BASE_ID_SIZE, "staged base named");
	is_int(stg_store_state(st, base2, "cds-1111111111111111", &si), 0,
	       "state");
	is_int(si.state, STG_STATE_STALE, "stale when the disc moved on");

	/* the commit records its intent; the burn did not happen: the intent
	 * is dropped and the changes stay current */
	memcpy(in.base, base1, STG_BASE_ID_SIZE);
	snprintf(in.tag, sizeof(in.tag), "cds-2222222222222222");
	is_int(stg_commit_intent(st, &in), 0, "intent");
	is_int(stg_store_state(st, base1, NULL, &si), 0, "state");
	is_int(si.state, STG_STATE_CURRENT, "burn never happened: current");
	ok(!exists(dir, "intent"), "stale intent dropped");

	/* a foreign session on the disc: stale, intent kept for the user */
	is_int(stg_commit_intent(st, &in), 0, "intent again");
	is_int(stg_store_state(st, base2, "cds-3333333333333333", &si), 0,
	       "state");
	is_int(si.state, STG_STATE_STALE, "foreign tag: stale");
	is_int(stg_store_state(st, base2, NULL, &si), 0, "state");
	is_int(si.state, STG_STATE_STALE, "untagged session: stale");
	ok(exists(dir, "intent"), "intent kept while stale");
	is_int(count_files(data), 2, "nothing dropped while stale");
	int rc = stg_stale_error(st, base1, base2);
	is_int(rc, -ESTALE, "stale error");
	ok(strstr(cds_errmsg(rc), "LBA 0") &&
	       strstr(cds_errmsg(rc), "LBA 4000") &&
	       strstr(cds_errmsg(rc), "cdsession staging"),
	   "stale message names both sessions and the commands: %s",
	   cds_errmsg(rc));

	static const uint8_t blank[STG_BASE_ID_SIZE];
	rc = stg_stale_error(st, blank, base2);
	ok(strstr(cds_errmsg(rc), "made over a blank disc") != NULL,
	   "staged on a blank disc: %s", cds_errmsg(rc));
	rc = stg_stale_error(st, base1, blank);
	ok(strstr(cds_errmsg(rc), "but the disc is blank") != NULL,
	   "the disc is blank now: %s", cds_errmsg(rc));

	/* our session is the disc's last: burnt, then released */
	is_int(stg_store_state(st, base3, "cds-2222222222222222", &si), 0,
	       "state");
	is_int(si.state, STG_STATE_BURNT, "our tag on the disc: burnt");
	is_int(stg_commit_release(st), 0, "release");
	ok(!exists(dir, "journal") && !exists(dir, "intent"),
	   "journal and intent gone");
	ok(!exists(dir, "data"), "the data directory went aside");
	is_int(count_released(dir), 1, "one released directory");
	is_int(stg_store_state(st, base3, "cds-2222222222222222", &si), 0,
	       "state");
	is_int(si.state, STG_STATE_EMPTY, "empty after the release");
	is_int(stg_commit_release(st), 0, "release twice is fine");
	/* the purge deletes them; a stop request is honoured at once */
	volatile bool stop = true;
	is_int(stg_commit_purge(st, &stop), 0, "purge stopped at once");
	is_int(count_released(dir), 1, "nothing purged when told to stop");
	stop = false;
	is_int(stg_commit_purge(st, &stop), 0, "purge");
	is_int(count_released(dir), 0, "released directories deleted");
	stg_store_close(st);

	/* a release cut after the journal went: the next open is empty and
	 * removes the leftover data files */
	st = stage_some(dir, base3);
	ok(st != NULL, "staged again");
	if (!st)
		return;
	char jp[512];
	snprintf(jp, sizeof(jp), "%s/journal", dir);
	ok(unlink(jp) == 0, "crash after the journal's removal");
	is_int(count_files(data), 2, "data files left over");
	stg_store_close(st);
	struct stg_overlay *ov = NULL;
	struct iso_node *root = iso_node_new("", S_IFDIR | 0755);
	is_int(stg_store_open(dir, &st), 0, "reopen store");
	is_int(stg_overlay_open(st, root, base3, STG_BASE_ID_SIZE, no_base_read,
				NULL, &ov),
	       0, "overlay opens");
	uint64_t ino;
	is_int(stg_lookup(ov, STG_ROOT_INO, "a", &ino), -ENOENT,
	       "nothing staged");
	is_int(count_dir(data), 0,
	       "leftovers and their subdirectories removed on open");
	stg_overlay_close(ov);
	iso_node_free(root);

	/* a journal whose header is not a base identity */
	int fd = open(jp, O_WRONLY | O_TRUNC);
	close(fd);
	unlink(jp);
	root = iso_node_new("", S_IFDIR | 0755);
	ov = NULL;
	stg_overlay_open(st, root, "short", 5, no_base_read, NULL, &ov);
	stg_overlay_close(ov);
	iso_node_free(root);
	is_int(stg_store_state(st, base3, NULL, &si), -EUCLEAN,
	       "foreign journal header refused");
	stg_store_close(st);
}

/* Discarding removes the data files, their subdirectories and the store
 * directory itself. */
static void test_discard(const char *dir)
{
	uint8_t base[STG_BASE_ID_SIZE];
	char data[512];
	struct stat sb;

	make_base_id(base, 0, 4);
	snprintf(data, sizeof(data), "%s/data", dir);
	struct stg_store *st = stage_some(dir, base);
	ok(st != NULL, "discard: staged two files");
	if (!st)
		return;
	is_int(count_files(data), 2, "discard: two data files");
	is_int(stg_commit_discard(st), 0, "discard");
	ok(stat(dir, &sb) != 0 && errno == ENOENT, "discard: %s removed", dir);
	stg_store_close(st);
}

int main(void)
{
	char d1[512], d2[512], d3[512];

	snprintf(d1, sizeof(d1), "%s/s1", tap_tmpdir());
	snprintf(d2, sizeof(d2), "%s/s2", tap_tmpdir());
	snprintf(d3, sizeof(d3), "%s/s3", tap_tmpdir());
	test_tags();
	test_intent_bytes();
	test_intent_file(d1);
	test_release_and_state(d2);
	test_discard(d3);
	return tap_done();
}
