/*
 * store.h - the staging store's directory: one per disc, private to its
 * owner, and locked so that two daemons never share it.
 *
 * The lock is flock(2) on DIR/lock: the kernel drops it when the holder
 * dies (kill -9 included), so a crash never leaves a stale lock to clean
 * up by hand.  The holder writes its pid into the file, only to name it in
 * the "in use" message.
 */
#ifndef CDS_STAGING_STORE_H
#define CDS_STAGING_STORE_H

#include <stddef.h>

struct stg_store;

/*
 * Open the store directory @dir, creating it (and missing parents) with mode
 * 0700, and lock it.  A directory that is not owned by the effective user or
 * is writable by group or others is refused (-EPERM, with a message): others
 * could plant or change staged files.  When another process holds the lock:
 * -EBUSY, "staging directory DIR is in use by another cdsession (pid N)".
 */
int stg_store_open(const char *dir, struct stg_store **out);

/* Write the calling process's pid into the lock file again (after a fork:
 * a daemon keeps the lock across fork(), flock(2) locks belong to the open
 * file, but the pid to name is the child's). */
void stg_store_mark_pid(struct stg_store *s);

/*
 * Tie the store to the disc @disc_id (DIR/disc holds it): 0 when it is
 * that disc's or nobody's yet (then it becomes @disc_id's), also when it
 * was a blank disc's ("blank") and the disc now has a session; -EXDEV
 * "staging directory DIR belongs to disc X, not to this disc (Y)" else,
 * so that -o staging= pointing at another disc's changes never applies
 * them here.
 */
int stg_store_claim(struct stg_store *s, const char *disc_id);

/* Release the lock and free.  NULL is allowed. */
void stg_store_close(struct stg_store *s);

/* The directory as given, and an O_DIRECTORY descriptor of it for *at(). */
const char *stg_store_dir(const struct stg_store *s);
int stg_store_dirfd(const struct stg_store *s);

/*
 * The default store directory for a disc: /var/lib/cdsession/@disc_id when
 * running as root (effective uid 0), else $XDG_DATA_HOME/cdsession/@disc_id
 * (when XDG_DATA_HOME is an absolute path, as the XDG spec wants) or
 * $HOME/.local/share/cdsession/@disc_id (HOME from the password database
 * when unset).  @disc_id must be 1..64 of [A-Za-z0-9._-] and not "." or
 * "..": -EINVAL otherwise.  -ENAMETOOLONG when @cap is too small, -ENOENT
 * when no home directory is known.
 */
int stg_store_default_dir(const char *disc_id, char *buf, size_t cap);

/* 0 when @disc_id is acceptable as above, else -EINVAL with a message. */
int stg_store_check_id(const char *disc_id);

#endif
