/*
 * cmd_mkimage.c - `cdsession mkimage`: what `mkisofs -R -J [-C] [-M] -o OUT
 * PATH...` builds, from the iso/ reader and writer; and `cdsession lsiso`,
 * a hidden listing of a session as our reader sees it (for tests).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/error.h"
#include "common/sector.h"
#include "iso/node.h"
#include "iso/reader.h"
#include "iso/writer.h"
#include "mmc/drive.h"
#include "mmc/emu.h"
#include "tree_scan.h"

/* Sectors produced per write(2): 1 MiB keeps syscalls rare and the
 * buffer in cache. */
#define MKIMAGE_CHUNK_SECTORS 512u

struct mkimage_args {
	const char *out, *prev, *volume_id, *tag;
	char prev_volume_id[33]; /* kept when -V is not given, as xorriso */
	bool have_c;
	uint32_t last, next;
};

/* "last,next" as mkisofs -C takes it (the output of cdsession msinfo). */
static int parse_c(const char *arg, uint32_t *last, uint32_t *next)
{
	unsigned long long a, b;
	char *end;

	errno = 0;
	a = strtoull(arg, &end, 10);
	if (errno || end == arg || *end != ',' || arg[0] == '-')
		return -1;
	arg = end + 1;
	b = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || a > UINT32_MAX ||
	    b > UINT32_MAX)
		return -1;
	*last = (uint32_t)a;
	*next = (uint32_t)b;
	return 0;
}

/*
 * Options as mkisofs spells them (short -C -M -V -o) besides --tag, so
 * cli_parse_options(), which takes long options only, does not fit.
 * Returns -1 to go on, else the exit status.
 */
static int parse_args(int argc, char **argv, struct mkimage_args *a)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"tag", required_argument, NULL, 't'},
	    {0}};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hC:M:V:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cli_usage(stdout, "mkimage");
			return CLI_EXIT_OK;
		case 'C':
			if (parse_c(optarg, &a->last, &a->next) < 0)
				return cli_usage_error(
				    "mkimage",
				    "bad -C '%s': give last,next as "
				    "cdsession msinfo prints them",
				    optarg);
			a->have_c = true;
			break;
		case 'M':
			a->prev = optarg;
			break;
		case 'V':
			a->volume_id = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 't':
			a->tag = optarg;
			break;
		case ':':
			return cli_usage_error("mkimage",
					       "option '%s' needs "
					       "a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("mkimage", "bad option '%s'",
					       argv[optind - 1]);
		}
	}
	if (!a->out)
		return cli_usage_error("mkimage", "missing -o OUT");
	if (optind >= argc)
		return cli_usage_error("mkimage", "missing PATH");
	if (a->prev && a->have_c && a->next <= a->last)
		return cli_usage_error("mkimage",
				       "-C %u,%u: the new session must start "
				       "after the previous one",
				       a->last, a->next);
	return -1;
}

/*
 * The medium behind -M (or lsiso): a device node or a virtual disc is
 * read through the drive layer, which also knows where its sessions are;
 * any other file is an image laid out like a disc (LBA n at byte n*2048),
 * as mkisofs -M reads one.  @d stays NULL for a plain file.
 */
static int open_medium(const char *path, struct mmc_drive **d,
		       struct cds_source **src)
{
	struct stat st;
	int rc;

