/* node.c - the file tree: allocation, children, names. */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

struct iso_node *iso_node_new(const char *name, mode_t mode)
{
	struct iso_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name ? name : "");
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->mode = mode;
	n->nlink = 1;
	return n;
}

void iso_node_free(struct iso_node *n)
{
	uint32_t i;

	if (!n)
		return;
	for (i = 0; i < n->nchildren; i++)
		iso_node_free(n->children[i]);
	free(n->children);
	if (n->content)
		n->content->ops->release(n->content);
	free(n->extents);
	free(n->symlink);
	free(n->name);
	free(n);
}

int iso_node_add_child(struct iso_node *dir, struct iso_node *child)
{
	if (!iso_node_is_dir(dir))
		return cds_error(-ENOTDIR, "%s is not a directory", dir->name);
	if (iso_node_find_child(dir, child->name))
		return cds_error(-EEXIST, "%s: a file named %s exists already",
				 dir->name, child->name);
	return iso_node_append_child(dir, child);
}

int iso_node_append_child(struct iso_node *dir, struct iso_node *child)
{
	if (dir->nchildren == dir->children_cap) {
		uint32_t cap = dir->children_cap ? dir->children_cap * 2 : 8;
		struct iso_node **c =
		    reallocarray(dir->children, cap, sizeof(*c));

		if (!c)
			return -ENOMEM;
		dir->children = c;
		dir->children_cap = cap;
	}
	dir->children[dir->nchildren++] = child;
	child->parent = dir;
	return 0;
}

struct iso_node *iso_node_find_child(const struct iso_node *dir,
				     const char *name)
{
	uint32_t i;

	for (i = 0; i < dir->nchildren; i++)
		if (strcmp(dir->children[i]->name, name) == 0)
			return dir->children[i];
	return NULL;
}

void iso_node_detach(struct iso_node *child)
{
	struct iso_node *dir = child->parent;
	uint32_t i;

	if (!dir)
		return;
	for (i = 0; i < dir->nchildren; i++) {
		if (dir->children[i] == child) {
			memmove(&dir->children[i], &dir->children[i + 1],
				(dir->nchildren - i - 1) * sizeof(child));
			dir->nchildren--;
			break;
		}
	}
	child->parent = NULL;
}

int iso_node_set_symlink(struct iso_node *n, const char *target)
{
	char *t = strdup(target);

	if (!t)
		return -ENOMEM;
	free(n->symlink);
	n->symlink = t;
	n->size = strlen(t);
	return 0;
}

int iso_node_set_extents(struct iso_node *n, const struct iso_extent *ext,
			 uint32_t count)
{
	struct iso_extent *e = NULL;

	if (count) {
		e = calloc(count, sizeof(*e));
		if (!e)
			return -ENOMEM;
		memcpy(e, ext, count * sizeof(*e));
	}
	free(n->extents);
	n->extents = e;
	n->nextents = count;
	return 0;
}

size_t iso_utf8_seq_len(const char *s, size_t left)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, k;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0)
		n = 2, cp = p[0] & 0x1F;
	else if ((p[0] & 0xF0) == 0xE0)
		n = 3, cp = p[0] & 0x0F;
	else if ((p[0] & 0xF8) == 0xF0)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (k = 1; k < n; k++) {
		if ((p[k] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3F);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static bool utf8_valid(const char *s, size_t len)
{
	for (size_t i = 0, n; i < len; i += n) {
		n = iso_utf8_seq_len(s + i, len - i);
		if (!n)
			return false;
	}
	return true;
}

int iso_name_check(const char *name, size_t len)
{
	if (len == 0)
		return cds_error(-EINVAL, "empty file name");
	if (len > 255)
		return cds_error(-ENAMETOOLONG,
				 "file name of %zu bytes is "
				 "longer than 255",
				 len);
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return cds_error(-EINVAL, "file name contains '/' or NUL");
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return cds_error(-EINVAL, "file name '.' or '..'");
	if (!utf8_valid(name, len))
		return cds_error(-EILSEQ, "file name is not valid UTF-8");
	return 0;
}

/* Enough to cover a small file; the kernel's readahead takes over the
 * rest of a large one once it is read in order. */
#define PATH_PREFETCH_BYTES (1 << 20)

struct path_content {
	struct iso_content base;
	char *path;
	int fd;
};

static int path_content_read(struct iso_content *c, uint64_t offset, void *buf,
			     size_t len)
{
	struct path_content *pc = (struct path_content *)c;
	size_t done = 0;

	if (pc->fd < 0) {
		pc->fd = open(pc->path, O_RDONLY | O_CLOEXEC);
		if (pc->fd < 0)
			return cds_error(-errno, "%s: %s", pc->path,
					 strerror(errno));
	}
	while (done < len) {
		ssize_t n = pread(pc->fd, (char *)buf + done, len - done,
				  (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cds_error(-errno, "%s: %s", pc->path,
					 strerror(errno));
		if (n == 0)
			return cds_error(-EIO,
					 "%s: file shrank while being "
					 "written",
					 pc->path);
		done += (size_t)n;
	}
	/* one open file per content at most; data is read in file order */
	if (offset + len >= (uint64_t)lseek(pc->fd, 0, SEEK_END)) {
		close(pc->fd);
		pc->fd = -1;
	}
	return 0;
}

/* Open the file now and ask for its head in the page cache: the disc
 * queue sees many requests at once instead of one file at a time. */
static void path_content_prefetch(struct iso_content *c)
{
	struct path_content *pc = (struct path_content *)c;

	if (pc->fd < 0)
		pc->fd = open(pc->path, O_RDONLY | O_CLOEXEC);
	if (pc->fd >= 0)
		posix_fadvise(pc->fd, 0, PATH_PREFETCH_BYTES,
			      POSIX_FADV_WILLNEED);
}

static void path_content_release(struct iso_content *c)
{
	struct path_content *pc = (struct path_content *)c;

	if (pc->fd >= 0)
		close(pc->fd);
	free(pc->path);
	free(pc);
}

static const struct iso_content_ops path_content_ops = {
    .read = path_content_read,
    .release = path_content_release,
    .prefetch = path_content_prefetch,
};

int iso_content_from_path(const char *path, struct iso_content **out)
{
	struct path_content *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return -ENOMEM;
	pc->path = strdup(path);
	if (!pc->path) {
		free(pc);
		return -ENOMEM;
	}
	pc->base.ops = &path_content_ops;
	pc->fd = -1;
	*out = &pc->base;
	return 0;
}
