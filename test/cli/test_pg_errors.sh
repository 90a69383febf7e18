#!/usr/bin/env bash
# The PostgreSQL support's error paths, without a server: stand-in
# executables (pg_fake.c) that export TopMemoryContext with a version
# string of a supported version, of an unsupported one, or none; their
# cores; a wrong --exe; bad --pg-version values.  Every case must be a
# clear message and exit 1 (input) or 2 (usage), never a crash.
. "$(dirname "$0")/lib.sh"
: "${PG_FAKE_V15:?}" "${PG_FAKE_V96:?}" "${PG_FAKE_NOVER:?}"
need_gcore

# core_of PROG NAME: run PROG, gcore it into $WORK/NAME.core
core_of() {
  rm -f "$WORK/ready"
  "$1" "$WORK/ready" &
  local pid=$!
  for _ in $(seq 1 200); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
  [ -s "$WORK/ready" ] || fail "$1 did not start"
  gcore -o "$WORK/g" "$pid" >"$WORK/gcore.log" 2>&1 || { kill -KILL "$pid"; fail "gcore of $1 failed"; }
  kill -KILL "$pid"; wait "$pid" 2>/dev/null
  mv "$WORK/g.$pid" "$WORK/$2.core" || fail "no core of $1"
}

# usage errors
echo x >"$WORK/x"
for bad in 9 19 abc gp5 gp8 15x ""; do
  run "$MCXT" contexts "$WORK/x" --pg-version "$bad"; expect_rc 2 "--pg-version '$bad'"
  err_has -- "--pg-version needs" "says what --pg-version takes ('$bad')"
done
run "$MCXT" contexts "$WORK/x" --pg-version; expect_rc 2 "--pg-version without a value"
run "$MCXT" contexts "$WORK/x" --pg-cassert --no-pg-cassert; expect_rc 2 "both cassert options"
for c in info contexts leaks chunk diff strings find; do
  run "$MCXT" "$c" --help; expect_rc 0 "$c --help"
  out_has -- "--pg-version N" "$c --help documents --pg-version"
  out_has -- "--exe PATH" "$c --help documents --exe"
done
run "$MCXT" contexts --help; out_has -- "--pg-log-format" "contexts --help documents --pg-log-format"

core_of "$PG_FAKE_V15" v15
core_of "$PG_FAKE_V96" v96
core_of "$PG_FAKE_NOVER" nover

# a supported version, but TopMemoryContext is NULL: no tree, exit 1
for c in contexts leaks; do
  run "$MCXT" "$c" "$WORK/v15.core"; expect_rc 1 "$c on a NULL TopMemoryContext"
  err_has "no PostgreSQL context tree found" "$c says there is no tree"
done
run "$MCXT" chunk "$WORK/v15.core" 0x1000; expect_rc 1 "chunk on a NULL TopMemoryContext"
run "$MCXT" contexts "$WORK/v15.core" --json; expect_rc 1 "--json error"; json_valid "error object"
out_has '"error":".*no PostgreSQL context tree' "JSON error says why"
run "$MCXT" info "$WORK/v15.core"; expect_rc 0 "info still describes the image"
out_has '^postgresql: +PostgreSQL 15, version string "PostgreSQL 15\.7 on' "info: version from the executable"
out_has 'error: TopMemoryContext at 0x[0-9a-f]+ is NULL' "info: the tree is missing"

# a version without a descriptor
run "$MCXT" contexts "$WORK/v96.core"; expect_rc 1 "PostgreSQL 9.6"
err_has "PostgreSQL 9 has no layout descriptor in this mcxt \(known: 10, " "names the version and the known ones"
run "$MCXT" contexts "$WORK/v96.core" --pg-version 15; expect_rc 1 "--pg-version overrides, then no tree"
err_has "no PostgreSQL context tree found" "--pg-version 15 is used"

# no version string
run "$MCXT" leaks "$WORK/nover.core"; expect_rc 1 "no version string"
err_has "has no PostgreSQL version string; give --pg-version N" "asks for --pg-version"
run "$MCXT" leaks "$WORK/nover.core" --pg-version 13; expect_rc 1 "forced version, no tree"
err_has "no PostgreSQL context tree found" "--pg-version 13 is used"

# the wrong executable: a clear mismatch, for every command that walks
for c in contexts leaks diff; do
  if [ "$c" = diff ]; then
    run "$MCXT" diff "$WORK/v15.core" "$WORK/v15.core" --exe "$PG_FAKE_NOVER"
  else
    run "$MCXT" "$c" "$WORK/v15.core" --exe "$PG_FAKE_NOVER"
  fi
  expect_rc 1 "$c with the wrong --exe"
  err_has "the executable does not match the image: .*pg_fake_nover differs" "$c names the mismatch"
done
run "$MCXT" contexts "$WORK/v15.core" --exe /nonexistent/postgres --pg-version 15; expect_rc 1 "missing --exe"
err_has "no usable executable: cannot open /nonexistent/postgres" "names the missing file"

# a program that is neither libmcxt nor PostgreSQL: --pg-version cannot make it one
start_target
take_gcore
stop_target
run "$MCXT" contexts "$WORK/core" --pg-version 15; expect_rc 1 "not a postgres executable"
err_has "does not export TopMemoryContext" "says it is not a PostgreSQL server"

done_ok
