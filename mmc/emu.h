/*
 * emu.h - a file-backed CD-R / CD-RW drive (the `emu` transport).
 *
 * The emulator is an MMC target: it receives the same raw CDBs a real
 * burner receives and answers with the same bytes and sense codes
 * (docs/mmc-reference.md sections 2-4 and 6).  The virtual disc file keeps
 * the user data of LBA n at byte offset n * 2048, so any ISO tool reads any
 * session by offset; the medium state (sessions, tracks, NWA, finalized)
 * lies after the addressable area, in two checksummed, versioned slots
 * written alternately, so that a crash mid-update leaves the previous valid
 * state (see emu_state.h for the format).
 */
#ifndef MMC_EMU_H
#define MMC_EMU_H

#include <stdbool.h>
#include <stdint.h>

#include "transport.h"

enum mmc_emu_media {
	MMC_EMU_CDR74,
	MMC_EMU_CDR80,
	MMC_EMU_CDRW,
};

/* "cdr74", "cdr80", "cdrw" -> media; -EINVAL (with a message) otherwise. */
int mmc_emu_media_parse(const char *name, enum mmc_emu_media *out);
const char *mmc_emu_media_name(enum mmc_emu_media media);

/*
 * Create a blank virtual disc at @path (a sparse file).  Refuses
 * (-EEXIST) to overwrite an existing file.
 */
int mmc_emu_create(const char *path, enum mmc_emu_media media);

/* Is @path a virtual disc (a valid medium-state trailer)?  0 = yes,
 * -EMEDIUMTYPE (with a message naming the cause) or another -errno. */
int mmc_emu_probe(const char *path);

struct mmc_emu_options {
	/* Pace writes to this CD speed (1x = 75 blocks/s); 0 = unpaced. */
	unsigned speed_x;
	/* WRITE covering this LBA fails with 03/0C/00; -1 = never. */
	int64_t write_error_lba;
	/* After this many sectors written since open, the "power" fails:
	 * the write stops part-way and every later command fails as if the
	 * drive were gone (-EIO); -1 = never. */
	int64_t power_cut_after;
	/* A track cut off by a power cut (or a crash, or an eject) is left
	 * continuable: READ TRACK INFORMATION reports Damage=1 NWA_V=1 and
	 * a WRITE at its NWA continues it (mmc-reference 2.5), instead of
	 * Damage=1 NWA_V=0 (nothing can follow).  Recorded with each track
	 * this drive opens. */
	bool cut_continuable;
	/* Open read-only: every write-type command gets 07/27/00. */
	bool read_only;
};

/* Defaults: unpaced, no faults. */
void mmc_emu_options_init(struct mmc_emu_options *o);

/*
 * Apply a comma-separated option string, as given in the environment
 * variable CDSESSION_EMU: "speed=16", "write-error=LBA",
 * "power-cut=SECTORS", "cut-continuable", "ro".  -EINVAL with a message
 * on a bad string.
 */
int mmc_emu_options_parse(struct mmc_emu_options *o, const char *spec);

struct mmc_emu;

/* Open a virtual disc.  A damaged or foreign file: -EMEDIUMTYPE or
 * -EUCLEAN with a message, never a crash. */
int mmc_emu_open(const char *path, const struct mmc_emu_options *o,
		 struct mmc_emu **out);
void mmc_emu_close(struct mmc_emu *emu);

/* Execute one CDB, as the transport does (the LD_PRELOAD shim calls this
 * for ioctl(SG_IO)).  Same contract as mmc_transport_ops.execute. */
int mmc_emu_execute(struct mmc_emu *emu, struct mmc_cmd *cmd);

/* Wrap an open emulator as a transport; closing the transport closes the
 * emulator. */
struct mmc_transport *mmc_emu_transport(struct mmc_emu *emu);

/* Open @path as an emulator transport (options from CDSESSION_EMU). */
int mmc_emu_transport_open(const char *path, bool read_only,
			   struct mmc_transport **out);

#endif
