/*
 * mount.cdsession_main.c - mount.cdsession SOURCE MOUNTPOINT [-o OPTS]:
 * the mount helper (also what `mount -t cdsession` and fstab run).
 * Options are split into cdsession's own and FUSE's; see
 * mount.cdsession(8).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "fs/fs.h"
#include "mmc/emu.h"

#define USAGE                                                                  \
	"usage: mount.cdsession SOURCE MOUNTPOINT [-f] [-d] [-o OPTIONS]\n"    \
	"SOURCE is a block or sg device or a virtual disc file.  Options: "    \
	"ro, session=N,\nstaging=DIR, commit=umount|manual, close, dummy, "    \
	"speed=N, volid=ID,\nverify=on|off, sync=commit|durable, create, "     \
	"media=cdr74|cdr80|cdrw,\nallow_other and FUSE's; see "                \
	"mount.cdsession(8).\n"

struct mount_args {
	struct fs_opts o;
	bool create;
	const char *media;
	char fuse_opts[4096];
	size_t fuse_len;
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mount.cdsession: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

static int parse_uint(const char *v, const char *name, unsigned *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (!*v || *end || n > 100000)
		return bad("bad number in %s", name);
	*out = (unsigned)n;
	return 0;
}

static int pass_to_fuse(struct mount_args *a, const char *opt)
{
	size_t n = strlen(opt);

	if (a->fuse_len + n + 2 > sizeof(a->fuse_opts))
		return bad("too many options (%s)", opt);
	if (a->fuse_len)
		a->fuse_opts[a->fuse_len++] = ',';
	memcpy(a->fuse_opts + a->fuse_len, opt, n + 1);
	a->fuse_len += n;
	return 0;
}

/* One option of -o. */
static int take_option(struct mount_args *a, char *opt)
{
	char *eq = strchr(opt, '=');
	const char *v = eq ? eq + 1 : NULL;
	struct fs_opts *o = &a->o;

	if (eq)
		*eq = '\0';
	if (!strcmp(opt, "ro"))
		o->ro = true;
	else if (!strcmp(opt, "rw"))
		o->ro = false;
	else if (!strcmp(opt, "session") && v)
		return parse_uint(v, "session=", &o->session) || o->session == 0
			   ? bad("session=%s: give a session number from 1", v)
			   : 0;
	else if (!strcmp(opt, "staging") && v && *v)
		o->staging = v;
	else if (!strcmp(opt, "commit") && v && !strcmp(v, "umount"))
		o->commit_manual = false;
	else if (!strcmp(opt, "commit") && v && !strcmp(v, "manual"))
		o->commit_manual = true;
	else if (!strcmp(opt, "close") && !v)
		o->close_disc = true;
	else if (!strcmp(opt, "dummy") && !v)
		o->dummy = true;
	else if (!strcmp(opt, "speed") && v)
		return parse_uint(v, "speed=", &o->speed);
	else if (!strcmp(opt, "volid") && v && *v)
		o->volid = v;
	else if (!strcmp(opt, "verify") && v &&
		 (!strcmp(v, "on") || !strcmp(v, "off")))
		o->no_verify = !strcmp(v, "off");
	else if (!strcmp(opt, "sync") && v &&
		 (!strcmp(v, "commit") || !strcmp(v, "durable")))
		o->sync_durable = !strcmp(v, "durable");
	else if (!strcmp(opt, "create") && !v)
		a->create = true;
	else if (!strcmp(opt, "media") && v && *v)
		a->media = v;
	else if (!strcmp(opt, "allow_other") && !v)
		o->allow_other = true;
	/* fstab's and mount(8)'s own words, and what is always on */
	else if (!strcmp(opt, "defaults") || !strcmp(opt, "auto") ||
		 !strcmp(opt, "noauto") || !strcmp(opt, "user") ||
		 !strcmp(opt, "users") || !strcmp(opt, "nofail") ||
		 !strcmp(opt, "_netdev") || !strncmp(opt, "x-", 2) ||
		 !strcmp(opt, "default_permissions"))
		return 0;
	else if (!strcmp(opt, "session") || !strcmp(opt, "staging") ||
		 !strcmp(opt, "commit") || !strcmp(opt, "speed") ||
		 !strcmp(opt, "volid") || !strcmp(opt, "verify") ||
		 !strcmp(opt, "sync") || !strcmp(opt, "media") ||
		 !strcmp(opt, "close") || !strcmp(opt, "dummy") ||
		 !strcmp(opt, "create"))
		return bad("bad value for option %s", opt);
	else {
		if (eq)
			*eq = '=';
		return pass_to_fuse(a, opt);
	}
	return 0;
}

static int take_options(struct mount_args *a, char *list)
{
	for (char *save = NULL, *opt = strtok_r(list, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save))
		if (take_option(a, opt))
			return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	static struct mount_args a;
	const char *pos[2];
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			fputs(USAGE, stdout);
			return 0;
		} else if (!strcmp(s, "-V") || !strcmp(s, "--version")) {
			printf("mount.cdsession %s\n", CDS_VERSION);
			return 0;
		} else if (!strcmp(s, "-o") && i + 1 < argc) {
			if (take_options(&a, argv[++i]))
				return 1;
		} else if (!strncmp(s, "-o", 2) && s[2]) {
			char *copy = strdup(s + 2);
			int rc = copy ? take_options(&a, copy) : -ENOMEM;
			/* options point into it: kept for the mount's life */
			if (rc)
				return 1;
		} else if (!strcmp(s, "-f")) {
			a.o.foreground = true;
		} else if (!strcmp(s, "-d")) {
			a.o.foreground = a.o.debug = true;
		} else if (!strcmp(s, "-n") || !strcmp(s, "-s") ||
			   !strcmp(s, "-v")) {
			/* mount(8)'s: no mtab, sloppy, verbose */
		} else if (!strcmp(s, "-t") && i + 1 < argc) {
			i++; /* mount(8) may pass the type */
		} else if (s[0] == '-' && s[1]) {
			fprintf(stderr, "mount.cdsession: bad option %s\n%s", s,
				USAGE);
			return 2;
		} else if (npos < 2) {
			pos[npos++] = s;
		} else {
			fprintf(stderr, "mount.cdsession: too many "
					"arguments\n" USAGE);
			return 2;
		}
	}
	if (npos != 2) {
		fprintf(stderr, "mount.cdsession: need SOURCE and "
				"MOUNTPOINT\n" USAGE);
		return 2;
	}
	a.o.source = pos[0];
	a.o.mountpoint = pos[1];
	a.o.fuse_opts = a.fuse_len ? a.fuse_opts : NULL;

	struct stat sb;
	if (a.create && stat(a.o.source, &sb) != 0) {
		enum mmc_emu_media media = MMC_EMU_CDR80;
		int rc = a.media ? mmc_emu_media_parse(a.media, &media) : 0;
		if (rc == 0)
			rc = mmc_emu_create(a.o.source, media);
		if (rc < 0) {
			fprintf(stderr, "mount.cdsession: %s\n",
				cds_errmsg(rc));
			return 1;
		}
	}
	return fs_run(&a.o);
}
