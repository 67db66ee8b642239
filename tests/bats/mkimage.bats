#!/usr/bin/env bats
# `cdsession mkimage` end to end: the image of a tree with every file type
# and the awkward cases (long UTF-8 names, 12 levels, 10k entries in one
# directory, long symlink targets, hard links, devices) must read back as
# the tree it came from in our reader (lsiso), isoinfo (Rock Ridge and
# Joliet), xorriso (listing and extraction), libcdio's iso-info and the
# Linux kernel; a continuation session (-C/-M) must merge with sessions
# genisoimage writes before and after it; input that cannot be recorded
# must fail cleanly.  Listings are compared in mkimage-tree.bash's shape.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/mkimage-tree
load ../lib/mkimage

setup_file() {
	export W=$BATS_FILE_TMPDIR
	cd "$W"
	mk_full_tree tree
	# the kernel's view costs ~10 s per 1000 files: a tree without the
	# 10k directory for it
	mk_full_tree small 20
	cds mkimage -o full.iso tree >mk-full.log 2>&1 || true
	cds mkimage -o small.iso small >mk-small.log 2>&1 || true
	# what other readers cannot take: libisofs (xorriso) refuses symlink
	# targets of 1024 bytes or more, isoinfo crashes on ~3000; libcdio
	# (iso-info) does not follow CE, so it shows the part of a long
	# target that fits the record (the writer puts that part there: it
	# crashed when a whole SL lay in a continuation area)
	cp -a tree tools
	rm tools/hugelink tools/maxlink
	cds mkimage -o tools.iso tools >mk-tools.log 2>&1 || true
	cp -a tools cdio
	cds mkimage -o cdio.iso cdio >mk-cdio.log 2>&1 || true
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# need_image NAME: $W/NAME.iso was made
need_image() {
	[ -s "$W/$1.iso" ] || {
		echo "mkimage failed:"
		head -5 "$W/mk-$1.log"
		false
	}
}

@test "mkimage: our reader (lsiso) shows the tree: names, types, modes, owners, times, targets" {
	need_image full
	lsiso_list "$W/full.iso" >ls.txt
	[ "$(head -1 ls.txt)" = "# tree rock-ridge" ]
	# relocated directories in place, /rr_moved hidden (else mkimage -M
	# would carry it on as a directory of its own)
	canon_dir "$W/tree" >want
	canon_lsiso <ls.txt >got
	show_diff want got
}

@test "mkimage: hard links share one Rock Ridge serial; every other file has its own" {
	need_image full
	lsiso_list "$W/full.iso" >ls.txt
	ino=$(lsiso_field ls.txt /hl/one ino)
	[ -n "$ino" ]
	[ "$ino" != 0 ]
	[ "$(lsiso_field ls.txt /hl/two ino)" = "$ino" ]
	[ "$(lsiso_field ls.txt /hard3 ino)" = "$ino" ]
	for p in /hl/one /hl/two /hard3; do
		[ "$(lsiso_field ls.txt $p nlink)" = 3 ]
	done
	[ "$(lsiso_field ls.txt /hello.txt nlink)" = 1 ]
	# the three names of one inode are the only shared serial
	names=$(grep -c '^/' ls.txt)
	serials=$(grep '^/' ls.txt | grep -o ' ino=[0-9]*' | sort -u | wc -l)
	[ "$serials" -eq $((names - 2)) ]
	# directories: 2 + subdirectories
	[ "$(lsiso_field ls.txt /level1 nlink)" = 3 ]
	[ "$(lsiso_field ls.txt /many nlink)" = 2 ]
}

@test "mkimage: isoinfo -R -l and -R -x see the tree (to the 8 levels it reaches)" {
	need isoinfo
	need_image tools
	canon_dir_for_isoinfo "$W/tools" | only_shallow >want
	canon_isoinfo_rr "$W/tools.iso" | drop_rr_moved | only_shallow >got
	show_diff want got
	# contents, read by isoinfo through the Rock Ridge names
	(cd "$W/tools" && find . -type f -not -path './many/*' -printf '/%P\n' &&
		printf '/many/%s\n' f0 f1 f5000 f9999) |
		LC_ALL=C awk '{ if (split($0, c, "/") - 1 <= 8) print }' >files
	[ "$(wc -l <files)" -gt 15 ]
	while IFS= read -r f; do
		a=$(md5sum <"$W/tools$f")
		b=$(isoinfo -R -i "$W/tools.iso" -x "$f" | md5sum)
		[ "$a" = "$b" ] || { echo "isoinfo -x $f: $b, want $a"; false; }
	done <files
}

@test "mkimage: the Joliet tree has every name (cut to 64 UTF-16 units), type and size" {
	need xorriso isoinfo python3
	need_image tools
	canon_xorriso_joliet "$W/tools.iso" >j.txt
	[ "$(wc -l <j.txt)" -gt 10000 ]
	joliet_check "$W/tools" j.txt
	# isoinfo -J -l agrees with xorriso where it can show the names
	canon_isoinfo_joliet "$W/tools.iso" | ascii_paths >isoinfo.txt
	ascii_paths <j.txt >xorriso.txt
	show_diff xorriso.txt isoinfo.txt
}

@test "mkimage: xorriso -find -exec lsdl shows the tree (relocated directories in place)" {
	need xorriso
	need_image tools
	canon_dir_for_lsdl "$W/tools" >want
	canon_xorriso_lsdl "$W/tools.iso" | drop_rr_moved >got
	show_diff want got
}

@test "mkimage: xorriso extracts the same contents, attributes and hard links" {
	need xorriso
	need_image tools
	xorriso_extract "$W/tools.iso" x
	md5_dir "$W/tools" >want.md5
	md5_dir x >got.md5
	show_diff want.md5 got.md5
	# xorriso restores files and directories with their attributes
	# (not devices; symlinks without times and owners)
	canon_dir "$W/tools" | only_types f d >want
	canon_dir x | only_types f d | drop_rr_moved >got
	show_diff want got
	(cd "$W/tools" && find . -type l -printf '/%P %l\n' | LC_ALL=C sort) >want.l
	(cd x && find . -type l -printf '/%P %l\n' | LC_ALL=C sort) >got.l
	show_diff want.l got.l
	# one inode for the three names, from the PX serials
	[ "$(stat -c %i x/hl/one)" = "$(stat -c %i x/hl/two)" ]
	[ "$(stat -c %i x/hl/one)" = "$(stat -c %i x/hard3)" ]
}

@test "mkimage: libcdio's iso-info shows modes, owners, sizes and times (short names)" {
	need iso-info
	need_image cdio
	canon_dir_for_iso_info "$W/cdio" >want
	canon_iso_info "$W/cdio.iso" >got
	[ "$(wc -l <want)" -gt 10000 ]
	show_diff want got
}

@test "mkimage: the Linux kernel mounts it with Rock Ridge: names, modes, owners, md5s" {
	[ -x "$KERNEL_CHECK" ] || skip "no kernel-isofs checker"
	need_image small
	kernel_report "$W/small.iso" 0 k.txt || {
		tail -5 k.txt.err
		false
	}
	grep -q '^mount-rc: 0$' k.txt
	# Rock Ridge in use (errexit ignores a command negated with !)
	grep '^mounted:' k.txt | grep -v -q norock
	grep -q '^== summary ==$' k.txt
	grep -q '^entries=[0-9]* errors=0$' k.txt
	# names of 254 and 255 bytes come out cut (a kernel limit): they
	# are counted, the rest compared in full
	canon_dir "$W/small" >want.all
	canon_kernel k.txt | drop_rr_moved >got.all
	[ "$(wc -l <got.all)" -eq "$(wc -l <want.all)" ]
	short_names <want.all >want
	short_names <got.all >got
	[ "$(wc -l <want)" -gt 40 ]
	show_diff want got
	md5_sorted "$W/small" | short_names >want.md5
	kernel_md5 k.txt | grep -v '  /rr_moved/' | short_names >got.md5
	show_diff want.md5 got.md5
	grep -a -q $'^/hl/one\t.* nlink=3 ' k.txt
	grep -a -q $'^/blk\ttype=blk .* rdev=7:0$' k.txt
}

@test "mkimage: -o - writes the bytes -o FILE writes; images are reproducible" {
	# TF records access times: reading a file whose mtime lies in the
	# future (setuid: 2030) changes its atime each time (relatime), the
	# others only on the first read, here
	mkdir w
	cp -a "$W/small" w/t
	# and without deep directories: /rr_moved takes the session time
	rm -r w/t/setuid w/t/level1 w/t/dirlink
	cd w
	cds mkimage -o - t >/dev/null
	cds mkimage -o a.iso t
	cds mkimage -o - t >b.iso
	cmp a.iso b.iso
	# no temporary file is left beside OUT
	[ "$(ls)" = "$(printf 'a.iso\nb.iso\nt')" ]
	# a session time of its own changes the volume descriptors only
	SOURCE_DATE_EPOCH=1700000000 cds mkimage -o c.iso t
	run -1 cmp -s a.iso c.iso
	[ "$(stat -c %s a.iso)" = "$(stat -c %s c.iso)" ]
	[ "$(cmp -l a.iso c.iso | awk '$1 > 32768 + 2048 * 3' | wc -l)" -eq 0 ]
}

@test "mkimage: a file of 4 GiB and more takes several extents (CDS_SLOW=1)" {
	[ -n "${CDS_SLOW:-}" ] || skip "writes 8 GB; set CDS_SLOW=1"
	need xorriso isoinfo
	mkdir t
	# sparse, with data at both ends: 4 GiB + 13 bytes
	truncate -s 4294967296 t/huge
	printf 'head' | dd of=t/huge conv=notrunc status=none
	printf 'tail-data' | dd of=t/huge bs=1 seek=4294967300 conv=notrunc \
		status=none
	printf 'x\n' >t/after
	cds mkimage -o b.iso t
	lsiso_list b.iso >ls.txt
	[ "$(lsiso_field ls.txt /huge size)" = 4294967309 ]
	ext=$(lsiso_field ls.txt /huge extents)
	[[ "$ext" == *,* ]]
	# isoinfo shows one record per extent, xorriso one file
	[ "$(isoinfo -R -l -i b.iso | grep -c ' huge $')" -ge 2 ]
	xorriso -indev stdio:b.iso -find /huge -exec lsdl 2>/dev/null |
		grep -q ' 4294967309 '
	xorriso -osirrox on -indev stdio:b.iso -extract /huge x.huge \
		>/dev/null 2>&1
	rm b.iso
	cmp x.huge t/huge
}

@test "mkimage: -V and --tag are recorded; bad ones refused with one line" {
	need isoinfo
	mkdir t
	printf 'x\n' >t/x
	cds mkimage -V MY_VOL --tag build-42 -o v.iso t
	lsiso_list v.iso >ls.txt
	grep -q -x '# volume-id MY_VOL' ls.txt
	grep -q -x '# tag build-42' ls.txt
	isoinfo -d -i v.iso | grep -q -x 'Volume id: MY_VOL'
	for bad in "-V $(long_name A 33)" "-V bad/é" "--tag $(long_name x 129)" \
		"--tag a b"; do
		run cds mkimage ${bad%% *} "${bad#* }" -o w.iso t
		[ "$status" -ne 0 ]
		one_line_error
	done
	[ "$(ls)" = "$(printf 'ls.txt\nt\nv.iso')" ]
}

@test "mkimage: interrupted (SIGTERM, SIGINT), it leaves neither OUT nor its temporary" {
	mkdir t
	# 4 GiB of zeros take seconds to write: the signal lands mid-way
	truncate -s 4G t/big
	printf 'old\n' >keep.iso
	for sig in TERM INT; do
		# not through cds(): $! must be mkimage itself
		"$CDSESSION" mkimage -o keep.iso t &
		pid=$!
		# until the temporary file beside OUT shows up
		for _ in $(seq 50); do
			[ -n "$(find . -maxdepth 1 -name 'keep.iso.*' -size +1M)" ] && break
			sleep 0.1
		done
		kill -s "$sig" "$pid"
		status=0
		wait "$pid" || status=$?
		[ "$status" -gt 128 ]
		[ "$(ls)" = "$(printf 'keep.iso\nt')" ]
		[ "$(cat keep.iso)" = old ]
	done
}

@test "mkimage: OUT inside a PATH is left out of the image" {
	mkdir t
	printf 'x\n' >t/x
	cds mkimage -o t/self.iso t
	lsiso_list t/self.iso >ls.txt
	grep -q $'^/x\t' ls.txt
	run -1 grep -q self.iso ls.txt
	# also when OUT exists already
	cds mkimage -o t/self.iso t
	lsiso_list t/self.iso >ls.txt
	run -1 grep -q self.iso ls.txt
}

@test "mkimage: a name that is not UTF-8 fails with one line naming it; OUT untouched" {
	mkdir t
	printf 'ok\n' >t/ok
	printf 'bad\n' >"t/a$(printf '\377')b"
	printf 'old\n' >out.iso
	run cds mkimage -o out.iso t
	[ "$status" -ne 0 ]
	one_line_error
	[[ "$output" == *'a\xFFb'* ]]
	[ "$(cat out.iso)" = old ]
	[ "$(ls)" = "$(printf 'out.iso\nt')" ]
	# to standard output as well: an error, not a truncated image
	run --separate-stderr cds mkimage -o - t
	[ "$status" -ne 0 ]
	[[ "$stderr" == *'a\xFFb'* ]]
}

@test "mkimage: -M of something that is not an ISO image fails clearly" {
	mkdir t
	printf 'x\n' >t/x
	head -c 1048576 /dev/urandom >junk.img
	run cds mkimage -C 0,600 -M junk.img -o out.iso t
	[ "$status" -ne 0 ]
	one_line_error
	[[ "$output" == *junk.img* ]]
	[ ! -e out.iso ]
	# an image file gives no msinfo: -C is required
	need_image small
	run cds mkimage -M "$W/small.iso" -o out.iso t
	[ "$status" -ne 0 ]
	one_line_error
	[[ "$output" == *-C* ]]
	run cds mkimage -C 0,100 -M nonexistent.img -o out.iso t
	[ "$status" -ne 0 ]
	one_line_error
	[[ "$output" == *nonexistent.img* ]]
	[ "$(ls)" = "$(printf 'junk.img\nt')" ]
}

@test "mkimage: a socket is skipped with a warning" {
	need python3
	mkdir t
	printf 'x\n' >t/x
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' t/sock
	[ -S t/sock ]
	run --separate-stderr cds mkimage -o out.iso t
	[ "$status" -eq 0 ]
	[[ "$stderr" == *sock*warning* || "$stderr" == *warning*sock* ]]
	lsiso_list out.iso >ls.txt
	grep -q $'^/x\t' ls.txt
	run -1 grep -q sock ls.txt
}

# patch_nm IMG OLD NEW: replace the Rock Ridge name OLD by NEW (same length)
patch_nm() {
	python3 - "$@" <<'EOF'
import sys
img, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
data = bytearray(open(img, "rb").read())
pat = b"NM" + bytes([5 + len(old), 1, 0]) + old
i = data.find(pat)
if i < 0 or data.find(pat, i + 1) >= 0:
    sys.exit("NM entry for %r not found once" % old)
data[i + 5:i + 5 + len(old)] = new
open(img, "wb").write(data)
EOF
}

@test "mkimage: a symlink target xorriso cannot read is recorded, with a warning" {
	mkdir t
	ln -s "$(printf 'y%.0s' $(seq 1 1500))" t/long
	ln -s short t/ok
	run --separate-stderr cds mkimage -o t.iso t
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"t/long: a symlink target of 1500 bytes"* ]]
	[[ "$stderr" != *"t/ok"* ]]
	cds lsiso t.iso >ls
	[ "$(lsiso_field ls /long size)" = 1500 ]
}

