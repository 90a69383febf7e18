#!/usr/bin/env bash
# bench/pg_forensics.sh [BUILD_DIR]
#
# mcxt on a ~1 GB core of a real PostgreSQL 15 backend (issue 6,
# "Acceptance": contexts under 0.5 s, leaks under 2 s); `make bench-pg`
# calls it with the release build directory.  A benchmark, never part of
# `make check`: nothing here fails on a time.
#
#  1. builds BUILD_DIR (default build/release) incrementally, and the test
#     extension test/pg/leakext with PGXS into it;
#  2. starts a throwaway cluster (test/pg/pglib.sh: postgres user, unix
#     socket in a private directory under /tmp, shared_buffers=16MB, no JIT),
#     has one backend leak LEAKS strings psprintf("base/%u") into
#     TopMemoryContext (mcxt_leak_base: 144 bytes each, ~1 GB for 7 M) and
#     takes its core with gcore;
#  3. reads the core once so that it is in the page cache, then measures,
#     interleaved, RUNS times each: mcxt contexts, contexts --pg-log-format,
#     leaks (reference scan included), strings and find; and RUNS_BASE times
#     the pipeline of the story (`LC_ALL=C strings | sort | uniq -c | sort
#     -nr | head`); gdb is no baseline: it cannot call MemoryContextStats on
#     a core;
#  4. checks the diagnosis (first suspect: TopMemoryContext, 128-byte chunks,
#     count LEAKS +-1 %, stride 144, base/%u), prints a markdown table and
#     rewrites docs/BENCHMARKS.md between the PG FORENSICS BEGIN/END markers
#     (the section is appended when they are missing) from a complete run.
#
# Environment (all optional):
#   LEAKS      strings to leak (default 7000000: a ~1 GB core)
#   RUNS       timed runs of each mcxt command (default 5)
#   RUNS_BASE  timed runs of the strings pipeline (default 1)
#   KEEP       1: keep the scratch directory (core, outputs) and say where
#   DOCS       0: never touch docs/BENCHMARKS.md
#   DOC_FILE   the file to update instead of docs/BENCHMARKS.md
#
# Errors end the run through pglib.sh's fail (no set -e: its helpers test
# pipelines whose early exits are not failures).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
LEAKS=${LEAKS:-7000000}
RUNS=${RUNS:-5}
RUNS_BASE=${RUNS_BASE:-1}
DOCS=${DOCS:-1}
DOC=${DOC_FILE:-$ROOT/docs/BENCHMARKS.md}
[ "${KEEP:-0}" = 1 ] && export KEEP_WORK=1

T_CONTEXTS_S=0.5
T_LEAKS_S=2

say() { printf 'pg_forensics: %s\n' "$*" >&2; }

[ -n "${EPOCHREALTIME:-}" ] || { say "bash 5 is needed (EPOCHREALTIME)"; exit 1; }
command -v strings >/dev/null || { say "strings is needed (apt-get install binutils)"; exit 1; }

# shellcheck source=../test/pg/pglib.sh
source "$ROOT/test/pg/pglib.sh"
pg_need_tools build

say "building $BUILD"
[ -f "$BUILD/CMakeCache.txt" ] ||
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || fail "cmake configure"
cmake --build "$BUILD" -j "$(nproc)" >/dev/null || fail "cmake --build $BUILD"
BUILD=$(cd "$BUILD" && pwd)
mcxt=$BUILD/tools/mcxt/mcxt
[ -x "$mcxt" ] || fail "$mcxt is missing after the build"

need_kb=$(( LEAKS * 144 / 1024 * 2 + 262144 ))
[ "$(df -Pk /tmp | awk 'NR == 2 { print $4 }')" -ge "$need_kb" ] ||
	fail "no room in /tmp for a $(( LEAKS * 144 / 1000000 )) MB core"

