/* tap.c - TAP output and a scratch directory for unit tests. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static int count, failed;
static char tmpdir[64];

static void vreport(int cond, const char *file, int line, const char *fmt,
		    va_list ap)
{
	count++;
	printf("%sok %d - ", cond ? "" : "not ", count);
	vprintf(fmt, ap);
	printf("\n");
	if (!cond) {
		failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
}

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cond, file, line, fmt, ap);
	va_end(ap);
	return cond;
}

int tap_is_int(long long got, long long want, const char *file, int line,
	       const char *fmt, ...)
{
	va_list ap;
	int cond = got == want;

	va_start(ap, fmt);
	vreport(cond, file, line, fmt, ap);
	va_end(ap);
	if (!cond)
		printf("#   got %lld (0x%llx), want %lld (0x%llx)\n", got,
		       (unsigned long long)got, want, (unsigned long long)want);
	return cond;
}

int tap_is_str(const char *got, const char *want, const char *file, int line,
	       const char *fmt, ...)
{
	va_list ap;
	int cond = got && want && strcmp(got, want) == 0;

	va_start(ap, fmt);
	vreport(cond, file, line, fmt, ap);
	va_end(ap);
	if (!cond)
		printf("#   got \"%s\", want \"%s\"\n", got ? got : "(null)",
		       want ? want : "(null)");
	return cond;
}

int tap_is_mem(const void *got, const void *want, size_t len, const char *file,
	       int line, const char *fmt, ...)
{
	va_list ap;
	int cond = memcmp(got, want, len) == 0;

	va_start(ap, fmt);
	vreport(cond, file, line, fmt, ap);
	va_end(ap);
	if (!cond) {
		const unsigned char *g = got, *w = want;
		for (size_t i = 0; i < len; i++) {
			if (g[i] != w[i]) {
				printf("#   first difference at byte %zu: got "
				       "0x%02x, want 0x%02x\n",
				       i, g[i], w[i]);
				break;
			}
		}
	}
	return cond;
}

const char *tap_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/cds-unit.XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return tmpdir;
}

int tap_done(void)
{
	printf("1..%d\n", count);
	if (tmpdir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return failed ? 1 : 0;
}
