#!/usr/bin/env bash
# make_pg_seed.sh: regenerate corpus/pg17-gen and corpus/gp6-cassert-gen, fuzz
# seeds holding PostgreSQL 17 and Greenplum 6 (--enable-cassert) context
# trees made by test/pg/gen/gen_pgcore, so the fuzzer starts the PostgreSQL
# and Greenplum walkers from real-looking contexts, blocks and chunks
# (fuzz_image.c takes the roots from the first writable region, the
# executable's data page holding TopMemoryContext).  Each segment is cut to
# its first 48 KB: TopMemoryContext's first blocks survive, the rest of the
# tree is cut off (which the walker must report, not trip over).  Not a
# test; run by hand, commit the result.
set -euo pipefail
B=${1:?usage: make_pg_seed.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for v in pg17 gp6-cassert; do
	"$B/test/pggen/gen_pgcore" "$v" "$T/$v"
	"$B/test/cli/core_damage" "$T/$v/core" "$HERE/corpus/$v-gen" shrink 49152
	"$B/tools/mcxt/fuzz_image" "$HERE/corpus/$v-gen"
	ls -l "$HERE/corpus/$v-gen"
done
