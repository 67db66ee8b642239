/* fs.c - the FUSE filesystem over the staging overlay, and its commits. */
#define FUSE_USE_VERSION 34
#include "fs.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/units.h"
#include "fs/commit.h"
#include "fs/inomap.h"
#include "fs/medium.h"
#include "iso/node.h"
#include "mmc/drive.h"
#include "staging/changes.h"
#include "staging/commit.h"
#include "staging/overlay.h"
#include "staging/store.h"

#define TIMEOUT	 1.0 /* seconds the kernel may cache entries and attrs */
#define BLOCK	 2048
#define LAST_MAX 1024

struct fs {
	struct fs_opts o;
	pthread_mutex_t lock; /* everything below until the status */
	struct fs_medium *m;
	struct stg_store *st;
	struct stg_overlay *ov;
	struct iso_node *base;
	struct fs_inomap *map;
	uint32_t *opens;   /* open handles by stable number */
	uint64_t room;	   /* bytes of data the next session can hold */
	uint32_t capacity; /* the medium's blocks, 0 until measured */
	uint64_t staged;   /* staged data, exact or over-estimated */
	uint64_t nopens;
	bool ro;
	char tmp_store[64]; /* read-only mounts stage nowhere: a temp dir */
	char loop[32];	    /* the loop device standing for a disc file */
	int loopfd;	    /* held until the mount holds the device */
	bool blkdev;	    /* a fuseblk mount: umount waits for destroy */

	pthread_t syncer;
	bool syncer_running, stop;
	pthread_t purger; /* deletes released data off the commit's path */
	bool purger_running;
	volatile bool purge_stop;
	pthread_cond_t wake;

	pthread_mutex_t status_lock;
	char state[32];
	struct fs_commit_progress progress;
	char last[LAST_MAX]; /* the last commit or failure */
	/* the disc, as measured at mount and after each commit */
	char medium[PATH_MAX + 200];
};

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void set_state(struct fs *fs, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_state(struct fs *fs, const char *state, const char *fmt, ...)
{
	pthread_mutex_lock(&fs->status_lock);
	snprintf(fs->state, sizeof(fs->state), "%s", state);
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(fs->last, sizeof(fs->last), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&fs->status_lock);
}

/* ---- inode numbers and attributes ---- */

/* The overlay inode of node id @nr, or 0 (the reply is ESTALE). */
static uint64_t ino_of(struct fs *fs, fuse_ino_t nr)
{
	return fs_inomap_ino(fs->map, nr);
}

static void to_stat(struct fs *fs, const struct stg_attr *a, struct stat *s)
{
	memset(s, 0, sizeof(*s));
	s->st_ino = fs_inomap_stable(fs->map, a->ino);
	s->st_mode = a->mode;
	s->st_nlink = a->nlink;
	s->st_uid = a->uid;
	s->st_gid = a->gid;
	s->st_size = (off_t)a->size;
	s->st_rdev = a->rdev;
	s->st_blksize = BLOCK;
	s->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	s->st_atim = a->atime;
	s->st_mtim = a->mtime;
	s->st_ctim = a->ctime;
}

static int entry_of(struct fs *fs, uint64_t ino, struct fuse_entry_param *e)
{
	struct stg_attr a;
	int rc = stg_getattr(fs->ov, ino, &a);

	memset(e, 0, sizeof(*e));
	if (rc)
		return rc;
	to_stat(fs, &a, &e->attr);
	e->ino = e->attr.st_ino;
	if (!e->ino)
		return -ENOMEM;
	e->generation = 1; /* numbers are never reused */
	e->attr_timeout = TIMEOUT;
	e->entry_timeout = TIMEOUT;
	return 0;
}

/* Lock and resolve @nr; on failure replies and returns 0. */
static uint64_t enter(struct fs *fs, fuse_req_t req, fuse_ino_t nr)
{
	pthread_mutex_lock(&fs->lock);
	uint64_t ino = fs->ov ? ino_of(fs, nr) : 0;
	if (!ino) {
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, ESTALE);
	}
	return ino;
}

static void leave_err(struct fs *fs, fuse_req_t req, int rc)
{
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, rc < 0 ? -rc : rc);
}

