/*
 * overlay.h - the staging overlay: the merged view of a base session and
 * the changes made since, kept durably in a store directory.
 *
 * Model.  At open every node of the base tree gets an inode, numbered by a
 * depth-first walk (root = 1, children in the base's order), so the numbers
 * are the same on every open of the same base session and journal records
 * can name base files by number.  Base files with the same Rock Ridge
 * serial and nlink > 1 share one inode (hard links).  New inodes are
 * numbered after the base's, in creation order, and are never reused
 * during the overlay's life.  Each directory inode holds its merged
 * children (base children minus deletions plus new and renamed entries), so
 * a deletion is just a missing entry: no whiteout objects are needed.
 * (Cost: the whole base tree is walked at open and takes about 200 bytes per
 * node; fine for a CD/DVD, revisit for a full BD-R of tiny files.)
 *
 * Directories.  A directory's entries are an array in cookie (arrival)
 * order, so a listing resumes at a cookie by binary search.  A deletion
 * leaves a hole, and the array is packed (order kept) once it is half
 * holes, so deleting is O(1) amortised.  Past 32 entries a directory also
 * gets a hash index of its names (open addressing, at most half full:
 * 8-16 bytes per entry on top of the 24-byte slot and the name), built
 * lazily, kept up to date by every insertion and deletion, rebuilt when the
 * array is packed or the index grows, and dropped again at 16 entries.
 * Lookup, create, unlink and rename cost O(1) on average at any size.
 * The hash is not seeded: names crafted to collide only bring back the
 * linear scan.
 *
 * Journal.  Every metadata change is one record in DIR/journal (header =
 * the caller's base id), explicit little-endian fields, the time of the
 * change included so that replay reproduces it exactly.  A live operation
 * encodes its record, applies it through the very code replay uses, and
 * appends it only when it applied: replay and live can not diverge.
 * Records are untrusted on replay: a malformed or inapplicable one fails
 * the open with "journal record N: ..." (-EUCLEAN), never a crash.
 *
 * Data.  New and copied-up file data lives in DIR/data/XX/<ino> (0600),
 * XX the two lower-case hex digits of (ino >> 7) & 0xff: 128 consecutive
 * inodes share a subdirectory (made with its first file), the next 128 the
 * next one, wrapping round after 256.  Creating 10k files in one directory
 * is about 2.5 times slower than in directories of 100 or so, and files
 * made one after another are cheaper in one directory than spread over
 * many (ext4 allocates them together: bench/staging's 10k files of 1 KiB
 * took about 0.6 s, against 0.9 s with XX = ino & 0xff).  A base file is
 * copied up on its first write (the whole file) or when it is truncated
 * (only the kept part; nothing for a truncation to 0).  Renames, chmod,
 * chown, utimens and links of base files copy nothing.  A data file
 * shorter than its inode's size reads as zeros past its end.  Data files of
 * deleted inodes are removed after the next sync, and on open any data
 * file that no live inode owns under its own name is removed, as are files
 * directly in DIR/data (such as the flat DIR/data/<ino> of the layout
 * before); subdirectories left empty go too.
 *
 * Durability.  Data before records, like ext4's data=ordered: whenever
 * journal records go to the kernel (stg_sync(), stg_fsync(), compaction,
 * stg_overlay_close(), and commit once 512 KiB of records are buffered,
 * well before the journal would write its 1 MiB buffer out by itself),
 * every data file written or truncated since the last sync is made durable
 * first, with the entries of new ones.  Up to 8 such files and
 * directories: an fdatasync of each file, then an fsync of each
 * subdirectory that got a new file and of DIR/data if it got a new
 * subdirectory.  More: one syncfs() of the filesystem DIR lives on (new
 * entries included), since an fdatasync costs a device cache flush each
 * (10k new files: 10k flushes, most of the time of a stg_sync()) while
 * syncfs flushes once; since Linux 5.8 syncfs reports writeback errors
 * (of any file on that filesystem since the overlay was opened: a false
 * alarm at worst).  Its cost: it writes out everything dirty on that
 * filesystem, other programs' files too, so a store on a busy filesystem
 * pays for their data as well.  So no record is ever durable before the
 * data it describes, whichever file it is about: a write's size record, a
 * truncation (the ftruncate is synced before the record that replays it)
 * or a copy-up (fdatasynced before its record is even appended).
 * stg_fsync(ino) therefore syncs all dirty data, then the journal: that
 * file, its names and everything before it survive kill -9 and a machine
 * crash.  stg_sync() is the same group commit for everything, meant to be
 * called about once a second.  Data files of deleted inodes are removed
 * only after the journal that deletes them is synced.
 *
 * What a crash loses: records wait in the process's buffer, so kill -9 or
 * a crash loses the operations after the last sync (a sync made by commit
 * included).  Their data may have reached the data files anyway: an
 * overwrite inside the file's durable size may read as new bytes, and a
 * truncation may already have dropped bytes past it (they read as zeros),
 * as on ext4 without fsync.  Bytes written past a file's durable size never
 * show: open cuts each data file to its inode's size (and syncs the cut),
 * so a later extension reads zeros there, not a lost write's bytes; a
 * failed write is cut back the same way at once.
 *
 * Directories nest at most 2048 levels
 * (a hostile journal must not make the recursive walks overflow the stack):
 * deeper is -ELOOP.
 *
 * Compaction.  stg_overlay_compact() rewrites the journal as the live
 * state: the next inode number, the whole state of each inode that differs
 * from the base (new inodes with their own numbers), the listing of each
 * changed directory and the deleted base inodes.  stg_sync() calls it when
 * the journal is over 4 MiB and 4 times its size after the last compaction
 * (or open).  Data files are not touched; dirty ones are synced first,
 * so the new journal never describes data that is not durable.  A crash
 * leaves the old journal or the new one (stg_journal_compact()).
 *
 * Rename.  STG_RENAME_EXCHANGE swaps two entries as ext4 does: both keep
 * their names and places in their listings and exchange inodes; a
 * directory that changes parent takes its parent link along.  It is the
 * R_RENAME record with flag 2 (the record always carried Linux's flags,
 * and older code refused unknown ones), so older journals replay as
 * before.
 *
 * After a burn: staging/commit.h records the commit's intent and releases
 * the store once the session is verified (the overlay closed first).
 *
 * Not thread-safe: fs/ serialises calls.
 */
