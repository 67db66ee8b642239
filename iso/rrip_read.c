/* rrip_read.c - SUSP / Rock Ridge entries of one directory record. */
#include "rrip_read.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "common/bytes.h"
#include "common/error.h"

/* SUSP entry header: signature (2), length (1), version (1) [SUSP 4.1]. */
#define SUSP_HDR  4
#define SIG(a, b) ((unsigned)(a) << 8 | (unsigned)(b))

/* NM and SL component flags [RRIP 4.1.3.1, 4.1.4]. */
#define RR_CONTINUE 0x01
#define RR_CURRENT  0x02
#define RR_PARENT   0x04
#define RR_ROOT	    0x08
#define TF_LONG	    0x80

/* Days from 1970-01-01 to year-month-day of the proleptic Gregorian
 * calendar (H. Hinnant's days_from_civil), so no TZ or timegm() is
 * involved and any byte value gives a defined result. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Local time at GMT offset @off (15-minute units) to a timespec.  Linux
 * applies the offset only within -52..52 (util.c iso_date). */
static struct timespec make_time(int64_t year, unsigned mon, unsigned day,
				 unsigned h, unsigned mi, unsigned s, long nsec,
				 int8_t off)
{
	struct timespec ts = {0, 0};
	int64_t t;

	if (mon < 1 || mon > 12 || day < 1 || day > 31 || h > 23 || mi > 59 ||
	    s > 60)
		return ts;
	t = days_from_civil(year, mon, day) * 86400 + h * 3600 + mi * 60 + s;
	if (off >= -52 && off <= 52)
		t -= (int64_t)off * 15 * 60;
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = nsec;
	return ts;
}

struct timespec iso_date7(const uint8_t *p)
{
	return make_time(1900 + p[0], p[1], p[2], p[3], p[4], p[5], 0,
			 (int8_t)p[6]);
}

static int digits(const uint8_t *p, int n)
{
	int v = 0;

	while (n--) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	return v;
}

struct timespec iso_date17(const uint8_t *p)
{
	int y = digits(p, 4), mo = digits(p + 4, 2), d = digits(p + 6, 2);
	int h = digits(p + 8, 2), mi = digits(p + 10, 2);
	int s = digits(p + 12, 2), cs = digits(p + 14, 2);
	struct timespec zero = {0, 0};

	if (y <= 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || cs < 0)
		return zero; /* "not specified" is all '0' (year 0) */
	return make_time(y, (unsigned)mo, (unsigned)d, (unsigned)h,
			 (unsigned)mi, (unsigned)s, cs * 10000000L,
			 (int8_t)p[16]);
}

static int append_name(struct iso_rrip_info *info, const void *s, size_t n)
{
	if (n > ISO_RRIP_NAME_MAX - info->name_len)
		return cds_error(-EUCLEAN,
				 "Rock Ridge NM name longer than %d bytes",
				 ISO_RRIP_NAME_MAX);
	memcpy(info->name + info->name_len, s, n);
	info->name_len += n;
	info->name[info->name_len] = '\0';
	return 0;
}

static int append_link(struct iso_rrip_info *info, const void *s, size_t n)
{
	if (n >= sizeof(info->sl) - info->sl_len)
		return cds_error(-EUCLEAN,
				 "Rock Ridge SL target longer than %zu bytes",
				 sizeof(info->sl) - 1);
	memcpy(info->sl + info->sl_len, s, n);
	info->sl_len += n;
	info->sl[info->sl_len] = '\0';
	return 0;
}

/* NM [RRIP 4.1.4]: the name may be split over several NM entries. */
static int parse_nm(struct iso_rrip_info *info, const uint8_t *e, size_t len)
{
	uint8_t flags;

	if (len < 5)
		return 0;
	flags = e[4];
	info->has_nm = true;
	/* CURRENT / PARENT stand for "." and "..": as names from a disc
	 * they are refused later, like the literal bytes would be. */
	if (flags & RR_CURRENT)
		return append_name(info, ".", 1);
	if (flags & RR_PARENT)
		return append_name(info, "..", 2);
	info->nm_continues = flags & RR_CONTINUE;
	return append_name(info, e + 5, len - 5);
}