@test "lsiso: a Rock Ridge name '.' or 'a/b' on the disc is refused with a message" {
	need python3
	mkdir t
	printf '1\n' >t/q
	printf '2\n' >t/abc
	cds mkimage -o a.iso t
	cp a.iso dot.iso
	cp a.iso slash.iso
	patch_nm dot.iso q .
	patch_nm slash.iso abc a/b
	lsiso_list a.iso >/dev/null
	run cds lsiso dot.iso
	[ "$status" -ne 0 ]
	one_line_error
	run cds lsiso slash.iso
	[ "$status" -ne 0 ]
	one_line_error
}

# The disc of the continuation tests, made once: session 1 by
# genisoimage at LBA 0, session 2 by mkimage -C 0,N -M at N, session 3 by
# genisoimage -C N,M -M at M, each dd'd into one file laid out like a
# disc.  m1..m3 are the trees each session should show.
build_disc() {
	local d=$W/disc
	[ -e "$d/.done" ] && return 0
	rm -rf "$d"
	mkdir -p "$d" && cd "$d"
	mkdir -p t1/keep t1/dir/sub t2/dir/sub t2/newdir t3/dir
	printf 'one a\n' >t1/a.txt
	printf 'one b\n' >t1/b.txt
	printf 'one c\n' >t1/c
	for i in 1 2 3; do printf 'keep %s\n' $i >t1/keep/k$i; done
	printf 'x one\n' >t1/dir/sub/x
	head -c 2000000 /dev/urandom >t1/big.bin
	ln -s a.txt t1/alink
	# session 2: new files, a replaced file (new contents and time), a
	# file replaced by a symlink, one by a directory
	printf 'two b, longer\n' >t2/b.txt
	mkdir t2/c
	printf 'in c\n' >t2/c/inner
	ln -s ../../a.txt t2/dir/sub/x
	printf 'y two\n' >t2/dir/sub/y
	printf 'z\n' >t2/newdir/z
	printf 'new two\n' >t2/new2.txt
	# session 3 (genisoimage reading our session): replace one of ours
	printf 'new two, replaced\n' >t3/new2.txt
	printf 'new three\n' >t3/new3.txt
	printf 'w three\n' >t3/dir/w
	find t1 t2 t3 ! -type l -exec touch -d '2019-05-05 05:05:05' {} +
	touch -h -d '2019-05-05 05:05:05' t1/alink t2/dir/sub/x
	touch -d '2020-06-06 06:06:06' t2/b.txt t2/new2.txt
	touch -d '2021-07-07 07:07:07' t3/new2.txt
	find t1 t2 t3 -type d -exec chmod 0755 {} +
	genisoimage -quiet -R -J -o disc.img t1 2>/dev/null
	N=$(($(sectors disc.img) + 150))
	cds mkimage -C 0,"$N" -M disc.img -o s2.img t2
	dd if=s2.img of=disc.img bs=2048 seek="$N" conv=notrunc status=none
	M=$((N + $(sectors s2.img) + 150))
	genisoimage -quiet -R -J -C "$N,$M" -M disc.img -o s3.img t3 2>/dev/null
	dd if=s3.img of=disc.img bs=2048 seek="$M" conv=notrunc status=none
	echo "$N $M" >lbas
	cp -a t1 m1
	cp -a m1 m2
	rm -rf m2/c m2/dir/sub/x
	overlay m2 t2
	cp -a m2 m3
	overlay m3 t3
	touch .done
}

