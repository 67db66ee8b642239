/* commit.c - the intent record, the release and a store's state. */
#include "commit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"
#include "staging/journal.h"
#include "staging/store.h"

#define INTENT_NAME  "intent"
#define INTENT_TMP   "intent.tmp"
#define JOURNAL_NAME "journal"
#define DATA_NAME    "data"
/* released data directories waiting for stg_commit_purge() */
#define RELEASED_PREFIX "released."

/* magic, base id, start, [time,] tag length, tag, CRC-32C of what precedes
 * it; version 1 has no time */
static const char intent_magic1[8] = {'C', 'D', 'S', 'I', 'N', 'T', '0', '1'};
static const char intent_magic2[8] = {'C', 'D', 'S', 'I', 'N', 'T', '0', '2'};
#define INTENT_FIXED1 (8 + STG_BASE_ID_SIZE + 4 + 4)
#define INTENT_FIXED2 (INTENT_FIXED1 + 8)
#define INTENT_MAX    STG_INTENT_MAX

static bool valid_tag(const char *tag, size_t len)
{
	if (len == 0 || len > STG_TAG_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (tag[i] <= ' ' || tag[i] > '~')
			return false;
	return true;
}

int stg_commit_new_tag(char *tag)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return cds_error(-errno, "getrandom: %s", strerror(errno));
	snprintf(tag, STG_TAG_MAX + 1, "cds-%016" PRIx64, r);
	return 0;
}

static int sync_fd(int fd, const char *what)
{
	if (fsync(fd))
		return cds_error(-errno, "staging: fsync %s: %s", what,
				 strerror(errno));
	return 0;
}

size_t stg_intent_encode(const struct stg_intent *in, uint8_t *out)
{
	size_t tlen = strnlen(in->tag, STG_TAG_MAX), len = 8;

	memcpy(out, in->now ? intent_magic2 : intent_magic1, 8);
	memcpy(out + len, in->base, STG_BASE_ID_SIZE);
	len += STG_BASE_ID_SIZE;
	cds_put_le32(out + len, in->start);
	len += 4;
	if (in->now) {
		cds_put_le64(out + len, (uint64_t)in->now);
		len += 8;
	}
	cds_put_le32(out + len, (uint32_t)tlen);
	len += 4;
	memcpy(out + len, in->tag, tlen);
	len += tlen;
	cds_put_le32(out + len, stg_crc32c(0, out, len));
	return len + 4;
}

