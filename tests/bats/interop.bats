#!/usr/bin/env bats
# Interop through a fake optical drive: libsgshim.so (tests/shim) makes a
# virtual disc appear as /dev/srN, so that our sgio transport and
# independent MMC clients (cdrskin/libburn, wodim/libusal) send their real
# SG_IO commands to the emulator.  What each one reads or burns must agree
# with what `cdsession` reads from the disc file directly.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/shim-common

setup() {
	cd "$BATS_TEST_TMPDIR"
	need_shim
}

# two sessions burnt by us on the disc file itself
two_sessions() {
	need genisoimage
	cds create d.cdr
	make_session d.cdr 1
	cds burn --multi d.cdr s1.iso
	make_session d.cdr 2
	cds burn --multi d.cdr s2.iso
}

@test "shim: a fake node is a block device; other files pass through" {
	cds create d.cdr
	run shim d.cdr stat -c '%F %t %T' "$SHIM_DEV"
	[ "$status" -eq 0 ]
	[ "$output" = "block special file b $(printf %x "${SHIM_DEV#/dev/sr}")" ]
	run shim_sg d.cdr stat -c '%F %t' "$SHIM_SG"
	[ "$output" = "character special file 15" ]
	# the rest of the file system is untouched
	printf 'hello\n' >plain.txt
	run shim d.cdr cat plain.txt
	[ "$output" = "hello" ]
	run shim d.cdr sha1sum d.cdr
	[ "$output" = "$(sha1sum d.cdr)" ]
	run shim d.cdr stat -c %s d.cdr
	[ "$output" = "$(stat -c %s d.cdr)" ]
	# nested forks (subshells of subshells) keep working
	run shim d.cdr bash -c 'echo $(echo $(cat plain.txt; [ -b "$0" ]; \
		echo $?))' "$SHIM_DEV"
	[ "$output" = "hello 0" ]
	# without a disc the shim is inert: the node does not exist
	run env LD_PRELOAD="$SGSHIM" CDS_SHIM_DEV="$SHIM_DEV" \
		stat "$SHIM_DEV"
	[ "$status" -ne 0 ]
}

@test "sgio through the shim: toc and msinfo equal the file's; a burn lands" {
	need isoinfo
	two_sessions
	run shim d.cdr "$CDSESSION" toc "$SHIM_DEV"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cds toc d.cdr)" ]
	[[ "$output" == *"2 sessions"* || "$output" == *"3 sessions"* ]]
	run shim d.cdr "$CDSESSION" msinfo "$SHIM_DEV"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cds msinfo d.cdr)" ]
	# the sg node of the same drive gives the same answers
	run shim_sg d.cdr "$CDSESSION" msinfo "$SHIM_SG"
	[ "$output" = "$(cds msinfo d.cdr)" ]

	next=$(cds msinfo d.cdr | cut -d, -f2)
	make_session d.cdr 3
	run shim d.cdr "$CDSESSION" burn --multi "$SHIM_DEV" s3.iso
	[ "$status" -eq 0 ]
	[ "$(last_start d.cdr)" -eq "$next" ]
	[ "$(cds toc d.cdr | toc_starts | tail -1)" -eq "$next" ]
	listing=$(isoinfo -i d.cdr -T "$next" -R -f)
	[[ "$listing" == *"/file1.txt"* ]]
	[[ "$listing" == *"/file3.txt"* ]]
	got=$(isoinfo -i d.cdr -T "$next" -R -x /sub3/blob.bin | sha1sum)
	[ "$got" = "$(sha1sum <src3/sub3/blob.bin)" ]
}

@test "sgio through the shim: a power cut makes the drive vanish (EIO)" {
	two_sessions
	before=$(cds msinfo d.cdr)
	make_session d.cdr 3
	CDSESSION_EMU=power-cut=40 run shim d.cdr "$CDSESSION" burn --multi \
		"$SHIM_DEV" s3.iso
	[ "$status" -eq 1 ]
	[[ "$output" == *"$SHIM_DEV"*"Input/output error"* ]]
	# the sessions burnt before are intact, the cut track is damaged
	run cds toc d.cdr
	[ "$status" -eq 0 ]
	[[ "$output" == *"damaged"* ]]
	[ "$(cds toc d.cdr | toc_starts | head -2 | words)" = \
		"0 ${before%,*} " ]
}

