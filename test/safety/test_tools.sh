#!/usr/bin/env bash
# test_tools.sh DIR
#   Prove that each checking mode catches what docs/debugging.md says it
#   does, using the victim programs CMake built in DIR against library
#   variants: victim_vg (MCXT_VALGRIND), victim_asan (ASan), victim_d2
#   (MCXT_DEBUG=2), victim_release.  Every bug must be reported by the
#   modes that claim it, and "clean" must be silent everywhere.
set -u
dir=$1
fails=0
pass=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

expect() {	# expect NAME WANT_RC_NONZERO(0/1) PATTERN -- command...
	local name=$1 want=$2 pat=$3; shift 4
	"$@" >"$out" 2>&1
	local rc=$?
	if { [ "$want" = 1 ] && [ $rc -eq 0 ]; } || { [ "$want" = 0 ] && [ $rc -ne 0 ]; } ||
	   ! grep -Eq -- "$pat" "$out"; then
		echo "FAIL $name (rc=$rc, wanted pattern: $pat)"; sed 's/^/    /' "$out" | head -20
		fails=$((fails + 1))
	else
		echo "ok   $name"; pass=$((pass + 1))
	fi
}

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 1; }
VG="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"

expect vg-uaf          1 "Invalid write"                       -- $VG "$dir/victim_vg" uaf
expect vg-uaf-read     1 "Invalid read"                        -- $VG "$dir/victim_vg" uaf-read
expect vg-after-reset  1 "Invalid read"                        -- $VG "$dir/victim_vg" after-reset
expect vg-overrun      1 "Invalid write"                       -- $VG "$dir/victim_vg" overrun
expect vg-uninit       1 "uninitialised value"                 -- $VG "$dir/victim_vg" uninit
expect vg-leak         1 "definitely lost"                     -- $VG "$dir/victim_vg" leak
expect vg-clean        0 "ERROR SUMMARY: 0 errors"             -- $VG "$dir/victim_vg" clean

export ASAN_OPTIONS=detect_leaks=0
expect asan-uaf        1 "AddressSanitizer: use-after-poison"  -- "$dir/victim_asan" uaf
expect asan-uaf-read   1 "AddressSanitizer: use-after-poison"  -- "$dir/victim_asan" uaf-read
expect asan-after-reset 1 "AddressSanitizer: use-after-poison" -- "$dir/victim_asan" after-reset
expect asan-overrun    1 "AddressSanitizer: use-after-poison"  -- "$dir/victim_asan" overrun
expect asan-clean      0 "survived"                            -- "$dir/victim_asan" clean

expect d2-overrun      1 "detected write past chunk end in memory context \"victim\".*requested size 128" -- "$dir/victim_d2" overrun
expect d2-check        0 "write past chunk end.*requested size 128" -- "$dir/victim_d2" overrun-check
expect d2-check-count  0 "problems=1"                          -- "$dir/victim_d2" overrun-check
expect d2-clean        0 "survived"                            -- "$dir/victim_d2" clean

# A release build makes no such promise, and says so in docs/debugging.md:
# the use-after-pfree write goes unnoticed.
expect release-uaf     0 "survived"                            -- "$dir/victim_release" uaf

echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
