/*
 * names.h - ISO 9660 and Joliet identifiers for the session writer.
 *
 * A file's real name travels in Rock Ridge NM; the ISO 9660 and Joliet
 * identifiers are what readers without Rock Ridge see.  They must be unique
 * within their directory and the same input must always give the same
 * output, so a namer is fed a directory's names in a fixed order (the
 * writer uses byte order of the UTF-8 names) and remembers what it gave.
 *
 * ISO 9660 (ECMA-119 7.5, 7.6, level 2): d-characters A-Z 0-9 _ only; files
 * "BASE.EXT;1" of at most 31 characters (so BASE.EXT <= 29), directories at
 * most 31 characters without dot or version.  Files always get both
 * separators ("README.;1").  Letters are upper-cased, every other code point
 * (not byte) that is no d-character becomes one '_', the last dot (not a
 * leading one) of a file separates the extension; a directory's dots become
 * '_'.  Too long: the extension keeps up to 8 characters, the base is cut.
 * Taken: "_N" (N = 1, 2, ...) is put before the extension, the base cut
 * further to make room; '~' is not a d-character, so the ISO side cannot
 * use the "~N" that Joliet uses.  Uniqueness ignores ".;1", so file
 * "A.;1" and directory "A" count as the same name, as they do for readers
 * that strip them.
 *
 * Joliet: UCS-2BE, at most 64 characters (plus ";1" on files); code points
 * above U+FFFF and the characters Joliet forbids (U+0000-U+001F * / : ; ? \)
 * become '_'.  Too long: cut, keeping an extension of up to 16 characters
 * (a longer one is cut like the rest of the name).
 * Uniqueness ignores case (ASCII as Linux' Joliet lookup; Latin-1, Latin
 * Extended-A, Greek and Cyrillic too, as Windows does), ";1" and trailing
 * dots (Linux and Windows drop them); taken names get "~N" before the
 * extension.
 *
 * Colliding names cost O(1) each on average, also when many different long
 * names are cut to one stem.  Invalid UTF-8 (which callers must not pass)
 * is read a byte at a time as U+FFFD, never past @len.
 */
#ifndef ISO_NAMES_H
#define ISO_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISO_NAMES_ISO_MAX    31 /* bytes, files incl. ";1" */
#define ISO_NAMES_JOLIET_MAX 64 /* UCS-2 characters, without ";1" */

struct iso_namer;

/* A namer for one directory at a time.  0 or -ENOMEM. */
int iso_namer_new(struct iso_namer **out);
void iso_namer_free(struct iso_namer *nm);

/* Forget the names given so far (start of the next directory). */
void iso_namer_reset(struct iso_namer *nm);

/* Try suffixes up to @max only (1..99999999, the default): lets tests
 * reach -EOVERFLOW, which the default needs 10^8 names for. */
void iso_namer_set_suffix_max(struct iso_namer *nm, uint32_t max);

/*
 * The ISO 9660 identifier for @name (@len bytes of valid UTF-8, as
 * iso_name_check() accepts) into @out (at least ISO_NAMES_ISO_MAX bytes,
 * not terminated); files get ";1".  Returns the identifier's length or
 * -ENOMEM / -EOVERFLOW (no free suffix left, with a message) / -EINVAL
 * (@len is 0 or over 255, with a message).
 */
int iso_namer_iso9660(struct iso_namer *nm, const char *name, size_t len,
		      bool is_dir, char *out);

/*
 * The Joliet identifier for @name into @out (at least
 * ISO_NAMES_JOLIET_MAX + 2 UCS-2 characters, host order; files get ";1").
 * Returns its length in characters or -ENOMEM / -EOVERFLOW / -EINVAL.
 */
int iso_namer_joliet(struct iso_namer *nm, const char *name, size_t len,
		     bool is_dir, uint16_t *out);

/*
 * ECMA-119 9.3 order of two ISO 9660 identifiers: file name parts
 * compared with the shorter padded by spaces, then extensions likewise,
 * then the higher version first.  <0, 0, >0.
 */
int iso_names_cmp_iso9660(const char *a, size_t alen, const char *b,
			  size_t blen);

/* Order of Joliet identifiers: the names without ";1" by UCS-2 code
 * units, a prefix first (as libisofs); equal names: higher version first. */
int iso_names_cmp_joliet(const uint16_t *a, size_t alen, const uint16_t *b,
			 size_t blen);

/* Decode one UTF-8 code point at @s (@len >= 1 bytes left); returns the
 * bytes it takes (1-4, never more than @len) and stores the code point in
 * @cp; a byte that does not start a complete sequence gives 1 and U+FFFD. */
size_t iso_names_utf8_next(const char *s, size_t len, uint32_t *cp);

#endif
