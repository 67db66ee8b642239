# shim-common.bash - run MMC clients against a virtual disc through
# libsgshim.so (tests/shim/README.md), and read their TOC listings.
# Load after common.bash.

SGSHIM=$CDS_BUILD/libsgshim.so

# need_shim: skip unless the shim is built; pick SHIM_DEV, a fake sr node
# whose name (and its scd/sg siblings) does not exist on this machine, so
# that the clients' scans cannot reach a real drive by mistake.
need_shim() {
	[ -f "$SGSHIM" ] || skip "$SGSHIM is not built"
	local n
	for n in 7 13 21 29; do
		if [ ! -e /dev/sr$n ] && [ ! -e /dev/scd$n ] &&
			[ ! -e /dev/sg$n ]; then
			SHIM_DEV=/dev/sr$n
			SHIM_SG=/dev/sg$n
			return 0
		fi
	done
	skip "no free /dev/srN name for the fake drive"
}

# shim DISC CMD...: run CMD with the fake drive SHIM_DEV holding DISC
shim() {
	local disc=$1
	shift
	LD_PRELOAD=$SGSHIM CDS_SHIM_DEV=$SHIM_DEV CDS_SHIM_DISC=$disc \
		timeout 300 "$@"
}

# shim_sg DISC CMD...: the same drive with its sg sibling node as well
shim_sg() {
	local disc=$1
	shift
	LD_PRELOAD=$SGSHIM CDS_SHIM_DEV=$SHIM_DEV:$SHIM_SG \
		CDS_SHIM_DISC=$disc timeout 300 "$@"
}

# toc_starts: the track start column of `cdsession toc` (stdin), one a line
toc_starts() {
	awk '/^session/ {t = 1; next}
	     t && $1 ~ /^[0-9]+$/ && NF >= 5 {print $3}'
}

# toc_leadouts: the lead-out of every complete session (stdin)
toc_leadouts() {
	awk '$1 == "lead-out" {print $3}'
}

# cdr_toc_starts: track starts of a `cdrecord -toc` listing (cdrskin,
# wodim) on stdin: lines "track:   1 lba:  0 (  0) ..."
cdr_toc_starts() {
	awk '$1 == "track:" && $2 ~ /^[0-9]+$/ && $3 == "lba:" {print $4}'
}

# cdr_toc_leadouts: the "track:lout lba: N" lines of the same listing
# (cdrskin prints one per session, wodim only the last one)
cdr_toc_leadouts() {
	awk '$1 == "track:lout" && $2 == "lba:" {print $3}'
}

# words: stdin's lines joined by spaces, for comparing lists in one test
words() {
	tr '\n' ' '
}

# make_session DISC N: an ISO image sN.iso continuing DISC (genisoimage
# -C msinfo -M DISC) with the tree srcN; for a blank disc a first session
make_session() {
	local disc=$1 n=$2 ms
	make_tree src$2 "$n"
	if ms=$(cds msinfo "$disc" 2>/dev/null); then
		genisoimage -quiet -R -J -C "$ms" -M "$disc" -o s$n.iso src$n
	else
		genisoimage -quiet -R -J -o s$n.iso src$n
	fi
}
