/*
 * fuzz_emu_cdb.c - sequences of raw CDBs (and data-out payloads) against
 * the drive emulator.  Each input gets a fresh virtual CD-RW on tmpfs
 * (/dev/shm, else /tmp), so runs are independent and fsync is cheap.
 * Transfers are capped at 64 KiB, so a WRITE covers at most 32 blocks
 * and an input writes at most a few MiB.  Pacing stays off (speed 0).
 *
 * Input: byte 0 selects faults (b0 write error at LBA 20, b1 power cut
 * after 50 sectors, b2 CD-R instead of CD-RW, b3 cut-continuable); after
 * the power cut the disc is opened again (power on: that must always
 * work) and the sequence goes on; then records of
 *   1 byte  b0-1 direction (0 none, 1 to device, 2 from device, 3 as
 *           the opcode implies), b2-7 transfer length in KiB (0..63),
 *   12 bytes CDB (length from the opcode group),
 * followed, for data-out, by up to the transfer length of payload bytes
 * from the input (zero padded).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmc/emu.h"
#include "mmc/mmc_const.h"

#define MAX_XFER (64 * 1024)
#define MAX_CMDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static uint8_t buf[MAX_XFER + 16];

static unsigned cdb_len(uint8_t op)
{
	switch (op >> 5) {
	case 0:
		return 6;
	case 1:
	case 2:
		return 10;
	case 4:
		return 16;
	default:
		return 12;
	}
}

static enum mmc_dir implied_dir(uint8_t op)
{
	switch (op) {
	case MMC_OP_WRITE10:
	case MMC_OP_WRITE12:
	case MMC_OP_MODE_SELECT6:
	case MMC_OP_MODE_SELECT10:
		return MMC_DIR_TO_DEV;
	case MMC_OP_TEST_UNIT_READY:
	case MMC_OP_SYNCHRONIZE_CACHE:
	case MMC_OP_CLOSE_TRACK_SESSION:
	case MMC_OP_BLANK:
	case MMC_OP_START_STOP_UNIT:
	case MMC_OP_PREVENT_ALLOW:
	case MMC_OP_SET_CD_SPEED:
		return MMC_DIR_NONE;
	default:
		return MMC_DIR_FROM_DEV;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmc_emu_options o;
	struct mmc_emu *emu = NULL;
	size_t pos = 1;

	if (size < 1)
		return 0;
	if (!path[0])
		snprintf(path, sizeof(path), "%s/cds-fuzz-emu-%d.cdr",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
			 (int)getpid());
	unlink(path);
	if (mmc_emu_create(path, data[0] & 4 ? MMC_EMU_CDR80 : MMC_EMU_CDRW))
		abort();
	mmc_emu_options_init(&o);
	if (data[0] & 1)
		o.write_error_lba = 20;
	if (data[0] & 2)
		o.power_cut_after = 50;
	o.cut_continuable = data[0] & 8;
	if (mmc_emu_open(path, &o, &emu))
		abort();
	bool powered_on = false;
	for (int n = 0; n < MAX_CMDS && size - pos >= 13; n++) {
		struct mmc_cmd cmd;
		uint8_t flags = data[pos];
		size_t len = (size_t)(flags >> 2) * 1024;
		unsigned d = flags & 3;

		memset(&cmd, 0, sizeof(cmd));
		memcpy(cmd.cdb, data + pos + 1, 12);
		cmd.cdb_len = (uint8_t)cdb_len(cmd.cdb[0]);
		pos += 13;
		cmd.dir = d == 3 ? implied_dir(cmd.cdb[0]) : (enum mmc_dir)d;
		cmd.buf = buf;
		cmd.len = len;
		memset(buf, 0xA5, sizeof(buf));
		if (cmd.dir == MMC_DIR_TO_DEV) {
			size_t take = size - pos < len ? size - pos : len;
			memcpy(buf, data + pos, take);
			memset(buf + take, 0, len - take);
			pos += take;
		}
		int rc = mmc_emu_execute(emu, &cmd);
		if (rc == -EIO && o.power_cut_after >= 0 && !powered_on) {
			/* the cut: power on, the state persisted is used */
			mmc_emu_close(emu);
			mmc_emu_options_init(&o);
			if (mmc_emu_open(path, &o, &emu))
				abort();
			powered_on = true;
		}
		if (rc == 0) {
			if (cmd.resid > cmd.len)
				abort();
			if (cmd.status == MMC_STATUS_CHECK_CONDITION &&
			    (cmd.sense.raw_len != 18 ||
			     (cmd.sense.raw[0] & 0x7F) != 0x70))
				abort();
		}
		/* nothing may be written past the transfer length */
		for (size_t i = len; i < sizeof(buf); i++)
			if (buf[i] != 0xA5)
				abort();
	}
	mmc_emu_close(emu);
	unlink(path);
	return 0;
}
