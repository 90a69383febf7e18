#!/usr/bin/env bash
# bench/run.sh BUILD_DIR
#
# The peer comparison of issue 4, end to end (`make bench` calls it with the
# release build directory).  Never part of `make check`.
#
#  1. builds mcxt_bench (libmcxt), mcxt_bench_peers (everything else) and
#     mcxt_bench_report in BUILD_DIR;
#  2. decides which allocators can run: a peer whose package is missing is
#     recorded as skipped, with the reason (`make bench-deps` installs them);
#  3. callgrind: every allocator x workload once, at 1/20 scale, the second
#     (warm) repetition's instructions counted between CALLGRIND_ZERO_STATS
#     and CALLGRIND_DUMP_STATS (two jobs at a time; counts do not depend on
#     load);
#  4. timing: ROUNDS rounds; in each, every allocator x workload runs as a
#     fresh process, in a shuffled order (deterministic per round) so that
#     a noisy period hits everybody; nothing else of ours runs meanwhile;
#  5. report: a table on stdout, results.csv, chart.png, results.md and
#     profile.md in OUT, and docs/BENCHMARKS.md's generated section replaced
#     (only when libmcxt and every peer were measured and nothing failed).
#
# Environment (all optional):
#   BENCH_OUT        output directory (default bench/results)
#   BENCH_ROUNDS     timing rounds (default 5)
#   BENCH_CG_SCALE   callgrind scale divisor (default 20)
#   BENCH_ONLY       space-separated allocators to run (default all)
#   BENCH_WORKLOADS  space-separated workloads (default "W1 W2 W3 W4 W5 W6")
#   BENCH_DOCS       0: never touch docs/BENCHMARKS.md
#   BENCH_NO_TIMING  1: callgrind only (quick profile for the library author)
set -euo pipefail
trap 'echo "bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

if [ $# -ne 1 ]; then
  echo "usage: bench/run.sh BUILD_DIR" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/bench/results}
ROUNDS=${BENCH_ROUNDS:-5}
CG_SCALE=${BENCH_CG_SCALE:-20}
WORKLOADS=${BENCH_WORKLOADS:-"W1 W2 W3 W4 W5 W6"}
DOCS=${BENCH_DOCS:-1}
NO_TIMING=${BENCH_NO_TIMING:-0}
ALL="mcxt mcxt_gen mcxt_bump mcxt_slab mcxt_limit pg15 glibc jemalloc mimalloc tcmalloc talloc apr bump"
ONLY=${BENCH_ONLY:-$ALL}

# Repetitions per process: rep 0 is cold; medians use the warm ones (W4: the cold one).
reps_for() {
  case "$1" in
    W1) echo 2 ;; W2) echo 2 ;; W3) echo 2 ;; W4) echo 2 ;; W5) echo 3 ;; W6) echo 3 ;;
  esac
}

t_start=$(date +%s)
mkdir -p "$OUT"
rm -rf "$OUT/cg"
mkdir -p "$OUT/cg"
RAW=$OUT/raw.txt
: > "$RAW"

# ---- 1. build ------------------------------------------------------------
echo "bench: building the harness in $BUILD"
if ! cmake --build "$BUILD" --target mcxt_bench_peers mcxt_bench_report -j 2 > "$OUT/build.log" 2>&1; then
  cat "$OUT/build.log" >&2
  echo "bench: the harness does not build (see above)" >&2
  exit 1
fi
have_lib=1
if ! cmake --build "$BUILD" --target mcxt_bench -j 2 >> "$OUT/build.log" 2>&1; then
  have_lib=0
fi
PEERS=$BUILD/bench/mcxt_bench_peers
LIB=$BUILD/bench/mcxt_bench
REPORT=$BUILD/bench/mcxt_bench_report

# ---- 2. which allocators run ----------------------------------------------
find_so() {
  # the path of a shared library known to the dynamic linker, or nothing
  # (awk reads all its input: an early exit would SIGPIPE ldconfig, and
  # pipefail would turn that into a failure)
  { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } |
    awk -v n="$1" '$1 == n && !p { p = $NF } END { if (p) print p }'
}

declare -A BIN PRE WLS
CONFIGS=()
run_cfg() {
  # run_cfg PRELOAD COMMAND...: COMMAND with LD_PRELOAD=PRELOAD, or plain for "-"
  local pre=$1
  shift
  if [ "$pre" != - ]; then LD_PRELOAD=$pre "$@"; else "$@"; fi
}
skip() { echo "S alloc=$1 reason=$2" >> "$RAW"; echo "bench: skipping $1: $2"; }
peer_built() { "$PEERS" --list | cut -f1 | grep -x "$1" > /dev/null; }

