#!/usr/bin/env bats
# The drive issue's user stories on a virtual disc: create, toc, msinfo,
# burn sessions made by genisoimage -C -M, fix; CD-RW blanking; bad input.

load ../lib/common

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "create makes a blank 80 min CD-R; toc and msinfo describe it" {
	run cds create d.cdr
	[ "$status" -eq 0 ]
	run cds toc d.cdr
	[ "$status" -eq 0 ]
	[[ "$output" == *"CD-R"* ]]
	[[ "$output" == *"blank"* ]]
	[[ "$output" == *"next writable  0"* ]]
	[[ "$output" == *"capacity       359849 blocks"* ]]
	run cds msinfo d.cdr
	[ "$status" -eq 1 ]
	[[ "$output" == *"blank"* ]]
	[ "${#lines[@]}" -eq 1 ]
}

@test "create refuses to overwrite and rejects unknown media" {
	touch exists
	run cds create exists
	[ "$status" -eq 1 ]
	[[ "$output" == *"exists"* ]]
	run cds create --media floppy x.cdr
	[ "$status" -eq 2 ]
	[ ! -e x.cdr ]
	run cds create --media cdr74 d74.cdr
	[ "$status" -eq 0 ]
	run cds toc d74.cdr
	[[ "$output" == *"capacity       335975 blocks"* ]]
}

@test "five genisoimage sessions via msinfo and burn --multi, then cdsession-fix" {
	need genisoimage isoinfo xorriso
	cds create d.cdr
	make_tree src1 1
	genisoimage -quiet -R -J -o s1.iso src1
	run cds burn --multi d.cdr s1.iso
	[ "$status" -eq 0 ]
	starts=(0)
	for n in 2 3 4 5; do
		ms=$(cds msinfo d.cdr)
		[[ "$ms" =~ ^[0-9]+,[0-9]+$ ]]
		make_tree src$n $n
		# replace a file of the first session each time
		printf 'changed in %s\n' "$n" >src$n/file1.txt
		# genisoimage -M keeps the old extent when size and mtime
		# match, so give each version its own mtime
		touch -d "@$((1700000000 + n))" src$n/file1.txt
		genisoimage -quiet -R -J -C "$ms" -M d.cdr -o s$n.iso src$n
		run cds burn --multi d.cdr s$n.iso
		[ "$status" -eq 0 ]
		last=$(last_start d.cdr)
		[ "$last" -eq "${ms#*,}" ]
		starts+=("$last")
		# the merged tree: every session's files, file1 replaced
		listing=$(isoinfo -i d.cdr -T "$last" -R -f)
		for k in $(seq 1 $n); do
			[[ "$listing" == *"/file$k.txt"* ]]
			[[ "$listing" == *"/sub$k/deeper/n.txt"* ]]
			got=$(isoinfo -i d.cdr -T "$last" -R -x "/sub$k/blob.bin" | sha1sum)
			want=$(sha1sum <src$k/sub$k/blob.bin)
			[ "$got" = "$want" ]
		done
		[ "$(isoinfo -i d.cdr -T "$last" -R -x /file1.txt)" = "changed in $n" ]
		xo=$(xorriso -indev stdio:d.cdr -load sbsector "$last" -find / 2>/dev/null)
		[[ "$xo" == *"'/file$n.txt'"* ]]
		[[ "$xo" == *"'/sub1/deeper/n.txt'"* ]]
	done
	# geometry: session 2 starts 11400 after session 1's lead-out, later +6900
	run cds toc d.cdr
	[[ "$output" == *"5 sessions"* ]]
	# burn pads a track to the 300-block minimum; +2 run-out blocks
	track_len() { local b=$(($(stat -c %s "$1") / 2048)); echo $(((b < 300 ? 300 : b) + 2)); }
	s1_len=$(track_len s1.iso)
	[ "${starts[1]}" -eq $((s1_len + 11400)) ]
	s2_len=$(track_len s2.iso)
	[ "${starts[2]}" -eq $((starts[1] + s2_len + 6900)) ]

	run cds_fix d.cdr
	[ "$status" -eq 0 ]
	run cds toc d.cdr
	[[ "$output" == *"closed (finalized)"* ]]
	# the closing session still shows the last tree
	last=$(cds toc d.cdr | awk '$1 ~ /^[0-9]+$/ {s=$3} END {print s}')
	listing=$(isoinfo -i d.cdr -T "$last" -R -f)
	[[ "$listing" == *"/file5.txt"* ]]
	before=$(disc_sum d.cdr)
	run cds burn --multi d.cdr s1.iso
	[ "$status" -eq 1 ]
	[[ "$output" == *"closed"* ]]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(disc_sum d.cdr)" = "$before" ]
	run cds_fix d.cdr
	[ "$status" -eq 0 ]
	[[ "$output" == *"already closed"* ]]
}

@test "burn without --multi closes the disc; msinfo then fails" {
	need genisoimage
	cds create d.cdr
	make_tree src 1
	genisoimage -quiet -R -o s.iso src
	run cds burn d.cdr s.iso
	[ "$status" -eq 0 ]
	run cds toc d.cdr
	[[ "$output" == *"closed (finalized)"* ]]
	run cds msinfo d.cdr
	[ "$status" -eq 1 ]
	[[ "$output" == *"closed"* ]]
}

