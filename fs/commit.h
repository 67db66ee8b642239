/*
 * commit.h - burning what is staged as a new session, and recovering from
 * a commit that a crash interrupted.
 *
 * fs_commit(): snapshot the merged tree (stg_snapshot), lay out the
 * continuation session with the iso/ writer at the next writable address
 * (new data only; files of the disc keep their extents), check it fits,
 * record the intent durably (staging/commit.h: base, start, a fresh tag
 * that the writer puts in the PVD), burn it TAO (multisession unless
 * closing) from a read-ahead buffer that keeps the drive fed, verify by
 * reading it back against CRC-32Cs computed while streaming, release the
 * staged data and re-read the medium: the new session is the base.
 * Nothing staged: nothing is burnt.  Any failure before the release
 * leaves every staged change in place (retried by the next commit), with
 * a one-line message naming the cause.
 *
 * fs_recover(): run at mount before the overlay is opened: a session that
 * reached the disc (its tag is the intent's) has its staged copy released;
 * an intent whose session never reached the disc is dropped (the changes
 * stay staged); a disc left with an open (incomplete) session is closed
 * where the medium allows, so that a new session can follow.  A track cut
 * off mid-burn that the drive can continue (READ TRACK INFORMATION
 * Damage=1 NWA_V=1) is left with its intent for fs_resume().
 *
 * fs_resume(): run at mount once the overlay is open, before anything can
 * change it: the session the cut-off track began is a pure function of
 * (the staged tree, the base session, start, tag, volume id, the writer's
 * time), all fixed by the intent and the store, so it is laid out again,
 * the blocks already on the disc are read back and compared, and if all
 * are equal the track is continued from its NWA, the session closed,
 * verified, the staged copy released and the overlay rebased, as
 * fs_commit() does.  A difference (the staged tree changed since) leaves
 * the disc untouched.
 */
#ifndef CDS_FS_COMMIT_H
#define CDS_FS_COMMIT_H

#include <stdbool.h>
#include <stdint.h>

struct fs_medium;
struct iso_node;
struct stg_overlay;
struct stg_store;

enum fs_commit_phase {
	FS_COMMIT_LAYOUT,
	FS_COMMIT_BURN,
	FS_COMMIT_VERIFY,
	FS_COMMIT_DONE,
};

struct fs_commit_progress {
	enum fs_commit_phase phase;
	uint64_t done, total; /* bytes of this phase */
	double bytes_per_s;   /* recent rate, 0 when unknown */
	unsigned buffer_pct;  /* read-ahead buffer fill during the burn */
};

struct fs_commit_opts {
	bool close_disc;       /* finalize: this session is the last */
	bool dummy;	       /* test write: nothing reaches the disc, the
				  staged changes stay */
	bool no_verify;	       /* skip the read-back (verify=off) */
	unsigned speed;	       /* 0 = the drive's maximum */
	const char *volume_id; /* NULL: the base session's, else "CDROM" */
	void (*progress)(const struct fs_commit_progress *p, void *ctx);
	void *ctx;
};

struct fs_commit_result {
	bool burnt;	     /* false: nothing was staged (or dummy) */
	uint32_t start;	     /* the new session's first block */
	uint32_t nsectors;   /* its length */
	uint64_t data_bytes; /* new file data written */
	char tag[65];	     /* its tag */
};

/*
 * Commit what *@ov holds over @m's last session (*@base is that session's
 * tree, which the overlay borrows).  @m must be writable.  On success
 * with a burn, the overlay is closed and released, *@ov and *@base are
 * replaced by a fresh overlay over the new session and its tree (so the
 * caller goes on serving), and @m describes the disc with the new session.
 * On failure *@ov and *@base are unchanged and usable.
 */
int fs_commit(struct fs_medium *m, struct stg_store *st,
	      struct stg_overlay **ov, struct iso_node **base,
	      const struct fs_commit_opts *o, struct fs_commit_result *res);

/*
 * Finish the session an interrupted burn cut off (see above), with @o's
 * volume id, speed and close_disc (progress too).  0 with res->burnt when
 * it was finished (*@ov and *@base replaced as by fs_commit()), 0 without
 * when the disc has no cut-off track; a cut-off track that cannot be
 * finished: an error with a message naming the cause, the staged changes
 * and the intent kept (-ESTALE when the disc differs from the layout).
 */
int fs_resume(struct fs_medium *m, struct stg_store *st,
	      struct stg_overlay **ov, struct iso_node **base,
	      const struct fs_commit_opts *o, struct fs_commit_result *res);

/*
 * Bring the store and the disc in line after a crash (see above).  Sets
 * *@released when a burnt session's staged copy was released.  A store
 * staged over another session: -ESTALE with stg_stale_error()'s message.
 */
int fs_recover(struct fs_medium *m, struct stg_store *st, bool *released);

/*
 * Close (finalize) the disc in @d, as cdrecord -fix: an open session is
 * closed; an appendable disc whose sessions are all closed gets a final
 * session repeating the last tree (iso/closing.h), since a CD-R cannot
 * close an empty session.  *@already when it was closed before.  A blank
 * disc: -EINVAL with a message.
 */
struct mmc_drive;
int fs_close_disc(struct mmc_drive *d, bool *already);

#endif
