/*
 * log.h - logging with a pluggable sink.
 *
 * Library code logs what a user or an operator may need later (a retried
 * command, a failed burn); it never prints to stdout.  Programs choose the
 * sink: stderr (the default) or syslog for the daemon.
 */
#ifndef CDS_LOG_H
#define CDS_LOG_H

enum cds_log_level {
	CDS_LOG_ERR,
	CDS_LOG_WARN,
	CDS_LOG_INFO,
	CDS_LOG_DEBUG,
};

typedef void (*cds_log_sink)(enum cds_log_level level, const char *msg,
			     void *ctx);

void cds_log(enum cds_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Messages above @level are dropped.  Default: CDS_LOG_WARN. */
void cds_log_set_level(enum cds_log_level level);
enum cds_log_level cds_log_get_level(void);

/* Replace the sink; NULL restores the stderr sink.  Not thread-safe:
 * call it at start-up. */
void cds_log_set_sink(cds_log_sink sink, void *ctx);

/* A sink that sends messages to syslog(3) (openlog is the caller's). */
void cds_log_syslog_sink(enum cds_log_level level, const char *msg, void *ctx);

/* The program name used by the stderr sink ("cdsession"). */
void cds_log_set_progname(const char *name);

#endif
