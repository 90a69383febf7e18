#!/usr/bin/env bash
# bench/forensics.sh [BUILD_DIR]
#
# The forensics tool's performance table (issue 5, "Performance"), end to
# end; `make bench-forensics` calls it with the release build directory.
# A benchmark, never part of `make check`: nothing here fails on a time.
#
#  1. builds BUILD_DIR (default build/release; configured if it is not),
#     incrementally, so that what is measured is the tree as it is;
#  2. runs examples/redo_leak until it has leaked ~15 M chunks of 128 bytes
#     (RECORDS records, one leak in five) and takes its core with gcore
#     (~2 GB) in a scratch directory under /tmp (or BUILD_DIR when /tmp is
#     short of space), which is deleted at the end unless KEEP=1;
#  3. reads the core once so that it is in the page cache (nothing is
#     dropped from the cache), then measures, in the same run and each
#     several times (the median counts): the shell pipeline people used
#     before (`strings | sort | uniq -c | sort -nr | head`, with LC_ALL=C
#     RUNS_BASE times, and once in the caller's locale), then mcxt
#     strings, leaks (reference scan included), contexts and find;
#  4. one more run of each mcxt command samples /proc/PID/smaps_rollup every
#     10 ms: the peak of private anonymous memory (what the tool allocates)
#     apart from the resident pages of the mapped core (page cache, shared);
#  5. prints a markdown table with the issue's targets and a verdict each,
#     checks the leak diagnosis against the program's own account, and
#     rewrites the generated part of docs/BENCHMARKS.md ("Forensics"
#     section, between the FORENSICS BEGIN/END markers; the section is
#     appended when the markers are missing) from a complete run.
#
# Environment (all optional):
#   RECORDS     WAL records to replay (default 75000000: ~15 M leaks, ~2 GB core)
#   RUNS        timed runs of each mcxt command (default 5)
#   RUNS_BASE   timed runs of the LC_ALL=C pipeline (default 3)
#   KEEP        1: keep the scratch directory (core, outputs) and say where
#   DOCS        0: never touch docs/BENCHMARKS.md
#   DOC_FILE    the file to update instead of docs/BENCHMARKS.md
set -euo pipefail
trap 'echo "forensics: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
RECORDS=${RECORDS:-75000000}
RUNS=${RUNS:-5}
RUNS_BASE=${RUNS_BASE:-3}
KEEP=${KEEP:-0}
DOCS=${DOCS:-1}
DOC=${DOC_FILE:-$ROOT/docs/BENCHMARKS.md}

# The issue's targets.
T_STRINGS_MBS=1500		# mcxt strings, MB/s of core
T_LEAKS_S=2				# mcxt leaks, reference scan included
T_CONTEXTS_S=0.2		# mcxt contexts
T_PRIV_PCT=10			# private anonymous memory, % of the core

