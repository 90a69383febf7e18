#!/usr/bin/env bash
# test_pg_standby.sh: issue 6, test 3.  The process of the story: a hot
# standby's startup process, replaying WAL, read from its core.
#
# A primary and a hot standby made from it with pg_basebackup -R, both with
# test/pg/leakext in shared_preload_libraries: its custom WAL resource
# manager's redo routine leaks psprintf("base/%u") once per record, as the
# story's Greenplum redo routine did.  The primary writes N such records; the
# standby's startup process replays them and keeps N leaked 128-byte chunks.
# We take a core of the startup process (found by its process title), then,
# from a session on the standby, ask it for pg_log_backend_memory_contexts
# (PostgreSQL 15 serves that for auxiliary processes, the startup process
# included).  `mcxt contexts --pg-log-format` must equal that log exactly,
# and `mcxt leaks` must rank the replay leak first.
#
# The startup process keeps replaying whatever the primary writes (the
# background writer logs a running-transactions record now and then), which
# may change its contexts between the core and the log: the pair is taken
# again (at most three times) when the replay position moved in between.
source "$(dirname "$0")/pglib.sh"
: "${MCXT:?MCXT must name the mcxt binary}"
: "${PG_EXT_BUILD:?PG_EXT_BUILD must name a build directory for the test extension}"
N=${N:-50000}

pg_need_tools build
pg_workdir
pg_build_leakext "$PG_EXT_BUILD"
preload="-c shared_preload_libraries='$LEAKEXT_SO'"
pg_init primary
pg_start primary "$preload"
as_pg "$PG_BIN/pg_basebackup" -D "$WORK/standby" -R -X stream -c fast \
	-h "$WORK" -p "$(pg_port primary)" -U postgres >"$WORK/basebackup.log" 2>&1 ||
	{ cat "$WORK/basebackup.log" >&2; fail "pg_basebackup"; }
[ -f "$WORK/standby/standby.signal" ] || fail "pg_basebackup -R wrote no standby.signal"
pg_start standby "$preload" -c hot_standby=on
[ "$(pg_sql1 standby "SELECT pg_is_in_recovery()")" = t ] || fail "the standby is not in recovery"
pass

# the startup process: the standby postmaster's child titled "postgres:
# startup ..." ("recovering <segment>" or "waiting for <segment>")
spm=$(pg_postmaster_pid standby)
startup=
for _ in $(seq 1 250); do
	startup=$(pg_child_titled "$spm" "postgres: startup")
	[ -n "$startup" ] && break
	sleep 0.02
done
[ -n "$startup" ] || fail "no startup process under the standby's postmaster $spm"
pass

# the leak, replayed
pg_session p1 primary
pg_create_leak_functions p1
pg_sql p1 "SELECT 'DBOID=' || oid FROM pg_database WHERE datname = current_database();"
dboid=$(sed -n 's/^DBOID=//p' "$WORK/p1.last")
pg_sql p1 "SELECT 'LSN=' || mcxt_leak_wal($N);"
lsn=$(sed -n 's/^LSN=//p' "$WORK/p1.last")
[ -n "$lsn" ] || fail "mcxt_leak_wal($N): $(cat "$WORK/p1.last")"
for _ in $(seq 1 1500); do
	[ "$(pg_sql1 standby "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
	sleep 0.02
done
[ "$(pg_sql1 standby "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] ||
	fail "the standby did not replay up to $lsn in 30 s"
pass

# core, then log, with the replay position unchanged in between
ok=
for attempt in 1 2 3; do
	before=$(pg_sql1 standby "SELECT pg_last_wal_replay_lsn()")
	pg_gcore "$startup" "$WORK/core"
	mark=$(pg_log_mark standby)
	[ "$(pg_sql1 standby "SELECT pg_log_backend_memory_contexts($startup)")" = t ] ||
		fail "pg_log_backend_memory_contexts($startup) on the standby"
	pg_log_contexts standby "$startup" "$mark" "$WORK/expected"
	after=$(pg_sql1 standby "SELECT pg_last_wal_replay_lsn()")
	[ "$before" = "$after" ] && { ok=1; break; }
	echo "replay moved from $before to $after between core and log (attempt $attempt); again" >&2
done
[ -n "$ok" ] || fail "the standby kept replaying between core and log three times"
grep -q '^level: 0; TopMemoryContext: ' "$WORK/expected" || fail "the startup process logged no TopMemoryContext"
pass

# --- contexts: exactly the startup process's own account
run "$MCXT" contexts "$WORK/core" --pg-log-format
expect_rc 0 "contexts --pg-log-format (startup process)"
same_lines "$WORK/expected" "$WORK/out" "contexts --pg-log-format of the startup process against its own log"
err_lacks 'warning' "no warnings on the startup process's core"

run "$MCXT" contexts "$WORK/core" --json
expect_rc 0 "contexts --json (startup process)"
grep -q -F '"name":"TopMemoryContext"' "$WORK/out" || fail "no TopMemoryContext in JSON"
pass

# --- leaks: the replay leak, first
run "$MCXT" leaks "$WORK/core" --json
expect_rc 0 "leaks --json (startup process)"
err_lacks 'warning' "no warnings from leaks"
first=$(grep -o '{"context":[^{}]*}' "$WORK/out" | head -1)
[ -n "$first" ] || fail "no leak suspects in the startup process"
for kv in '"context":"TopMemoryContext"' '"chunk_size":128,' '"family":"base/%u"' '"stride":144,' \
	"\"sample\":\"base/$dboid\""; do
	printf '%s' "$first" | grep -q -F -- "$kv" || fail "the top suspect lacks $kv: $first"
	pass
done
count=$(printf '%s' "$first" | grep -o '"count":[0-9]*' | cut -d: -f2)
unref=$(printf '%s' "$first" | grep -o '"unreferenced":[0-9]*' | cut -d: -f2)
[ -n "$count" ] && [ "$count" -ge $((N * 99 / 100)) ] && [ "$count" -le $((N * 101 / 100)) ] ||
	fail "the top suspect counts '$count' chunks, not $N +-1 %: $first"
pass
[ -n "$unref" ] && [ "$unref" -ge $((count * 99 / 100)) ] ||
	fail "only '$unref' of $count replayed leaks are unreferenced: $first"
pass

# --- info names the process
run "$MCXT" info "$WORK/core"
expect_rc 0 "info"
grep -q -E 'postgres: startup' "$WORK/out" || fail "info does not show the startup process's title"
pass

# the standby still replays: one more record arrives
pg_sql p1 "SELECT 'LSN=' || mcxt_leak_wal(1);"
lsn=$(sed -n 's/^LSN=//p' "$WORK/p1.last")
for _ in $(seq 1 1500); do
	[ "$(pg_sql1 standby "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
	sleep 0.02
done
[ "$(pg_sql1 standby "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] ||
	fail "the standby stopped replaying after the core"
kill -0 "$startup" 2>/dev/null || fail "the startup process is gone"
pass
done_ok
