/* journal.c - the staging store's write-ahead journal (format in journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"

/* Buffered records beyond this are written out by append: bounds memory. */
#define FLUSH_AT (1u << 20)
/* Space preallocated at a time (see journal.h: why a zero tail). */
#define PREALLOC   (1u << 20)
#define REC_HEAD   13u /* n, type, seq */
#define MAGIC_SIZE 8u

struct stg_journal {
	char *path, *tmp_path;
	int fd;
	uint8_t *hdr;
	size_t hdr_len;
	uint64_t size;	    /* end of the last record written */
	uint64_t alloc_end; /* file size: size + preallocated zeros */
	uint64_t synced;    /* size at the last successful sync */
	int no_prealloc;    /* the file system cannot fallocate */
	uint8_t *buf;	    /* appended, not yet written */
	size_t buf_len, buf_cap;
	uint64_t records, next_seq;
	int err; /* sticky: a write or sync failed */
	int compacting;
	uint64_t dropped;
	char recovered[320];
};

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* SSE 4.2 has CRC-32C in hardware: ~20x the table's speed, which the
 * commit's streaming checksums of hundreds of MB notice. */
#define CRC_HW 1
static bool crc_hw;

__attribute__((target("sse4.2"))) static uint32_t
crc_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	crc = (uint32_t)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

static void crc_setup(void)
{
	crc_init();
#ifdef CRC_HW
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t stg_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc_once, crc_setup);
	crc = ~crc;
#ifdef CRC_HW
	if (crc_hw)
		return ~crc_sse42(crc, p, len);
#endif
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

const char *stg_journal_stop_str(enum stg_journal_stop stop)
{
	switch (stop) {
	case STG_STOP_END:
		return "end";
	case STG_STOP_SHORT:
		return "cut short";
	case STG_STOP_LENGTH:
		return "bad length";
	case STG_STOP_TYPE:
		return "bad type";
	case STG_STOP_CHECKSUM:
		return "bad checksum";
	case STG_STOP_SEQUENCE:
		return "bad sequence number";
	case STG_STOP_ZEROS:
		return "zero-filled tail";
	case STG_STOP_REPLAY:
		return "replay failed";
	}
	return "?";
}

size_t stg_journal_encode_header(uint8_t *out, const void *hdr, size_t hdr_len)
{
	memcpy(out, STG_JOURNAL_MAGIC, MAGIC_SIZE);
	cds_put_le32(out + 8, STG_JOURNAL_VERSION);
	cds_put_le32(out + 12, (uint32_t)hdr_len);
	if (hdr_len)
		memcpy(out + 16, hdr, hdr_len);
	cds_put_le32(out + 16 + hdr_len, stg_crc32c(0, out, 16 + hdr_len));
	return STG_JOURNAL_FILE_HDR_SIZE + hdr_len;
}

size_t stg_journal_encode_record(uint8_t *out, uint8_t type, uint64_t seq,
				 const void *payload, size_t len)
{
	cds_put_le32(out, (uint32_t)len);
	out[4] = type;
	cds_put_le64(out + 5, seq);
	if (len)
		memcpy(out + REC_HEAD, payload, len);
	cds_put_le32(out + REC_HEAD + len, stg_crc32c(0, out, REC_HEAD + len));
	return STG_JOURNAL_REC_OVERHEAD + len;
}

int stg_journal_parse_header(const uint8_t *buf, size_t len,
			     struct stg_journal_parse *res)
{
	uint32_t version, l;

