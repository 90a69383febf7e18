#!/usr/bin/env bash
# mcxt info, strings and find on a core gcore takes of cli_target, checked
# against the expectations cli_target computed itself (counts, strides,
# addresses, threads, registry), in text and JSON.
. "$(dirname "$0")/lib.sh"

start_target
take_gcore
stop_target
CORE=$WORK/core
A="$(exp a_prefix)$(exp a_number)"
B="$(exp b_prefix)$(exp b_suffix)"
A_COUNT=$(exp a_count); A_STRIDE=$(exp a_stride); A_FIRST=$(exp a_first)
B_COUNT=$(exp b_count); B_STRIDE=$(exp b_stride); B_STRIDE_COUNT=$(exp b_stride_count)
EXE=$(exp exe); REG=$(exp registry)

# --- strings
run "$MCXT" strings "$CORE" --top 0; expect_rc 0 strings
out_has "^ +$A_COUNT  $A\$" "count of family A"
out_has "^ +$B_COUNT  $B\$" "count of family B"
TOPCOUNT=$(sed -n 2p "$WORK/out" | awk '{print $1}')
run "$MCXT" strings "$CORE"; expect_rc 0 "strings default top"
# (chunk headers hold pointers whose bytes can spell 4+ printable characters,
# as often as the chunks themselves: A is among the most frequent, not always first)
out_has "^ +$A_COUNT  $A\$" "family A within the default top 20"
[ "$(grep -c -E '^ +[0-9]+  ' "$WORK/out")" -eq 20 ] || fail "default --top is not 20 lines"
pass
PREV=
while read -r c _; do
  [ -z "$PREV" ] || [ "$c" -le "$PREV" ] || fail "not sorted by count: $c after $PREV"
  PREV=$c