	*d = NULL;
	if (stat(path, &st) < 0)
		return cds_error(-errno, "%s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode) && mmc_emu_probe(path) < 0)
		return cds_file_source_open(path, src);
	rc = mmc_drive_open(path, MMC_DRIVE_READ_ONLY, d);
	if (rc < 0)
		return rc;
	rc = mmc_drive_source(*d, src);
	if (rc < 0) {
		mmc_drive_close(*d);
		*d = NULL;
	}
	return rc;
}

/* The tree of the session at @start of @src; *max_ino its largest
 * Rock Ridge serial. */
static int read_session(struct cds_source *src, uint32_t start,
			struct mkimage_args *a, struct iso_node **root,
			uint64_t *max_ino)
{
	const char *what = a->prev;
	struct iso_reader *r = NULL;
	int rc;

	rc = iso_reader_open(src, start, NULL, &r);
	if (rc == 0)
		rc = iso_reader_load_all(r);
	if (rc == 0) {
		*max_ino = iso_reader_max_ino(r);
		snprintf(a->prev_volume_id, sizeof(a->prev_volume_id), "%s",
			 iso_reader_volume_id(r));
		if (!a->volume_id && a->prev_volume_id[0])
			a->volume_id = a->prev_volume_id;
		*root = iso_reader_take_root(r);
		if (!*root)
			rc = -EIO;
	}
	iso_reader_close(r);
	if (rc < 0)
		return cds_error_wrap(rc, "%s: session at LBA %u", what, start);
	return 0;
}

/* The previous session's tree (-M), and the -C numbers from the drive
 * when they were not given. */
static int load_previous(struct mkimage_args *a, struct iso_node **root,
			 uint64_t *max_ino)
{
	struct cds_source *src = NULL;
	struct mmc_drive *d = NULL;
	int rc;

	rc = open_medium(a->prev, &d, &src);
	if (rc < 0)
		return rc;
	if (!a->have_c) {
		if (!d) {
			rc = cds_error(-EINVAL,
				       "-M %s is an image file: give -C "
				       "last,next (where its last session "
				       "starts, and where the new one will)",
				       a->prev);
			goto out;
		}
		rc = mmc_drive_msinfo(d, &a->last, &a->next);
		if (rc < 0)
			goto out;
		a->have_c = true;
	}
	rc = read_session(src, a->last, a, root, max_ino);
out:
	cds_source_close(src);
	mmc_drive_close(d);
	return rc;
}

/* The root of a fresh image, for when no PATH is a directory. */
static struct iso_node *fresh_root(void)
{
	struct iso_node *root = iso_node_new("", S_IFDIR | 0755);
	struct timespec now;

