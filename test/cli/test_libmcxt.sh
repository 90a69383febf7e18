#!/usr/bin/env bash
# mcxt on a program built on the real libmcxt: the registry is found through
# the library's exported symbol (and by its magic when the executable is
# stripped), with every thread's top context; the leaked 128-byte chunks are
# found with the stride src/chunk.h implies.  Live and from a gcore core.
. "$(dirname "$0")/lib.sh"
: "${LIBMCXT_TARGET:?}"
CLI_TARGET=$LIBMCXT_TARGET start_target
LEAK="$(exp leak_prefix)$(exp leak_number)"
REG=$(exp registry)

check_registry() {  # $1: what
  out_has "^libmcxt: +registry at $(hex "$REG") \($2.*\), layout version $(exp layout_version), 2 threads" "$1: registry"
  out_has "^  tid $(exp main_tid) +top context $(hex "$(exp main_top)")\$" "$1: main thread's top context"
  out_has "^  tid $(exp worker_tid) +top context $(hex "$(exp worker_top)")\$" "$1: worker's top context"
}

run "$MCXT" info --pid "$TPID"; expect_rc 0 "info --pid"
check_registry live "symbol mcxt_registry in "
run "$MCXT" find --pid "$TPID" "$LEAK" --json --max 1; expect_rc 0 "find --pid"
out_has "^\{\"count\":$(exp leak_count),\"regions\":1,\"addresses\":\[$(exp leak_first)\],\"strides\":\[\{\"stride\":$(exp leak_stride)," "leak: count, first chunk, dominant stride"

take_gcore
stop_target
run "$MCXT" info "$WORK/core"; expect_rc 0 "info core"
check_registry core "symbol mcxt_registry in "
run "$MCXT" info "$WORK/core" --json; expect_rc 0 "info --json"; json_valid info
out_has_fixed "\"registry\":{\"address\":$REG,\"found_by\":\"symbol\",\"layout_version\":$(exp layout_version),\"layout_matches\":true,\"nthreads\":2," "json registry"
run "$MCXT" strings "$WORK/core" --json --top 0; expect_rc 0 strings
out_has_fixed "{\"string\":\"$LEAK\",\"count\":$(exp leak_count)}" "leaked strings counted"
run "$MCXT" find "$WORK/core" "$LEAK" --json --max 1; expect_rc 0 "find core"
out_has "^\{\"count\":$(exp leak_count),\"regions\":1,\"addresses\":\[$(exp leak_first)\],\"strides\":\[\{\"stride\":$(exp leak_stride)," "leak in the core"

EXE=$(readlink -f "$LIBMCXT_TARGET")
cp "$EXE" "$WORK/stripped" && strip "$WORK/stripped" || fail "cannot strip (binutils)"
run "$MCXT" info "$WORK/core" --exe "$WORK/stripped"; expect_rc 0 "stripped"
check_registry stripped "found by its magic"

done_ok
