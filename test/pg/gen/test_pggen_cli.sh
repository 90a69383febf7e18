#!/usr/bin/env bash
# test_pggen_cli.sh: the mcxt command on generated PostgreSQL 15 (cassert),
# 16, 17, 18 and Greenplum 6, 7 cores, plain and --enable-cassert (issue 6,
# test 5).  For each version gen_pgcore writes a core, the executable it
# names, and what must be reported (computed from the generator's own
# books).  Checked, with nothing but the core (the executable is found
# through NT_FILE, the version from its version string, the header layout
# from the image):
#   - contexts --pg-log-format equals expected.log line for line (every
#     context, the "N more child contexts" summary, the grand total);
#   - contexts --json parses, says the version and cassert, and carries
#     Greenplum's named counters with the planted values;
#   - leaks --json ranks the planted family first: TopMemoryContext,
#     128-byte chunks, base/%u, the planted count and stride, all
#     unreferenced;
#   - --pg-cassert / --no-pg-cassert: the right forcing gives the same
#     output, the wrong one warnings and exit 0 or 1, never a crash;
#   - --pg-version forcing another version is an error or warnings, not a
#     crash.
# Environment: MCXT, GEN (gen_pgcore), JSON_CHECK.
set -u
: "${MCXT:?}" "${GEN:?}" "${JSON_CHECK:?}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:exitcode=87:halt_on_error=1"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcxt-pggen.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"' EXIT
CHECKS=0
fail() {
	echo "FAIL [$V]: $*" >&2
	[ -s "$WORK/out" ] && { echo "--- stdout:" >&2; head -c 2000 "$WORK/out" >&2; }
	[ -s "$WORK/err" ] && { echo "--- stderr:" >&2; head -c 2000 "$WORK/err" >&2; }
	exit 1
}
pass() { CHECKS=$((CHECKS + 1)); }

# run CMD...: stdout in $WORK/out, stderr in $WORK/err, exit status in RC
run() {
	"$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	case $RC in 0|1|2) ;; *) fail "$* exited with $RC (a crash?)";; esac
}

VERSIONS="pg15-cassert pg16 pg16-cassert pg17 pg17-cassert pg18 pg18-cassert gp6 gp6-cassert gp7 gp7-cassert"
for V in $VERSIONS; do
	D="$WORK/$V"
	"$GEN" "$V" "$D" || fail "generator failed"
	CORE="$D/core"
	CASSERT=$(awk '$1 == "cassert" {print $2}' "$D/expected.facts")

	# the log format, exactly
	run "$MCXT" contexts --pg-log-format "$CORE"
	[ "$RC" -eq 0 ] || fail "contexts --pg-log-format exited $RC"
	diff -u "$D/expected.log" "$WORK/out" >"$WORK/diff" || { cat "$WORK/diff" >&2; fail "contexts --pg-log-format differs from expected.log"; }
	pass
	cp "$WORK/out" "$D/auto.log"

	# JSON: valid, version and cassert as detected
	run "$MCXT" contexts --json "$CORE"
	[ "$RC" -eq 0 ] || fail "contexts --json exited $RC"
	"$JSON_CHECK" "$WORK/out" || fail "contexts --json is not valid JSON"
	if [ "$CASSERT" = 1 ]; then want=true; else want=false; fi
	grep -q "\"cassert\":$want" "$WORK/out" || fail "contexts --json does not say cassert $want"
	pass
	# named counters (Greenplum): every planted value on its context's line
	while read -r _ addr kvs; do
		line=$(grep "\"address\":\"$addr\"" "$WORK/out")
		[ -n "$line" ] || fail "context $addr not in contexts --json"
		for kv in $kvs; do
			k=${kv%%=*}
			v=${kv#*=}
			case $line in *"\"$k\":$v,"*|*"\"$k\":$v}"*) ;; *) fail "context $addr: $k is not $v";; esac
		done
		pass
	done < <(grep '^acct ' "$D/expected.facts")
	# counters a context's type does not have are not shown (Greenplum 7's
	# AllocSet-only fields in its Generation and Slab contexts)
	while read -r _ addr keys; do
		line=$(grep "\"address\":\"$addr\"" "$WORK/out")
		[ -n "$line" ] || fail "context $addr not in contexts --json"
		for k in $keys; do
			case $line in *"\"$k\":"*) fail "context $addr shows $k, which its type lacks";; esac
		done
		pass
	done < <(grep '^absent ' "$D/expected.facts")

	# the planted leak ranks first
	read -r _ lctx lsize lfam lcount lstride < <(grep '^leak ' "$D/expected.facts")
	run "$MCXT" leaks --json "$CORE"
	[ "$RC" -eq 0 ] || fail "leaks --json exited $RC"
	"$JSON_CHECK" "$WORK/out" || fail "leaks --json is not valid JSON"
	first=$(grep -m1 '^{"context"' "$WORK/out")
	for want in "\"context\":\"$lctx\"" "\"chunk_size\":$lsize," "\"family\":\"$lfam\"" \
		"\"count\":$lcount," "\"stride\":$lstride," "\"unreferenced\":$lcount,"; do
		case $first in *"$want"*) ;; *) fail "first suspect lacks $want: $first";; esac
	done
	pass

	# forcing the header layout
	if [ "$CASSERT" = 1 ]; then right=--pg-cassert; wrong=--no-pg-cassert; else right=--no-pg-cassert; wrong=--pg-cassert; fi
	run "$MCXT" contexts --pg-log-format "$right" "$CORE"
	[ "$RC" -eq 0 ] && cmp -s "$WORK/out" "$D/expected.log" || fail "contexts $right differs from the detected output"
	pass
	run "$MCXT" contexts --pg-log-format "$wrong" "$CORE"
	[ -s "$WORK/err" ] || fail "contexts $wrong gave no warning"
	cmp -s "$WORK/out" "$D/expected.log" && fail "contexts $wrong gave the right answer: the header layouts are not told apart"
	pass
	run "$MCXT" leaks "$wrong" "$CORE"
	[ -s "$WORK/err" ] || fail "leaks $wrong gave no warning"
	pass

	# another version forced: an error or warnings, never a crash
	case $V in gp6*) other=16;; *) other=gp6;; esac
	run "$MCXT" contexts --pg-version "$other" "$CORE"
	[ "$RC" -ne 0 ] || [ -s "$WORK/err" ] || fail "--pg-version $other was taken silently"
	pass
done
echo "test_pggen_cli: $CHECKS checks passed over: $VERSIONS"