	if (!root)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	root->atime = root->mtime = root->ctime = now;
	root->uid = getuid();
	root->gid = getgid();
	root->children_loaded = true;
	return root;
}

/* The temporary file OUT is written as until it is complete; removed by
 * the signal handler when mkimage is interrupted. */
static char tmp_path[PATH_MAX + 16];

static void remove_tmp_and_die(int sig)
{
	if (tmp_path[0])
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int open_output(const char *out, int *fd)
{
	struct sigaction sa = {.sa_handler = remove_tmp_and_die};
	mode_t mask;
	int n;

	if (strcmp(out, "-") == 0) {
		if (isatty(STDOUT_FILENO))
			return cds_error(-EINVAL, "not writing an image to a "
						  "terminal: redirect "
						  "standard output");
		*fd = STDOUT_FILENO;
		return 0;
	}
	n = snprintf(tmp_path, sizeof(tmp_path), "%s.XXXXXX", out);
	if (n < 0 || (size_t)n >= sizeof(tmp_path)) {
		tmp_path[0] = '\0';
		return cds_error(-ENAMETOOLONG, "%s: name too long", out);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	*fd = mkostemp(tmp_path, O_CLOEXEC);
	if (*fd < 0) {
		n = errno;
		tmp_path[0] = '\0';
		return cds_error(-n, "%s: %s", out, strerror(n));
	}
	/* mkstemp makes 0600; OUT gets what open(2) would have given it */
	mask = umask(0);
	umask(mask);
	if (fchmod(*fd, 0666 & ~mask) < 0) {
		n = errno;
		return cds_error(-n, "%s: %s", tmp_path, strerror(n));
	}
	return 0;
}

/* Keep the image out of itself: its temporary file and an OUT it
 * replaces may lie inside a PATH. */
static int exclude_output(struct tree_scan *s, const char *out, int fd)
{
	struct stat st;
	int rc = 0;

	if (fd != STDOUT_FILENO && fstat(fd, &st) == 0)
		rc = tree_scan_exclude(s, st.st_dev, st.st_ino);
	if (rc == 0 && fd != STDOUT_FILENO && stat(out, &st) == 0)
		rc = tree_scan_exclude(s, st.st_dev, st.st_ino);
	return rc;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cds_error(-errno, "writing the image: %s",
					 strerror(errno));
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Produce the session sector by sector into @fd. */
static int write_session(struct iso_writer *w, int fd)
{
	uint32_t total = iso_writer_nsectors(w), done = 0;
	uint8_t *buf = malloc((size_t)MKIMAGE_CHUNK_SECTORS * CDS_SECTOR_SIZE);
	struct cli_progress *p;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	p = cli_progress_new("mkimage", (uint64_t)total * CDS_SECTOR_SIZE);
	while (done < total) {
		uint32_t n = total - done < MKIMAGE_CHUNK_SECTORS
				 ? total - done
				 : MKIMAGE_CHUNK_SECTORS;

		rc = iso_writer_read(w, done, n, buf);
		if (rc == 0)
			rc = write_all(fd, buf, (size_t)n * CDS_SECTOR_SIZE);
		if (rc < 0)
			break;
		done += n;
		cli_progress_update(p, (uint64_t)done * CDS_SECTOR_SIZE);
	}
	cli_progress_done(p);
	free(buf);
	return rc;
}

/* The session time: SOURCE_DATE_EPOCH when set, for reproducible
 * images (reproducible-builds.org/specs/source-date-epoch), else now. */
static time_t session_time(void)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (e && *e) {
		errno = 0;
		v = strtoll(e, &end, 10);
		if (!errno && !*end && v >= 0)
			return (time_t)v;
	}
	return time(NULL);
}

int cmd_mkimage(int argc, char **argv)
{
	struct mkimage_args a = {0};
	struct iso_write_opts wo = {0};
	struct iso_writer *w = NULL;
	struct tree_scan *scan = NULL;
	struct iso_node *root = NULL;
	uint64_t max_ino = 0, next_ino;
	int fd = -1, rc, i;

	rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (a.prev) {
		rc = load_previous(&a, &root, &max_ino);
		if (rc < 0)
			goto out;
	} else {
		root = fresh_root();
		if (!root) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = open_output(a.out, &fd);
	if (rc < 0)
		goto out;
	rc = tree_scan_new(root, max_ino + 1, &scan);
	if (rc == 0)
		rc = exclude_output(scan, a.out, fd);
	for (i = optind; rc == 0 && i < argc; i++)
		rc = tree_scan_add(scan, argv[i]);
	if (rc == 0)
		rc = tree_scan_finish(scan, &next_ino);
	if (rc < 0)
		goto out;
	wo.start_lba = a.have_c ? a.next : 0;
	wo.volume_id = a.volume_id;
	wo.tag = a.tag;
	wo.next_ino = next_ino;
	wo.now = session_time();
	rc = iso_writer_new(root, &wo, &w);
	if (rc == 0)
		rc = write_session(w, fd);
	if (rc < 0 || fd == STDOUT_FILENO)
		goto out;
	rc = close(fd);
	fd = -1;
	if (rc < 0)
		rc = cds_error(-errno, "%s: %s", tmp_path, strerror(errno));
	else if (rename(tmp_path, a.out) < 0)
		rc = cds_error(-errno, "%s: %s", a.out, strerror(errno));
	else
		tmp_path[0] = '\0';
out:
	iso_writer_free(w);
	tree_scan_free(scan);
	iso_node_free(root);
	if (fd >= 0 && fd != STDOUT_FILENO)
		close(fd);
	if (tmp_path[0]) {
		unlink(tmp_path);
		tmp_path[0] = '\0';
	}
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "dir";
	case S_IFREG:
		return "file";
	case S_IFLNK:
		return "symlink";
	case S_IFCHR:
		return "chr";
	case S_IFBLK:
		return "blk";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "sock";
	default:
		return "unknown";
	}
}

static void print_node(const char *path, const struct iso_node *n)
{
	uint32_t k;

	cli_print_escaped(stdout, path);
	printf("\ttype=%s mode=%04o uid=%u gid=%u nlink=%u size=%" PRIu64
	       " mtime=%lld.%09ld ino=%" PRIu64,
	       type_name(n->mode), (unsigned)(n->mode & 07777),
	       (unsigned)n->uid, (unsigned)n->gid, n->nlink, n->size,
	       (long long)n->mtime.tv_sec, n->mtime.tv_nsec, n->ino);
	for (k = 0; k < n->nextents; k++)
		printf("%s%u:%u", k ? "," : " extents=", n->extents[k].lba,
		       n->extents[k].length);
	if (n->symlink) {
		fputs(" target=", stdout);
		cli_print_escaped(stdout, n->symlink);
	}
	if (S_ISCHR(n->mode) || S_ISBLK(n->mode))
		printf(" rdev=%u:%u", major(n->rdev), minor(n->rdev));
	putchar('\n');
}

static int cmp_nodes(const void *a, const void *b)
{
	return strcmp((*(struct iso_node *const *)a)->name,
		      (*(struct iso_node *const *)b)->name);
}

/* Depth first, children by name, so listings compare with diff. */
static int print_tree(char *path, size_t len, size_t cap,
		      const struct iso_node *dir)
{
	struct iso_node **sorted;
	uint32_t k;
	int rc = 0;

	if (!dir->nchildren)
		return 0;
	sorted = calloc(dir->nchildren, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, dir->children, dir->nchildren * sizeof(*sorted));
	qsort(sorted, dir->nchildren, sizeof(*sorted), cmp_nodes);
	for (k = 0; k < dir->nchildren && rc == 0; k++) {
		size_t nlen = strlen(sorted[k]->name);

		if (len + 1 + nlen + 1 > cap) {
			rc = cds_error(-ENAMETOOLONG, "path too long");
			break;
		}
		path[len] = '/';
		memcpy(path + len + 1, sorted[k]->name, nlen + 1);
		print_node(path, sorted[k]);
		if (iso_node_is_dir(sorted[k]))
			rc = print_tree(path, len + 1 + nlen, cap, sorted[k]);
		path[len] = '\0';
	}
	free(sorted);
	return rc;
}

static int lsiso_opt(int c, void *ctx)
{
	uint32_t *start = ctx;
	unsigned long v;
	char *end;

	if (c != 'T')
		return -1;
	errno = 0;
	v = strtoul(optarg, &end, 10);
	if (errno || end == optarg || *end || optarg[0] == '-' ||
	    v > UINT32_MAX) {
		cli_failf("bad session start '%s'", optarg);
		return 1;
	}
	start[0] = (uint32_t)v;
	start[1] = 1;
	return 0;
}

/*
 * lsiso [--start LBA] DEVICE|FILE: every node of a session as our reader
 * builds it, one line each (for tests; not in the usage).  Without
 * --start: the last session of a disc, LBA 0 of an image file.
 */
int cmd_lsiso(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"start", required_argument, NULL, 'T'}, {0}};
	uint32_t start[2] = {0, 0}, next;
	struct cds_source *src = NULL;
	struct mmc_drive *d = NULL;
	struct iso_reader *r = NULL;
	const char *tag;
	char *path = NULL;
	int rc;

	rc = cli_parse_options("lsiso", argc, argv, opts, lsiso_opt, start, 1);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage_error("lsiso", "missing DEVICE or FILE");
	rc = open_medium(argv[optind], &d, &src);
	if (rc < 0)
		goto out;
	if (!start[1] && d)
		rc = mmc_drive_msinfo(d, &start[0], &next);
	if (rc == 0)
		rc = iso_reader_open(src, start[0], NULL, &r);
	if (rc == 0)
		rc = iso_reader_load_all(r);
	if (rc < 0)
		goto out;
	tag = iso_reader_tag(r);
	printf("# tree %s\n# volume-id %s\n# tag %s\n# max-ino %" PRIu64 "\n",
	       iso_reader_kind(r) == ISO_TREE_ROCK_RIDGE ? "rock-ridge"
	       : iso_reader_kind(r) == ISO_TREE_JOLIET	 ? "joliet"
							 : "iso9660",
	       iso_reader_volume_id(r), tag ? tag : "-", iso_reader_max_ino(r));
	path = malloc(PATH_MAX * 4);
	if (!path) {
		rc = -ENOMEM;
		goto out;
	}
	path[0] = '\0';
	print_node("/", iso_reader_root(r));
	rc = print_tree(path, 0, PATH_MAX * 4, iso_reader_root(r));
out:
	free(path);
	iso_reader_close(r);
	cds_source_close(src);
	mmc_drive_close(d);
	return rc < 0 ? cli_fail(rc) : CLI_EXIT_OK;
}