say() { printf 'forensics: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 is needed (EPOCHREALTIME)"
command -v gcore >/dev/null || die "gcore is needed (apt-get install gdb)"
command -v strings >/dev/null || die "strings is needed (apt-get install binutils)"
TIMEBIN=/usr/bin/time
[ -x "$TIMEBIN" ] || TIMEBIN=

# ---- 1. build -----------------------------------------------------------------
# (incremental: the binaries measured are the tree's, whatever was built before)
prog=$BUILD/examples/redo_leak
mcxt=$BUILD/tools/mcxt/mcxt
say "building $BUILD"
[ -f "$BUILD/CMakeCache.txt" ] ||
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$(nproc)" >/dev/null
if [ ! -x "$prog" ] || [ ! -x "$mcxt" ]; then
	die "$prog or $mcxt is missing after the build"
fi
BUILD=$(cd "$BUILD" && pwd)
prog=$BUILD/examples/redo_leak
mcxt=$BUILD/tools/mcxt/mcxt

# ---- 2. the core ----------------------------------------------------------------
# 136 bytes a leaked chunk, one leak in five records, plus the program itself.
need_kb=$(( RECORDS * 136 * 12 / (5 * 1024 * 10) + 65536 ))
avail_kb() { df -Pk "$1" | awk 'NR == 2 { print $4 }'; }
scratch_parent=
for d in "${TMPDIR:-/tmp}" "$BUILD"; do
	if [ -d "$d" ] && [ "$(avail_kb "$d")" -ge "$need_kb" ]; then
		scratch_parent=$d
		break
	fi
done
[ -n "$scratch_parent" ] || die "no room for a $(( need_kb / 1024 )) MB core in ${TMPDIR:-/tmp} or $BUILD"
mem_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
# the running program and its core's page cache both need room
if [ "$mem_kb" -lt $(( 2 * need_kb )) ]; then
	say "warning: $(( mem_kb / 1024 )) MB of memory available; the core may not stay in the page cache"
fi

work=$(mktemp -d "$scratch_parent/mcxt-forensics.XXXXXX")
pid=
sampler_pid=
cleanup() {
	local rc=$?
	for p in $pid $sampler_pid; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ "$KEEP" = 1 ]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "replaying $RECORDS WAL records (examples/redo_leak) ..."
"$prog" --records "$RECORDS" --wait --truth "$work/truth" >"$work/prog.out" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
	grep -q '^ready' "$work/prog.out" && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/prog.out" >&2; die "redo_leak died"; }
	sleep 0.1
done
grep -q '^ready' "$work/prog.out" || die "redo_leak did not get ready in 120 s"
say "gcore $pid ..."
gcore -o "$work/core" "$pid" >"$work/gcore.out" 2>&1 || { cat "$work/gcore.out" >&2; die "gcore failed"; }
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
core=$work/core
mv "$work/core.$pid" "$core"
pid=
core_bytes=$(stat -c %s "$core")
core_mb=$(awk -v b="$core_bytes" 'BEGIN { printf "%.0f", b / 1e6 }')
leaked=$(awk -F= '$1 == "count" { print $2 }' "$work/truth")
say "core: $core_mb MB, $leaked leaked chunks"
if [ "$core_bytes" -lt 1500000000 ] || [ "$core_bytes" -gt 2600000000 ]; then
	say "warning: the core is not ~2 GB (RECORDS=$RECORDS); the targets are for a ~2 GB core"
fi

# ---- 3. timing --------------------------------------------------------------------
# One read, so that every measurement below finds the core in the page cache.
cat "$core" >/dev/null
cached=
if command -v fincore >/dev/null; then
	cached=$(fincore -b -n -o RES "$core" 2>/dev/null |
		awk -v b="$core_bytes" '{ printf "%.0f%%", 100 * $1 / b }') || cached=
fi

# run_timed NAME CMD...: one run; appends the wall time (s) to $work/NAME.times
# and the max RSS (KB) to $work/NAME.rss; stdout of the first run kept.
run_timed() {
	local name=$1 t0 t1 out=/dev/null
	shift
	[ -f "$work/$name.times" ] || out=$work/$name.out
	t0=$EPOCHREALTIME
	if [ -n "$TIMEBIN" ]; then
		"$TIMEBIN" -f %M -o "$work/$name.rss1" "$@" >"$out" 2>>"$work/$name.err"
		cat "$work/$name.rss1" >>"$work/$name.rss"
	else
		"$@" >"$out" 2>>"$work/$name.err"
	fi
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }' >>"$work/$name.times"
}

# median / min / max of a file of numbers
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