@test "continuation: our session 2 over genisoimage's session 1, as each reader sees it" {
	need genisoimage isoinfo xorriso
	build_disc
	read -r N M <"$W/disc/lbas"
	cd "$W/disc"
	canon_dir m1 >want1
	canon_dir m2 >want2
	lsiso_list disc.img 0 | canon_lsiso >got1
	show_diff want1 got1
	# session 1 is still there for the others too
	canon_dir_for_isoinfo m1 >want1.ii
	canon_isoinfo_rr disc.img 0 >got1.ii
	show_diff want1.ii got1.ii
	canon_dir_for_lsdl m1 >want1.x
	canon_xorriso_lsdl disc.img 0 >got1.x
	show_diff want1.x got1.x
	lsiso_list disc.img "$N" | canon_lsiso >got2
	show_diff want2 got2
	canon_dir_for_isoinfo m2 >want2.ii
	canon_isoinfo_rr disc.img "$N" | drop_rr_moved >got2.ii
	show_diff want2.ii got2.ii
	canon_dir_for_lsdl m2 >want2.x
	canon_xorriso_lsdl disc.img "$N" | drop_rr_moved >got2.x
	show_diff want2.x got2.x
	xorriso_extract disc.img x2 "$N"
	md5_dir m2 >want2.md5
	md5_dir x2 >got2.md5
	show_diff want2.md5 got2.md5
}

