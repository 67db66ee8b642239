/* cdsession_main.c - the cdsession command: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
    {"create", cmd_create},   {"toc", cmd_toc},		{"msinfo", cmd_msinfo},
    {"burn", cmd_burn},	      {"blank", cmd_blank},	{"eject", cmd_eject},
    {"fix", cmd_fix},	      {"mkimage", cmd_mkimage}, {"lsiso", cmd_lsiso},
    {"staging", cmd_staging}, {"sync", cmd_sync},	{"umount", cmd_umount},
    {"status", cmd_status},   {"stage", cmd_stage},
};

static void usage_all(FILE *f)
{
	fprintf(f, "usage: cdsession COMMAND [OPTIONS] [ARGS]\n\n"
		   "Commands:\n");
	cli_usage(f, NULL);
	fprintf(f, "\nRun 'cdsession COMMAND --help' for a command's "
		   "options; see cdsession(1).\n");
}

int main(int argc, char **argv)
{
	size_t i;

	cli_progname = "cdsession";
	if (argc < 2) {
		usage_all(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2)
			cli_usage(stdout, argv[2]);
		else
			usage_all(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("cdsession %s\n", CDS_VERSION);
		return CLI_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cdsession: unknown command '%s'\n", argv[1]);
	usage_all(stderr);
	return CLI_EXIT_USAGE;
}
