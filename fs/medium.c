/* medium.c - a disc's sessions, identity and files, read-only. */
#include "medium.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/sector.h"
#include "fs/cache.h"
#include "iso/node.h"
#include "iso/reader.h"
#include "mmc/drive.h"
#include "staging/store.h"

#define SECTOR 2048u

void fs_medium_close(struct fs_medium *m)
{
	if (!m)
		return;
	cds_source_close(m->cache);
	cds_source_close(m->src);
	mmc_drive_close(m->drive);
	free(m->path);
	free(m);
}

/* The sessions: the first start and the last complete one. */
static int find_sessions(struct fs_medium *m, const char *path)
{
	struct mmc_disc disc;
	int rc = mmc_drive_disc(m->drive, &disc);

	if (rc < 0)
		return cds_error_wrap(rc, "%s", path);
	for (unsigned i = 0; i < disc.nsessions; i++) {
		if (!disc.sessions[i].complete)
			continue;
		if (m->nsessions++ == 0)
			m->first_start = disc.sessions[i].start;
		m->last_start = disc.sessions[i].start;
	}
	return 0;
}

/* Sessions, disc id, base id and tag of the disc as it is now. */
static int identify(struct fs_medium *m, const char *path, bool blank_ok)
{
	struct iso_reader *r = NULL;
	int rc;

	m->nsessions = 0;
	m->first_start = m->last_start = 0;
	m->tag[0] = '\0';
	rc = find_sessions(m, path);
	if (rc == 0 && m->nsessions == 0) {
		if (!blank_ok)
			return cds_error(-ENOMEDIUM, "no session on %s", path);
		snprintf(m->disc_id, sizeof(m->disc_id), "blank");
		memset(m->base_id, 0, sizeof(m->base_id));
		return 0;
	}
	if (rc == 0)
		rc = stg_disc_id(m->src, m->first_start, m->disc_id);
	if (rc == 0)
		rc = stg_base_id(m->src, m->last_start, m->base_id);
	if (rc == 0)
		rc = iso_reader_open(m->src, m->last_start, NULL, &r);
	if (rc == 0) {
		const char *tag = iso_reader_tag(r);
		snprintf(m->tag, sizeof(m->tag), "%s", tag ? tag : "");
	}
	iso_reader_close(r);
	return rc;
}

int fs_medium_open(const char *path, unsigned flags, struct fs_medium **out)
{
	struct fs_medium *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->writable = flags & FS_MEDIUM_WRITE;
	m->blank_ok = flags & FS_MEDIUM_BLANK;
	m->path = strdup(path);
	rc = m->path ? 0 : -ENOMEM;
	if (rc == 0)
		rc = mmc_drive_open(
		    path, m->writable ? MMC_DRIVE_EXCL : MMC_DRIVE_READ_ONLY,
		    &m->drive);
	if (rc == 0)
		rc = mmc_drive_source(m->drive, &m->src);
	if (rc == 0)
		rc = identify(m, path, m->blank_ok);
	if (rc < 0) {
		fs_medium_close(m);
		return cds_error_wrap(rc, "%s", path);
	}
	*out = m;
	return 0;
}

static int start_cache(struct fs_medium *m)
{
	cds_source_close(m->cache);
	m->cache = NULL;
	return fs_cache_new(m->src, 0, FS_CACHE_ASYNC, &m->cache);
}

int fs_medium_use_cache(struct fs_medium *m)
{
	m->want_cache = true;
	return start_cache(m);
}

int fs_medium_refresh(struct fs_medium *m)
{
	/* the source's size is the lead-out of the last session: new one,
	 * and a new cache over it (what it holds is still right, but it
	 * borrows the old source) */
	cds_source_close(m->cache);
	m->cache = NULL;
	cds_source_close(m->src);
	m->src = NULL;
	int rc = mmc_drive_source(m->drive, &m->src);
	if (rc == 0 && m->want_cache)
		rc = start_cache(m);
	if (rc == 0)
		rc = identify(m, m->path, m->blank_ok);
	return rc < 0 ? cds_error_wrap(rc, "%s", m->path) : 0;
}

int fs_medium_read_tree(struct fs_medium *m, uint32_t start,
			struct iso_node **root)
{
	struct iso_reader *r = NULL;
	int rc = iso_reader_open(m->src, start, NULL, &r);

	*root = NULL;
	if (rc == 0)
		rc = iso_reader_load_all(r);
	if (rc == 0 && !(*root = iso_reader_take_root(r)))
		rc = -EIO;
	iso_reader_close(r);
	if (rc < 0)
		return cds_error_wrap(rc, "session at LBA %u", start);
	return 0;
}

int fs_medium_read_file(void *ctx, const struct iso_node *n, uint64_t off,
			void *buf, size_t len)
{
	struct fs_medium *m = ctx;
	struct cds_source *src = m->cache ? m->cache : m->src;
	uint8_t sec[SECTOR];
	uint8_t *p = buf;
	uint64_t ext_off = 0; /* file offset where extent i begins */

	for (uint32_t i = 0; i < n->nextents && len > 0; i++) {
		const struct iso_extent *e = &n->extents[i];
		uint64_t end = ext_off + e->length;
		while (len > 0 && off >= ext_off && off < end) {
			uint64_t in = off - ext_off;
			uint32_t lba = e->lba + (uint32_t)(in / SECTOR);
			size_t at = (size_t)(in % SECTOR);
			size_t take = SECTOR - at;
			if (take > len)
				take = len;
			if (take > end - off)
				take = (size_t)(end - off);
			/* whole sectors straight into the caller's buffer */
			if (at == 0 && take == SECTOR && len >= SECTOR &&
			    end - off >= SECTOR) {
				uint32_t count =
				    (uint32_t)((len < end - off ? len
								: end - off) /
					       SECTOR);
				int rc = cds_source_read(src, lba, count, p);
				if (rc < 0)
					return rc;
				take = (size_t)count * SECTOR;
			} else {
				int rc = cds_source_read(src, lba, 1, sec);
				if (rc < 0)
					return rc;
				memcpy(p, sec + at, take);
			}
			p += take;
			off += take;
			len -= take;
		}
		ext_off = end;
	}
	if (len > 0)
		return cds_error(-EIO, "%s: extents end before its size",
				 n->name);
	return 0;
}

int fs_medium_store_dir(const struct fs_medium *m, const char *override,
			char *buf, size_t cap)
{
	if (override) {
		if ((size_t)snprintf(buf, cap, "%s", override) >= cap)
			return cds_error(-ENAMETOOLONG,
					 "staging directory path too long");
		return 0;
	}
	return stg_store_default_dir(m->disc_id, buf, cap);
}

void fs_medium_describe(const struct fs_medium *m, const struct mmc_disc *disc,
			const char *device, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "device: %s\nmedium: %s, %u session%s%s\n",
			 device, disc->media_name, m->nsessions,
			 m->nsessions == 1 ? "" : "s",
			 disc->status == MMC_DISC_COMPLETE ? ", closed"
			 : m->nsessions			   ? ""
							   : " (blank)");
	if (m->nsessions && n > 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n,
			 "last session: LBA %" PRIu32 "%s%s\n", m->last_start,
			 m->tag[0] ? ", tag " : "", m->tag);
}
