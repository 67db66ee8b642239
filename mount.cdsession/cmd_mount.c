/*
 * cmd_mount.c - cdsession sync|umount|status MOUNTPOINT: talk to a running
 * mount.cdsession.  A commit is asked for with fsync() of the mount's root
 * (FSYNCDIR on the root, see fs/fs.h); its progress and outcome are read
 * from the root's status attribute while it runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/error.h"
#include "common/units.h"
#include "fs/fs.h"

/* The kernel and other filesystems answer an ioctl they do not know with
 * ENOTTY (or EINVAL, EOPNOTSUPP): then @dir is no cdsession mount. */
static bool foreign_ioctl(int err)
{
	return err == ENOTTY || err == EINVAL || err == EOPNOTSUPP ||
	       err == ENOSYS;
}

/* ioctl @cmd on the root of the mount at @dir: 0; -ENOTSUP (message) when
 * @dir is not the root of a cdsession mount; else -errno, no message. */
static int root_ioctl(const char *dir, unsigned long cmd, void *arg)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0 || ioctl(fd, cmd, arg) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err == ENOTDIR || err == ENOENT || foreign_ioctl(err))
		return cds_error(
		    -ENOTSUP, "%s is not the root of a cdsession mount", dir);
	return -err;
}

/* The status lines of the mount at @dir into @buf: 0, or -ENOTSUP when
 * @dir is not the root of a cdsession mount. */
static int read_status(const char *dir, char buf[FS_STATUS_MAX])
{
	int rc;

	buf[0] = '\0';
	rc = root_ioctl(dir, FS_IOC_STATUS, buf);
	buf[FS_STATUS_MAX - 1] = '\0';
	if (rc < 0 && rc != -ENOTSUP)
		rc = cds_error(rc, "%s: %s", dir, strerror(-rc));
	return rc;
}

/* The value of "key: value" in @status, or NULL. */
static const char *status_value(const char *status, const char *key, char *val,
				size_t cap)
{
	size_t klen = strlen(key);

	for (const char *l = status; l && *l; l = strchr(l, '\n')) {
		if (*l == '\n')
			l++;
		if (strncmp(l, key, klen) == 0 && l[klen] == ':') {
			const char *v = l + klen + 1 + (l[klen + 1] == ' ');
			size_t n = strcspn(v, "\n");
			snprintf(val, cap, "%.*s", (int)n, v);
			return val;
		}
	}
	return NULL;
}

struct watch {
	const char *dir;
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* Polls the status while the commit runs and draws the progress. */
static void *watch_main(void *arg)
{
	struct watch *w = arg;
	struct cli_progress *p = NULL;
	char phase[32] = "", cur[32];

	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 250 * 1000 * 1000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&w->cond, &w->lock, &t);
		if (w->done)
			break;
		char st[FS_STATUS_MAX], v[128];
		unsigned long long done = 0, total = 0;
		if (read_status(w->dir, st) ||
		    !status_value(st, "phase", cur, sizeof(cur)) ||
		    !status_value(st, "progress", v, sizeof(v)) ||
		    sscanf(v, "%llu %llu", &done, &total) != 2)
			continue;
		if (strcmp(cur, phase) != 0) {
			cli_progress_done(p);
			p = total ? cli_progress_new(cur, total) : NULL;
			snprintf(phase, sizeof(phase), "%s", cur);
		}
		if (p && status_value(st, "buffer", v, sizeof(v)) &&
		    strcmp(cur, "burn") == 0) {
			char note[40];
			snprintf(note, sizeof(note), "buffer %s%%", v);
			cli_progress_note(p, note);
		}
		if (p)
			cli_progress_update(p, done);
	}
	pthread_mutex_unlock(&w->lock);
	cli_progress_done(p);
	return NULL;
}