int stg_commit_intent(struct stg_store *st, const struct stg_intent *in)
{
	int dfd = stg_store_dirfd(st), fd, rc = 0;
	size_t tlen = strnlen(in->tag, STG_TAG_MAX + 1), len;
	uint8_t buf[INTENT_MAX];

	if (!valid_tag(in->tag, tlen))
		return cds_error(-EINVAL, "staging: bad session tag \"%s\"",
				 in->tag);
	len = stg_intent_encode(in, buf);

	fd = openat(dfd, INTENT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return cds_error(-errno, "staging: %s/%s: %s",
				 stg_store_dir(st), INTENT_TMP,
				 strerror(errno));
	if (write(fd, buf, len) != (ssize_t)len)
		rc = cds_error(errno ? -errno : -EIO,
			       "staging: writing the commit intent: %s",
			       strerror(errno ? errno : EIO));
	if (!rc)
		rc = sync_fd(fd, "the commit intent");
	close(fd);
	if (!rc && renameat(dfd, INTENT_TMP, dfd, INTENT_NAME))
		rc = cds_error(-errno, "staging: rename %s: %s", INTENT_TMP,
			       strerror(errno));
	if (!rc)
		rc = sync_fd(dfd, stg_store_dir(st));
	if (rc)
		unlinkat(dfd, INTENT_TMP, 0);
	return rc;
}

int stg_intent_parse(const uint8_t *buf, size_t len, struct stg_intent *out)
{
	/* untrusted: every length is checked before it is used */
	size_t tlen = 0, fixed = 0;
	bool ok = len >= 8 && len <= INTENT_MAX;

	if (ok && memcmp(buf, intent_magic1, 8) == 0)
		fixed = INTENT_FIXED1;
	else if (ok && memcmp(buf, intent_magic2, 8) == 0)
		fixed = INTENT_FIXED2;
	ok = fixed && len >= fixed + 4;
	if (ok) {
		tlen = cds_get_le32(buf + fixed - 4);
		ok = tlen <= STG_TAG_MAX && len == fixed + tlen + 4 &&
		     cds_get_le32(buf + len - 4) == stg_crc32c(0, buf, len - 4);
	}
	if (ok) {
		memcpy(out->base, buf + 8, STG_BASE_ID_SIZE);
		out->start = cds_get_le32(buf + 8 + STG_BASE_ID_SIZE);
		out->now = 0;
		if (fixed == INTENT_FIXED2)
			out->now = (int64_t)cds_get_le64(buf + 8 +
							 STG_BASE_ID_SIZE + 4);
		memcpy(out->tag, buf + fixed, tlen);
		out->tag[tlen] = '\0';
		/* version 2 is written only with a time: 0 there is damage */
		ok = valid_tag(out->tag, tlen) &&
		     (fixed == INTENT_FIXED1 || out->now != 0);
	}
	return ok ? 0 : -EUCLEAN;
}

int stg_commit_read_intent(struct stg_store *st, struct stg_intent *out)
{
	uint8_t buf[INTENT_MAX + 1];
	int fd = openat(stg_store_dirfd(st), INTENT_NAME, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT
			   ? -ENOENT
			   : cds_error(-errno, "staging: %s/%s: %s",
				       stg_store_dir(st), INTENT_NAME,
				       strerror(errno));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return cds_error(-errno, "staging: reading %s/%s: %s",
				 stg_store_dir(st), INTENT_NAME,
				 strerror(errno));
	if (stg_intent_parse(buf, (size_t)n, out))
		return cds_error(-EUCLEAN,
				 "staging: %s/%s is damaged; ignoring it",
				 stg_store_dir(st), INTENT_NAME);
	return 0;
}

static int remove_durably(struct stg_store *st, const char *name)
{
	int dfd = stg_store_dirfd(st);

	if (unlinkat(dfd, name, 0) && errno != ENOENT)
		return cds_error(-errno, "staging: remove %s/%s: %s",
				 stg_store_dir(st), name, strerror(errno));
	return sync_fd(dfd, stg_store_dir(st));
}

int stg_commit_drop_intent(struct stg_store *st)
{
	return remove_durably(st, INTENT_NAME);
}

/* Remove the entries of directory @fd (@what under the store, for
 * messages); with @subdirs, its subdirectories too, each emptied first
 * (the overlay's data/XX/). */
static int remove_entries(struct stg_store *st, int fd, const char *what,
			  bool subdirs, const volatile bool *stop)
{
	int fd2 = dup(fd), rc = 0;
	DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	const struct dirent *e;

	if (!d) {
		if (fd2 >= 0)
			close(fd2);
		return cds_error(-errno, "staging: %s/%s: %s",
				 stg_store_dir(st), what, strerror(errno));
	}
	while (!rc && !(stop && *stop) && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!unlinkat(fd, e->d_name, 0) || errno == ENOENT)
			continue;
		if (errno == EISDIR && subdirs) {
			char sub[256];
			int sfd = openat(fd, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC |
					     O_NOFOLLOW);

			snprintf(sub, sizeof(sub), "%s/%s", what, e->d_name);
			if (sfd < 0)
				rc = cds_error(-errno, "staging: %s/%s: %s",
					       stg_store_dir(st), sub,
					       strerror(errno));
			else {
				rc = remove_entries(st, sfd, sub, false, stop);
				close(sfd);
			}
			if (stop && *stop)
				break; /* the rest another time */
			if (rc || !unlinkat(fd, e->d_name, AT_REMOVEDIR) ||
			    errno == ENOENT)
				continue;
		}
		rc = cds_error(-errno, "staging: remove %s/%s/%s: %s",
			       stg_store_dir(st), what, e->d_name,
			       strerror(errno));
	}
	closedir(d);
	return rc;
}

/* Remove every file in DIR/data and its subdirectories (the overlay keeps
 * data files in DIR/data/XX/), then those. */
static int empty_data(struct stg_store *st)
{
	int dfd = openat(stg_store_dirfd(st), DATA_NAME,
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (dfd < 0)
		return errno == ENOENT ? 0
				       : cds_error(-errno, "staging: %s/%s: %s",
						   stg_store_dir(st), DATA_NAME,
						   strerror(errno));
	/* a crash half way leaves orphans the next overlay open removes */
	rc = remove_entries(st, dfd, DATA_NAME, true, NULL);
	if (!rc)
		rc = sync_fd(dfd, "the data directory");
	close(dfd);
	return rc;
}

int stg_commit_release(struct stg_store *st)
{
	/* The journal first: once it is gone nothing is staged, and the data
	 * files left by a crash are orphans the next overlay open removes.
	 * Then data/ goes aside in one rename: deleting thousands of files
	 * is stg_commit_purge()'s, later, off the commit's path. */
	int rc = remove_durably(st, JOURNAL_NAME), dfd = stg_store_dirfd(st);
	char aside[64];

	snprintf(aside, sizeof(aside), RELEASED_PREFIX "%lld.%ld",
		 (long long)time(NULL), (long)getpid());
	if (!rc && renameat(dfd, DATA_NAME, dfd, aside) && errno != ENOENT) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			rc = empty_data(st); /* the name is taken: now */
		else
			rc = cds_error(-errno, "staging: rename %s/%s: %s",
				       stg_store_dir(st), DATA_NAME,
				       strerror(errno));
	}
	if (!rc)
		rc = sync_fd(dfd, stg_store_dir(st));
	if (!rc)
		rc = remove_durably(st, INTENT_NAME);
	return rc;
}

int stg_commit_purge(struct stg_store *st, const volatile bool *stop)
{
	int dfd = stg_store_dirfd(st), fd2 = dup(dfd), rc = 0;
	DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	const struct dirent *e;

	if (!d) {
		if (fd2 >= 0)
			close(fd2);
		return cds_error(-errno, "staging: %s: %s", stg_store_dir(st),
				 strerror(errno));
	}
	while (!rc && !(stop && *stop) && (e = readdir(d))) {
		if (strncmp(e->d_name, RELEASED_PREFIX,
			    strlen(RELEASED_PREFIX)) != 0)
			continue;
		int rfd =
		    openat(dfd, e->d_name,
			   O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (rfd < 0) {
			rc = cds_error(-errno, "staging: %s/%s: %s",
				       stg_store_dir(st), e->d_name,
				       strerror(errno));
			break;
		}
		rc = remove_entries(st, rfd, e->d_name, true, stop);
		close(rfd);
		if (!rc && !(stop && *stop) &&
		    unlinkat(dfd, e->d_name, AT_REMOVEDIR) && errno != ENOENT)
			rc = cds_error(-errno, "staging: remove %s/%s: %s",
				       stg_store_dir(st), e->d_name,
				       strerror(errno));
	}
	closedir(d);
	return rc;
}

int stg_store_state(struct stg_store *st, const uint8_t *disc_base,
		    const char *disc_tag, struct stg_state_info *out)
{
	char path[4096];
	size_t len = 0;
	struct stg_intent in;
	int rc, irc;

	memset(out, 0, sizeof(*out));
	if (snprintf(path, sizeof(path), "%s/%s", stg_store_dir(st),
		     JOURNAL_NAME) >= (int)sizeof(path))
		return cds_error(-ENAMETOOLONG, "staging path too long");
	rc = stg_journal_peek_header(path, out->staged_base,
				     sizeof(out->staged_base), &len);
	if (rc == -ENOENT) {
		out->state = STG_STATE_EMPTY;
		return 0;
	}
	if (rc == -ERANGE || (!rc && len != STG_BASE_ID_SIZE))
		return cds_error(-EUCLEAN,
				 "staging: %s has a header of %zu bytes, not a "
				 "base session identity",
				 path, len);
	if (rc)
		return rc;

	irc = stg_commit_read_intent(st, &in);
	if (irc && irc != -ENOENT && irc != -EUCLEAN)
		return irc;
	bool have = irc == 0;
	bool matches =
	    memcmp(out->staged_base, disc_base, STG_BASE_ID_SIZE) == 0;

	if (have && !matches && disc_tag && strcmp(in.tag, disc_tag) == 0 &&
	    memcmp(in.base, out->staged_base, STG_BASE_ID_SIZE) == 0) {
		out->state = STG_STATE_BURNT;
		return 0;
	}
	out->state = matches ? STG_STATE_CURRENT : STG_STATE_STALE;
	/* An intent whose session never reached the disc: the changes are
	 * still staged over the disc's last session; the commit is retried. */
	if (matches && irc != -ENOENT)
		return stg_commit_drop_intent(st);
	return 0;
}

int stg_stale_error(const struct stg_store *st, const uint8_t *staged_base,
		    const uint8_t *disc_base)
{
	static const uint8_t blank[STG_BASE_ID_SIZE];
	char staged[64];

	/* an all-zero identity is what a blank disc is staged over */
	if (memcmp(staged_base, blank, sizeof(blank)) == 0)
		snprintf(staged, sizeof(staged), "a blank disc");
	else
		snprintf(staged, sizeof(staged), "the session at LBA %" PRIu32,
			 stg_base_id_start(staged_base));
	if (memcmp(disc_base, blank, sizeof(blank)) == 0)
		return cds_error(-ESTALE,
				 "staging %s holds changes made over %s, but "
				 "the disc is blank; nothing was changed: see "
				 "cdsession staging list, export or discard",
				 stg_store_dir(st), staged);
	return cds_error(-ESTALE,
			 "staging %s holds changes made over %s, but the "
			 "disc's last session starts at LBA %" PRIu32
			 " (a session was added elsewhere); nothing was "
			 "changed: see cdsession staging list, export or "
			 "discard",
			 stg_store_dir(st), staged,
			 stg_base_id_start(disc_base));
}

int stg_commit_discard(struct stg_store *st)
{
	int rc = stg_commit_release(st), dfd = stg_store_dirfd(st);
	int fd2;
	DIR *d;
	const struct dirent *e;

	if (!rc)
		rc = stg_commit_purge(st, NULL);
	if (rc)
		return rc;
	/* what is left: the lock, data/, damaged journal tails kept for
	 * inspection (journal.damaged.*) */
	fd2 = dup(dfd);
	d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (!d) {
		if (fd2 >= 0)
			close(fd2);
		return cds_error(-errno, "staging: %s: %s", stg_store_dir(st),
				 strerror(errno));
	}
	while (!rc && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, "lock") == 0)
			continue;
		if (unlinkat(dfd, e->d_name,
			     strcmp(e->d_name, DATA_NAME) == 0 ? AT_REMOVEDIR
							       : 0))
			rc = cds_error(-errno, "staging: remove %s/%s: %s",
				       stg_store_dir(st), e->d_name,
				       strerror(errno));
	}
	closedir(d);
	if (!rc && (unlinkat(dfd, "lock", 0) || rmdir(stg_store_dir(st))))
		rc = cds_error(-errno, "staging: remove %s: %s",
			       stg_store_dir(st), strerror(errno));
	return rc;
}
