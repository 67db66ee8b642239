# mkimage-tree.bash - trees for the mkimage tests and listings of them as
# each reader shows them, in one canonical shape so that they diff:
#
#   /PATH <TAB> type perm uid gid size mtime target
#
# type is find's %y letter (f d l p c b), perm four octal digits, mtime
# seconds since the epoch, target a symlink's target ("-" otherwise).
# A reader that does not show a field gets a shape without it (the
# canon_dir_for_READER functions make the source side of each).

# long_name CHAR N: CHAR repeated N times
long_name() {
	local s="" i
	for ((i = 0; i < $2; i++)); do s+=$1; done
	printf '%s' "$s"
}

# mk_full_tree DIR [MANY]: every file type, long UTF-8 names, 12 levels,
# MANY (default 10000) entries in one directory, varied modes, owners (as
# root) and times.
mk_full_tree() {
	local d=$1 many=${2:-10000} p i
	mkdir -p "$d"
	printf 'hello\n' >"$d/hello.txt"
	: >"$d/empty"
	head -c 100000 /dev/urandom >"$d/random.bin"
	# sparse: 3 MiB with 6 bytes of data in the middle
	truncate -s 3M "$d/sparse"
	printf 'middle' | dd of="$d/sparse" bs=1 seek=1500000 conv=notrunc \
		status=none
	p=$d
	for i in $(seq 1 12); do p=$p/level$i; done
	mkdir -p "$p"
	printf 'twelve levels down\n' >"$p/deep.txt"
	ln -s hello.txt "$d/link"
	# a 300-byte target: SL continues over several records / a CE
	ln -s "$(long_name a 99)/$(long_name b 99)/$(long_name c 100)" \
		"$d/longlink"
	# 4000 bytes: SL in many entries, in continuation areas.  No trailing
	# "/": SL cannot record it (mkisofs and libisofs drop it as well)
	p=$(long_name "$(long_name x 199)/" 21)
	ln -s "${p:0:3999}z" "$d/hugelink"
	# SL's CURRENT and PARENT component flags
	ln -s ./hl/../hello.txt "$d/rellink"
	ln -s level1/level2 "$d/dirlink"
	ln -s /nonexistent/target "$d/dangling"
	mkdir "$d/hl"
	printf 'linked\n' >"$d/hl/one"
	ln "$d/hl/one" "$d/hl/two"
	ln "$d/hl/one" "$d/hard3"
	mkfifo "$d/fifo"
	if [ "$(id -u)" = 0 ]; then
		mknod "$d/chr" c 1 3
		mknod "$d/blk" b 7 0
	fi
	# 204 and 255 bytes, multibyte characters (RRIP NM allows 255)
	printf 'u\n' >"$d/$(long_name ü 100).txt"
	printf 'j\n' >"$d/$(long_name 日 85)"
	# 255 bytes of 4-byte characters (UTF-16 surrogate pairs in Joliet)
	printf 'e\n' >"$d/$(long_name 😀 63)abc"
	# 255-byte ASCII names, a file in a directory
	mkdir "$d/$(long_name D 255)"
	printf 'f\n' >"$d/$(long_name D 255)/$(long_name F 255)"
	# the longest target Linux allows (PATH_MAX - 1)
	p=$(long_name "$(long_name y 254)/" 17)
	ln -s "${p:0:4094}z" "$d/maxlink"
	mkdir "$d/$(long_name ñ 110)"
	printf 'in a long dir\n' >"$d/$(long_name ñ 110)/inner.txt"
	mkdir "$d/many"
	for ((i = 0; i < many; i++)); do
		if ((i % 1000 == 0)); then
			printf 'file %d\n' "$i" >"$d/many/f$i"
		else
			: >"$d/many/f$i"
		fi
	done
	printf '#!/bin/sh\n' >"$d/setuid"
	chmod 4755 "$d/setuid"
	printf 'secret\n' >"$d/private"
	chmod 0600 "$d/private"
	printf '#!/bin/sh\n' >"$d/exec"
	chmod 0755 "$d/exec"
	mkdir "$d/sticky" "$d/setgid"
	chmod 1777 "$d/sticky"
	chmod 2750 "$d/setgid"
	if [ "$(id -u)" = 0 ]; then
		chown 1234:5678 "$d/hello.txt" "$d/setgid"
		chown 65534:65534 "$d/private"
		chown -h 4321:8765 "$d/link"
		chown 42:43 "$d/hl/one"
	fi
	touch -d '2001-02-03 04:05:06' "$d/hello.txt"
	touch -d '1985-06-07 08:09:10' "$d/private"
	touch -d '2030-01-01 00:00:01' "$d/setuid"
	touch -h -d '1999-12-31 23:59:59' "$d/link"
	# directories last: creating entries changes their mtime
	find "$d" -depth -type d -exec touch -d '2011-11-11 11:11:11' {} +
	touch -d '2020-02-29 12:00:00' "$d/many"
}

