/* fusefloor.c - the FUSE floor for bench/fs: a minimal low-level
 * passthrough filesystem, mounted with the cdsession daemon's FUSE
 * settings, so that the bench can show what any FUSE filesystem pays for
 * a workload (one kernel<->daemon round trip per request) next to what
 * the mount pays.  Only the operations the bench's workloads use.
 *
 *   fusefloor [-f] [-d] [-o OPTS] SOURCE_DIR MOUNTPOINT
 *
 * OPTS are added to the mount options (the bench passes
 * "blkdev,fsname=/dev/loopN": a fuseblk mount, as the daemon's as root).
 * Without -f it goes to the background once mounted. */
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define TIMEOUT 1.0 /* as the daemon's entry and attr timeouts */
#define BUCKETS 65536

/* An inode the kernel knows: an O_PATH descriptor keeps it alive (so its
 * number cannot be reused while we map it) until the kernel forgets it. */
struct node {
	struct node *next; /* in its bucket */
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t nlookup;
};

/* an open directory */
struct dirh {
	DIR *dp;
	off_t off;	    /* where the next entry is */
	struct dirent *ent; /* read but not yet sent (did not fit) */
};

static struct node root = {.fd = -1};
static struct node *table[BUCKETS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static struct node *node_of(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &root : (struct node *)(uintptr_t)ino;
}

static struct node **bucket_of(dev_t dev, ino_t ino)
{
	return &table[(ino ^ (dev * 31)) % BUCKETS];
}

/* /proc/self/fd/N of @n: what reopens or changes the inode behind an
 * O_PATH descriptor */
static void proc_path(const struct node *n, char *buf, size_t cap)
{
	snprintf(buf, cap, "/proc/self/fd/%d", n->fd);
}

/* @name in @parent into @e, its node's lookup count raised; 0 or errno */
static int do_lookup(fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	int fd =
	    openat(node_of(parent)->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct node *n, **b;

	if (fd < 0)
		return errno;
	memset(e, 0, sizeof(*e));
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		int err = errno;

		close(fd);
		return err;
	}
	pthread_mutex_lock(&table_lock);
	b = bucket_of(e->attr.st_dev, e->attr.st_ino);
	for (n = *b; n; n = n->next)
		if (n->dev == e->attr.st_dev && n->ino == e->attr.st_ino)
			break;
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&table_lock);
			close(fd);
			return ENOMEM;
		}
		n->fd = fd;
		fd = -1;
		n->dev = e->attr.st_dev;
		n->ino = e->attr.st_ino;
		n->next = *b;
		*b = n;
	}
	n->nlookup++;
	pthread_mutex_unlock(&table_lock);
	if (fd >= 0)
		close(fd); /* known already */
	e->ino = (uintptr_t)n;
	e->attr_timeout = TIMEOUT;
	e->entry_timeout = TIMEOUT;
	return 0;
}

static void forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n = node_of(ino), **p;

	if (n == &root)
		return;
	pthread_mutex_lock(&table_lock);
	n->nlookup -= nlookup;
	if (n->nlookup) {
		pthread_mutex_unlock(&table_lock);
		return;
	}
	for (p = bucket_of(n->dev, n->ino); *p != n; p = &(*p)->next)
		;
	*p = n->next;
	pthread_mutex_unlock(&table_lock);
	close(n->fd);
	free(n);
}

/* what the kernel never forgot: it sends no forgets at umount */
static void free_nodes(void)
{
	for (size_t i = 0; i < BUCKETS; i++) {
		while (table[i]) {
			struct node *n = table[i];

			table[i] = n->next;
			close(n->fd);
			free(n);
		}
	}
}

