/* rrip_write.c - SUSP and Rock Ridge entries of the session writer. */
#include "rrip_write.h"

#include <string.h>
#include <sys/sysmacros.h>

#include "common/bytes.h"
#include "common/sector.h"

/* RRIP 1.12 as libisofs writes it (iso9660-reference 3.3): ER id
 * IEEE_1282 and the 44-byte PX that carries the file serial number. */
#define ER_ID "IEEE_1282"
#define ER_DES                                                                 \
	"THE IEEE 1282 PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM "       \
	"SEMANTICS."
#define ER_SRC                                                                 \
	"PLEASE CONTACT THE IEEE STANDARDS DEPARTMENT, PISCATAWAY, NJ, USA "   \
	"FOR THE 1282 SPECIFICATION."
#define ENTRY_MAX 255 /* the entry length is one byte */

void rr_reset(struct rr_entries *e)
{
	e->n = 0;
	e->len = 0;
}

/* Start an entry of @len bytes; the callers' sizes are bounded so that a
 * record's entries always fit (see RR_SU_BYTES). */
static uint8_t *entry(struct rr_entries *e, const char sig[2], size_t len)
{
	uint8_t *p = e->buf + e->len;

	e->off[e->n++] = e->len;
	e->len += (uint32_t)len;
	p[0] = (uint8_t)sig[0];
	p[1] = (uint8_t)sig[1];
	p[2] = (uint8_t)len;
	p[3] = 1;
	return p;
}

static uint32_t entry_len(const struct rr_entries *e, uint32_t i)
{
	return e->buf[e->off[i] + 2];
}

void rr_dtime(uint8_t out[7], time_t t)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year < 0) {
		/* before 1900: the earliest date the form holds */
		memset(&tm, 0, sizeof(tm));
		tm.tm_mday = 1;
	} else if (tm.tm_year > 255) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = 255;
		tm.tm_mon = 11;
		tm.tm_mday = 31;
		tm.tm_hour = 23;
		tm.tm_min = 59;
		tm.tm_sec = 59;
	}
	out[0] = (uint8_t)tm.tm_year;
	out[1] = (uint8_t)(tm.tm_mon + 1);
	out[2] = (uint8_t)tm.tm_mday;
	out[3] = (uint8_t)tm.tm_hour;
	out[4] = (uint8_t)tm.tm_min;
	out[5] = (uint8_t)(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	out[6] = 0; /* GMT */
}

void rr_add_sp(struct rr_entries *e)
{
	uint8_t *p = entry(e, "SP", 7);

	p[4] = 0xBE;
	p[5] = 0xEF;
	p[6] = 0; /* no bytes to skip */
}

void rr_add_er(struct rr_entries *e)
{
	size_t li = sizeof(ER_ID) - 1, ld = sizeof(ER_DES) - 1,
	       ls = sizeof(ER_SRC) - 1;
	uint8_t *p = entry(e, "ER", 8 + li + ld + ls);

	p[4] = (uint8_t)li;
	p[5] = (uint8_t)ld;
	p[6] = (uint8_t)ls;
	p[7] = 1;
	memcpy(p + 8, ER_ID, li);
	memcpy(p + 8 + li, ER_DES, ld);
	memcpy(p + 8 + li + ld, ER_SRC, ls);
}

void rr_add_px(struct rr_entries *e, mode_t mode, uint32_t nlink, uid_t uid,
	       gid_t gid, uint64_t serial)
{
	uint8_t *p = entry(e, "PX", 44);

	cds_put_733(p + 4, (uint32_t)mode);
	cds_put_733(p + 12, nlink);
	cds_put_733(p + 20, (uint32_t)uid);
	cds_put_733(p + 28, (uint32_t)gid);
	cds_put_733(p + 36, (uint32_t)serial);
}

void rr_add_pn(struct rr_entries *e, dev_t rdev)
{
	uint8_t *p = entry(e, "PN", 20);

	/* Linux takes high = major, low = minor whenever high != 0, and
	 * the old 8:8 split of low otherwise, which major 0 also fits. */
	cds_put_733(p + 4, major(rdev));
	cds_put_733(p + 12, minor(rdev));
}

static void add_time(uint8_t **p, const struct timespec *t)
{
	rr_dtime(*p, t->tv_sec);
	*p += 7;
}

void rr_add_tf(struct rr_entries *e, const struct timespec *crtime,
	       const struct timespec *mtime, const struct timespec *atime,
	       const struct timespec *ctime)
{
	/* CREATE (if known), MODIFY, ACCESS, ATTRIBUTES; short form, in
	 * flag-bit order (RRIP 4.1.6). */
	uint8_t *p = entry(e, "TF", 5 + 7 * (crtime ? 4 : 3));
	uint8_t *q = p + 5;

	p[4] = (uint8_t)((crtime ? 1 : 0) | 2 | 4 | 8);
	if (crtime)
		add_time(&q, crtime);
	add_time(&q, mtime);
	add_time(&q, atime);
	add_time(&q, ctime);
}

/* The size of the next entry: @first_max for the first one when it
 * leaves room for more than a header (see rrip_write.h), else 255. */
static size_t entry_cap(size_t first_max, int index)
{
	return index == 0 && first_max >= 8 && first_max < ENTRY_MAX
		   ? first_max
		   : ENTRY_MAX;
}

void rr_add_nm(struct rr_entries *e, const char *name, size_t len,
	       size_t first_max)
{
	int k = 0;

	do {
		size_t room = entry_cap(first_max, k++) - 5;
		size_t chunk = len > room ? room : len;
		uint8_t *p = entry(e, "NM", 5 + chunk);

		p[4] = chunk < len ? 1 : 0; /* CONTINUE */
		memcpy(p + 5, name, chunk);
		name += chunk;
		len -= chunk;
	} while (len);
}

