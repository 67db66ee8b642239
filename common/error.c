/* error.c - the per-thread message behind a negative errno. */
#include "error.h"

#include <stdio.h>
#include <string.h>

#define CDS_ERRMSG_MAX 512
_Static_assert(CDS_ERRMSG_MAX == sizeof(((struct cds_error_state *)0)->msg),
	       "saved message holds a whole message");

static _Thread_local char errmsg[CDS_ERRMSG_MAX];
static _Thread_local int errmsg_err;

static void vrecord(int err, const char *inner, const char *fmt, va_list ap)
{
	char tmp[CDS_ERRMSG_MAX];

	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (inner)
		snprintf(errmsg, sizeof(errmsg), "%s: %s", tmp, inner);
	else
		snprintf(errmsg, sizeof(errmsg), "%s", tmp);
	errmsg_err = err;
}

int cds_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vrecord(err, NULL, fmt, ap);
	va_end(ap);
	return err;
}

int cds_error_wrap(int err, const char *fmt, ...)
{
	char inner[CDS_ERRMSG_MAX];
	va_list ap;

	snprintf(inner, sizeof(inner), "%s", cds_errmsg(err));
	va_start(ap, fmt);
	vrecord(err, inner, fmt, ap);
	va_end(ap);
	return err;
}

const char *cds_errmsg(int err)
{
	if (err != 0 && err == errmsg_err && errmsg[0])
		return errmsg;
	return strerror(err < 0 ? -err : err);
}

void cds_error_save(struct cds_error_state *s)
{
	s->err = errmsg_err;
	snprintf(s->msg, sizeof(s->msg), "%s", errmsg);
}

void cds_error_restore(const struct cds_error_state *s)
{
	errmsg_err = s->err;
	snprintf(errmsg, sizeof(errmsg), "%s", s->msg);
}

void cds_error_clear(void)
{
	errmsg[0] = '\0';
	errmsg_err = 0;
}
