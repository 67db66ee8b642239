/*
 * cmd_stage.c - `cdsession stage`, not in the usage: applies operations
 * read from stdin to the staging store of a disc through the staging API,
 * as the mounted filesystem will, so that tests of the staging commands
 * can stage changes without FUSE.  One operation per line, paths absolute
 * in the disc's view, no spaces in arguments:
 *
 *   mkdir PATH MODE | put PATH LOCALFILE | write PATH OFFSET TEXT |
 *   truncate PATH SIZE | rm PATH | rmdir PATH | mv OLD NEW |
 *   chmod MODE PATH | symlink TARGET PATH | link OLD NEW | mkfifo PATH
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/error.h"
#include "fs/medium.h"
#include "iso/node.h"
#include "staging/commit.h"
#include "staging/overlay.h"
#include "staging/store.h"

/* Split @path into its parent's inode and its last component. */
static int parent_of(struct stg_overlay *ov, const char *path, uint64_t *dir,
		     const char **name)
{
	char buf[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (path[0] != '/' || !slash || !slash[1])
		return cds_error(-EINVAL, "%s: not an absolute file path",
				 path);
	snprintf(buf, sizeof(buf), "%.*s", (int)(slash - path), path);
	int rc = stg_lookup_path(ov, buf, dir);
	if (rc)
		return cds_error(rc, "%s: %s", path, strerror(-rc));
	*name = slash + 1;
	return 0;
}

static int resolve(struct stg_overlay *ov, const char *path, uint64_t *ino)
{
	uint64_t dir;
	const char *name;
	int rc = parent_of(ov, path, &dir, &name);

	if (rc == 0 && (rc = stg_lookup(ov, dir, name, ino)))
		rc = cds_error(rc, "%s: %s", path, strerror(-rc));
	return rc;
}

static int put_file(struct stg_overlay *ov, const char *path, const char *local)
{
	static char buf[1 << 16];
	uint64_t dir, ino, off = 0;
	const char *name;
	int fd, rc = parent_of(ov, path, &dir, &name);
	ssize_t n;

	if (rc)
		return rc;
	fd = open(local, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cds_error(-errno, "%s: %s", local, strerror(errno));
	rc = stg_create(ov, dir, name, 0644, getuid(), getgid(), &ino);
	while (rc == 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		ssize_t w = stg_write(ov, ino, off, buf, (size_t)n);
		rc = w < 0 ? (int)w : 0;
		off += (uint64_t)n;
	}
	close(fd);
	return rc;
}

static int apply_line(struct stg_overlay *ov, char *line)
{
	char *save = NULL, *op = strtok_r(line, " \t\n", &save);
	char *a = strtok_r(NULL, " \t\n", &save);
	char *b = strtok_r(NULL, " \t\n", &save);
	char *c = strtok_r(NULL, "\n", &save);
	uint64_t dir, dir2, ino;
	const char *name, *name2;
	struct stg_attr at = {0};
	int rc;

	if (!op || op[0] == '#')
		return 0;
	if (!a)
		return cds_error(-EINVAL, "%s: missing argument", op);
	if (strcmp(op, "mkdir") == 0 && b) {
		rc = parent_of(ov, a, &dir, &name);
		return rc ? rc
			  : stg_mkdir(ov, dir, name,
				      (mode_t)strtoul(b, NULL, 8), getuid(),
				      getgid(), NULL);
	}
	if (strcmp(op, "put") == 0 && b)
		return put_file(ov, a, b);
	if (strcmp(op, "write") == 0 && b && c) {
		rc = resolve(ov, a, &ino);
		ssize_t w = rc ? rc
			       : stg_write(ov, ino, strtoull(b, NULL, 10), c,
					   strlen(c));
		return w < 0 ? (int)w : 0;
	}
	if (strcmp(op, "truncate") == 0 && b) {
		at.size = strtoull(b, NULL, 10);
		rc = resolve(ov, a, &ino);
		return rc ? rc : stg_setattr(ov, ino, &at, STG_SET_SIZE);
	}
	if (strcmp(op, "rm") == 0 || strcmp(op, "rmdir") == 0 ||
	    strcmp(op, "mkfifo") == 0) {
		rc = parent_of(ov, a, &dir, &name);
		if (rc)
			return rc;
		if (op[1] == 'k')
			return stg_mknod(ov, dir, name, S_IFIFO | 0644, 0,
					 getuid(), getgid(), NULL);
		return op[2] ? stg_rmdir(ov, dir, name)
			     : stg_unlink(ov, dir, name);
	}
	if (strcmp(op, "chmod") == 0 && b) {
		at.mode = (mode_t)strtoul(a, NULL, 8);
		rc = resolve(ov, b, &ino);
		return rc ? rc : stg_setattr(ov, ino, &at, STG_SET_MODE);
	}
	if (strcmp(op, "symlink") == 0 && b) {
		rc = parent_of(ov, b, &dir, &name);
		return rc ? rc
			  : stg_symlink(ov, dir, name, a, getuid(), getgid(),
					NULL);
	}
	if ((strcmp(op, "mv") == 0 || strcmp(op, "link") == 0) && b) {
		rc = parent_of(ov, a, &dir, &name);
		if (rc == 0)
			rc = parent_of(ov, b, &dir2, &name2);
		if (rc)
			return rc;
		if (op[0] == 'm')
			return stg_rename(ov, dir, name, dir2, name2, 0);
		rc = stg_lookup(ov, dir, name, &ino);
		return rc ? rc : stg_link(ov, ino, dir2, name2);
	}
	return cds_error(-EINVAL, "bad operation '%s'", op);
}

int cmd_stage(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"staging", required_argument, NULL, 's'}, {0}};
	const char *sdir = NULL;
	char dir[PATH_MAX], line[8192];
	struct fs_medium *m = NULL;
	struct stg_store *st = NULL;
	struct stg_overlay *ov = NULL;
	struct iso_node *base = NULL;
	struct stg_state_info si;
	unsigned lineno = 0;
	int rc;

	rc = cli_parse_options("stage", argc, argv, opts, cli_staging_opt,
			       &sdir, 1);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage_error("stage", "which device?");
	rc = fs_medium_open(argv[optind], 0, &m);
	if (rc == 0)
		rc = fs_medium_store_dir(m, sdir, dir, sizeof(dir));
	if (rc == 0)
		rc = stg_store_open(dir, &st);
	if (rc == 0)
		rc = stg_store_state(st, m->base_id, m->tag[0] ? m->tag : NULL,
				     &si);
	if (rc == 0 && si.state == STG_STATE_STALE)
		rc = stg_stale_error(st, si.staged_base, m->base_id);
	if (rc == 0)
		rc = fs_medium_read_tree(m, m->last_start, &base);
	if (rc == 0)
		rc = stg_overlay_open(st, base, m->base_id, STG_BASE_ID_SIZE,
				      fs_medium_read_file, m, &ov);
	while (rc == 0 && fgets(line, sizeof(line), stdin)) {
		lineno++;
		rc = apply_line(ov, line);
		if (rc < 0)
			rc = cds_error_wrap(rc, "line %u", lineno);
	}
	if (ov) {
		int src = stg_sync(ov);
		if (rc == 0)
			rc = src;
	}
	stg_overlay_close(ov);
	iso_node_free(base);
	stg_store_close(st);
	fs_medium_close(m);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}
