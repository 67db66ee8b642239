/*
 * journal.h - the staging store's write-ahead journal: one append-only file
 * of checksummed metadata records, replayed on open, compacted on demand.
 *
 * Why a journal and not an embedded database: the store needs an ordered
 * log of small metadata changes, made durable in groups, and recovered after
 * kill -9 or a power cut.  A log file does exactly that with one write(2)
 * and one fdatasync(2) per group commit, no dependency, and a recovery rule
 * that fits in one paragraph (below) and is fuzzed.  An embedded database
 * (SQLite in WAL mode, LMDB) costs at least as many syncs per commit, is
 * slower per record (figures below) and is a second format to trust.
 *
 * File format, every integer little-endian:
 *
 *   header   offset  size  field
 *            0       8     magic "CDSJRNL1"
 *            8       4     format version, 1
 *            12      4     L: length of the caller's header, <= 4096
 *            16      L     the caller's header (the store's identity: the
 *                          base session it applies to and so on)
 *            16+L    4     CRC-32C of bytes 0 .. 16+L
 *   records, one after the other up to the end of the file or up to zero
 *   bytes where a record would start:
 *            0       4     n: payload length, <= 16 MiB
 *            4       1     type, 1 .. 255 (0 is never valid: a zero-filled
 *                          tail left by a crash must not parse)
 *            5       8     sequence number: the first record's is >= 1,
 *                          each next one is exactly one more
 *            13      n     payload
 *            13+n    4     CRC-32C of bytes 0 .. 13+n of the record
 *
 * The file usually ends in zero bytes: appends preallocate space (fallocate,
 * 1 MiB at a time) so that a sync overwrites allocated blocks and needs no
 * metadata commit.  Measured on ext4 (virtio disk, shared 2-core VM), 100-byte
 * records: stg_journal_sync() after each one 200-210 us (growing the file
 * instead of preallocating: 230-290 us per fdatasync); SQLite 3.40, WAL,
 * synchronous=FULL, one insert per commit: 320-390 us.  Batched (group
 * commit) an append costs 0.5-0.7 us, a SQLite insert 3.7-4.6 us.  Replay
 * reads 100k records in about 50 ms.
 * A zero tail ends the journal normally: it is not damage.
 *
 * Recovery rule: records are replayed in order up to the first one that is
 * incomplete, too long, of type 0, out of sequence or fails its checksum.
 * That record and everything after it is dropped from the journal: the
 * bytes are first copied to PATH.damaged.TIME (fsynced, for inspection or
 * manual rescue), then the file is truncated there (and fsynced) and
 * stg_journal_recovered() tells what was cut and where it was kept.  A
 * crash can only damage what was written after the last completed
 * stg_journal_sync(), and that is always the tail, so nothing synced is
 * lost.  Damage in the middle (a bad disk sector) loses the records after
 * it; the message says how many, so the user is told instead of the loss
 * going silent.
 *
 * Header rule: a missing or empty file is a new journal (open writes the
 * header).  A file with an incomplete or damaged header is refused with
 * -EUCLEAN and a message: it holds no record we could trust, and the caller
 * decides (cdsession staging discard).  Our own crashes never leave one,
 * because the header is written to PATH.tmp, fsynced and renamed into place.
 *
 * Sequence numbers keep increasing across compactions.  (A compaction that
 * emits no record leaves nothing to carry the number: numbering then starts
 * at 1 again on the next open.)  Open reads the whole file into memory;
 * compaction keeps it small.
 *
 * A journal object is not thread-safe: the store serialises calls.
 */
#ifndef CDS_STAGING_JOURNAL_H
#define CDS_STAGING_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define STG_JOURNAL_MAGIC	  "CDSJRNL1"
#define STG_JOURNAL_VERSION	  1u
#define STG_JOURNAL_HDR_MAX	  4096u
#define STG_JOURNAL_PAYLOAD_MAX	  (16u << 20)
#define STG_JOURNAL_FILE_HDR_SIZE 20u /* magic, version, L, CRC */
#define STG_JOURNAL_REC_OVERHEAD  17u /* n, type, seq, CRC */

struct stg_journal;

/*
 * Called once per record, in order.  @payload is valid only during the call.
 * Return 0 to go on, or a negative errno to stop (the caller's own error).
 */
typedef int (*stg_record_fn)(void *ctx, uint8_t type, uint64_t seq,
			     const void *payload, size_t len);

/*
 * Open the journal at @path, creating it (mode 0600) with the caller's header
 * @hdr (@hdr_len <= STG_JOURNAL_HDR_MAX, may be 0) when it is missing or
 * empty; creation fsyncs the file and its directory.  An existing journal's
 * header must equal @hdr, else -ESTALE ("journal belongs to another base
 * session"); stg_journal_peek_header() reads it without opening.  Then every
 * good record is passed to @replay (may be NULL) and a damaged tail is cut
 * off as described above.  A stale PATH.tmp (an interrupted creation or
 * compaction) is removed.
 *
 * Returns 0 and *@out, or a negative errno with a message: -EUCLEAN for a
 * damaged header, -EPROTONOSUPPORT for another format version, -ESTALE, an
 * error from @replay (the file is then left untouched), -EIO and the like.
 */
int stg_journal_open(const char *path, const void *hdr, size_t hdr_len,
		     stg_record_fn replay, void *ctx, struct stg_journal **out);

/*
 * Copy the stored caller header of the journal at @path into @buf (@cap
 * bytes) and its length into *@len.  Returns 0; -ENOENT when there is no
 * journal (or it is empty); -EUCLEAN when the header is damaged; -ERANGE
 * when @cap is too small (*@len is set).
 */