	memset(res, 0, sizeof(*res));
	if (len < MAGIC_SIZE ||
	    memcmp(buf, STG_JOURNAL_MAGIC, MAGIC_SIZE) != 0) {
		if (len < MAGIC_SIZE &&
		    memcmp(buf, STG_JOURNAL_MAGIC, len) == 0)
			return cds_error(-EUCLEAN,
					 "journal header cut short (%zu bytes)",
					 len);
		return cds_error(-EUCLEAN, "not a cdsession journal (no "
					   "CDSJRNL1 magic)");
	}
	if (len < 16)
		return cds_error(-EUCLEAN,
				 "journal header cut short (%zu bytes)", len);
	version = cds_get_le32(buf + 8);
	l = cds_get_le32(buf + 12);
	if (l > STG_JOURNAL_HDR_MAX)
		return cds_error(-EUCLEAN,
				 "journal header length %u over the limit %u",
				 l, STG_JOURNAL_HDR_MAX);
	if (len < STG_JOURNAL_FILE_HDR_SIZE + (size_t)l)
		return cds_error(-EUCLEAN,
				 "journal header cut short (%zu of %zu bytes)",
				 len, STG_JOURNAL_FILE_HDR_SIZE + (size_t)l);
	if (cds_get_le32(buf + 16 + l) != stg_crc32c(0, buf, 16 + (size_t)l))
		return cds_error(-EUCLEAN, "journal header checksum mismatch");
	/* Only after the checksum: a flipped bit is damage, not a version. */
	if (version != STG_JOURNAL_VERSION)
		return cds_error(-EPROTONOSUPPORT,
				 "journal format version %u not supported "
				 "(this cdsession reads version %u)",
				 version, STG_JOURNAL_VERSION);
	res->hdr_off = 16;
	res->hdr_len = l;
	res->good_len = STG_JOURNAL_FILE_HDR_SIZE + (size_t)l;
	return 0;
}

/*
 * Check the record at @off.  Returns STG_STOP_END when it is good (*@n its
 * payload length), else why not.  @prev is the previous sequence number, 0
 * for the first record; UINT64_MAX skips the sequence check.
 */
static enum stg_journal_stop check_record(const uint8_t *buf, size_t len,
					  size_t off, uint64_t prev,
					  uint32_t *n)
{
	const uint8_t *r = buf + off;
	size_t left = len - off;
	uint64_t seq;

	*n = 0;
	if (left < REC_HEAD)
		return STG_STOP_SHORT;
	*n = cds_get_le32(r);
	if (*n > STG_JOURNAL_PAYLOAD_MAX)
		return STG_STOP_LENGTH;
	if (left - REC_HEAD < (size_t)*n + 4)
		return STG_STOP_SHORT;
	if (cds_get_le32(r + REC_HEAD + *n) != stg_crc32c(0, r, REC_HEAD + *n))
		return STG_STOP_CHECKSUM;
	if (r[4] == 0)
		return STG_STOP_TYPE;
	seq = cds_get_le64(r + 5);
	if (prev != UINT64_MAX && (seq == 0 || (prev && seq != prev + 1)))
		return STG_STOP_SEQUENCE;
	return STG_STOP_END;
}

