/*
 * fuzz_iso_reader.c - the ISO 9660 / Rock Ridge / Joliet session reader.
 *
 * Input: 3 header bytes, then an image from LBA 16 on (the 16 zero
 * blocks of the system area are implied, which keeps seeds small).
 * Header byte 0: bit 0 no_rock, bit 1 no_joliet, bit 2 the session starts
 * at the block in bytes 1-2 (little-endian) instead of 0.
 * The reader must open, look up, load everything and read every regular
 * file without a crash, a hang or a read outside the source; whatever
 * tree it builds must hold only acceptable names and consistent links.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/sector.h"
#include "iso/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR	    3
#define SYSTEM_AREA (16 * CDS_SECTOR_SIZE)
#define MIN_SECTORS 18
#define READ_BUDGET (1u << 20) /* file bytes read per input */

struct mem_source {
	struct cds_source base;
	uint8_t *data;
};

static int mem_read(struct cds_source *src, uint32_t lba, uint32_t count,
		    void *buf)
{
	struct mem_source *m = (struct mem_source *)src;

	/* the reader must never ask for blocks outside the source */
	if (lba >= src->nsectors || count > src->nsectors - lba || !count)
		abort();
	memcpy(buf, m->data + (size_t)lba * CDS_SECTOR_SIZE,
	       (size_t)count * CDS_SECTOR_SIZE);
	return 0;
}

static void mem_close(struct cds_source *src)
{
	(void)src;
}

static const struct cds_source_ops mem_ops = {mem_read, mem_close};

static void check_node(const struct iso_node *n, const struct iso_node *parent)
{
	if (n->parent != parent)
		abort();
	if (parent && iso_name_check(n->name, strlen(n->name)) != 0)
		abort();
	if (n->nchildren && !iso_node_is_dir(n))
		abort();
	if (S_ISLNK(n->mode) && !n->symlink)
		abort();
}

/* Walk the loaded tree without recursion; read regular files. */
static void walk(struct iso_reader *r, struct iso_node *root, uint8_t *buf,
		 size_t bufsize)
{
	struct iso_node **stack = malloc(sizeof(*stack) * 64);
	size_t depth = 0, cap = 64, budget = READ_BUDGET;

	if (!stack)
		return;
	check_node(root, NULL);
	stack[depth++] = root;
	while (depth) {
		struct iso_node *n = stack[--depth];

		if (S_ISREG(n->mode) && budget) {
			size_t want =
			    n->size < bufsize ? (size_t)n->size : bufsize;
			int got;

			if (want > budget)
				want = budget;
			got = iso_reader_read_file(r, n, 0, buf, want);
			if (got > 0)
				budget -= (size_t)got;
			if (got > (int)want)
				abort();
			/* the last bytes, through a partial block */
			if (n->size > 100 && budget > 100)
				(void)iso_reader_read_file(r, n, n->size - 77,
							   buf, 100);
		}
		for (uint32_t i = 0; i < n->nchildren; i++) {
			check_node(n->children[i], n);
			if (depth == cap) {
				struct iso_node **s =
				    realloc(stack, sizeof(*s) * cap * 2);

				if (!s)
					goto out;
				stack = s;
				cap *= 2;
			}
			stack[depth++] = n->children[i];
		}
	}
out:
	free(stack);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
	    "/",
	    "/a",
	    "/hello.txt",
	    "/sub/inner.txt",
	    "/d1/d2/d3/d4/d5",
	    "/../x/..",
	    "/link",
	    "/rr_moved",
	};
	struct iso_read_opts o = {0};
	struct mem_source m = {{&mem_ops, 0}, NULL};
	struct iso_reader *r = NULL;
	struct iso_node *n, *root;
	uint32_t start = 0;
	size_t len;
	uint8_t *buf;

	if (size < HDR)
		return 0;
	o.no_rock = data[0] & 1;
	o.no_joliet = data[0] & 2;
	if (data[0] & 4)
		start = (uint32_t)data[1] | (uint32_t)data[2] << 8;
	len = SYSTEM_AREA + size - HDR;
	m.base.nsectors =
	    (uint32_t)((len + CDS_SECTOR_SIZE - 1) / CDS_SECTOR_SIZE);
	if (m.base.nsectors < MIN_SECTORS)
		m.base.nsectors = MIN_SECTORS;
	m.data = calloc(m.base.nsectors, CDS_SECTOR_SIZE);
	buf = malloc(64 * 1024);
	if (!m.data || !buf)
		goto out;
	memcpy(m.data + SYSTEM_AREA, data + HDR, size - HDR);

	/* lazily: lookups first, then everything */
	if (iso_reader_open(&m.base, start, &o, &r) != 0)
		goto out;
	(void)iso_reader_kind(r);
	(void)iso_reader_tag(r);
	(void)iso_reader_volume_id(r);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int rc = iso_reader_lookup(r, paths[i], &n);

		if (rc == 0 && !n)
			abort();
		if (rc == 0 && S_ISREG(n->mode))
			(void)iso_reader_read_file(r, n, 1, buf, 4096);
	}
	if (iso_reader_load_all(r) == 0)
		walk(r, iso_reader_root(r), buf, 64 * 1024);
	(void)iso_reader_max_ino(r);
	iso_reader_close(r);

	/* the whole tree taken at once */
	if (iso_reader_open(&m.base, start, &o, &r) != 0)
		goto out;
	root = iso_reader_take_root(r);
	if (root && iso_reader_root(r))
		abort();
	iso_node_free(root);
	iso_reader_close(r);
out:
	free(buf);
	free(m.data);
	return 0;
}