#ifndef CDS_STAGING_OVERLAY_H
#define CDS_STAGING_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "iso/node.h"

struct stg_store;
struct stg_overlay;

#define STG_ROOT_INO 1u

/* Reads @len bytes at @off of base file @n into @buf: 0 (all of them) or a
 * negative errno.  Never asked for bytes past n->size. */
typedef int (*stg_read_base_fn)(void *ctx, const struct iso_node *n,
				uint64_t off, void *buf, size_t len);

struct stg_attr {
	uint64_t ino;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint32_t nlink;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	dev_t rdev;
};

/* Fields of stg_setattr(); ctime is always set to now. */
#define STG_SET_MODE  0x01u /* permission bits only; the type is kept */
#define STG_SET_UID   0x02u
#define STG_SET_GID   0x04u
#define STG_SET_SIZE  0x08u
#define STG_SET_ATIME 0x10u
#define STG_SET_MTIME 0x20u

/* rename flags, with Linux's values; not both */
#define STG_RENAME_NOREPLACE 1u
/* swap two existing entries atomically (any types, across directories) */
#define STG_RENAME_EXCHANGE 2u

/*
 * Open the overlay of @base_root (borrowed, read-only, fully loaded; must
 * outlive the overlay) in store @st.  @base_id identifies the base session
 * and is the journal's header: a journal of another base gives -ESTALE
 * ("journal belongs to another base session").  Replays the journal.
 */
int stg_overlay_open(struct stg_store *st, const struct iso_node *base_root,
		     const void *base_id, size_t base_id_len,
		     stg_read_base_fn read_base, void *read_ctx,
		     struct stg_overlay **out);

/* Sync dirty data, flush the journal (without syncing it: call stg_sync()
 * first) and free.  NULL ok. */
void stg_overlay_close(struct stg_overlay *ov);

int stg_lookup(struct stg_overlay *ov, uint64_t parent, const char *name,
	       uint64_t *ino);
/* The inode at @path of the merged view, names separated by '/' from the
 * root (leading and repeated '/' ignored; "" is the root): for tools, the
 * filesystem resolves one name at a time with stg_lookup(). */
int stg_lookup_path(struct stg_overlay *ov, const char *path, uint64_t *ino);
int stg_getattr(struct stg_overlay *ov, uint64_t ino, struct stg_attr *a);
int stg_setattr(struct stg_overlay *ov, uint64_t ino, const struct stg_attr *a,
		unsigned which);
/* Copies the symlink target (NUL-terminated, cut to @cap - 1).  Returns its
 * full length or a negative errno (-EINVAL: not a symlink). */
int stg_readlink(struct stg_overlay *ov, uint64_t ino, char *buf, size_t cap);

/*
 * Calls @fn for each entry of @dir after @cookie (0 = from the start), in a
 * stable order (creation/arrival order), without "." and "..".  @next is
 * the cookie to resume after this entry; entries added or removed during a
 * listing do not disturb the others.  @fn returns nonzero to stop.
 */
typedef int (*stg_readdir_fn)(void *ctx, const char *name, uint64_t ino,
			      mode_t mode, uint64_t next);
int stg_readdir(struct stg_overlay *ov, uint64_t dir, uint64_t cookie,
		stg_readdir_fn fn, void *ctx);

