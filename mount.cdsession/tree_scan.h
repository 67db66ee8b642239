/*
 * tree_scan.h - local files into an iso/ tree, merged as mkisofs -M does.
 *
 * `cdsession mkimage` walks each PATH with lstat(2) and adds what it finds
 * below a root: the contents of a directory PATH go to the root itself, a
 * PATH that is anything else is added at the root by its basename (as
 * `mkisofs PATH...`).  Where the root already holds a name (an earlier
 * session's tree, or an earlier PATH): two directories are merged
 * recursively (the directory takes the new attributes and keeps its
 * inode serial), anything else is replaced by the new file.  The rest of
 * the old tree is left as it is: extents, attributes and serials.
 *
 * New nodes get attributes from lstat (times to the nanosecond), a fresh
 * Rock Ridge file serial each above the ones the old tree uses, and, for
 * regular files, a content source that reads the file when the session is
 * produced.  Hard links (one st_dev/st_ino seen under several names) share
 * one serial.  Sockets cannot be recorded (RRIP has no type for them):
 * they are skipped with a warning on stderr.
 */
#ifndef TREE_SCAN_H
#define TREE_SCAN_H

#include <stdint.h>
#include <sys/types.h>

struct iso_node;
struct tree_scan;

/*
 * Start adding to the directory @root (borrowed; it must outlive the
 * scan).  @first_ino is the first free Rock Ridge file serial: one above
 * the largest the tree already holds.
 */
int tree_scan_new(struct iso_node *root, uint64_t first_ino,
		  struct tree_scan **out);

/* Leave the file @dev/@ino out of the walk (mkimage's own output file,
 * when it is written inside a PATH, as mkisofs does).  0 or -ENOMEM. */
int tree_scan_exclude(struct tree_scan *s, dev_t dev, ino_t ino);

/*
 * Add @path as described above.  A name that cannot be recorded (longer
 * than 255 bytes, not UTF-8), a file that vanishes or cannot be read
 * fails with a message naming the path; the tree may then hold part of
 * the walk and should be thrown away.
 */
int tree_scan_add(struct tree_scan *s, const char *path);

/*
 * After the last tree_scan_add(): give old files recorded without a
 * serial one (old files sharing one extent, mkisofs' hard links, share
 * it), set every link count of the final tree (directories: 2 +
 * subdirectories; others: the names sharing their serial, so a replaced
 * name of an old hard link no longer counts) and give in @next_ino the
 * first serial not handed out.  0 or -ENOMEM.
 */
int tree_scan_finish(struct tree_scan *s, uint64_t *next_ino);

void tree_scan_free(struct tree_scan *s);

#endif
