/* test_writer.c - iso/writer: sessions written and read back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "common/bytes.h"
#include "common/error.h"
#include "common/sector.h"
#include "iso/node.h"
#include "iso/reader.h"
#include "iso/writer.h"
#include "tap.h"

#define NOW 1700000000

/* ---- content: a byte pattern, so no data needs to be kept ---------- */

struct pattern {
	struct iso_content base;
	uint8_t seed;
	int *reads; /* counts read calls, if set */
};

static uint8_t pattern_byte(uint8_t seed, uint64_t off)
{
	return (uint8_t)(seed + off * 7 + (off >> 11));
}

static int pattern_read(struct iso_content *c, uint64_t off, void *buf,
			size_t len)
{
	struct pattern *p = (struct pattern *)c;
	uint8_t *b = buf;

	if (p->reads)
		(*p->reads)++;
	for (size_t i = 0; i < len; i++)
		b[i] = pattern_byte(p->seed, off + i);
	return 0;
}

static void pattern_release(struct iso_content *c)
{
	free(c);
}

static const struct iso_content_ops pattern_ops = {.read = pattern_read,
						   .release = pattern_release};

static struct iso_node *add(struct iso_node *dir, const char *name, mode_t mode)
{
	struct iso_node *n = iso_node_new(name, mode);

	if (!n || iso_node_add_child(dir, n)) {
		fprintf(stderr, "cannot add %s\n", name);
		exit(2);
	}
	n->mtime.tv_sec = NOW - 1000;
	n->atime.tv_sec = NOW - 500;
	n->ctime.tv_sec = NOW - 100;
	if (S_ISDIR(mode))
		n->nlink = 2;
	return n;
}

static struct iso_node *add_file(struct iso_node *dir, const char *name,
				 uint64_t size, uint8_t seed, int *reads)
{
	struct iso_node *n = add(dir, name, S_IFREG | 0644);
	struct pattern *p = calloc(1, sizeof(*p));

	p->base.ops = &pattern_ops;
	p->seed = seed;
	p->reads = reads;
	n->content = &p->base;
	n->size = size;
	return n;
}

/* ---- a disc in memory: the session written at its LBA ------------- */

struct mem_disc {
	struct cds_source *src;
	uint8_t *data;
};

/* Write the session for @root at @start into a fresh disc image. */
static int write_disc(struct iso_node *root, struct iso_write_opts *o,
		      struct mem_disc *d, struct iso_writer **wout)
{
	struct iso_writer *w;
	uint32_t n;
	int rc = iso_writer_new(root, o, &w);

	if (rc)
		return rc;
	n = iso_writer_nsectors(w);
	d->data = calloc((size_t)o->start_lba + n, CDS_SECTOR_SIZE);
	rc = cds_mem_source_new(
	    d->data, ((size_t)o->start_lba + n) * CDS_SECTOR_SIZE, &d->src);
	if (!rc)
		rc = iso_writer_read(
		    w, 0, n, d->data + (size_t)o->start_lba * CDS_SECTOR_SIZE);
	if (wout && !rc)
		*wout = w;
	else
		iso_writer_free(w);
	return rc;
}

static struct iso_node *new_root(void)
{
	struct iso_node *r = iso_node_new("", S_IFDIR | 0755);

	r->mtime.tv_sec = NOW - 2000;
	r->nlink = 2;
	return r;
}

/* ---- tests ------------------------------------------------------------ */

