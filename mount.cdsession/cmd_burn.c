/* cmd_burn.c - burn an image as a new session, and close a disc. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/error.h"
#include "common/sector.h"
#include "fs/commit.h"
#include "mmc/drive.h"

/* Image bytes read per step: large enough to keep syscalls rare. */
#define BURN_CHUNK_BLOCKS 512u

static int burn_opt(int c, void *ctx)
{
	struct mmc_burn_opts *o = ctx;
	char *end;
	unsigned long v;

	switch (c) {
	case 'm':
		o->multi = true;
		return 0;
	case 'd':
		o->dummy = true;
		return 0;
	case 's':
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno || *end || end == optarg || v > 255) {
			cli_failf("bad speed '%s': give a number of x, e.g. "
				  "16",
				  optarg);
			return 1;
		}
		o->speed = (unsigned)v;
		return 0;
	default:
		return -1;
	}
}

/* Open the image and learn its size in blocks, refusing what no drive
 * could write. */
static int open_image(const char *path, int *fd_out, uint32_t *blocks)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cds_error(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cds_error(-EINVAL, "%s: not a regular file", path);
	}
	if (st.st_size == 0 || st.st_size % CDS_SECTOR_SIZE) {
		close(fd);
		return cds_error(-EINVAL,
				 "%s: size %lld is not a positive multiple of "
				 "2048 bytes (not an ISO image?)",
				 path, (long long)st.st_size);
	}
	if (st.st_size / CDS_SECTOR_SIZE > UINT32_MAX) {
		close(fd);
		return cds_error(-EFBIG, "%s: too large for any disc", path);
	}
	*fd_out = fd;
	*blocks = (uint32_t)(st.st_size / CDS_SECTOR_SIZE);
	return 0;
}

static int burn_from_fd(struct mmc_burn *b, int fd, uint32_t blocks,
			struct cli_progress *p)
{
	uint8_t *buf = malloc((size_t)BURN_CHUNK_BLOCKS * CDS_SECTOR_SIZE);
	uint32_t done = 0;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (done < blocks) {
		uint32_t n = blocks - done < BURN_CHUNK_BLOCKS
				 ? blocks - done
				 : BURN_CHUNK_BLOCKS;
		size_t want = (size_t)n * CDS_SECTOR_SIZE, got = 0;

		while (got < want) {
			ssize_t r =
			    pread(fd, buf + got, want - got,
				  (off_t)done * CDS_SECTOR_SIZE + (off_t)got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				rc = cds_error(r < 0 ? -errno : -EIO,
					       "reading the image: %s",
					       r < 0 ? strerror(errno)
						     : "file shrank");
				goto out;
			}
			got += (size_t)r;
		}
		rc = mmc_burn_write(b, buf, n);
		if (rc < 0)
			goto out;
		done += n;
		cli_progress_update(p, (uint64_t)done * CDS_SECTOR_SIZE);
	}
out:
	free(buf);
	return rc;
}

int cmd_burn(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"multi", no_argument, NULL, 'm'},
	    {"dummy", no_argument, NULL, 'd'},
	    {"speed", required_argument, NULL, 's'},
	    {0}};
	struct mmc_burn_opts bo = {0};
	struct mmc_drive *d = NULL;
	struct mmc_burn *b = NULL;
	struct cli_progress *p = NULL;
	const char *device = NULL, *image;
	uint32_t blocks = 0;
	int fd = -1, rc;

	rc = cli_parse_options("burn", argc, argv, opts, burn_opt, &bo, 2);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage_error("burn", "missing IMAGE");
	if (argc - optind == 2)
		device = argv[optind++];
	image = argv[optind];
	rc = open_image(image, &fd, &blocks);
	if (rc < 0)
		return cli_fail(rc);
	rc = cli_open_drive(device, 0, &d);
	if (rc < 0)
		goto out;
	rc = mmc_burn_begin(d, &bo, blocks, &b);
	if (rc < 0) {
		cli_fail(rc);
		goto out;
	}
	p = cli_progress_new(bo.dummy ? "burn (dummy)" : "burn",
			     (uint64_t)blocks * CDS_SECTOR_SIZE);
	rc = burn_from_fd(b, fd, blocks, p);
	if (rc < 0) {
		mmc_burn_abort(b);
		cli_progress_done(p);
		cli_fail(rc);
		goto out;
	}
	mmc_drive_set_progress(d, NULL, NULL);
	rc = mmc_burn_finish(b);
	cli_progress_done(p);
	if (rc < 0)
		cli_fail(rc);
out:
	mmc_drive_close(d);
	if (fd >= 0)
		close(fd);
	return rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cmd_fix(int argc, char **argv)
{
	struct mmc_drive *d = NULL;
	const char *dev;
	struct stat sb;
	bool already = false;
	int rc;

	rc = cli_parse_options(strcmp(cli_progname, "cdsession-fix") == 0
				   ? "cdsession-fix"
				   : "fix",
			       argc, argv, NULL, NULL, NULL, 1);
	if (rc >= 0)
		return rc;
	dev = optind < argc ? argv[optind] : NULL;
	if (dev && stat(dev, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		rc = cli_close_mounted_disc(dev);
		return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
	}
	rc = cli_open_drive(dev, 0, &d);
	if (rc < 0)
		return CLI_EXIT_FAIL;
	rc = fs_close_disc(d, &already);
	mmc_drive_close(d);
	if (rc < 0)
		return cli_fail(rc);
	if (already)
		fprintf(stderr, "%s: the disc is already closed (finalized)\n",
			cli_progname);
	return CLI_EXIT_OK;
}
