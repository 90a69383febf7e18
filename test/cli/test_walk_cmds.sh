#!/usr/bin/env bash
# test_walk_cmds.sh: contexts, leaks, chunk and diff on cores of the demo's
# leaking startup process (examples/redo_leak.c), and contexts/leaks on it
# live.  Every expected value comes from the program itself: its --stats
# file is the library's own mcxt_stats_json of the tree, its --truth file
# says how many base/%u chunks it leaked and where one of them is.
source "$(dirname "$0")/lib.sh"
: "${REDO_LEAK:?REDO_LEAK must name the redo_leak program}"
need_gcore

# truth KEY: a value from the program's truth file
truth() {
	local v
	v=$(awk -F= -v k="$1" '$1 == k { print $2; exit }' "$WORK/truth")
	[ -n "$v" ] || fail "truth file lacks $1"
	printf '%s' "$v"
}

# contexts_table FILE: one sorted line per context from a JSON stats dump:
# name level total_bytes total_nblocks free_bytes free_chunks used_bytes
contexts_table() {
	grep -o '{"name":[^{}]*}' "$1" | while IFS= read -r obj; do
		local line="" k
		line=$(printf '%s' "$obj" | sed -E 's/^\{"name":"([^"]*)".*/\1/')
		for k in level total_bytes total_nblocks free_bytes free_chunks used_bytes; do
			line="$line $(printf '%s' "$obj" | grep -o "\"$k\":[0-9]*" | cut -d: -f2)"
		done
		echo "$line"
	done | sort
}

# wait_ready ROUND: the program has replayed round ROUND and is waiting
wait_ready() {
	for _ in $(seq 1 600); do
		grep -q "^ready $TPID $1\$" "$WORK/prog.out" && return 0
		kill -0 "$TPID" 2>/dev/null || fail "redo_leak exited early"
		sleep 0.05
	done
	fail "redo_leak did not reach round $1"
}

"$REDO_LEAK" --records 30000 --wait --truth "$WORK/truth" --stats "$WORK/stats.json" \
	>"$WORK/prog.out" 2>&1 &
TPID=$!
wait_ready 1
take_gcore
mv "$WORK/core" "$WORK/core1"
count1=$(truth count)
cp "$WORK/stats.json" "$WORK/stats1.json"

# --- contexts: the tool's reading of the core equals the library's own stats
run "$MCXT" contexts "$WORK/core1" --json
expect_rc 0 "contexts --json"
json_valid "contexts --json"
contexts_table "$WORK/out" >"$WORK/ctx.tool"
contexts_table "$WORK/stats1.json" >"$WORK/ctx.lib"
[ -s "$WORK/ctx.lib" ] || fail "the program's stats file has no contexts"
diff -u "$WORK/ctx.lib" "$WORK/ctx.tool" >"$WORK/ctx.diff" ||
	fail "contexts differ from the library's own stats: $(cat "$WORK/ctx.diff")"
pass

run "$MCXT" contexts "$WORK/core1"
expect_rc 0 "contexts text"
out_has '^TopMemoryContext: [0-9]+ total in [0-9]+ blocks; [0-9]+ free \([0-9]+ chunks\); [0-9]+ used' "PostgreSQL's line"
out_has '^  CacheMemoryContext: ' "a child, indented"
out_has '^Grand total: [0-9]+ bytes in [0-9]+ blocks' "grand total"

# --- leaks: the seed's leak, ranked first, exactly as the program counted it
run "$MCXT" leaks "$WORK/core1" --json
expect_rc 0 "leaks --json"
json_valid "leaks --json"
first=$(grep -o '{"context":[^{}]*}' "$WORK/out" | head -1)
[ -n "$first" ] || fail "no suspects"
for kv in '"context":"TopMemoryContext"' '"chunk_size":128,' "\"count\":$count1," \
	'"family":"base/%u"' '"stride":136,' "\"unreferenced\":$count1," '"sample":"base/16392"'; do
	printf '%s' "$first" | grep -q -F -- "$kv" || fail "top suspect lacks $kv: $first"
	pass
done

run "$MCXT" leaks "$WORK/core1" --top 3
expect_rc 0 "leaks text"
out_has "TopMemoryContext +128 +$count1 " "the top row in text"

# --- chunk: one leaked chunk decoded from its address
addr=$(truth sample_addr)
run "$MCXT" chunk "$WORK/core1" "$addr"
expect_rc 0 "chunk $addr"
out_has '^context: TopMemoryContext' "owning context"
out_has "pointer $addr, size 128 \\(136 with header\\), allocated" "the chunk itself"
out_has 'base/16392' "its contents in the dump"
run "$MCXT" chunk "$WORK/core1" "$(printf '0x%x' $((addr + 40)))" --json
expect_rc 0 "chunk inside"
json_valid "chunk --json"
out_has_fixed '"offset":40' "an address inside the chunk"

# --- diff: leak more, take a second core, the growth is exactly the new leaks
kill -USR1 "$TPID"
wait_ready 2
take_gcore
mv "$WORK/core" "$WORK/core2"
count2=$(truth count)
[ "$count2" -gt "$count1" ] || fail "the second round leaked nothing"
run "$MCXT" diff "$WORK/core1" "$WORK/core2" --json
expect_rc 0 "diff --json"
json_valid "diff --json"
grow=$(grep -o '{[^{}]*"family":"base/%u"[^{}]*}' "$WORK/out" | grep -F '"context_path":"TopMemoryContext"' | head -1)
printf '%s' "$grow" | grep -q -F "\"delta_count\":$((count2 - count1))" ||
	fail "diff does not report $((count2 - count1)) more base/%u chunks: $grow"
pass
run "$MCXT" diff "$WORK/core1" "$WORK/core2"
expect_rc 0 "diff text"
out_has 'TopMemoryContext' "growth names the context"

# --- live: the same process, no core; it keeps working afterwards
cp "$WORK/stats.json" "$WORK/stats2.json"
run "$MCXT" contexts --pid "$TPID" --json
expect_rc 0 "contexts --pid"
contexts_table "$WORK/out" >"$WORK/ctx.live"
contexts_table "$WORK/stats2.json" >"$WORK/ctx.lib2"
diff -u "$WORK/ctx.lib2" "$WORK/ctx.live" >"$WORK/ctx.diff" ||
	fail "live contexts differ from the library's stats: $(cat "$WORK/ctx.diff")"
pass
run "$MCXT" leaks --pid "$TPID" --json
expect_rc 0 "leaks --pid"
out_has_fixed "\"count\":$count2," "live leak count"
kill -USR1 "$TPID"
wait_ready 3
pass

# --- usage and bad input
run "$MCXT" chunk "$WORK/core1"
expect_rc 2 "chunk without ADDR"
run "$MCXT" chunk "$WORK/core1" notanaddress
expect_rc 2 "chunk with junk"
run "$MCXT" diff "$WORK/core1"
expect_rc 2 "diff with one image"
head -c 4096 "$WORK/core1" >"$WORK/short"
run "$MCXT" leaks "$WORK/short"
expect_rc 1 "a core cut to its first page"
run "$MCXT" contexts "$CLI_TARGET"
expect_rc 1 "not a core"

done_ok