static void test_layout(void)
{
	struct iso_node *root = new_root();
	struct iso_write_opts o = {.start_lba = 1000,
				   .volume_id = "MY_DISC",
				   .tag = "commit-42",
				   .now = NOW};
	struct mem_disc d;
	struct iso_writer *w = NULL;
	uint8_t *vd;
	uint32_t n;

	add_file(root, "a.txt", 5000, 1, NULL);
	ok(write_disc(root, &o, &d, &w) == 0, "layout: written");
	n = iso_writer_nsectors(w);
	vd = d.data + (size_t)(1000 + 16) * CDS_SECTOR_SIZE;
	ok(vd[0] == 1 && memcmp(vd + 1, "CD001", 5) == 0, "layout: PVD at +16");
	ok(vd[2048] == 2 && memcmp(vd + 2048 + 88, "%/E", 3) == 0,
	   "layout: Joliet SVD at +17");
	ok(vd[4096] == 255, "layout: terminator at +18");
	is_int(cds_get_le32(vd + 80), 1000 + n,
	       "layout: volume space size counts from LBA 0");
	is_int(cds_get_le32(vd + 2048 + 80), 1000 + n,
	       "layout: SVD volume space size equal");
	ok(memcmp(vd + 40, "MY_DISC ", 8) == 0, "layout: volume id");
	ok(memcmp(vd + 883, "CDSESSION-TAG:commit-42", 23) == 0,
	   "layout: tag in the application use field");
	/* the root record points into the session, absolute */
	ok(cds_get_le32(vd + 156 + 2) > 1000 + 18 &&
	       cds_get_le32(vd + 156 + 2) < 1000 + n,
	   "layout: root extent is absolute");
	/* path table: L table's first record is the root */
	{
		uint32_t pt = cds_get_le32(vd + 140);
		uint8_t *p = d.data + (size_t)pt * CDS_SECTOR_SIZE;

		is_int(p[0], 1, "layout: path table root id length");
		is_int(cds_get_le32(p + 2), cds_get_le32(vd + 156 + 2),
		       "layout: path table root extent");
		is_int(cds_get_be32(vd + 148), pt + 1,
		       "layout: M table after the L table");
	}
	/* 150 sectors of padding at the end are zero */
	{
		size_t off = (size_t)(1000 + n - 150) * CDS_SECTOR_SIZE;
		size_t i;

		for (i = 0; i < 150 * CDS_SECTOR_SIZE; i++)
			if (d.data[off + i])
				break;
		is_int(i, 150 * CDS_SECTOR_SIZE, "layout: end padding zero");
	}
	/* the same tree and time give the same bytes, in any read order */
	{
		uint8_t *again = malloc((size_t)n * CDS_SECTOR_SIZE);
		int bad = 0;

		for (uint32_t s = n; s-- > 0;)
			bad |= iso_writer_read(
			    w, s, 1, again + (size_t)s * CDS_SECTOR_SIZE);
		ok(!bad &&
		       memcmp(again, d.data + (size_t)1000 * CDS_SECTOR_SIZE,
			      (size_t)n * CDS_SECTOR_SIZE) == 0,
		   "layout: backwards reads give the same sectors");
		ok(iso_writer_read(w, n - 1, 2, again) == -EINVAL,
		   "layout: reading past the end is refused");
		free(again);
	}
	iso_writer_free(w);
	cds_source_close(d.src);
	free(d.data);
	iso_node_free(root);
}

static void check_same(const struct iso_node *want, const struct iso_node *got,
		       const char *what)
{
	ok(got != NULL, "%s: present", what);
	if (!got)
		return;
	is_int(got->mode, want->mode, "%s: mode", what);
	is_int(got->uid, want->uid, "%s: uid", what);
	is_int(got->gid, want->gid, "%s: gid", what);
	is_int(got->mtime.tv_sec, want->mtime.tv_sec, "%s: mtime", what);
	is_int(got->atime.tv_sec, want->atime.tv_sec, "%s: atime", what);
	is_int(got->ctime.tv_sec, want->ctime.tv_sec, "%s: ctime", what);
	if (!S_ISDIR(want->mode))
		is_int(got->size, want->size, "%s: size", what);
}

