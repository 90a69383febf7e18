#!/usr/bin/env bash
# make_walk_seed.sh: regenerate corpus/libmcxt-walk and libmcxt-walk-sites, the fuzz seeds that hold a
# real libmcxt context tree, so the fuzzer starts its walker from a registry,
# contexts, blocks and chunks rather than having to invent them.  The program
# (walk_seed.c) is linked statically, so its core has few segments; each is
# cut to its first 24 KB, which keeps the registry (in .data) and the tree (at
# the start of the heap; at layout 5, 12 KB no longer held the children).
# Not a test; run by hand, commit the result, and check that the contexts
# printed below are the whole tree of walk_seed.c.
set -euo pipefail
B=${1:?usage: make_walk_seed.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# the plain library (corpus/libmcxt-walk), and built with MCXT_SITES
# (corpus/libmcxt-walk-sites: site words, the site table, Generation's sites
# reading)
for flavour in plain sites; do
	defs=""
	out="$HERE/corpus/libmcxt-walk"
	keep=24576
	if [ "$flavour" = sites ]; then
		# the site table's first page (24 KB, malloc'd) comes first in the heap
		defs="-DMCXT_SITES=1"
		out="$HERE/corpus/libmcxt-walk-sites"
		keep=65536
	fi
	cc -std=c11 -O1 -static -D_GNU_SOURCE $defs -I"$ROOT/include" -I"$ROOT/src" \
		"$ROOT"/src/*.c "$HERE/walk_seed.c" -lpthread -o "$T/seed"
	rm -f "$T/ready"
	"$T/seed" "$T/ready" & P=$!
	while [ ! -s "$T/ready" ]; do sleep 0.05; done
	gcore -o "$T/g" "$P" >/dev/null 2>&1
	kill -KILL "$P"; wait "$P" 2>/dev/null || true
	"$B/test/cli/core_damage" "$T/g.$P" "$out" shrink "$keep"
	# the shrunk core must still hold the whole tree (and, with sites, their lines)
	"$B/tools/mcxt/mcxt" contexts "$out" --exe "$T/seed"
	if [ "$flavour" = sites ]; then
		"$B/tools/mcxt/mcxt" leaks "$out" --by-site --exe "$T/seed"
	fi
	ls -l "$out"
done
