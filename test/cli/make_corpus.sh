#!/usr/bin/env bash
# make_corpus.sh BUILD_DIR: regenerate the fuzz seed corpus in corpus/ from
# fresh cores of cli_target (one from gcore, one from the kernel), shrunk to
# at most 64 bytes per segment, plus a few damaged variants.  Not a test; run
# it by hand when the core format handling changes, and commit the result
# (keep corpus/ well under 200 KB).
set -euo pipefail
B=${1:?usage: make_corpus.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
CD=$B/test/cli/core_damage
mkdir -p "$HERE/corpus"
rm -f "$HERE"/corpus/*

"$B/test/cli/cli_target" "$T/exp" & P=$!
while [ ! -s "$T/exp" ]; do sleep 0.05; done
gcore -o "$T/g" "$P" >/dev/null 2>&1
kill -KILL "$P"; wait "$P" 2>/dev/null || true
"$CD" "$T/g.$P" "$HERE/corpus/gcore-shrunk" shrink 64

( cd "$T" && ulimit -c unlimited && exec "$B/test/cli/cli_target" "$T/exp2" ) & P=$!
while [ ! -s "$T/exp2" ]; do sleep 0.05; done
kill -ABRT "$P"; wait "$P" 2>/dev/null || true
"$CD" "$T/core" "$HERE/corpus/kernel-shrunk" shrink 64

S=$HERE/corpus/gcore-shrunk
"$CD" "$S" "$HERE/corpus/gcore-ntfile-unterminated" ntfile-names-unterminated
K=$HERE/corpus/kernel-shrunk
"$CD" "$K" "$HERE/corpus/kernel-note-descsz-huge" note-descsz-huge
"$CD" "$K" "$HERE/corpus/kernel-load-overlap" load-overlap
"$CD" "$S" "$HERE/corpus/gcore-truncated" truncate 3000
"$CD" "$K" "$HERE/corpus/kernel-ntfile-absurd" ntfile-ranges-absurd
"$CD" "$K" "$HERE/corpus/kernel-flip" flip 30 7
# an executable, for the on-disk ELF reader (symbols, build-id)
strip -o "$HERE/corpus/exe-stripped" "$B/test/cli/cli_target"
du -sh "$HERE/corpus"