static void test_round_trip(void)
{
	struct iso_node *root = new_root(), *n, *sub, *got;
	struct iso_write_opts o = {.start_lba = 0, .now = NOW};
	struct iso_reader *r = NULL;
	struct mem_disc d;
	char longname[256], target[4096];
	int rc;

	memset(longname, 'L', 255);
	longname[255] = 0;
	memset(target, 't', 4095);
	for (int i = 100; i < 4095; i += 100)
		target[i] = '/';
	target[4095] = 0;

	n = add_file(root, "plain.txt", 12345, 3, NULL);
	n->uid = 1000;
	n->gid = 100;
	n->mode = S_IFREG | 0640;
	add_file(root, "empty", 0, 0, NULL);
	add_file(root, longname, 10, 4, NULL);
	n = add(root, "sym", S_IFLNK | 0777);
	iso_node_set_symlink(n, target);
	n->size = strlen(target);
	n = add(root, "abs", S_IFLNK | 0777);
	iso_node_set_symlink(n, "/etc/../usr/./lib");
	n->size = strlen(n->symlink);
	n = add(root, "null", S_IFCHR | 0666);
	n->rdev = makedev(1, 3);
	n = add(root, "sda", S_IFBLK | 0660);
	n->rdev = makedev(8, 300);
	add(root, "fifo", S_IFIFO | 0600);
	sub = add(root, "Ünïcödé dir", S_IFDIR | 0750);
	n = add_file(sub, "one", 3000, 9, NULL);
	n->ino = 77;
	n->nlink = 2;
	n = add_file(sub, "two", 3000, 9, NULL);
	n->ino = 77;
	n->nlink = 2;

	ok(write_disc(root, &o, &d, NULL) == 0, "round trip: written");
	rc = iso_reader_open(d.src, 0, NULL, &r);
	ok(rc == 0, "round trip: opened (%s)", rc ? cds_errmsg(rc) : "");
	if (rc)
		goto out;
	is_int(iso_reader_kind(r), ISO_TREE_ROCK_RIDGE, "round trip: rock");
	ok(iso_reader_tag(r) == NULL, "round trip: no tag");
	ok(iso_reader_lookup(r, "/plain.txt", &got) == 0, "lookup plain.txt");
	check_same(iso_node_find_child(root, "plain.txt"), got, "plain.txt");
	{
		uint8_t buf[12345 + 10];
		int bad = 0;

		rc = iso_reader_read_file(r, got, 0, buf, sizeof(buf));
		is_int(rc, 12345, "plain.txt: read size");
		for (int i = 0; i < 12345; i++)
			bad |= buf[i] != pattern_byte(3, (uint64_t)i);
		ok(!bad, "plain.txt: content");
	}
	ok(iso_reader_lookup(r, "/empty", &got) == 0 && got->size == 0,
	   "empty file");
	ok(iso_reader_lookup(r, "/fifo", &got) == 0 && S_ISFIFO(got->mode),
	   "fifo");
	{
		char path[300];

		snprintf(path, sizeof(path), "/%s", longname);
		ok(iso_reader_lookup(r, path, &got) == 0,
		   "255-byte name survives (NM in a CE)");
	}
	ok(iso_reader_lookup(r, "/sym", &got) == 0 && got->symlink &&
	       strcmp(got->symlink, target) == 0,
	   "4095-byte symlink target survives (SL over CEs)");
	ok(iso_reader_lookup(r, "/abs", &got) == 0 && got->symlink &&
	       strcmp(got->symlink, "/etc/../usr/./lib") == 0,
	   "absolute symlink with . and .. components");
	ok(iso_reader_lookup(r, "/null", &got) == 0 && S_ISCHR(got->mode) &&
	       got->rdev == makedev(1, 3),
	   "char device 1:3");
	ok(iso_reader_lookup(r, "/sda", &got) == 0 && S_ISBLK(got->mode) &&
	       got->rdev == makedev(8, 300),
	   "block device 8:300");
	ok(iso_reader_lookup(r, "/Ünïcödé dir", &sub) == 0, "UTF-8 dir");
	check_same(iso_node_find_child(root, "Ünïcödé dir"), sub, "UTF-8 dir");
	{
		struct iso_node *a = NULL, *b = NULL;

		iso_reader_lookup(r, "/Ünïcödé dir/one", &a);
		iso_reader_lookup(r, "/Ünïcödé dir/two", &b);
		ok(a && b && a->ino == 77 && b->ino == 77,
		   "hard links keep their serial");
		ok(a && b && a->nextents == 1 && b->nextents == 1 &&
		       a->extents[0].lba == b->extents[0].lba,
		   "hard links share one extent");
		ok(a && a->nlink == 2, "hard link count");
	}
	ok(iso_reader_max_ino(r) >= 77, "max serial seen");
out:
	iso_reader_close(r);
	cds_source_close(d.src);
	free(d.data);
	iso_node_free(root);
}

