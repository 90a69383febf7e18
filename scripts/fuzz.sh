#!/usr/bin/env bash
# fuzz.sh [SECONDS]
#   Build each libFuzzer target with clang (ASan + UBSan) and run it for a
#   bounded time from its committed seed corpus.  New inputs go to a scratch
#   copy, never into the repository; a crash, or an input that takes more
#   than 10 s (a hang is a bug too), leaves its reproducer in build/fuzz/ and
#   fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=build/fuzz
mkdir -p "$out"
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (scripts/deps.sh fuzz)"; exit 1; }

CFLAGS="-std=c11 -g -O1 -D_GNU_SOURCE -DMCXT_LIBFUZZER -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
LIB=$(ls src/*.c)	# every library source

# run NAME BINARY CORPUS: fuzz BINARY for $secs from a scratch copy of CORPUS
run() {
	local name=$1 bin=$2 corpus=$3
	rm -rf "$out/$name.corpus" && mkdir -p "$out/$name.corpus"
	cp -r "$corpus"/. "$out/$name.corpus/"
	echo "fuzz.sh: running $name for ${secs}s"
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -timeout=10 \
		-print_final_stats=1 "$name.corpus" >"$name.log" 2>&1) || {
		echo "fuzz.sh: $name FAILED; see $out/$name.log and the crash-* file there"
		tail -40 "$out/$name.log"
		return 1
	}
	grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$out/$name.log"
}

# libmcxt's context operations
echo "fuzz.sh: building fuzz_ops"
clang $CFLAGS -Iinclude -Isrc $LIB test/fuzz/fuzz_ops.c -lpthread -o "$out/fuzz_ops"
run fuzz_ops "$PWD/$out/fuzz_ops" test/fuzz/corpus_ops

# the forensics tool's core parser, built by its own CMake rule with clang
rel=build/release
if [ ! -f "$rel/CMakeCache.txt" ]; then
	cmake -S . -B "$rel" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
echo "fuzz.sh: building fuzz_image"
cmake --build "$rel" --target mcxt_fuzz_image_libfuzzer >/dev/null
run fuzz_image "$PWD/$rel/tools/mcxt/fuzz_image_libfuzzer" test/cli/corpus

echo "fuzz.sh: all targets ran ${secs}s without a crash"