# canon_dir DIR: the canonical listing of a directory tree
canon_dir() {
	(cd "$1" && find . -mindepth 1 \
		-printf '/%P\t%y\t%m\t%U\t%G\t%s\t%T@\t%l\n') |
		awk -F'\t' '{
			t = $7; sub(/\..*/, "", t)
			size = $2 == "d" ? "-" : $2 == "f" || $2 == "l" ? $6 : 0
			perm = substr("0000" $3, length($3) + 1)
			printf "%s\t%s %s %s %s %s %s %s\n", $1, $2, perm, $4, $5, \
				size, t, $2 == "l" ? $8 : "-"
		}' | LC_ALL=C sort
}

# canon_lsiso: `cdsession lsiso` output (stdin) in the canonical shape
canon_lsiso() {
	awk -F'\t' '!/^#/ && $1 != "/" {
		n = split($2, kv, " ")
		for (i = 1; i <= n; i++) {
			eq = index(kv[i], "=")
			v[substr(kv[i], 1, eq - 1)] = substr(kv[i], eq + 1)
		}
		t = v["type"]
		y = t == "file" ? "f" : t == "dir" ? "d" : t == "symlink" ? "l" : t == "fifo" ? "p" : t == "chr" ? "c" : t == "blk" ? "b" : "?"
		mt = v["mtime"]; sub(/\..*/, "", mt)
		size = y == "d" ? "-" : y == "f" || y == "l" ? v["size"] : 0
		tg = y == "l" ? substr($2, index($2, " target=") + 8) : "-"
		printf "%s\t%s %s %s %s %s %s %s\n", $1, y, v["mode"], v["uid"], \
			v["gid"], size, mt, tg
		delete v
	}' | LC_ALL=C sort
}

# canon_isoinfo_rr IMG [LBA]: isoinfo -R -l as "/PATH<TAB>type perm9 size
# target"; isoinfo shows neither setuid/setgid/sticky bits nor seconds
canon_isoinfo_rr() {
	isoinfo -i "$1" ${2:+-T "$2"} -R -l | awk '
		/^Directory listing of / { dir = substr($0, 22); next }
		/^$/ { next }
		{
			perm = substr($1, 2, 9); t = substr($1, 1, 1)
			y = t == "-" ? "f" : t == "f" ? "p" : t
			name = $0; sub(/^[^]]*\] +/, "", name)
			tg = "-"
			if (y == "l") {
				i = index(name, " -> ")
				tg = substr(name, i + 4); name = substr(name, 1, i - 1)
			} else sub(/ $/, "", name)
			if (name == "." || name == "..") next
			# the size stands before the date: isoinfo runs large
			# uids and gids together, so count from the month
			for (i = 3; i <= NF; i++)
				if ($i ~ /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$/)
					break
			size = y == "f" ? $(i - 1) : "-"
			printf "%s%s\t%s %s %s %s\n", dir, name, y, perm, size, tg
		}' | LC_ALL=C sort
}

# canon_dir_for_isoinfo DIR: canon_isoinfo_rr's shape from a directory
canon_dir_for_isoinfo() {
	(cd "$1" && find . -mindepth 1 -printf '/%P\t%y %M %s %l\n') |
		awk -F'\t' '{
			split($2, f, " ")
			perm = substr(f[2], 2)
			for (i = 3; i <= 9; i += 3) {
				c = substr(perm, i, 1)
				r = c == "s" || c == "t" ? "x" : c == "S" || c == "T" ? "-" : c
				perm = substr(perm, 1, i - 1) r substr(perm, i + 1)
			}
			size = f[1] == "f" ? f[3] : "-"
			tg = f[1] == "l" ? f[4] : "-"
			printf "%s\t%s %s %s %s\n", $1, f[1], perm, size, tg
		}' | LC_ALL=C sort
}

# canon_isoinfo_joliet IMG [LBA]: the Joliet tree's "/PATH<TAB>type size"
canon_isoinfo_joliet() {
	isoinfo -i "$1" ${2:+-T "$2"} -J -l | awk '
		/^Directory listing of / { dir = substr($0, 22); next }
		/^$/ { next }
		{
			name = $0; sub(/^[^]]*\] +/, "", name); sub(/ $/, "", name)
			# libisofs and cdsession write ";1" on Joliet files
			sub(/;1$/, "", name)
			if (name == "." || name == "..") next
			for (i = 3; i <= NF; i++)
				if ($i ~ /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$/)
					break
			printf "%s%s\t%s\n", dir, name, substr($1, 1, 1) == "d" ? "d" : "f " $(i - 1)
		}' | LC_ALL=C sort
}

