/* cdsession-fix_main.c - cdsession-fix: close (finalize) a disc. */
#include "cli.h"

int main(int argc, char **argv)
{
	cli_progname = "cdsession-fix";
	return cmd_fix(argc, argv);
}
