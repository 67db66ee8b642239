/*
 * tap.h - a tiny TAP producer for the C unit tests.
 *
 * Each test binary prints "ok N - name" / "not ok N - name" lines and a
 * plan at the end; tests/lib/run-checks counts them.  A failed check
 * prints where it failed and the values it compared.
 */
#ifndef CDS_TAP_H
#define CDS_TAP_H

#include <stdint.h>

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int tap_is_int(long long got, long long want, const char *file, int line,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int tap_is_str(const char *got, const char *want, const char *file, int line,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int tap_is_mem(const void *got, const void *want, size_t len, const char *file,
	       int line, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Prints the plan; returns the exit status (0 if all passed). */
int tap_done(void);
/* A scratch directory made for this test binary and removed at tap_done(). */
const char *tap_tmpdir(void);

/* A small repeatable random source for the model tests (xorshift64; the
 * seed must not be 0): a number below @n, 0 when @n is 0. */
struct tap_rng {
	uint64_t s;
};

static inline uint32_t tap_rnd(struct tap_rng *r, uint32_t n)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return n ? (uint32_t)(r->s % n) : 0;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                                 \
	tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__,    \
		   __VA_ARGS__)
#define is_str(got, want, ...)                                                 \
	tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_mem(got, want, len, ...)                                            \
	tap_is_mem((got), (want), (len), __FILE__, __LINE__, __VA_ARGS__)

#endif
