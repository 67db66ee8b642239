/*
 * cmd_staging.c - cdsession staging list|export|discard: look at, save or
 * drop what is staged for a disc, mainly when the disc got a session
 * elsewhere and the staged changes no longer apply to its last session.
 *
 * The changes are always shown over the session they were staged over
 * (the journal names it), which is still on the disc: a write-once medium
 * never loses a session.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/error.h"
#include "common/units.h"
#include "fs/medium.h"
#include "iso/node.h"
#include "mmc/drive.h"
#include "staging/changes.h"
#include "staging/commit.h"
#include "staging/journal.h"
#include "staging/overlay.h"
#include "staging/store.h"

struct staging_args {
	const char *sub;
	const char *dir; /* --staging */
	bool all, yes;
};

static int staging_opt(int c, void *ctx)
{
	struct staging_args *a = ctx;

	if (c == 's')
		a->dir = optarg;
	else if (c == 'a')
		a->all = true;
	else if (c == 'y')
		a->yes = true;
	else
		return -1;
	return 0;
}

/* ---- a store opened over the session its changes were staged over ---- */

struct staged {
	struct fs_medium *m;
	struct stg_store *st;
	struct stg_state_info si;
	struct iso_node *base;
	struct stg_overlay *ov;
	char dir[PATH_MAX];
	bool exists;
};

static void staged_close(struct staged *s)
{
	stg_overlay_close(s->ov);
	iso_node_free(s->base);
	stg_store_close(s->st);
	fs_medium_close(s->m);
}

static int open_medium(const char *device, struct fs_medium **m)
{
	char def[PATH_MAX];
	int rc;

	if (!device) {
		rc = mmc_drive_default_device(def, sizeof(def));
		if (rc < 0)
			return rc;
		device = def;
	}
	return fs_medium_open(device, 0, m);
}

/* Find the store of @device's disc and its state; *exists false when
 * there is no store directory at all (nothing is created then). */
static int staged_open(struct staged *s, const char *device, const char *dir)
{
	struct stat sb;
	int rc = open_medium(device, &s->m);

	if (rc == 0)
		rc = fs_medium_store_dir(s->m, dir, s->dir, sizeof(s->dir));
	if (rc < 0)
		return rc;
	s->exists = stat(s->dir, &sb) == 0;
	if (!s->exists)
		return 0;
	rc = stg_store_open(s->dir, &s->st);
	if (rc == 0)
		rc = stg_store_state(s->st, s->m->base_id,
				     s->m->tag[0] ? s->m->tag : NULL, &s->si);
	return rc;
}

/* Open the overlay over the session the changes were staged over. */
static int staged_load(struct staged *s)
{
	uint32_t start = stg_base_id_start(s->si.staged_base);
	uint8_t id[STG_BASE_ID_SIZE];
	int rc = stg_base_id(s->m->src, start, id);

	if (rc == 0 && memcmp(id, s->si.staged_base, sizeof(id)) != 0)
		rc = -ENOENT;
	if (rc < 0)
		return cds_error(rc == -ENOENT ? -ENOENT : rc,
				 "the session the changes in %s were staged "
				 "over (LBA %" PRIu32 ") is not on this disc",
				 s->dir, start);
	rc = fs_medium_read_tree(s->m, start, &s->base);
	if (rc == 0)
		rc = stg_overlay_open(s->st, s->base, s->si.staged_base,
				      STG_BASE_ID_SIZE, fs_medium_read_file,
				      s->m, &s->ov);
	return rc;
}

/* ---- list ---- */

static void print_header(const struct staged *s)
{
	printf("disc %s, last session at LBA %" PRIu32 "%s%s\n", s->m->disc_id,
	       s->m->last_start, s->m->tag[0] ? ", tag " : "", s->m->tag);
	printf("staging %s\n", s->dir);
}

static int list_changes(struct staged *s)
{
	struct stg_changes *ch = NULL;
	int rc = staged_load(s);

	if (rc == 0)
		rc = stg_changes_collect(s->ov, s->base, &ch);
	if (rc < 0)
		return rc;
	size_t n = stg_changes_count(ch);
	for (size_t i = 0; i < n; i++) {
		const struct stg_change *c = stg_changes_at(ch, i);
		printf("%-3s ", c->flags);
		cli_print_escaped(stdout, c->path);
		if (c->old_path) {
			fputs(" <- ", stdout);
			cli_print_escaped(stdout, c->old_path);
		}
		putchar('\n');
	}
	printf("%zu change%s\n", n, n == 1 ? "" : "s");
	stg_changes_free(ch);
	return 0;
}

