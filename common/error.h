/*
 * error.h - error reporting for cdsession.
 *
 * Every function returns 0 (or a count) on success and a negative errno on
 * failure.  Where the errno alone would not tell the user what went wrong,
 * the failing function also records a one-line message with cds_error();
 * the program that finally reports the failure prints cds_errmsg(rc).
 * The message is per thread, so concurrent commands do not mix them up.
 */
#ifndef CDS_ERROR_H
#define CDS_ERROR_H

#include <stdarg.h>

/*
 * Record a message for the negative errno @err and return @err, so that a
 * failure reads:  return cds_error(-ENOSPC, "image needs %u blocks", n);
 * A message recorded deeper down is replaced: the outermost context wins
 * only if it calls cds_error() again (use cds_error_wrap() to keep both).
 */
int cds_error(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Prefix the message recorded for @err with more context ("burn: ...").
 * When no message is recorded for @err, strerror(-err) is prefixed instead.
 * Returns @err.
 */
int cds_error_wrap(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The message for @err: the recorded one if it was recorded for this very
 * errno, else strerror(-err).  Valid until the next cds_error*() call in
 * this thread.
 */
const char *cds_errmsg(int err);

/*
 * Cleanup that may fail itself (unlocking a tray after a failed write)
 * must not replace the message of the failure that caused it: save the
 * message before and restore it after.
 */
struct cds_error_state {
	int err;
	char msg[512];
};
void cds_error_save(struct cds_error_state *s);
void cds_error_restore(const struct cds_error_state *s);

/* Forget the recorded message of this thread. */
void cds_error_clear(void);

#endif
