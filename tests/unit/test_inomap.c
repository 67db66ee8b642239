/*
 * test_inomap.c - fs/inomap: stable numbers equal the overlay's inodes
 * before a commit; across a commit (the view captured, a new overlay over
 * a base that is that view) every path keeps its number, hard links keep
 * one number, files created later get numbers above all earlier ones, and
 * a deleted file's number maps to no inode.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/inomap.h"
#include "iso/node.h"
#include "staging/overlay.h"
#include "staging/store.h"
#include "tap.h"

static int no_read(void *ctx, const struct iso_node *n, uint64_t off, void *buf,
		   size_t len)
{
	(void)ctx, (void)n, (void)off;
	memset(buf, 0, len); /* the snapshot's bases have no extents */
	return 0;
}

static uint64_t at(struct stg_overlay *ov, const char *path)
{
	uint64_t ino;
	return stg_lookup_path(ov, path, &ino) ? 0 : ino;
}

int main(void)
{
	static const unsigned char id1[] = "base one", id2[] = "base two";
	char d1[512], d2[512];
	struct stg_store *s1 = NULL, *s2 = NULL;
	struct stg_overlay *a = NULL, *b = NULL;
	struct iso_node *empty = iso_node_new("", S_IFDIR | 0755), *snap = NULL;
	struct fs_inomap *m = NULL;
	struct fs_inomap_capture *cap = NULL;
	uint64_t dir, f, gone, nr_dir, nr_f, nr_gone;

	snprintf(d1, sizeof(d1), "%s/s1", tap_tmpdir());
	snprintf(d2, sizeof(d2), "%s/s2", tap_tmpdir());
	is_int(stg_store_open(d1, &s1), 0, "store 1");
	is_int(stg_overlay_open(s1, empty, id1, sizeof(id1), no_read, NULL, &a),
	       0, "overlay over an empty base");
	is_int(fs_inomap_new(&m), 0, "map");
	if (!a || !m)
		return tap_done();

	stg_mkdir(a, STG_ROOT_INO, "d", 0755, 0, 0, &dir);
	stg_create(a, dir, "f", 0644, 0, 0, &f);
	stg_write(a, f, 0, "data", 4);
	stg_link(a, f, STG_ROOT_INO, "g");
	stg_create(a, STG_ROOT_INO, "gone", 0644, 0, 0, &gone);

	/* before a commit: the overlay's numbers */
	is_int(fs_inomap_stable(m, STG_ROOT_INO), STG_ROOT_INO, "root is 1");
	nr_dir = fs_inomap_stable(m, dir);
	nr_f = fs_inomap_stable(m, f);
	nr_gone = fs_inomap_stable(m, gone);
	is_int(nr_dir, dir, "identity before a commit (dir)");
	is_int(nr_f, f, "identity before a commit (file)");
	is_int(fs_inomap_ino(m, nr_f), f, "and back");
	is_int(fs_inomap_stable(m, 0), 0, "inode 0 has no number");

	/* the commit: capture, then a new overlay over the view as its base */
	stg_unlink(a, STG_ROOT_INO, "gone");
	is_int(fs_inomap_capture(m, a, &cap), 0, "capture");
	is_int(stg_snapshot(a, &snap), 0, "the view as a tree");
	is_int(stg_store_open(d2, &s2), 0, "store 2");
	is_int(stg_overlay_open(s2, snap, id2, sizeof(id2), no_read, NULL, &b),
	       0, "overlay over the new base");
	if (!b || !cap)
		return tap_done();
	is_int(fs_inomap_rebase(m, cap, b), 0, "rebase");
	fs_inomap_capture_free(cap);

	uint64_t bdir = at(b, "d"), bf = at(b, "d/f"), bg = at(b, "g");
	ok(bdir && bf && bg, "the paths are in the new overlay");
	/* stg_lookup_path: extra slashes, the root, missing and long names */
	is_int(at(b, "//d///f/"), bf, "path with extra slashes");
	is_int(at(b, ""), STG_ROOT_INO, "empty path is the root");
	uint64_t ino;
	is_int(stg_lookup_path(b, "/gone", &ino), -ENOENT, "missing name");
	char longname[300];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	is_int(stg_lookup_path(b, longname, &ino), -ENAMETOOLONG,
	       "a name over 255 bytes");
	is_int(bf, bg, "the hard link is one inode there too");
	is_int(fs_inomap_stable(m, bdir), nr_dir,
	       "the directory keeps its number");
	is_int(fs_inomap_stable(m, bf), nr_f, "the file keeps its number");
	is_int(fs_inomap_stable(m, bg), nr_f, "its other name too");
	is_int(fs_inomap_ino(m, nr_f), bf, "the number finds the new inode");
	is_int(fs_inomap_ino(m, nr_gone), 0, "a deleted file's number: none");
	is_int(fs_inomap_stable(m, STG_ROOT_INO), STG_ROOT_INO, "root stays 1");

	/* a file made after the commit: a number above every earlier one */
	uint64_t h, nr_h;
	stg_create(b, STG_ROOT_INO, "h", 0644, 0, 0, &h);
	nr_h = fs_inomap_stable(m, h);
	ok(nr_h > nr_gone && nr_h > nr_f && nr_h > nr_dir,
	   "new number %llu above the old ones", (unsigned long long)nr_h);
	is_int(fs_inomap_ino(m, nr_h), h, "and it maps back");
	fs_inomap_drop(m, h);
	is_int(fs_inomap_ino(m, nr_h), 0, "dropped: no inode");

	fs_inomap_free(m);
	iso_node_free(snap);
	stg_overlay_close(b);
	stg_store_close(s2);
	stg_overlay_close(a);
	stg_store_close(s1);
	iso_node_free(empty);
	return tap_done();
}
