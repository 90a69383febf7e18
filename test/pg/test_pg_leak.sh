#!/usr/bin/env bash
# test_pg_leak.sh: issue 6, test 2.  The story's leak, in a real PostgreSQL
# 15 backend, found from its core by `mcxt leaks`.
#
# test/pg/leakext is a tiny extension built here with PGXS; its function
# mcxt_leak_base(N) leaks psprintf("base/%u", MyDatabaseId) into
# TopMemoryContext N times: 128-byte chunks behind 16-byte headers, one every
# 144 bytes, to which nothing points.  After the call, `mcxt leaks` on the
# backend's core must rank that group first, with count N (+-1 %), nearly all
# unreferenced; `mcxt diff` between a core before and one after must show
# the growth; `mcxt chunk` must decode one of the strings; and the context
# tree must still equal the backend's own log, as in test 1.
source "$(dirname "$0")/pglib.sh"
: "${MCXT:?MCXT must name the mcxt binary}"
: "${PG_EXT_BUILD:?PG_EXT_BUILD must name a build directory for the test extension}"
N=${N:-100000}

pg_need_tools build
pg_workdir
pg_build_leakext "$PG_EXT_BUILD"
pg_init db
pg_start db
pg_session s1 db
pid=$s1_PID
pg_create_leak_functions s1
pg_sql s1 "SELECT 'DBOID=' || oid FROM pg_database WHERE datname = current_database();"
dboid=$(sed -n 's/^DBOID=//p' "$WORK/s1.last")
[ -n "$dboid" ] || fail "no database oid"
pg_sql s1 "SELECT pg_log_backend_memory_contexts(pg_backend_pid());"
pg_sql s1 "SELECT pg_stat_force_next_flush();"
pg_gcore "$pid" "$WORK/core0"

pg_sql s1 "SELECT 'LEAKED=' || mcxt_leak_base($N);"
grep -q -x "LEAKED=$N" "$WORK/s1.last" || fail "mcxt_leak_base($N): $(cat "$WORK/s1.last")"
pg_sql s1 "SELECT pg_stat_force_next_flush();"
pg_gcore "$pid" "$WORK/core1"
mark=$(pg_log_mark db)
[ "$(pg_sql1 db "SELECT pg_log_backend_memory_contexts($pid)")" = t ] ||
	fail "pg_log_backend_memory_contexts($pid) from a second session"
pg_log_contexts db "$pid" "$mark" "$WORK/expected"

lo=$((N * 99 / 100))
hi=$((N * 101 / 100))

# --- leaks: the story's group, first
run "$MCXT" leaks "$WORK/core1" --json
expect_rc 0 "leaks --json"
err_lacks 'warning' "no warnings on a complete gcore core"
first=$(grep -o '{"context":[^{}]*}' "$WORK/out" | head -1)
[ -n "$first" ] || fail "no leak suspects"
for kv in '"context":"TopMemoryContext"' '"context_path":"TopMemoryContext"' '"chunk_size":128,' \
	'"family":"base/%u"' '"stride":144,' "\"sample\":\"base/$dboid\""; do
	printf '%s' "$first" | grep -q -F -- "$kv" || fail "the top suspect lacks $kv: $first"
	pass
done
count=$(printf '%s' "$first" | grep -o '"count":[0-9]*' | cut -d: -f2)
unref=$(printf '%s' "$first" | grep -o '"unreferenced":[0-9]*' | cut -d: -f2)
total=$(printf '%s' "$first" | grep -o '"total_bytes":[0-9]*' | cut -d: -f2)
[ -n "$count" ] && [ "$count" -ge "$lo" ] && [ "$count" -le "$hi" ] ||
	fail "the top suspect counts '$count' chunks, not $N +-1 %: $first"
pass
[ -n "$unref" ] && [ "$unref" -ge $((count * 99 / 100)) ] ||
	fail "only '$unref' of $count leaked chunks are unreferenced: $first"
pass
[ "$total" = $((count * 144)) ] || fail "total_bytes $total is not $count x 144: $first"
pass
addr=$(printf '%s' "$first" | grep -o '"sample_address":[^,}]*' | cut -d: -f2 | tr -d '"')

# the text report, as a user reads it (docs/postgres.md shows one)
run "$MCXT" leaks "$WORK/core1" --top 5
expect_rc 0 "leaks text"
grep -q -E "^ +1 +TopMemoryContext +128 +$count +$total .* 144 .*base/%u" "$WORK/out" ||
	fail "the text report's first row is not the leak"
pass
cp "$WORK/out" "$WORK/leaks.txt"

# --- chunk: one of the strings, decoded
if [ -n "$addr" ] && [ "$addr" != null ]; then
	[[ "$addr" == 0x* ]] || addr=$(printf '0x%x' "$addr")
	run "$MCXT" chunk "$WORK/core1" "$addr"
	expect_rc 0 "chunk $addr"
	grep -q '^context: TopMemoryContext' "$WORK/out" || fail "chunk $addr is not in TopMemoryContext"
	grep -q 'size 128 (144 with header), allocated' "$WORK/out" || fail "chunk $addr is not a 128-byte chunk"
	grep -q -F "base/$dboid" "$WORK/out" || fail "chunk $addr does not show base/$dboid"
	pass
else
	fail "the top suspect has no sample_address: $first"
fi

# --- find: the story's gdb `find`, and its 144-byte stride
run "$MCXT" find "$WORK/core1" "base/$dboid" --json --max 0
expect_rc 0 "find"
grep -q -E "\\{\"stride\":144,\"count\":[0-9]+\\}" "$WORK/out" || fail "find shows no 144-byte stride"
fcount=$(grep -o '^{"count":[0-9]*' "$WORK/out" | cut -d: -f2)
[ -n "$fcount" ] && [ "$fcount" -ge "$lo" ] || fail "find counts '$fcount' copies of base/$dboid"
pass

# --- diff: the growth between the two cores is the leak
run "$MCXT" diff "$WORK/core0" "$WORK/core1" --json
expect_rc 0 "diff --json"
grow=$(grep -o '{[^{}]*"family":"base/%u"[^{}]*}' "$WORK/out" | grep -F '"context_path":"TopMemoryContext"' | head -1)
delta=$(printf '%s' "$grow" | grep -o '"delta_count":[0-9]*' | cut -d: -f2)
[ -n "$delta" ] && [ "$delta" -ge "$lo" ] && [ "$delta" -le "$hi" ] ||
	fail "diff does not show $N more base/%u chunks in TopMemoryContext: $grow"
pass

# --- contexts: still exactly the backend's own account
run "$MCXT" contexts "$WORK/core1" --pg-log-format
expect_rc 0 "contexts --pg-log-format"
same_lines "$WORK/expected" "$WORK/out" "contexts --pg-log-format of the leaking backend against its own log"
top=$(sed -n 's/^level: 0; TopMemoryContext: \([0-9]*\) total.*/\1/p' "$WORK/expected")
[ "$top" -ge $((N * 144)) ] || fail "TopMemoryContext holds $top bytes, less than the leak"
pass

pg_sql s1 "SELECT 'ALIVE_' || 1;"
grep -q -x ALIVE_1 "$WORK/s1.last" || fail "the backend does not answer after the cores"
pass
[ -n "${LEAKS_OUT:-}" ] && cp "$WORK/leaks.txt" "$LEAKS_OUT"
done_ok
