#!/usr/bin/env bats
# The mounted disc end to end, on virtual discs: copy a tree in, unmount
# (which burns it), mount again and compare; more sessions of every kind
# of change, each checked through the mount, our reader, isoinfo and
# xorriso against a reference tree; umount waits for the burn; sync and
# status; read-only cases; conflicts; a crash of the daemon.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/mkimage-tree
load ../lib/mkimage

MOUNT_CDSESSION=$CDS_BUILD/sbin/mount.cdsession

setup_file() {
	[ -e /dev/fuse ] || skip "no /dev/fuse"
	export W=$BATS_FILE_TMPDIR
	cd "$W"
	mk_full_tree src 300
	# what isoinfo and xorriso can read: symlink targets under 1024 bytes
	# (see mkimage.bats)
	cp -a src tools
	rm tools/hugelink tools/maxlink
}

setup() {
	[ -e /dev/fuse ] || skip "no /dev/fuse"
	[ "$(id -u)" = 0 ] || skip "needs root (fuseblk, owners)"
	cd "$BATS_TEST_TMPDIR"
	mkdir -p mnt
}

teardown() {
	cd "$BATS_TEST_TMPDIR" 2>/dev/null || return 0
	if mountpoint -q mnt; then umount mnt || umount -l mnt; fi
	# a daemon still finishing a commit holds the store: let it end
	for _ in $(seq 1 100); do
		pgrep -f "mount.cdsession.*$BATS_TEST_TMPDIR" >/dev/null || break
		sleep 0.1
	done
	pkill -9 -f "mount.cdsession.*$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# mnt_up [OPTS]: mount disc.img on mnt with a store in ./st
mnt_up() {
	"$MOUNT_CDSESSION" -o "staging=$PWD/st${1:+,$1}" disc.img mnt
}

# same_tree A B: rsync finds nothing to change from A to B (-a -H, owners
# and devices included)
same_tree() {
	run rsync -aHD --numeric-ids --dry-run --itemize-changes "$1/" "$2/"
	[ "$status" -eq 0 ] || {
		echo "rsync exit $status: $output" | head -20
		false
	}
	[ -z "$output" ] || {
		echo "$output" | head -20
		false
	}
}

# last_session_agrees REF: our reader, isoinfo -R and xorriso see REF in
# the disc's last session
last_session_agrees() {
	local last
	last=$(last_start disc.img)
	cds lsiso --start "$last" disc.img >ls.txt
	canon_dir "$1" >want
	canon_lsiso <ls.txt >got
	show_diff want got
	# isoinfo: names, types, permissions and sizes
	canon_dir_for_isoinfo "$1" >want.ii
	canon_isoinfo_rr disc.img "$last" >got.ii
	show_diff want.ii got.ii
	# xorriso: names and types of the session at LBA last
	(cd "$1" && find . -mindepth 1 -printf '/%P %y\n' | LC_ALL=C sort) >want.x
	xorriso -indev stdio:disc.img -load sbsector "$last" \
		-find / -exec lsdl -- 2>/dev/null |
		awk '{t = substr($1, 1, 1); if (t == "-") t = "f"
			p = $0; sub(/^[^\x27]*\x27/, "", p); sub(/\x27.*$/, "", p)
			if (p != "/") print p, t}' | LC_ALL=C sort >got.x
	show_diff want.x got.x
}

@test "mount: cp -a a tree in, umount burns it, the remount equals the source" {
	mnt_up create
	[ "$(stat -f -c %T mnt)" = fuseblk ] || mount | grep mnt
	cp -a "$W/src/." mnt/
	umount mnt
	run cds toc disc.img
	[[ "$output" == *"appendable, 1 session"* ]]
	mnt_up
	same_tree "$W/src" mnt
	umount mnt
	# our reader sees the source in the burnt session
	cds lsiso --start 0 disc.img >ls.txt
	canon_dir "$W/src" >want
	canon_lsiso <ls.txt >got
	show_diff want got
}

@test "mount: rsync -a -H into a fresh disc and back" {
	mnt_up create
	rsync -aHD --numeric-ids "$W/src/" mnt/
	umount mnt
	mnt_up
	same_tree "$W/src" mnt
	umount mnt
}

