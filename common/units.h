/*
 * units.h - sizes for people: "512 B", "1.5 KiB", "702.8 MiB", as the
 * programs and the mounted filesystem's status print them.
 */
#ifndef CDS_COMMON_UNITS_H
#define CDS_COMMON_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* @bytes in binary units with one decimal (bytes exactly below 1 KiB),
 * NUL-terminated into @buf of @len bytes (truncated to fit). */
void cds_human_size(uint64_t bytes, char *buf, size_t len);

#endif