# peak private anonymous and file-backed resident KB of one run of CMD
sample_mem() {
	local name=$1 p ma=0 mf=0 an fb
	shift
	"$@" >/dev/null 2>>"$work/$name.err" &
	p=$!
	sampler_pid=$p
	while kill -0 "$p" 2>/dev/null; do
		if read -r an fb < <(awk '/^Rss:/ { r = $2 } /^Anonymous:/ { a = $2 }
				END { if (r != "") print a, r - a }' "/proc/$p/smaps_rollup" 2>/dev/null) &&
			[ -n "$an" ]; then
			[ "$an" -gt "$ma" ] && ma=$an
			[ "$fb" -gt "$mf" ] && mf=$fb
		fi
		sleep 0.01
	done
	wait "$p" || die "$name failed in the memory run (see $work/$name.err)"
	sampler_pid=
	echo "$ma $mf" >"$work/$name.mem"
}

locale_now=${LC_ALL:-${LC_COLLATE:-${LANG:-C}}}

# ($1 below is the inner shell's: single quotes on purpose)
say "baseline: LC_ALL=C strings | sort | uniq -c | sort -nr | head, $RUNS_BASE runs ..."
# shellcheck disable=SC2016
for _ in $(seq 1 "$RUNS_BASE"); do
	run_timed base_c bash -c 'LC_ALL=C strings "$1" | sort | uniq -c | sort -nr | head' _ "$core"
done
say "baseline in the caller's locale ($locale_now), once ..."
# shellcheck disable=SC2016
run_timed base_loc bash -c 'strings "$1" | sort | uniq -c | sort -nr | head' _ "$core"

# interleaved, so that a noisy moment hits every command
say "mcxt strings, leaks, contexts, find: $RUNS runs each ..."
for _ in $(seq 1 "$RUNS"); do
	run_timed strings "$mcxt" strings "$core" --top 20
	run_timed leaks "$mcxt" leaks "$core"
	run_timed contexts "$mcxt" contexts "$core"
	run_timed find "$mcxt" find "$core" base/16392
done
say "memory: one sampled run each ..."
sample_mem strings "$mcxt" strings "$core" --top 20
sample_mem leaks "$mcxt" leaks "$core"
sample_mem contexts "$mcxt" contexts "$core"
sample_mem find "$mcxt" find "$core" base/16392
t_end=$(date +%s)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 4. does the diagnosis match the program's own account? ---------------------------
# leaks' first suspect: # context size count bytes share stride blocks unref family sample.
# Unreferenced may be a few short of the count: the scan is conservative, and
# dead stack words below the stack pointer may still hold the latest leaks.
diag=$(awk -v n="$leaked" '$1 == "1" {
		ok = ($2 == "TopMemoryContext" && $3 == 128 && $4 == n && $7 == 136 &&
			  $9 <= n && $9 >= n - 16 && $10 == "base/%u");
		print (ok ? "ok" : "MISMATCH") ": " $2 ", " $3 " B, count " $4 ", stride " $7 ", unreferenced " $9 ", " $10;
		exit }' "$work/leaks.out")
[ -n "$diag" ] || diag="MISMATCH: no suspect"

# ---- 5. the table -----------------------------------------------------------------------
med() { stat_of "$work/$1.times" median; }
mbs() { awk -v b="$core_bytes" -v t="$1" 'BEGIN { printf "%.0f", b / 1e6 / t }'; }
fmt_s() { awk -v t="$1" 'BEGIN { printf (t < 1 ? "%.3f s" : "%.2f s"), t }'; }
range() {
	awk -v a="$(stat_of "$work/$1.times" min)" -v b="$(stat_of "$work/$1.times" max)" \
		'BEGIN { printf (b < 1 ? "%.3f-%.3f" : "%.2f-%.2f"), a, b }'
}
rss_mb() {
	if [ -s "$work/$1.rss" ]; then
		sort -n "$work/$1.rss" | tail -1 | awk '{ printf "%.0f MB", $1 / 1024 }'
	else
		echo "n/a"
	fi
}
mem_col() {	# "anon MB (x.x %) / core pages MB"
	awk -v b="$core_bytes" '{ printf ($1 < 10240 ? "%.1f" : "%.0f") " MB (%.1f %%) / %.0f MB",
		$1 / 1024, 100 * $1 * 1024 / b, $2 / 1024 }' "$work/$1.mem"
}
verdict() { if [ "$1" = 1 ]; then echo "**met**"; else echo "**missed**"; fi; }