/*
 * SL [RRIP 4.1.3]: component records (flags, length, bytes).  The target
 * joins components with '/', except after a component flagged CONTINUE;
 * ROOT is the leading "/" (as libisofs rockridge_read.c read_rr_SL).
 */
static int parse_sl(struct iso_rrip_info *info, const uint8_t *e, size_t len)
{
	size_t pos = 5;
	int rc;

	if (len < 5)
		return 0;
	info->has_sl = true;
	while (pos < len) {
		uint8_t flags, clen;
		const char *comp;
		size_t n;

		if (len - pos < 2)
			return cds_error(-EUCLEAN, "Rock Ridge SL component "
						   "header past its entry");
		flags = e[pos];
		clen = e[pos + 1];
		if (clen > len - pos - 2)
			return cds_error(-EUCLEAN,
					 "Rock Ridge SL component of %u bytes "
					 "past its entry",
					 clen);
		if (flags & RR_CURRENT)
			comp = ".", n = 1;
		else if (flags & RR_PARENT)
			comp = "..", n = 2;
		else if (flags & RR_ROOT)
			comp = "/", n = 1;
		else
			comp = (const char *)e + pos + 2, n = clen;
		if (memchr(comp, '\0', n))
			return cds_error(-EUCLEAN, "Rock Ridge SL component "
						   "contains NUL");
		if (!info->sl_component_continues && info->sl_len > 0 &&
		    strcmp(info->sl, "/") != 0) {
			rc = append_link(info, "/", 1);
			if (rc < 0)
				return rc;
		}
		rc = append_link(info, comp, n);
		if (rc < 0)
			return rc;
		info->sl_component_continues = flags & RR_CONTINUE;
		pos += 2 + (size_t)clen;
	}
	return 0;
}

/* TF [RRIP 4.1.6]: stamps in flag-bit order, 7 or 17 bytes each. */
static void parse_tf(struct iso_rrip_info *info, const uint8_t *e, size_t len)
{
	size_t pos = 5, size;
	uint8_t flags;
	int bit;

	if (len < 5)
		return;
	flags = e[4];
	size = flags & TF_LONG ? 17 : 7;
	for (bit = 0; bit < 7; bit++) {
		if (!(flags & (1u << bit)))
			continue;
		if (size > len - pos)
			return; /* stamps the entry cannot hold are ignored */
		if (bit < ISO_TF_COUNT) {
			info->tf[bit] = size == 17 ? iso_date17(e + pos)
						   : iso_date7(e + pos);
			info->tf_set[bit] = true;
		}
		pos += size;
	}
}

/* One System Use area; a CE found in it is returned through @ce_*. */
static int parse_area(struct iso_rrip_info *info, const uint8_t *p, size_t len,
		      bool *ce, uint32_t ce_loc[3])
{
	size_t pos = 0;
	int rc = 0;

	/* Linux stops at a length < 3 and when too few bytes remain
	 * (rock.c); libisofs stops at ST.  Neither treats the tail as an
	 * error, and neither do we: padding is common. */
	while (len - pos >= SUSP_HDR) {
		const uint8_t *e = p + pos;
		size_t elen = e[2];

		if (elen < SUSP_HDR || elen > len - pos)
			break;
		switch (SIG(e[0], e[1])) {
		case SIG('S', 'P'):
			if (elen >= 7 && e[4] == 0xBE && e[5] == 0xEF) {
				info->has_sp = true;
				info->sp_skip = e[6];
			}
			break;
		case SIG('E', 'R'):
			if (elen >= 8 && (size_t)8 + e[4] + e[5] + e[6] <= elen)
				info->has_er = true;
			break;
		case SIG('S', 'T'):
			return 0;
		case SIG('C', 'E'):
			if (elen >= 28) {
				*ce = true;
				ce_loc[0] = cds_get_733(e + 4);
				ce_loc[1] = cds_get_733(e + 12);
				ce_loc[2] = cds_get_733(e + 20);
			}
			break;
		case SIG('P', 'X'):
			if (elen >= 36) {
				info->has_px = true;
				info->mode = (mode_t)cds_get_733(e + 4);
				info->nlink = cds_get_733(e + 12);
				info->uid = cds_get_733(e + 20);
				info->gid = cds_get_733(e + 28);
				info->ino =
				    elen >= 44 ? cds_get_733(e + 36) : 0;
			}
			break;
		case SIG('P', 'N'):
			if (elen >= 20) {
				info->has_pn = true;
				info->dev_high = cds_get_733(e + 4);
				info->dev_low = cds_get_733(e + 12);
			}
			break;
		case SIG('N', 'M'):
			rc = parse_nm(info, e, elen);
			break;
		case SIG('S', 'L'):
			rc = parse_sl(info, e, elen);
			break;
		case SIG('C', 'L'):
			if (elen >= 12) {
				info->has_cl = true;
				info->cl_lba = cds_get_733(e + 4);
			}
			break;
		case SIG('R', 'E'):
			info->has_re = true;
			break;
		case SIG('T', 'F'):
			parse_tf(info, e, elen);
			break;
		default: /* PD, PL, RR, ES, SF, ZF, AA, AL ...: not needed */
			break;
		}
		if (rc < 0)
			return rc;
		pos += elen;
	}
	return 0;
}

