#!/usr/bin/env bash
# fuzz.sh [SECONDS]
#   Build each libFuzzer target with clang (ASan + UBSan) and run it for a
#   bounded time from its committed seed corpus.  New inputs go to a scratch
#   copy, never into the repository; a crash leaves its reproducer in
#   build/fuzz/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=build/fuzz
mkdir -p "$out"
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (scripts/deps.sh fuzz)"; exit 1; }

CFLAGS="-std=c11 -g -O1 -D_GNU_SOURCE -DMCXT_LIBFUZZER -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
LIB="src/mcxt.c src/aset.c src/source.c src/stats.c src/strings.c"

run() {	# run NAME CORPUS SOURCES...
	local name=$1 corpus=$2; shift 2
	echo "fuzz.sh: building $name"
	clang $CFLAGS -Iinclude -Isrc "$@" -lpthread -o "$out/$name"
	rm -rf "$out/$name.corpus" && mkdir -p "$out/$name.corpus"
	cp -r "$corpus"/. "$out/$name.corpus/"
	echo "fuzz.sh: running $name for ${secs}s"
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 "./$name" -max_total_time="$secs" \
		-print_final_stats=1 "$name.corpus" >"$name.log" 2>&1) || {
		echo "fuzz.sh: $name FAILED; see $out/$name.log and the crash-* file there"
		tail -40 "$out/$name.log"
		return 1
	}
	grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$out/$name.log"
}

run fuzz_ops test/fuzz/corpus_ops $LIB test/fuzz/fuzz_ops.c
if [ -f tools/mcxt/fuzz.sources ]; then
	# the forensics tool's image parser: its sources are listed by the tool
	run fuzz_image test/cli/corpus $(sed 's|^|tools/mcxt/|' tools/mcxt/fuzz.sources)
fi
echo "fuzz.sh: all targets ran ${secs}s without a crash"