@test "mount: five more sessions of changes; every reader agrees; untouched extents stay" {
	# no directory deeper than 8 levels: isoinfo and xorriso would show
	# them relocated in /rr_moved (mkimage.bats tests relocation)
	cp -a "$W/tools" ref
	rm -r ref/level1/level2/level3/level4/level5/level6
	mnt_up create
	cp -a ref/. mnt/
	umount mnt
	cds lsiso --start 0 disc.img >s1.txt
	lsiso_extents s1.txt | grep -F -e /random.bin -e /hl/one >keep1
	for round in 1 2 3 4 5; do
		mnt_up
		# whole seconds: the disc keeps no fractions, and an old file
		# must be older than the stamp on both sides or on neither
		touch -d "@$(($(date +%s) - 1)).999999999" stamp
		case $round in
		1) # add, overwrite, append
			for d in mnt ref; do
				printf 'new %s\n' $round >"$d/new$round.txt"
				printf 'over\n' >"$d/hello.txt"
				printf 'more\n' >>"$d/exec"
			done ;;
		2) # delete, rename a file and a directory from the disc
			for d in mnt ref; do
				rm "$d/empty" "$d/link"
				mv "$d/level1" "$d/moved-level1"
				mv "$d/rellink" "$d/hl/rellink2"
			done ;;
		3) # chmod, chown, truncate, touch
			for d in mnt ref; do
				chmod 0640 "$d/exec"
				chown 7:8 "$d/new1.txt"
				truncate -s 10 "$d/hello.txt"
				truncate -s 70000 "$d/sparse"
				touch -d '2022-02-22 22:22:22' "$d/new1.txt"
			done ;;
		4) # delete then recreate as another type; hard link a disc file
			for d in mnt ref; do
				rm "$d/fifo"
				mkdir "$d/fifo"
				ln "$d/private" "$d/private.link"
				rm -r "$d/many"
			done ;;
		5) # rename over, a new deep tree
			for d in mnt ref; do
				mv -T "$d/new1.txt" "$d/hello.txt"
				mkdir -p "$d/a/b/c/d/e/f"
				printf 'deep\n' >"$d/a/b/c/d/e/f/k.txt"
			done ;;
		esac
		# the times of what changed are not part of the comparison
		# (the two trees were written a moment apart): fix them
		find ref mnt -newer stamp -exec touch -h -d '2012-12-12 12:12:12' {} +
		find ref mnt -depth -type d -exec touch -d '2012-12-12 12:12:12' {} +
		same_tree ref mnt
		umount mnt
		run cds toc disc.img
		[[ "$output" == *"appendable, $((round + 1)) sessions"* ]]
		mnt_up
		same_tree ref mnt
		umount mnt
		last_session_agrees ref
	done
	# files never touched keep their first session's extents
	cds lsiso --start "$(last_start disc.img)" disc.img >s6.txt
	lsiso_extents s6.txt | grep -F -e /random.bin -e /hl/one >keep6
	show_diff keep1 keep6
}

@test "mount: umount returns only when the session is on the disc" {
	mnt_up create
	umount mnt
	# nothing was staged: the disc is still blank
	run cds toc disc.img
	[[ "$output" != *"session"*"data"* ]]
	CDSESSION_EMU=speed=16 mnt_up
	head -c 1000000 /dev/urandom >mnt/blob
	sum=$(md5sum <mnt/blob)
	before=$(date +%s%N)
	umount mnt
	after=$(date +%s%N)
	# at 16x (2.4 MB/s) the burn takes seconds: umount waited for it
	echo "# umount took $(((after - before) / 1000000)) ms" >&3
	run cds toc disc.img
	[[ "$output" == *"appendable, 1 session"* ]]
	mnt_up
	[ "$(md5sum <mnt/blob)" = "$sum" ]
}

