/*
 * commit.h - the staging store's side of a commit: the intent record that
 * lets a crash anywhere in a burn be recovered, the release of what a burnt
 * session made permanent, and what a store holds relative to a disc.
 *
 * A commit goes: stg_sync() the overlay (the journal then describes exactly
 * the snapshot), stg_commit_intent() (durable: names the base session, the
 * new session's start and its tag, which the writer puts in the new PVD),
 * burn, verify by reading back, stg_overlay_close(), stg_commit_release().
 * Nothing staged is dropped before the release, and the release is only
 * called for a session that is on the disc and verified.
 *
 * After a crash, stg_store_state() with the disc's last session tells which
 * case holds: the tagged session made it to the disc (STG_STATE_BURNT: call
 * stg_commit_release()), it did not (the intent is stale and dropped; the
 * changes are still staged over the disc's last session: STG_STATE_CURRENT,
 * retry), or the disc got a session that is not ours (STG_STATE_STALE: the
 * changes are kept untouched and `cdsession staging list|export|discard`
 * decides).
 *
 * Files: DIR/journal (overlay.h), DIR/data/, DIR/intent (written to
 * DIR/intent.tmp, fsynced, renamed, directory fsynced; CRC-32C checked when
 * read: a damaged intent is reported and treated as absent, never trusted).
 */
#ifndef CDS_STAGING_COMMIT_H
#define CDS_STAGING_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "staging/discid.h"

struct stg_store;

/* Tags: "cds-" and 16 lower-case hex digits of a random 64-bit number. */
#define STG_TAG_MAX 64

struct stg_intent {
	uint8_t base[STG_BASE_ID_SIZE]; /* what the changes are staged over */
	uint32_t start;			/* the new session's first LBA */
	char tag[STG_TAG_MAX + 1];	/* the new session's tag */
	int64_t now; /* the writer's time (its volume descriptor dates), so
			that a cut-off session can be laid out again
			identically; 0 = not recorded (cannot resume) */
};

/* A fresh tag into @tag (STG_TAG_MAX + 1 bytes). */
int stg_commit_new_tag(char *tag);

/* Record @in durably (replacing an earlier intent). */
int stg_commit_intent(struct stg_store *st, const struct stg_intent *in);

/* Read the intent: 0, -ENOENT when there is none, -EUCLEAN (message) when
 * it is damaged. */
int stg_commit_read_intent(struct stg_store *st, struct stg_intent *out);

/* The intent file's bytes: "CDSINT02", the base id, start (u32 LE), the
 * writer's time (i64 LE, not 0), tag length (u32 LE), the tag, CRC-32C (LE)
 * of all before it.  An intent without a time (now == 0) is written as
 * before it was recorded: "CDSINT01" and no time field; both are read. */
#define STG_INTENT_MAX (8 + STG_BASE_ID_SIZE + 8 + 8 + STG_TAG_MAX + 4)
size_t stg_intent_encode(const struct stg_intent *in, uint8_t *out);

/* Decode an intent file's bytes (untrusted): 0 or -EUCLEAN, no message. */
int stg_intent_parse(const uint8_t *buf, size_t len, struct stg_intent *out);

/* Remove the intent (a commit that did not reach the disc). */
int stg_commit_drop_intent(struct stg_store *st);

/*
 * Drop everything staged: the journal, then the data directory (renamed
 * aside as DIR/released.*, one step however many files it holds), then the
 * intent, each step durable, so a crash between steps leaves either the
 * staged changes or an empty store plus leftovers the next open removes.
 * The overlay must be closed.  The data files themselves are deleted by
 * stg_commit_purge().
 */
int stg_commit_release(struct stg_store *st);

/* Delete the data directories earlier releases put aside; stops between
 * directories of 128 files when *@stop becomes true (@stop may be NULL).
 * Safe to run beside an open overlay: it touches nothing else. */
int stg_commit_purge(struct stg_store *st, const volatile bool *stop);

/* `cdsession staging discard`: release, then remove the directory itself
 * (damaged journal tails included).  The store stays locked until
 * stg_store_close(); only stg_store_close() may follow. */
int stg_commit_discard(struct stg_store *st);

enum stg_state {
	STG_STATE_EMPTY,   /* nothing staged */
	STG_STATE_CURRENT, /* staged over the disc's last session */
	STG_STATE_BURNT,   /* an interrupted commit's session is the disc's
			      last one: release */
	STG_STATE_STALE,   /* staged over another session: conflict */
};

struct stg_state_info {
	enum stg_state state;
	uint8_t staged_base[STG_BASE_ID_SIZE]; /* unless EMPTY */
};

/*
 * Compare the store with the disc whose last session has identity
 * @disc_base and tag @disc_tag (NULL when it has none).  A stale intent
 * (its session is not the disc's last and the journal still matches the
 * disc) is dropped here.  -EUCLEAN with a message for a damaged journal
 * header.
 */
int stg_store_state(struct stg_store *st, const uint8_t *disc_base,
		    const char *disc_tag, struct stg_state_info *out);

/* One line for STG_STATE_STALE: what the changes are based on, what the
 * disc has now, and the commands that decide. */
int stg_stale_error(const struct stg_store *st, const uint8_t *staged_base,
		    const uint8_t *disc_base);

#endif