@test "cdsession-fix closes a session left open" {
	need genisoimage
	cds create d.cdr
	make_tree src 1
	genisoimage -quiet -R -o s.iso src
	run cds burn --multi d.cdr s.iso
	[ "$status" -eq 0 ]
	run cds_fix d.cdr
	[ "$status" -eq 0 ]
	run cds toc d.cdr
	[[ "$output" == *"closed (finalized)"* ]]
	[[ "$output" == *"2 sessions"* ]]
}

@test "a dummy burn writes nothing" {
	need genisoimage
	cds create d.cdr
	make_tree src 1
	genisoimage -quiet -R -o s.iso src
	before=$(disc_sum d.cdr)
	run cds burn --dummy --multi d.cdr s.iso
	[ "$status" -eq 0 ]
	[ "$(disc_sum d.cdr)" = "$before" ]
	run cds toc d.cdr
	[[ "$output" == *"blank"* ]]
}

@test "CD-RW: burn, blank --fast, burn again; blank --all; CD-R refuses blank" {
	need genisoimage
	cds create --media cdrw rw.cdr
	make_tree src 1
	genisoimage -quiet -R -o s.iso src
	cds burn --multi rw.cdr s.iso
	run cds blank rw.cdr
	[ "$status" -eq 0 ]
	run cds toc rw.cdr
	[[ "$output" == *"blank"* ]]
	run cds burn rw.cdr s.iso
	[ "$status" -eq 0 ]
	run cds toc rw.cdr
	[[ "$output" == *"closed (finalized)"* ]]
	run cds blank --all rw.cdr
	[ "$status" -eq 0 ]
	run cds toc rw.cdr
	[[ "$output" == *"blank"* ]]
	cds create r.cdr
	run cds blank r.cdr
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "bad input: missing device, foreign file, damaged disc, bad images" {
	run cds toc nonexistent.cdr
	[ "$status" -eq 1 ]
	[[ "$output" == *"nonexistent.cdr"* ]]
	[ "${#lines[@]}" -eq 1 ]

	head -c 1000000 /dev/urandom >foreign.bin
	run cds toc foreign.bin
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a cdsession virtual disc"* ]]
	[ "${#lines[@]}" -eq 1 ]

	cds create d.cdr
	size=$(stat -c %s d.cdr)
	# overwrite the whole medium-state trailer (after 359849 blocks)
	tail_blocks=$(((size - 359849 * 2048 + 2047) / 2048))
	[ "$tail_blocks" -gt 0 ]
	dd if=/dev/urandom of=d.cdr bs=2048 seek=359849 count="$tail_blocks" \
		conv=notrunc status=none
	[ "$(stat -c %s d.cdr)" -eq "$size" ]
	run cds toc d.cdr
	[ "$status" -eq 1 ]
	[[ "$output" == *"d.cdr"* ]]
	[ "${#lines[@]}" -eq 1 ]

	cds create e.cdr
	before=$(disc_sum e.cdr)
	head -c 3000 /dev/zero >odd.iso
	run cds burn e.cdr odd.iso
	[ "$status" -eq 1 ]
	[[ "$output" == *"multiple of 2048"* ]]
	run cds burn e.cdr missing.iso
	[ "$status" -eq 1 ]
	[[ "$output" == *"missing.iso"* ]]
	truncate -s 800M big.iso
	run cds burn --multi e.cdr big.iso
	[ "$status" -eq 1 ]
	[[ "$output" == *"free"* ]]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(disc_sum e.cdr)" = "$before" ]

	run cds burn
	[ "$status" -eq 2 ]
	run cds frobnicate
	[ "$status" -eq 2 ]
	run cds toc --bogus d.cdr
	[ "$status" -eq 2 ]
}

@test "an injected write error leaves a damaged track that burn and fix report" {
	need genisoimage
	cds create d.cdr
	make_tree src 3
	genisoimage -quiet -R -o s.iso src
	CDSESSION_EMU=write-error=20 run cds burn --multi d.cdr s.iso
	[ "$status" -eq 1 ]
	[[ "$output" == *"20"* ]]
	run cds toc d.cdr
	[[ "$output" == *"damaged"* ]]
	run cds burn --multi d.cdr s.iso
	[ "$status" -eq 1 ]
	[[ "$output" == *"unfinished"* ]]
	run cds_fix d.cdr
	[ "$status" -eq 1 ]
}

@test "without a device the default burner is looked up (libcdio); none here" {
	if ls /dev/sr* >/dev/null 2>&1; then
		skip "this machine has an optical drive"
	fi
	run cds toc
	[ "$status" -eq 1 ]
	[[ "$output" == *"no optical drive found"* ]]
	[ "${#lines[@]}" -eq 1 ]
}

@test "help and usage" {
	run cds --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"msinfo"* ]]
	run cds burn --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--multi"* ]]
	run cds_fix --help
	[ "$status" -eq 0 ]
	run cds --version
	[ "$status" -eq 0 ]
}