static void info_reset(struct iso_rrip_info *info)
{
	info->has_sp = info->has_er = info->has_px = info->has_pn = false;
	info->has_nm = info->has_sl = info->has_cl = info->has_re = false;
	info->sp_skip = 0;
	info->mode = 0;
	info->nlink = info->uid = info->gid = 0;
	info->ino = 0;
	info->dev_high = info->dev_low = info->cl_lba = 0;
	memset(info->tf_set, 0, sizeof(info->tf_set));
	info->name_len = 0;
	info->name[0] = '\0';
	info->sl_len = 0;
	info->sl[0] = '\0';
	info->nm_continues = info->sl_component_continues = false;
}

int iso_rrip_parse(struct iso_rrip_ctx *ctx, const uint8_t *su, size_t len,
		   struct iso_rrip_info *info)
{
	const uint8_t *area = su;
	size_t area_len = len;
	int nce = 0, rc;

	info_reset(info);
	for (;;) {
		bool ce = false;
		uint32_t loc[3] = {0, 0, 0}; /* block, offset, length */

		rc = parse_area(info, area, area_len, &ce, loc);
		if (rc < 0 || !ce)
			return rc;
		/* A continuation area lies inside one block (Linux rock.c
		 * rock_continue; libisofs writes them so) and on the
		 * medium; the chain is capped to stop loops. */
		if (++nce > ISO_RRIP_MAX_CE)
			return cds_error(-EUCLEAN,
					 "Rock Ridge CE chain longer than %d "
					 "(a loop?)",
					 ISO_RRIP_MAX_CE);
		if (loc[0] >= ctx->limit)
			return cds_error(-EUCLEAN,
					 "Rock Ridge CE block %u outside the "
					 "volume (%u blocks)",
					 loc[0], ctx->limit);
		if (loc[1] > CDS_SECTOR_SIZE ||
		    loc[2] > CDS_SECTOR_SIZE - loc[1])
			return cds_error(-EUCLEAN,
					 "Rock Ridge CE area (offset %u, %u "
					 "bytes) crosses its block %u",
					 loc[1], loc[2], loc[0]);
		if (!ctx->cached || ctx->cached_lba != loc[0]) {
			if (ctx->max_reads && ctx->reads >= ctx->max_reads)
				return cds_error(
				    -EUCLEAN,
				    "more than %llu Rock Ridge "
				    "continuation blocks read "
				    "(CE chains jumping around)",
				    (unsigned long long)ctx->max_reads);
			ctx->reads++;
			ctx->cached = false;
			rc = cds_source_read(ctx->src, loc[0], 1, ctx->block);
			if (rc < 0)
				return cds_error_wrap(rc,
						      "reading Rock Ridge "
						      "continuation block %u",
						      loc[0]);
			ctx->cached = true;
			ctx->cached_lba = loc[0];
		}
		area = ctx->block + loc[1];
		area_len = loc[2];
	}
}
