/* cli.c - shared plumbing of the command-line programs. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/units.h"
#include "mmc/drive.h"

const char *cli_progname = "cdsession";

int cli_fail(int rc)
{
	fprintf(stderr, "%s: %s\n", cli_progname, cds_errmsg(rc));
	return CLI_EXIT_FAIL;
}

int cli_failf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_usage(stderr, cmd);
	return CLI_EXIT_USAGE;
}

int cli_open_drive(const char *device, unsigned flags, struct mmc_drive **out)
{
	char found[4096];
	int rc;

	if (!device) {
		rc = mmc_drive_default_device(found, sizeof(found));
		if (rc < 0) {
			cli_fail(rc);
			return rc;
		}
		device = found;
	}
	rc = mmc_drive_open(device, flags, out);
	if (rc < 0)
		cli_fail(rc);
	return rc;
}

struct cli_progress {
	const char *what;
	uint64_t total;
	struct timespec start;
	double last_print;
	bool tty;
	char note[32]; /* after the ETA, e.g. "buffer 97%" */
};

static double elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

struct cli_progress *cli_progress_new(const char *what, uint64_t total)
{
	struct cli_progress *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->what = what;
	p->total = total;
	p->tty = isatty(STDERR_FILENO);
	p->last_print = -1;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	return p;
}

void cli_progress_update(struct cli_progress *p, uint64_t done)
{
	char sz[32], tot[32], bar[31];
	double t, rate, frac;
	unsigned filled, i;
	long eta;

	if (!p || !p->tty)
		return;
	t = elapsed(&p->start);
	if (done < p->total && t - p->last_print < 0.2)
		return;
	p->last_print = t;
	frac = p->total ? (double)done / (double)p->total : 1.0;
	if (frac > 1)
		frac = 1;
	rate = t > 0 ? (double)done / t : 0;
	eta = rate > 0 ? (long)((double)(p->total - done) / rate) : 0;
	filled = (unsigned)(frac * 30);
	for (i = 0; i < 30; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[30] = '\0';
	cds_human_size(done, sz, sizeof(sz));
	cds_human_size(p->total, tot, sizeof(tot));
	fprintf(stderr, "\r%s [%s] %3.0f%% %s/%s %.1f MiB/s ETA %ld:%02ld %s",
		p->what, bar, frac * 100, sz, tot, rate / 1048576.0, eta / 60,
		eta % 60, p->note);
	fflush(stderr);
}

void cli_progress_note(struct cli_progress *p, const char *note)
{
	if (p)
		snprintf(p->note, sizeof(p->note), "%s", note);
}

void cli_progress_fraction(double fraction, void *ctx)
{
	struct cli_progress *p = ctx;

	if (p)
		cli_progress_update(p, (uint64_t)(fraction * (double)p->total));
}

void cli_progress_done(struct cli_progress *p)
{
	if (!p)
		return;
	if (p->tty) {
		cli_progress_update(p, p->total);
		fputc('\n', stderr);
	}
	free(p);
}

int cli_parse_options(const char *cmd, int argc, char **argv,
		      const struct option *extra, int (*on_opt)(int, void *),
		      void *ctx, int max_pos)
{
	struct option opts[8];
	int n = 0, c;

	for (; extra && extra[n].name; n++)
		opts[n] = extra[n];
	opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	opts[n] = (struct option){0};
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_usage(stdout, cmd);
			return CLI_EXIT_OK;
		}
		int r = c == '?' || !on_opt ? -1 : on_opt(c, ctx);

		if (r > 0) /* the option's value was bad, already reported */
			return CLI_EXIT_USAGE;
		if (r < 0)
			return cli_usage_error(cmd, "bad option '%s'",
					       argv[optind - 1]);
	}
	if (argc - optind > max_pos)
		return cli_usage_error(cmd, "too many arguments");
	return -1;
}

void cli_print_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\t')
			fputs("\\t", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\r')
			fputs("\\r", f);
		else
			putc(*s, f);
	}
}

int cli_staging_opt(int c, void *ctx)
{
	const char **dir = ctx;

	if (c != 's')
		return -1;
	*dir = optarg;
	return 0;
}
