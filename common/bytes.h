/*
 * bytes.h - byte-order accessors for on-disc and on-wire numbers.
 *
 * MMC fields are big-endian; ISO 9660 uses little-, big- and both-endian
 * fields, named after ECMA-119 clause 7 (711 ... 733).  Accessors never
 * assume alignment.
 */
#ifndef CDS_BYTES_H
#define CDS_BYTES_H

#include <stdint.h>

static inline uint16_t cds_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t cds_get_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t cds_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t cds_get_be64(const uint8_t *p)
{
	return (uint64_t)cds_get_be32(p) << 32 | cds_get_be32(p + 4);
}

static inline uint16_t cds_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t cds_get_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t cds_get_le64(const uint8_t *p)
{
	return (uint64_t)cds_get_le32(p + 4) << 32 | cds_get_le32(p);
}

static inline void cds_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void cds_put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void cds_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void cds_put_be64(uint8_t *p, uint64_t v)
{
	cds_put_be32(p, (uint32_t)(v >> 32));
	cds_put_be32(p + 4, (uint32_t)v);
}

static inline void cds_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void cds_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void cds_put_le64(uint8_t *p, uint64_t v)
{
	cds_put_le32(p, (uint32_t)v);
	cds_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* ECMA-119 7.3.3: both-byte-order 32-bit field; readers take the LE half
 * because some mastering programs botch the BE half (as Linux does). */
static inline uint32_t cds_get_733(const uint8_t *p)
{
	return cds_get_le32(p);
}

static inline void cds_put_733(uint8_t *p, uint32_t v)
{
	cds_put_le32(p, v);
	cds_put_be32(p + 4, v);
}

/* ECMA-119 7.2.3: both-byte-order 16-bit field. */
static inline uint16_t cds_get_723(const uint8_t *p)
{
	return cds_get_le16(p);
}

static inline void cds_put_723(uint8_t *p, uint16_t v)
{
	cds_put_le16(p, v);
	cds_put_be16(p + 2, v);
}

#endif
