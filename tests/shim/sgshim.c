/*
 * sgshim.c - an LD_PRELOAD library that makes a virtual disc file look like
 * an optical drive's device node, so that real MMC clients (our own sgio
 * transport, cdrskin/libburn, wodim/libusal) run their real open(),
 * ioctl(SG_IO), stat() and fcntl() calls against the emulator.
 *
 * Configuration (environment, read once):
 *   CDS_SHIM_DISC   the virtual disc file (mmc/emu.h); without it the shim
 *                   passes everything through untouched.
 *   CDS_SHIM_DEV    the fake node names of the one drive, separated by ':'
 *                   or ',' (default /dev/sr7).  Names are classified like
 *                   the kernel's: sgN is the sg char device (major 21),
 *                   anything else (srN, scdN, any path) the sr block device
 *                   (major 11); scdN is the same device as srN.
 *   CDSESSION_EMU   emulator options (speed=, write-error=, power-cut=).
 *   CDS_SHIM_TRACE  append one line per SG_IO (CDB, status, sense) to this
 *                   file ("-" = stderr).
 *
 * Model: every name is one node of one drive; all opens share one emulator
 * instance (a real drive is one device), opened at the first open and
 * closed when the last descriptor goes, so the disc file is consistent
 * whenever no client holds the drive.  An open returns a real descriptor
 * of /dev/null (so read/write/poll/F_SETFL still work on something), which
 * is mapped in a table to its node.  The ioctls are answered the way the
 * Linux sr (block layer scsi_ioctl + cdrom layer) and sg drivers answer
 * them; unknown ioctls fail with ENOTTY.  O_EXCL is modelled inside this
 * process only: a second O_EXCL open of an sr node, or any conflicting open
 * of an sg node, fails with EBUSY.  Record locks (F_SETLK...) on a fake
 * descriptor always succeed: they are per process, and cross-process
 * exclusion is not modelled.
 *
 * Locking: one recursive mutex (shim_lock) guards the descriptor table and
 * the emulator.  It is recursive because the emulator itself calls open(),
 * close(), fstat() and fcntl(), which land in this file again.
 */

/* Our definitions of open(), stat()... must keep their plain names: with
 * _FILE_OFFSET_BITS=64 the headers would redirect them to the *64 names. */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/cdrom.h>
#include <scsi/scsi.h>
#include <scsi/sg.h>

#include "common/bytes.h"
#include "common/error.h"
#include "common/sector.h"
#include "mmc/emu.h"
#include "mmc/mmc_const.h"
#include "mmc/transport.h"

#define SHIM_MAX_NODES 8
#define SHIM_MAX_FDS   64

/* Linux device majors (Documentation/admin-guide/devices.txt). */
#define SHIM_SR_MAJOR 11
#define SHIM_SG_MAJOR 21

/* Answers of the two drivers to SG_GET_VERSION_NUM: the block layer's
 * (sr) and the sg driver's 3.5.36. */
#define SHIM_SR_SG_VERSION 30527
#define SHIM_SG_SG_VERSION 30536

/* sg_io_hdr.driver_status bit "sense data available" (<scsi/sg.h> names
 * it in a comment; the kernel defines it in scsi.h). */
#define SHIM_DRIVER_SENSE 0x08

/* Largest SG_IO transfer; the block layer refuses bigger ones with EIO
 * (queue_max_hw_sectors).  1 MiB, a SATA drive's usual limit. */
#define SHIM_MAX_TRANSFER (1024u * 1024u)

/* The SCSI address every node of the fake drive reports. */
#define SHIM_HOST_NO 7
#define SHIM_CHANNEL 0
#define SHIM_TARGET  0
#define SHIM_LUN     0

/* USER_HZ: SG_GET/SET_TIMEOUT speak clock ticks. */
#define SHIM_USER_HZ 100

enum shim_kind {
	SHIM_SR, /* block device: sr / scd */
	SHIM_SG, /* char device: sg */
};

struct shim_node {
	char path[PATH_MAX];
	enum shim_kind kind;
	unsigned minor;
};

/* One descriptor of a fake node.  Protected by shim_lock. */
struct shim_fd {
	int fd; /* -1: slot free */
	int node;
	bool excl;
	int timeout_ticks; /* SG_SET_TIMEOUT */
	int reserved_size; /* SG_SET_RESERVED_SIZE */
};

static struct {
	bool active; /* CDS_SHIM_DISC was set */
	char disc[PATH_MAX];
	struct shim_node nodes[SHIM_MAX_NODES];
	int nnodes;
	FILE *trace;
} shim_cfg;

static pthread_once_t shim_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t shim_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
/* Protected by shim_lock. */
static struct shim_fd shim_fds[SHIM_MAX_FDS];
static struct mmc_emu *shim_emu;
static bool shim_emu_read_only;
static pid_t shim_emu_pid; /* the process that opened shim_emu */
/* Number of used shim_fds slots; read without the lock as a fast path
 * (a stale non-zero only costs a table lookup). */
static volatile int shim_nfds;

/* ---- the real functions --------------------------------------------- */

