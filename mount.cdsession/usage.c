/* usage.c - the usage text of every command, in one table. */
#include <string.h>

#include "cli.h"

struct usage {
	const char *cmd;
	const char *synopsis;
	const char *help;
};

static const struct usage usages[] = {
    {"create", "create [--media cdr74|cdr80|cdrw] FILE",
     "make a blank virtual disc (default cdr80)"},
    {"toc", "toc [DEVICE]",
     "show the medium, its sessions and tracks, and the free space"},
    {"msinfo", "msinfo [DEVICE]",
     "print last_sess_start,next_sess_start as cdrecord -msinfo"},
    {"burn", "burn [--multi] [--dummy] [--speed N] [DEVICE] IMAGE",
     "write IMAGE as a TAO data track in a new session"},
    {"blank", "blank [--fast|--all] [DEVICE]",
     "erase a CD-RW (--fast: TOC only, the default)"},
    {"eject", "eject [DEVICE]", "unlock and open the tray"},
    {"fix", "fix [DEVICE|MOUNTPOINT]",
     "close (finalize) the disc, as cdsession-fix"},
    {"mkimage",
     "mkimage [-C last,next] [-M DEVICE|FILE] [-V VOLID] [--tag TAG] "
     "-o OUT|- PATH...",
     "build an ISO 9660 image as mkisofs -R -J; -M continues a session"},
    {"sync", "sync MOUNTPOINT",
     "burn what is staged on the mounted disc as a new session now"},
    {"umount", "umount MOUNTPOINT",
     "sync, then unmount (returns when the session is on the disc)"},
    {"status", "status [--staging DIR] MOUNTPOINT|DEVICE",
     "commit state and progress, last session, free space, what is "
     "staged"},
    {"staging",
     "staging list [--staging DIR] [DEVICE] | list --all |\n"
     "          export [--staging DIR] [DEVICE] DEST |\n"
     "          discard --yes [--staging DIR] [DEVICE]",
     "show, copy out or drop the changes staged for the disc (A added,\n"
     "        M data changed, m attributes, R renamed, D deleted)"},
};

void cli_usage(FILE *f, const char *cmd)
{
	size_t i;

	if (cmd && strcmp(cmd, "cdsession-fix") == 0) {
		fprintf(f, "usage: cdsession-fix [DEVICE|MOUNTPOINT]\n"
			   "close (finalize) the disc: no more sessions can "
			   "be written; on a mount, what is staged becomes "
			   "the last session\n");
		return;
	}
	for (i = 0; i < sizeof(usages) / sizeof(usages[0]); i++) {
		if (cmd && strcmp(cmd, usages[i].cmd) != 0)
			continue;
		fprintf(f, "%s %s%s\n", cmd ? "usage: cdsession" : "  ",
			usages[i].synopsis, cmd ? "" : "");
		fprintf(f, "%s%s\n", cmd ? "" : "        ", usages[i].help);
		if (cmd)
			return;
	}
	if (cmd)
		return;
	fprintf(f, "\nDEVICE is a block or sg device (/dev/sr0, /dev/sg1) or "
		   "a virtual disc file;\nwithout it the default burner is "
		   "used.  The environment variable\nCDSESSION_EMU "
		   "(speed=N,write-error=LBA,power-cut=N,cut-continuable)\n"
		   "tunes virtual discs.\n");
}