static int staging_list(struct staged *s)
{
	uint32_t start = stg_base_id_start(s->si.staged_base);

	print_header(s);
	if (!s->exists || s->si.state == STG_STATE_EMPTY) {
		printf("nothing staged\n");
		return 0;
	}
	switch (s->si.state) {
	case STG_STATE_CURRENT:
		printf("changes staged over the last session:\n");
		break;
	case STG_STATE_BURNT:
		printf("changes staged over the session at LBA %" PRIu32
		       " are already in the last session (an interrupted "
		       "commit); the next mount releases them:\n",
		       start);
		break;
	default:
		printf("CONFLICT: changes staged over the session at LBA "
		       "%" PRIu32 ", which is no longer the last one; "
		       "export or discard them:\n",
		       start);
		break;
	}
	return list_changes(s);
}

/* Every store under the default root, without reading a disc. */
static int staging_list_all(void)
{
	char root[PATH_MAX], p[PATH_MAX + 300];
	int rc = stg_store_default_dir("x", root, sizeof(root));
	size_t n = 0;

	if (rc < 0)
		return rc;
	root[strlen(root) - 2] = '\0'; /* drop "/x" */
	DIR *d = opendir(root);
	if (!d) {
		if (errno != ENOENT)
			return cds_error(-errno, "%s: %s", root,
					 strerror(errno));
		printf("no staging directories in %s\n", root);
		return 0;
	}
	const struct dirent *e;
	while ((e = readdir(d))) {
		uint8_t hdr[STG_BASE_ID_SIZE];
		size_t len = 0;
		if (e->d_name[0] == '.' || stg_store_check_id(e->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/%s/journal", root, e->d_name);
		rc = stg_journal_peek_header(p, hdr, sizeof(hdr), &len);
		if (rc == -ENOENT) {
			printf("%s\tnothing staged\n", e->d_name);
		} else if (rc < 0 || len != STG_BASE_ID_SIZE) {
			printf("%s\tdamaged journal header\n", e->d_name);
		} else {
			struct stat sb;
			char size[32];
			uint64_t bytes = 0;
			if (stat(p, &sb) == 0)
				bytes = (uint64_t)sb.st_size;
			cds_human_size(bytes, size, sizeof(size));
			printf("%s\tstaged over the session at LBA %" PRIu32
			       ", journal %s\n",
			       e->d_name, stg_base_id_start(hdr), size);
		}
		n++;
	}
	closedir(d);
	if (n == 0)
		printf("no staging directories in %s\n", root);
	cds_error_clear();
	return 0;
}

/* ---- export ---- */

struct exported {
	uint64_t ino;
	char *path;
};

static int copy_file(struct stg_overlay *ov, uint64_t ino, const char *dst,
		     uint64_t size)
{
	static uint8_t buf[1 << 20];
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return cds_error(-errno, "%s: %s", dst, strerror(errno));
	for (uint64_t off = 0; off < size && !rc;) {
		ssize_t n = stg_read(ov, ino, off, buf, sizeof(buf));
		if (n <= 0) {
			rc = n < 0 ? (int)n : cds_error(-EIO, "short read");
			break;
		}
		if (write(fd, buf, (size_t)n) != n)
			rc = cds_error(-errno, "%s: %s", dst, strerror(errno));
		off += (uint64_t)n;
	}
	if (close(fd) && !rc)
		rc = cds_error(-errno, "%s: %s", dst, strerror(errno));
	return rc;
}

/* mkdir -p of @path's parents under the export root (mode 0755). */
static int make_parents(char *path, size_t root_len)
{
	for (char *p = path + root_len + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		int rc = mkdir(path, 0755) && errno != EEXIST ? -errno : 0;
		*p = '/';
		if (rc)
			return cds_error(rc, "%s: %s", path, strerror(-rc));
	}
	return 0;
}

static void set_attrs(const char *dst, const struct stg_attr *a)
{
	struct timespec ts[2] = {a->atime, a->mtime};

	if (geteuid() == 0)
		(void)lchown(dst, a->uid, a->gid);
	if (!S_ISLNK(a->mode))
		(void)chmod(dst, a->mode & 07777);
	(void)utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW);
}

static int export_one(struct staged *s, const struct stg_change *c,
		      const char *dst, struct exported *done, size_t *ndone,
		      unsigned *skipped, uint64_t *bytes)
{
	struct stg_attr a;
	int rc = stg_getattr(s->ov, c->ino, &a);

	if (rc < 0)
		return rc;
	if (S_ISDIR(a.mode)) {
		if (mkdir(dst, 0700) && errno != EEXIST)
			return cds_error(-errno, "%s: %s", dst,
					 strerror(errno));
		return 0; /* attributes after the children */
	}
	/* another name of an inode exported already (only those with several
	 * names are remembered: a scan per file would be quadratic) */
	for (size_t i = 0; a.nlink > 1 && i < *ndone; i++)
		if (done[i].ino == c->ino) {
			if (link(done[i].path, dst))
				return cds_error(-errno, "%s: %s", dst,
						 strerror(errno));
			return 0;
		}
	if (S_ISREG(a.mode)) {
		rc = copy_file(s->ov, c->ino, dst, a.size);
		*bytes += a.size;
	} else if (S_ISLNK(a.mode)) {
		char target[PATH_MAX];
		rc = stg_readlink(s->ov, c->ino, target, sizeof(target));
		if (rc >= 0 && symlink(target, dst))
			rc = cds_error(-errno, "%s: %s", dst, strerror(errno));
	} else if (mknod(dst, a.mode, a.rdev)) {
		fprintf(stderr, "%s: warning: %s not exported: %s\n",
			cli_progname, dst, strerror(errno));
		(*skipped)++;
		return 0;
	}
	if (rc < 0)
		return rc;
	set_attrs(dst, &a);
	if (a.nlink <= 1)
		return 0;
	done[*ndone].ino = c->ino;
	done[*ndone].path = strdup(dst);
	if (!done[*ndone].path)
		return -ENOMEM;
	(*ndone)++;
	return 0;
}

static bool empty_or_missing(const char *dir)
{
	DIR *d = opendir(dir);
	const struct dirent *e;
	bool empty = true;

	if (!d)
		return errno == ENOENT;
	while (empty && (e = readdir(d)))
		empty =
		    strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

static int staging_export(struct staged *s, const char *dest)
{
	struct stg_changes *ch = NULL;
	struct exported *done = NULL;
	size_t ndone = 0, ndel = 0, nexp = 0, root_len = strlen(dest);
	unsigned skipped = 0;
	uint64_t bytes = 0;
	char dst[PATH_MAX * 2];
	int rc;

	if (!s->exists || s->si.state == STG_STATE_EMPTY)
		return cds_error(-ENOENT, "nothing staged for disc %s (%s)",
				 s->m->disc_id, s->dir);
	if (!empty_or_missing(dest))
		return cds_error(-EEXIST, "%s exists and is not empty", dest);
	if (mkdir(dest, 0755) && errno != EEXIST)
		return cds_error(-errno, "%s: %s", dest, strerror(errno));
	rc = staged_load(s);
	if (rc == 0)
		rc = stg_changes_collect(s->ov, s->base, &ch);
	if (rc < 0)
		return rc;
	size_t nch = stg_changes_count(ch);
	done = calloc(nch + 1, sizeof(*done));
	if (!done)
		rc = -ENOMEM;
	for (size_t i = 0; i < nch && rc == 0; i++) {
		const struct stg_change *c = stg_changes_at(ch, i);
		if (c->flags[0] == 'D') {
			ndel++;
			continue;
		}
		snprintf(dst, sizeof(dst), "%s%s", dest, c->path);
		rc = make_parents(dst, root_len);
		if (rc == 0)
			rc = export_one(s, c, dst, done, &ndone, &skipped,
					&bytes);
		nexp++;
	}
	/* directories last, deepest first, so their times stay */
	for (size_t i = nch; i-- > 0 && rc == 0;) {
		const struct stg_change *c = stg_changes_at(ch, i);
		struct stg_attr a;
		if (c->flags[0] == 'D' || stg_getattr(s->ov, c->ino, &a) ||
		    !S_ISDIR(a.mode))
			continue;
		snprintf(dst, sizeof(dst), "%s%s", dest, c->path);
		set_attrs(dst, &a);
	}
	if (rc == 0) {
		char size[32];
		cds_human_size(bytes, size, sizeof(size));
		printf("exported %zu entr%s (%s of data) to %s", nexp - skipped,
		       nexp - skipped == 1 ? "y" : "ies", size, dest);
		if (ndel)
			printf("; %zu deletion%s not exported (see cdsession "
			       "staging list)",
			       ndel, ndel == 1 ? " is" : "s are");
		putchar('\n');
	}
	for (size_t i = 0; i < ndone; i++)
		free(done[i].path);
	free(done);
	stg_changes_free(ch);
	return rc;
}

/* ---- discard ---- */

static int staging_discard(struct staged *s, const char *dir, bool yes)
{
	int rc;

	if (!s->st) {
		struct stat sb;
		if (stat(dir, &sb) != 0) {
			printf("nothing staged (%s does not exist)\n", dir);
			return 0;
		}
		rc = stg_store_open(dir, &s->st);
		if (rc < 0)
			return rc;
	}
	if (!yes)
		return cds_error(-EPERM,
				 "discard deletes everything staged in %s for "
				 "good; add --yes to do it",
				 dir);
	rc = stg_commit_discard(s->st);
	if (rc == 0)
		printf("discarded %s\n", dir);
	return rc;
}

int cmd_staging(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"staging", required_argument, NULL, 's'},
	    {"all", no_argument, NULL, 'a'},
	    {"yes", no_argument, NULL, 'y'},
	    {0}};
	struct staging_args a = {0};
	struct staged s = {0};
	const char *device = NULL, *dest = NULL;
	int rc, npos;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
				  strcmp(argv[1], "-h") == 0)) {
			cli_usage(stdout, "staging");
			return CLI_EXIT_OK;
		}
		return cli_usage_error("staging",
				       "say list, export or discard");
	}
	a.sub = argv[1];
	bool list = strcmp(a.sub, "list") == 0;
	bool export = strcmp(a.sub, "export") == 0;
	bool discard = strcmp(a.sub, "discard") == 0;
	if (!list && !export && !discard)
		return cli_usage_error("staging",
				       "unknown staging command '%s'", a.sub);
	rc = cli_parse_options("staging", argc - 1, argv + 1, opts, staging_opt,
			       &a, export ? 2 : 1);
	if (rc >= 0)
		return rc;
	npos = argc - 1 - optind;
	if ((a.all && !list) || (a.yes && !discard))
		return cli_usage_error("staging", "--%s is for %s",
				       a.all ? "all" : "yes",
				       a.all ? "list" : "discard");
	if (export) {
		if (npos < 1)
			return cli_usage_error("staging",
					       "export needs a destination "
					       "directory");
		dest = argv[argc - 1];
		if (npos == 2)
			device = argv[argc - 2];
	} else if (npos == 1) {
		device = argv[argc - 1];
	}
	if (list && a.all) {
		if (device)
			return cli_usage_error("staging",
					       "--all takes no device");
		rc = staging_list_all();
		return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
	}

	if (discard && a.dir && !device) {
		rc = staging_discard(&s, a.dir, a.yes);
		staged_close(&s);
		return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
	}
	rc = staged_open(&s, device, a.dir);
	if (rc == 0) {
		if (list)
			rc = staging_list(&s);
		else if (export)
			rc = staging_export(&s, dest);
		else
			rc = staging_discard(&s, s.dir, a.yes);
	}
	staged_close(&s);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

