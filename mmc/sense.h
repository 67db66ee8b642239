/*
 * sense.h - SCSI sense data: decoding, and the one table that says what a
 * key/ASC/ASCQ means to a user and which errno it becomes.
 *
 * Sense bytes come from the drive and are untrusted: the parser checks
 * every field against the bytes received and the sense's own additional
 * length.
 */
#ifndef MMC_SENSE_H
#define MMC_SENSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"

/*
 * Decode @len raw sense bytes, fixed (70h/71h) or descriptor (72h/73h)
 * format (SPC-3 4.5), into @out, keeping a copy of the raw bytes.  With
 * fewer bytes than key/ASC/ASCQ need, or an unknown response code,
 * out->valid is false and -EPROTO is returned (with a message).
 */
int mmc_sense_parse(const uint8_t *raw, size_t len, struct mmc_sense *out);

/* "NOT READY", "ILLEGAL REQUEST", ... */
const char *mmc_sense_key_name(uint8_t key);

/*
 * What the sense means, written for a user ("medium not present",
 * "write error at LBA 1234"), into @buf.  Returns @buf.
 */
const char *mmc_sense_message(const struct mmc_sense *s, char *buf, size_t len);

/* The negative errno the sense maps to: -ENOMEDIUM, -EROFS, -ENOSPC,
 * -EIO, -EINVAL, -EBUSY (operation in progress), -EAGAIN (retry), ...;
 * 0 for NO SENSE and RECOVERED ERROR without a cause. */
int mmc_sense_errno(const struct mmc_sense *s);

/* Sense says a long operation is still running (02/04/04,07,08). */
bool mmc_sense_in_progress(const struct mmc_sense *s);

/* "OPNAME: message (sense K/AA/QQ)" into @buf; returns @buf. */
const char *mmc_sense_format(const char *opname, const struct mmc_sense *s,
			     char *buf, size_t len);

/* Record the formatted sense with cds_error() and return its errno
 * (-EIO where the table says 0: the command did fail). */
int mmc_sense_error(const char *opname, const struct mmc_sense *s);

#endif
