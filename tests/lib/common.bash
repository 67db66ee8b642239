# common.bash - shared setup for the bats tests.
# Each test runs in its own $BATS_TEST_TMPDIR; binaries come from $CDS_BUILD.

CDS_BUILD=${CDS_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}
CDSESSION=$CDS_BUILD/cdsession
CDSESSION_FIX=$CDS_BUILD/cdsession-fix

cds() { "$CDSESSION" "$@"; }
cds_fix() { "$CDSESSION_FIX" "$@"; }

# need CMD...: skip the test unless every command exists
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c is not installed"
	done
}

# make_tree DIR N: a few files with known contents under DIR, tagged N
make_tree() {
	mkdir -p "$1/sub$2/deeper"
	printf 'file %s\n' "$2" >"$1/file$2.txt"
	printf 'nested %s\n' "$2" >"$1/sub$2/deeper/n.txt"
	head -c $((4096 * $2 + 17)) /dev/urandom >"$1/sub$2/blob.bin"
}

# last_start DISC: the first number of msinfo (start of the last session)
last_start() { cds msinfo "$1" | cut -d, -f1; }

# image sha of the whole disc file, for "nothing changed" checks
disc_sum() { sha1sum "$1" | cut -d' ' -f1; }