for a in $ONLY; do
  bin=$PEERS
  pre=-
  case "$a" in
    mcxt|mcxt_*)
      if [ $have_lib -eq 0 ]; then skip "$a" "libmcxt (target mcxt_static) does not build; see $OUT/build.log"; continue; fi
      bin=$LIB ;;
    jemalloc|mimalloc|tcmalloc)
      case "$a" in
        jemalloc) so=libjemalloc.so.2; pkg=libjemalloc-dev ;;
        mimalloc) so=libmimalloc.so.2; pkg=libmimalloc-dev ;;
        tcmalloc) so=libtcmalloc_minimal.so.4; pkg=libgoogle-perftools-dev ;;
      esac
      pre=$(find_so "$so")
      if [ -z "$pre" ]; then skip "$a" "$so not installed (package $pkg; make bench-deps)"; continue; fi ;;
    pg15|talloc|apr)
      if ! peer_built "$a"; then
        case "$a" in
          pg15) pkg=libpg-query-dev ;; talloc) pkg=libtalloc-dev ;; apr) pkg=libapr1-dev ;;
        esac
        skip "$a" "not built: package $pkg missing at configure time (make bench-deps, then re-run cmake)"
        continue
      fi ;;
    glibc|bump) ;;
    *) echo "bench: unknown allocator $a" >&2; exit 2 ;;
  esac
  # the workloads it can run (a Slab context takes one chunk size: W4 only)
  wls=$("$bin" --list | awk -F'\t' -v a="$a" '$1 == a { print $2 }' | tr ',' ' ')
  first=${wls%% *}
  # smoke test: one small run that must read back correct contents
  if ! run_cfg "$pre" "$bin" "$a" "$first" 1 1000 > /dev/null 2> "$OUT/smoke.$a.err"; then
    skip "$a" "smoke test failed: $(head -c 200 "$OUT/smoke.$a.err" | tr '\n' ' ')"
    continue
  fi
  BIN[$a]=$bin
  PRE[$a]=$pre
  WLS[$a]=" $wls "
  CONFIGS+=("$a")
done
if [ ${#CONFIGS[@]} -eq 0 ]; then
  echo "bench: nothing to run" >&2
  exit 1
fi

# ---- 3. callgrind -----------------------------------------------------------
cg_one() {
  # cg_one NAME WORKLOAD BINARY PRELOAD OUT SCALE AWK
  local a=$1 w=$2 bin=$3 pre=$4 out=$5 scale=$6 awk=$7 dump ops err
  local base=$out/cg/$a.$w
  if [ "$pre" != - ]; then export LD_PRELOAD=$pre; fi
  valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$base.%p" \
    "$bin" "$a" "$w" 2 "$scale" > "$base.out" 2> "$base.err" || true
  unset LD_PRELOAD
  dump=$(ls "$base".*.2 2>/dev/null | head -1)
  ops=$(awk '/ rep=1 /{ for (i = 1; i <= NF; i++) if ($i ~ /^ops=/) print substr($i, 5) }' "$base.out")
  err=$(awk '/ rep=/{ for (i = 1; i <= NF; i++) if ($i ~ /^errors=/) e += substr($i, 8) } END { print e + 0 }' "$base.out")
  if [ -z "$dump" ] || [ -z "$ops" ]; then
    echo "C alloc=$a wl=$w ops=0 ir=0 harness_ir=0 errors=1" > "$base.res"
    return 0
  fi
  awk -f "$awk" "$dump" > "$base.self"
  {
    echo "C alloc=$a wl=$w ops=$ops ir=$(awk '$1 == "total" { print $2 }' "$base.self")" \
         "harness_ir=$(awk '$1 == "harness" { print $2 }' "$base.self") errors=$err"
    awk '$1 == "fn"' "$base.self" | sort -k2,2 -n -r | head -12 |
      awk -v a="$a" -v w="$w" '{ n = $3; for (i = 4; i <= NF; i++) n = n " " $i; print "F alloc=" a " wl=" w " ir=" $2 " fn=" n }'
  } > "$base.res"
  # keep libmcxt's AllocSet dumps for callgrind_annotate; the others are not needed
  if [ "$a" != mcxt ]; then rm -f "$base".[0-9]*; fi
}
export -f cg_one

if command -v valgrind > /dev/null; then
  echo "bench: callgrind, ${#CONFIGS[@]} allocators x $(echo $WORKLOADS | wc -w) workloads at 1/$CG_SCALE scale"
  for a in "${CONFIGS[@]}"; do
    for w in $WORKLOADS; do
      case "${WLS[$a]}" in *" $w "*) ;; *) continue ;; esac
      echo "$a $w ${BIN[$a]} ${PRE[$a]} $OUT $CG_SCALE $ROOT/bench/cgself.awk"
    done
  done | xargs -P 2 -L 1 bash -c 'cg_one "$@"' _
  for a in "${CONFIGS[@]}"; do
    for w in $WORKLOADS; do
      if [ -f "$OUT/cg/$a.$w.res" ]; then cat "$OUT/cg/$a.$w.res" >> "$RAW"; fi
    done
  done
else
  echo "bench: valgrind not installed: no instruction counts (make bench-deps)"
fi
t_cg=$(date +%s)

