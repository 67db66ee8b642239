/*
 * fs.h - the mounted disc: a FUSE (libfuse3 low-level) filesystem over the
 * staging overlay and the disc's last session, and the commits it makes
 * (on `cdsession sync`, at unmount, or when the disc is closed).
 *
 * Only fs/ sees FUSE, staging/ and iso/ together.  All overlay calls are
 * serialised by one mutex (staging/overlay.h is not thread-safe); a commit
 * holds it for its whole length, so writes arriving during a burn wait and
 * none is lost.  A group-commit thread calls stg_sync() every second.
 *
 * Commit trigger: fsync of the mount's root directory (what `cdsession
 * sync MOUNTPOINT` and coreutils `sync MOUNTPOINT` send, FSYNCDIR on the
 * root) commits unless -o sync=durable; fsync of anything else only makes
 * the staged copy durable.
 *
 * Status: the FS_IOC_STATUS ioctl on the root directory answers a few
 * "key: value" lines (device, medium, sessions, state, phase and progress
 * of a running commit, the last commit or failure, what is pending) without
 * waiting long for the filesystem's mutex;
 * `cdsession status` and `cdsession sync` read it.  FS_IOC_CLOSE closes the
 * disc (cdsession-fix MOUNTPOINT).  They are ioctls rather than extended
 * attributes so that getxattr can answer ENOSYS once: the kernel then stops
 * asking for security.capability before every write(), a round trip each.
 * Extended attributes are thus refused with ENOTSUP (EOPNOTSUPP): Rock Ridge
 * cannot record them.
 */
#ifndef CDS_FS_FS_H
#define CDS_FS_FS_H

#include <linux/ioctl.h>
#include <stdbool.h>

#define FS_STATUS_MAX 4096
/* The status lines, NUL-terminated, into the argument's buffer. */
#define FS_IOC_STATUS _IOR(0xCD, 0x51, char[FS_STATUS_MAX])
/* Burn what is staged as the disc's last session, or close the disc when
 * nothing is; the mount is read-only afterwards.  Root or the user who
 * mounted only (EPERM otherwise). */
#define FS_IOC_CLOSE _IO(0xCD, 0x52)

struct fs_opts {
	const char *source; /* device node or virtual disc file */
	const char *mountpoint;
	bool ro;		/* -o ro (also forced for a closed disc) */
	unsigned session;	/* -o session=N, read-only; 0 = last */
	const char *staging;	/* -o staging=DIR */
	bool commit_manual;	/* -o commit=manual: not at unmount */
	bool close_disc;	/* -o close: finalize at unmount */
	bool dummy;		/* -o dummy: test writes */
	bool no_verify;		/* -o verify=off */
	bool sync_durable;	/* -o sync=durable */
	unsigned speed;		/* -o speed=N */
	const char *volid;	/* -o volid=ID */
	bool foreground, debug; /* -f, -d */
	bool allow_other;
	const char *fuse_opts; /* other -o options for FUSE, or NULL */
};

/*
 * Mount and serve until unmounted: opens the medium (a blank disc mounts
 * empty), recovers an interrupted commit, opens the staging store and the
 * overlay, mounts, daemonizes unless @o->foreground, serves, and commits
 * at unmount unless commit=manual.  Returns the exit status (0 ok, 1 a
 * failure already reported on stderr or syslog).
 */
int fs_run(const struct fs_opts *o);

#endif