static void reply_entry_or_err(fuse_req_t req, int err,
			       const struct fuse_entry_param *e)
{
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, e);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* the daemon's settings (fs/fs.c op_init), so that the floor pays
	 * the same number of round trips for the same workload */
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want &= ~FUSE_CAP_SPLICE_READ;
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	reply_entry_or_err(req, do_lookup(parent, name, &e), &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		forget_one(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (fstatat(node_of(ino)->fd, "", &st,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, TIMEOUT);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct node *n = node_of(ino);
	char path[64];
	int rc = 0;

	proc_path(n, path, sizeof(path));
	if (to_set & FUSE_SET_ATTR_MODE)
		rc = chmod(path, attr->st_mode);
	if (rc == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		rc = fchownat(
		    n->fd, "",
		    (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
		    (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	/* the kernel passes a handle only with a truncate of an open file */
	if (rc == 0 && (to_set & FUSE_SET_ATTR_SIZE))
		rc = fi ? ftruncate((int)fi->fh, attr->st_size)
			: truncate(path, attr->st_size);
	if (rc == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT},
					 {.tv_nsec = UTIME_OMIT}};

		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_ATIME)
			ts[0] = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_MTIME)
			ts[1] = attr->st_mtim;
		rc = utimensat(AT_FDCWD, path, ts, 0);
	}
	if (rc)
		fuse_reply_err(req, errno);
	else
		op_getattr(req, ino, NULL);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct fuse_entry_param e;
	int err = 0;

	if (mkdirat(node_of(parent)->fd, name, mode))
		err = errno;
	else
		err = do_lookup(parent, name, &e);
	reply_entry_or_err(req, err, &e);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int fd = openat(node_of(parent)->fd, name,
			(fi->flags | O_CREAT | O_CLOEXEC) & ~O_NOFOLLOW, mode);
	int err;

	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	err = do_lookup(parent, name, &e);
	if (err) {
		close(fd);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)fd;
	if (fuse_reply_create(req, &e, fi))
		close(fd); /* interrupted: no release will come */
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[64];
	int fd;

	proc_path(node_of(ino), path, sizeof(path));
	fd = open(path, (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fi->fh = (uint64_t)fd;
	if (fuse_reply_open(req, fi))
		close(fd);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char *buf = malloc(size ? size : 1);
	ssize_t n;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = pread((int)fi->fh, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n = pwrite((int)fi->fh, buf, size, off);

	(void)ino;
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	close((int)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	fuse_reply_err(req, fdatasync((int)fi->fh) ? errno : 0);
}

static struct dirh *dirh_of(const struct fuse_file_info *fi)
{
	return (struct dirh *)(uintptr_t)fi->fh;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct dirh *d = calloc(1, sizeof(*d));
	char path[64];
	int fd, err;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	proc_path(node_of(ino), path, sizeof(path));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d->dp = fd < 0 ? NULL : fdopendir(fd);
	if (!d->dp) {
		err = errno;
		if (fd >= 0)
			close(fd);
		free(d);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi)) {
		closedir(d->dp);
		free(d);
	}
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dirh *d = dirh_of(fi);
	char *buf = malloc(size ? size : 1);
	size_t used = 0;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != d->off) {
		seekdir(d->dp, off);
		d->ent = NULL;
		d->off = off;
	}
	for (;;) {
		if (!d->ent) {
			errno = 0;
			d->ent = readdir(d->dp);
			if (!d->ent) {
				if (errno && used == 0) {
					fuse_reply_err(req, errno);
					free(buf);
					return;
				}
				break;
			}
		}
		struct stat st = {.st_ino = d->ent->d_ino,
				  .st_mode = (mode_t)d->ent->d_type << 12};
		size_t n =
		    fuse_add_direntry(req, buf + used, size - used,
				      d->ent->d_name, &st, d->ent->d_off);
		if (n > size - used)
			break; /* keep it for the next call */
		used += n;
		d->off = d->ent->d_off;
		d->ent = NULL;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct dirh *d = dirh_of(fi);

	(void)ino;
	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

/* the root's: all of the filesystem (the bench's one durable point, as
 * fsync of the mount's root with sync=durable is for the daemon) */
static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	int fd = dirfd(dirh_of(fi)->dp), rc;

	if (ino == FUSE_ROOT_ID)
		rc = syncfs(fd);
	else
		rc = datasync ? fdatasync(fd) : fsync(fd);
	fuse_reply_err(req, rc ? errno : 0);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, unlinkat(node_of(parent)->fd, name, 0) ? errno : 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(
	    req, unlinkat(node_of(parent)->fd, name, AT_REMOVEDIR) ? errno : 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	if (fstatvfs(node_of(ino)->fd, &sv))
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

/* no flush: as the daemon, so that close costs no round trip */
static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .release = op_release,
    .fsync = op_fsync,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
    .create = op_create,
};

static int usage(void)
{
	fprintf(stderr,
		"usage: fusefloor [-f] [-d] [-o OPTS] SOURCE_DIR MOUNTPOINT\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	char src[PATH_MAX], mnt[PATH_MAX], opts[PATH_MAX + 1024];
	const char *extra = NULL;
	bool foreground = false, debug = false, mounted = false;
	int c, n, status = 1;

	while ((c = getopt(argc, argv, "+fdo:")) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'd':
			debug = foreground = true;
			break;
		case 'o':
			extra = optarg;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 2)
		return usage();
	/* absolute: the daemon changes to / when it goes to the background */
	for (int i = 0; i < 2; i++) {
		if (!realpath(argv[optind + i], i ? mnt : src)) {
			fprintf(stderr, "fusefloor: %s: %s\n", argv[optind + i],
				strerror(errno));
			return 1;
		}
	}
	root.fd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root.fd < 0) {
		fprintf(stderr, "fusefloor: %s: %s\n", src, strerror(errno));
		return 1;
	}
	/* the kernel applied the caller's umask already */
	umask(0);
	n = snprintf(opts, sizeof(opts),
		     "default_permissions,subtype=fusefloor%s%s%s%s",
		     extra && strstr(extra, "fsname=") ? "" : ",fsname=",
		     extra && strstr(extra, "fsname=") ? "" : src,
		     extra ? "," : "", extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(opts) || strchr(src, ',')) {
		fprintf(stderr,
			"fusefloor: %s: cannot be a mount's source "
			"(',' or too long)\n",
			src);
		goto out;
	}
	if (fuse_opt_add_arg(&args, "fusefloor") ||
	    fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, opts) ||
	    (debug && fuse_opt_add_arg(&args, "-d"))) {
		fprintf(stderr, "fusefloor: out of memory\n");
		goto out;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		goto out; /* libfuse said why */
	if (fuse_session_mount(se, mnt))
		goto out;
	mounted = true;
	if (fuse_set_signal_handlers(se) || fuse_daemonize(foreground))
		goto out;
	{
		struct fuse_loop_config cfg = {.clone_fd = 0,
					       .max_idle_threads = 10};

		status = fuse_session_loop_mt(se, &cfg) ? 1 : 0;
	}
out:
	if (mounted) {
		fuse_session_unmount(se);
		fuse_remove_signal_handlers(se);
	}
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	free_nodes();
	close(root.fd);
	return status;
}
