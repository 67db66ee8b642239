/*
 * sgio.c - the SG_IO transport: CDBs to a Linux SCSI device node
 * (mmc-reference 1).  Only plain libc calls (open, ioctl, fstat, close), so
 * that an LD_PRELOAD shim can stand a virtual disc behind a fake path.
 */
#include <errno.h>
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "cdb.h"
#include "sense.h"
#include "transport.h"

#define SGIO_MIN_VERSION  30000
#define SGIO_SENSE_LEN	  32
#define SGIO_MAX_TRANSFER (64u * 1024u)
/* "sense available" (DRIVER_SENSE) is not a driver error (libburn) */
#define SGIO_DRIVER_STATUS_MASK 0xF7

struct sgio {
	struct mmc_transport base;
	int fd;
	char path[256];
};

static int sgio_execute(struct mmc_transport *t, struct mmc_cmd *cmd)
{
	struct sgio *s = (struct sgio *)t;
	struct sg_io_hdr io;
	uint8_t sense[SGIO_SENSE_LEN];

	memset(&io, 0, sizeof(io));
	memset(sense, 0, sizeof(sense));
	io.interface_id = 'S';
	switch (cmd->dir) {
	case MMC_DIR_TO_DEV:
		io.dxfer_direction = SG_DXFER_TO_DEV;
		break;
	case MMC_DIR_FROM_DEV:
		io.dxfer_direction = SG_DXFER_FROM_DEV;
		break;
	default:
		io.dxfer_direction = SG_DXFER_NONE;
		break;
	}
	if (cmd->len > 0xFFFFFFFFu || cmd->cdb_len == 0 ||
	    cmd->cdb_len > sizeof(cmd->cdb))
		return cds_error(-EINVAL, "%s: %s: bad command length", s->path,
				 mmc_op_name(cmd->cdb[0]));
	io.cmd_len = cmd->cdb_len;
	io.cmdp = cmd->cdb;
	/* exactly the transfer length: some USB bridges need it */
	io.dxfer_len =
	    io.dxfer_direction == SG_DXFER_NONE ? 0 : (unsigned)cmd->len;
	io.dxferp = io.dxfer_len ? cmd->buf : NULL;
	io.mx_sb_len = sizeof(sense);
	io.sbp = sense;
	io.timeout = cmd->timeout_ms ? cmd->timeout_ms : MMC_TIMEOUT_DEFAULT;

	cmd->status = MMC_STATUS_GOOD;
	cmd->resid = 0;
	memset(&cmd->sense, 0, sizeof(cmd->sense));
	if (ioctl(s->fd, SG_IO, &io) < 0) {
		int err = errno;

		return cds_error(-err, "%s: %s: SG_IO failed: %s", s->path,
				 mmc_op_name(cmd->cdb[0]), strerror(err));
	}
	if (io.resid > 0 && (size_t)io.resid <= cmd->len)
		cmd->resid = (size_t)io.resid;
	if ((io.status & 0x7E) == MMC_STATUS_CHECK_CONDITION ||
	    io.sb_len_wr > 0) {
		size_t n =
		    io.sb_len_wr < sizeof(sense) ? io.sb_len_wr : sizeof(sense);

		cmd->status = MMC_STATUS_CHECK_CONDITION;
		/* an undecodable sense leaves sense.valid false: the drive
		 * layer reports "failed without sense data" */
		mmc_sense_parse(sense, n, &cmd->sense);
		cds_error_clear();
		return 0;
	}
	if (io.host_status || (io.driver_status & SGIO_DRIVER_STATUS_MASK))
		return cds_error(-EIO,
				 "%s: %s: transport error (host status "
				 "%u, driver status %u)",
				 s->path, mmc_op_name(cmd->cdb[0]),
				 io.host_status, io.driver_status);
	if (io.status != MMC_STATUS_GOOD)
		return cds_error(-EIO, "%s: %s: SCSI status %02Xh", s->path,
				 mmc_op_name(cmd->cdb[0]), io.status);
	return 0;
}

static void sgio_close(struct mmc_transport *t)
{
	struct sgio *s = (struct sgio *)t;

	close(s->fd);
	free(s);
}

static const struct mmc_transport_ops sgio_ops = {
    .name = "sgio",
    .execute = sgio_execute,
    .close = sgio_close,
};

int mmc_sgio_open(const char *path, bool excl, struct mmc_transport **out)
{
	int flags = O_NONBLOCK | O_CLOEXEC | (excl ? O_EXCL : 0);
	struct sgio *s;
	int fd, version = 0;

	*out = NULL;
	fd = open(path, O_RDWR | flags);
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
		fd = open(path, O_RDONLY | flags);
	if (fd < 0) {
		int err = errno;

		if (err == EBUSY)
			return cds_error(-EBUSY,
					 "%s: device is busy (mounted "
					 "or in use by another "
					 "program)",
					 path);
		return cds_error(-err, "%s: %s", path, strerror(err));
	}
	if (ioctl(fd, SG_GET_VERSION_NUM, &version) < 0 ||
	    version < SGIO_MIN_VERSION) {
		close(fd);
		return cds_error(-ENOTTY,
				 "%s is not a SCSI generic capable "
				 "device",
				 path);
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return cds_error(-ENOMEM, "out of memory");
	}
	s->base.ops = &sgio_ops;
	s->base.max_transfer = SGIO_MAX_TRANSFER;
	s->fd = fd;
	snprintf(s->path, sizeof(s->path), "%s", path);
	cds_log(CDS_LOG_DEBUG, "%s: SG_IO version %d", path, version);
	*out = &s->base;
	return 0;
}