# canon_isoinfo_extents IMG LBA: "/PATH<TAB>extent" of every file
canon_isoinfo_extents() {
	isoinfo -i "$1" -T "$2" -R -l | awk '
		/^Directory listing of / { dir = substr($0, 22); next }
		/^-/ {
			name = $0; sub(/^[^]]*\] +/, "", name); sub(/ $/, "", name)
			ext = $0; sub(/^[^[]*\[ */, "", ext); sub(/ .*/, "", ext)
			printf "%s%s\t%s\n", dir, name, ext
		}' | LC_ALL=C sort
}

# canon_xorriso_lsdl IMG [LBA]: "/PATH<TAB>perm-string uid gid size target"
canon_xorriso_lsdl() {
	xorriso -indev stdio:"$1" ${2:+-load sbsector "$2"} \
		-find / -exec lsdl 2>/dev/null | awk '
		/^[-dlpcbs][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT] / {
			perm = $1; uid = $3; gid = $4
			size = substr(perm, 1, 1) == "-" ? $5 : "-"
			q = index($0, "'"'"'/")
			rest = substr($0, q + 1)
			tg = "-"
			i = index(rest, "'"'"' -> '"'"'")
			if (i) {
				tg = substr(rest, i + 6); sub(/'"'"'$/, "", tg)
				name = substr(rest, 1, i - 1)
			} else { name = rest; sub(/'"'"'$/, "", name) }
			if (name == "/") next
			printf "%s\t%s %s %s %s %s\n", name, perm, uid, gid, size, tg
		}' | LC_ALL=C sort
}

canon_dir_for_lsdl() {
	(cd "$1" && find . -mindepth 1 -printf '/%P\t%M %U %G %s %l\n') |
		awk -F'\t' '{
			split($2, f, " ")
			size = substr(f[1], 1, 1) == "-" ? f[4] : "-"
			tg = f[5] == "" ? "-" : f[5]
			printf "%s\t%s %s %s %s %s\n", $1, f[1], f[2], f[3], size, tg
		}' | LC_ALL=C sort
}

# canon_iso_info IMG: iso-info -l (libcdio) with its Rock Ridge view as
# "NAME<TAB>perm-string uid gid size mtime", by base name, UTC.  libcdio
# follows neither CE continuation areas nor relocations (its headers
# and long names come out cut), and shows no sticky bit: only short ASCII
# names are compared, outside /rr_moved, with t/T read as x/-.  Long
# symlink targets crash it (libcdio 2.1.0: SIGSEGV on a 300-byte target
# that xorriso writes; 95 bytes shown of genisoimage's).
canon_iso_info() {
	local out rc=0
	out=$(TZ=UTC iso-info --no-header --no-joliet -l -i "$1") || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "iso-info -l $1: exit status $rc" >&2
		return 1
	fi
	printf '%s\n' "$out" | LC_ALL=C awk '
		/^\/.*:$/ { skip = $0 == "/rr_moved/:"; next }
		skip { next }
		/^  [-dlpcbs][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT][-rwxsStT] / {
			name = $0
			sub(/^.*[0-9][0-9]:[0-9][0-9]:[0-9][0-9]  /, "", name)
			sub(/ -> .*/, "", name)
			if (name !~ /^[A-Za-z0-9._-]+$/ || length(name) > 30 || \
			    name == "." || name == ".." || name == "rr_moved")
				next
			perm = $1; gsub(/t/, "x", perm); gsub(/T/, "-", perm)
			match($0, /[A-Z][a-z][a-z] [0-9][0-9] [0-9][0-9][0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]/)
			d = substr($0, RSTART, RLENGTH)
			split($0, a, "]"); split(a[2], s, " ")
			printf "%s\t%s %s %s %s %s\n", name, perm, $3, $4, \
				substr(perm, 1, 1) == "-" ? s[1] : "-", d
		}' | LC_ALL=C sort
}

canon_dir_for_iso_info() {
	(cd "$1" && find . -mindepth 1 -printf '%f\t%M %U %G %s %T@\n') |
		TZ=UTC LC_ALL=C awk -F'\t' '
		$1 ~ /^[A-Za-z0-9._-]+$/ && length($1) <= 30 {
			split($2, f, " ")
			perm = f[1]; gsub(/t/, "x", perm); gsub(/T/, "-", perm)
			size = substr(perm, 1, 1) == "-" ? f[4] : "-"
			sub(/\..*/, "", f[5])
			printf "%s\t%s %s %s %s %s\n", $1, perm, f[2], f[3], size, \
				strftime("%b %d %Y %H:%M:%S", f[5] + 0)
		}' | LC_ALL=C sort
}

# md5_dir DIR: "md5  /PATH" of every regular file
md5_dir() {
	(cd "$1" && find . -type f -printf '%P\0' | LC_ALL=C sort -z |
		xargs -0 -r md5sum | sed 's|  |  /|')
}