pg_workdir
pg_build_leakext "$BUILD/test/pg/leakext"
pg_init db
pg_start db
pg_session s1 db
pid=$s1_PID
pg_create_leak_functions s1
pg_sql s1 "SELECT 'DBOID=' || oid FROM pg_database WHERE datname = current_database();"
dboid=$(sed -n 's/^DBOID=//p' "$WORK/s1.last")

t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "backend $pid leaks $LEAKS strings ..."
t0=$EPOCHREALTIME
pg_sql s1 "SELECT 'LEAKED=' || mcxt_leak_base($LEAKS);"
t1=$EPOCHREALTIME
grep -q -x "LEAKED=$LEAKS" "$WORK/s1.last" || fail "mcxt_leak_base: $(cat "$WORK/s1.last")"
leak_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
say "gcore $pid ..."
t0=$EPOCHREALTIME
pg_gcore "$pid" "$WORK/core"
t1=$EPOCHREALTIME
gcore_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
core=$WORK/core
core_bytes=$(stat -c %s "$core")
core_mb=$(awk -v b="$core_bytes" 'BEGIN { printf "%.0f", b / 1e6 }')
rss_mb=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
say "core: $core_mb MB (backend RSS $rss_mb MB), taken in $gcore_s s"
# the backend is no longer needed: its memory back before the measurements
pg_session_close s1

cat "$core" >/dev/null

# run_timed NAME CMD...: one run; wall time appended to $WORK/NAME.times and
# CPU time (user + system) to $WORK/NAME.cpu (bash's time keyword); stdout of
# the first run kept in $WORK/NAME.out.  On a shared machine the CPU time is
# the steadier figure: waiting for a CPU counts in the wall time only.
run_timed() {
	local name=$1 out=/dev/null rc TIMEFORMAT='%R %U %S'
	shift
	[ -f "$WORK/$name.times" ] || out=$WORK/$name.out
	{ time "$@" >"$out" 2>>"$WORK/$name.err"; } 2>"$WORK/$name.t1"
	rc=$?
	[ "$rc" -eq 0 ] || fail "$name failed: $(tail -5 "$WORK/$name.err")"
	read -r wall user sys <"$WORK/$name.t1"
	echo "$wall" >>"$WORK/$name.times"
	awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f\n", u + s }' >>"$WORK/$name.cpu"
}
stat_of() {
	sort -g "$1" | awk -v what="$2" '
		{ v[NR] = $1 }
		END {
			if (what == "min") print v[1];
			else if (what == "max") print v[NR];
			else if (NR % 2) print v[(NR + 1) / 2];
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2;
		}'
}

say "baseline: LC_ALL=C strings | sort | uniq -c | sort -nr | head, $RUNS_BASE run(s) ..."
# shellcheck disable=SC2016
for _ in $(seq 1 "$RUNS_BASE"); do
	run_timed base bash -c 'LC_ALL=C strings "$1" | sort | uniq -c | sort -nr | head' _ "$core"
done
say "mcxt contexts, contexts --pg-log-format, leaks, strings, find: $RUNS runs each ..."
for _ in $(seq 1 "$RUNS"); do
	run_timed contexts "$mcxt" contexts "$core"
	run_timed pglog "$mcxt" contexts "$core" --pg-log-format
	run_timed nodetect "$mcxt" contexts "$core" --no-pg-cassert
	run_timed leaks "$mcxt" leaks "$core"
	run_timed strings "$mcxt" strings "$core" --top 20
	run_timed find "$mcxt" find "$core" "base/$dboid"
done
t_end=$(date +%s)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# the diagnosis: # context size count bytes share stride blocks unref family sample
diag=$(awk -v n="$LEAKS" '$1 == "1" {
		ok = ($2 == "TopMemoryContext" && $3 == 128 && $4 >= n * 0.99 && $4 <= n * 1.01 &&
			  $7 == 144 && $9 >= $4 * 0.99 && $10 == "base/%u");
		print (ok ? "ok" : "MISMATCH") ": " $2 ", " $3 " B, count " $4 ", stride " $7 ", unreferenced " $9 ", " $10;
		exit }' "$WORK/leaks.out")