/* Files that keep extents of an earlier session are only pointed at. */
static void test_kept_extents(void)
{
	struct iso_node *root = new_root(), *n, *got;
	struct iso_write_opts o = {.start_lba = 500, .now = NOW};
	struct iso_extent ext = {100, 4096};
	struct iso_reader *r = NULL;
	struct iso_writer *w = NULL;
	struct mem_disc d;
	int reads = 0;

	n = add(root, "old", S_IFREG | 0644);
	n->size = 4096;
	iso_node_set_extents(n, &ext, 1);
	n->ino = 5;
	add_file(root, "new", 4096, 1, &reads);
	ok(write_disc(root, &o, &d, &w) == 0, "kept: written");
	/* 2 data sectors: only the new file's */
	ok(iso_reader_open(d.src, 500, NULL, &r) == 0, "kept: opened");
	ok(iso_reader_lookup(r, "/old", &got) == 0 && got->nextents == 1 &&
	       got->extents[0].lba == 100 && got->extents[0].length == 4096,
	   "kept: old extent unchanged");
	ok(got && got->ino == 5, "kept: old serial unchanged");
	ok(iso_reader_lookup(r, "/new", &got) == 0 && got->ino > 5,
	   "kept: new file gets a fresh serial above the old ones");
	ok(got && got->extents && got->extents[0].lba >= 500,
	   "kept: new data inside the new session");
	is_int(reads, 1, "kept: the new content is read once");
	iso_reader_close(r);
	iso_writer_free(w);
	cds_source_close(d.src);
	free(d.data);
	iso_node_free(root);
}

static void test_deep(void)
{
	struct iso_node *root = new_root(), *p = root, *got;
	struct iso_write_opts o = {.now = NOW};
	struct iso_reader *r = NULL;
	struct mem_disc d;
	char path[512] = "";
	int rc;

	for (int i = 1; i <= 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "d%d", i);
		p = add(p, name, S_IFDIR | 0755);
		strcat(path, "/");
		strcat(path, name);
	}
	add_file(p, "leaf", 10, 1, NULL);
	add(p, "empty dir", S_IFDIR | 0755); /* no records to sort */
	strcat(path, "/leaf");
	ok(write_disc(root, &o, &d, NULL) == 0, "deep: written");
	ok(iso_reader_open(d.src, 0, NULL, &r) == 0, "deep: opened");
	rc = iso_reader_lookup(r, path, &got);
	ok(rc == 0, "deep: 20 levels read back through CL (%s)",
	   rc ? cds_errmsg(rc) : "");
	ok(iso_reader_lookup(r, "/rr_moved", &got) != 0,
	   "deep: the reader hides rr_moved");
	iso_reader_close(r);
	/* Joliet keeps the real hierarchy */
	{
		struct iso_read_opts ro = {.no_rock = true};

		r = NULL;
		ok(iso_reader_open(d.src, 0, &ro, &r) == 0 &&
		       iso_reader_kind(r) == ISO_TREE_JOLIET,
		   "deep: Joliet tree");
		ok(r && iso_reader_lookup(r, path, &got) == 0,
		   "deep: 20 levels in Joliet");
		iso_reader_close(r);
	}
	cds_source_close(d.src);
	free(d.data);
	iso_node_free(root);
}

/* Directory records never cross a block; sizes are whole blocks. */
static int scan_records(const uint8_t *dir, uint32_t size)
{
	uint32_t pos = 0, n = 0;

	while (pos < size) {
		uint8_t len = dir[pos];

		if (len == 0) {
			pos = (pos / CDS_SECTOR_SIZE + 1) * CDS_SECTOR_SIZE;
			continue;
		}
		if (pos % CDS_SECTOR_SIZE + len > CDS_SECTOR_SIZE || len % 2)
			return -1;
		pos += len;
		n++;
	}
	return (int)n;
}