static void reply_entry(struct fs *fs, fuse_req_t req, uint64_t ino, int rc)
{
	struct fuse_entry_param e;

	if (rc == 0)
		rc = entry_of(fs, ino, &e);
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

static bool refuse_ro(struct fs *fs, fuse_req_t req)
{
	if (!fs->ro)
		return false;
	leave_err(fs, req, EROFS);
	return true;
}

/* enter() for a change: also 0 (replied EROFS) on a read-only mount. */
static uint64_t enter_rw(struct fs *fs, fuse_req_t req, fuse_ino_t nr)
{
	uint64_t ino = enter(fs, req, nr);

	return ino && refuse_ro(fs, req) ? 0 : ino;
}

/* With the lock held: a second inode of the request (a link's or rename's
 * new parent); on failure unlocks, replies ESTALE and returns 0. */
static uint64_t enter_other(struct fs *fs, fuse_req_t req, fuse_ino_t nr)
{
	uint64_t ino = ino_of(fs, nr);

	if (!ino)
		leave_err(fs, req, ESTALE);
	return ino;
}

/* ---- disc space ---- */

/* What a session costs besides its data: its lead-out and the next
 * session's lead-in (CD: 6900 blocks between sessions after the first,
 * 11400 after it), padding, and room for its directories. */
#define SESSION_OVERHEAD_BLOCKS (11400u + 150u + 300u)

/* Re-read the medium's size and free space and the staged data (with
 * fs->lock): at mount and after each burn, the only times they change. */
static void measure_room(struct fs *fs)
{
	struct mmc_disc disc;
	uint64_t free_blocks = 0;

	if (mmc_drive_disc(fs->m->drive, &disc) == 0) {
		fs->capacity = disc.capacity;
		if (disc.nwa_valid)
			free_blocks = disc.free_blocks;
		pthread_mutex_lock(&fs->status_lock);
		fs_medium_describe(fs->m, &disc, fs->o.source, fs->medium,
				   sizeof(fs->medium));
		pthread_mutex_unlock(&fs->status_lock);
	}
	free_blocks = free_blocks > SESSION_OVERHEAD_BLOCKS
			  ? free_blocks - SESSION_OVERHEAD_BLOCKS
			  : 0;
	fs->room = free_blocks * BLOCK;
	fs->staged = fs->ov ? stg_staged_bytes(fs->ov) : 0;
}

/*
 * Would writing up to @end in inode @ino still fit the next session?  0 or
 * -ENOSPC, so that a copy that can never be burnt fails when it happens.
 * The running estimate only grows; when it reaches the limit the exact
 * figure (deletions included) is taken before refusing.
 */
static int check_room(struct fs *fs, uint64_t ino, uint64_t end)
{
	const struct iso_node *base;
	struct stg_attr a;
	unsigned changed;
	uint64_t grow;

	if (stg_getattr(fs->ov, ino, &a) || !S_ISREG(a.mode) ||
	    stg_origin(fs->ov, ino, &base, &changed))
		return 0; /* the operation itself reports the problem */
	grow = end > a.size ? end - a.size : 0;
	if (base && !(changed & STG_CHANGED_DATA))
		grow += a.size; /* its first write copies it up */
	if (grow == 0)
		return 0;
	if (fs->staged + grow > fs->room)
		fs->staged = stg_staged_bytes(fs->ov);
	if (fs->staged + grow > fs->room)
		return -ENOSPC;
	fs->staged += grow;
	return 0;
}

/* ---- lookups and attributes ---- */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	uint64_t dir = enter(fs, req, parent), ino = 0;

	if (!dir)
		return;
	reply_entry(fs, req, ino, stg_lookup(fs->ov, dir, name, &ino));
}

static void op_forget(fuse_req_t req, fuse_ino_t nr, uint64_t nlookup)
{
	(void)nr, (void)nlookup; /* numbers are never reused: nothing to do */
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	(void)count, (void)forgets;
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	uint64_t ino = enter(fs, req, nr);
	struct stg_attr a;
	struct stat s;
	(void)fi;

	if (!ino)
		return;
	int rc = stg_getattr(fs->ov, ino, &a);
	if (rc)
		return leave_err(fs, req, rc);
	to_stat(fs, &a, &s);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_attr(req, &s, TIMEOUT);
}

static struct timespec now_ts(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

static void op_setattr(fuse_req_t req, fuse_ino_t nr, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	uint64_t ino = enter_rw(fs, req, nr);
	struct stg_attr a = {0};
	unsigned which = 0;
	(void)fi;

	if (!ino)
		return;
	if (to_set & FUSE_SET_ATTR_MODE) {
		which |= STG_SET_MODE;
		a.mode = attr->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		which |= STG_SET_UID;
		a.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		which |= STG_SET_GID;
		a.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		which |= STG_SET_SIZE;
		a.size = (uint64_t)attr->st_size;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		which |= STG_SET_ATIME;
		a.atime =
		    to_set & FUSE_SET_ATTR_ATIME_NOW ? now_ts() : attr->st_atim;
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		which |= STG_SET_MTIME;
		a.mtime =
		    to_set & FUSE_SET_ATTR_MTIME_NOW ? now_ts() : attr->st_mtim;
	}
	int rc = which & STG_SET_SIZE ? check_room(fs, ino, a.size) : 0;
	if (rc == 0 && which)
		rc = stg_setattr(fs->ov, ino, &a, which);
	if (rc)
		return leave_err(fs, req, rc);
	struct fuse_entry_param e;
	rc = entry_of(fs, ino, &e);
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &e.attr, TIMEOUT);
}

static void op_readlink(fuse_req_t req, fuse_ino_t nr)
{
	struct fs *fs = fs_of(req);
	uint64_t ino = enter(fs, req, nr);
	char buf[PATH_MAX + 1];

	if (!ino)
		return;
	int rc = stg_readlink(fs->ov, ino, buf, sizeof(buf));
	if (rc < 0)
		return leave_err(fs, req, rc);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_readlink(req, buf);
}

/* ---- making and removing names ---- */

/* Owner of a new file: the caller, with the group of a setgid directory
 * (which a new directory inherits), as on a local filesystem. */
static void new_owner(struct fs *fs, fuse_req_t req, uint64_t dir, uid_t *uid,
		      gid_t *gid, mode_t *mode)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct stg_attr a;

	*uid = c->uid;
	*gid = c->gid;
	if (stg_getattr(fs->ov, dir, &a) == 0 && (a.mode & S_ISGID)) {
		*gid = a.gid;
		if (mode && S_ISDIR(*mode))
			*mode |= S_ISGID;
	}
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct fs *fs = fs_of(req);
	uint64_t dir = enter_rw(fs, req, parent), ino = 0;
	uid_t uid;
	gid_t gid;

	if (!dir)
		return;
	new_owner(fs, req, dir, &uid, &gid, &mode);
	reply_entry(fs, req, ino,
		    stg_mknod(fs->ov, dir, name, mode, rdev, uid, gid, &ino));
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct fs *fs = fs_of(req);
	uint64_t dir = enter_rw(fs, req, parent), ino = 0;
	uid_t uid;
	gid_t gid;

	if (!dir)
		return;
	mode |= S_IFDIR;
	new_owner(fs, req, dir, &uid, &gid, &mode);
	reply_entry(fs, req, ino,
		    stg_mkdir(fs->ov, dir, name, mode, uid, gid, &ino));
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct fs *fs = fs_of(req);
	uint64_t dir = enter_rw(fs, req, parent), ino = 0;
	uid_t uid;
	gid_t gid;

	if (!dir)
		return;
	new_owner(fs, req, dir, &uid, &gid, NULL);
	reply_entry(fs, req, ino,
		    stg_symlink(fs->ov, dir, name, link, uid, gid, &ino));
}

