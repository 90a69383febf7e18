#!/usr/bin/env bash
# demo.sh BUILD_DIR
#   The README's main job: run the leaking "startup process"
#   (examples/redo_leak.c) until it has replayed a few hundred thousand WAL
#   records, take its core with gcore while it keeps running, and let mcxt
#   diagnose the core: what the image is, the context tree, the leak suspects.
set -euo pipefail
build=${1:-build/release}
records=${DEMO_RECORDS:-400000}
prog=$build/examples/redo_leak
mcxt=$build/tools/mcxt/mcxt

for f in "$prog" "$mcxt"; do
	[ -x "$f" ] || { echo "demo: $f is missing; run make build first" >&2; exit 1; }
done
command -v gcore >/dev/null || { echo "demo: gcore is needed (apt-get install gdb)" >&2; exit 1; }

work=$(mktemp -d /tmp/mcxt-demo.XXXXXX)
pid=
cleanup() {
	local rc=$?
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT

banner() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

banner "1. A startup process replays $records WAL records (examples/redo_leak.c)"
"$prog" --records "$records" --wait --truth "$work/truth" >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
	grep -q '^ready' "$work/out" && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/out"; echo "demo: the program died" >&2; exit 1; }
	sleep 0.1
done
grep -q '^ready' "$work/out" || { echo "demo: the program did not get ready" >&2; exit 1; }
grep -v '^ready' "$work/out"
echo "Its memory keeps growing.  Nobody knows why.  Take a core without stopping it:"

banner "2. gcore $pid"
gcore -o "$work/core" "$pid" >/dev/null 2>&1
core=$work/core.$pid
ls -l "$core" | awk '{printf "%s: %.1f MB\n", $NF, $5 / 1e6}'

banner "3. mcxt info $core"
"$mcxt" info "$core"

banner "4. mcxt contexts $core"
"$mcxt" contexts "$core"

banner "5. mcxt leaks $core"
"$mcxt" leaks "$core" --top 5

banner "The program's own account of its leak, for comparison"
cat "$work/truth"
