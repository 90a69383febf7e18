#!/usr/bin/env bash
# mcxt on a live process (--pid): the same answers as from a core, the
# freeze time reported, and the process keeps running normally afterwards:
# it answers on a pipe with a counter a worker thread keeps incrementing,
# and is neither stopped nor traced.
. "$(dirname "$0")/lib.sh"

mkfifo "$WORK/cmd" "$WORK/reply" || fail mkfifo
start_target "$WORK/cmd" "$WORK/reply"
exec 3>"$WORK/cmd" 4<"$WORK/reply"
P=$TPID
LAST=-1

# alive: the target answers a ping with a counter that has moved on, and is
# not left stopped or traced.
alive() {
  local line n try
  for try in $(seq 1 40); do
    echo ping >&3
    read -r -t 5 line <&4 || fail "no answer from the target after $1"
    n=${line#pong }
    [ "$n" -gt "$LAST" ] 2>/dev/null && break
    [ "$try" -lt 40 ] || fail "counter did not advance after $1 ($LAST -> $n)"
    sleep 0.05
  done
  LAST=$n
  grep -q -E '^State:\s+[RS]' "/proc/$P/status" || fail "target state after $1: $(grep State "/proc/$P/status")"
  grep -q -E '^TracerPid:\s+0$' "/proc/$P/status" || fail "target still traced after $1"
  pass
}
alive start
A="$(exp a_prefix)$(exp a_number)"
B="$(exp b_prefix)$(exp b_suffix)"

run "$MCXT" info --pid "$P"; expect_rc 0 "info --pid"
out_has "^target: +live process pid $P \(stopped for [0-9.]+ ms while its metadata was read\)" "freeze time"
out_has "^threads: +$(exp threads)\$" "threads"
out_has "^  tid [0-9]+ +rip 0x[0-9a-f]+ +rsp 0x[0-9a-f]+" "registers read while stopped"
out_has_fixed "executable:  $(exp exe) (load bias 0x" "executable"
out_has "^libmcxt: +registry at $(hex "$(exp registry)") \(symbol mcxt_registry" "registry"
out_has "^  tid $(exp reg_tid1) +top context $(hex "$(exp reg_top1)")\$" "registry thread"
out_has "coredump_filter 0x[0-9a-f]+: a core would include" "coredump_filter hint"
alive info

run "$MCXT" info --pid "$P" --json; expect_rc 0 "info --pid --json"; json_valid "live info"
out_has '"kind":"live","freeze_ms":[0-9.]+,' "json freeze time"
alive "info --json"

run "$MCXT" strings --pid "$P" --json --top 0; expect_rc 0 "strings --pid"; json_valid strings
out_has_fixed "{\"string\":\"$A\",\"count\":$(exp a_count)}" "A counted live"
out_has_fixed "{\"string\":\"$B\",\"count\":$(exp b_count)}" "B counted live"
alive strings

run "$MCXT" find --pid "$P" "$A" --json --max 1; expect_rc 0 "find --pid"; json_valid find
out_has "^\{\"count\":$(exp a_count),\"regions\":1,\"addresses\":\[$(exp a_first)\],\"strides\":\[\{\"stride\":$(exp a_stride),\"count\":$(($(exp a_count) - 1))\}\]\}\$" "A found live"
alive find

run "$MCXT" find --pid "$P" --hold "$B" --json --max 0; expect_rc 0 "--hold"
out_has "^\{\"count\":$(exp b_count)," "B with --hold"
alive "--hold"

run "$MCXT" info --pid "$P" --no-freeze; expect_rc 0 "--no-freeze"
err_has "not stopped \(--no-freeze\)" "--no-freeze warns"
alive "--no-freeze"

echo quit >&3
wait "$TPID" || fail "target exited with $? after quit"
TPID=
run "$MCXT" info --pid "$P"; expect_rc 1 "exited pid"; err_has "pid $P: no such process" "names the pid"

done_ok