@test "continuation: session 2 points at session 1's data instead of copying it" {
	need genisoimage
	build_disc
	read -r N M <"$W/disc/lbas"
	cd "$W/disc"
	lsiso_list disc.img 0 >ls1
	lsiso_list disc.img "$N" >ls2
	lsiso_extents ls1 >e1
	lsiso_extents ls2 >e2
	# untouched files: the same extent, below N
	for p in /a.txt /big.bin /keep/k1 /keep/k3; do
		e=$(grep -F "$p"$'\t' e1 | cut -f2)
		[ -n "$e" ]
		[ "$e" -lt "$N" ]
		[ "$(grep -F "$p"$'\t' e2 | cut -f2)" = "$e" ]
	done
	# new and replaced files: data in session 2
	for p in /b.txt /new2.txt /newdir/z /c/inner /dir/sub/y; do
		e=$(grep -F "$p"$'\t' e2 | cut -f2)
		[ -n "$e" ]
		[ "$e" -ge "$N" ]
	done
	# old bytes are not written again: session 2 is smaller than big.bin
	[ "$(stat -c %s s2.img)" -lt 1000000 ]
	# isoinfo agrees on where big.bin lies
	canon_isoinfo_extents disc.img "$N" | grep -q "^/big.bin"$'\t'"$(grep -F /big.bin e1 | cut -f2)\$"
}