/* Commit the mount at @dir now; prints the outcome. */
static int sync_mount(const char *dir)
{
	char st[FS_STATUS_MAX], v[1024];
	struct watch w = {dir, false, PTHREAD_MUTEX_INITIALIZER,
			  PTHREAD_COND_INITIALIZER};
	pthread_t th;
	int rc = read_status(dir, st), fd;

	if (rc < 0)
		return rc;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cds_error(-errno, "%s: %s", dir, strerror(errno));
	bool watching = pthread_create(&th, NULL, watch_main, &w) == 0;
	int err = fsync(fd) ? errno : 0;
	close(fd);
	if (watching) {
		pthread_mutex_lock(&w.lock);
		w.done = true;
		pthread_cond_signal(&w.cond);
		pthread_mutex_unlock(&w.lock);
		pthread_join(th, NULL);
	}
	if (read_status(dir, st) == 0 &&
	    status_value(st, "last", v, sizeof(v))) {
		if (err)
			return cds_error(-err, "%s: %s", dir, v);
		printf("%s\n", v);
	} else if (err) {
		return cds_error(-err, "%s: commit failed: %s", dir,
				 strerror(err));
	}
	return 0;
}

int cli_close_mounted_disc(const char *dir)
{
	char st[FS_STATUS_MAX], v[1024];
	int rc = root_ioctl(dir, FS_IOC_CLOSE, NULL);

	if (rc == -ENOTSUP)
		return rc;
	if (rc < 0)
		return cds_error(rc,
				 "%s: closing the disc failed: %s (see "
				 "cdsession status)",
				 dir, strerror(-rc));
	if (read_status(dir, st) == 0 && status_value(st, "last", v, sizeof(v)))
		printf("%s\n", v);
	return 0;
}

static int mount_cmd_args(const char *cmd, int argc, char **argv,
			  const char **dir)
{
	int rc = cli_parse_options(cmd, argc, argv, NULL, NULL, NULL, 1);

	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage_error(cmd, "which mount point?");
	*dir = argv[optind];
	return -1;
}

int cmd_sync(int argc, char **argv)
{
	const char *dir;
	int rc = mount_cmd_args("sync", argc, argv, &dir);

	if (rc >= 0)
		return rc;
	rc = sync_mount(dir);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

int cmd_umount(int argc, char **argv)
{
	const char *dir;
	int rc = mount_cmd_args("umount", argc, argv, &dir);

	if (rc >= 0)
		return rc;
	rc = sync_mount(dir);
	if (rc < 0)
		return cli_fail(rc);
	/* nothing is left to commit: the daemon ends without a burn */
	if (umount2(dir, 0) == 0)
		return CLI_EXIT_OK;
	if (errno != EPERM)
		return cli_failf("umount %s: %s", dir, strerror(errno));
	pid_t pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "--", dir,
		       (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return cli_failf("umount %s failed", dir);
	return CLI_EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"staging", required_argument, NULL, 's'}, {0}};
	const char *path, *sdir = NULL;
	char st[FS_STATUS_MAX], total[32], avail[32];
	struct statvfs sv;
	struct stat sb;
	int rc = cli_parse_options("status", argc, argv, opts, cli_staging_opt,
				   &sdir, 1);

	if (rc >= 0)
		return rc;
	path = optind < argc ? argv[optind] : NULL;
	/* a device or a virtual disc: not mounted (or not by us) */
	if (!path || stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		rc = staging_status(path, sdir);
		return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
	}
	rc = read_status(path, st);
	if (rc < 0)
		return cli_fail(rc);
	printf("mount: %s\n%s", path, st);
	if (statvfs(path, &sv) == 0) {
		cds_human_size((uint64_t)sv.f_blocks * sv.f_frsize, total,
			       sizeof(total));
		cds_human_size((uint64_t)sv.f_bavail * sv.f_frsize, avail,
			       sizeof(avail));
		printf("capacity: %s\nfree: %s\n", total, avail);
	}
	return CLI_EXIT_OK;
}