s_str=$(med strings); s_leaks=$(med leaks); s_ctx=$(med contexts); s_find=$(med find)
s_base=$(med base_c); s_loc=$(med base_loc)
ok_str=$(awk -v m="$(mbs "$s_str")" -v t=$T_STRINGS_MBS 'BEGIN { print (m >= t) }')
ok_leaks=$(awk -v s="$s_leaks" -v t=$T_LEAKS_S 'BEGIN { print (s <= t) }')
ok_ctx=$(awk -v s="$s_ctx" -v t=$T_CONTEXTS_S 'BEGIN { print (s <= t) }')
anon_max_kb=$(cat "$work"/{strings,leaks,contexts,find}.mem | awk '$1 > m { m = $1 } END { print m + 0 }')
anon_worst=$(for c in strings leaks contexts find; do echo "$(cut -d' ' -f1 "$work/$c.mem") $c"; done |
	sort -n | tail -1 | cut -d' ' -f2)
ok_mem=$(awk -v a="$anon_max_kb" -v b="$core_bytes" -v t=$T_PRIV_PCT 'BEGIN { print (a * 1024 <= b * t / 100) }')
ratio=$(awk -v a="$s_base" -v b="$s_str" 'BEGIN { printf "%.0f", a / b }')
ratio_loc=$(awk -v a="$s_loc" -v b="$s_str" 'BEGIN { printf "%.0f", a / b }')
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal:/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
# uncommitted changes count when the binary is newer than them (they are built in)
dirty=
while read -r f; do
	if [ -e "$ROOT/$f" ] && [ ! "$ROOT/$f" -nt "$mcxt" ]; then
		dirty=" with uncommitted changes (e.g. $f)"
		break
	fi
done < <(git -C "$ROOT" status --porcelain -- tools/mcxt src include 2>/dev/null | cut -c4-)
btype=$(awk -F= '/^CMAKE_BUILD_TYPE:/ { print $2 }' "$BUILD/CMakeCache.txt" 2>/dev/null || true)

