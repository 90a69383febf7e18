#!/usr/bin/env bash
# The same checks on a core the kernel writes (cli_target killed with
# SIGABRT): every mapping has a PT_LOAD, file-backed ones with p_filesz 0 or
# one page, so .rodata and the symbols come from the executable on disk.
# Exits 77 (reported by CTest as skipped, with the reason) only when
# kernel.core_pattern sends cores somewhere a test cannot collect them.
. "$(dirname "$0")/lib.sh"

PATTERN=$(cat /proc/sys/kernel/core_pattern)
case "$PATTERN" in
  '|'* | /*)
    echo "SKIP: kernel.core_pattern is '$PATTERN': cores go to a handler or another directory"
    exit 77 ;;
esac

cd "$WORK" || fail "cd $WORK"
( ulimit -c unlimited && exec "$CLI_TARGET" "$WORK/exp" ) &
TPID=$!
for _ in $(seq 1 200); do [ -s "$WORK/exp" ] && break; sleep 0.05; done
[ -s "$WORK/exp" ] || fail "cli_target wrote no expectations"
[ "$(exp pid)" = "$TPID" ] || fail "pid mismatch"
kill -ABRT "$TPID"
wait "$TPID" 2>/dev/null
TPID=
CORE=
for _ in $(seq 1 100); do
  for f in "$WORK"/core*; do
    [ -f "$f" ] && [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && CORE=$f
  done
  [ -n "$CORE" ] && break
  sleep 0.05
done
[ -n "$CORE" ] || fail "no kernel core in $WORK (core_pattern '$PATTERN', ulimit -c unlimited)"

A="$(exp a_prefix)$(exp a_number)"
B="$(exp b_prefix)$(exp b_suffix)"
EXE=$(exp exe); REG=$(exp registry)

run "$MCXT" info "$CORE"; expect_rc 0 info
out_has "written by the kernel" "writer detected"
out_has "^threads: +$(exp threads)\$" "threads"
out_has_fixed "executable:  $EXE (load bias 0x" "executable"
out_has "^libmcxt: +registry at $(hex "$REG") \(symbol mcxt_registry in $EXE\)" "registry by symbol"
out_has "^  tid $(exp reg_tid1) +top context $(hex "$(exp reg_top1)")\$" "registry thread"
out_has " r-xp .* (file|partial) +$EXE @0x" "exe text read from the file"
run "$MCXT" info "$CORE" --json; expect_rc 0 "info --json"; json_valid info
out_has_fixed '"producer":"kernel"' "json producer"
run "$MCXT" strings "$CORE" --json --top 0; expect_rc 0 strings; json_valid strings
out_has_fixed "{\"string\":\"$A\",\"count\":$(exp a_count)}" "A"
out_has_fixed "{\"string\":\"$B\",\"count\":$(exp b_count)}" "B"
run "$MCXT" find "$CORE" "$A" --json --max 1; expect_rc 0 find; json_valid find
out_has "^\{\"count\":$(exp a_count),\"regions\":1,\"addresses\":\[$(exp a_first)\],\"strides\":\[\{\"stride\":$(exp a_stride),\"count\":$(($(exp a_count) - 1))\}\]\}\$" "A found with its stride"

# A core with coredump_filter 0x32 (anonymous private memory excluded): the
# kernel writes p_filesz 0 for the heap and the mmapped block; info must say
# what is missing and why, and the scans must see none of family A.
rm -f "$WORK"/core*
( ulimit -c unlimited && exec "$CLI_TARGET" "$WORK/exp2" ) &
TPID=$!
for _ in $(seq 1 200); do [ -s "$WORK/exp2" ] && break; sleep 0.05; done
[ -s "$WORK/exp2" ] || fail "cli_target wrote no expectations (second run)"
echo 0x32 >"/proc/$TPID/coredump_filter" || fail "cannot set coredump_filter"
kill -ABRT "$TPID"
wait "$TPID" 2>/dev/null
TPID=
CORE=
for _ in $(seq 1 100); do
  for f in "$WORK"/core*; do [ -f "$f" ] && CORE=$f; done
  [ -n "$CORE" ] && break
  sleep 0.05
done
[ -n "$CORE" ] || fail "no kernel core with coredump_filter 0x32"
run "$MCXT" info "$CORE"; expect_rc 0 "filtered core"
out_has "writable anonymous regions .* were not dumped: coredump_filter bit 0" "missing anonymous memory explained"
out_has "^partial: +yes" "partial"
err_has "warning: analysis will be partial: .*anonymous memory was not dumped" "partial warning"
out_has " rw-p .* missing +\$" "an anonymous region shown as missing"
run "$MCXT" find "$CORE" "$A" --json; expect_rc 0 "find on filtered core"
out_has '^\{"count":0,' "family A is not in the core"

done_ok
