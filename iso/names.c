/* names.c - ISO 9660 and Joliet identifiers: mapping, mangling, order. */
#include "names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define NAME_MAX_BYTES	  255 /* iso_name_check(); sizes the buffers below */
#define SUFFIX_DIGITS	  8   /* "_99999999": an ISO file base keeps >= 11 */
#define SUFFIX_MAX	  99999999u
#define ISO_FILE_BODY_MAX (ISO_NAMES_ISO_MAX - 2) /* BASE.EXT without ";1" */
#define ISO_EXT_KEEP	  8
#define JOLIET_EXT_KEEP	  16

/*
 * The hash table holds two kinds of keys:
 *  - a used identifier of the current directory: 'I' + ISO id without
 *    ".;1"/";1", or 'J' + Joliet id case-folded, as UCS-2BE;
 *  - a suffix counter: 'i'/'j', digit count D, stem length, stem, extension.
 *    Every identifier with a D-digit suffix built from that stem and
 *    extension below ->next is known to be taken, so colliding names resume
 *    there.  Keying the counter on the (cut) stem rather than on the full
 *    base matters: many different long bases share one stem once the suffix
 *    cuts them, and a per-base counter would rescan the same taken
 *    identifiers for every base (quadratic; 20k such names took 26 s).
 * Slots of an older directory (gen != nm->gen) count as free, so reset is
 * O(1).
 */
struct slot {
	uint32_t gen;
	uint32_t hash;
	uint32_t off; /* key bytes in nm->keys */
	uint32_t len;
	uint32_t next; /* counter: next suffix; name: first digit count left */
};

struct iso_namer {
	struct slot *slots;
	uint32_t cap, count, gen;
	uint32_t suffix_max;
	uint8_t *keys;
	size_t keys_len, keys_cap;
};

/* Inserts one call may make: the name, a counter per digit count, and the
 * suffixed name.  Reserved up front so that slot pointers stay valid. */
#define INSERTS_PER_CALL (2 + SUFFIX_DIGITS)

int iso_namer_new(struct iso_namer **out)
{
	struct iso_namer *nm = calloc(1, sizeof(*nm));

	if (!nm)
		return -ENOMEM;
	nm->cap = 64;
	nm->slots = calloc(nm->cap, sizeof(*nm->slots));
	nm->keys_cap = 4096;
	nm->keys = malloc(nm->keys_cap);
	if (!nm->slots || !nm->keys) {
		iso_namer_free(nm);
		return -ENOMEM;
	}
	nm->gen = 1;
	nm->suffix_max = SUFFIX_MAX;
	*out = nm;
	return 0;
}

void iso_namer_free(struct iso_namer *nm)
{
	if (!nm)
		return;
	free(nm->slots);
	free(nm->keys);
	free(nm);
}

void iso_namer_reset(struct iso_namer *nm)
{
	if (++nm->gen == 0) { /* wrapped: zeroed slots would look current */
		memset(nm->slots, 0, (size_t)nm->cap * sizeof(*nm->slots));
		nm->gen = 1;
	}
	nm->count = 0;
	nm->keys_len = 0;
}

void iso_namer_set_suffix_max(struct iso_namer *nm, uint32_t max)
{
	nm->suffix_max = max < 1 ? 1 : (max > SUFFIX_MAX ? SUFFIX_MAX : max);
}