/* ---- cdsession status DEVICE ---- */

int staging_status(const char *device, const char *dir)
{
	struct staged s = {0};
	struct mmc_disc disc;
	char cap[32], avail[32], desc[PATH_MAX + 200];
	int rc = staged_open(&s, device, dir);

	if (rc == 0)
		rc = mmc_drive_disc(s.m->drive, &disc);
	if (rc < 0)
		goto out;
	cds_human_size((uint64_t)disc.capacity * 2048, cap, sizeof(cap));
	cds_human_size((uint64_t)(disc.nwa_valid ? disc.free_blocks : 0) * 2048,
		       avail, sizeof(avail));
	fs_medium_describe(s.m, &disc, device ? device : "(default burner)",
			   desc, sizeof(desc));
	printf("%scapacity: %s\nfree: %s\n", desc, cap, avail);
	printf("staging: %s\n", s.dir);
	if (!s.exists || s.si.state == STG_STATE_EMPTY) {
		printf("pending: nothing staged\n");
		goto out;
	}
	uint64_t n = 0, bytes = 0;
	rc = staged_load(&s);
	if (rc == 0)
		rc = stg_changes_summary(s.ov, s.base, &n, &bytes);
	if (rc < 0)
		goto out;
	cds_human_size(bytes, cap, sizeof(cap));
	printf("pending: %" PRIu64 " change%s, %s of new data%s\n", n,
	       n == 1 ? "" : "s", cap,
	       s.si.state == STG_STATE_STALE
		   ? " (CONFLICT: staged over an older session; see "
		     "cdsession staging list)"
	       : s.si.state == STG_STATE_BURNT
		   ? " (already in the last session; released at the next "
		     "mount)"
		   : "");
out:
	staged_close(&s);
	return rc;
}