@test "mount: cdsession sync burns now; status; nothing staged burns nothing" {
	mnt_up create
	run cds status mnt
	[[ "$output" == *"medium: CD-R, 0 sessions (blank)"$'\n'* ]]
	[[ "$output" == *"pending: nothing staged"* ]]
	echo one >mnt/one
	head -c 3000 /dev/zero >mnt/three-k
	ln mnt/three-k mnt/link
	run cds status mnt
	[[ "$output" == *"pending: 3 changes, 2.9 KiB of new data"* ]]
	rm mnt/three-k mnt/link
	run cds sync mnt
	[ "$status" -eq 0 ]
	[[ "$output" == "session at LBA 0 ("*" blocks, tag cds-"*") burnt and verified" ]]
	run cds status mnt
	[ "$status" -eq 0 ]
	[[ "$output" == *"state: idle"* ]]
	[[ "$output" == *"last: session at LBA 0"* ]]
	[[ "$output" == *"capacity: 702.8 MiB"* ]]
	[[ "$output" == *"medium: CD-R, 1 session"$'\n'"last session: LBA 0, tag cds-"* ]]
	# the mount goes on over the new session
	[ "$(cat mnt/one)" = one ]
	echo two >mnt/two
	run cds sync mnt
	[ "$status" -eq 0 ]
	run cds toc disc.img
	[[ "$output" == *"appendable, 2 sessions"* ]]
	# nothing new: no session
	cds sync mnt
	umount mnt
	run cds toc disc.img
	[[ "$output" == *"appendable, 2 sessions"* ]]
	# `sync MOUNTPOINT` of coreutils commits as well
	mnt_up
	echo three >mnt/three
	sync mnt
	run cds toc disc.img
	[[ "$output" == *"appendable, 3 sessions"* ]]
	run cds umount mnt
	[ "$status" -eq 0 ]
	! mountpoint -q mnt
}

@test "mount: session=N shows that session's tree, read-only" {
	mnt_up create
	echo first >mnt/first
	umount mnt
	mnt_up
	rm mnt/first
	echo second >mnt/second
	umount mnt
	mnt_up session=1
	[ "$(ls mnt)" = first ]
	run touch mnt/x
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	umount mnt
	mnt_up
	[ "$(ls mnt)" = second ]
}

@test "mount: a closed disc mounts read-only; close at unmount" {
	mnt_up create,close
	echo last >mnt/last
	umount mnt
	run cds toc disc.img
	[[ "$output" == *"complete"* || "$output" == *"closed"* || "$output" == *"finalized"* ]]
	run "$MOUNT_CDSESSION" -o "staging=$PWD/st" disc.img mnt
	[ "$status" -eq 0 ]
	[[ "$output" == *"mounting read-only"* ]]
	[ "$(cat mnt/last)" = last ]
	run mkdir mnt/d
	[ "$status" -ne 0 ]
}

@test "mount: a second mount of the same disc is refused" {
	mnt_up create
	mkdir mnt2
	run "$MOUNT_CDSESSION" -o "staging=$PWD/st" disc.img mnt2
	[ "$status" -eq 1 ]
	[[ "$output" == *"in use"* || "$output" == *"busy"* ]]
	! mountpoint -q mnt2
}

@test "mount: a disc that got a session elsewhere is refused, nothing lost" {
	mnt_up create
	echo s1 >mnt/s1
	umount mnt
	mnt_up commit=manual
	echo staged >mnt/staged
	umount mnt
	mkdir other
	echo o >other/o
	cds mkimage -M disc.img -o s2.iso other 2>/dev/null
	cds burn --multi disc.img s2.iso >/dev/null 2>&1
	run mnt_up
	[ "$status" -eq 1 ]
	[[ "$output" == *"holds changes made over the session at LBA 0"*"cdsession staging list, export or discard" ]]
	run cds staging list --staging st disc.img
	[[ "$output" == *"A   /staged"* ]]
}

@test "mount: kill -9 of the daemon during a copy; fsynced data survives" {
	mnt_up create
	head -c 2000000 /dev/urandom >big
	dd if=big of=mnt/synced bs=64k conv=fsync status=none
	head -c 500000 /dev/urandom >mnt/unsynced
	pkill -9 -f "mount.cdsession.*$BATS_TEST_TMPDIR"
	umount -l mnt 2>/dev/null || true
	sleep 0.5
	mnt_up
	cmp big mnt/synced
	umount mnt
	mnt_up
	cmp big mnt/synced
}

