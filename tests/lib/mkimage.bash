# mkimage.bash - helpers for tests/bats/mkimage.bats, on top of
# mkimage-tree.bash (trees and each reader's listing in one shape).

KERNEL_CHECK=${KERNEL_CHECK:-/work/shared/tools/kernel-isofs/check}

# A fixed session time, so that images are reproducible.
export SOURCE_DATE_EPOCH=1600000000

# drop_rr_moved: leave out a relocation directory /rr_moved and what
# lies in it (mkisofs leaves it visible; readers that follow CL/RE show
# the relocated directories in place as well)
drop_rr_moved() {
	LC_ALL=C awk -F'\t' '$1 != "/rr_moved" && substr($1, 1, 10) != "/rr_moved/"'
}

# only_shallow: lines whose /PATH has at most 8 components (isoinfo does
# not follow RRIP relocation; deeper directories show under /rr_moved)
only_shallow() {
	LC_ALL=C awk -F'\t' '{ if (split($1, c, "/") - 1 <= 8) print }'
}

# only_types T...: canonical lines (canon_dir shape) of these find types
only_types() {
	LC_ALL=C awk -F'\t' -v t=" $* " '{
		split($2, f, " ")
		if (index(t, " " f[1] " ")) print
	}'
}

# lsiso_list IMG [LBA]: `cdsession lsiso` of the session at LBA
lsiso_list() {
	cds lsiso ${2:+--start "$2"} "$1"
}

# lsiso_field LISTING PATH KEY: the value of KEY= on PATH's line
lsiso_field() {
	LC_ALL=C awk -F'\t' -v p="$2" -v k="$3" '$1 == p {
		n = split($2, kv, " ")
		for (i = 1; i <= n; i++)
			if (index(kv[i], k "=") == 1)
				print substr(kv[i], length(k) + 2)
	}' "$1"
}

# lsiso_extents LISTING: "/PATH<TAB>first-extent-LBA" of every file with data
lsiso_extents() {
	LC_ALL=C awk -F'\t' '/^\// && index($2, " extents=") {
		e = substr($2, index($2, " extents=") + 9)
		sub(/:.*/, "", e)
		printf "%s\t%s\n", $1, e
	}' "$1" | LC_ALL=C sort
}

# kernel_report IMG LBA OUT: the kernel's view of the session at LBA
kernel_report() {
	"$KERNEL_CHECK" "$1" "$2" >"$3" 2>"$3.err"
}

# canon_kernel REPORT: the listing of a kernel-isofs report, canon_dir shape
canon_kernel() {
	sed -n '/^== listing ==$/,/^== summary ==$/p' "$1" | grep -a '^/' |
		canon_lsiso
}

# kernel_md5 REPORT: md5_dir's shape from a kernel-isofs report
kernel_md5() {
	sed -n '/^== listing ==$/,/^== summary ==$/p' "$1" | grep -a '^/' |
		LC_ALL=C awk -F'\t' 'index($2, " md5=") {
			m = substr($2, index($2, " md5=") + 5); sub(/ .*/, "", m)
			printf "%s  %s\n", m, $1
		}' | LC_ALL=C sort -k2
}

# short_names: lines whose /PATH (first field; of md5 lines the second)
# has no component of 240 bytes or more.  The kernel cuts Rock Ridge
# names at 253 bytes (fs/isofs/rock.c: retnamlen + len >= 254 truncates)
short_names() {
	LC_ALL=C awk -F'\t' '{
		p = $1
		if (NF == 1) p = substr($0, index($0, "  ") + 2)
		n = split(p, c, "/")
		for (i = 1; i <= n; i++)
			if (length(c[i]) >= 240)
				next
		print
	}'
}

# md5_sorted DIR: md5_dir sorted as kernel_md5 is
md5_sorted() { md5_dir "$1" | LC_ALL=C sort -k2; }

