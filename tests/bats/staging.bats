#!/usr/bin/env bats
# `cdsession staging list|export|discard`: what is staged for a disc, shown
# as changes against the session it was staged over; the conflict when the
# disc got a session elsewhere (nothing dropped or misapplied, export saves
# it, discard drops it only when told).  Changes are staged through the
# staging API by the hidden `cdsession stage` (what the mount will do).

bats_require_minimum_version 1.5.0

load ../lib/common

# a disc with one session: /docs/{a,b}.txt, /keep/k and its hard link k2
setup_file() {
	export W=$BATS_FILE_TMPDIR
	cd "$W"
	mkdir -p t/docs t/keep
	echo one >t/docs/a.txt
	echo two >t/docs/b.txt
	echo k >t/keep/k
	ln t/keep/k t/keep/k2
	head -c 307217 /dev/urandom >t/docs/big.bin
	cds create disc1.img
	cds mkimage -o s1.iso t 2>/dev/null
	cds burn --multi disc1.img s1.iso >/dev/null 2>&1
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	cp "$W/disc1.img" disc.img
	echo hello >local.txt
}

# the staging operations every test starts from
stage_some() {
	cds stage --staging st disc.img <<-EOF
		mkdir /new 755
		put /new/f.txt local.txt
		rm /docs/b.txt
		mv /docs/a.txt /docs/renamed.txt
		chmod 600 /keep/k
		write /keep/k2 0 XY
		symlink ../docs /new/ln
		mkfifo /new/fifo
		chmod 640 /docs/big.bin
	EOF
}

# add_foreign_session: a session written by someone else (plain mkimage)
add_foreign_session() {
	mkdir -p other
	echo other >other/o.txt
	cds mkimage -M disc.img -o s2.iso other 2>/dev/null
	cds burn --multi disc.img s2.iso >/dev/null 2>&1
}

expected_changes() {
	cat <<-EOF
		D   /docs/b.txt
		m   /docs/big.bin
		R   /docs/renamed.txt <- /docs/a.txt
		Mm  /keep/k
		Mm  /keep/k2
		A   /new
		A   /new/f.txt
		A   /new/fifo
		A   /new/ln
		9 changes
	EOF
}

@test "staging list: nothing staged, and no store directory is made" {
	run cds staging list --staging st disc.img
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "staging st" ]
	[ "${lines[2]}" = "nothing staged" ]
	[ ! -e st ]
}

@test "staging list: every kind of change against the base session" {
	stage_some
	run cds staging list --staging st disc.img
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "disc CDROM-"*", last session at LBA 0" ]]
	[ "${lines[2]}" = "changes staged over the last session:" ]
	diff <(expected_changes) <(printf '%s\n' "${lines[@]:3}")
	# the store is private to its owner
	[ "$(stat -c %a st)" = 700 ]
}

@test "staging export: changed entries with data, modes, links, symlink, fifo" {
	stage_some
	run cds staging export --staging st disc.img out
	[ "$status" -eq 0 ]
	[[ "$output" == "exported 8 entries ("*" of data) to out; 1 deletion is not exported (see cdsession staging list)" ]]
	# a file of the disc read through its extents
	cmp out/docs/big.bin "$W/t/docs/big.bin"
	[ "$(stat -c %a out/docs/big.bin)" = 640 ]
	[ "$(cat out/new/f.txt)" = hello ]
	[ "$(cat out/docs/renamed.txt)" = one ]
	[ "$(cat out/keep/k)" = XY ]
	[ "$(stat -c '%a %h %i' out/keep/k)" = "$(stat -c '%a %h %i' out/keep/k2)" ]
	[ "$(stat -c '%a %h' out/keep/k)" = "600 2" ]
	[ "$(readlink out/new/ln)" = ../docs ]
	[ -p out/new/fifo ]
	[ ! -e out/docs/b.txt ]
	# never into a directory that has something in it
	run cds staging export --staging st disc.img out
	[ "$status" -eq 1 ]
	[ "$output" = "cdsession: out exists and is not empty" ]
}