static int all_zeros(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * After damage at @off: how many records are lost.  The damaged one, plus
 * those that still parse behind it when its length field is believed.
 */
static uint64_t count_dropped(const uint8_t *buf, size_t len, size_t off)
{
	uint64_t count = 1;
	uint32_t n = 0;
	enum stg_journal_stop why = check_record(buf, len, off, UINT64_MAX, &n);

	if (why != STG_STOP_CHECKSUM && why != STG_STOP_TYPE &&
	    why != STG_STOP_SEQUENCE)
		return count;
	off += STG_JOURNAL_REC_OVERHEAD + (size_t)n;
	while (off < len &&
	       check_record(buf, len, off, UINT64_MAX, &n) == STG_STOP_END) {
		count++;
		off += STG_JOURNAL_REC_OVERHEAD + (size_t)n;
	}
	return count;
}

int stg_journal_parse(const uint8_t *buf, size_t len, stg_record_fn replay,
		      void *ctx, struct stg_journal_parse *res)
{
	size_t off;
	uint64_t prev = 0;
	int rc = stg_journal_parse_header(buf, len, res);

	if (rc < 0)
		return rc;
	off = res->good_len;
	for (;;) {
		uint32_t n;
		enum stg_journal_stop why;

		if (off == len) {
			res->stop = STG_STOP_END;
			break;
		}
		if (all_zeros(buf + off, len - off)) {
			res->stop = STG_STOP_ZEROS;
			break;
		}
		why = check_record(buf, len, off, prev, &n);
		if (why != STG_STOP_END) {
			res->stop = why;
			res->dropped_records = count_dropped(buf, len, off);
			break;
		}
		prev = cds_get_le64(buf + off + 5);
		if (replay) {
			rc = replay(ctx, buf[off + 4], prev,
				    buf + off + REC_HEAD, n);
			if (rc) {
				res->stop = STG_STOP_REPLAY;
				return rc < 0 ? rc : -EINVAL;
			}
		}
		off += STG_JOURNAL_REC_OVERHEAD + (size_t)n;
		res->good_len = off;
		res->records++;
		res->last_seq = prev;
	}
	res->data_end = len;
	while (res->data_end > res->good_len && buf[res->data_end - 1] == 0)
		res->data_end--;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* fsync the directory holding @path, so a create or rename is durable. */
static int sync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return cds_error(-ENAMETOOLONG, "journal path too long");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cds_error(-errno,
				 "journal: cannot open directory %s: %s", dir,
				 strerror(errno));
	if (fsync(fd) < 0)
		rc = cds_error(-errno, "journal: fsync of directory %s: %s",
			       dir, strerror(errno));
	close(fd);
	return rc;
}

/* Create @tmp_path holding just the file header; returns the fd. */
static int create_tmp(const char *tmp_path, const void *hdr, size_t hdr_len)
{
	uint8_t head[STG_JOURNAL_FILE_HDR_SIZE + STG_JOURNAL_HDR_MAX];
	size_t n = stg_journal_encode_header(head, hdr, hdr_len);
	int fd, rc;

	if (unlink(tmp_path) < 0 && errno != ENOENT)
		return cds_error(-errno, "journal: cannot remove %s: %s",
				 tmp_path, strerror(errno));
	fd = open(tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return cds_error(-errno, "journal: cannot create %s: %s",
				 tmp_path, strerror(errno));
	rc = write_all(fd, head, n, 0);
	if (rc < 0) {
		cds_error(rc, "journal: write to %s: %s", tmp_path,
			  strerror(-rc));
		close(fd);
		unlink(tmp_path);
		return rc;
	}
	return fd;
}

/* Sync @fd (just written as @tmp_path) and rename it to @path. */
static int commit_tmp(int fd, const char *tmp_path, const char *path)
{
	if (fsync(fd) < 0)
		return cds_error(-errno, "journal: fsync of %s: %s", tmp_path,
				 strerror(errno));
	if (rename(tmp_path, path) < 0)
		return cds_error(-errno, "journal: cannot rename %s to %s: %s",
				 tmp_path, path, strerror(errno));
	return 0; /* the directory sync is the caller's next step */
}

static int read_file(int fd, uint64_t size, uint8_t **out, size_t *len)
{
	uint8_t *buf;
	size_t got = 0;

	if (size > SIZE_MAX - 1)
		return -EFBIG;
	buf = malloc(size ? (size_t)size : 1);
	if (!buf)
		return -ENOMEM;
	while (got < size) {
		ssize_t r =
		    pread(fd, buf + got, (size_t)size - got, (off_t)got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*out = buf;
	*len = got;
	return 0;
}

static void journal_free(struct stg_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j->tmp_path);
	free(j->hdr);
	free(j->buf);
	free(j);
}

static struct stg_journal *journal_alloc(const char *path, const void *hdr,
					 size_t hdr_len)
{
	struct stg_journal *j = calloc(1, sizeof(*j));
	size_t plen = strlen(path);

	if (!j)
		return NULL;
	j->fd = -1;
	j->next_seq = 1;
	j->path = strdup(path);
	j->tmp_path = malloc(plen + 5);
	j->hdr = malloc(hdr_len ? hdr_len : 1);
	if (!j->path || !j->tmp_path || !j->hdr) {
		journal_free(j);
		return NULL;
	}
	memcpy(j->tmp_path, path, plen);
	memcpy(j->tmp_path + plen, ".tmp", 5);
	if (hdr_len)
		memcpy(j->hdr, hdr, hdr_len);
	j->hdr_len = hdr_len;
	return j;
}

/* A new journal at j->path: header to PATH.tmp, synced, renamed. */
static int journal_create(struct stg_journal *j)
{
	int fd = create_tmp(j->tmp_path, j->hdr, j->hdr_len), rc;

	if (fd < 0)
		return fd;
	rc = commit_tmp(fd, j->tmp_path, j->path);
	if (rc < 0) {
		close(fd);
		unlink(j->tmp_path);
		return rc;
	}
	j->fd = fd;
	j->size = j->synced = j->alloc_end =
	    STG_JOURNAL_FILE_HDR_SIZE + j->hdr_len;
	return sync_dir(j->path);
}

/*
 * Keep the bytes a damaged tail held in PATH.damaged.TIME before they are
 * cut: records past damage in the middle may be good, and nothing staged
 * is ever thrown away unseen.  The name goes to @name.
 */
static int save_damaged(const struct stg_journal *j, const uint8_t *p,
			size_t len, char *name, size_t cap)
{
	struct timespec now;
	int fd = -1, rc;

	clock_gettime(CLOCK_REALTIME, &now);
	for (int n = 0; n < 100 && fd < 0; n++) {
		snprintf(name, cap, "%s.damaged.%lld.%09ld.%d", j->path,
			 (long long)now.tv_sec, now.tv_nsec, n);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return cds_error(-errno,
				 "journal %s: cannot keep the damaged "
				 "tail: %s",
				 j->path, strerror(errno));
	rc = write_all(fd, p, len, 0);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc < 0)
		return cds_error(rc,
				 "journal %s: cannot keep the damaged "
				 "tail in %s: %s",
				 j->path, name, strerror(-rc));
	return sync_dir(j->path);
}

/* Load an existing, non-empty journal: check, replay, cut a damaged tail. */
static int journal_load(struct stg_journal *j, uint64_t size,
			stg_record_fn replay, void *ctx)
{
	struct stg_journal_parse res;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_file(j->fd, size, &buf, &len);

	if (rc < 0)
		return cds_error(rc, "journal %s: read: %s", j->path,
				 strerror(-rc));
	rc = stg_journal_parse_header(buf, len, &res);
	if (rc < 0) {
		free(buf);
		return cds_error_wrap(rc, "journal %s", j->path);
	}
	if (res.hdr_len != j->hdr_len ||
	    memcmp(buf + res.hdr_off, j->hdr, j->hdr_len) != 0) {
		free(buf);
		return cds_error(-ESTALE,
				 "journal %s belongs to another base session",
				 j->path);
	}
	rc = stg_journal_parse(buf, len, replay, ctx, &res);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	j->records = res.records;
	j->next_seq = res.last_seq + 1;
	j->size = res.good_len;
	j->alloc_end = size;
	/* A zero tail is preallocated space: the normal end of a journal. */
	if (res.good_len < size && res.stop != STG_STOP_ZEROS) {
		char kept[PATH_MAX + 64];
		int saved = save_damaged(j, buf + res.good_len,
					 res.data_end - res.good_len, kept,
					 sizeof(kept));

		free(buf);
		buf = NULL;
		if (saved < 0)
			return saved;
		j->dropped = res.data_end - res.good_len;
		j->alloc_end = res.good_len;
		snprintf(j->recovered, sizeof(j->recovered),
			 "journal %s: damaged record at offset %zu "
			 "(%s): %llu record(s), %llu bytes dropped (kept in "
			 "%s); kept %llu records",
			 j->path, res.good_len, stg_journal_stop_str(res.stop),
			 (unsigned long long)res.dropped_records,
			 (unsigned long long)j->dropped, kept,
			 (unsigned long long)res.records);
		if (ftruncate(j->fd, (off_t)res.good_len) < 0 ||
		    fsync(j->fd) < 0)
			return cds_error(-errno,
					 "journal %s: cannot cut the damaged "
					 "tail: %s",
					 j->path, strerror(errno));
	}
	free(buf);
	j->synced = j->size;
	return 0;
}

int stg_journal_open(const char *path, const void *hdr, size_t hdr_len,
		     stg_record_fn replay, void *ctx, struct stg_journal **out)
{
	struct stg_journal *j;
	struct stat st;
	int rc;

	*out = NULL;
	if (hdr_len > STG_JOURNAL_HDR_MAX)
		return cds_error(-EINVAL,
				 "journal header of %zu bytes over "
				 "the limit",
				 hdr_len);
	j = journal_alloc(path, hdr, hdr_len);
	if (!j)
		return -ENOMEM;
	/* Left by a creation or compaction that did not finish: garbage. */
	if (unlink(j->tmp_path) < 0 && errno != ENOENT) {
		rc = cds_error(-errno, "journal: cannot remove %s: %s",
			       j->tmp_path, strerror(errno));
		goto fail;
	}
	j->fd = open(path, O_RDWR | O_CLOEXEC);
	if (j->fd < 0 && errno != ENOENT) {
		rc = cds_error(-errno, "journal: cannot open %s: %s", path,
			       strerror(errno));
		goto fail;
	}
	if (j->fd >= 0) {
		if (fstat(j->fd, &st) < 0) {
			rc = -errno;
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			rc = cds_error(
			    -EUCLEAN, "journal %s is not a regular file", path);
			goto fail;
		}
		if (st.st_size == 0) {
			close(j->fd);
			j->fd = -1;
		}
	}
	if (j->fd < 0)
		rc = journal_create(j);
	else
		rc = journal_load(j, (uint64_t)st.st_size, replay, ctx);
	if (rc < 0)
		goto fail;
	*out = j;
	return 0;
fail:
	journal_free(j);
	return rc;
}

int stg_journal_peek_header(const char *path, void *buf, size_t cap,
			    size_t *len)
{
	uint8_t head[STG_JOURNAL_FILE_HDR_SIZE + STG_JOURNAL_HDR_MAX];
	struct stg_journal_parse res;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	*len = 0;
	if (fd < 0)
		return cds_error(-errno, "journal: cannot open %s: %s", path,
				 strerror(errno));
	while (got < sizeof(head)) {
		ssize_t r =
		    pread(fd, head + got, sizeof(head) - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = cds_error(-errno, "journal %s: read: %s", path,
				       strerror(errno));
			close(fd);
			return rc;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got == 0)
		return cds_error(-ENOENT, "journal %s is empty", path);
	/* The header parser wants the whole header, records may follow. */
	if (got >= 16 && cds_get_le32(head + 12) <= STG_JOURNAL_HDR_MAX &&
	    got > STG_JOURNAL_FILE_HDR_SIZE + cds_get_le32(head + 12))
		got = STG_JOURNAL_FILE_HDR_SIZE + cds_get_le32(head + 12);
	rc = stg_journal_parse_header(head, got, &res);
	if (rc < 0)
		return cds_error_wrap(rc, "journal %s", path);
	*len = res.hdr_len;
	if (res.hdr_len > cap)
		return cds_error(-ERANGE,
				 "journal %s: header of %zu bytes, buffer %zu",
				 path, res.hdr_len, cap);
	if (res.hdr_len)
		memcpy(buf, head + res.hdr_off, res.hdr_len);
	return 0;
}

static int sticky(const struct stg_journal *j)
{
	return cds_error(j->err,
			 "journal %s: an earlier write failed (%s); no more "
			 "changes until it is reopened",
			 j->path, strerror(-j->err));
}

/*
 * Make the file at least @end bytes long, in PREALLOC steps, so that most
 * syncs overwrite allocated blocks and need no metadata commit.  Failure
 * is harmless: the write that follows grows the file itself.
 */
static void preallocate(struct stg_journal *j, uint64_t end)
{
	uint64_t to;

	if (j->no_prealloc || end <= j->alloc_end)
		return;
	to = (end + PREALLOC - 1) / PREALLOC * PREALLOC;
	if (fallocate(j->fd, 0, (off_t)j->alloc_end,
		      (off_t)(to - j->alloc_end)) == 0)
		j->alloc_end = to;
	else if (errno == EOPNOTSUPP)
		j->no_prealloc = 1;
}

int stg_journal_flush(struct stg_journal *j)
{
	int rc;

	if (j->err)
		return sticky(j);
	if (!j->buf_len)
		return 0;
	preallocate(j, j->size + j->buf_len);
	rc = write_all(j->fd, j->buf, j->buf_len, j->size);
	if (rc < 0) {
		j->err = rc;
		/* Best effort: a partial record would be cut on reopen. */
		if (ftruncate(j->fd, (off_t)j->size) == 0)
			j->alloc_end = j->size;
		return cds_error(rc, "journal %s: write failed: %s", j->path,
				 strerror(-rc));
	}
	j->size += j->buf_len;
	if (j->size > j->alloc_end)
		j->alloc_end = j->size;
	j->buf_len = 0;
	return 0;
}

int stg_journal_sync(struct stg_journal *j)
{
	int rc = stg_journal_flush(j);

	if (rc < 0)
		return rc;
	if (j->synced == j->size)
		return 0;
	/* Appends grow the file: fdatasync writes the size with the data. */
	if (fdatasync(j->fd) < 0) {
		/* After a failed sync the kernel may have dropped the dirty
		 * pages: nothing written since the last sync can be trusted. */
		j->err = -errno;
		return cds_error(j->err, "journal %s: fdatasync: %s", j->path,
				 strerror(errno));
	}
	j->synced = j->size;
	return 0;
}

int stg_journal_append(struct stg_journal *j, uint8_t type, const void *payload,
		       size_t len, uint64_t *seq_out)
{
	size_t need;

	if (j->err)
		return sticky(j);
	if (j->compacting)
		return cds_error(-EBUSY,
				 "journal %s: append during compaction "
				 "goes to the new journal",
				 j->path);
	if (type == 0)
		return cds_error(-EINVAL, "journal record type 0 is reserved");
	if (len > STG_JOURNAL_PAYLOAD_MAX)
		return cds_error(-EMSGSIZE,
				 "journal record of %zu bytes over the %u "
				 "byte limit",
				 len, STG_JOURNAL_PAYLOAD_MAX);
	need = j->buf_len + STG_JOURNAL_REC_OVERHEAD + len;
	if (need > j->buf_cap) {
		size_t cap = j->buf_cap ? j->buf_cap : 4096;
		uint8_t *nb;

		while (cap < need)
			cap *= 2;
		nb = realloc(j->buf, cap);
		if (!nb)
			return -ENOMEM;
		j->buf = nb;
		j->buf_cap = cap;
	}
	j->buf_len += stg_journal_encode_record(j->buf + j->buf_len, type,
						j->next_seq, payload, len);
	if (seq_out)
		*seq_out = j->next_seq;
	j->next_seq++;
	j->records++;
	if (j->buf_len >= FLUSH_AT)
		return stg_journal_flush(j);
	return 0;
}

int stg_journal_compact(struct stg_journal *j,
			int (*emit)(void *ctx, struct stg_journal *tmp),
			void *ctx)
{
	struct stg_journal *t;
	int rc = stg_journal_flush(j);

	if (rc < 0)
		return rc;
	t = journal_alloc(j->tmp_path, j->hdr, j->hdr_len);
	if (!t)
		return -ENOMEM;
	t->fd = create_tmp(j->tmp_path, j->hdr, j->hdr_len);
	if (t->fd < 0) {
		rc = t->fd;
		goto fail;
	}
	t->size = t->alloc_end = STG_JOURNAL_FILE_HDR_SIZE + j->hdr_len;
	t->next_seq = j->next_seq;
	j->compacting = 1;
	rc = emit(ctx, t);
	j->compacting = 0;
	if (rc > 0)
		rc = -EINVAL;
	if (rc == 0)
		rc = stg_journal_flush(t);
	if (rc == 0)
		rc = commit_tmp(t->fd, j->tmp_path, j->path);
	if (rc < 0) {
		unlink(j->tmp_path);
		goto fail;
	}
	/* Renamed: from here on PATH is the new journal, whatever happens. */
	close(j->fd);
	j->fd = t->fd;
	t->fd = -1;
	j->size = j->synced = t->size;
	j->alloc_end = t->alloc_end;
	j->no_prealloc = t->no_prealloc;
	j->records = t->records;
	j->next_seq = t->next_seq;
	journal_free(t);
	rc = sync_dir(j->path);
	if (rc < 0)
		j->err = rc;
	return rc;
fail:
	journal_free(t);
	return rc;
}

void stg_journal_close(struct stg_journal *j)
{
	if (!j)
		return;
	(void)stg_journal_flush(j);
	journal_free(j);
}

uint64_t stg_journal_records(const struct stg_journal *j)
{
	return j->records;
}

uint64_t stg_journal_bytes(const struct stg_journal *j)
{
	return j->size + j->buf_len;
}

uint64_t stg_journal_last_seq(const struct stg_journal *j)
{
	return j->next_seq - 1;
}

const char *stg_journal_recovered(const struct stg_journal *j,
				  uint64_t *dropped)
{
	if (dropped)
		*dropped = j->dropped;
	return j->dropped ? j->recovered : NULL;
}

size_t stg_journal_buffered(const struct stg_journal *j)
{
	return j->buf_len;
}