@test "mount: bad usage and bad sources" {
	run "$MOUNT_CDSESSION" disc.img
	[ "$status" -eq 2 ]
	run "$MOUNT_CDSESSION" -o session=x disc.img mnt
	[ "$status" -eq 1 ]
	[[ "$output" == *"session="* ]]
	run "$MOUNT_CDSESSION" /nonexistent mnt
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	head -c 100000 /dev/zero >junk.img
	run "$MOUNT_CDSESSION" junk.img mnt
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "mount: allow_other with the kernel's permission checks: they hold for another user" {
	need setpriv
	P=$(mktemp -d /tmp/cds-mount.XXXXXX)
	chmod 755 "$P"
	mkdir "$P/mnt"
	"$MOUNT_CDSESSION" -o "create,allow_other,staging=$PWD/st" "$P/disc.img" "$P/mnt"
	mkdir -m 0755 "$P/mnt/rootonly"
	mkdir -m 1777 "$P/mnt/shared"
	echo secret >"$P/mnt/secret"
	chmod 0600 "$P/mnt/secret"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	run as_nobody touch "$P/mnt/rootonly/x"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	run as_nobody cat "$P/mnt/secret"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	run as_nobody sh -c "echo mine >'$P/mnt/shared/n.txt'"
	[ "$status" -eq 0 ]
	[ "$(stat -c %u "$P/mnt/shared/n.txt")" = 65534 ]
	# the sticky bit: nobody cannot remove root's file in shared/
	echo r >"$P/mnt/shared/r.txt"
	run as_nobody rm -f "$P/mnt/shared/r.txt"
	[ "$status" -ne 0 ]
	# writing a setuid file as another user clears the bit
	echo s >"$P/mnt/suid"
	chmod 4777 "$P/mnt/suid"
	as_nobody sh -c "echo more >>'$P/mnt/suid'"
	[ "$(stat -c %a "$P/mnt/suid")" = 777 ]
	# the daemon's status is anyone's to read; closing the disc is not
	run as_nobody "$CDSESSION" status "$P/mnt"
	[ "$status" -eq 0 ]
	[[ "$output" == *"state: idle"* ]]
	run as_nobody "$CDSESSION_FIX" "$P/mnt"
	[ "$status" -ne 0 ]
	[[ "$output" == *"closing the disc failed: Operation not permitted"* ]]
	run cds toc "$P/disc.img"
	[[ "$output" != *"closed"* ]]
	umount "$P/mnt"
	rm -rf "$P"
}

@test "mount: another disc's staging directory is refused" {
	mnt_up create
	echo a >mnt/a
	umount mnt
	cds create other.img
	mkdir mnt2
	# a blank disc with the first disc's staging directory
	run "$MOUNT_CDSESSION" -o "staging=$PWD/st" other.img mnt2
	[ "$status" -eq 1 ]
	echo "$output"
	[[ "$output" == *"staging directory $PWD/st belongs to disc CDROM-"*", not to this disc (blank)" ]]
	! mountpoint -q mnt2
}

@test "mount: cdsession-fix MOUNTPOINT makes what is staged the last session" {
	mnt_up create
	echo last >mnt/last
	run cds_fix mnt
	[ "$status" -eq 0 ]
	[[ "$output" == *"burnt and verified"* ]]
	run cds toc disc.img
	[[ "$output" == *"closed (finalized), 1 session"* ]]
	run touch mnt/more
	[ "$status" -ne 0 ]
	[ "$(cat mnt/last)" = last ]
	umount mnt
	# nothing staged: the disc is closed as it is
	cds create disc2.img
	"$MOUNT_CDSESSION" -o "create,staging=$PWD/st2" disc2.img mnt
	echo one >mnt/one
	cds sync mnt
	run cds_fix mnt
	[ "$status" -eq 0 ]
	[[ "$output" == *"the disc is closed"* ]]
	run cds toc disc2.img
	[[ "$output" == *"closed (finalized)"* ]]
	[ "$(cat mnt/one)" = one ]
}

# crash_trial N: stage files on a CD-RW with a session, burn with the drive
# losing power after N blocks (or the daemon killed mid-burn when N is
# "kill"), remount: the broken session is blanked, nothing staged is lost,
# the next commit burns it all
crash_trial() {
	rm -rf st disc.img ref
	mkdir -p ref
	"$MOUNT_CDSESSION" -o "create,media=cdrw,staging=$PWD/st" disc.img mnt
	echo first >mnt/first
	echo first >ref/first
	umount mnt
	if [ "$1" = kill ]; then
		CDSESSION_EMU=speed=8 mnt_up
	else
		CDSESSION_EMU=power-cut=$1 mnt_up
	fi
	head -c 1500000 /dev/urandom >ref/blob
	cp ref/blob mnt/blob
	mkdir mnt/d ref/d
	echo x >mnt/d/x
	echo x >ref/d/x
	dd if=ref/blob of=mnt/synced bs=64k conv=fsync status=none
	cp ref/blob ref/synced
	# the two trees were written a moment apart: the same times
	for t in ref mnt; do
		touch -d '2020-02-02 20:20:20' "$t/first" "$t/blob" "$t/d/x" \
			"$t/synced" "$t/d" "$t"
	done
	if [ "$1" = kill ]; then
		cds sync mnt >/dev/null 2>&1 &
		sleep 1.5
		pkill -9 -f "mount.cdsession.*$BATS_TEST_TMPDIR"
		wait || true
		umount -l mnt 2>/dev/null || true
	else
		run cds sync mnt
		[ "$status" -eq 1 ]
		umount mnt || umount -l mnt
	fi
	for _ in $(seq 1 50); do
		pgrep -f "mount.cdsession.*$BATS_TEST_TMPDIR" >/dev/null || break
		sleep 0.1
	done
	mnt_up
	same_tree ref mnt
	umount mnt
	mnt_up
	same_tree ref mnt
	umount mnt
	run cds toc disc.img
	[[ "$output" == *"appendable, 2 sessions"* ]]
}

@test "mount: power cut and kill -9 mid-burn on a CD-RW: blanked, nothing lost, burnt again" {
	local trials=${CDS_SLOW:+50}
	for i in $(seq 1 "${trials:-2}"); do
		crash_trial $((100 + RANDOM % 600))
		crash_trial kill
	done
}

# cdr_cut SPEC: a CD-R with one session; files staged (40 MB: more than the
# 16384 blocks after which the emulator persists a track's progress, so the
# drive reports an NWA past the track's start); the unmount's burn is cut
# by a power loss under CDSESSION_EMU=SPEC; the daemon is gone after it
cdr_cut() {
	rm -rf st disc.img ref
	mkdir -p ref
	"$MOUNT_CDSESSION" -o "create,staging=$PWD/st" disc.img mnt
	echo first >mnt/first
	echo first >ref/first
	umount mnt
	CDSESSION_EMU=$1 mnt_up
	head -c 40000000 /dev/urandom >ref/blob
	cp ref/blob mnt/blob
	mkdir mnt/d ref/d
	echo x >mnt/d/x
	echo x >ref/d/x
	for t in ref mnt; do
		touch -d '2020-02-02 20:20:20' "$t/first" "$t/blob" "$t/d/x" \
			"$t/d" "$t"
	done
	umount mnt || umount -l mnt
	for _ in $(seq 1 50); do
		pgrep -f "mount.cdsession.*$BATS_TEST_TMPDIR" >/dev/null || break
		sleep 0.1
	done
	! pgrep -f "mount.cdsession.*$BATS_TEST_TMPDIR"
	run cds toc disc.img
	echo "$output"
	[[ "$output" == *"last session open, 2 sessions"* ]]
	[[ "$output" == *"data damaged"* ]]
}

@test "mount: power cut mid-burn on a CD-R that can continue the track: the remount finishes the session" {
	cdr_cut power-cut=18000,cut-continuable
	run "$MOUNT_CDSESSION" -o "staging=$PWD/st" disc.img mnt
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"interrupted burn cut off is finished"* ]]
	same_tree ref mnt
	run cds toc disc.img
	echo "$output"
	[[ "$output" == *"appendable, 2 sessions"* ]]
	[[ "$output" != *"damaged"* ]]
	# nothing was left staged: the unmount burns nothing more
	umount mnt
	run cds toc disc.img
	[[ "$output" == *"appendable, 2 sessions"* ]]
	run cds staging list --staging st disc.img
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"last session at LBA 11702"* ]]
	[[ "$output" == *"0 changes"* ]]
	mnt_up
	echo more >mnt/more
	echo more >ref/more
	touch -d '2020-02-02 20:20:20' mnt/more ref/more mnt ref
	umount mnt
	run cds toc disc.img
	[[ "$output" == *"appendable, 3 sessions"* ]]
	mnt_up
	same_tree ref mnt
	umount mnt
}

