/* log.c - level filter and sinks. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static enum cds_log_level max_level = CDS_LOG_WARN;
static cds_log_sink log_sink;
static void *log_ctx;
static const char *progname = "cdsession";

static void stderr_sink(enum cds_log_level level, const char *msg, void *ctx)
{
	static const char *const names[] = {"error", "warning", "info",
					    "debug"};

	(void)ctx;
	fprintf(stderr, "%s: %s: %s\n", progname, names[level], msg);
}

void cds_log(enum cds_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(log_sink ? log_sink : stderr_sink)(level, msg, log_ctx);
}

void cds_log_set_level(enum cds_log_level level)
{
	max_level = level;
}

enum cds_log_level cds_log_get_level(void)
{
	return max_level;
}

void cds_log_set_sink(cds_log_sink sink, void *ctx)
{
	log_sink = sink;
	log_ctx = ctx;
}

void cds_log_syslog_sink(enum cds_log_level level, const char *msg, void *ctx)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

	(void)ctx;
	syslog(prio[level], "%s", msg);
}

void cds_log_set_progname(const char *name)
{
	progname = name;
}
