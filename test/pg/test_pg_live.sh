#!/usr/bin/env bash
# test_pg_live.sh: issue 6, test 4.  mcxt on a running PostgreSQL 15
# backend (--pid, no core): the same context tree the backend logs right
# after, and the backend goes on answering queries as if nothing happened.
#
# mcxt stops the backend only while it reads the process's metadata (ptrace
# seize + interrupt, then detach); an idle backend's memory does not change
# while it waits for a command, so the tree it reads equals the one the
# backend logs afterwards (pg_log_backend_memory_contexts from a second
# session), line for line.
source "$(dirname "$0")/pglib.sh"
: "${MCXT:?MCXT must name the mcxt binary}"
: "${PG_EXT_BUILD:?PG_EXT_BUILD must name a build directory for the test extension}"
N=${N:-20000}

pg_need_tools build
pg_workdir
pg_build_leakext "$PG_EXT_BUILD"
pg_init db
pg_start db
pg_session s1 db
pid=$s1_PID
pg_create_leak_functions s1
pg_sql s1 "$(cat <<'EOF'
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 1000) i;
SELECT count(*) FROM t WHERE v LIKE 'a%';
PREPARE p(int) AS SELECT v FROM t WHERE id = $1;
EXECUTE p(7);
EOF
)"
pg_sql s1 "SELECT mcxt_leak_base($N);"
pg_sql s1 "SELECT pg_log_backend_memory_contexts(pg_backend_pid());"
pg_sql s1 "SELECT pg_stat_force_next_flush();"

# alive WHAT: the backend answers a query and is neither stopped nor traced
alive() {
	pg_sql s1 "SELECT 'ALIVE_' || count(*) FROM t;"
	grep -q -x ALIVE_1000 "$WORK/s1.last" || fail "the backend does not answer after $1: $(cat "$WORK/s1.last")"
	grep -q -E '^State:\s+[RS]' "/proc/$pid/status" || fail "backend state after $1: $(grep State "/proc/$pid/status")"
	grep -q -E '^TracerPid:\s+0$' "/proc/$pid/status" || fail "backend still traced after $1"
	pass
}

# --- contexts --pid, then the backend's own log
run "$MCXT" contexts --pid "$pid" --pg-log-format
expect_rc 0 "contexts --pid --pg-log-format"
cp "$WORK/out" "$WORK/actual"
mark=$(pg_log_mark db)
[ "$(pg_sql1 db "SELECT pg_log_backend_memory_contexts($pid)")" = t ] ||
	fail "pg_log_backend_memory_contexts($pid) from a second session"
pg_log_contexts db "$pid" "$mark" "$WORK/expected"
same_lines "$WORK/expected" "$WORK/actual" "contexts --pid --pg-log-format against the backend's own log"
alive "contexts --pid"

# --- leaks --pid: the leak, live
run "$MCXT" leaks --pid "$pid" --json
expect_rc 0 "leaks --pid"
first=$(grep -o '{"context":[^{}]*}' "$WORK/out" | head -1)
for kv in '"context":"TopMemoryContext"' '"chunk_size":128,' '"family":"base/%u"' '"stride":144,'; do
	printf '%s' "$first" | grep -q -F -- "$kv" || fail "the live top suspect lacks $kv: $first"
	pass
done
count=$(printf '%s' "$first" | grep -o '"count":[0-9]*' | cut -d: -f2)
[ -n "$count" ] && [ "$count" -ge $((N * 99 / 100)) ] && [ "$count" -le $((N * 101 / 100)) ] ||
	fail "the live top suspect counts '$count' chunks, not $N +-1 %: $first"
pass
alive "leaks --pid"

# --- contexts --pid --json and info --pid
run "$MCXT" contexts --pid "$pid" --json
expect_rc 0 "contexts --pid --json"
grep -q -F '"name":"CacheMemoryContext"' "$WORK/out" || fail "no CacheMemoryContext live"
pass
run "$MCXT" info --pid "$pid"
expect_rc 0 "info --pid"
grep -q -E "^target: +live process pid $pid " "$WORK/out" || fail "info --pid: not the live backend"
pass
alive "info --pid"

# the backend still works in earnest: a transaction that writes
pg_sql s1 "BEGIN; INSERT INTO t VALUES (1001, 'x'); COMMIT; SELECT 'ROWS_' || count(*) FROM t;"
grep -q -x ROWS_1001 "$WORK/s1.last" || fail "the backend cannot write after mcxt: $(cat "$WORK/s1.last")"
pass
done_ok