# canon_xorriso_joliet IMG [LBA]: the Joliet tree as xorriso reads it,
# "/PATH<TAB>d" or "/PATH<TAB>f SIZE"
canon_xorriso_joliet() {
	xorriso -read_fs norock -indev stdio:"$1" ${2:+-load sbsector "$2"} \
		-find / -exec lsdl 2>/dev/null | LC_ALL=C awk '
		/^[-d][-rwx][-rwx][-rwx][-rwx][-rwx][-rwx][-rwx][-rwx][-rwx] / {
			name = substr($0, index($0, "'"'"'/") + 1)
			sub(/'"'"'$/, "", name)
			if (name == "/") next
			printf "%s\t%s\n", name, substr($1, 1, 1) == "d" ? "d" : "f " $5
		}' | LC_ALL=C sort
}

# joliet_check SRC LISTING: the Joliet listing (canon_xorriso_joliet)
# holds the tree SRC down to 8 levels: names of up to 64 UTF-16 units as
# they are, longer ones cut to at most 64 (paired with the source name
# by the longest common prefix; characters beyond UCS-2 may be "_"),
# every entry with its type and size
# (other types may be left out or be empty files).  Prints what
# differs; fails if anything does.
joliet_check() {
	python3 - "$1" "$2" <<'EOF'
import os, stat, sys

src, listing = sys.argv[1], sys.argv[2]
J = {}
for line in open(listing, encoding="utf-8", errors="surrogateescape"):
    p, v = line.rstrip("\n").split("\t")
    d, n = p.rsplit("/", 1)
    J.setdefault(d or "/", {})[n] = v
bad = []

def units(n):
    return len(n.encode("utf-16-be", errors="surrogatepass")) // 2

def kind(path):
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        return "d"
    if not stat.S_ISREG(st.st_mode):
        return "special"
    return "f %d" % st.st_size

def common(j, n):
    # Joliet is UCS-2: a character beyond it may come out as "_"
    k = 0
    while k < min(len(j), len(n)) and (
            j[k] == n[k] or (j[k] == "_" and ord(n[k]) > 0xFFFF)):
        k += 1
    return k

def walk(sdir, jdir, depth):
    have = dict(J.get(jdir, {}))
    if jdir == "/" and "rr_moved" in have and not os.path.exists(
            os.path.join(src, "rr_moved")):
        del have["rr_moved"]
    pairs, longs = [], []
    for n in sorted(os.listdir(sdir)):
        if kind(os.path.join(sdir, n)) == "special":
            # Joliet has no symlinks, devices, fifos: mkisofs records
            # them as empty files, libisofs leaves them out
            if n in have and have[n] == "f 0":
                del have[n]
            continue
        if units(n) <= 64:
            if n in have:
                pairs.append((n, n))
                del have[n]
            else:
                bad.append("missing in Joliet: %s" % os.path.join(jdir, n))
        else:
            longs.append(n)
    for n in longs:
        if not have:
            bad.append("missing in Joliet: %s" % os.path.join(jdir, n))
            continue
        j = max(sorted(have), key=lambda x: common(x, n))
        if common(j, n) < 8:
            bad.append("no Joliet name like %s in %s" % (n, jdir))
        pairs.append((n, j))
        del have[j]
    for j in have:
        bad.append("extra in Joliet: %s" % os.path.join(jdir, j))
    for n, j in pairs:
        sp, jp = os.path.join(sdir, n), os.path.join(jdir, j)
        if units(j) > 64:
            bad.append("Joliet name longer than 64: %s" % jp)
        k = kind(sp)
        if J[jdir][j] != k:
            bad.append("%s: Joliet has %s, the tree %s" % (jp, J[jdir][j], k))
        if k == "d" and depth + 1 < 8:
            walk(sp, jp, depth + 1)

walk(src, "/", 0)
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}

# ascii_paths: lines whose /PATH is printable ASCII without "_" (isoinfo
# -J shows other characters as "_")
ascii_paths() {
	LC_ALL=C awk -F'\t' '$1 ~ /^[ -~]*$/ && $1 !~ /_/'
}

# xorriso_extract IMG DIR [LBA]: the session's files into DIR, hard
# links as hard links (from the PX serials)
xorriso_extract() {
	xorriso -abort_on NEVER -osirrox on -hardlinks on \
		-indev stdio:"$1" ${3:+-load sbsector "$3"} \
		-extract / "$2" >/dev/null 2>"$2.log"
}

# sectors FILE: its size in 2048-byte sectors, rounded up
sectors() { echo $((($(stat -c %s "$1") + 2047) / 2048)); }

# overlay DST SRC...: what mkisofs -M merges: SRC's files over DST's
overlay() {
	local dst=$1 s
	shift
	for s in "$@"; do
		cp -a "$s/." "$dst/"
	done
}

# one_line_error: $output is one line naming the program (run's output)
one_line_error() {
	# shellcheck disable=SC2154 # set by bats' run
	[ "${#lines[@]}" -eq 1 ] && [[ "${lines[0]}" == cdsession* ]]
}

# show_diff A B: diff -u, shortened for the test log
show_diff() {
	diff -u "$1" "$2" | head -40 | cut -c1-200
	cmp -s "$1" "$2"
}
