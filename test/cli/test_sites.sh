#!/usr/bin/env bash
# test_sites.sh: allocation sites in the forensics tool.  The demo's leaking
# startup process built with MCXT_SITES (redo_leak_sites_plain) is cored with
# gcore; `mcxt leaks` must name the leaking line of examples/redo_leak.c
# (GetDatabasePath's psprintf) for the top suspect, with the count the
# program itself reports in its truth file; `leaks --by-site` and `chunk`
# must say the same, in text and JSON, on the core and on the live process.
# A plain build's core has no sites: --by-site says so (exit 1), and leaks
# shows no site lines.  The line number is read from the source, so the test
# follows the example when it changes.
source "$(dirname "$0")/lib.sh"
: "${REDO_LEAK:?REDO_LEAK must name the redo_leak program}"
: "${REDO_LEAK_SITES:?REDO_LEAK_SITES must name the redo_leak program built with MCXT_SITES}"
: "${CLI_SRC:?CLI_SRC must name test/cli}"
need_gcore

SRC="$CLI_SRC/../../examples/redo_leak.c"
LINE=$(grep -n 'return psprintf("base/%u", dbNode);' "$SRC" | cut -d: -f1)
[ -n "$LINE" ] || fail "cannot find GetDatabasePath's psprintf in $SRC"
SITE="redo_leak.c:$LINE (GetDatabasePath)"

truth() {
	local v
	v=$(awk -F= -v k="$1" '$1 == k { print $2; exit }' "$WORK/truth")
	[ -n "$v" ] || fail "truth file lacks $1"
	printf '%s' "$v"
}

# start PROGRAM: run it until it waits after round 1
start() {
	"$1" --records 30000 --wait --truth "$WORK/truth" >"$WORK/prog.out" 2>&1 &
	TPID=$!
	for _ in $(seq 1 600); do
		grep -q "^ready $TPID 1\$" "$WORK/prog.out" && return 0
		kill -0 "$TPID" 2>/dev/null || fail "$1 exited early"
		sleep 0.05
	done
	fail "$1 did not reach round 1"
}

# --- the in-process report of the same program names the same line
run "$REDO_LEAK_SITES" --records 30000 --sites
expect_rc 0 "redo_leak_sites --sites"
COUNT=$(awk '/leaked chunks/ { print $4; exit }' "$WORK/out")
[ -n "$COUNT" ] || fail "redo_leak_sites printed no leak count"
out_has "^ +$((COUNT * 128)) +$COUNT +[0-9]+  redo_leak\.c:$LINE \(GetDatabasePath\)\$" "in-process report: the leaking line first"

# --- a core of the sites build
start "$REDO_LEAK_SITES"
run "$MCXT" leaks --pid "$TPID" --top 1
expect_rc 0 "leaks --pid"
out_has_fixed "     site: $SITE, $(truth count) of $(truth count) chunks" "live: the top suspect's site"
take_gcore
stop_target
CORE=$WORK/core
[ "$(truth count)" = "$COUNT" ] || fail "the seeded replay leaked $(truth count), not $COUNT"

run "$MCXT" info "$CORE"
expect_rc 0 "info"
out_has "^  build: MCXT_DEBUG [0-9]+, requested sizes in chunk headers.*, tail room (8|9), allocation sites \([0-9]+ in its table\)\$" "info: the registry says sites"
run "$MCXT" info "$CORE" --json
expect_rc 0 "info --json"
json_valid "info --json"
out_has "\"flavour\":\{\"debug\":[0-9]+,\"checked\":true,\"valgrind\":(true|false),\"asan\":false,\"tail_room\":(8|9),\"sites\":true,\"nsites\":[0-9]+\}" "info JSON: the flavour"

run "$MCXT" leaks "$CORE" --top 3
expect_rc 0 "leaks"
out_has "^  1  TopMemoryContext +256 +$COUNT " "the leak ranked first"
[ "$(sed -n 5p "$WORK/out")" = "     site: $SITE, $COUNT of $COUNT chunks" ] ||
	fail "the line after the top suspect is not its site: $(sed -n 5p "$WORK/out")"
pass
[ "$(grep -c '^     site' "$WORK/out")" -eq 3 ] || fail "not every suspect shown has a site line"
pass

run "$MCXT" leaks "$CORE" --top 1 --json
expect_rc 0 "leaks --json"
json_valid "leaks --json"
out_has "\"family\":\"base/%u\".*\"sites_counted\":$COUNT,\"nsites\":1,\"sites\":\[\{\"site_id\":[0-9]+,\"file\":\"[^\"]*/examples/redo_leak\.c\",\"line\":$LINE,\"func\":\"GetDatabasePath\",\"count\":$COUNT\}\]" "JSON: the suspect's site"

run "$MCXT" leaks "$CORE" --by-site
expect_rc 0 "leaks --by-site"
out_has "^  1  TopMemoryContext +$COUNT +[0-9]+ +$((COUNT * 128))  redo_leak\.c:$LINE \(GetDatabasePath\)\$" "by site: the leaking line first, requested bytes exact"
out_has "^  [2-4]  TopMemoryContext/CacheMemoryContext +500 +[0-9]+ +[0-9]+  redo_leak\.c:[0-9]+ \(relcache_lookup\)\$" "by site: the cache's lines"
run "$MCXT" leaks "$CORE" --by-site --json --top 1
expect_rc 0 "leaks --by-site --json"
json_valid "leaks --by-site --json"
out_has "^\{\"context\":\"TopMemoryContext\",\"context_path\":\"TopMemoryContext\",\"site_id\":[0-9]+,\"file\":\"[^\"]*/examples/redo_leak\.c\",\"line\":$LINE,\"func\":\"GetDatabasePath\",\"count\":$COUNT,\"total_bytes\":[0-9]+,\"requested_bytes\":$((COUNT * 128))\}\]" "by site JSON"

ADDR=$(truth sample_addr)
run "$MCXT" chunk "$CORE" "$ADDR"
expect_rc 0 "chunk"
out_has "^chunk: .* allocated, requested 128\$" "the leaked chunk"
out_has_fixed "site: $SITE" "chunk: its site"
run "$MCXT" chunk "$CORE" "$ADDR" --json
expect_rc 0 "chunk --json"
json_valid "chunk --json"
out_has "\"site\":\{\"site_id\":[0-9]+,\"file\":\"[^\"]*/examples/redo_leak\.c\",\"line\":$LINE,\"func\":\"GetDatabasePath\"\}" "chunk JSON: its site"

# --- a plain build has no sites, and says so
start "$REDO_LEAK"
take_gcore
stop_target
run "$MCXT" info "$WORK/core"
expect_rc 0 "info on a plain build"
out_has "^  build: MCXT_DEBUG [0-9]+" "plain: the build line"
out_lacks "allocation sites" "plain: no sites in the build line"
run "$MCXT" leaks "$WORK/core" --by-site
expect_rc 1 "--by-site on a plain build"
err_has "no allocation sites in this image \(the program was not built with MCXT_SITES\)" "plain: the reason"
run "$MCXT" leaks "$WORK/core" --top 3
expect_rc 0 "leaks on a plain build"
out_lacks "site" "plain: no site lines"
run "$MCXT" chunk "$WORK/core" "$(truth sample_addr)"
expect_rc 0 "chunk on a plain build"
out_lacks "^site:" "plain: no site"

echo "cli_sites: $CHECKS checks passed"
