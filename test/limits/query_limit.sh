#!/bin/sh
# docs/limits.md's example (examples/query_limit.c): its output must still be
# what the page shows.  Usage: query_limit.sh <query_limit binary>
set -u
out=$("$1") || { echo "query_limit exited with status $?"; exit 1; }
fail=0
expect() {
  if ! printf '%s\n' "$out" | grep -qxF -- "$1"; then
    echo "missing line: $1"
    fail=1
  fi
}
expect 'soft limit: "query" holds 1056768 bytes, above 1048576: spill requested'
expect 'spill 13: writing 7271 groups out, query holds 1056768 bytes'
expect 'aggregate done: 13 spills, 5477 groups in memory, query holds 532480 bytes (peak 1056768, 13 soft crossings)'
expect '5 MB with MCXT_ALLOC_NO_OOM: NULL'
expect 'error 1: out of memory: Failed on request of size 4194304 in memory context "Sort": memory limit of context "query" reached (540672 bytes held, limit 4194304, a new block needs 4194360).'
expect 'query: 8192 total in 1 blocks; 7896 free (0 chunks); 296 used; limit 4194304 hard, 1048576 soft, 2637880 held: SELECT k, count(*) FROM t GROUP BY k'
expect 'limit of "query": hard 4194304, soft 1048576, held 2637880, peak 2637880, 14 soft crossings, 2 refusals'
if [ $fail -ne 0 ]; then printf '%s\n' "--- output:" "$out"; fi
exit $fail