done < <(grep -E '^ +[0-9]+  ' "$WORK/out")
pass
run "$MCXT" strings "$CORE" --json --top 0; expect_rc 0 "strings --json"; json_valid "strings"
out_has_fixed "{\"string\":\"$A\",\"count\":$A_COUNT}" "A in JSON"
out_has_fixed "{\"string\":\"$B\",\"count\":$B_COUNT}" "B in JSON"
run "$MCXT" strings "$CORE" --json --top 1; expect_rc 0 "--top 1"; json_valid "top 1"
out_has "^\[\{\"string\":\".*\",\"count\":$TOPCOUNT\}\]\$" "--top 1 --json: exactly the most frequent string"
run "$MCXT" strings "$CORE" --json --top 0 --min-len $((${#A} + 1)); expect_rc 0 "--min-len above A"
out_lacks "\"$A\"" "--min-len excludes shorter strings"
run "$MCXT" strings "$CORE" --json --top 0 --min-len ${#A}; expect_rc 0 "--min-len = len(A)"
out_has_fixed "{\"string\":\"$A\",\"count\":$A_COUNT}" "--min-len keeps strings of that length"
out_lacks "\"$B\"" "B is shorter than A"

# --- find
run "$MCXT" find "$CORE" "$A"; expect_rc 0 "find A"
out_has "^$A_COUNT matches of \"$A\"" "match count"
out_has "^  $(hex "$A_FIRST")\$" "first address"
out_has "^ +$A_STRIDE  $((A_COUNT - 1))\$" "stride line"
[ "$(grep -c -E '^  0x' "$WORK/out")" -eq 20 ] || fail "default --max is not 20 addresses"
pass
run "$MCXT" find "$CORE" "$A" --json --max 5; expect_rc 0 "find --json"; json_valid "find"
out_has "^\{\"count\":$A_COUNT,\"regions\":1,\"addresses\":\[$A_FIRST,$((A_FIRST + A_STRIDE)),$((A_FIRST + 2 * A_STRIDE)),[0-9]+,[0-9]+\],\"strides\":\[\{\"stride\":$A_STRIDE,\"count\":$((A_COUNT - 1))\}\]\}\$" "A: count, addresses, strides"
run "$MCXT" find "$CORE" --string "$B" --json --max 0; expect_rc 0 "find B"; json_valid "find B"
out_has "^\{\"count\":$B_COUNT,\"regions\":[0-9]+,\"addresses\":\[\],\"strides\":\[\{\"stride\":$B_STRIDE,\"count\":$B_STRIDE_COUNT\}" "B: count and dominant stride"
HEXA=0x$(printf '%s' "$A" | od -An -tx1 | tr -d ' \n')
run "$MCXT" find "$CORE" "$HEXA" --json --max 1; expect_rc 0 "find hex"
out_has "^\{\"count\":$A_COUNT,\"regions\":1,\"addresses\":\[$A_FIRST\]" "hex pattern = same bytes"
run "$MCXT" find "$CORE" --hex "${HEXA#0x}" --json --max 1; expect_rc 0 "--hex"
out_has "^\{\"count\":$A_COUNT," "--hex without 0x"
run "$MCXT" find "$CORE" "no-such-pattern-in-this-core-4711" --json; expect_rc 0 "absent pattern"
[ "$(cat "$WORK/out")" = '{"count":0,"regions":0,"addresses":[],"strides":[]}' ] || fail "absent pattern output"
pass
# the registry's first thread entry points at its top context: an 8-byte value
run "$MCXT" find "$CORE" --u64 "$(exp reg_top0)" --all --json; expect_rc 0 "--u64"
out_has '^\{"count":[1-9]' "pointer to the top context found"

# --- info
run "$MCXT" info "$CORE"; expect_rc 0 info
out_has "^target: +core file $CORE .*written by gdb gcore" "core and writer"
out_has "^process: +pid $(exp pid):" "pid"
out_has_fixed "executable:  $EXE (load bias 0x" "executable with bias"
out_has "^threads: +$(exp threads)\$" "thread count"
out_has "^  tid $(exp pid) " "main thread"
out_has "^libmcxt: +registry at $(hex "$REG") \(symbol mcxt_registry in $EXE\), layout version [0-9]+, $(exp reg_nthreads) threads" "registry by symbol"
out_has "^  tid $(exp reg_tid0) +top context $(hex "$(exp reg_top0)")\$" "registry thread 0"
out_has "^  tid $(exp reg_tid1) +top context $(hex "$(exp reg_top1)")\$" "registry thread 1"
out_has "file-backed regions .* read from the mapped files on disk" "omitted segments explained"
out_has " r-xp .* file +$EXE @0x" "exe text comes from the file"
run "$MCXT" info "$CORE" --json; expect_rc 0 "info --json"; json_valid info
out_has_fixed "\"executable\":\"$EXE\"" "json executable"
out_has_fixed '"producer":"gdb"' "json producer"
THREADS=$(sed -e 's/.*"threads":\[\([^]]*\)\],"regions".*/\1/' "$WORK/out" | grep -o '"tid":' | wc -l)
[ "$THREADS" -eq "$(exp threads)" ] || fail "json threads: $THREADS"
pass
out_has_fixed "\"registry\":{\"address\":$REG,\"found_by\":\"symbol\"" "json registry"
# (cli_target's hand-made registry records no build flavour: all zero)
out_has_fixed "\"threads\":[{\"tid\":$(exp reg_tid0),\"top\":$(exp reg_top0)},{\"tid\":$(exp reg_tid1),\"top\":$(exp reg_top1)}],\"flavour\":{\"debug\":0,\"checked\":false,\"valgrind\":false,\"asan\":false,\"tail_room\":0,\"sites\":false,\"nsites\":0}}" "json registry threads and flavour"
out_has_fixed '"partial":false' "nothing missing"

# a stripped executable: no symbol, the registry is found by its magic
cp "$EXE" "$WORK/stripped" && strip "$WORK/stripped" || fail "cannot strip (binutils)"
run "$MCXT" info "$CORE" --exe "$WORK/stripped" --json; expect_rc 0 "stripped"
out_has_fixed "\"registry\":{\"address\":$REG,\"found_by\":\"magic\"" "registry by magic scan"
# a different executable is detected and not used
run "$MCXT" info "$CORE" --exe "$CORE_DAMAGE"; expect_rc 0 "wrong --exe"
err_has "differs from the one in the image" "wrong executable detected"
out_has "^partial: +yes" "partial"
# a missing executable: warning, the rest still works
run "$MCXT" info "$CORE" --exe "$WORK/nonexistent"; expect_rc 0 "missing --exe"
err_has "nonexistent: No such file" "missing file named"
out_has "registry at $(hex "$REG") \(found by its magic\)" "magic scan without the file"

done_ok