#define DECLARE_REAL(ret, name, ...)                                           \
	static ret (*real_##name)(__VA_ARGS__);                                \
	static ret (*get_real_##name(void))(__VA_ARGS__)                       \
	{                                                                      \
		if (!real_##name)                                              \
			*(void **)&real_##name = dlsym(RTLD_NEXT, #name);      \
		return real_##name;                                            \
	}

struct stat64;
struct statx;

DECLARE_REAL(int, open, const char *, int, ...)
DECLARE_REAL(int, open64, const char *, int, ...)
DECLARE_REAL(int, openat, int, const char *, int, ...)
DECLARE_REAL(int, openat64, int, const char *, int, ...)
DECLARE_REAL(int, __open_2, const char *, int)
DECLARE_REAL(int, __open64_2, const char *, int)
DECLARE_REAL(int, __openat_2, int, const char *, int)
DECLARE_REAL(int, __openat64_2, int, const char *, int)
DECLARE_REAL(int, close, int)
DECLARE_REAL(int, close_range, unsigned, unsigned, int)
DECLARE_REAL(int, dup, int)
DECLARE_REAL(int, dup2, int, int)
DECLARE_REAL(int, dup3, int, int, int)
DECLARE_REAL(int, ioctl, int, unsigned long, ...)
DECLARE_REAL(int, fcntl, int, int, ...)
DECLARE_REAL(int, fcntl64, int, int, ...)
DECLARE_REAL(int, stat, const char *, struct stat *)
DECLARE_REAL(int, stat64, const char *, struct stat64 *)
DECLARE_REAL(int, lstat, const char *, struct stat *)
DECLARE_REAL(int, lstat64, const char *, struct stat64 *)
DECLARE_REAL(int, fstat, int, struct stat *)
DECLARE_REAL(int, fstat64, int, struct stat64 *)
DECLARE_REAL(int, fstatat, int, const char *, struct stat *, int)
DECLARE_REAL(int, fstatat64, int, const char *, struct stat64 *, int)
DECLARE_REAL(int, __xstat, int, const char *, struct stat *)
DECLARE_REAL(int, __xstat64, int, const char *, struct stat64 *)
DECLARE_REAL(int, __lxstat, int, const char *, struct stat *)
DECLARE_REAL(int, __lxstat64, int, const char *, struct stat64 *)
DECLARE_REAL(int, __fxstat, int, int, struct stat *)
DECLARE_REAL(int, __fxstat64, int, int, struct stat64 *)
DECLARE_REAL(int, __fxstatat, int, int, const char *, struct stat *, int)
DECLARE_REAL(int, __fxstatat64, int, int, const char *, struct stat64 *, int)
DECLARE_REAL(int, statx, int, const char *, int, unsigned, struct statx *)
DECLARE_REAL(int, access, const char *, int)
DECLARE_REAL(int, faccessat, int, const char *, int, int)
DECLARE_REAL(int, euidaccess, const char *, int)
DECLARE_REAL(int, eaccess, const char *, int)
DECLARE_REAL(ssize_t, readlink, const char *, char *, size_t)
DECLARE_REAL(char *, realpath, const char *, char *)

/* The prototypes glibc no longer declares (old stat ABI) or that we
 * define under their own names. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st,
	       int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
		 int flags);
int fcntl64(int fd, int cmd, ...);
int eaccess(const char *path, int mode);

_Static_assert(sizeof(struct stat) == sizeof(struct stat64),
	       "x86_64 and friends: one stat layout");

/* ---- configuration ---------------------------------------------------- */

/* Copy @path with runs of '/' squeezed, so "/dev//sr7" names /dev/sr7. */
static void squeeze_slashes(char *dst, size_t size, const char *path)
{
	size_t n = 0;

	for (; *path && n + 1 < size; path++) {
		if (*path == '/' && n > 0 && dst[n - 1] == '/')
			continue;
		dst[n++] = *path;
	}
	dst[n] = 0;
}

static void classify_node(struct shim_node *node)
{
	const char *base = strrchr(node->path, '/');
	const char *p;

	base = base ? base + 1 : node->path;
	node->kind = strncmp(base, "sg", 2) == 0 ? SHIM_SG : SHIM_SR;
	p = base + strlen(base);
	while (p > base && p[-1] >= '0' && p[-1] <= '9')
		p--;
	node->minor = (unsigned)strtoul(p, NULL, 10) & 0xff;
}

static void shim_configure(void)
{
	const char *disc = getenv("CDS_SHIM_DISC");
	const char *devs = getenv("CDS_SHIM_DEV");
	const char *trace = getenv("CDS_SHIM_TRACE");
	char list[PATH_MAX * 2];
	char *save = NULL, *tok;

	if (!disc || !*disc || strlen(disc) >= sizeof(shim_cfg.disc))
		return;
	/* The client may chdir before it opens the drive. */
	if (!get_real_realpath()(disc, shim_cfg.disc))
		snprintf(shim_cfg.disc, sizeof(shim_cfg.disc), "%s", disc);
	if (!devs || !*devs)
		devs = "/dev/sr7";
	snprintf(list, sizeof(list), "%s", devs);
	for (tok = strtok_r(list, ":,", &save); tok;
	     tok = strtok_r(NULL, ":,", &save)) {
		struct shim_node *node = &shim_cfg.nodes[shim_cfg.nnodes];

		if (shim_cfg.nnodes == SHIM_MAX_NODES)
			break;
		squeeze_slashes(node->path, sizeof(node->path), tok);
		classify_node(node);
		shim_cfg.nnodes++;
	}
	for (int i = 0; i < SHIM_MAX_FDS; i++)
		shim_fds[i].fd = -1;
	if (trace && *trace)
		shim_cfg.trace =
		    strcmp(trace, "-") == 0 ? stderr : fopen(trace, "ae");
	shim_cfg.active = shim_cfg.nnodes > 0;
}

static bool shim_active(void)
{
	pthread_once(&shim_once, shim_configure);
	return shim_cfg.active;
}

/* Index of the node @path names, or -1.  Only absolute paths and paths
 * relative to the working directory (dirfd AT_FDCWD) are matched. */
static int node_lookup_at(int dirfd, const char *path)
{
	char norm[PATH_MAX];

	if (!path || !shim_active())
		return -1;
	if (path[0] != '/' && dirfd != AT_FDCWD)
		return -1;
	if (strlen(path) >= sizeof(norm))
		return -1;
	squeeze_slashes(norm, sizeof(norm), path);
	for (int i = 0; i < shim_cfg.nnodes; i++)
		if (strcmp(norm, shim_cfg.nodes[i].path) == 0)
			return i;
	return -1;
}

static int node_lookup(const char *path)
{
	return node_lookup_at(AT_FDCWD, path);
}

static dev_t node_rdev(const struct shim_node *node)
{
	return makedev(node->kind == SHIM_SG ? SHIM_SG_MAJOR : SHIM_SR_MAJOR,
		       node->minor);
}

/* ---- descriptor table (caller holds shim_lock) ------------------------ */

static struct shim_fd *fd_find(int fd)
{
	if (fd < 0 || shim_nfds == 0)
		return NULL;
	for (int i = 0; i < SHIM_MAX_FDS; i++)
		if (shim_fds[i].fd == fd)
			return &shim_fds[i];
	return NULL;
}

static struct shim_fd *fd_alloc(void)
{
	for (int i = 0; i < SHIM_MAX_FDS; i++)
		if (shim_fds[i].fd < 0)
			return &shim_fds[i];
	return NULL;
}

/* Is the device behind @node held open, or exclusively, by someone? */
static void node_usage(int node, unsigned *opens, unsigned *excl)
{
	dev_t rdev = node_rdev(&shim_cfg.nodes[node]);

	*opens = *excl = 0;
	for (int i = 0; i < SHIM_MAX_FDS; i++) {
		if (shim_fds[i].fd < 0)
			continue;
		if (node_rdev(&shim_cfg.nodes[shim_fds[i].node]) != rdev)
			continue;
		(*opens)++;
		if (shim_fds[i].excl)
			(*excl)++;
	}
}

static void emu_release_if_unused(void)
{
	if (shim_nfds == 0 && shim_emu && shim_emu_pid == getpid()) {
		mmc_emu_close(shim_emu);
		shim_emu = NULL;
	}
}

static void fd_free(struct shim_fd *f)
{
	f->fd = -1;
	shim_nfds--;
	emu_release_if_unused();
}

/* Drop @fd from the table if it is ours (it is being closed). */
static void fd_forget(int fd)
{
	struct shim_fd *f;

	if (shim_nfds == 0)
		return;
	pthread_mutex_lock(&shim_lock);
	f = fd_find(fd);
	if (f)
		fd_free(f);
	pthread_mutex_unlock(&shim_lock);
}

static bool fd_is_fake(int fd)
{
	bool fake;

	if (shim_nfds == 0)
		return false;
	pthread_mutex_lock(&shim_lock);
	fake = fd_find(fd) != NULL;
	pthread_mutex_unlock(&shim_lock);
	return fake;
}

/* ---- the emulator ----------------------------------------------------- */

static int emu_ensure_open(void)
{
	struct mmc_emu_options o;
	const char *spec = getenv("CDSESSION_EMU");
	int rc;

	if (shim_emu)
		return 0;
	mmc_emu_options_init(&o);
	if (spec && *spec) {
		rc = mmc_emu_options_parse(&o, spec);
		if (rc < 0)
			goto fail;
	}
	rc = mmc_emu_open(shim_cfg.disc, &o, &shim_emu);
	if (rc == -EACCES || rc == -EROFS || rc == -EPERM) {
		/* A disc file we may not write is a write-protected disc. */
		o.read_only = true;
		rc = mmc_emu_open(shim_cfg.disc, &o, &shim_emu);
	}
	if (rc < 0)
		goto fail;
	shim_emu_read_only = o.read_only;
	shim_emu_pid = getpid();
	return 0;
fail:
	fprintf(stderr, "sgshim: %s: %s\n", shim_cfg.disc, cds_errmsg(rc));
	shim_emu = NULL;
	return rc;
}

static void trace_cmd(const struct shim_node *node, const struct mmc_cmd *c,
		      int rc)
{
	FILE *t = shim_cfg.trace;

	if (!t)
		return;
	fprintf(t, "%s:", node->path);
	for (unsigned i = 0; i < c->cdb_len; i++)
		fprintf(t, " %02X", c->cdb[i]);
	fprintf(t, " dir=%d len=%zu", (int)c->dir, c->len);
	/* parameter lists (MODE SELECT, CUE SHEET) help to explain a
	 * rejection; sector data would only flood the trace */
	if (c->dir == MMC_DIR_TO_DEV && c->buf && c->len <= 256) {
		fprintf(t, " data");
		for (size_t i = 0; i < c->len; i++)
			fprintf(t, "%s%02X", i % 4 ? "" : " ",
				((const uint8_t *)c->buf)[i]);
	}
	if (rc < 0) {
		fprintf(t, " -> transport error %d\n", rc);
	} else if (c->status == MMC_STATUS_GOOD) {
		size_t n = c->resid < c->len ? c->len - c->resid : 0;

		fprintf(t, " -> GOOD resid=%zu", c->resid);
		if (c->dir == MMC_DIR_FROM_DEV && c->buf && n <= 256) {
			fprintf(t, " reply");
			for (size_t i = 0; i < n; i++)
				fprintf(t, "%s%02X", i % 4 ? "" : " ",
					((const uint8_t *)c->buf)[i]);
		}
		fprintf(t, "\n");
	} else {
		fprintf(t, " -> status %02X sense %X/%02X/%02X resid=%zu\n",
			c->status, c->sense.key, c->sense.asc, c->sense.ascq,
			c->resid);
	}
	fflush(t);
}

/* Run one CDB on the emulator (shim_lock held). */
static int emu_run(const struct shim_node *node, struct mmc_cmd *c)
{
	int rc = emu_ensure_open();

	if (rc < 0)
		return rc;
	rc = mmc_emu_execute(shim_emu, c);
	trace_cmd(node, c, rc);
	return rc;
}

/* Fixed-format sense (SPC-3 4.5.3) from the decoded fields, for an
 * emulator reply that came without raw bytes. */
static uint8_t build_fixed_sense(const struct mmc_sense *s, uint8_t *out,
				 size_t size)
{
	uint8_t raw[18] = {0};

	raw[0] = 0x70 | (s->info_valid ? 0x80 : 0);
	raw[2] = s->key & 0x0f;
	raw[3] = (uint8_t)(s->info >> 24);
	raw[4] = (uint8_t)(s->info >> 16);
	raw[5] = (uint8_t)(s->info >> 8);
	raw[6] = (uint8_t)s->info;
	raw[7] = 10;
	raw[12] = s->asc;
	raw[13] = s->ascq;
	if (s->progress_valid) {
		raw[15] = 0x80;
		raw[16] = (uint8_t)(s->progress >> 8);
		raw[17] = (uint8_t)s->progress;
	}
	size = size < sizeof(raw) ? size : sizeof(raw);
	memcpy(out, raw, size);
	return (uint8_t)size;
}

static unsigned elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0->tv_sec) * 1000LL +
	     (t1.tv_nsec - t0->tv_nsec) / 1000000;
	return ms < 0 ? 0 : (unsigned)ms;
}

/*
 * ioctl(SG_IO): translate struct sg_io_hdr into struct mmc_cmd and back,
 * with the checks and the outcome fields of the kernel's block layer
 * (block/scsi_ioctl.c sg_io / blk_complete_sghdr_rq).  Returns 0 or
 * -errno.
 */
static int do_sg_io(struct shim_fd *f, struct sg_io_hdr *h)
{
	const struct shim_node *node = &shim_cfg.nodes[f->node];
	struct mmc_cmd c;
	struct timespec t0;
	int rc;

	if (!h)
		return -EFAULT;
	if (h->interface_id != 'S')
		return node->kind == SHIM_SG ? -ENOSYS : -EINVAL;
	if (h->cmd_len < 6 || h->cmd_len > sizeof(c.cdb) || !h->cmdp)
		return -EINVAL;
	if (h->iovec_count)
		return -EINVAL; /* scatter lists: no client of ours uses them */
	if (h->dxfer_len > SHIM_MAX_TRANSFER)
		return -EIO;
	memset(&c, 0, sizeof(c));
	memcpy(c.cdb, h->cmdp, h->cmd_len);
	c.cdb_len = h->cmd_len;
	switch (h->dxfer_direction) {
	case SG_DXFER_NONE:
		c.dir = MMC_DIR_NONE;
		break;
	case SG_DXFER_TO_DEV:
		c.dir = MMC_DIR_TO_DEV;
		break;
	case SG_DXFER_FROM_DEV:
	case SG_DXFER_TO_FROM_DEV:
		c.dir = MMC_DIR_FROM_DEV;
		break;
	default:
		return -EINVAL;
	}
	if (c.dir != MMC_DIR_NONE && h->dxfer_len) {
		if (!h->dxferp)
			return -EFAULT;
		c.buf = h->dxferp;
		c.len = h->dxfer_len;
	} else {
		c.dir = MMC_DIR_NONE;
	}
	c.timeout_ms = h->timeout;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = emu_run(node, &c);
	h->duration = elapsed_ms(&t0);
	if (rc < 0)
		return rc; /* the drive is gone (power cut) or unusable */

	h->status = c.status;
	h->masked_status = (c.status >> 1) & 0x1f;
	h->msg_status = 0;
	h->host_status = 0;
	h->driver_status = 0;
	h->sb_len_wr = 0;
	h->resid = c.resid > h->dxfer_len ? (int)h->dxfer_len : (int)c.resid;
	h->info = 0;
	if (c.status != MMC_STATUS_GOOD) {
		h->info |= SG_INFO_CHECK;
		if (c.status == MMC_STATUS_CHECK_CONDITION)
			h->driver_status = SHIM_DRIVER_SENSE;
		if (h->sbp && h->mx_sb_len) {
			size_t n = c.sense.raw_len;

			if (n > sizeof(c.sense.raw))
				n = sizeof(c.sense.raw);
			if (n > h->mx_sb_len)
				n = h->mx_sb_len;
			if (n) {
				memcpy(h->sbp, c.sense.raw, n);
				h->sb_len_wr = (unsigned char)n;
			} else if (c.sense.valid) {
				h->sb_len_wr = build_fixed_sense(
				    &c.sense, h->sbp, h->mx_sb_len);
			}
		}
	}
	return 0;
}

/* A CDB without data through the emulator; returns the SCSI status (and
 * the sense in @sense) or -errno. */
static int run_simple(struct shim_fd *f, const uint8_t *cdb, uint8_t len,
		      void *buf, size_t buflen, struct mmc_sense *sense)
{
	struct mmc_cmd c;
	int rc;

	memset(&c, 0, sizeof(c));
	memcpy(c.cdb, cdb, len);
	c.cdb_len = len;
	c.dir = buf ? MMC_DIR_FROM_DEV : MMC_DIR_NONE;
	c.buf = buf;
	c.len = buflen;
	rc = emu_run(&shim_cfg.nodes[f->node], &c);
	if (rc < 0)
		return rc;
	if (sense)
		*sense = c.sense;
	return c.status;
}

/* CDROM_DRIVE_STATUS as sr_drive_status() derives it from TEST UNIT
 * READY and its sense. */
static int cdrom_drive_status(struct shim_fd *f)
{
	static const uint8_t tur[6] = {MMC_OP_TEST_UNIT_READY};
	struct mmc_sense s;
	int st;

	for (int tries = 0; tries < 3; tries++) {
		st = run_simple(f, tur, sizeof(tur), NULL, 0, &s);
		if (st < 0)
			return st;
		if (st == MMC_STATUS_GOOD)
			return CDS_DISC_OK;
		/* sr retries a unit attention (scsi_test_unit_ready) */
		if (s.key != MMC_SK_UNIT_ATTENTION)
			break;
	}
	if (s.key == MMC_SK_NOT_READY && s.asc == 0x3A)
		return s.ascq == 0x02 ? CDS_TRAY_OPEN : CDS_NO_DISC;
	return CDS_DRIVE_NOT_READY;
}

/* Device size in bytes from READ CAPACITY, as sr_read_capacity() sets
 * the block device's size (0 when the drive cannot tell, e.g. blank). */
static uint64_t sr_size_bytes(struct shim_fd *f)
{
	static const uint8_t cdb[10] = {MMC_OP_READ_CAPACITY};
	uint8_t r[8] = {0};
	uint32_t last;

	if (run_simple(f, cdb, sizeof(cdb), r, sizeof(r), NULL) !=
	    MMC_STATUS_GOOD)
		return 0;
	last = cds_get_be32(r);
	/* sr uses 2048 whatever the drive reports for a CD */
	return ((uint64_t)last + 1) * CDS_SECTOR_SIZE;
}

/* CDROMMULTISESSION as sr_get_last_session(): READ TOC format 1 (session
 * info); the offset counts only if the last session is not the first. */
static int cdrom_multisession(struct shim_fd *f, struct cdrom_multisession *ms)
{
	static const uint8_t cdb[10] = {
	    MMC_OP_READ_TOC, 0, 1, 0, 0, 0, 0, 0, 12, 0};
	uint8_t r[12] = {0};
	int lba = 0, rc;

	if (!ms)
		return -EFAULT;
	if (ms->addr_format != CDROM_LBA && ms->addr_format != CDROM_MSF)
		return -EINVAL;
	rc = run_simple(f, cdb, sizeof(cdb), r, sizeof(r), NULL);
	/* bytes 8-11: start of the last session's first track; byte 6:
	 * its track number */
	if (rc == MMC_STATUS_GOOD && r[6] > 1)
		lba = (int)cds_get_be32(r + 8);
	ms->xa_flag = lba > 0;
	if (ms->addr_format == CDROM_LBA) {
		ms->addr.lba = lba;
	} else {
		int frames = lba + MMC_CD_PREGAP;

		ms->addr.msf.minute = (uint8_t)(frames / (60 * 75));
		ms->addr.msf.second = (uint8_t)(frames / 75 % 60);
		ms->addr.msf.frame = (uint8_t)(frames % 75);
	}
	return 0;
}

static int put_int(void *arg, int v)
{
	if (!arg)
		return -EFAULT;
	memcpy(arg, &v, sizeof(v));
	return 0;
}

static int get_int(const void *arg, int *v)
{
	if (!arg)
		return -EFAULT;
	memcpy(v, arg, sizeof(*v));
	return 0;
}

/* The ioctls of sr (block layer scsi_ioctl and cdrom layer) and sg.
 * Returns the ioctl's non-negative result or -errno. */
static int do_ioctl(struct shim_fd *f, unsigned long req, void *arg)
{
	const struct shim_node *node = &shim_cfg.nodes[f->node];
	bool sg = node->kind == SHIM_SG;
	int v, rc;

	switch (req) {
	case SG_IO:
		return do_sg_io(f, arg);
	case SG_GET_VERSION_NUM:
		return put_int(arg,
			       sg ? SHIM_SG_SG_VERSION : SHIM_SR_SG_VERSION);
	case SG_SET_TIMEOUT:
		rc = get_int(arg, &v);
		if (rc < 0)
			return rc;
		if (v < 0)
			return -EIO;
		f->timeout_ticks = v;
		return 0;
	case SG_GET_TIMEOUT:
		return f->timeout_ticks; /* the result is the timeout */
	case SG_GET_RESERVED_SIZE:
		return put_int(arg, f->reserved_size);
	case SG_SET_RESERVED_SIZE:
		rc = get_int(arg, &v);
		if (rc < 0)
			return rc;
		if (v < 0)
			return -EINVAL;
		f->reserved_size =
		    v < (int)SHIM_MAX_TRANSFER ? v : (int)SHIM_MAX_TRANSFER;
		return 0;
	case SG_EMULATED_HOST:
		return put_int(arg, 0);
	case SCSI_IOCTL_GET_IDLUN: {
		/* struct scsi_idlun of the kernel: dev_id, host_unique_id */
		int idlun[2] = {
		    SHIM_TARGET | SHIM_LUN << 8 | SHIM_CHANNEL << 16 |
			SHIM_HOST_NO << 24,
		    SHIM_HOST_NO + 1,
		};

		if (!arg)
			return -EFAULT;
		memcpy(arg, idlun, sizeof(idlun));
		return 0;
	}
	case SCSI_IOCTL_GET_BUS_NUMBER:
		return put_int(arg, SHIM_HOST_NO);
	default:
		break;
	}
	if (sg) {
		switch (req) {
		case SG_GET_SCSI_ID: {
			struct sg_scsi_id id;

			if (!arg)
				return -EFAULT;
			memset(&id, 0, sizeof(id));
			id.host_no = SHIM_HOST_NO;
			id.channel = SHIM_CHANNEL;
			id.scsi_id = SHIM_TARGET;
			id.lun = SHIM_LUN;
			id.scsi_type = TYPE_ROM;
			id.h_cmd_per_lun = 1;
			id.d_queue_depth = 1;
			memcpy(arg, &id, sizeof(id));
			return 0;
		}
		case SG_GET_COMMAND_Q:
		case SG_GET_LOW_DMA:
		case SG_GET_NUM_WAITING:
		case SG_GET_KEEP_ORPHAN:
			return put_int(arg, 0);
		case SG_GET_PACK_ID:
			return put_int(arg, -1);
		case SG_GET_SG_TABLESIZE:
			return put_int(arg, 128);
		case SG_SET_COMMAND_Q:
		case SG_SET_FORCE_PACK_ID:
		case SG_SET_FORCE_LOW_DMA:
		case SG_SET_KEEP_ORPHAN:
		case SG_SET_DEBUG:
		case SG_NEXT_CMD_LEN:
			return 0;
		case SG_SCSI_RESET:
			return 0;
		default:
			return -ENOTTY;
		}
	}
	switch (req) {
	case CDROM_DRIVE_STATUS:
		return cdrom_drive_status(f);
	case CDROM_GET_CAPABILITY:
		return CDC_CLOSE_TRAY | CDC_OPEN_TRAY | CDC_LOCK |
		       CDC_SELECT_SPEED | CDC_MULTI_SESSION | CDC_MCN |
		       CDC_MEDIA_CHANGED | CDC_RESET | CDC_DRIVE_STATUS |
		       CDC_GENERIC_PACKET | CDC_CD_R | CDC_CD_RW;
	case CDROM_MEDIA_CHANGED:
		return 0;
	case CDROMMULTISESSION:
		return cdrom_multisession(f, arg);
	case CDROM_LOCKDOOR: {
		uint8_t cdb[6] = {MMC_OP_PREVENT_ALLOW,
				  0,
				  0,
				  0,
				  (uint8_t)((uintptr_t)arg ? 1 : 0),
				  0};

		rc = run_simple(f, cdb, sizeof(cdb), NULL, 0, NULL);
		return rc < 0 ? rc : rc == MMC_STATUS_GOOD ? 0 : -EIO;
	}
	case CDROMEJECT:
	case CDROMCLOSETRAY: {
		uint8_t cdb[6] = {MMC_OP_START_STOP_UNIT,	   0, 0, 0,
				  req == CDROMEJECT ? 0x02 : 0x03, 0};

		rc = run_simple(f, cdb, sizeof(cdb), NULL, 0, NULL);
		return rc < 0 ? rc : rc == MMC_STATUS_GOOD ? 0 : -EIO;
	}
	case BLKGETSIZE64: {
		uint64_t size = sr_size_bytes(f);

		if (!arg)
			return -EFAULT;
		memcpy(arg, &size, sizeof(size));
		return 0;
	}
	case BLKGETSIZE: {
		unsigned long sectors = (unsigned long)(sr_size_bytes(f) >> 9);

		if (!arg)
			return -EFAULT;
		memcpy(arg, &sectors, sizeof(sectors));
		return 0;
	}
	case BLKSSZGET:
		return put_int(arg, CDS_SECTOR_SIZE);
	case BLKBSZGET:
		return put_int(arg, CDS_SECTOR_SIZE);
	case BLKROGET:
		return put_int(arg, shim_emu_read_only ? 1 : 0);
	case BLKFLSBUF:
		return 0;
	default:
		return -ENOTTY;
	}
}

/* ---- open ------------------------------------------------------------- */

/*
 * Open fake node @node with @flags: claim a table slot, apply the O_EXCL
 * rules of the device, open the emulator if this is the first user, and
 * hand out a /dev/null descriptor carrying the access mode and flags.
 */
static int fake_open(int node, int flags)
{
	const struct shim_node *n = &shim_cfg.nodes[node];
	unsigned opens, excl;
	struct shim_fd *f;
	int fd, rc;

	if ((flags & O_CREAT) && (flags & O_EXCL)) {
		errno = EEXIST;
		return -1;
	}
	if (flags & O_DIRECTORY) {
		errno = ENOTDIR;
		return -1;
	}
	pthread_mutex_lock(&shim_lock);
	node_usage(node, &opens, &excl);
	if (n->kind == SHIM_SR ? (flags & O_EXCL) && excl
			       : excl || ((flags & O_EXCL) && opens)) {
		rc = -EBUSY;
		goto out;
	}
	f = fd_alloc();
	if (!f) {
		rc = -ENFILE;
		goto out;
	}
	rc = emu_ensure_open();
	if (rc < 0)
		goto out;
	fd = get_real_open()("/dev/null",
			     (flags & (O_ACCMODE | O_NONBLOCK | O_CLOEXEC)) |
				 O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	f->fd = fd;
	f->node = node;
	f->excl = (flags & O_EXCL) != 0;
	f->timeout_ticks = 60 * SHIM_USER_HZ;
	f->reserved_size =
	    n->kind == SHIM_SG ? SG_DEF_RESERVED_SIZE : (int)SHIM_MAX_TRANSFER;
	shim_nfds++;
	rc = fd;
out:
	if (rc < 0)
		emu_release_if_unused();
	pthread_mutex_unlock(&shim_lock);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

static bool open_needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define OPEN_BODY(real_call, dirfd, path, flags)                               \
	do {                                                                   \
		int node_ = node_lookup_at((dirfd), (path));                   \
		mode_t mode_ = 0;                                              \
		if (open_needs_mode(flags)) {                                  \
			va_list ap_;                                           \
			va_start(ap_, flags);                                  \
			mode_ = (mode_t)va_arg(ap_, int);                      \
			va_end(ap_);                                           \
		}                                                              \
		if (node_ >= 0)                                                \
			return fake_open(node_, (flags));                      \
		return real_call;                                              \
	} while (0)

int open(const char *path, int flags, ...)
{
	OPEN_BODY(get_real_open()(path, flags, mode_), AT_FDCWD, path, flags);
}

int open64(const char *path, int flags, ...)
{
	OPEN_BODY(get_real_open64()(path, flags, mode_), AT_FDCWD, path, flags);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(get_real_openat()(dirfd, path, flags, mode_), dirfd, path,
		  flags);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(get_real_openat64()(dirfd, path, flags, mode_), dirfd, path,
		  flags);
}

int __open_2(const char *path, int flags)
{
	int node = node_lookup(path);

	return node >= 0 ? fake_open(node, flags)
			 : get_real___open_2()(path, flags);
}

int __open64_2(const char *path, int flags)
{
	int node = node_lookup(path);

	return node >= 0 ? fake_open(node, flags)
			 : get_real___open64_2()(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	int node = node_lookup_at(dirfd, path);

	return node >= 0 ? fake_open(node, flags)
			 : get_real___openat_2()(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	int node = node_lookup_at(dirfd, path);

	return node >= 0 ? fake_open(node, flags)
			 : get_real___openat64_2()(dirfd, path, flags);
}

/* ---- close and dup ---------------------------------------------------- */

int close(int fd)
{
	fd_forget(fd);
	return get_real_close()(fd);
}

int close_range(unsigned first, unsigned last, int flags)
{
	if (shim_nfds && !(flags & CLOSE_RANGE_CLOEXEC)) {
		pthread_mutex_lock(&shim_lock);
		for (int i = 0; i < SHIM_MAX_FDS; i++) {
			int fd = shim_fds[i].fd;

			if (fd >= 0 && (unsigned)fd >= first &&
			    (unsigned)fd <= last)
				fd_free(&shim_fds[i]);
		}
		pthread_mutex_unlock(&shim_lock);
	}
	return get_real_close_range()(first, last, flags);
}

/* Register @newfd as another descriptor of @oldfd's node. */
static int dup_register(int oldfd, int newfd)
{
	struct shim_fd *f, *g;

	if (newfd < 0 || shim_nfds == 0)
		return newfd;
	pthread_mutex_lock(&shim_lock);
	f = fd_find(oldfd);
	if (f && newfd != oldfd) {
		g = fd_find(newfd);
		if (!g) {
			g = fd_alloc();
			if (g)
				shim_nfds++;
		}
		if (g) {
			*g = *f;
			g->fd = newfd;
		}
	}
	pthread_mutex_unlock(&shim_lock);
	return newfd;
}

int dup(int fd)
{
	return dup_register(fd, get_real_dup()(fd));
}

/* dup2/dup3 close @newfd first: forget it, then register the copy. */
int dup2(int oldfd, int newfd)
{
	int rc = get_real_dup2()(oldfd, newfd);

	if (rc >= 0 && oldfd != newfd)
		fd_forget(newfd);
	return dup_register(oldfd, rc);
}

int dup3(int oldfd, int newfd, int flags)
{
	int rc = get_real_dup3()(oldfd, newfd, flags);

	if (rc >= 0)
		fd_forget(newfd);
	return dup_register(oldfd, rc);
}

/* ---- ioctl and fcntl -------------------------------------------------- */

int ioctl(int fd, unsigned long req, ...)
{
	struct shim_fd *f;
	va_list ap;
	void *arg;
	int rc;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (shim_nfds == 0)
		return get_real_ioctl()(fd, req, arg);
	pthread_mutex_lock(&shim_lock);
	f = fd_find(fd);
	if (!f) {
		pthread_mutex_unlock(&shim_lock);
		return get_real_ioctl()(fd, req, arg);
	}
	rc = do_ioctl(f, req, arg);
	pthread_mutex_unlock(&shim_lock);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

/* Record locks on a fake descriptor: granted (see the header comment).
 * Returns 1 when @cmd was handled here. */
static int fake_lock(int fd, int cmd, void *arg, int *result)
{
	struct flock *fl = arg;

	switch (cmd) {
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
	case F_GETLK:
	case F_OFD_GETLK:
		break;
	default:
		return 0;
	}
	if (!fd_is_fake(fd))
		return 0;
	if ((cmd == F_GETLK || cmd == F_OFD_GETLK) && fl)
		fl->l_type = F_UNLCK;
	*result = 0;
	return 1;
}

static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
	int result, newfd;

	if (shim_nfds && fake_lock(fd, cmd, arg, &result))
		return result;
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
		newfd = real(fd, cmd, arg);
		return dup_register(fd, newfd);
	}
	return real(fd, cmd, arg);
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(get_real_fcntl(), fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(get_real_fcntl64(), fd, cmd, arg);
}

/* ---- stat family ------------------------------------------------------ */

static void fake_stat(int node, struct stat *st)
{
	const struct shim_node *n = &shim_cfg.nodes[node];
	struct stat disc;

	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(0, 5); /* devtmpfs */
	st->st_ino = 0x5c000 + (ino_t)node;
	st->st_mode = (n->kind == SHIM_SG ? S_IFCHR : S_IFBLK) | 0660;
	st->st_nlink = 1;
	/* The drive belongs to whoever runs the client, so that permission
	 * checks on the mode pass. */
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_rdev = node_rdev(n);
	st->st_blksize = 4096;
	if (get_real_stat()(shim_cfg.disc, &disc) == 0) {
		st->st_atim = disc.st_atim;
		st->st_mtim = disc.st_mtim;
		st->st_ctim = disc.st_mtim;
	}
}

static int fake_fd_node(int fd)
{
	struct shim_fd *f;
	int node = -1;

	if (shim_nfds == 0)
		return -1;
	pthread_mutex_lock(&shim_lock);
	f = fd_find(fd);
	if (f)
		node = f->node;
	pthread_mutex_unlock(&shim_lock);
	return node;
}

/* The node a *stat*at() call refers to: a path, or with AT_EMPTY_PATH
 * and "" the descriptor itself; -1 if not ours. */
static int statat_node(int dirfd, const char *path, int flags)
{
	if (path && !*path && (flags & AT_EMPTY_PATH))
		return fake_fd_node(dirfd);
	return node_lookup_at(dirfd, path);
}

#define STAT_BY_NODE(node, st, real_call)                                      \
	do {                                                                   \
		int n_ = (node);                                               \
		if (n_ < 0)                                                    \
			return real_call;                                      \
		fake_stat(n_, (struct stat *)(st));                            \
		return 0;                                                      \
	} while (0)

int stat(const char *path, struct stat *st)
{
	STAT_BY_NODE(node_lookup(path), st, get_real_stat()(path, st));
}

int stat64(const char *path, struct stat64 *st)
{
	STAT_BY_NODE(node_lookup(path), st, get_real_stat64()(path, st));
}

int lstat(const char *path, struct stat *st)
{
	STAT_BY_NODE(node_lookup(path), st, get_real_lstat()(path, st));
}

int lstat64(const char *path, struct stat64 *st)
{
	STAT_BY_NODE(node_lookup(path), st, get_real_lstat64()(path, st));
}

int fstat(int fd, struct stat *st)
{
	STAT_BY_NODE(fake_fd_node(fd), st, get_real_fstat()(fd, st));
}

int fstat64(int fd, struct stat64 *st)
{
	STAT_BY_NODE(fake_fd_node(fd), st, get_real_fstat64()(fd, st));
}

int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	STAT_BY_NODE(statat_node(dirfd, path, flags), st,
		     get_real_fstatat()(dirfd, path, st, flags));
}

int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	STAT_BY_NODE(statat_node(dirfd, path, flags), st,
		     get_real_fstatat64()(dirfd, path, st, flags));
}

int __xstat(int ver, const char *path, struct stat *st)
{
	STAT_BY_NODE(node_lookup(path), st, get_real___xstat()(ver, path, st));
}

int __xstat64(int ver, const char *path, struct stat64 *st)
{
	STAT_BY_NODE(node_lookup(path), st,
		     get_real___xstat64()(ver, path, st));
}

int __lxstat(int ver, const char *path, struct stat *st)
{
	STAT_BY_NODE(node_lookup(path), st, get_real___lxstat()(ver, path, st));
}

int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	STAT_BY_NODE(node_lookup(path), st,
		     get_real___lxstat64()(ver, path, st));
}

int __fxstat(int ver, int fd, struct stat *st)
{
	STAT_BY_NODE(fake_fd_node(fd), st, get_real___fxstat()(ver, fd, st));
}

int __fxstat64(int ver, int fd, struct stat64 *st)
{
	STAT_BY_NODE(fake_fd_node(fd), st, get_real___fxstat64()(ver, fd, st));
}

int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	STAT_BY_NODE(statat_node(dirfd, path, flags), st,
		     get_real___fxstatat()(ver, dirfd, path, st, flags));
}

int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
		 int flags)
{
	STAT_BY_NODE(statat_node(dirfd, path, flags), st,
		     get_real___fxstatat64()(ver, dirfd, path, st, flags));
}