# ---- 4. timing ----------------------------------------------------------------
failed=0
if [ "$NO_TIMING" != 1 ]; then
  echo "bench: timing, $ROUNDS rounds, a fresh process per allocator x workload"
  for r in $(seq 1 "$ROUNDS"); do
    for a in "${CONFIGS[@]}"; do
      for w in $WORKLOADS; do
        case "${WLS[$a]}" in *" $w "*) echo "$a $w" ;; esac
      done
    done | shuf --random-source=<(yes "mcxt-bench-round-$r") > "$OUT/order.$r"
    while read -r a w; do
      run_cfg "${PRE[$a]}" "${BIN[$a]}" "$a" "$w" "$(reps_for "$w")" >> "$RAW" 2>> "$OUT/timing.err" || failed=1
    done < "$OUT/order.$r"
    echo "bench: round $r of $ROUNDS done ($(( $(date +%s) - t_start )) s)"
  done
fi
t_end=$(date +%s)

# ---- 5. report -------------------------------------------------------------------
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain -- src include 2>/dev/null)" ]; then
  rev="$rev (src/ or include/ modified)"
fi
{
  echo "M command: make bench (bench/run.sh $1), after make bench-deps"
  echo "M date: $(date -u '+%Y-%m-%d %H:%M UTC'); git $rev; libmcxt src last commit: $(git -C "$ROOT" log -1 --format='%h %s' -- src 2>/dev/null | cut -c1-70)"
  echo "M machine: $(nproc) CPU $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg), $(gcc -dumpfullversion 2>/dev/null | sed 's/^/gcc /'), $(ldd --version | head -1 | sed 's/.* //;s/^/glibc /')"
  echo "M protocol: $ROUNDS rounds x fresh process per allocator x workload (shuffled); reps per process W1 2, W2 2, W3 2, W4 2, W5 3, W6 3 (rep 0 cold); callgrind at 1/$CG_SCALE scale, warm rep"
  echo "M duration: callgrind $(( t_cg - t_start )) s, timing $(( t_end - t_cg )) s"
} >> "$RAW"

report_rc=0
"$REPORT" "$RAW" "$OUT" || report_rc=$?
if command -v gnuplot > /dev/null && [ "$NO_TIMING" != 1 ]; then
  gnuplot "$OUT/chart.gp" 2> "$OUT/gnuplot.err" || echo "bench: gnuplot failed (see $OUT/gnuplot.err)"
fi
[ $failed -eq 0 ] || echo "bench: some timed runs failed; see $OUT/timing.err" >&2

# The interim report for the library author: instructions/op against the
# targets, and where libmcxt's instructions go.
if [ -n "${BIN[mcxt]:-}" ]; then
  {
    echo "# libmcxt interim benchmark report"
    echo
    echo "Generated by bench/run.sh on $(date -u '+%Y-%m-%d %H:%M UTC') (git $rev)."
    echo
    sed -n '/^## Targets/,$p' "$OUT/results.md"
    echo
    echo "## Where libmcxt's instructions go (callgrind, self cost per operation)"
    cat "$OUT/profile.md" 2>/dev/null || true
    for w in W1 W2 W4 W5; do
      d=$(ls "$OUT/cg/mcxt.$w".*.2 2>/dev/null | head -1)
      [ -n "$d" ] || continue
      echo
      echo "### callgrind_annotate, libmcxt $w (whole repetition at 1/$CG_SCALE scale)"
      echo
      echo '```'
      # the entries at 100 % are callers of the whole region, not self cost
      callgrind_annotate --auto=no --threshold=100 "$d" 2>/dev/null | sed -n '/file:function/,$p' |
        grep -v -E '__libc_start_main|\(below main\)|:main |0x0000|^-+$|^$' | head -20
      echo '```'
    done
  } > "$OUT/INTERIM.md"
fi

echo
echo "bench: outputs in $OUT: results.csv, chart.png, results.md, INTERIM.md, raw.txt"
echo "bench: total $(( $(date +%s) - t_start )) s"

# docs/BENCHMARKS.md: only from a complete, clean run.
if [ "$DOCS" = 1 ] && [ $failed -eq 0 ] && [ $report_rc -eq 0 ] && [ "$NO_TIMING" != 1 ] &&
   ! grep -q '^S ' "$RAW" && [ "$ONLY" = "$ALL" ] && [ "$WORKLOADS" = "W1 W2 W3 W4 W5 W6" ]; then
  doc=$ROOT/docs/BENCHMARKS.md
  if grep -q '^<!-- BEGIN GENERATED' "$doc" 2>/dev/null && grep -q '^<!-- END GENERATED' "$doc"; then
    awk -v gen="$OUT/results.md" '
      /^<!-- BEGIN GENERATED/ { print; while ((getline l < gen) > 0) print l; skipping = 1; next }
      /^<!-- END GENERATED/ { skipping = 0 }
      !skipping' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
    if [ -f "$OUT/chart.png" ]; then cp "$OUT/chart.png" "$ROOT/bench/benchmarks.png"; fi
    echo "bench: updated docs/BENCHMARKS.md"
  else
    echo "bench: docs/BENCHMARKS.md has no generated section; left alone"
  fi
else
  echo "bench: docs/BENCHMARKS.md not updated (incomplete run, a skip, or BENCH_DOCS=0)"
fi
exit $(( failed || report_rc ))
