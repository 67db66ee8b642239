/*
 * cli.h - what the cdsession and cdsession-fix programs share: opening the
 * device a user named (or the default burner), the progress bar, sizes for
 * humans, and each subcommand's entry point.
 *
 * A command returns its exit status: 0 success, 1 failure (the one-line
 * cause already printed to stderr), 2 bad usage (usage help printed).
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct mmc_drive;

#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

/* Print "PROG: message" for @rc to stderr and return CLI_EXIT_FAIL. */
int cli_fail(int rc);

/* Print "PROG: message" formatted to stderr and return CLI_EXIT_FAIL. */
int cli_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "PROG: msg" and the usage of @cmd to stderr; CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print the usage of @cmd (NULL: all commands) to @f. */
void cli_usage(FILE *f, const char *cmd);

/*
 * Open @device, or the default burner when @device is NULL.  On failure
 * prints the cause and returns a negative errno.
 */
int cli_open_drive(const char *device, unsigned flags, struct mmc_drive **out);

/* @s with backslash, tab, newline and CR as \\ \t \n \r (one entry per
 * line, as the kernel-isofs check tool writes paths). */
void cli_print_escaped(FILE *f, const char *s);

/* A progress bar on stderr when it is a terminal; silent otherwise. */
struct cli_progress;
struct cli_progress *cli_progress_new(const char *what, uint64_t total);
void cli_progress_update(struct cli_progress *p, uint64_t done);
void cli_progress_done(struct cli_progress *p);
/* A few words shown after the ETA from the next update on. */
void cli_progress_note(struct cli_progress *p, const char *note);
/* Adapter for mmc_drive_set_progress(): ctx is a struct cli_progress. */
void cli_progress_fraction(double fraction, void *ctx);

extern const char *cli_progname;

struct option;
/*
 * Parse a command's options: --help, @extra (handed to @on_opt, which
 * returns 0 if taken, -1 for a bad option, 1 for a bad value it reported)
 * and at most @max_pos positional arguments, which start at optind.
 * Returns -1 to go on, else the exit status to return.
 */
int cli_parse_options(const char *cmd, int argc, char **argv,
		      const struct option *extra, int (*on_opt)(int, void *),
		      void *ctx, int max_pos);

/* cli_parse_options() handler of a lone --staging DIR ('s'): @ctx is a
 * const char ** that gets DIR. */
int cli_staging_opt(int c, void *ctx);

int cmd_create(int argc, char **argv);
int cmd_toc(int argc, char **argv);
int cmd_msinfo(int argc, char **argv);
int cmd_burn(int argc, char **argv);
int cmd_blank(int argc, char **argv);
int cmd_eject(int argc, char **argv);
int cmd_fix(int argc, char **argv);
int cmd_mkimage(int argc, char **argv);
int cmd_staging(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_status(int argc, char **argv);
/* cdsession-fix MOUNTPOINT: the daemon burns what is staged as the last
 * session, or closes the disc as it is (fs/fs.h, FS_CLOSE_XATTR); prints
 * the outcome.  0 or a negative errno with a message. */
int cli_close_mounted_disc(const char *dir);
/* cdsession status of a device (not mounted): medium and what is staged;
 * @dir is --staging or NULL.  0 or a negative errno with a message. */
int staging_status(const char *device, const char *dir);
/* not in the usage: lists a session as our reader sees it, for tests */
int cmd_lsiso(int argc, char **argv);
/* not in the usage: applies staging operations from stdin, for tests */
int cmd_stage(int argc, char **argv);

#endif
