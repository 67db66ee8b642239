/*
 * sector.h - the sector source and sink interface.
 *
 * Everything that reads or writes 2048-byte sectors (iso/ reading a
 * session, the burner reading an image, mkimage writing one) goes through
 * these two small ops tables, so the same code runs on a drive, a virtual
 * disc, a plain file or a buffer in a test.  Implementations embed the
 * struct as their first member.
 */
#ifndef CDS_SECTOR_H
#define CDS_SECTOR_H

#include <stddef.h>
#include <stdint.h>

#define CDS_SECTOR_SIZE 2048u

struct cds_source;

struct cds_source_ops {
	/*
	 * Read @count sectors starting at @lba into @buf (count * 2048
	 * bytes).  Returns 0, -EIO for a device failure, -EINVAL for a
	 * range outside the source (nothing is read then).
	 */
	int (*read)(struct cds_source *src, uint32_t lba, uint32_t count,
		    void *buf);
	/* Release the source and everything it holds. */
	void (*close)(struct cds_source *src);
};

struct cds_source {
	const struct cds_source_ops *ops;
	/* Sectors readable from LBA 0: reads at or past it fail. */
	uint32_t nsectors;
};

/* For a source's read op: 0 when @count sectors from @lba lie within
 * @src, else -EINVAL with a message. */
int cds_source_check_range(const struct cds_source *src, uint32_t lba,
			   uint32_t count);

static inline int cds_source_read(struct cds_source *src, uint32_t lba,
				  uint32_t count, void *buf)
{
	return src->ops->read(src, lba, count, buf);
}

static inline void cds_source_close(struct cds_source *src)
{
	if (src)
		src->ops->close(src);
}

/*
 * Open a regular file (or anything pread(2) works on) as a sector source.
 * A final partial sector reads as if padded with zeros; its size in whole
 * sectors, rounded up, is src->nsectors.  Errors carry a message.
 */
int cds_file_source_open(const char *path, struct cds_source **out);

/* Like cds_file_source_open() on an already open descriptor, which the
 * source then owns. */
int cds_fd_source_new(int fd, struct cds_source **out);

/* @len bytes at @data (borrowed: it must outlive the source) as a
 * source; a final partial sector reads as if padded with zeros.  For
 * tests and fuzz targets, and images built in memory. */
int cds_mem_source_new(const void *data, size_t len, struct cds_source **out);

struct cds_sink;

struct cds_sink_ops {
	/* Append @count sectors.  0 or -errno (with a message). */
	int (*write)(struct cds_sink *sink, const void *buf, uint32_t count);
	/* Flush and complete the stream; after it only close is valid. */
	int (*finish)(struct cds_sink *sink);
	/* Release; an unfinished stream is abandoned. */
	void (*close)(struct cds_sink *sink);
};

struct cds_sink {
	const struct cds_sink_ops *ops;
};

static inline int cds_sink_write(struct cds_sink *sink, const void *buf,
				 uint32_t count)
{
	return sink->ops->write(sink, buf, count);
}

static inline int cds_sink_finish(struct cds_sink *sink)
{
	return sink->ops->finish(sink);
}

static inline void cds_sink_close(struct cds_sink *sink)
{
	if (sink)
		sink->ops->close(sink);
}

#endif