static void test_many(void)
{
	struct iso_node *root = new_root(), *dir;
	struct iso_write_opts o = {.now = NOW};
	struct iso_reader *r = NULL;
	struct mem_disc d;
	uint8_t *vd;
	int n;

	dir = add(root, "many", S_IFDIR | 0755);
	/* names that all map to the same ISO 9660 and Joliet stem */
	for (int i = 0; i < 10000; i++) {
		char name[80];

		snprintf(name, sizeof(name),
			 "a very long file name that collides after mangling "
			 "%05d.txt",
			 i);
		add_file(dir, name, 0, 0, NULL);
	}
	ok(write_disc(root, &o, &d, NULL) == 0, "many: written");
	ok(iso_reader_open(d.src, 0, NULL, &r) == 0 &&
	       iso_reader_load_all(r) == 0,
	   "many: read back");
	{
		struct iso_node *m = NULL;

		iso_reader_lookup(r, "/many", &m);
		is_int(m ? m->nchildren : 0, 10000, "many: 10000 entries");
	}
	iso_reader_close(r);
	r = NULL;
	{
		struct iso_read_opts ro = {.no_rock = true, .no_joliet = true};
		struct iso_node *m = NULL;

		ok(iso_reader_open(d.src, 0, &ro, &r) == 0 &&
		       iso_reader_kind(r) == ISO_TREE_PLAIN,
		   "many: plain ISO 9660 tree");
		int rc = r ? iso_reader_lookup(r, "/many", &m) : -1;

		if (!rc)
			rc = iso_reader_load_dir(r, m);

		ok(rc == 0 && m->nchildren == 10000,
		   "many: 10000 distinct ISO 9660 names (%s, %u)",
		   rc ? cds_errmsg(rc) : "", m ? m->nchildren : 0);
		iso_reader_close(r);
		r = NULL;
	}
	{
		struct iso_read_opts ro = {.no_rock = true};
		struct iso_node *m = NULL;

		int rc = iso_reader_open(d.src, 0, &ro, &r);

		if (!rc)
			rc = iso_reader_lookup(r, "/many", &m);
		if (!rc)
			rc = iso_reader_load_dir(r, m);
		ok(rc == 0 && m->nchildren == 10000,
		   "many: 10000 distinct Joliet names (%s, %u)",
		   rc ? cds_errmsg(rc) : "", m ? m->nchildren : 0);
		iso_reader_close(r);
	}
	/* walk the raw ECMA-119 root: records stay inside blocks */
	vd = d.data + 16 * CDS_SECTOR_SIZE;
	n = scan_records(d.data + (size_t)cds_get_le32(vd + 156 + 2) *
				      CDS_SECTOR_SIZE,
			 cds_get_le32(vd + 156 + 10));
	is_int(n, 3, "many: root has . .. many");
	cds_source_close(d.src);
	free(d.data);
	iso_node_free(root);
}