static void op_link(fuse_req_t req, fuse_ino_t nr, fuse_ino_t newparent,
		    const char *newname)
{
	struct fs *fs = fs_of(req);
	uint64_t ino = enter_rw(fs, req, nr), dir;

	if (!ino)
		return;
	dir = enter_other(fs, req, newparent);
	if (dir)
		reply_entry(fs, req, ino, stg_link(fs->ov, ino, dir, newname));
}

static void op_remove(fuse_req_t req, fuse_ino_t parent, const char *name,
		      bool is_dir)
{
	struct fs *fs = fs_of(req);
	uint64_t dir = enter_rw(fs, req, parent);

	if (!dir)
		return;
	int rc = is_dir ? stg_rmdir(fs->ov, dir, name)
			: stg_unlink(fs->ov, dir, name);
	leave_err(fs, req, rc);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_remove(req, parent, name, false);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_remove(req, parent, name, true);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct fs *fs = fs_of(req);
	uint64_t dir = enter_rw(fs, req, parent), ndir;

	if (!dir)
		return;
	ndir = enter_other(fs, req, newparent);
	if (ndir)
		leave_err(fs, req,
			  stg_rename(fs->ov, dir, name, ndir, newname, flags));
}

/* ---- file data ---- */

static int count_open(struct fs *fs, uint64_t nr, int delta)
{
	if (nr >= fs->nopens) {
		uint64_t cap = fs->nopens ? fs->nopens : 1024;
		while (cap <= nr)
			cap *= 2;
		uint32_t *p = realloc(fs->opens, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + fs->nopens, 0, (cap - fs->nopens) * sizeof(*p));
		fs->opens = p;
		fs->nopens = cap;
	}
	fs->opens[nr] += (uint32_t)delta;
	return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	uint64_t ino = enter(fs, req, nr);

	if (!ino)
		return;
	if ((fi->flags & O_ACCMODE) != O_RDONLY && refuse_ro(fs, req))
		return;
	int rc = 0;
	/* libfuse asks for atomic O_TRUNC: the kernel leaves it to open */
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
		struct stg_attr a = {.size = 0};
		rc = stg_setattr(fs->ov, ino, &a, STG_SET_SIZE);
	}
	if (rc == 0)
		rc = count_open(fs, nr, 1);
	if (rc == 0 && (rc = stg_pin(fs->ov, ino)))
		count_open(fs, nr, -1);
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_open(req, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	(void)fi;

	pthread_mutex_lock(&fs->lock);
	uint64_t ino = ino_of(fs, nr);
	if (nr < fs->nopens && fs->opens[nr])
		fs->opens[nr]--;
	if (ino && fs->ov)
		stg_unpin(fs->ov, ino);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, 0);
}