static uint32_t hash_bytes(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static struct slot *lookup(struct iso_namer *nm, const uint8_t *key, size_t len,
			   uint32_t hash)
{
	uint32_t i = hash & (nm->cap - 1);

	for (;; i = (i + 1) & (nm->cap - 1)) {
		struct slot *s = &nm->slots[i];

		if (s->gen != nm->gen)
			return s;
		if (s->hash == hash && s->len == len &&
		    memcmp(nm->keys + s->off, key, len) == 0)
			return s;
	}
}

/* Make room for INSERTS_PER_CALL more keys at a load of at most 1/2. */
static int reserve(struct iso_namer *nm)
{
	uint32_t old_cap = nm->cap, cap = nm->cap, i;
	struct slot *old = nm->slots, *slots;

	while ((nm->count + INSERTS_PER_CALL) * 2 > cap)
		cap *= 2;
	if (cap == old_cap)
		return 0;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	nm->slots = slots;
	nm->cap = cap;
	for (i = 0; i < old_cap; i++) {
		struct slot *s;

		if (old[i].gen != nm->gen)
			continue;
		s = lookup(nm, nm->keys + old[i].off, old[i].len, old[i].hash);
		*s = old[i];
	}
	free(old);
	return 0;
}

/*
 * Find @key; when absent, add it (next = 0).  *@added says which.  Needs a
 * reserve() for this call; returns NULL only on -ENOMEM for the key bytes.
 */
static struct slot *find_or_add(struct iso_namer *nm, const uint8_t *key,
				size_t len, bool *added)
{
	uint32_t hash = hash_bytes(key, len);
	struct slot *s = lookup(nm, key, len, hash);

	*added = false;
	if (s->gen == nm->gen)
		return s;
	if (nm->keys_len + len > nm->keys_cap) {
		size_t cap = (nm->keys_cap + len) * 2;
		uint8_t *keys = realloc(nm->keys, cap);

		if (!keys)
			return NULL;
		nm->keys = keys;
		nm->keys_cap = cap;
	}
	memcpy(nm->keys + nm->keys_len, key, len);
	s->gen = nm->gen;
	s->hash = hash;
	s->off = (uint32_t)nm->keys_len;
	s->len = (uint32_t)len;
	s->next = 0;
	nm->keys_len += len;
	nm->count++;
	*added = true;
	return s;
}

size_t iso_names_utf8_next(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n, i;
	uint32_t c;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] >= 0xC2 && u[0] <= 0xDF)
		n = 2, c = u[0] & 0x1F;
	else if ((u[0] & 0xF0) == 0xE0)
		n = 3, c = u[0] & 0x0F;
	else if (u[0] >= 0xF0 && u[0] <= 0xF4)
		n = 4, c = u[0] & 0x07;
	else
		n = 0, c = 0;
	if (n == 0 || n > len)
		goto bad;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xC0) != 0x80)
			goto bad;
		c = c << 6 | (u[i] & 0x3F);
	}
	*cp = c;
	return n;
bad:
	/* not valid UTF-8 (callers promise it is): one byte, U+FFFD */
	*cp = 0xFFFD;
	return 1;
}

/* "<sep>k" into @buf (k >= 1); returns its length. */
static size_t fmt_suffix(char *buf, char sep, uint32_t k)
{
	char tmp[10];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + k % 10);
		k /= 10;
	} while (k);
	buf[0] = sep;
	for (i = 0; i < n; i++)
		buf[1 + i] = tmp[n - 1 - i];
	return n + 1;
}

/*
 * One namer call: build() puts candidate k (0: the name without suffix)
 * into the caller's output and @key/@klen (its uniqueness key) and returns
 * the identifier's length; counter() gives the counter key of the stem
 * that d-digit suffixes leave.
 */
struct cand {
	const void *parts;
	void *out;
	uint8_t key[1 + 2 * ISO_NAMES_JOLIET_MAX];
	size_t klen;
	size_t (*build)(struct cand *c, uint32_t k);
	size_t (*counter)(const struct cand *c, size_t d, uint8_t *key);
};

static uint32_t pow10u(size_t d)
{
	uint32_t p = 1;

	while (d--)
		p *= 10;
	return p;
}