/* A level-3 file over 4 GiB: sections of 4 GiB - 2 KiB, data by pattern. */
static void test_multi_extent(void)
{
	struct iso_node *root = new_root(), *got;
	struct iso_write_opts o = {.now = NOW};
	struct iso_writer *w = NULL;
	struct iso_reader *r = NULL;
	struct cds_source *src = NULL;
	uint64_t size = 5ull << 30;
	uint8_t buf[CDS_SECTOR_SIZE];
	int rc;

	add_file(root, "big", size, 7, NULL);
	ok(iso_writer_new(root, &o, &w) == 0, "multi-extent: planned");
	ok(iso_writer_nsectors(w) > size / CDS_SECTOR_SIZE,
	   "multi-extent: size known before writing");
	ok(iso_writer_source(w, &src) == 0, "multi-extent: as a source");
	rc = iso_reader_open(src, 0, NULL, &r);
	ok(rc == 0, "multi-extent: opened (%s)", rc ? cds_errmsg(rc) : "");
	ok(r && iso_reader_lookup(r, "/big", &got) == 0, "multi-extent: found");
	if (r && got) {
		is_int(got->size, size, "multi-extent: size");
		is_int(got->nextents, 2, "multi-extent: two sections");
		is_int(got->extents[0].length, 0xFFFFF800u,
		       "multi-extent: first section 4 GiB - 2 KiB");
		/* the last sector's content, through the reader */
		rc = iso_reader_read_file(r, got, size - 100, buf, 100);
		is_int(rc, 100, "multi-extent: read the tail");
		ok(buf[99] == pattern_byte(7, size - 1) &&
		       buf[0] == pattern_byte(7, size - 100),
		   "multi-extent: tail content");
		rc = iso_reader_read_file(r, got, 0xFFFFF800u - 50, buf, 100);
		ok(rc == 100 && buf[50] == pattern_byte(7, 0xFFFFF800u) &&
		       buf[49] == pattern_byte(7, 0xFFFFF800u - 1),
		   "multi-extent: a read across the section boundary");
	}
	iso_reader_close(r);
	cds_source_close(src);
	iso_writer_free(w);
	iso_node_free(root);
}

static void test_errors(void)
{
	struct iso_node *root = new_root(), *n;
	struct iso_write_opts o = {.now = NOW};
	struct iso_writer *w = NULL;
	int rc;

	n = add(root, "x", S_IFREG | 0644);
	free(n->name);
	n->name = strdup("a/b");
	rc = iso_writer_new(root, &o, &w);
	ok(rc == -EINVAL && strstr(cds_errmsg(rc), "a/b"),
	   "errors: '/' in a name named (%s)", cds_errmsg(rc));
	free(n->name);
	n->name = strdup("..");
	rc = iso_writer_new(root, &o, &w);
	ok(rc == -EINVAL, "errors: '..' refused (%s)", cds_errmsg(rc));
	free(n->name);
	n->name = strdup("bad\xff");
	rc = iso_writer_new(root, &o, &w);
	ok(rc < 0, "errors: invalid UTF-8 refused (%s)", cds_errmsg(rc));
	free(n->name);
	n->name = strdup("ok");
	n->size = 10; /* no extents, no content */
	rc = iso_writer_new(root, &o, &w);
	ok(rc == -EINVAL, "errors: file without data (%s)", cds_errmsg(rc));
	n->size = 0;
	{
		char t[5000];

		n = add(root, "sym", S_IFLNK | 0777);
		memset(t, 'a', sizeof(t) - 1);
		t[sizeof(t) - 1] = 0;
		iso_node_set_symlink(n, t);
		rc = iso_writer_new(root, &o, &w);
		ok(rc == -ENAMETOOLONG && strstr(cds_errmsg(rc), "/sym"),
		   "errors: symlink too long (%s)", cds_errmsg(rc));
		iso_node_set_symlink(n, "a");
	}
	o.volume_id = "THIS VOLUME ID IS FAR TOO LONG TO FIT";
	rc = iso_writer_new(root, &o, &w);
	ok(rc == -EINVAL, "errors: long volume id (%s)", cds_errmsg(rc));
	o.volume_id = NULL;
	o.tag = "has space";
	rc = iso_writer_new(root, &o, &w);
	ok(rc == -EINVAL, "errors: bad tag (%s)", cds_errmsg(rc));
	o.tag = NULL;
	o.start_lba = UINT32_MAX - 100;
	rc = iso_writer_new(root, &o, &w);
	ok(rc == -EFBIG, "errors: past 2^32 sectors (%s)", cds_errmsg(rc));
	o.start_lba = 0;
	rc = iso_writer_new(root, &o, &w);
	ok(rc == 0, "errors: the fixed tree is fine");
	iso_writer_free(w);
	iso_node_free(root);
}

int main(void)
{
	test_layout();
	test_round_trip();
	test_kept_extents();
	test_deep();
	test_many();
	test_multi_extent();
	test_errors();
	return tap_done();
}