int statx(int dirfd, const char *path, int flags, unsigned mask,
	  struct statx *stx)
{
	int node = statat_node(dirfd, path, flags);
	struct stat st;

	if (node < 0)
		return get_real_statx()(dirfd, path, flags, mask, stx);
	fake_stat(node, &st);
	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS;
	stx->stx_blksize = (uint32_t)st.st_blksize;
	stx->stx_nlink = (uint32_t)st.st_nlink;
	stx->stx_uid = st.st_uid;
	stx->stx_gid = st.st_gid;
	stx->stx_mode = (uint16_t)st.st_mode;
	stx->stx_ino = st.st_ino;
	stx->stx_atime.tv_sec = st.st_atim.tv_sec;
	stx->stx_atime.tv_nsec = (uint32_t)st.st_atim.tv_nsec;
	stx->stx_mtime.tv_sec = st.st_mtim.tv_sec;
	stx->stx_mtime.tv_nsec = (uint32_t)st.st_mtim.tv_nsec;
	stx->stx_ctime = stx->stx_mtime;
	stx->stx_rdev_major = major(st.st_rdev);
	stx->stx_rdev_minor = minor(st.st_rdev);
	stx->stx_dev_major = major(st.st_dev);
	stx->stx_dev_minor = minor(st.st_dev);
	return 0;
}