@test "continuation: hard links of a genisoimage session (no serials) stay linked" {
	need genisoimage
	mkdir s1 s2
	echo data >s1/a
	ln s1/a s1/b
	echo other >s1/c
	echo new >s2/new
	genisoimage -quiet -R -J -o disc.img s1
	cds mkimage -C 0,300 -M disc.img -o s2.iso s2
	dd if=s2.iso of=disc.img bs=2048 seek=300 conv=notrunc status=none
	lsiso_list disc.img 300 >ls
	[ "$(lsiso_field ls /a ino)" = "$(lsiso_field ls /b ino)" ]
	[ "$(lsiso_field ls /a ino)" != 0 ]
	[ "$(lsiso_field ls /a nlink)" = 2 ]
	[ "$(lsiso_field ls /b nlink)" = 2 ]
	[ "$(lsiso_field ls /c nlink)" = 1 ]
	[ "$(lsiso_field ls /c ino)" != "$(lsiso_field ls /a ino)" ]
}

@test "continuation: genisoimage -M continues our session: merged tree, extents kept" {
	need genisoimage isoinfo xorriso
	build_disc
	read -r N M <"$W/disc/lbas"
	cd "$W/disc"
	canon_dir m3 >want3
	lsiso_list disc.img "$M" >ls3
	canon_lsiso <ls3 >got3
	show_diff want3 got3
	canon_dir_for_isoinfo m3 >want3.ii
	canon_isoinfo_rr disc.img "$M" | drop_rr_moved >got3.ii
	show_diff want3.ii got3.ii
	canon_dir_for_lsdl m3 >want3.x
	canon_xorriso_lsdl disc.img "$M" | drop_rr_moved >got3.x
	show_diff want3.x got3.x
	xorriso_extract disc.img x3 "$M"
	md5_dir m3 >want3.md5
	md5_dir x3 >got3.md5
	show_diff want3.md5 got3.md5
	# session 1's and session 2's files keep their extents
	lsiso_list disc.img "$N" >ls2
	lsiso_extents ls2 >e2
	lsiso_extents ls3 >e3
	for p in /a.txt /big.bin /keep/k2 /b.txt /newdir/z /c/inner; do
		[ "$(grep -F "$p"$'\t' e3 | cut -f2)" = "$(grep -F "$p"$'\t' e2 | cut -f2)" ]
	done
	[ "$(grep -F /big.bin e3 | cut -f2)" -lt "$N" ]
	e=$(grep -F /newdir/z e3 | cut -f2)
	[ "$e" -ge "$N" ]
	[ "$e" -lt "$M" ]
	e=$(grep -F /new2.txt e3 | cut -f2)
	[ "$e" -ge "$M" ]
	# isoinfo reads the same extents from session 3
	canon_isoinfo_extents disc.img "$M" >e3.ii
	for p in /a.txt /big.bin /b.txt /new2.txt /new3.txt; do
		[ "$(grep -F "$p"$'\t' e3.ii | cut -f2)" = "$(grep -F "$p"$'\t' e3 | cut -f2)" ]
	done
}