/* New objects: *@ino (may be NULL) gets the new inode.  uid/gid given by
 * the caller (fs/ knows the requesting process). */
int stg_create(struct stg_overlay *ov, uint64_t parent, const char *name,
	       mode_t mode, uid_t uid, gid_t gid, uint64_t *ino);
int stg_mkdir(struct stg_overlay *ov, uint64_t parent, const char *name,
	      mode_t mode, uid_t uid, gid_t gid, uint64_t *ino);
int stg_symlink(struct stg_overlay *ov, uint64_t parent, const char *name,
		const char *target, uid_t uid, gid_t gid, uint64_t *ino);
/* S_IFIFO, S_IFCHR, S_IFBLK (with @rdev), S_IFSOCK, or S_IFREG. */
int stg_mknod(struct stg_overlay *ov, uint64_t parent, const char *name,
	      mode_t mode, dev_t rdev, uid_t uid, gid_t gid, uint64_t *ino);
int stg_link(struct stg_overlay *ov, uint64_t ino, uint64_t newparent,
	     const char *newname);
int stg_unlink(struct stg_overlay *ov, uint64_t parent, const char *name);
int stg_rmdir(struct stg_overlay *ov, uint64_t parent, const char *name);
int stg_rename(struct stg_overlay *ov, uint64_t olddir, const char *oldname,
	       uint64_t newdir, const char *newname, unsigned flags);

/*
 * Keep inode @ino alive while a file is open: when its last name goes, a
 * pinned inode stays readable and writable (nlink 0, never journaled: after
 * a crash it is gone, as on a local filesystem) until the last unpin.
 * Pins are not persistent.
 */
int stg_pin(struct stg_overlay *ov, uint64_t ino);
void stg_unpin(struct stg_overlay *ov, uint64_t ino);

/* Bytes read (short only at the end of the file) or a negative errno. */
ssize_t stg_read(struct stg_overlay *ov, uint64_t ino, uint64_t off, void *buf,
		 size_t len);
/* Bytes written (all) or a negative errno. */
ssize_t stg_write(struct stg_overlay *ov, uint64_t ino, uint64_t off,
		  const void *buf, size_t len);
int stg_fsync(struct stg_overlay *ov, uint64_t ino, bool datasync);
int stg_sync(struct stg_overlay *ov);

/*
 * The slow half of stg_sync() and stg_fsync(), for a caller that holds a
 * lock around overlay calls and must not hold it while the disc under the
 * store writes back gigabytes: stg_sync_prepare() (with the lock) notes the
 * data files that are dirty now, stg_sync_flush() (without it; the plan is
 * self-contained) makes them durable and frees the plan, and the
 * stg_sync()/stg_fsync() that follows (with the lock) then has little left
 * to wait for.  Only an optimisation: the ordering of data before journal
 * records is still kept by that last call alone, so a failed or skipped
 * flush costs time, never safety.
 */
struct stg_sync_plan;
struct stg_sync_plan *stg_sync_prepare(struct stg_overlay *ov);
void stg_sync_flush(struct stg_sync_plan *p);
/* Rewrite the journal as the current state (see Compaction above); also
 * syncs like stg_sync().  Normally left to stg_sync(). */
int stg_overlay_compact(struct stg_overlay *ov);

/*
 * A new iso_node tree of the merged view for the iso/ writer (the caller
 * frees it with iso_node_free()).  Base files not copied up keep their
 * extents; base inodes keep their serials; new or changed data is an
 * iso_content reading the data file when the writer asks (so the data must
 * not change until the session is written: fs/ holds writes meanwhile);
 * new inodes get serial 0 (the writer assigns one) unless they have several
 * names, which then share a serial above the base's highest.  The
 * contents use the overlay's data directory: free the tree before
 * stg_overlay_close().  Releasing what a burnt session made permanent
 * is stg_commit_release() (staging/commit.h).
 */
int stg_snapshot(struct stg_overlay *ov, struct iso_node **root);

/*
 * Where inode @ino came from, for listing what is staged: *@base is the
 * base node (one of its names for a base hard link) or NULL for a new
 * inode; *@changed says what differs from it: STG_CHANGED_DATA (data
 * copied up or written), STG_CHANGED_ATTR (type, permissions, owner; for
 * files also size and modification time).  Renames are the caller's to
 * see (paths).
 */
/* Bytes of file data a session of the staged changes would write: new
 * files and files whose data changed, each rounded up to 2048-byte
 * blocks.  A walk of every inode: for statfs and a disc-full check, not
 * for every write. */
uint64_t stg_staged_bytes(const struct stg_overlay *ov);

#define STG_CHANGED_DATA 0x1u
#define STG_CHANGED_ATTR 0x2u
int stg_origin(struct stg_overlay *ov, uint64_t ino,
	       const struct iso_node **base, unsigned *changed);

#endif