/* One SL entry being filled. */
struct sl_state {
	struct rr_entries *e;
	uint8_t *cur; /* the open entry */
	size_t cap;   /* its largest size */
	size_t first_max;
};

static void sl_open(struct sl_state *s)
{
	s->cap = entry_cap(s->first_max, s->cur ? 1 : 0);
	s->cur = entry(s->e, "SL", 5);
	s->cur[4] = 0;
}

/* Grow the open entry by @n bytes (the caller checked the room). */
static uint8_t *sl_grow(struct sl_state *s, size_t n)
{
	uint8_t *p = s->cur + s->cur[2];

	s->cur[2] = (uint8_t)(s->cur[2] + n);
	s->e->len += (uint32_t)n;
	return p;
}

static void sl_component(struct sl_state *s, uint8_t flags, const char *d,
			 size_t len)
{
	do {
		size_t room = s->cap - s->cur[2];
		size_t chunk;
		uint8_t *p;

		if (room < 2 || (len && room < 3)) {
			s->cur[4] = 1; /* the link continues in the next SL */
			sl_open(s);
			room = s->cap - 5;
		}
		chunk = len > room - 2 ? room - 2 : len;
		p = sl_grow(s, 2 + chunk);
		/* a component split over records: CONTINUE on all but the
		 * last part */
		p[0] = (uint8_t)(flags | (chunk < len ? 1 : 0));
		p[1] = (uint8_t)chunk;
		if (chunk) {
			memcpy(p + 2, d, chunk);
			d += chunk;
		}
		len -= chunk;
	} while (len);
}

void rr_add_sl(struct rr_entries *e, const char *target, size_t first_max)
{
	struct sl_state s = {e, NULL, 0, first_max};
	const char *p = target;

	sl_open(&s);
	if (*p == '/') {
		sl_component(&s, 8, NULL, 0); /* ROOT */
		while (*p == '/')
			p++;
	}
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == 1 && p[0] == '.')
			sl_component(&s, 2, NULL, 0); /* CURRENT */
		else if (len == 2 && p[0] == '.' && p[1] == '.')
			sl_component(&s, 4, NULL, 0); /* PARENT */
		else
			sl_component(&s, 0, p, len);
		p += len;
		while (*p == '/')
			p++;
	}
}

static void add_lba(struct rr_entries *e, const char sig[2], uint32_t lba)
{
	cds_put_733(entry(e, sig, 12) + 4, lba);
}

void rr_add_cl(struct rr_entries *e, uint32_t lba)
{
	add_lba(e, "CL", lba);
}

void rr_add_pl(struct rr_entries *e, uint32_t lba)
{
	add_lba(e, "PL", lba);
}

void rr_add_re(struct rr_entries *e)
{
	entry(e, "RE", 4);
}

static void put_ce(uint8_t *p, uint32_t lba, uint32_t off, uint32_t len)
{
	p[0] = 'C';
	p[1] = 'E';
	p[2] = RR_CE_LEN;
	p[3] = 1;
	cds_put_733(p + 4, lba);
	cds_put_733(p + 12, off);
	cds_put_733(p + 20, len);
}

/*
 * Entries @i.. into the continuation area, one block-bounded piece at a
 * time; the CE pointing at each piece goes to @ce (in the record or at
 * the end of the previous piece; NULL while measuring).
 */
static void place_ca(const struct rr_entries *e, uint32_t i, uint8_t *ce,
		     struct rr_area *ca)
{
	while (i < e->n) {
		uint32_t room = CDS_SECTOR_SIZE - ca->off % CDS_SECTOR_SIZE;
		uint32_t rest = e->len - e->off[i], start, used = 0, j = i;

		if (rest > room && entry_len(e, i) + RR_CE_LEN > room) {
			/* not even one entry and a CE fit: next block */
			ca->off += room;
			room = CDS_SECTOR_SIZE;
		}
		start = ca->off;
		if (rest <= room) {
			j = e->n;
			used = rest;
		} else {
			while (j < e->n &&
			       used + entry_len(e, j) + RR_CE_LEN <= room)
				used += entry_len(e, j++);
		}
		if (ca->buf)
			memcpy(ca->buf + start, e->buf + e->off[i], used);
		ca->off += used;
		if (j < e->n) {
			ca->off += RR_CE_LEN; /* the CE to the next piece */
			used += RR_CE_LEN;
		}
		if (ce)
			put_ce(ce, ca->lba + start / CDS_SECTOR_SIZE,
			       start % CDS_SECTOR_SIZE, used);
		ce = ca->buf && j < e->n ? ca->buf + ca->off - RR_CE_LEN : NULL;
		if (j < e->n) {
			/* the next piece starts on a fresh block */
			ca->off +=
			    (CDS_SECTOR_SIZE - ca->off % CDS_SECTOR_SIZE) %
			    CDS_SECTOR_SIZE;
		}
		i = j;
	}
}

size_t rr_place(const struct rr_entries *e, uint8_t *su, size_t avail,
		struct rr_area *ca)
{
	uint32_t i = 0;
	size_t used = 0;

	if (e->len <= avail) {
		if (su)
			memcpy(su, e->buf, e->len);
		return e->len;
	}
	while (i < e->n && used + entry_len(e, i) + RR_CE_LEN <= avail)
		used += entry_len(e, i++);
	if (su)
		memcpy(su, e->buf, used);
	place_ca(e, i, su ? su + used : NULL, ca);
	return used + RR_CE_LEN;
}