@test "staging: a session added elsewhere is a conflict, and nothing is lost" {
	stage_some
	before=$(cd st && find . -type f ! -name lock -exec sha1sum {} + | sort)
	add_foreign_session
	last=$(last_start disc.img)
	[ "$last" -gt 0 ]
	# what the mount will do: refuse with a one-line message
	run cds stage --staging st disc.img </dev/null
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"holds changes made over the session at LBA 0, but the disc's last session starts at LBA $last"*"cdsession staging list, export or discard" ]]
	run cds staging list --staging st disc.img
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = "CONFLICT: changes staged over the session at LBA 0, which is no longer the last one; export or discard them:" ]
	diff <(expected_changes) <(printf '%s\n' "${lines[@]:3}")
	# exported over the old session's files, which are still on the disc
	run cds staging export --staging st disc.img out
	[ "$status" -eq 0 ]
	[ "$(cat out/docs/renamed.txt)" = one ]
	[ "$(cat out/new/f.txt)" = hello ]
	cmp out/docs/big.bin "$W/t/docs/big.bin"
	after=$(cd st && find . -type f ! -name lock -exec sha1sum {} + | sort)
	[ "$before" = "$after" ]
}

@test "staging discard: only with --yes, then the store is gone" {
	stage_some
	run cds staging discard --staging st disc.img
	[ "$status" -eq 1 ]
	[ "$output" = "cdsession: discard deletes everything staged in st for good; add --yes to do it" ]
	[ -s st/journal ]
	run cds staging discard --yes --staging st disc.img
	[ "$status" -eq 0 ]
	[ "$output" = "discarded st" ]
	[ ! -e st ]
	run cds staging list --staging st disc.img
	[ "${lines[2]}" = "nothing staged" ]
	# without a device when the directory is named
	stage_some
	run cds staging discard --yes --staging st
	[ "$status" -eq 0 ]
	[ ! -e st ]
}

@test "staging: a store in use is refused with the holder's pid" {
	stage_some
	# hold the store's lock as a daemon would
	exec 9>>st/lock
	flock -n 9
	echo 4242 >st/lock
	run cds staging list --staging st disc.img
	exec 9>&-
	[ "$status" -eq 1 ]
	[[ "$output" == *"staging directory st is in use by another cdsession (pid 4242)" ]]
}

@test "staging: the default store is per disc under XDG_DATA_HOME; list --all" {
	need setpriv
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$CDSESSION" ||
		skip "user nobody cannot run $CDSESSION"
	# bats' own directories are private to root: work where nobody can
	P=$(mktemp -d /tmp/cds-staging.XXXXXX)
	chmod 755 "$P"
	cp disc.img "$P/"
	chmod 644 "$P/disc.img"
	mkdir -m 777 "$P/xdg"
	cd "$P"
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			env XDG_DATA_HOME="$P/xdg" "$CDSESSION" "$@"
	}
	as_nobody stage disc.img <<<'mkdir /n 755'
	id=$(ls xdg/cdsession)
	[[ "$id" == CDROM-* ]]
	[ "$(stat -c '%a %U' "xdg/cdsession/$id")" = "700 nobody" ]
	run as_nobody staging list --all
	[ "$status" -eq 0 ]
	[[ "$output" == "$id	staged over the session at LBA 0, journal "* ]]
	run as_nobody staging list disc.img
	[ "${lines[3]}" = "A   /n" ]
	cd /
	rm -rf "$P"
}

@test "staging: bad usage" {
	run cds staging
	[ "$status" -eq 2 ]
	run cds staging frob disc.img
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"unknown staging command 'frob'" ]]
	run cds staging export --staging st
	[ "$status" -eq 2 ]
	run cds staging list --yes disc.img
	[ "$status" -eq 2 ]
	run cds staging list --staging st /nonexistent
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "status DEVICE: the medium and what is staged" {
	run cds status --staging st disc.img
	[ "$status" -eq 0 ]
	[[ "$output" == *"medium: CD-R, 1 session"* ]]
	[[ "$output" == *"pending: nothing staged"* ]]
	stage_some
	run cds status --staging st disc.img
	# f.txt (6 bytes) and k (2 bytes, two names)
	[[ "$output" == *"pending: 9 changes, 8 B of new data"* ]]
	add_foreign_session
	run cds status --staging st disc.img
	[[ "$output" == *"medium: CD-R, 2 sessions"* ]]
	[[ "$output" == *"(CONFLICT: staged over an older session"* ]]
}