[ -n "$diag" ] || diag="MISMATCH: no suspect"

med() { stat_of "$WORK/$1.times" median; }
cpu_med() { stat_of "$WORK/$1.cpu" median; }
fmt_s() { awk -v t="$1" 'BEGIN { printf (t < 1 ? "%.3f s" : "%.2f s"), t }'; }
range() {
	awk -v a="$(stat_of "$WORK/$1.times" min)" -v b="$(stat_of "$WORK/$1.times" max)" \
		'BEGIN { printf (b < 1 ? "%.3f-%.3f" : "%.2f-%.2f"), a, b }'
}
mbs() { awk -v b="$core_bytes" -v t="$1" 'BEGIN { printf "%.0f", b / 1e6 / t }'; }
verdict() { if [ "$1" = 1 ]; then echo "**met**"; else echo "**missed**"; fi; }
s_ctx=$(med contexts); s_pglog=$(med pglog); s_leaks=$(med leaks)
s_str=$(med strings); s_find=$(med find); s_base=$(med base)
ok_ctx=$(awk -v s="$s_ctx" -v t=$T_CONTEXTS_S 'BEGIN { print (s <= t) }')
ok_pglog=$(awk -v s="$s_pglog" -v t=$T_CONTEXTS_S 'BEGIN { print (s <= t) }')
ok_leaks=$(awk -v s="$s_leaks" -v t=$T_LEAKS_S 'BEGIN { print (s <= t) }')
ratio=$(awk -v a="$s_base" -v b="$s_leaks" 'BEGIN { printf "%.0f", a / b }')
ncontexts=$(grep -c '^level: ' "$WORK/pglog.out" || true)
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal:/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
pgver=$("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) //')

md=$WORK/pg_forensics.md
{
	echo "Generated by \`bench/pg_forensics.sh\` (\`make bench-pg\`) on $(date -u +%Y-%m-%d); the run took"
	echo "$(( t_end - t_start )) s from the leak to the last measurement (the build not counted);"
	echo "do not edit by hand: the next run rewrites everything between the markers."
	echo
	echo "- Command: \`make bench-pg\`, i.e. \`bench/pg_forensics.sh build/release\`"
	echo "  (LEAKS=$LEAKS RUNS=$RUNS RUNS_BASE=$RUNS_BASE)."
	echo "- Machine: $(nproc) CPUs ($cpu), $mem_total of memory, Linux $(uname -r);"
	echo "  mcxt at $commit; load average $load_start before the run and $load_end after it."
	echo "- Core: a PostgreSQL $pgver backend (shared_buffers=16MB, jit=off) after"
	echo "  \`SELECT mcxt_leak_base($LEAKS)\` (test/pg/leakext: psprintf(\"base/%u\") leaked into"
	echo "  TopMemoryContext $LEAKS times, in $leak_s s; backend RSS $rss_mb MB), taken with gcore in"
	echo "  $gcore_s s: $core_mb MB; $ncontexts contexts in the log-format listing. Read once before the"
	echo "  runs, so it is in the page cache. Time: wall clock, median (range in brackets); CPU"
	echo "  time: user + system, median (the steadier figure when other work shares the machine);"
	echo "  the verdicts are on the wall-clock median."
	echo
	echo "| command | runs | time | CPU time | MB/s | target | verdict |"
	echo "|---|---:|---:|---:|---:|---|---|"
	echo "| \`LC_ALL=C strings CORE \\| sort \\| uniq -c \\| sort -nr \\| head\` (the story's first step) | $RUNS_BASE | $(fmt_s "$s_base") [$(range base)] | $(fmt_s "$(cpu_med base)") | $(mbs "$s_base") | baseline | |"
	echo "| \`mcxt contexts CORE\` | $RUNS | $(fmt_s "$s_ctx") [$(range contexts)] | $(fmt_s "$(cpu_med contexts)") | | < $T_CONTEXTS_S s | $(verdict "$ok_ctx") |"
	echo "| \`mcxt contexts CORE --pg-log-format\` | $RUNS | $(fmt_s "$s_pglog") [$(range pglog)] | $(fmt_s "$(cpu_med pglog)") | | < $T_CONTEXTS_S s | $(verdict "$ok_pglog") |"
	echo "| \`mcxt contexts CORE --no-pg-cassert\` (no header-layout detection) | $RUNS | $(fmt_s "$(med nodetect)") [$(range nodetect)] | $(fmt_s "$(cpu_med nodetect)") | | | |"
	echo "| \`mcxt leaks CORE\` (reference scan included) | $RUNS | $(fmt_s "$s_leaks") [$(range leaks)] | $(fmt_s "$(cpu_med leaks)") | $(mbs "$s_leaks") | < $T_LEAKS_S s | $(verdict "$ok_leaks") |"
	echo "| \`mcxt strings CORE --top 20\` | $RUNS | $(fmt_s "$s_str") [$(range strings)] | $(fmt_s "$(cpu_med strings)") | $(mbs "$s_str") | | |"
	echo "| \`mcxt find CORE base/$dboid\` | $RUNS | $(fmt_s "$s_find") [$(range find)] | $(fmt_s "$(cpu_med find)") | $(mbs "$s_find") | | |"
	echo
	echo "\`mcxt leaks\` names the leaking context, chunk size, count and stride ${ratio}x faster than the"
	echo "strings pipeline counts strings. Its diagnosis of the core: $diag."
	for w in "contexts:$ok_ctx:$s_ctx:$T_CONTEXTS_S" "leaks:$ok_leaks:$s_leaks:$T_LEAKS_S"; do
		IFS=: read -r c ok wall tgt <<<"$w"
		[ "$ok" = 1 ] && continue
		cpu_s=$(cpu_med "$c")
		echo
		if awk -v c="$cpu_s" -v t="$tgt" 'BEGIN { exit !(c <= t) }'; then
			echo "\`mcxt $c\` missed its target on the wall clock ($(fmt_s "$wall")) with a load average of"
			echo "${load_start%% *} on $(nproc) CPUs: its CPU time, $(fmt_s "$cpu_s"), is within the $tgt s, and the rest"
			echo "is waiting for a CPU; on an idle machine the wall time is the CPU time."
		else
			echo "\`mcxt $c\` missed its target: $(fmt_s "$wall") on the wall clock, $(fmt_s "$cpu_s") of CPU."
		fi
	done
	echo
	echo "The first rows of \`mcxt leaks CORE\`:"
	echo
	echo '```'
	head -6 "$WORK/leaks.out"
	echo '```'
} >"$md"

echo
cat "$md"
echo

complete=1
for c in contexts pglog nodetect leaks strings find base; do
	[ -s "$WORK/$c.times" ] || complete=0
done
case "$diag" in ok:*) ;; *) complete=0 ;; esac
if [ "$DOCS" != 0 ] && [ "$complete" = 1 ] && [ -f "$DOC" ]; then
	if grep -q '^<!-- PG FORENSICS BEGIN -->' "$DOC" && grep -q '^<!-- PG FORENSICS END -->' "$DOC"; then
		awk -v gen="$md" '
			/^<!-- PG FORENSICS BEGIN -->/ { print; while ((getline l < gen) > 0) print l; skipping = 1; next }
			/^<!-- PG FORENSICS END -->/ { skipping = 0 }
			!skipping' "$DOC" >"$DOC.pg.tmp"
	else
		{
			cat "$DOC"
			echo
			echo "## Forensics on a real PostgreSQL backend: a ~1 GB core"
			echo
			echo "<!-- PG FORENSICS BEGIN -->"
			cat "$md"
			echo "<!-- PG FORENSICS END -->"
		} >"$DOC.pg.tmp"
	fi
	mv "$DOC.pg.tmp" "$DOC"
	say "updated $DOC (PostgreSQL section)"
else
	say "$DOC not updated (DOCS=0, an incomplete run, or a diagnosis mismatch: $diag)"
	[ "$complete" = 1 ] || exit 1
fi