static void op_read(fuse_req_t req, fuse_ino_t nr, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	uint64_t ino = enter(fs, req, nr);
	char *buf;
	(void)fi;

	if (!ino)
		return;
	buf = malloc(size ? size : 1);
	if (!buf)
		return leave_err(fs, req, ENOMEM);
	ssize_t n = stg_read(fs->ov, ino, (uint64_t)off, buf, size);
	pthread_mutex_unlock(&fs->lock);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t nr, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	uint64_t ino = enter_rw(fs, req, nr);
	(void)fi;

	if (!ino)
		return;
	int rc = check_room(fs, ino, (uint64_t)off + size);
	ssize_t n = rc ? rc : stg_write(fs->ov, ino, (uint64_t)off, buf, size);
	pthread_mutex_unlock(&fs->lock);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

/* With fs->lock held: the slow part of a sync (writing back the dirty
 * data files) without the lock, so that other requests go on meanwhile;
 * then the overlay's own sync, with it, finds little left to do.  The
 * overlay may have been replaced meanwhile (a commit): @nr is resolved
 * again, 0 when it is gone. */
static uint64_t flush_unlocked(struct fs *fs, fuse_ino_t nr)
{
	struct stg_sync_plan *p = stg_sync_prepare(fs->ov);

	pthread_mutex_unlock(&fs->lock);
	stg_sync_flush(p);
	pthread_mutex_lock(&fs->lock);
	return fs->ov ? ino_of(fs, nr) : 0;
}

static void op_fsync(fuse_req_t req, fuse_ino_t nr, int datasync,
		     struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	uint64_t ino = enter(fs, req, nr);
	(void)fi;

	if (!ino)
		return;
	if (fs->ro)
		return leave_err(fs, req, 0);
	ino = flush_unlocked(fs, nr);
	leave_err(fs, req,
		  !ino	   ? -ESTALE
		  : fs->ro ? 0
			   : stg_fsync(fs->ov, ino, datasync));
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	uint64_t dir = enter_rw(fs, req, parent), ino = 0;
	struct fuse_entry_param e;
	uid_t uid;
	gid_t gid;

	if (!dir)
		return;
	new_owner(fs, req, dir, &uid, &gid, &mode);
	int rc = stg_create(fs->ov, dir, name, mode, uid, gid, &ino);
	if (rc == 0)
		rc = entry_of(fs, ino, &e);
	if (rc == 0 && (rc = count_open(fs, e.ino, 1)) == 0 &&
	    (rc = stg_pin(fs->ov, ino)))
		count_open(fs, e.ino, -1);
	pthread_mutex_unlock(&fs->lock);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_create(req, &e, fi);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t nr, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	uint64_t ino = enter_rw(fs, req, nr);
	struct stg_attr a;
	(void)fi;

	if (!ino)
		return;
	if (mode != 0) /* no holes or ranges to punch on an ISO image */
		return leave_err(fs, req, EOPNOTSUPP);
	int rc = stg_getattr(fs->ov, ino, &a);
	if (rc == 0)
		rc = check_room(fs, ino, (uint64_t)(off + len));
	if (rc == 0 && (uint64_t)(off + len) > a.size) {
		a.size = (uint64_t)(off + len);
		rc = stg_setattr(fs->ov, ino, &a, STG_SET_SIZE);
	}
	leave_err(fs, req, rc);
}

/* ---- directories ---- */

struct dir_fill {
	struct fs *fs;
	fuse_req_t req;
	char *buf;
	size_t size, len;
	bool plus;
	int err;
};

static bool fill_one(struct dir_fill *d, const char *name, uint64_t ino,
		     mode_t mode, off_t next)
{
	size_t room = d->size - d->len, n;

	if (d->plus) {
		struct fuse_entry_param e;
		d->err = entry_of(d->fs, ino, &e);
		if (d->err)
			return false;
		n = fuse_add_direntry_plus(d->req, d->buf + d->len, room, name,
					   &e, next);
	} else {
		struct stat s = {.st_ino = fs_inomap_stable(d->fs->map, ino),
				 .st_mode = mode};
		n = fuse_add_direntry(d->req, d->buf + d->len, room, name, &s,
				      next);
	}
	if (n > room)
		return false;
	d->len += n;
	return true;
}

/* Offsets: 1 after ".", 2 after "..", then 2 + the overlay's cookie. */
static int fill_entry(void *ctx, const char *name, uint64_t ino, mode_t mode,
		      uint64_t next)
{
	return fill_one(ctx, name, ino, mode, (off_t)(next + 2)) ? 0 : 1;
}

static void do_readdir(fuse_req_t req, fuse_ino_t nr, size_t size, off_t off,
		       bool plus)
{
	struct fs *fs = fs_of(req);
	uint64_t ino = enter(fs, req, nr);
	struct dir_fill d = {fs, req, NULL, size, 0, plus, 0};
	int rc = 0;

	if (!ino)
		return;
	d.buf = malloc(size ? size : 1);
	if (!d.buf)
		return leave_err(fs, req, ENOMEM);
	if (off < 1 && !fill_one(&d, ".", ino, S_IFDIR, 1))
		goto out;
	/* the kernel takes nothing from ".."'s number */
	if (off < 2 && !fill_one(&d, "..", ino, S_IFDIR, 2))
		goto out;
	rc = stg_readdir(fs->ov, ino, off > 2 ? (uint64_t)off - 2 : 0,
			 fill_entry, &d);
out:
	pthread_mutex_unlock(&fs->lock);
	if (!rc)
		rc = d.err;
	if (rc && d.len == 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, d.buf, d.len);
	free(d.buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t nr, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, nr, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t nr, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, nr, size, off, true);
}

/* ---- the commit ---- */

static void commit_progress(const struct fs_commit_progress *p, void *ctx)
{
	struct fs *fs = ctx;

	pthread_mutex_lock(&fs->status_lock);
	fs->progress = *p;
	pthread_mutex_unlock(&fs->status_lock);
}

/* Re-pin the open files in the new overlay. */
static void carry_pins(struct fs *fs)
{
	for (uint64_t nr = 1; nr < fs->nopens; nr++) {
		uint64_t ino = fs->opens[nr] ? ino_of(fs, nr) : 0;
		for (uint32_t i = 0; ino && i < fs->opens[nr]; i++)
			stg_pin(fs->ov, ino);
	}
}

static void *purger_main(void *arg)
{
	struct fs *fs = arg;
	int rc = stg_commit_purge(fs->st, &fs->purge_stop);

	if (rc < 0)
		cds_log(CDS_LOG_WARN, "%s: %s", fs->o.source, cds_errmsg(rc));
	return NULL;
}

/* Delete what releases put aside, in the background (with fs->lock held
 * or before serving). */
static void stop_purger(struct fs *fs);

static void start_purger(struct fs *fs)
{
	stop_purger(fs); /* a running one starts over with all there is */
	fs->purge_stop = false;
	fs->purger_running =
	    pthread_create(&fs->purger, NULL, purger_main, fs) == 0;
}

/* Stop it between two directories; what is left goes at the next mount. */
static void stop_purger(struct fs *fs)
{
	if (!fs->purger_running)
		return;
	fs->purge_stop = true;
	pthread_join(fs->purger, NULL);
	fs->purger_running = false;
}

/* With fs->lock held. */
static int do_commit(struct fs *fs, bool close_disc)
{
	struct fs_commit_opts co = {
	    .close_disc = close_disc,
	    .dummy = fs->o.dummy,
	    .no_verify = fs->o.no_verify,
	    .speed = fs->o.speed,
	    .volume_id = fs->o.volid,
	    .progress = commit_progress,
	    .ctx = fs,
	};
	struct fs_commit_result res = {0};
	struct fs_inomap_capture *cap = NULL;
	int rc;

	if (fs->ro)
		return 0;
	set_state(fs, "committing", NULL);
	rc = fs_inomap_capture(fs->map, fs->ov, &cap);
	if (rc == 0)
		rc = fs_commit(fs->m, fs->st, &fs->ov, &fs->base, &co, &res);
	if (rc == 0 && res.burnt) {
		rc = fs_inomap_rebase(fs->map, cap, fs->ov);
		measure_room(fs);
		start_purger(fs);
		carry_pins(fs);
		if (close_disc)
			fs->ro = true;
	}
	fs_inomap_capture_free(cap);
	if (!fs->ov) {
		/* burnt, but no overlay could be opened again (fs_commit):
		 * nothing to serve until the next mount */
		fs->ro = true;
	}
	if (rc < 0) {
		set_state(fs, "failed", "commit failed: %s", cds_errmsg(rc));
		cds_log(CDS_LOG_ERR, "%s: commit failed: %s", fs->o.source,
			cds_errmsg(rc));
	} else if (res.burnt) {
		/* a staging= directory a blank disc used is that disc's now
		 * (a default directory is named after the disc id anyway) */
		if (fs->o.staging)
			(void)stg_store_claim(fs->st, fs->m->disc_id);
		set_state(fs, close_disc ? "closed" : "idle",
			  "session at LBA %" PRIu32 " (%" PRIu32
			  " blocks, tag %s) burnt and verified",
			  res.start, res.nsectors, res.tag);
		cds_log(CDS_LOG_INFO, "%s: session at LBA %" PRIu32 " burnt",
			fs->o.source, res.start);
	} else {
		set_state(fs, "idle", NULL);
	}
	return rc;
}

/* fsync of the root commits (see fs.h); of any other directory it is
 * fsync of a file: the staged copy made durable. */
static void op_fsyncdir(fuse_req_t req, fuse_ino_t nr, int datasync,
			struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);

	if (nr != FUSE_ROOT_ID || fs->o.sync_durable) {
		op_fsync(req, nr, datasync, fi);
		return;
	}
	if (!enter(fs, req, nr))
		return;
	leave_err(fs, req, fs->ro ? 0 : do_commit(fs, false));
}

