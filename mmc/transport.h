/*
 * transport.h - the seam between the drive layer and whatever executes
 * CDBs: the Linux SG_IO ioctl (sgio.c) or the file-backed emulator
 * (emu.c).  One call: execute a command.  An implementation embeds
 * struct mmc_transport as its first member.
 */
#ifndef MMC_TRANSPORT_H
#define MMC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mmc_dir {
	MMC_DIR_NONE,
	MMC_DIR_TO_DEV,	  /* data out: WRITE, MODE SELECT */
	MMC_DIR_FROM_DEV, /* data in: reads and inquiries */
};

/* Decoded sense data (SPC-3 4.5), fixed or descriptor format. */
struct mmc_sense {
	bool valid; /* a CHECK CONDITION came with sense data */
	uint8_t key, asc, ascq;
	bool info_valid;
	uint32_t info; /* e.g. the failing LBA */
	bool progress_valid;
	uint16_t progress; /* 0..65535 = 0..100 % (NOT READY, in progress) */
	uint8_t raw[32];
	uint8_t raw_len;
};

struct mmc_cmd {
	uint8_t cdb[16];
	uint8_t cdb_len;
	enum mmc_dir dir;
	void *buf;
	size_t len;	     /* transfer length in bytes */
	unsigned timeout_ms; /* 0 = the transport's default */
	/* results */
	uint8_t status;		/* SCSI status: GOOD or CHECK CONDITION */
	size_t resid;		/* bytes not transferred */
	struct mmc_sense sense; /* valid after CHECK CONDITION */
};

struct mmc_transport;

struct mmc_transport_ops {
	const char *name;
	/*
	 * Execute @cmd.  Returns 0 when the target answered (check
	 * cmd->status: GOOD, or CHECK CONDITION with cmd->sense filled in)
	 * and a negative errno, with a message, when the command never
	 * reached the target or the transport failed (device gone, EPERM).
	 */
	int (*execute)(struct mmc_transport *t, struct mmc_cmd *cmd);
	/* Release the transport (closes the device or the disc file). */
	void (*close)(struct mmc_transport *t);
};

struct mmc_transport {
	const struct mmc_transport_ops *ops;
	/* Largest data transfer of one command in bytes (the drive layer
	 * splits READ/WRITE to fit); 0 means 64 KiB. */
	size_t max_transfer;
};

static inline int mmc_transport_execute(struct mmc_transport *t,
					struct mmc_cmd *cmd)
{
	return t->ops->execute(t, cmd);
}

static inline void mmc_transport_close(struct mmc_transport *t)
{
	if (t)
		t->ops->close(t);
}

/*
 * Open a Linux SCSI device node (/dev/sr*, /dev/sg*) as a transport:
 * O_RDWR|O_NONBLOCK (falling back to O_RDONLY), SG_GET_VERSION_NUM >=
 * 30000 checked.  @excl adds O_EXCL (fails with EBUSY when mounted).
 */
int mmc_sgio_open(const char *path, bool excl, struct mmc_transport **out);

#endif