/* The first free candidate; the identifier's length or negative errno. */
static int pick(struct iso_namer *nm, struct cand *c, const char *what,
		const char *name, size_t len)
{
	uint8_t ckey[3 + 2 * ISO_NAMES_JOLIET_MAX];
	struct slot *base, *cnt;
	size_t n, d;
	bool added;
	int rc;

	if (len == 0)
		return cds_error(-EINVAL, "empty file name");
	if (len > NAME_MAX_BYTES)
		return cds_error(-EINVAL, "%.64s...: name of %zu bytes", name,
				 len);
	rc = reserve(nm);
	if (rc)
		return rc;
	n = c->build(c, 0);
	base = find_or_add(nm, c->key, c->klen, &added);
	if (!base)
		return -ENOMEM;
	if (added)
		return (int)n;
	/* base->next: digit counts below it are used up for this name */
	for (d = base->next ? base->next : 1; d <= SUFFIX_DIGITS; d++) {
		uint32_t lo = pow10u(d - 1), hi = pow10u(d) - 1, k;

		if (lo > nm->suffix_max)
			break;
		if (hi > nm->suffix_max)
			hi = nm->suffix_max;
		cnt = find_or_add(nm, ckey, c->counter(c, d, ckey), &added);
		if (!cnt)
			return -ENOMEM;
		for (k = cnt->next ? cnt->next : lo; k <= hi; k++) {
			n = c->build(c, k);
			if (!find_or_add(nm, c->key, c->klen, &added))
				return -ENOMEM;
			if (added) {
				cnt->next = k + 1;
				base->next = (uint32_t)d;
				return (int)n;
			}
		}
		cnt->next = k;
	}
	return cds_error(-EOVERFLOW, "%.*s: no unique %s name left", (int)len,
			 name, what);
}

/* ---- ISO 9660 ---- */

