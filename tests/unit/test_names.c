/* test_names.c - iso/names: ISO 9660 and Joliet identifiers and order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "iso/names.h"
#include "tap.h"

static char iso_buf[64];
static char jol_buf[512];

/* The ISO identifier of @name, terminated, or "ERR<errno>". */
static const char *iso(struct iso_namer *nm, const char *name, bool is_dir)
{
	char out[ISO_NAMES_ISO_MAX + 8];
	int n;

	memset(out, '#', sizeof(out));
	n = iso_namer_iso9660(nm, name, strlen(name), is_dir, out);
	if (n < 0)
		snprintf(iso_buf, sizeof(iso_buf), "ERR%d", n);
	else if (n > ISO_NAMES_ISO_MAX || out[ISO_NAMES_ISO_MAX] != '#')
		snprintf(iso_buf, sizeof(iso_buf), "OVERRUN%d", n);
	else
		snprintf(iso_buf, sizeof(iso_buf), "%.*s", n, out);
	return iso_buf;
}

/* UCS-2 to UTF-8 (no surrogates in UCS-2). */
static void ucs2_to_utf8(const uint16_t *u, int n, char *s, size_t size)
{
	size_t o = 0;

	for (int i = 0; i < n && o + 4 < size; i++) {
		unsigned c = u[i];

		if (c < 0x80) {
			s[o++] = (char)c;
		} else if (c < 0x800) {
			s[o++] = (char)(0xC0 | c >> 6);
			s[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			s[o++] = (char)(0xE0 | c >> 12);
			s[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			s[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	s[o] = '\0';
}

static int jol_len;

/* The Joliet identifier of @name as UTF-8, or "ERR<errno>". */
static const char *jol(struct iso_namer *nm, const char *name, bool is_dir)
{
	uint16_t out[ISO_NAMES_JOLIET_MAX + 2 + 4];
	int n;

	for (size_t i = 0; i < sizeof(out) / 2; i++)
		out[i] = 0xABCD;
	n = iso_namer_joliet(nm, name, strlen(name), is_dir, out);
	jol_len = n;
	if (n < 0)
		snprintf(jol_buf, sizeof(jol_buf), "ERR%d", n);
	else if (n > ISO_NAMES_JOLIET_MAX + 2 ||
		 out[ISO_NAMES_JOLIET_MAX + 2] != 0xABCD)
		snprintf(jol_buf, sizeof(jol_buf), "OVERRUN%d", n);
	else
		ucs2_to_utf8(out, n, jol_buf, sizeof(jol_buf));
	return jol_buf;
}

static bool is_dchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* ECMA-119 7.5/7.6 at level 2, as the writer uses it: a file is
 * NAME.EXT;1 (both separators, d-characters, name or extension not empty),
 * a directory 1-31 d-characters. */
static bool valid_iso_id(const char *id, size_t len, bool is_dir)
{
	size_t i, dot = len, semi = len;

	if (len == 0 || len > ISO_NAMES_ISO_MAX)
		return false;
	if (is_dir) {
		for (i = 0; i < len; i++)
			if (!is_dchar(id[i]))
				return false;
		return true;
	}
	for (i = 0; i < len; i++) {
		if (id[i] == '.' && dot == len && semi == len)
			dot = i;
		else if (id[i] == ';' && dot != len && semi == len)
			semi = i;
		else if (semi == len && !is_dchar(id[i]))
			return false;
	}
	if (dot == len || semi == len || semi - 1 == 0)
		return false;
	return semi + 2 == len && id[semi + 1] == '1';
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append the UTF-8 of @cp to @s. */
static char *put_utf8(char *s, uint32_t cp)
{
	if (cp < 0x80) {
		*s++ = (char)cp;
	} else if (cp < 0x800) {
		*s++ = (char)(0xC0 | cp >> 6);
		*s++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*s++ = (char)(0xE0 | cp >> 12);
		*s++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*s++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*s++ = (char)(0xF0 | cp >> 18);
		*s++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*s++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*s++ = (char)(0x80 | (cp & 0x3F));
	}
	*s = '\0';
	return s;
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len, want_n;
		uint32_t want_cp;
	} t[] = {
	    {"A", 1, 1, 'A'},
	    {"\xC3\xA9", 2, 2, 0xE9},
	    {"\xE2\x82\xAC", 3, 3, 0x20AC},
	    {"\xF0\x9F\x98\x80", 4, 4, 0x1F600},
	    {"\xE2\x82", 2, 1, 0xFFFD},		/* cut short */
	    {"\xF0\x9F\x98\x80", 3, 1, 0xFFFD}, /* len says cut short */
	    {"\x80", 1, 1, 0xFFFD},		/* lone continuation */
	    {"\xC3(", 2, 1, 0xFFFD},		/* no continuation */
	    {"\xFF", 1, 1, 0xFFFD},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* exactly @len bytes on the heap: ASan sees a read past */
		char *p = malloc(t[i].len);
		uint32_t cp = 0;
		size_t n;

		memcpy(p, t[i].s, t[i].len);
		n = iso_names_utf8_next(p, t[i].len, &cp);
		ok(n == t[i].want_n && cp == t[i].want_cp,
		   "utf8_next case %zu: %zu bytes U+%04X (want %zu U+%04X)", i,
		   n, (unsigned)cp, t[i].want_n, (unsigned)t[i].want_cp);
		free(p);
	}
}

static void test_iso_mapping(struct iso_namer *nm)
{
	static const struct {
		const char *in;
		bool dir;
		const char *want;
	} t[] = {
	    {"readme.txt", false, "README.TXT;1"},
	    {"Hello World-2.tar.gz", false, "HELLO_WORLD_2_TAR.GZ;1"},
	    {"a+b=c", false, "A_B_C.;1"}, /* no extension: both separators */
	    {"noext", false, "NOEXT.;1"},
	    {"trailing.", false, "TRAILING.;1"},
	    {".bashrc", false, "_BASHRC.;1"}, /* leading dot: no extension */
	    {"..x", false, "_.X;1"},
	    {".a.b", false, "_A.B;1"},
	    {"\xC3\x84\xC3\x96\xC3\xBC.txt", false, "___.TXT;1"}, /* per cp */
	    {"\xE6\x97\xA5\xE6\x9C\xAC.t\xC3\xA9", false, "__.T_;1"},
	    {"\xF0\x9F\x98\x80", false, "_.;1"}, /* 4 bytes, one '_' */
	    {"x.\xF0\x9F\x98\x80", false, "X._;1"},
	    {"my.dir", true, "MY_DIR"}, /* directories: no dot, no version */
	    {"src", true, "SRC"},
	    {".git", true, "_GIT"},
	    {"v1.2.3", true, "V1_2_3"},
	    {"AZaz09_~", false, "AZAZ09__.;1"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		iso_namer_reset(nm);
		const char *got = iso(nm, t[i].in, t[i].dir);

		is_str(got, t[i].want, "ISO mapping %zu (%s)", i, t[i].want);
		ok(valid_iso_id(got, strlen(got), t[i].dir),
		   "  valid d-characters, separators");
	}
}

static void test_iso_lengths(struct iso_namer *nm)
{
	char name[300], want[64];
	const char *got;

	iso_namer_reset(nm);
	memset(name, 'x', 40);
	strcpy(name + 40, ".txt");
	got = iso(nm, name, false);
	snprintf(want, sizeof(want), "%.25s.TXT;1",
		 "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
	is_str(got, want, "long base cut to 25, extension kept");
	is_int(strlen(got), 31, "file id is 31 bytes with ;1");

	iso_namer_reset(nm);
	is_str(iso(nm, "a.abcdefghijklmnopqrstuvwxyz0123456789", false),
	       "A.ABCDEFGH;1", "too long: extension keeps 8");
	is_str(iso(nm, "b.abcdefghijklmnopqrstuvw", false),
	       "B.ABCDEFGHIJKLMNOPQRSTUVW;1",
	       "a long extension that fits is kept whole");
	memset(name, 'y', 30);
	strcpy(name + 30, ".abcdefghijkl");
	is_str(iso(nm, name, false), "YYYYYYYYYYYYYYYYYYYY.ABCDEFGH;1",
	       "base and extension both cut: 20 + 8");

	memset(name, 'd', 40);
	name[40] = '\0';
	got = iso(nm, name, true);
	is_int(strlen(got), 31, "directory id cut to 31");
	ok(valid_iso_id(got, strlen(got), true), "and valid");

	/* 255 bytes of 3-byte code points: 85 '_' cut to 28 + ".;1" */
	for (int i = 0; i < 85; i++)
		memcpy(name + 3 * i, "\xE2\x82\xAC", 3);
	name[255] = '\0';
	got = iso(nm, name, false);
	is_str(got, "____________________________.;1",
	       "255-byte multibyte name: 28 + \".;1\"");
	ok(valid_iso_id(got, strlen(got), false), "and valid");

	memset(name, 'e', 256);
	is_int(iso_namer_iso9660(nm, name, 256, false, iso_buf), -EINVAL,
	       "256 bytes refused");
	ok(strstr(cds_errmsg(-EINVAL), "256 bytes") != NULL, "with a message");
	is_int(iso_namer_iso9660(nm, name, 0, false, iso_buf), -EINVAL,
	       "empty refused");
}

static void test_iso_collisions(struct iso_namer *nm)
{
	char name[64], want[64];

	iso_namer_reset(nm);
	is_str(iso(nm, "A.TXT", false), "A.TXT;1", "first keeps its name");
	is_str(iso(nm, "a.TXT", false), "A_1.TXT;1", "case twin gets _1");
	is_str(iso(nm, "a.txt", false), "A_2.TXT;1", "next gets _2");
	is_str(iso(nm, "a", false), "A.;1", "no extension: other name");
	is_str(iso(nm, "A", true), "A_1", "directory A collides with A.;1");
	is_str(iso(nm, "A_1", false), "A_1_1.;1",
	       "input equal to a given suffix name is mangled itself");

	iso_namer_reset(nm);
	is_str(iso(nm, "B", false), "B.;1", "B");
	is_str(iso(nm, "B_1", false), "B_1.;1", "B_1 taken by a real name");
	is_str(iso(nm, "B_2", false), "B_2.;1", "B_2 too");
	is_str(iso(nm, "b", false), "B_3.;1", "suffix skips taken names");
	is_str(iso(nm, "b+", false), "B_.;1", "B_");
	is_str(iso(nm, "b-", false), "B__1.;1", "B__1");

	/* a full-length name: the base is cut for the suffix */
	iso_namer_reset(nm);
	memset(name, 'q', 40);
	strcpy(name + 40, ".txt");
	is_str(iso(nm, name, false), "QQQQQQQQQQQQQQQQQQQQQQQQQ.TXT;1",
	       "long name");
	name[39] = 'r';
	is_str(iso(nm, name, false), "QQQQQQQQQQQQQQQQQQQQQQQ_1.TXT;1",
	       "cut further for _1, still 31");
	for (int i = 2; i <= 10; i++) {
		name[39] = (char)('a' + i);
		snprintf(want, sizeof(want), "%.*s_%d.TXT;1", i < 10 ? 23 : 22,
			 "QQQQQQQQQQQQQQQQQQQQQQQ", i);
		if (i == 9 || i == 10)
			is_str(iso(nm, name, false), want, "suffix %d", i);
		else
			iso(nm, name, false);
	}

	/* reset: the same names are free again */
	iso_namer_reset(nm);
	is_str(iso(nm, "a.TXT", false), "A.TXT;1", "after reset: free again");
	is_str(iso(nm, "A", true), "A", "directory A free again");
}

static void test_iso_overflow(struct iso_namer *nm)
{
	static const char *const names[] = {"a b", "a-b", "a+b", "a=b", "a,b",
					    "a!b", "a@b", "a#b", "a$b", "a%b",
					    "a^b", "a&b", "a(b", "a)b"};
	char want[32];
	int i, rc;

	iso_namer_reset(nm);
	iso_namer_set_suffix_max(nm, 3);
	for (i = 0; i < 4; i++) {
		snprintf(want, sizeof(want), i ? "A_B_%d.;1" : "A_B.;1", i);
		is_str(iso(nm, names[i], false), want, "limit 3: name %d", i);
	}
	rc = iso_namer_iso9660(nm, names[4], 3, false, iso_buf);
	is_int(rc, -EOVERFLOW, "no suffix left: -EOVERFLOW");
	ok(strstr(cds_errmsg(rc), "no unique ISO 9660 name") != NULL,
	   "with a message: %s", cds_errmsg(rc));
	is_str(iso(nm, "other", false), "OTHER.;1", "other names still work");

	/* across the 1 -> 2 digit step */
	iso_namer_reset(nm);
	iso_namer_set_suffix_max(nm, 12);
	for (i = 0; i < 13; i++) {
		snprintf(want, sizeof(want), i ? "A_B_%d.;1" : "A_B.;1", i);
		is_str(iso(nm, names[i], false), want, "limit 12: name %d", i);
	}
	is_int(iso_namer_iso9660(nm, names[13], 3, false, iso_buf), -EOVERFLOW,
	       "limit 12: 14th name overflows");

	iso_namer_reset(nm);
	iso_namer_set_suffix_max(nm, 2);
	uint16_t j[ISO_NAMES_JOLIET_MAX + 2];
	is_str(jol(nm, "x.txt", false), "x.txt;1", "joliet x.txt");
	is_str(jol(nm, "X.txt", false), "X~1.txt;1", "joliet X~1.txt");
	is_str(jol(nm, "x.TXT", false), "x~2.TXT;1", "joliet x~2.TXT");
	rc = iso_namer_joliet(nm, "X.TXT", 5, false, j);
	is_int(rc, -EOVERFLOW, "Joliet: -EOVERFLOW");
	ok(strstr(cds_errmsg(rc), "no unique Joliet name") != NULL,
	   "with a message");
	iso_namer_set_suffix_max(nm, 99999999);
}

/* The @i-th case variant of "abcdefghijklmnopq.txt": bit k of @i
 * upper-cases letter k, so up to 131072 distinct names share one ISO and
 * one (case-blind) Joliet name. */
static size_t variant(char *name, int i)
{
	for (int k = 0; k < 17; k++)
		name[k] = (char)((i >> k & 1 ? 'A' : 'a') + k);
	memcpy(name + 17, ".txt", 5);
	return 21;
}

/* Distinct ignoring ASCII case, as the Joliet key is meant to be. */
static char *joliet_folded(const uint16_t *j, int len)
{
	char *s = malloc((size_t)len * 3 + 1), *e = s;

	for (int k = 0; k < len; k++) {
		uint16_t c = j[k];

		e = put_utf8(e, c >= 'a' && c <= 'z' ? c - 32u : c);
	}
	*e = '\0';
	return s;
}

static int count_dups(char **ids, int n)
{
	int dup = 0;

	qsort(ids, (size_t)n, sizeof(*ids), cmp_str);
	for (int i = 1; i < n; i++)
		dup += strcmp(ids[i - 1], ids[i]) == 0;
	return dup;
}

/* @n names mapping to one ISO/Joliet name: distinct, valid, fast. */
static void test_many_colliding(int n)
{
	struct iso_namer *nm, *nm2;
	char **ids = malloc((size_t)n * sizeof(*ids));
	char name[64], out[ISO_NAMES_ISO_MAX];
	int bad = 0, diff = 0, len;
	double t0, t_iso, t_jol;
	uint16_t j[ISO_NAMES_JOLIET_MAX + 2];

	iso_namer_new(&nm);
	iso_namer_new(&nm2);
	t0 = now();
	for (int i = 0; i < n; i++) {
		len = iso_namer_iso9660(nm, name, variant(name, i), false, out);
		if (len < 0 || !valid_iso_id(out, (size_t)len, false))
			bad++, len = len < 0 ? 0 : len;
		ids[i] = strndup(out, (size_t)len);
	}
	t_iso = now() - t0;
	ok(bad == 0, "%d colliding: all valid level-2 ids (%d bad)", n, bad);
	is_str(ids[0], "ABCDEFGHIJKLMNOPQ.TXT;1", "the first keeps the name");
	is_str(ids[n - 1],
	       n == 10000 ? "ABCDEFGHIJKLMNOPQ_9999.TXT;1"
			  : "ABCDEFGHIJKLMNOPQ_99999.TXT;1",
	       "the last gets _%d", n - 1);
	/* the same order again in a fresh namer: the same ids */
	for (int i = 0; i < n; i++) {
		len =
		    iso_namer_iso9660(nm2, name, variant(name, i), false, out);
		if (len < 0 || strlen(ids[i]) != (size_t)len ||
		    memcmp(ids[i], out, (size_t)len) != 0)
			diff++;
	}
	is_int(diff, 0, "%d colliding: deterministic", n);
	is_int(count_dups(ids, n), 0, "%d colliding: all distinct", n);
	for (int i = 0; i < n; i++)
		free(ids[i]);

	t0 = now();
	bad = 0;
	for (int i = 0; i < n; i++) {
		len = iso_namer_joliet(nm, name, variant(name, i), false, j);
		if (len < 0 || len > ISO_NAMES_JOLIET_MAX + 2)
			bad++, len = 0;
		else if (i > 0 && j[17] != '~')
			bad++;
		ids[i] = joliet_folded(j, len);
	}
	t_jol = now() - t0;
	ok(bad == 0, "%d Joliet case variants: all but the first get ~N", n);
	is_int(count_dups(ids, n), 0, "%d Joliet ids distinct ignoring case",
	       n);
	printf("# %d colliding names: ISO %.0f ns/name, Joliet %.0f "
	       "ns/name\n",
	       n, t_iso * 1e9 / n, t_jol * 1e9 / n);
	/* linear: even a sanitizer build does 100k in well under a second */
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	iso_namer_free(nm);
	iso_namer_free(nm2);
}

/*
 * Different long names whose stems agree once the suffix cuts them
 * (case twins of full-length names): with a counter per base this was
 * quadratic (20k pairs: 26 s).
 */
static void test_shared_stems(int n)
{
	struct iso_namer *nm;
	char name[64], out[ISO_NAMES_ISO_MAX], **ids;
	uint16_t j[ISO_NAMES_JOLIET_MAX + 2];
	int len, bad = 0, dup = 0;
	double t0 = now(), t;

	ids = malloc(2 * (size_t)n * sizeof(*ids));
	iso_namer_new(&nm);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			snprintf(name, sizeof(name),
				 pass ? "abcdefghijklmnopqrst%05d.txt"
				      : "ABCDEFGHIJKLMNOPQRST%05d.txt",
				 i);
			len = iso_namer_iso9660(nm, name, strlen(name), false,
						out);
			if (len < 0 || !valid_iso_id(out, (size_t)len, false))
				bad++, len = len < 0 ? 0 : len;
			ids[pass * n + i] = strndup(out, (size_t)len);
		}
	iso_namer_reset(nm);
	for (int i = 0; i < n; i++) {
		/* Joliet: 64-char names, twins differ in case */
		for (int pass = 0; pass < 2; pass++) {
			snprintf(name, sizeof(name),
				 "%s0123456789012345678901234567890%05d.txt",
				 pass ? "abcdefghijklmnopqrstuvwxyz"
				      : "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
				 i);
			len =
			    iso_namer_joliet(nm, name, strlen(name), false, j);
			bad += len < 0 || len > ISO_NAMES_JOLIET_MAX + 2;
		}
	}
	t = now() - t0;
	ok(bad == 0, "%d shared-stem pairs: all named, valid", n);
	dup = count_dups(ids, 2 * n);
	is_int(dup, 0, "%d shared-stem pairs: ISO ids distinct", n);
	printf("# %d shared-stem pairs: %.0f ns/name\n", n,
	       t * 1e9 / (4.0 * n));
	for (int i = 0; i < 2 * n; i++)
		free(ids[i]);
	free(ids);
	iso_namer_free(nm);
}

static void test_distinct_200k(void)
{
	enum { N = 200000 };
	struct iso_namer *nm;
	char name[64], out[ISO_NAMES_ISO_MAX];
	uint16_t j[ISO_NAMES_JOLIET_MAX + 2];
	int bad = 0, mangled = 0, len;
	double t0, t_iso, t_jol;

	iso_namer_new(&nm);
	t0 = now();
	for (int i = 0; i < N; i++) {
		len = snprintf(name, sizeof(name), "photo_%07d.jpeg", i);
		len = iso_namer_iso9660(nm, name, (size_t)len, false, out);
		if (len < 0 || !valid_iso_id(out, (size_t)len, false))
			bad++;
		else
			mangled += memchr(out, '_', (size_t)len) != out + 5;
	}
	t_iso = now() - t0;
	iso_namer_reset(nm);
	t0 = now();
	for (int i = 0; i < N; i++) {
		len = snprintf(name, sizeof(name), "photo_%07d.jpeg", i);
		len = iso_namer_joliet(nm, name, (size_t)len, false, j);
		bad += len != 20;
	}
	t_jol = now() - t0;
	ok(bad == 0 && mangled == 0, "200k distinct names: none mangled");
	printf("# 200000 distinct names: ISO %.0f ns/name, Joliet %.0f "
	       "ns/name\n",
	       t_iso * 1e9 / N, t_jol * 1e9 / N);
	/* a small directory after the big one: reset is O(1), state clean */
	iso_namer_reset(nm);
	is_str(iso(nm, "photo_0000001.jpeg", false), "PHOTO_0000001.JPEG;1",
	       "after a 200k directory, reset gives a clean namer");
	iso_namer_free(nm);
}

static void test_joliet(struct iso_namer *nm)
{
	static const struct {
		const char *in;
		bool dir;
		const char *want;
	} t[] = {
	    {"Hello World.txt", false, "Hello World.txt;1"},
	    {"a*b:c?d\\e;f.txt", false, "a_b_c_d_e_f.txt;1"},
	    {"ctl\x01\x1f.x", false, "ctl__.x;1"},
	    {"\xE6\x97\xA5\xE6\x9C\xAC.txt", false,
	     "\xE6\x97\xA5\xE6\x9C\xAC.txt;1"},
	    {"smile\xF0\x9F\x98\x80.png", false, "smile_.png;1"},
	    {"dir.with.dots", true, "dir.with.dots"},
	    {".hidden", false, ".hidden;1"},
	};
	char name[300], want[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		iso_namer_reset(nm);
		is_str(jol(nm, t[i].in, t[i].dir), t[i].want,
		       "Joliet mapping %zu (%s)", i, t[i].want);
	}
	iso_namer_reset(nm);
	jol(nm, "dir", true);
	is_int(jol_len, 3, "Joliet directory: no ;1");
	jol(nm, "file", false);
	is_int(jol_len, 6, "Joliet file: 4 + ;1");

	/* 100 characters: cut to 64 keeping ".txt" */
	iso_namer_reset(nm);
	memset(name, 'L', 96);
	strcpy(name + 96, ".txt");
	memset(want, 'L', 60);
	strcpy(want + 60, ".txt;1");
	is_str(jol(nm, name, false), want, "cut to 64 keeping .txt");
	is_int(jol_len, 66, "64 + ;1");
	memset(want, 'L', 58);
	strcpy(want + 58, "~1.txt;1");
	name[0] = want[0] = 'l';
	is_str(jol(nm, name, false), want, "case twin: ~1, still 64");
	/* a 16-character extension is kept, a 17-character one is not */
	memset(name, 'm', 80);
	strcpy(name + 80, ".abcdefghijklmnop");
	jol(nm, name, false);
	ok(jol_len == 66 && strstr(jol_buf, ".abcdefghijklmnop;1"),
	   "16-char extension kept");
	memset(name, 'n', 80);
	strcpy(name + 80, ".abcdefghijklmnopq");
	memset(want, 'n', 64);
	strcpy(want + 64, ";1");
	is_str(jol(nm, name, false), want, "17-char extension: plain cut");
	/* 255 bytes of 4-byte code points: 63 '_' + ... */
	iso_namer_reset(nm);
	for (int i = 0; i < 63; i++)
		memcpy(name + 4 * i, "\xF0\x9F\x98\x80", 4);
	strcpy(name + 252, "abc");
	jol(nm, name, false);
	is_int(jol_len, 66 - 2 + 2, "non-BMP name: 63 '_' + 'a', ;1");
	ok(jol_buf[0] == '_' && jol_buf[62] == '_' && jol_buf[63] == 'a',
	   "code points above U+FFFF become one '_' each");

	/* case-insensitive uniqueness */
	iso_namer_reset(nm);
	is_str(jol(nm, "A.txt", false), "A.txt;1", "A.txt");
	is_str(jol(nm, "a.TXT", false), "a~1.TXT;1", "a.TXT collides: ~1");
	is_str(jol(nm, "a.txt", false), "a~2.txt;1", "a.txt: ~2");
	is_str(jol(nm, "A~1.TXT", false), "A~1~1.TXT;1",
	       "input equal to a given ~ name, other case");
	is_str(jol(nm, "a", true), "a", "dir a: other name");
	is_str(jol(nm, "A", false), "A~1;1", "file A vs dir a: ~1");
	is_str(jol(nm, "\xC3\xA9t\xC3\xA9", false), "\xC3\xA9t\xC3\xA9;1",
	       "Latin-1");
	is_str(jol(nm, "\xC3\x89T\xC3\x89", false), "\xC3\x89T\xC3\x89~1;1",
	       "Latin-1 upper case collides");
	is_str(jol(nm, "\xCE\xB1", false), "\xCE\xB1;1", "Greek alpha");
	is_str(jol(nm, "\xCE\x91", false), "\xCE\x91~1;1",
	       "Greek capital alpha collides");
	is_str(jol(nm, "\xD0\xB4", false), "\xD0\xB4;1", "Cyrillic de");
	is_str(jol(nm, "\xD0\x94", false), "\xD0\x94~1;1",
	       "Cyrillic capital de collides");
	is_str(jol(nm, "\xC3\x9F", false), "\xC3\x9F;1",
	       "sharp s is its own name");
	is_str(jol(nm, "\xC4\x81", false), "\xC4\x81;1", "a macron");
	is_str(jol(nm, "\xC4\x80", false), "\xC4\x80~1;1",
	       "A macron collides (Latin Extended-A, even/odd pairs)");
	is_str(jol(nm, "\xC5\xBA", false), "\xC5\xBA;1", "z acute");
	is_str(jol(nm, "\xC5\xB9", false), "\xC5\xB9~1;1",
	       "Z acute collides (odd/even pairs)");
	is_str(jol(nm, "\xC3\xBF", false), "\xC3\xBF;1", "y diaeresis");
	is_str(jol(nm, "\xC5\xB8", false), "\xC5\xB8~1;1",
	       "Y diaeresis (U+0178) collides");
	is_str(jol(nm, "z.", false), "z.;1", "z.");
	is_str(jol(nm, "Z", false), "Z~1;1",
	       "Z vs z.: readers drop trailing dots");
	is_str(jol(nm, "z..", true), "z..~1",
	       "dir z.. too (no extension on directories)");

	/* determinism: a second namer, same order, same names */
	{
		static const char *const in[] = {"x.c",	  "X.c", "x.C", "X.C",
						 "x~1.c", "y",	 "Y"};
		char first[8][128];
		struct iso_namer *nm2;

		iso_namer_reset(nm);
		for (int i = 0; i < 7; i++)
			snprintf(first[i], sizeof(first[i]), "%s",
				 jol(nm, in[i], false));
		iso_namer_new(&nm2);
		int same = 0;
		for (int i = 0; i < 7; i++)
			same += strcmp(first[i], jol(nm2, in[i], false)) == 0;
		is_int(same, 7, "Joliet: same input order, same ids");
		is_str(first[4], "x~1~1.c;1", "x~1.c after X~1.c took it");
		iso_namer_free(nm2);
	}
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static int cmp_iso_sort(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	return iso_names_cmp_iso9660(x, strlen(x), y, strlen(y));
}

static void test_cmp(void)
{
	/* ECMA-119 9.3 order, written by hand */
	static const char *const order[] = {
	    "\x00",   "\x01",	"A.;1",	  "A.B;1",  "A0.;1",
	    "A9.;1",  "AA.;2",	"AA.;1",  "AA.A;1", "AA.AB;1",
	    "AA.B;1", "AA.Z;1", "AA._;1", "AAA.;1", "AB",
	    "AB_.;1", "A_.;1",	"B",	  "Z.;1",   "_.;1",
	};
	enum { N = sizeof(order) / sizeof(order[0]) };
	const char *sorted[N];
	int wrong = 0, anti = 0;

	for (int i = 0; i < N; i++)
		for (int k = 0; k < N; k++) {
			int c = iso_names_cmp_iso9660(
			    order[i], i < 2 ? 1 : strlen(order[i]), order[k],
			    k < 2 ? 1 : strlen(order[k]));
			int r = iso_names_cmp_iso9660(
			    order[k], k < 2 ? 1 : strlen(order[k]), order[i],
			    i < 2 ? 1 : strlen(order[i]));

			wrong += sign(c) != sign(i - k);
			anti += sign(c) != -sign(r);
		}
	is_int(wrong, 0, "ECMA-119 9.3: %d ids in the order written", N);
	is_int(anti, 0, "comparator antisymmetric");
	ok(iso_names_cmp_iso9660("A.;1", 4, "AB.;1", 5) < 0,
	   "\"A.;1\" < \"AB.;1\": space padding");
	ok(iso_names_cmp_iso9660("AB.;1", 5, "A.;1", 4) > 0,
	   "\"AB.;1\" > \"A.;1\"");
	ok(iso_names_cmp_iso9660("AA.;2", 5, "AA.;1", 5) < 0,
	   "higher version first");
	ok(iso_names_cmp_iso9660("X.TXT;1", 7, "X.TXT;1", 7) == 0, "equal");
	ok(iso_names_cmp_iso9660("A.Z;1", 5, "AB.A;1", 6) < 0,
	   "name part decides before the extension");
	/* sorting a shuffled list gives the written order */
	for (int i = 2; i < N; i++)
		sorted[i - 2] = order[(i * 7) % (N - 2) + 2];
	qsort(sorted, N - 2, sizeof(sorted[0]), cmp_iso_sort);
	wrong = 0;
	for (int i = 2; i < N; i++)
		wrong += strcmp(sorted[i - 2], order[i]) != 0;
	is_int(wrong, 0, "qsort with the comparator gives 9.3 order");

	/* Joliet: code units, a prefix first */
	{
		const uint16_t ab[] = {'a', 'b'}, abc[] = {'a', 'b', 'c'},
			       aB[] = {'a', 'B'}, ae[] = {'a', 0xE9},
			       az[] = {'a', 'z'};

		ok(iso_names_cmp_joliet(ab, 2, abc, 3) < 0, "prefix first");
		ok(iso_names_cmp_joliet(abc, 3, ab, 2) > 0, "longer after");
		ok(iso_names_cmp_joliet(aB, 2, ab, 2) < 0, "'B' < 'b'");
		ok(iso_names_cmp_joliet(az, 2, ae, 2) < 0, "'z' < U+00E9");
		ok(iso_names_cmp_joliet(ab, 2, ab, 2) == 0, "equal");
		ok(iso_names_cmp_joliet(ab, 0, ab, 0) == 0, "empty equal");
	}
	{
		/* ";1" must not take part: ';' is 0x3B, above ' ' and digits */
		const uint16_t f[] = {'f', ';', '1'},
			       f1[] = {'f', '1', ';', '1'},
			       fsp[] = {'f', ' ', 'x', ';', '1'},
			       fdir[] = {'f', '0'}, f2[] = {'f', ';', '2'};

		ok(iso_names_cmp_joliet(f, 3, f1, 4) < 0, "\"f;1\" < \"f1;1\"");
		ok(iso_names_cmp_joliet(f1, 4, f, 3) > 0, "\"f1;1\" > \"f;1\"");
		ok(iso_names_cmp_joliet(f, 3, fsp, 5) < 0,
		   "\"f;1\" < \"f x;1\"");
		ok(iso_names_cmp_joliet(f, 3, fdir, 2) < 0,
		   "file \"f;1\" < directory \"f0\"");
		ok(iso_names_cmp_joliet(f2, 3, f, 3) < 0,
		   "same name: higher version first");
	}
}

/* Strip ";1" and trailing dots (Linux' isofs: one ISO, all Joliet), fold
 * ASCII and Latin-1 case: what must be unique within a directory. */
static char *unique_form(const char *id, bool fold_case)
{
	char *s = strdup(id), *e = s + strlen(s);

	if (e - s > 2 && e[-2] == ';' && e[-1] == '1')
		*(e -= 2) = '\0';
	while (e - s > 1 && e[-1] == '.')
		*--e = '\0';
	for (char *p = s; fold_case && *p; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
		/* U+00E9 -> U+00C9: C3 A9 -> C3 89 */
		if ((unsigned char)p[0] == 0xC3 && (unsigned char)p[1] == 0xA9)
			p[1] = (char)0x89;
	}
	return s;
}

/*
 * Random names from a small alphabet (so they collide a lot, also after
 * cutting), files and directories mixed, several directories: every id
 * valid and unique in its directory, and the same again from a new namer.
 */
static void test_random(void)
{
	static const char *const alpha[] = {"a",
					    "A",
					    "b",
					    ".",
					    "_",
					    "~",
					    "1",
					    "\xC3\xA9",
					    "\xC3\x89",
					    " ",
					    "\xF0\x9F\x98\x80"};
	enum { DIRS = 20, PER = 2000 };
	struct iso_namer *nm, *nm2;
	uint32_t seed = 12345;
	int bad = 0, dup_iso = 0, dup_jol = 0, nondet = 0;
	char **iu = malloc(PER * sizeof(*iu)), **ju = malloc(PER * sizeof(*ju));

	iso_namer_new(&nm);
	iso_namer_new(&nm2);
	for (int dir = 0; dir < DIRS; dir++) {
		int n = 0;

		/* nm is reused, nm2 new: reset must leave nothing behind */
		iso_namer_reset(nm);
		iso_namer_free(nm2);
		iso_namer_new(&nm2);
		for (int i = 0; i < PER; i++) {
			char name[256] = "", a[64], b[64], c[512];
			size_t len = 0;
			int parts, is_dir;

			seed = seed * 1103515245u + 12345u;
			parts = 1 + (int)(seed >> 16) % (dir % 2 ? 60 : 12);
			is_dir = (seed >> 8) % 5 == 0;
			for (int k = 0; k < parts && len < 240; k++) {
				seed = seed * 1103515245u + 12345u;
				strcat(name, alpha[(seed >> 16) % 11]);
				len = strlen(name);
			}
			if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
				continue;
			snprintf(a, sizeof(a), "%s", iso(nm, name, is_dir));
			bad += !valid_iso_id(a, strlen(a), is_dir);
			snprintf(b, sizeof(b), "%s", iso(nm2, name, is_dir));
			nondet += strcmp(a, b) != 0;
			iu[n] = unique_form(a, false);
			jol(nm, name, is_dir);
			bad += jol_len < 1 || jol_len > ISO_NAMES_JOLIET_MAX +
							    (is_dir ? 0 : 2);
			ju[n] = unique_form(jol_buf, true);
			snprintf(c, sizeof(c), "%s", jol_buf);
			jol(nm2, name, is_dir);
			nondet += strcmp(jol_buf, c) != 0;
			n++;
		}
		dup_iso += count_dups(iu, n);
		dup_jol += count_dups(ju, n);
		for (int i = 0; i < n; i++) {
			free(iu[i]);
			free(ju[i]);
		}
	}
	is_int(bad, 0, "random names: all ids valid");
	is_int(dup_iso, 0, "random names: ISO ids unique per directory");
	is_int(dup_jol, 0,
	       "random names: Joliet ids unique ignoring case and ;1");
	is_int(nondet, 0,
	       "random names: deterministic, a reset namer equals a new one");
	free(iu);
	free(ju);
	iso_namer_free(nm);
	iso_namer_free(nm2);
}

int main(void)
{
	struct iso_namer *nm;

	if (iso_namer_new(&nm) != 0) {
		ok(0, "namer");
		return tap_done();
	}
	test_utf8();
	test_iso_mapping(nm);
	test_iso_lengths(nm);
	test_iso_collisions(nm);
	test_iso_overflow(nm);
	test_joliet(nm);
	test_cmp();
	test_random();
	test_many_colliding(10000);
	test_many_colliding(100000);
	test_shared_stems(20000);
	test_distinct_200k();
	iso_namer_free(nm);
	return tap_done();
}