/* ---- access, readlink, realpath --------------------------------------- */

static int fake_access(int mode)
{
	if (mode & X_OK) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

int access(const char *path, int mode)
{
	return node_lookup(path) >= 0 ? fake_access(mode)
				      : get_real_access()(path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int flags)
{
	return node_lookup_at(dirfd, path) >= 0
		   ? fake_access(mode)
		   : get_real_faccessat()(dirfd, path, mode, flags);
}

int euidaccess(const char *path, int mode)
{
	return node_lookup(path) >= 0 ? fake_access(mode)
				      : get_real_euidaccess()(path, mode);
}

int eaccess(const char *path, int mode)
{
	return node_lookup(path) >= 0 ? fake_access(mode)
				      : get_real_eaccess()(path, mode);
}

ssize_t readlink(const char *path, char *buf, size_t size)
{
	if (node_lookup(path) >= 0) {
		errno = EINVAL; /* a device node, not a symlink */
		return -1;
	}
	return get_real_readlink()(path, buf, size);
}

char *realpath(const char *path, char *resolved)
{
	int node = node_lookup(path);
	const char *name;

	if (node < 0 || path[0] != '/')
		return get_real_realpath()(path, resolved);
	name = shim_cfg.nodes[node].path;
	if (!resolved)
		return strdup(name);
	snprintf(resolved, PATH_MAX, "%s", name);
	return resolved;
}

/* ---- fork and exit ---------------------------------------------------- */

/*
 * A forked child (wodim's FIFO process) shares the drive but must never
 * close the parent's emulator: its copy may be stale and closing it could
 * write old state.  The child forgets it (leaking one handle) and opens its
 * own if it ever sends a command.  shim_lock is held across fork() so that
 * the table the child inherits is consistent; the child starts with a
 * fresh lock.
 */
static void shim_prefork(void)
{
	pthread_mutex_lock(&shim_lock);
}

static void shim_postfork_parent(void)
{
	pthread_mutex_unlock(&shim_lock);
}

static void shim_postfork_child(void)
{
	/* Not unlock: the owner recorded in a recursive mutex is the
	 * parent's thread id, which the child's thread no longer has. */
	static const pthread_mutex_t fresh =
	    PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

	memcpy(&shim_lock, &fresh, sizeof(shim_lock));
	shim_emu = NULL;
}

__attribute__((constructor)) static void shim_init(void)
{
	pthread_atfork(shim_prefork, shim_postfork_parent, shim_postfork_child);
}

/* A client that exits with the drive still open must not leave the
 * emulator's state unwritten. */
__attribute__((destructor)) static void shim_fini(void)
{
	pthread_mutex_lock(&shim_lock);
	if (shim_emu && shim_emu_pid == getpid()) {
		mmc_emu_close(shim_emu);
		shim_emu = NULL;
	}
	pthread_mutex_unlock(&shim_lock);
}
