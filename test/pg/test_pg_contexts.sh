#!/usr/bin/env bash
# test_pg_contexts.sh: issue 6, test 1.  The memory-context tree of a real
# PostgreSQL 15 backend, read from its core, equals what the backend itself
# logs, line for line and byte for byte.
#
# One session creates a few hundred tables, selects from them, creates and
# calls a plpgsql function (its context's name lives in plpgsql.so, which
# the core leaves out) and prepares a statement, then goes idle.  We take a
# core of that backend with gcore first, then ask the idle backend, from a
# second session, for pg_log_backend_memory_contexts(pid): taken in this
# order the log text is not in the core, so nothing in it can be scraped.
# `mcxt contexts --pg-log-format` must print the same lines: every context
# (the first 100 children of each parent), the "N more child contexts"
# summaries and the grand total.
#
# Two details keep the backend's state identical between core and log:
#  - the session logs its contexts once itself before the core: the first
#    message a backend ever logs changes ErrorContext (docs/postgres.md);
#  - it forces its pending statistics out as it goes idle
#    (pg_stat_force_next_flush), so no idle-stats timer fires between the
#    core and the log.
source "$(dirname "$0")/pglib.sh"
: "${MCXT:?MCXT must name the mcxt binary}"
NTABLES=${NTABLES:-300}

pg_need_tools
pg_workdir
pg_init db
pg_start db
pg_session s1 db
pid=$s1_PID

pg_sql s1 "$(cat <<EOF
SELECT format('CREATE TABLE t%s (id int PRIMARY KEY, v text, w numeric)', g)
	FROM generate_series(1, $NTABLES) g \\gexec
SELECT format('INSERT INTO t%s SELECT i, md5(i::text), i FROM generate_series(1, 20) i', g)
	FROM generate_series(1, $NTABLES) g \\gexec
SELECT format('SELECT count(*), sum(w) FROM t%s WHERE id < 10', g)
	FROM generate_series(1, $NTABLES) g \\gexec
SELECT count(*) FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.relname LIKE 't%';
EOF
)"
pg_sql s1 "$(cat <<'EOF'
CREATE FUNCTION f_sum(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	s bigint := 0;
BEGIN
	FOR i IN 1..n LOOP
		s := s + i;
	END LOOP;
	RETURN s;
END
$$;
SELECT f_sum(1000);
PREPARE p1(int) AS SELECT v, w FROM t1 WHERE id = $1;
EXECUTE p1(3);
EOF
)"
grep -q -x 500500 "$WORK/s1.last" || fail "f_sum(1000) did not answer 500500: $(cat "$WORK/s1.last")"
pg_sql s1 "SELECT pg_log_backend_memory_contexts(pg_backend_pid());"
pg_sql s1 "SELECT pg_stat_force_next_flush();"

# the core, then the truth
pg_gcore "$pid" "$WORK/core"
mark=$(pg_log_mark db)
[ "$(pg_sql1 db "SELECT pg_log_backend_memory_contexts($pid)")" = t ] ||
	fail "pg_log_backend_memory_contexts($pid) from a second session"
pg_log_contexts db "$pid" "$mark" "$WORK/expected"
grep -q '^level: 1; CacheMemoryContext: ' "$WORK/expected" || fail "the log has no CacheMemoryContext"
grep -q '^level: 1; PL/pgSQL function: .* used: f_sum(integer)$' "$WORK/expected" ||
	fail "the log has no plpgsql function context"
grep -q -E '^level: [0-9]+; [0-9]+ more child contexts containing ' "$WORK/expected" ||
	fail "the log has no 'more child contexts' summary with $NTABLES tables"
pass

# --- contexts --pg-log-format: PostgreSQL's own lines, exactly
run "$MCXT" contexts "$WORK/core" --pg-log-format
expect_rc 0 "contexts --pg-log-format"
cp "$WORK/out" "$WORK/actual"
same_lines "$WORK/expected" "$WORK/actual" "contexts --pg-log-format against the backend's own log"
err_lacks 'warning' "no warnings on a complete gcore core"

# the same with the executable named, and with the version named
run "$MCXT" contexts "$WORK/core" --pg-log-format --exe "$PG_BIN/postgres" --pg-version 15
expect_rc 0 "contexts --exe --pg-version 15"
same_lines "$WORK/expected" "$WORK/out" "contexts --pg-log-format with --exe and --pg-version"

# --- contexts --json: every context, and the same grand total
run "$MCXT" contexts "$WORK/core" --json
expect_rc 0 "contexts --json"
total=$(sed -n 's/^Grand total: \([0-9]*\) bytes in \([0-9]*\) blocks; \([0-9]*\) free (\([0-9]*\) chunks); \([0-9]*\) used$/\1 \2 \3 \4 \5/p' "$WORK/expected")
[ -n "$total" ] || fail "no grand total in the log"
grep -o '{"name":[^{}]*}' "$WORK/out" >"$WORK/ctx.json"
sums=$(for k in total_bytes total_nblocks free_bytes free_chunks used_bytes; do
	grep -o "\"$k\":[0-9]*" "$WORK/ctx.json" | cut -d: -f2 | awk '{ s += $1 } END { printf "%d ", s }'
done)
[ "${sums% }" = "$total" ] || fail "the JSON contexts sum to '${sums% }', the log's grand total is '$total'"
pass
njson=$(wc -l <"$WORK/ctx.json")
nlog=$(grep -c '^level: ' "$WORK/expected")
[ "$njson" -ge "$nlog" ] || fail "$njson contexts in JSON, fewer than the $nlog log lines"
pass
for k in '"allocator":"postgresql"' '"version":15,' '"cassert":false' '"name":"TopMemoryContext"' '"name":"CacheMemoryContext"' '"name":"PL/pgSQL function"' '"ident":"f_sum(integer)"' '"level":0' '"type":"AllocSet"'; do
	grep -q -F -- "$k" "$WORK/out" || fail "contexts --json lacks $k"
	pass
done

# the backend is untouched by all this
pg_sql s1 "SELECT 'ALIVE_' || f_sum(10);"
grep -q -x ALIVE_55 "$WORK/s1.last" || fail "the backend does not answer after the core: $(cat "$WORK/s1.last")"
pass
done_ok
