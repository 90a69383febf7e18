# lib.sh: shared helpers for the CLI test scripts (sourced, bash).
#
# The scripts get their programs from the environment (set by
# CMakeLists.txt): MCXT, CLI_TARGET, CORE_DAMAGE, JSON_CHECK, FUZZ_IMAGE.
# Every check either passes or ends the script with "FAIL: ..." and exit 1;
# a missing dependency is a failure naming the package, never a skip.
set -u

: "${MCXT:?MCXT must name the mcxt binary}"
: "${CLI_TARGET:?CLI_TARGET must name the cli_target binary}"

# Sanitizer reports must not look like mcxt's own exit codes.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:exitcode=87:halt_on_error=1"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcxt-cli.XXXXXX")
TPID=
CHECKS=0

cleanup() {
  if [ -n "$TPID" ] && kill -0 "$TPID" 2>/dev/null; then
    kill -KILL "$TPID" 2>/dev/null
    wait "$TPID" 2>/dev/null
  fi
  [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$WORK/out" ]; then echo "--- stdout:" >&2; head -c 3000 "$WORK/out" >&2; fi
  if [ -s "$WORK/err" ]; then echo "--- stderr:" >&2; head -c 3000 "$WORK/err" >&2; fi
  exit 1
}

pass() {
  CHECKS=$((CHECKS + 1))
}

need_gcore() {
  command -v gcore >/dev/null 2>&1 ||
    fail "gcore not found: install the gdb package (apt-get install gdb, or scripts/deps.sh check)"
}

# run CMD...: run it, stdout in $WORK/out, stderr in $WORK/err, exit code in $RC.
run() {
  "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  if grep -q -e 'AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' "$WORK/err"; then
    fail "sanitizer report from: $*"
  fi
}

expect_rc() {
  [ "$RC" -eq "$1" ] || fail "expected exit $1, got $RC from: ${*:2}"
  pass
}

out_has() {
  grep -q -E -e "$1" "$WORK/out" || fail "stdout lacks /$1/ ($2)"
  pass
}

out_lacks() {
  if grep -q -E -e "$1" "$WORK/out"; then fail "stdout has /$1/ ($2)"; fi
  pass
}

out_has_fixed() {
  grep -q -F -e "$1" "$WORK/out" || fail "stdout lacks '$1' ($2)"
  pass
}

err_has() {
  grep -q -E -e "$1" "$WORK/err" || fail "stderr lacks /$1/ ($2)"
  pass
}

json_valid() {
  "$JSON_CHECK" "$WORK/out" || fail "invalid JSON ($1)"
  pass
}

# start_target [CMD_FIFO REPLY_FIFO]: start cli_target, wait for its expectations.
start_target() {
  rm -f "$WORK/exp"
  "$CLI_TARGET" "$WORK/exp" "$@" &
  TPID=$!
  for _ in $(seq 1 200); do
    [ -s "$WORK/exp" ] && return 0
    kill -0 "$TPID" 2>/dev/null || fail "cli_target exited early"
    sleep 0.05
  done
  fail "cli_target wrote no expectations in 10 s"
}

stop_target() {
  if [ -n "$TPID" ]; then
    kill -KILL "$TPID" 2>/dev/null
    wait "$TPID" 2>/dev/null
    TPID=
  fi
}

# exp KEY: a value from the expectations file the target wrote.
exp() {
  local v
  v=$(awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "$WORK/exp")
  [ -n "$v" ] || fail "expectations lack '$1'"
  printf '%s' "$v"
}

# take_gcore: core of the running target into $WORK/core.
take_gcore() {
  need_gcore
  gcore -o "$WORK/gcore" "$TPID" >"$WORK/gcore.log" 2>&1 ||
    { cat "$WORK/gcore.log" >&2; fail "gcore failed"; }
  mv "$WORK/gcore.$TPID" "$WORK/core" || fail "gcore wrote no core"
}

hex() {
  printf '0x%x' "$1"
}

done_ok() {
  echo "ok: $CHECKS checks passed ($(basename "$0"))"
  exit 0
}