@test "mount: power cut mid-burn on a CD-R that cannot continue the track: read-only, what is staged shown" {
	cdr_cut power-cut=18000
	run "$MOUNT_CDSESSION" -o "staging=$PWD/st" disc.img mnt
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no session can follow it"* ]]
	[[ "$output" == *"mounting read-only"* ]]
	same_tree ref mnt
	run touch mnt/new
	[ "$status" -ne 0 ]
	umount mnt
	run cds toc disc.img
	[[ "$output" == *"1 session"* ]] || [[ "$output" == *"damaged"* ]]
}

@test "mount: inode numbers and open files survive a commit" {
	mnt_up create
	mkdir mnt/d
	echo data >mnt/d/f
	ln mnt/d/f mnt/d/g
	before=$(stat -c '%i %i' mnt/d mnt/d/f)
	exec 8<mnt/d/f
	cd mnt/d
	cds sync ..
	# the kernel's view (cached nodes, a cwd, an open file) holds
	[ "$(cat f)" = data ]
	[ "$(stat -c %i f)" = "$(stat -c %i g)" ]
	cd "$BATS_TEST_TMPDIR"
	[ "$(stat -c '%i %i' mnt/d mnt/d/f)" = "$before" ]
	[ "$(cat <&8)" = data ]
	exec 8<&-
	echo more >mnt/d/h
	cds sync mnt
	[ "$(stat -c '%i %i' mnt/d mnt/d/f)" = "$before" ]
	[ "$(cat mnt/d/h)" = more ]
}