int stg_journal_peek_header(const char *path, void *buf, size_t cap,
			    size_t *len);

/*
 * Append a record of @type (1..255) with @len bytes of @payload (<= 16 MiB).
 * The record is only buffered (group commit): stg_journal_flush() writes it,
 * stg_journal_sync() makes it durable.  When more than 1 MiB is buffered the
 * buffer is written out here.  *@seq_out (may be NULL) gets its sequence
 * number.  After a write error every call fails with that error (sticky):
 * the file's tail is unknown until it is reopened.
 */
int stg_journal_append(struct stg_journal *j, uint8_t type, const void *payload,
		       size_t len, uint64_t *seq_out);

/* Write the buffered records with one write, without syncing. */
int stg_journal_flush(struct stg_journal *j);

/*
 * Flush and fdatasync: when it returns 0 every record appended so far
 * survives kill -9 and a machine crash.  Costs nothing when nothing changed.
 */
int stg_journal_sync(struct stg_journal *j);

/*
 * Replace the journal with a compact one.  A new journal is written to
 * PATH.tmp with the same header; @emit appends the live state to it with
 * stg_journal_append(@tmp, ...) (sequence numbers go on from @j's, so they
 * keep increasing); it is synced, renamed over PATH and the directory is
 * synced.  @j then appends to the new file.  Crash safety: PATH names the
 * whole old journal until the rename, which atomically makes it name the
 * whole (already fsynced) new one, so a crash at any point leaves one of
 * the two, never a mix; an orphaned PATH.tmp is removed by the next open.
 * If @emit or a write fails before the rename, @j goes on with the old file
 * and the error is returned.
 */
int stg_journal_compact(struct stg_journal *j,
			int (*emit)(void *ctx, struct stg_journal *tmp),
			void *ctx);

/* Flush (without syncing) and close.  NULL is allowed. */
void stg_journal_close(struct stg_journal *j);

/* Records in the journal, written or buffered, since its last compaction. */
uint64_t stg_journal_records(const struct stg_journal *j);
/*
 * Bytes of header and records once the buffered records are written (the
 * file may be longer: preallocated zeros).
 */
uint64_t stg_journal_bytes(const struct stg_journal *j);
/* Sequence number of the last record (0 when there is none yet). */
uint64_t stg_journal_last_seq(const struct stg_journal *j);

/*
 * What open dropped, as a one-line message ("journal: damaged record at
 * offset 1234 (bad checksum): 1 record(s), 56 bytes dropped; kept 812
 * records"), or NULL when the journal was intact.  *@dropped (may be NULL)
 * gets the number of bytes cut off.
 */
const char *stg_journal_recovered(const struct stg_journal *j,
				  uint64_t *dropped);

/*
 * The format on memory buffers: used by open, by the fuzz target and by
 * tools that read a journal they must not modify.
 */

/* Why a parse stopped. */
enum stg_journal_stop {
	STG_STOP_END = 0,  /* at the end of the buffer: the journal is intact */
	STG_STOP_SHORT,	   /* a record runs past the end */
	STG_STOP_LENGTH,   /* payload length over STG_JOURNAL_PAYLOAD_MAX */
	STG_STOP_TYPE,	   /* type 0 */
	STG_STOP_CHECKSUM, /* checksum mismatch */
	STG_STOP_SEQUENCE, /* sequence number 0 or not one more */
	STG_STOP_ZEROS, /* only zero bytes left: preallocated, the normal end */
	STG_STOP_REPLAY, /* the replay callback failed */
};

/* "bad checksum" and so on, for messages. */
const char *stg_journal_stop_str(enum stg_journal_stop stop);

struct stg_journal_parse {
	size_t hdr_off, hdr_len; /* the caller header inside the buffer */
	size_t good_len;   /* bytes up to the end of the last good record */
	size_t data_end;   /* bytes up to the last non-zero one, >= good_len */
	uint64_t records;  /* good records */
	uint64_t last_seq; /* 0 when there are none */
	enum stg_journal_stop stop;
	uint64_t dropped_records; /* the bad one and any after it that parse */
};

/*
 * Check the file header at the start of @buf.  Returns 0 and sets
 * res->hdr_off, hdr_len and good_len (the header's size); -EUCLEAN with a
 * message when the buffer is not a journal header or is cut short (a
 * zero-length buffer included); -EPROTONOSUPPORT for another version.
 */
int stg_journal_parse_header(const uint8_t *buf, size_t len,
			     struct stg_journal_parse *res);

/*
 * Parse a whole journal in @buf: the header, then the records, each passed
 * to @replay (may be NULL).  Returns 0 with *@res describing where and why
 * it stopped (a damaged tail is not an error here), the header error, or
 * @replay's error (res->stop is then STG_STOP_REPLAY).  The caller compares
 * the header itself.
 */
int stg_journal_parse(const uint8_t *buf, size_t len, stg_record_fn replay,
		      void *ctx, struct stg_journal_parse *res);

/* Encoders: write to @out and return the bytes written. */
size_t stg_journal_encode_header(uint8_t *out, const void *hdr, size_t hdr_len);
size_t stg_journal_encode_record(uint8_t *out, uint8_t type, uint64_t seq,
				 const void *payload, size_t len);

/* CRC-32C (Castagnoli), as the format uses it; @crc 0 to start. */
uint32_t stg_crc32c(uint32_t crc, const void *buf, size_t len);

/* Bytes appended and not yet written to the file: stg_journal_append()
 * writes them out by itself past 1 MiB, so a caller that orders other
 * writes before the journal's syncs them before that. */
size_t stg_journal_buffered(const struct stg_journal *j);

#endif