/* d-character for a code point (ECMA-119 7.4.1): A-Z 0-9 _. */
static char dchar(uint32_t cp)
{
	if (cp >= 'a' && cp <= 'z')
		return (char)(cp - 'a' + 'A');
	if ((cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'))
		return (char)cp;
	return '_';
}

/* A name split into mapped base and extension (without the dot). */
struct parts {
	size_t blen, elen;
	bool is_dir;
	char base[NAME_MAX_BYTES], ext[NAME_MAX_BYTES];
};

/* Map @name to d-characters, one per code point; files split at the last
 * dot that is not the first character. */
static void iso_map(const char *name, size_t len, bool is_dir, struct parts *p)
{
	size_t i, dot = len;

	if (!is_dir)
		for (i = len - 1; i > 0; i--)
			if (name[i] == '.') {
				dot = i;
				break;
			}
	p->blen = p->elen = 0;
	p->is_dir = is_dir;
	for (i = 0; i < len;) {
		uint32_t cp;
		bool in_ext = i > dot;

		if (i == dot) {
			i++;
			continue;
		}
		i += iso_names_utf8_next(name + i, len - i, &cp);
		if (in_ext)
			p->ext[p->elen++] = dchar(cp);
		else
			p->base[p->blen++] = dchar(cp);
	}
}

/* How much of base and extension fit next to a suffix of @slen chars. */
static void iso_fit(const struct parts *p, size_t slen, size_t *blen,
		    size_t *elen)
{
	*blen = p->blen;
	*elen = p->elen;
	if (p->is_dir) {
		if (*blen + slen > ISO_NAMES_ISO_MAX)
			*blen = ISO_NAMES_ISO_MAX - slen;
		return;
	}
	if (*blen + slen + 1 + *elen > ISO_FILE_BODY_MAX &&
	    *elen > ISO_EXT_KEEP)
		*elen = ISO_EXT_KEEP;
	if (*blen + slen + 1 + *elen > ISO_FILE_BODY_MAX)
		*blen = ISO_FILE_BODY_MAX - 1 - *elen - slen;
}

/*
 * Candidate k: suffix "_k" (none if k == 0).  The key is 'I' and the
 * identifier without ";1" and without a trailing dot, so "A.;1" and
 * directory "A" collide, as they do for readers that strip those.
 */
static size_t iso_build(struct cand *c, uint32_t k)
{
	const struct parts *p = c->parts;
	char *out = c->out, suffix[16];
	size_t blen, elen, slen = k ? fmt_suffix(suffix, '_', k) : 0, n;

	iso_fit(p, slen, &blen, &elen);
	memcpy(out, p->base, blen);
	memcpy(out + blen, suffix, slen);
	n = blen + slen;
	if (!p->is_dir) {
		out[n++] = '.';
		memcpy(out + n, p->ext, elen);
		n += elen;
	}
	c->klen = 1 + (elen ? n : blen + slen);
	c->key[0] = 'I';
	memcpy(c->key + 1, out, c->klen - 1);
	if (!p->is_dir) {
		out[n++] = ';';
		out[n++] = '1';
	}
	return n;
}

static size_t iso_counter(const struct cand *c, size_t d, uint8_t *key)
{
	const struct parts *p = c->parts;
	size_t blen, elen;

	iso_fit(p, 1 + d, &blen, &elen);
	key[0] = 'i';
	key[1] = (uint8_t)d;
	key[2] = (uint8_t)blen;
	memcpy(key + 3, p->base, blen);
	memcpy(key + 3 + blen, p->ext, elen);
	return 3 + blen + elen;
}

int iso_namer_iso9660(struct iso_namer *nm, const char *name, size_t len,
		      bool is_dir, char *out)
{
	struct parts p;
	struct cand c = {.parts = &p, .out = out};

	c.build = iso_build;
	c.counter = iso_counter;
	if (len > 0 && len <= NAME_MAX_BYTES)
		iso_map(name, len, is_dir, &p);
	return pick(nm, &c, "ISO 9660", name, len);
}

/* ECMA-119 9.3: split "NAME.EXT;VER" into its parts. */
static void iso_split(const char *s, size_t len, size_t *nlen, const char **ext,
		      size_t *elen, unsigned *ver)
{
	const char *semi = memchr(s, ';', len);
	const char *dot;
	size_t body = semi ? (size_t)(semi - s) : len;

	*ver = 0;
	if (semi)
		for (const char *p = semi + 1; p < s + len; p++)
			*ver = *ver * 10 + (unsigned)(*p - '0');
	dot = memchr(s, '.', body);
	*nlen = dot ? (size_t)(dot - s) : body;
	*ext = dot ? dot + 1 : s + body;
	*elen = dot ? body - *nlen - 1 : 0;
}

static int padded_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i, n = alen > blen ? alen : blen;

	for (i = 0; i < n; i++) {
		unsigned char ca = i < alen ? (unsigned char)a[i] : ' ';
		unsigned char cb = i < blen ? (unsigned char)b[i] : ' ';

		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return 0;
}

int iso_names_cmp_iso9660(const char *a, size_t alen, const char *b,
			  size_t blen)
{
	size_t an, ae, bn, be;
	const char *aext, *bext;
	unsigned av, bv;
	int c;

	iso_split(a, alen, &an, &aext, &ae, &av);
	iso_split(b, blen, &bn, &bext, &be, &bv);
	c = padded_cmp(a, an, b, bn);
	if (c)
		return c;
	c = padded_cmp(aext, ae, bext, be);
	if (c)
		return c;
	return av == bv ? 0 : (av > bv ? -1 : 1);
}

/* ---- Joliet ---- */

static uint16_t joliet_char(uint32_t cp)
{
	if (cp > 0xFFFF || cp < 0x20 || (cp >= 0xD800 && cp <= 0xDFFF))
		return '_';
	if (cp == '*' || cp == '/' || cp == ':' || cp == ';' || cp == '?' ||
	    cp == '\\')
		return '_';
	return (uint16_t)cp;
}

/*
 * Windows compares Joliet names without case (Linux only ASCII): fold the
 * scripts whose case pairs are simple offsets - ASCII, Latin-1, Latin
 * Extended-A, Greek, Cyrillic.  Folding too much only costs a "~N".
 */
static uint16_t fold(uint16_t c)
{
	if (c < 0x80)
		return c >= 'a' && c <= 'z' ? (uint16_t)(c - 0x20) : c;
	if (c >= 0xE0 && c <= 0xFE && c != 0xF7)
		return (uint16_t)(c - 0x20);
	if (c == 0xFF)
		return 0x178;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
		return (uint16_t)(c & ~1u);
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return (c & 1) ? c : (uint16_t)(c - 1);
	if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2)
		return (uint16_t)(c - 0x20);
	if (c == 0x3C2) /* final sigma */
		return 0x3A3;
	if (c >= 0x430 && c <= 0x44F)
		return (uint16_t)(c - 0x20);
	if (c >= 0x450 && c <= 0x45F)
		return (uint16_t)(c - 0x50);
	return c;
}

struct jparts {
	size_t blen, elen; /* elen includes the dot */
	bool is_dir;
	uint16_t u[NAME_MAX_BYTES];
};

static void joliet_map(const char *name, size_t len, bool is_dir,
		       struct jparts *p)
{
	size_t ulen = 0, i = 0, dot = 0;

	while (i < len) {
		uint32_t cp;

		i += iso_names_utf8_next(name + i, len - i, &cp);
		if (cp == '.' && ulen > 0)
			dot = ulen;
		p->u[ulen++] = joliet_char(cp);
	}
	p->blen = ulen;
	p->elen = 0;
	p->is_dir = is_dir;
	/* an extension too long to keep is just part of the name */
	if (!is_dir && dot > 0 && ulen - dot - 1 <= JOLIET_EXT_KEEP) {
		p->blen = dot;
		p->elen = ulen - dot;
	}
}

static size_t joliet_fit(const struct jparts *p, size_t slen)
{
	if (p->blen + slen + p->elen > ISO_NAMES_JOLIET_MAX)
		return ISO_NAMES_JOLIET_MAX - slen - p->elen;
	return p->blen;
}

/* Put @c folded into @key as UCS-2BE. */
static void put_key(uint8_t *key, uint16_t c)
{
	c = fold(c);
	key[0] = (uint8_t)(c >> 8);
	key[1] = (uint8_t)c;
}

/* Like iso_build(); the length is in characters, with ";1" on files. */
static size_t joliet_build(struct cand *c, uint32_t k)
{
	const struct jparts *p = c->parts;
	uint16_t *out = c->out;
	char suffix[16];
	size_t slen = k ? fmt_suffix(suffix, '~', k) : 0, blen, n = 0, i;

	blen = joliet_fit(p, slen);
	for (i = 0; i < blen; i++)
		out[n++] = p->u[i];
	for (i = 0; i < slen; i++)
		out[n++] = (uint16_t)suffix[i];
	for (i = 0; i < p->elen; i++)
		out[n++] = p->u[p->blen + i];
	/* Linux and Windows drop trailing dots: "a." and "a" are one name */
	for (i = n; i > 1 && out[i - 1] == '.'; i--)
		;
	c->klen = 1 + 2 * i;
	c->key[0] = 'J';
	for (i = 0; i < n; i++)
		put_key(c->key + 1 + 2 * i, out[i]);
	if (p->is_dir)
		return n;
	out[n] = ';';
	out[n + 1] = '1';
	return n + 2;
}

static size_t joliet_counter(const struct cand *c, size_t d, uint8_t *key)
{
	const struct jparts *p = c->parts;
	size_t blen = joliet_fit(p, 1 + d), i, n = 3;

	key[0] = 'j';
	key[1] = (uint8_t)d;
	key[2] = (uint8_t)blen;
	for (i = 0; i < blen; i++, n += 2)
		put_key(key + n, p->u[i]);
	for (i = 0; i < p->elen; i++, n += 2)
		put_key(key + n, p->u[p->blen + i]);
	return n;
}

int iso_namer_joliet(struct iso_namer *nm, const char *name, size_t len,
		     bool is_dir, uint16_t *out)
{
	struct jparts p;
	struct cand c = {.parts = &p, .out = out};

	c.build = joliet_build;
	c.counter = joliet_counter;
	if (len > 0 && len <= NAME_MAX_BYTES)
		joliet_map(name, len, is_dir, &p);
	return pick(nm, &c, "Joliet", name, len);
}

/* Length of @s without ";version" (';' is never part of a Joliet name). */
static size_t joliet_body(const uint16_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == ';')
			return i;
	return len;
}

int iso_names_cmp_joliet(const uint16_t *a, size_t alen, const uint16_t *b,
			 size_t blen)
{
	size_t ab = joliet_body(a, alen), bb = joliet_body(b, blen);
	size_t i, n = ab < bb ? ab : bb;

	/* names first, as libisofs (ucscmp without ";1"): else "a;1" would
	 * sort after "a b;1" and "a1;1" (';' is 0x3B) */
	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	if (ab != bb)
		return ab < bb ? -1 : 1;
	/* equal names: the rest is ";version", a higher one first */
	if (alen - ab != blen - bb)
		return alen - ab > blen - bb ? -1 : 1;
	for (i = ab; i < alen; i++)
		if (a[i] != b[i])
			return a[i] > b[i] ? -1 : 1;
	return 0;
}