@test "mount: extended attributes are refused with ENOTSUP, never dropped silently" {
	mnt_up create
	echo x >mnt/f
	mkdir mnt/d
	# set, get, list, remove, and the kernel's own security.capability
	# look-up, on a file, a directory and the root
	run python3 - mnt/f mnt/d mnt <<'EOF'
import errno, os, sys
for p in sys.argv[1:]:
    for what, call in (("set", lambda: os.setxattr(p, "user.a", b"1")),
                       ("get", lambda: os.getxattr(p, "user.a")),
                       ("list", lambda: os.listxattr(p)),
                       ("remove", lambda: os.removexattr(p, "user.a")),
                       ("caps", lambda: os.getxattr(p, "security.capability"))):
        try:
            call()
            print(p, what, "succeeded")
        except OSError as e:
            print(p, what, errno.errorcode[e.errno])
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c ' ENOTSUP$' <<<"$output")" -eq 15 ]
	# copying one in, asked for, says so instead of dropping it (cp -a
	# alone keeps xattrs only where it can, by its own design)
	echo y >xa
	if python3 -c 'import os; os.setxattr("xa", "user.k", b"v")' 2>/dev/null; then
		run cp --preserve=xattr xa mnt/xa
		[ "$status" -ne 0 ]
		[[ "$output" == *"Operation not supported"* ]]
		run rsync -X xa mnt/xb
		[ "$status" -eq 23 ]
		[[ "$output" == *"Operation not supported"* ]]
	fi
	umount mnt
}

@test "mount: df shows the disc; a file that can never fit fails with ENOSPC at once" {
	mnt_up create
	free0=$(stat -f -c %f mnt)
	[ "$(stat -f -c '%S %b' mnt)" = "2048 359849" ]
	head -c 10000000 /dev/urandom >mnt/ten
	free1=$(stat -f -c %f mnt)
	# 10 MB staged: 4883 blocks fewer
	[ $((free0 - free1)) -eq 4883 ]
	run truncate -s 800M mnt/huge
	[ "$status" -ne 0 ]
	[[ "$output" == *"No space left on device"* ]]
	run fallocate -l 800M mnt/huge2
	[ "$status" -ne 0 ]
	# a sparse file that fits, then writes past what is left
	truncate -s 650M mnt/fill
	run dd if=/dev/zero of=mnt/more bs=1M count=40 status=none
	[ "$status" -ne 0 ]
	[[ "$output" == *"No space left on device"* ]]
	# deleting makes room again; what fits is kept, and burns
	rm mnt/fill
	dd if=/dev/zero of=mnt/more bs=1M count=40 status=none
	umount mnt
	mnt_up
	[ "$(stat -c %s mnt/ten)" = 10000000 ]
	[ "$(stat -c %s mnt/more)" = 41943040 ]
	[ ! -e mnt/fill ]
}
