#!/usr/bin/env bash
# make_walk_seed.sh: regenerate corpus/libmcxt-walk, the fuzz seed that holds a
# real libmcxt context tree, so the fuzzer starts its walker from a registry,
# contexts, blocks and chunks rather than having to invent them.  The program
# (walk_seed.c) is linked statically, so its core has few segments; each is
# cut to its first 12 KB, which keeps the registry (in .data) and the tree (at
# the start of the heap).  Not a test; run by hand, commit the result.
set -euo pipefail
B=${1:?usage: make_walk_seed.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cc -std=c11 -O1 -static -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/src" \
	"$ROOT"/src/*.c "$HERE/walk_seed.c" -lpthread -o "$T/seed"
"$T/seed" "$T/ready" & P=$!
while [ ! -s "$T/ready" ]; do sleep 0.05; done
gcore -o "$T/g" "$P" >/dev/null 2>&1
kill -KILL "$P"; wait "$P" 2>/dev/null || true
"$B/test/cli/core_damage" "$T/g.$P" "$HERE/corpus/libmcxt-walk" shrink 12288
# the shrunk core must still hold the whole tree
"$B/tools/mcxt/mcxt" contexts "$HERE/corpus/libmcxt-walk" --exe "$T/seed"
ls -l "$HERE/corpus/libmcxt-walk"
