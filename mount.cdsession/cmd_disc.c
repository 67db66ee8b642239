/* cmd_disc.c - the commands that only look at or move the medium: create,
 * toc, msinfo, blank, eject. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/error.h"
#include "common/units.h"
#include "mmc/drive.h"
#include "mmc/emu.h"

static int media_opt(int c, void *ctx)
{
	if (c != 'm')
		return -1;
	if (mmc_emu_media_parse(optarg, ctx) < 0) {
		cli_fail(-EINVAL);
		return 1;
	}
	return 0;
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"media", required_argument, NULL, 'm'}, {0}};
	enum mmc_emu_media media = MMC_EMU_CDR80;
	int rc;

	rc =
	    cli_parse_options("create", argc, argv, opts, media_opt, &media, 1);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage_error("create", "missing FILE");
	rc = mmc_emu_create(argv[optind], media);
	if (rc < 0)
		return cli_fail(rc);
	return CLI_EXIT_OK;
}

/* One line picture of the disc, in order: sessions with their size, the
 * lead-out/lead-in gaps between them, then the free space or "closed". */
static void print_picture(const struct mmc_disc *disc)
{
	char sz[32];
	uint32_t end = 0;
	unsigned i, t;

	printf("disc           |");
	for (i = 0; i < disc->nsessions; i++) {
		const struct mmc_session *s = &disc->sessions[i];
		uint32_t last = s->start;

		if (i > 0 && s->start > end) {
			cds_human_size((uint64_t)(s->start - end) * 2048, sz,
				       sizeof(sz));
			printf(" gap %s |", sz);
		}
		for (t = 0; t < disc->ntracks; t++)
			if (disc->tracks[t].session == s->number &&
			    disc->tracks[t].start + disc->tracks[t].blocks >
				last)
				last = disc->tracks[t].start +
				       disc->tracks[t].blocks;
		end = s->complete ? s->leadout : last;
		cds_human_size((uint64_t)(end - s->start) * 2048, sz,
			       sizeof(sz));
		printf(" S%u %s%s |", s->number, sz,
		       s->complete ? "" : " (open)");
	}
	if (disc->status == MMC_DISC_COMPLETE) {
		printf(" closed\n");
		return;
	}
	if (disc->nwa_valid && disc->nwa > end && disc->nsessions) {
		cds_human_size((uint64_t)(disc->nwa - end) * 2048, sz,
			       sizeof(sz));
		printf(" gap %s |", sz);
	}
	cds_human_size((uint64_t)disc->free_blocks * 2048, sz, sizeof(sz));
	printf(" free %s |\n", sz);
}

static const char *status_text(const struct mmc_disc *disc)
{
	switch (disc->status) {
	case MMC_DISC_EMPTY:
		return "blank";
	case MMC_DISC_INCOMPLETE:
		if (disc->last_session_state == MMC_SESSION_INCOMPLETE)
			return "appendable, last session open";
		return disc->nwa_valid ? "appendable"
				       : "appendable, but no room for a "
					 "session";
	case MMC_DISC_COMPLETE:
		return "closed (finalized)";
	default:
		return "random-access medium";
	}
}

int cmd_toc(int argc, char **argv)
{
	struct mmc_drive *d = NULL;
	struct mmc_disc *disc = NULL;
	char h1[32], h2[32];
	unsigned i;
	int rc;

	rc = cli_parse_options("toc", argc, argv, NULL, NULL, NULL, 1);
	if (rc >= 0)
		return rc;
	disc = calloc(1, sizeof(*disc));
	if (!disc)
		return cli_fail(-ENOMEM);
	rc = cli_open_drive(optind < argc ? argv[optind] : NULL,
			    MMC_DRIVE_READ_ONLY, &d);
	if (rc < 0)
		goto out;
	rc = mmc_drive_disc(d, disc);
	if (rc < 0) {
		cli_fail(rc);
		goto out;
	}
	printf("medium         %s%s\n", disc->media_name,
	       disc->erasable ? " (erasable)" : "");
	printf("status         %s, %u session%s\n", status_text(disc),
	       disc->nsessions, disc->nsessions == 1 ? "" : "s");
	if (disc->ntracks) {
		printf("session  track  start     length    mode\n");
		for (i = 0; i < disc->ntracks; i++) {
			const struct mmc_track *t = &disc->tracks[i];
			printf("%-8u %-6u %-9u %-9u %s%s\n", t->session,
			       t->number, t->start, t->blocks,
			       t->control & 4 ? "data" : "audio",
			       t->damaged    ? " damaged"
			       : t->complete ? ""
					     : " open");
		}
		for (i = 0; i < disc->nsessions; i++)
			if (disc->sessions[i].complete)
				printf("lead-out %-6u %u\n",
				       disc->sessions[i].number,
				       disc->sessions[i].leadout);
	}
	if (disc->nwa_valid)
		printf("next writable  %u\n", disc->nwa);
	cds_human_size((uint64_t)disc->free_blocks * 2048, h1, sizeof(h1));
	cds_human_size((uint64_t)disc->capacity * 2048, h2, sizeof(h2));
	printf("free           %u blocks, %s\n", disc->free_blocks, h1);
	printf("capacity       %u blocks, %s\n", disc->capacity, h2);
	print_picture(disc);
	rc = 0;
out:
	mmc_drive_close(d);
	free(disc);
	return rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cmd_msinfo(int argc, char **argv)
{
	struct mmc_drive *d = NULL;
	uint32_t last, next;
	int rc;

	rc = cli_parse_options("msinfo", argc, argv, NULL, NULL, NULL, 1);
	if (rc >= 0)
		return rc;
	rc = cli_open_drive(optind < argc ? argv[optind] : NULL,
			    MMC_DRIVE_READ_ONLY, &d);
	if (rc < 0)
		return CLI_EXIT_FAIL;
	rc = mmc_drive_msinfo(d, &last, &next);
	mmc_drive_close(d);
	if (rc < 0)
		return cli_fail(rc);
	printf("%u,%u\n", last, next);
	return CLI_EXIT_OK;
}

static int blank_opt(int c, void *ctx)
{
	bool *all = ctx;

	if (c == 'a')
		*all = true;
	else if (c == 'f')
		*all = false;
	else
		return -1;
	return 0;
}

int cmd_blank(int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
					     {"fast", no_argument, NULL, 'f'},
					     {0}};
	struct cli_progress *p;
	struct mmc_drive *d;
	bool all = false;
	int rc;

	rc = cli_parse_options("blank", argc, argv, opts, blank_opt, &all, 1);
	if (rc >= 0)
		return rc;
	if (cli_open_drive(optind < argc ? argv[optind] : NULL, 0, &d) < 0)
		return CLI_EXIT_FAIL;
	p = cli_progress_new("blank", 100);
	mmc_drive_set_progress(d, cli_progress_fraction, p);
	rc = mmc_drive_blank(d, all);
	cli_progress_done(p);
	mmc_drive_close(d);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

int cmd_eject(int argc, char **argv)
{
	struct mmc_drive *d;
	int rc;

	rc = cli_parse_options("eject", argc, argv, NULL, NULL, NULL, 1);
	if (rc >= 0)
		return rc;
	if (cli_open_drive(optind < argc ? argv[optind] : NULL, 0, &d) < 0)
		return CLI_EXIT_FAIL;
	rc = mmc_drive_eject(d);
	mmc_drive_close(d);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}