@test "shim: O_EXCL, record locks and the sr/sg ioctls answer like Linux" {
	need python3
	two_sessions
	run shim_sg d.cdr python3 - "$SHIM_DEV" "$SHIM_SG" <<'EOF'
import errno, fcntl, os, struct, sys
sr, sg = sys.argv[1], sys.argv[2]
rw = os.O_RDWR | os.O_NONBLOCK
def err(f, *a):
    try:
        f(*a)
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
a = os.open(sr, rw | os.O_EXCL)
print("sr excl twice:", err(os.open, sr, rw | os.O_EXCL))
b = os.open(sr, rw)
print("version:", struct.unpack("i", fcntl.ioctl(a, 0x2282, bytes(4)))[0])
fcntl.lockf(a, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("idlun: %08x" % struct.unpack("ii", fcntl.ioctl(b, 0x5382, bytes(8)))[0])
print("drive status:", fcntl.ioctl(b, 0x5326, 0x7fffffff))
print("sr SG_GET_SCSI_ID:", err(fcntl.ioctl, b, 0x2276, bytes(32)))
print("sr unknown:", err(fcntl.ioctl, b, 0x1234, 0))
size = fcntl.ioctl(b, 0x80081272, bytes(8))            # BLKGETSIZE64
print("blocks:", struct.unpack("Q", size)[0] // 2048)
ms = fcntl.ioctl(b, 0x5310, struct.pack("iBB2x", 0, 0, 1))  # LBA format
print("multisession: %d xa=%d" % struct.unpack("iB", ms[:5]))
c = os.open(sg, rw)
print("sg excl while open:", err(os.open, sg, rw | os.O_EXCL))
sid = fcntl.ioctl(c, 0x2276, bytes(32))
print("sg type:", struct.unpack("5i", sid[:20])[4])
print("sg version:", struct.unpack("i", fcntl.ioctl(c, 0x2282, bytes(4)))[0])
st = os.fstat(c)
print("sg fstat: %o %d,%d" % (st.st_mode >> 12, os.major(st.st_rdev),
                               os.minor(st.st_rdev)))
for fd in (a, b, c):
    os.close(fd)
print("reopen excl:", err(os.open, sr, rw | os.O_EXCL))
EOF
	[ "$status" -eq 0 ]
	n=${SHIM_DEV#/dev/sr}
	# READ CAPACITY: the last readable block is the one before the lead-out
	blocks=$(cds toc d.cdr | toc_leadouts | tail -1)
	[ "$output" = "sr excl twice: EBUSY
version: 30527
idlun: 07000000
drive status: 4
sr SG_GET_SCSI_ID: ENOTTY
sr unknown: ENOTTY
blocks: $blocks
multisession: $(last_start d.cdr) xa=1
sg excl while open: EBUSY
sg type: 5
sg version: 30536
sg fstat: 2 21,$n
reopen excl: ok" ]
}

# cdr_client_agrees CLIENT: CLIENT's -msinfo and -toc through the shim
# match cdsession's view of d.cdr: the same track starts, and the same
# lead-outs for the sessions it lists (wodim shows the last session's,
# cdrskin the last two)
cdr_client_agrees() {
	local ours theirs n
	run --separate-stderr shim d.cdr "$1" dev="$SHIM_DEV" -msinfo
	[ "$status" -eq 0 ]
	[ "$output" = "$(cds msinfo d.cdr)" ]
	run --separate-stderr shim d.cdr "$1" dev="$SHIM_DEV" -toc
	[ "$status" -eq 0 ]
	ours=$(cds toc d.cdr | toc_starts | words)
	[ -n "$ours" ]
	[ "$(cdr_toc_starts <<<"$output" | words)" = "$ours" ]
	theirs=$(cdr_toc_leadouts <<<"$output")
	n=$(wc -l <<<"$theirs")
	[ -n "$theirs" ]
	[ "$(words <<<"$theirs")" = \
		"$(cds toc d.cdr | toc_leadouts | tail -n "$n" | words)" ]
}

# cdr_client_burns CLIENT: CLIENT burns session 3 onto d.cdr with
# -multi -tao -data; cdsession and isoinfo read it, it stays appendable
cdr_client_burns() {
	local next listing got
	next=$(cds msinfo d.cdr | cut -d, -f2)
	make_session d.cdr 3
	run shim d.cdr "$1" dev="$SHIM_DEV" -multi -tao -data s3.iso
	[ "$status" -eq 0 ]
	run cds toc d.cdr
	[ "$status" -eq 0 ]
	[[ "$output" == *"appendable"* ]]
	[ "$(cds toc d.cdr | toc_starts | tail -1)" -eq "$next" ]
	[ "$(last_start d.cdr)" -eq "$next" ]
	listing=$(isoinfo -i d.cdr -T "$next" -R -l)
	[[ "$listing" == *"file1.txt"* ]]
	[[ "$listing" == *"file3.txt"* ]]
	got=$(isoinfo -i d.cdr -T "$next" -R -x /sub3/blob.bin | sha1sum)
	[ "$got" = "$(sha1sum <src3/sub3/blob.bin)" ]
}

@test "cdrskin: -msinfo and -toc agree with cdsession" {
	need cdrskin
	two_sessions
	cdr_client_agrees cdrskin
}

@test "cdrskin burns a -multi -tao session; cdsession and isoinfo read it" {
	need cdrskin isoinfo
	two_sessions
	cdr_client_burns cdrskin
	# and a session burnt by us afterwards is seen by cdrskin
	make_session d.cdr 4
	cds burn --multi d.cdr s4.iso
	cdr_client_agrees cdrskin
}

@test "cdrskin burns the first session of a blank disc" {
	need cdrskin genisoimage
	cds create d.cdr
	make_tree src1 1
	genisoimage -quiet -R -J -o s1.iso src1
	run shim d.cdr cdrskin dev="$SHIM_DEV" -multi -tao -data s1.iso
	[ "$status" -eq 0 ]
	# a track shorter than 4 s (300 blocks) is padded to 300
	blocks=$(($(stat -c %s s1.iso) / 2048))
	[ "$blocks" -ge 300 ] || blocks=300
	[ "$(cds msinfo d.cdr)" = "0,$((blocks + 2 + 11400))" ]
	cdr_client_agrees cdrskin
}

@test "wodim: -msinfo, -toc and a -multi -tao burn through the shim" {
	need wodim isoinfo
	two_sessions
	cdr_client_agrees wodim
	cdr_client_burns wodim
	make_session d.cdr 4
	cds burn --multi d.cdr s4.iso
	cdr_client_agrees wodim
}