/* ---- statfs, xattrs ---- */

static void op_statfs(fuse_req_t req, fuse_ino_t nr)
{
	struct fs *fs = fs_of(req);
	struct statvfs sv = {0};
	struct mmc_disc disc;
	(void)nr;

	pthread_mutex_lock(&fs->lock);
	/* the medium's size is known since the mount; ask the drive only
	 * when that failed (and report why) */
	int rc = fs->capacity ? 0 : mmc_drive_disc(fs->m->drive, &disc);
	uint32_t capacity = fs->capacity;
	uint64_t room = fs->ro ? 0 : fs->room;
	uint64_t staged = fs->ov && !fs->ro ? stg_staged_bytes(fs->ov) : 0;
	if (fs->ov && !fs->ro)
		fs->staged = staged;
	pthread_mutex_unlock(&fs->lock);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (!capacity)
		capacity = disc.capacity;
	/* total: the medium; free: what the next session can still take
	 * after its overhead and what is already staged */
	sv.f_bsize = BLOCK;
	sv.f_frsize = BLOCK;
	sv.f_blocks = capacity;
	sv.f_bfree = room > staged ? (room - staged) / BLOCK : 0;
	sv.f_bavail = sv.f_bfree;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static void status_text(struct fs *fs, char *buf, size_t cap)
{
	pthread_mutex_lock(&fs->status_lock);
	int n = snprintf(buf, cap, "%sstate: %s\n", fs->medium, fs->state);
	if (strcmp(fs->state, "committing") == 0 && n >= 0 && (size_t)n < cap) {
		static const char *const phases[] = {"layout", "burn", "verify",
						     "done"};
		const struct fs_commit_progress *p = &fs->progress;
		n += snprintf(buf + n, cap - (size_t)n,
			      "phase: %s\nprogress: %" PRIu64 " %" PRIu64
			      "\nrate: %.0f\nbuffer: %u\n",
			      phases[p->phase & 3], p->done, p->total,
			      p->bytes_per_s, p->buffer_pct);
	}
	if (fs->last[0] && n >= 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, "last: %s\n", fs->last);
	pthread_mutex_unlock(&fs->status_lock);
}

/* cdsession-fix MOUNTPOINT: the last session now (with fs->lock held). */
static int close_disc(struct fs *fs)
{
	bool already = false;
	int rc;

	if (fs->ro)
		return -EROFS;
	rc = do_commit(fs, true);
	if (rc < 0 || fs->ro)
		return rc; /* failed, or burnt as the last session */
	/* nothing was staged: close the disc as it is */
	rc = fs_close_disc(fs->m->drive, &already);
	if (rc == 0)
		rc = fs_medium_refresh(fs->m);
	if (rc == 0)
		measure_room(fs);
	if (rc < 0) {
		set_state(fs, "failed", "closing the disc failed: %s",
			  cds_errmsg(rc));
		return rc;
	}
	fs->ro = true;
	set_state(fs, "closed", "the disc is closed (finalized)");
	return 0;
}

/* "pending: N changes, X of new data": a walk of the staged view, with
 * the filesystem's lock, which a commit holds for minutes: then, or when
 * it is not had within a moment, the line says so instead of waiting. */
static void pending_text(struct fs *fs, char *buf, size_t cap)
{
	struct timespec t;
	uint64_t count = 0, bytes = 0;
	char size[32];
	int rc = -EBUSY;

	pthread_mutex_lock(&fs->status_lock);
	bool committing = strcmp(fs->state, "committing") == 0;
	pthread_mutex_unlock(&fs->status_lock);
	if (committing) {
		snprintf(buf, cap, "pending: not counted during a commit\n");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += 200 * 1000 * 1000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	if (pthread_mutex_timedlock(&fs->lock, &t) == 0) {
		rc = fs->ov && fs->base
			 ? stg_changes_summary(fs->ov, fs->base, &count, &bytes)
			 : -ESTALE;
		pthread_mutex_unlock(&fs->lock);
	}
	cds_human_size(bytes, size, sizeof(size));
	if (rc == 0 && count == 0)
		snprintf(buf, cap, "pending: nothing staged\n");
	else if (rc == 0)
		snprintf(buf, cap,
			 "pending: %" PRIu64 " change%s, %s of new data\n",
			 count, count == 1 ? "" : "s", size);
	else if (rc == -EBUSY)
		snprintf(buf, cap, "pending: not counted (busy)\n");
	else
		snprintf(buf, cap, "pending: not counted (%s)\n",
			 cds_errmsg(rc));
}

/* ENOSYS, once: the kernel answers every later getxattr (the
 * security.capability it looks up before each write() above all) with
 * EOPNOTSUPP itself instead of a round trip to us.  Nothing to read:
 * Rock Ridge records no extended attributes. */
static void op_getxattr(fuse_req_t req, fuse_ino_t nr, const char *name,
			size_t size)
{
	(void)nr, (void)name, (void)size;
	fuse_reply_err(req, ENOSYS);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t nr, size_t size)
{
	(void)nr, (void)size;
	fuse_reply_err(req, ENOSYS);
}

/* Setting one is refused out loud: it could not be burnt. */
static void op_setxattr(fuse_req_t req, fuse_ino_t nr, const char *name,
			const char *value, size_t size, int flags)
{
	(void)nr, (void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, ENOTSUP);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t nr, const char *name)
{
	(void)nr, (void)name;
	fuse_reply_err(req, ENOTSUP);
}

/* FS_IOC_STATUS and FS_IOC_CLOSE on the root (see fs.h); anything else is
 * not a terminal, nor any other device (isatty() asks). */
static void op_ioctl(fuse_req_t req, fuse_ino_t nr, int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags,
		     const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct fs *fs = fs_of(req);
	(void)arg, (void)fi, (void)in_buf, (void)in_bufsz;

	if (nr != FUSE_ROOT_ID || (flags & FUSE_IOCTL_COMPAT)) {
		fuse_reply_err(req, ENOTTY);
	} else if ((unsigned)cmd == FS_IOC_STATUS &&
		   out_bufsz >= FS_STATUS_MAX) {
		char buf[FS_STATUS_MAX];
		status_text(fs, buf, sizeof(buf));
		size_t n = strlen(buf);
		pending_text(fs, buf + n, sizeof(buf) - n);
		fuse_reply_ioctl(req, 0, buf, strlen(buf) + 1);
	} else if ((unsigned)cmd == FS_IOC_CLOSE) {
		uid_t uid = fuse_req_ctx(req)->uid;
		if (uid != 0 && uid != getuid()) {
			fuse_reply_err(req, EPERM);
			return;
		}
		pthread_mutex_lock(&fs->lock);
		int rc = fs->ov ? close_disc(fs) : -ESTALE;
		pthread_mutex_unlock(&fs->lock);
		if (rc < 0)
			fuse_reply_err(req, -rc);
		else
			fuse_reply_ioctl(req, 0, NULL, 0);
	} else {
		fuse_reply_err(req, ENOTTY);
	}
}

/* ---- life cycle ---- */

static void *syncer_main(void *arg)
{
	struct fs *fs = arg;

	pthread_mutex_lock(&fs->lock);
	while (!fs->stop) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += 1;
		pthread_cond_timedwait(&fs->wake, &fs->lock, &t);
		if (fs->ov && !fs->ro && !fs->stop &&
		    flush_unlocked(fs, FUSE_ROOT_ID) && !fs->ro) {
			int rc = stg_sync(fs->ov);
			if (rc < 0)
				cds_log(CDS_LOG_ERR, "%s: staging sync: %s",
					fs->o.source, cds_errmsg(rc));
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	/* large writes and reads: fewer round trips for big copies (no
	 * flush handler either: the kernel then stops sending FLUSH at each
	 * close, which would cost a round trip for nothing) */
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want &= ~FUSE_CAP_SPLICE_READ;
	/* the kernel clears setuid/setgid on write, truncate and chown
	 * (libfuse would leave that to us by default) */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/* FS_IOC_STATUS and FS_IOC_CLOSE are sent to the root directory */
	conn->want |= conn->capable & FUSE_CAP_IOCTL_DIR;
	if (pthread_create(&fs->syncer, NULL, syncer_main, fs) == 0)
		fs->syncer_running = true;
}

static void stop_syncer(struct fs *fs)
{
	if (!fs->syncer_running)
		return;
	pthread_mutex_lock(&fs->lock);
	fs->stop = true;
	pthread_cond_signal(&fs->wake);
	pthread_mutex_unlock(&fs->lock);
	pthread_join(fs->syncer, NULL);
	fs->syncer_running = false;
}

static void op_destroy(void *userdata)
{
	struct fs *fs = userdata;

	stop_syncer(fs);
	pthread_mutex_lock(&fs->lock);
	if (fs->ov && !fs->ro) {
		if (!fs->o.commit_manual || fs->o.close_disc)
			do_commit(fs, fs->o.close_disc);
		else
			stg_sync(fs->ov);
	}
	stop_purger(fs);
	/* let go of the store's lock and the drive before umount returns
	 * (fuseblk waits for us): a mount right after it must not find
	 * them still held by this exiting process */
	stg_overlay_close(fs->ov);
	fs->ov = NULL;
	iso_node_free(fs->base);
	fs->base = NULL;
	if (!fs->tmp_store[0]) {
		stg_store_close(fs->st);
		fs->st = NULL;
	}
	fs_medium_close(fs->m);
	fs->m = NULL;
	pthread_mutex_unlock(&fs->lock);
}

static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .destroy = op_destroy,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .release = op_release,
    .fsync = op_fsync,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .ioctl = op_ioctl,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
    .create = op_create,
    .fallocate = op_fallocate,
};

/* ---- mounting ---- */

static void fs_free(struct fs *fs)
{
	stg_overlay_close(fs->ov);
	iso_node_free(fs->base);
	if (fs->st && fs->tmp_store[0])
		stg_commit_discard(fs->st);
	stg_store_close(fs->st);
	fs_medium_close(fs->m);
	fs_inomap_free(fs->map);
	free(fs->opens);
	pthread_mutex_destroy(&fs->lock);
	pthread_mutex_destroy(&fs->status_lock);
	pthread_cond_destroy(&fs->wake);
	free(fs);
}

/* The start of session @n (1-based) of the disc. */
static int session_start(struct fs *fs, unsigned n, uint32_t *start)
{
	struct mmc_disc disc;
	int rc = mmc_drive_disc(fs->m->drive, &disc);

	if (rc < 0)
		return rc;
	for (unsigned i = 0, k = 0; i < disc.nsessions; i++) {
		if (!disc.sessions[i].complete || ++k != n)
			continue;
		*start = disc.sessions[i].start;
		return 0;
	}
	return cds_error(-ENOENT, "%s has no session %u (it has %u)",
			 fs->o.source, n, fs->m->nsessions);
}

/*
 * A burn cut off by a power loss that the drive lets continue: finish that
 * session now, before anything can change the overlay (fs/commit.h
 * fs_resume()).  When it cannot be finished the mount is read-only, as
 * for a track nothing can follow, showing what is staged.
 */
static int resume_cut_session(struct fs *fs)
{
	struct fs_commit_opts co = {
	    .dummy = fs->o.dummy,
	    .no_verify = fs->o.no_verify,
	    .speed = fs->o.speed,
	    .volume_id = fs->o.volid,
	};
	struct fs_commit_result res;
	int rc = fs_resume(fs->m, fs->st, &fs->ov, &fs->base, &co, &res);

	if (rc == 0 && res.burnt) {
		fprintf(stderr,
			"mount.cdsession: the session an interrupted burn cut "
			"off is finished (LBA %u, %u blocks); its staged copy "
			"was released\n",
			res.start, res.nsectors);
		return 0;
	}
	if (rc == 0)
		return 0;
	if (!fs->ov) /* a failed rebase that could reopen no overlay */
		return rc;
	fprintf(stderr,
		"mount.cdsession: %s: %s; mounting read-only (what is staged "
		"is shown; see cdsession staging export)\n",
		fs->o.source, cds_errmsg(rc));
	fs->ro = true;
	return 0;
}

/* Open the medium, the store and the overlay: the state fs_run serves. */
static int fs_open_state(struct fs *fs)
{
	const struct fs_opts *o = &fs->o;
	uint8_t base_id[STG_BASE_ID_SIZE];
	uint32_t start;
	struct mmc_disc disc;
	char dir[PATH_MAX];
	int rc;

	fs->ro = o->ro || o->session;
	rc = fs_medium_open(o->source,
			    FS_MEDIUM_BLANK | (fs->ro ? 0 : FS_MEDIUM_WRITE),
			    &fs->m);
	if (rc < 0)
		return rc;
	if (!fs->ro) {
		/* the store and the disc in line first: recovery may close
		 * or blank what an interrupted commit left open */
		bool released = false;
		rc = fs_medium_store_dir(fs->m, o->staging, dir, sizeof(dir));
		if (rc == 0)
			rc = stg_store_open(dir, &fs->st);
		if (rc == 0)
			rc = stg_store_claim(fs->st, fs->m->disc_id);
		if (rc == 0)
			rc = fs_recover(fs->m, fs->st, &released);
		if (rc == 0 && released)
			fprintf(stderr,
				"mount.cdsession: the interrupted commit's "
				"session is on the disc; its staged copy was "
				"released\n");
	}
	if (rc == 0)
		rc = mmc_drive_disc(fs->m->drive, &disc);
	if (rc < 0)
		return rc;
	if (!fs->ro && disc.status == MMC_DISC_COMPLETE) {
		fprintf(stderr,
			"mount.cdsession: %s is closed (finalized): mounting "
			"read-only\n",
			o->source);
		fs->ro = true;
	} else if (!fs->ro && !disc.nwa_valid) {
		/* the staged changes stay visible, to be copied elsewhere */
		fprintf(stderr,
			"mount.cdsession: %s cannot take another session: "
			"mounting read-only (what is staged is shown; see "
			"cdsession staging export)\n",
			o->source);
		fs->ro = true;
	}
	start = fs->m->last_start;
	memcpy(base_id, fs->m->base_id, sizeof(base_id));
	if (o->session) {
		rc = session_start(fs, o->session, &start);
		if (rc == 0)
			rc = stg_base_id(fs->m->src, start, base_id);
		if (rc < 0)
			return rc;
	}
	if (!fs->st) {
		/* nothing is staged on a read-only mount: a throw-away store */
		snprintf(fs->tmp_store, sizeof(fs->tmp_store),
			 "/tmp/cdsession-ro.XXXXXX");
		if (!mkdtemp(fs->tmp_store))
			return cds_error(-errno, "mkdtemp: %s",
					 strerror(errno));
		rc = stg_store_open(fs->tmp_store, &fs->st);
		if (rc < 0)
			return rc;
	}
	if (fs->m->nsessions == 0) {
		fs->base = iso_node_new("", S_IFDIR | 0755);
		rc = fs->base ? 0 : -ENOMEM;
	} else {
		rc = fs_medium_read_tree(fs->m, start, &fs->base);
	}
	if (rc == 0)
		rc = stg_overlay_open(fs->st, fs->base, base_id,
				      STG_BASE_ID_SIZE, fs_medium_read_file,
				      fs->m, &fs->ov);
	if (rc == 0 && !fs->ro)
		rc = resume_cut_session(fs);
	if (rc == 0)
		rc = fs_inomap_new(&fs->map);
	if (rc == 0)
		measure_room(fs);
	return rc;
}

/* Bind free loop device number @nr to @file; 0, -EBUSY (taken or held:
 * try another) or another error. */
static int bind_loop(int nr, int file, char *dev, size_t cap, int *loop)
{
	snprintf(dev, cap, "/dev/loop%d", nr);
	*loop = open(dev, O_RDWR | O_CLOEXEC);
	if (*loop < 0)
		return errno == ENOENT ? -EBUSY : -errno;
	/* writable: the kernel refuses a rw mount of a read-only device
	 * (EACCES); it never writes to it, FUSE does no block I/O */
	struct loop_config lc = {.fd = (__u32)file};
	lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(*loop, LOOP_CONFIGURE, &lc) == 0)
		return 0;
	int err = errno;
	close(*loop);
	*loop = -1;
	return -err;
}

/*
 * A loop device over the virtual disc file @path into @dev, its
 * descriptor in *@loop: keep it open until the mount holds the device,
 * since autoclear detaches the device at its last close.  With a block
 * device behind it the mount is "fuseblk", and then the kernel's umount
 * waits for our destroy, that is for the commit.  The lowest free number
 * may still be held by a lazily unmounted filesystem (EBUSY): then
 * numbers above are added until one binds.
 */
static int loop_device(const char *path, char *dev, size_t cap, int *loop)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), rc;
	int file = -1;

	*loop = -1;
	if (ctl < 0)
		return cds_error(-errno, "/dev/loop-control: %s",
				 strerror(errno));
	file = open(path, O_RDWR | O_CLOEXEC);
	if (file < 0) {
		rc = cds_error(-errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	rc = nr < 0 ? -errno : bind_loop(nr, file, dev, cap, loop);
	for (int k = nr < 0 ? 0 : nr + 1; rc == -EBUSY && k < 256; k++) {
		if (ioctl(ctl, LOOP_CTL_ADD, k) < 0 && errno != EEXIST)
			continue;
		rc = bind_loop(k, file, dev, cap, loop);
	}
	if (rc < 0)
		rc = cds_error(rc, "no loop device for %s: %s", path,
			       strerror(-rc));
out:
	if (file >= 0)
		close(file);
	close(ctl);
	return rc;
}

static int fuse_args_for(struct fs *fs, struct fuse_args *args, bool try_blk)
{
	char opts[PATH_MAX + 512];
	const struct fs_opts *o = &fs->o;
	const char *fsname = o->source;
	bool blkdev = false;
	struct stat sb;

	/* as root: a block device behind the mount (see loop_device) */
	if (try_blk && geteuid() == 0 && stat(o->source, &sb) == 0) {
		if (S_ISREG(sb.st_mode)) {
			int rc = loop_device(o->source, fs->loop,
					     sizeof(fs->loop), &fs->loopfd);
			if (rc == 0) {
				fsname = fs->loop;
				blkdev = true;
			}
		} else if (S_ISBLK(sb.st_mode)) {
			blkdev = true;
		}
	}
	fs->blkdev = blkdev;
	int n = snprintf(
	    opts, sizeof(opts),
	    "fsname=%s,subtype=cdsession,default_permissions%s%s%s%s%s", fsname,
	    blkdev ? ",blkdev" : "", o->allow_other ? ",allow_other" : "",
	    fs->ro ? ",ro" : "", o->fuse_opts ? "," : "",
	    o->fuse_opts ? o->fuse_opts : "");

	if (n < 0 || (size_t)n >= sizeof(opts) ||
	    strchr(o->source, ',')) /* FUSE's option syntax */
		return cds_error(-EINVAL,
				 "%s: a source with ',' in its "
				 "name cannot be mounted",
				 o->source);
	if (fuse_opt_add_arg(args, "mount.cdsession") ||
	    fuse_opt_add_arg(args, "-o") || fuse_opt_add_arg(args, opts) ||
	    (o->debug && fuse_opt_add_arg(args, "-d")))
		return -ENOMEM;
	return 0;
}

int fs_run(const struct fs_opts *o)
{
	struct fs *fs = calloc(1, sizeof(*fs));
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	int rc, status = 1;

	if (!fs) {
		fprintf(stderr, "mount.cdsession: out of memory\n");
		return 1;
	}
	fs->o = *o;
	fs->loopfd = -1;
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->status_lock, NULL);
	pthread_cond_init(&fs->wake, NULL);
	snprintf(fs->state, sizeof(fs->state), "idle");

	rc = fs_open_state(fs);
	for (bool try_blk = true; rc == 0;) {
		rc = fuse_args_for(fs, &args, try_blk);
		if (rc < 0)
			break;
		se = fuse_session_new(&args, &ops, sizeof(ops), fs);
		if (!se)
			goto out; /* libfuse said why */
		if (fuse_session_mount(se, o->mountpoint) == 0)
			break;
		fuse_session_destroy(se);
		se = NULL;
		if (fs->loopfd >= 0)
			close(fs->loopfd);
		fs->loopfd = -1;
		fuse_opt_free_args(&args);
		if (!fs->blkdev)
			goto out; /* libfuse said why */
		try_blk = false;
	}
	if (rc < 0) {
		fprintf(stderr, "mount.cdsession: %s\n", cds_errmsg(rc));
		goto out;
	}
	if (geteuid() == 0 && !fs->blkdev)
		fprintf(stderr, "mount.cdsession: no block device mount "
				"here: umount will not wait for the burn (use "
				"cdsession umount)\n");
	if (fs->loopfd >= 0) {
		close(fs->loopfd); /* the mount holds it now (autoclear) */
		fs->loopfd = -1;
	}
	if (fuse_set_signal_handlers(se))
		goto out_unmount;
	if (fuse_daemonize(o->foreground))
		goto out_unmount;
	if (!o->foreground)
		cds_log_set_sink(cds_log_syslog_sink, NULL);
	/* after the fork: the cache's worker thread, the lock's pid */
	stg_store_mark_pid(fs->st);
	rc = fs_medium_use_cache(fs->m);
	if (rc < 0)
		cds_log(CDS_LOG_WARN, "%s: no read cache: %s", o->source,
			cds_errmsg(rc));
	if (!fs->ro)
		start_purger(fs); /* what an earlier mount left */
	{
		struct fuse_loop_config cfg = {.clone_fd = 0,
					       .max_idle_threads = 10};
		status = fuse_session_loop_mt(se, &cfg) ? 1 : 0;
	}
out_unmount:
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
out:
	if (se)
		fuse_session_destroy(se); /* calls destroy: the commit */
	stop_syncer(fs);
	stop_purger(fs);
	pthread_mutex_lock(&fs->status_lock);
	if (strcmp(fs->state, "failed") == 0)
		status = 1;
	pthread_mutex_unlock(&fs->status_lock);
	fuse_opt_free_args(&args);
	if (fs->loopfd >= 0)
		close(fs->loopfd); /* never mounted: autoclear detaches it */
	fs_free(fs);
	return status;
}
