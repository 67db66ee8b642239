/* sector.c - a file, a descriptor or a buffer as a sector source. */
#include "sector.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cds_source_check_range(const struct cds_source *src, uint32_t lba,
			   uint32_t count)
{
	if (lba > src->nsectors || count > src->nsectors - lba)
		return cds_error(-EINVAL,
				 "read of sectors %u+%u outside the "
				 "%u-sector source",
				 lba, count, src->nsectors);
	return 0;
}

struct fd_source {
	struct cds_source base;
	int fd;
};

static int fd_source_read(struct cds_source *src, uint32_t lba, uint32_t count,
			  void *buf)
{
	struct fd_source *fs = (struct fd_source *)src;
	size_t want = (size_t)count * CDS_SECTOR_SIZE;
	off_t off = (off_t)lba * CDS_SECTOR_SIZE;
	size_t done = 0;

	int rc = cds_source_check_range(src, lba, count);
	if (rc)
		return rc;
	while (done < want) {
		ssize_t n = pread(fs->fd, (char *)buf + done, want - done,
				  off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cds_error(-EIO, "read error at sector %u: %s",
					 lba, strerror(errno));
		}
		if (n == 0) {
			/* the final partial sector reads as zero-padded */
			memset((char *)buf + done, 0, want - done);
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

static void fd_source_close(struct cds_source *src)
{
	struct fd_source *fs = (struct fd_source *)src;

	close(fs->fd);
	free(fs);
}

static const struct cds_source_ops fd_source_ops = {
    .read = fd_source_read,
    .close = fd_source_close,
};

int cds_fd_source_new(int fd, struct cds_source **out)
{
	struct fd_source *fs;
	struct stat st;
	uint64_t sectors;

	if (fstat(fd, &st) < 0)
		return cds_error(-errno, "cannot stat: %s", strerror(errno));
	sectors =
	    ((uint64_t)st.st_size + CDS_SECTOR_SIZE - 1) / CDS_SECTOR_SIZE;
	if (sectors > UINT32_MAX)
		return cds_error(-EFBIG, "file too large for 32-bit LBAs");
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->base.ops = &fd_source_ops;
	fs->base.nsectors = (uint32_t)sectors;
	fs->fd = fd;
	*out = &fs->base;
	return 0;
}

int cds_file_source_open(const char *path, struct cds_source **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return cds_error(-errno, "%s: %s", path, strerror(errno));
	rc = cds_fd_source_new(fd, out);
	if (rc < 0) {
		close(fd);
		return cds_error_wrap(rc, "%s", path);
	}
	return 0;
}

struct mem_source {
	struct cds_source base;
	const uint8_t *data;
	size_t len;
};

static int mem_source_read(struct cds_source *src, uint32_t lba, uint32_t count,
			   void *buf)
{
	struct mem_source *ms = (struct mem_source *)src;
	size_t off = (size_t)lba * CDS_SECTOR_SIZE;
	size_t want = (size_t)count * CDS_SECTOR_SIZE, have;

	int rc = cds_source_check_range(src, lba, count);
	if (rc)
		return rc;
	have = off < ms->len ? ms->len - off : 0;
	if (have > want)
		have = want;
	if (have)
		memcpy(buf, ms->data + off, have);
	memset((uint8_t *)buf + have, 0, want - have);
	return 0;
}

static void mem_source_close(struct cds_source *src)
{
	free(src);
}

static const struct cds_source_ops mem_source_ops = {mem_source_read,
						     mem_source_close};

int cds_mem_source_new(const void *data, size_t len, struct cds_source **out)
{
	struct mem_source *ms = calloc(1, sizeof(*ms));
	size_t n = (len + CDS_SECTOR_SIZE - 1) / CDS_SECTOR_SIZE;

	if (!ms)
		return -ENOMEM;
	if (n > UINT32_MAX) {
		free(ms);
		return cds_error(-EFBIG, "buffer too large for a source");
	}
	ms->base.ops = &mem_source_ops;
	ms->base.nsectors = (uint32_t)n;
	ms->data = data;
	ms->len = len;
	*out = &ms->base;
	return 0;
}