@test "continuation: the kernel mounts our session 2 (sbsector=N) with Rock Ridge" {
	[ -x "$KERNEL_CHECK" ] || skip "no kernel-isofs checker"
	need genisoimage
	build_disc
	read -r N M <"$W/disc/lbas"
	cd "$W/disc"
	kernel_report disc.img "$N" k2.txt || {
		tail -5 k2.txt.err
		false
	}
	grep '^mounted:' k2.txt | grep -v -q norock
	canon_dir m2 >want2
	canon_kernel k2.txt | drop_rr_moved >got2
	show_diff want2 got2
	md5_sorted m2 >want2.md5
	kernel_md5 k2.txt >got2.md5
	show_diff want2.md5 got2.md5
}

@test "continuation on a virtual disc: mkimage -M DISC takes -C from the drive; burnt, it reads back" {
	need genisoimage
	mkdir -p t1/d t2/d
	printf 'one\n' >t1/one.txt
	printf 'kept\n' >t1/d/kept
	printf 'two\n' >t2/two.txt
	printf 'one, again\n' >t2/one.txt
	touch -d '2022-02-02 02:02:02' t2/one.txt
	cds create d.cdr
	genisoimage -quiet -R -J -o s1.iso t1
	cds burn --multi d.cdr s1.iso
	ms=$(cds msinfo d.cdr)
	# the first read of a file changes its atime, which TF records
	cds mkimage -o - t2 >/dev/null
	cds mkimage -M d.cdr -o s2.iso t2
	# the same session as with the numbers given
	cds mkimage -C "$ms" -M d.cdr -o s2c.iso t2
	cmp s2.iso s2c.iso
	cds burn --multi d.cdr s2.iso
	mkdir m
	cp -a t1/. m/
	cp -a t2/. m/
	canon_dir m >want
	# lsiso without --start reads the last session of a disc
	lsiso_list d.cdr | canon_lsiso >got
	show_diff want got
	canon_dir_for_isoinfo m >want.ii
	canon_isoinfo_rr d.cdr "$(last_start d.cdr)" >got.ii
	show_diff want.ii got.ii
}

@test "continuation: the kernel reads genisoimage's session 3 over ours (file contents)" {
	[ -x "$KERNEL_CHECK" ] || skip "no kernel-isofs checker"
	need genisoimage
	build_disc
	read -r N M <"$W/disc/lbas"
	cd "$W/disc"
	kernel_report disc.img "$M" k3.txt || {
		tail -5 k3.txt.err
		false
	}
	grep -q '^entries=[0-9]* errors=0$' k3.txt
	# genisoimage's PVD counts only its own session, so kernels from
	# 6.1.176 on drop its Rock Ridge (extent "out of volume") and show
	# Joliet: symlinks become empty files; the data of all three
	# sessions must still read back
	(cd m3 && find . -type l -printf '/%P\n') >links
	md5_sorted m3 >want3.md5
	kernel_md5 k3.txt | grep -v -F -x -f <(sed 's/^/d41d8cd98f00b204e9800998ecf8427e  /' links) >got3.md5
	show_diff want3.md5 got3.md5
}