md=$work/forensics.md
{
	echo "Generated by \`bench/forensics.sh\` (\`make bench-forensics\`) on $(date -u +%Y-%m-%d); the run took"
	echo "$(( t_end - t_start )) s from the replay to the last measurement (the build not counted);"
	echo "do not edit by hand: the next run rewrites everything between the markers."
	echo
	echo "- Command: \`make bench-forensics\`, i.e. \`bench/forensics.sh build/release\`"
	echo "  (RECORDS=$RECORDS RUNS=$RUNS RUNS_BASE=$RUNS_BASE)."
	echo "- Machine: $(nproc) CPUs ($cpu), $mem_total of memory, Linux $(uname -r);"
	echo "  mcxt ${btype:-?} build at $commit$dirty; load average $load_start before the"
	echo "  run and $load_end after it (other work on the machine shows up as spread)."
	echo "- Core: \`examples/redo_leak --records $RECORDS --wait\` taken with gcore,"
	echo "  $core_mb MB, $leaked leaked 128-byte chunks; read once before the runs so it is"
	echo "  in the page cache${cached:+ ($cached of it resident)}, nothing dropped from the cache."
	echo "- Time: wall clock, median of the runs (range in brackets); MB/s = core MB / time."
	echo "  Memory: peak private anonymous memory (the tool's own allocations) / resident"
	echo "  pages of the mapped core (page cache, shared, not private), sampled every 10 ms"
	echo "  from /proc/PID/smaps_rollup in one more run; max RSS (from \`time -f %M\`) counts both."
	echo
	echo "| command | runs | time | MB/s | max RSS | private anon / core pages | target | verdict |"
	echo "|---|---:|---:|---:|---:|---:|---|---|"
	echo "| \`LC_ALL=C strings CORE \\| sort \\| uniq -c \\| sort -nr \\| head\` | $RUNS_BASE | $(fmt_s "$s_base") [$(range base_c)] | $(mbs "$s_base") | | | baseline | |"
	echo "| same, locale $locale_now | 1 | $(fmt_s "$s_loc") | $(mbs "$s_loc") | | | baseline | |"
	echo "| \`mcxt strings CORE --top 20\` | $RUNS | $(fmt_s "$s_str") [$(range strings)] | $(mbs "$s_str") | $(rss_mb strings) | $(mem_col strings) | >= $T_STRINGS_MBS MB/s | $(verdict "$ok_str") |"
	echo "| \`mcxt leaks CORE\` (reference scan included) | $RUNS | $(fmt_s "$s_leaks") [$(range leaks)] | $(mbs "$s_leaks") | $(rss_mb leaks) | $(mem_col leaks) | <= $T_LEAKS_S s | $(verdict "$ok_leaks") |"
	echo "| \`mcxt contexts CORE\` | $RUNS | $(fmt_s "$s_ctx") [$(range contexts)] | | $(rss_mb contexts) | $(mem_col contexts) | <= $T_CONTEXTS_S s | $(verdict "$ok_ctx") |"
	echo "| \`mcxt find CORE base/16392\` | $RUNS | $(fmt_s "$s_find") [$(range find)] | $(mbs "$s_find") | $(rss_mb find) | $(mem_col find) | | |"
	echo "| private memory, worst command ($anon_worst) | | | | | $(awk -v a="$anon_max_kb" -v b="$core_bytes" 'BEGIN { printf "%.0f MB (%.1f %%)", a / 1024, 100 * a * 1024 / b }') | <= $T_PRIV_PCT % of the core | $(verdict "$ok_mem") |"
	echo
	echo "mcxt strings is ${ratio}x as fast as the LC_ALL=C pipeline (${ratio_loc}x the pipeline in"
	echo "locale $locale_now), and its histogram leaves out mapped files and read-only memory."
	echo "Diagnosis of the core by \`mcxt leaks\` against the program's own account: $diag."
	if [ "$ok_str" != 1 ]; then
		echo
		echo "Missed: mcxt strings at $(mbs "$s_str") MB/s.  Its time is the byte scan plus one hash"
		echo "probe per string found; what would close it is splitting the regions between two"
		echo "threads (two CPUs here) with one histogram each, merged at the end."
	fi
	if [ "$ok_leaks" != 1 ]; then
		echo
		echo "Missed: mcxt leaks in $(fmt_s "$s_leaks").  It walks every chunk twice (grouping, then"
		echo "the scan's candidates in address order) and reads all writable memory once more for"
		echo "the reference scan, on one CPU; running the reference scan on a second thread, split"
		echo "by region, would take the scan's share off the wall time."
	fi
	if [ "$ok_ctx" != 1 ]; then
		echo
		echo "Missed: mcxt contexts in $(fmt_s "$s_ctx").  It reads only headers; the time is opening"
		echo "and indexing the core (notes, mapped files), which is what to profile."
	fi
	if [ "$ok_mem" != 1 ]; then
		echo
		echo "Missed: private memory of mcxt $anon_worst.  For leaks it is pass 1's group record"
		echo "(4 bytes a live chunk, 2 once ranked) and the reference scan's candidates (10 bytes"
		echo "a member of the top groups); packing each candidate's pointer and group into one"
		echo "8-byte word would take 2 bytes a candidate off."
	fi
} >"$md"

echo
cat "$md"
echo

# ---- 6. docs/BENCHMARKS.md ------------------------------------------------------------------
complete=1
for c in strings leaks contexts find base_c base_loc; do
	[ -s "$work/$c.times" ] || complete=0
done
case "$diag" in ok:*) ;; *) complete=0 ;; esac
if [ "$DOCS" != 0 ] && [ "$complete" = 1 ] && [ -f "$DOC" ]; then
	if grep -q '^<!-- FORENSICS BEGIN -->' "$DOC" && grep -q '^<!-- FORENSICS END -->' "$DOC"; then
		awk -v gen="$md" '
			/^<!-- FORENSICS BEGIN -->/ { print; while ((getline l < gen) > 0) print l; skipping = 1; next }
			/^<!-- FORENSICS END -->/ { skipping = 0 }
			!skipping' "$DOC" >"$DOC.forensics.tmp"
	else
		{
			cat "$DOC"
			echo
			echo "## Forensics: mcxt on a 2 GB core"
			echo
			echo "<!-- FORENSICS BEGIN -->"
			cat "$md"
			echo "<!-- FORENSICS END -->"
		} >"$DOC.forensics.tmp"
	fi
	mv "$DOC.forensics.tmp" "$DOC"
	say "updated docs/BENCHMARKS.md (Forensics section)"
else
	say "docs/BENCHMARKS.md not updated (DOCS=0, an incomplete run, or a diagnosis mismatch)"
fi
