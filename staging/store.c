/* store.c - the staging store's directory and its lock. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

#define LOCK_NAME "lock"

struct stg_store {
	char *dir;
	int dirfd, lockfd;
};

int stg_store_check_id(const char *disc_id)
{
	size_t n = strlen(disc_id);

	if (n == 0 || n > 64)
		return cds_error(-EINVAL, "disc id of %zu characters (1 to 64)",
				 n);
	if (strcmp(disc_id, ".") == 0 || strcmp(disc_id, "..") == 0)
		return cds_error(-EINVAL, "disc id \"%s\" is not a name",
				 disc_id);
	if (strspn(disc_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			    "YZ0123456789._-") != n)
		return cds_error(-EINVAL,
				 "disc id \"%s\": only A-Z a-z 0-9 . _ - "
				 "allowed",
				 disc_id);
	return 0;
}

int stg_store_default_dir(const char *disc_id, char *buf, size_t cap)
{
	const char *base, *sub;
	int rc = stg_store_check_id(disc_id), n;

	if (rc < 0)
		return rc;
	if (geteuid() == 0) {
		base = "/var/lib";
		sub = "";
	} else if ((base = getenv("XDG_DATA_HOME")) && base[0] == '/') {
		sub = "";
	} else {
		base = getenv("HOME");
		if (!base || base[0] != '/') {
			const struct passwd *pw = getpwuid(geteuid());
			base = pw ? pw->pw_dir : NULL;
		}
		if (!base || base[0] != '/')
			return cds_error(-ENOENT, "no home directory for the "
						  "staging store; use -o "
						  "staging=DIR");
		sub = "/.local/share";
	}
	n = snprintf(buf, cap, "%s%s/cdsession/%s", base, sub, disc_id);
	if (n < 0 || (size_t)n >= cap)
		return cds_error(-ENAMETOOLONG,
				 "staging directory path too long");
	return 0;
}

/* mkdir -p with mode 0700 for every directory it makes. */
static int make_dirs(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return cds_error(-ENAMETOOLONG,
				 "staging directory path of "
				 "%zu bytes",
				 n);
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return cds_error(-errno, "cannot create %s: %s", path,
					 strerror(errno));
		if (i < n)
			path[i] = '/';
	}
	return 0;
}

/* Who holds the lock, for the message: the pid it wrote, or 0. */
static long lock_holder(int fd)
{
	char buf[32];
	ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);

	if (r <= 0)
		return 0;
	buf[r] = '\0';
	return strtol(buf, NULL, 10);
}

int stg_store_open(const char *dir, struct stg_store **out)
{
	struct stg_store *s;
	struct stat st;
	int rc;

	*out = NULL;
	rc = make_dirs(dir);
	if (rc < 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lockfd = -1;
	s->dir = strdup(dir);
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!s->dir || s->dirfd < 0) {
		rc = s->dir ? cds_error(-errno,
					"cannot open staging directory "
					"%s: %s",
					dir, strerror(errno))
			    : -ENOMEM;
		goto fail;
	}
	if (fstat(s->dirfd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		rc = cds_error(-EPERM,
			       "staging directory %s is owned by uid %u, not "
			       "by you (uid %u)",
			       dir, (unsigned)st.st_uid, (unsigned)geteuid());
		goto fail;
	}
	if (st.st_mode & 022) {
		rc = cds_error(-EPERM,
			       "staging directory %s is writable by others "
			       "(mode %04o); chmod 700 it",
			       dir, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	s->lockfd = openat(s->dirfd, LOCK_NAME,
			   O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0) {
		rc = cds_error(-errno, "cannot open %s/" LOCK_NAME ": %s", dir,
			       strerror(errno));
		goto fail;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			long holder = lock_holder(s->lockfd);
			if (holder > 0)
				rc = cds_error(-EBUSY,
					       "staging directory %s is in use "
					       "by another cdsession (pid %ld)",
					       dir, holder);
			else
				rc = cds_error(-EBUSY,
					       "staging directory %s is in use "
					       "by another cdsession",
					       dir);
		} else {
			rc = cds_error(-errno,
				       "cannot lock %s/" LOCK_NAME ": %s", dir,
				       strerror(errno));
		}
		goto fail;
	}
	stg_store_mark_pid(s);
	*out = s;
	return 0;
fail:
	stg_store_close(s);
	return rc;
}

void stg_store_mark_pid(struct stg_store *s)
{
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

	/* Only informational: a failure here does not matter. */
	if (ftruncate(s->lockfd, 0) < 0 ||
	    pwrite(s->lockfd, pid, (size_t)n, 0) != n)
		(void)0;
}

void stg_store_close(struct stg_store *s)
{
	if (!s)
		return;
	if (s->lockfd >= 0)
		close(s->lockfd); /* drops the flock */
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->dir);
	free(s);
}

const char *stg_store_dir(const struct stg_store *s)
{
	return s->dir;
}

int stg_store_dirfd(const struct stg_store *s)
{
	return s->dirfd;
}

#define DISC_NAME "disc"

int stg_store_claim(struct stg_store *s, const char *disc_id)
{
	char have[80] = "";
	int fd = openat(s->dirfd, DISC_NAME, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, have, sizeof(have) - 1);
		close(fd);
		have[n > 0 ? n : 0] = '\0';
		have[strcspn(have, "\n")] = '\0';
	} else if (errno != ENOENT) {
		return cds_error(-errno, "%s/" DISC_NAME ": %s", s->dir,
				 strerror(errno));
	}
	if (strcmp(have, disc_id) == 0)
		return 0;
	/* a blank disc's store becomes the disc's once it has a session */
	if (have[0] && strcmp(have, "blank") != 0)
		return cds_error(-EXDEV,
				 "staging directory %s belongs to disc %s, not "
				 "to this disc (%s)",
				 s->dir, have, disc_id);
	char tmp[] = DISC_NAME ".tmp", line[80];
	int n = snprintf(line, sizeof(line), "%s\n", disc_id);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return cds_error(-errno, "%s/%s: %s", s->dir, tmp,
				 strerror(errno));
	int rc = write(fd, line, (size_t)n) == n && fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	if (rc == 0 && renameat(s->dirfd, tmp, s->dirfd, DISC_NAME))
		rc = -errno;
	if (rc == 0 && fsync(s->dirfd))
		rc = -errno;
	return rc ? cds_error(rc, "%s/" DISC_NAME ": %s", s->dir, strerror(-rc))
		  : 0;
}
