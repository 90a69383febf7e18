#!/bin/sh
# redo_watch.sh REDO_LEAK
#   The example of docs/leak-hunting.md: examples/redo_leak --watch takes a
#   snapshot per "hour" and prints the diff.  Hour 1 must rank the leaking
#   TopMemoryContext first; hour 2 must name it alone, grown by exactly the
#   chunks it leaked that hour (136 bytes each: a 128-byte chunk and its
#   header) plus the 48-byte header of each block it added.  The JSON form
#   must carry the same figure.
set -eu
bin=$1
out=$("$bin" --watch 2 2>/dev/null)
printf '%s\n' "$out"

fail() { echo "redo_watch: $*" >&2; exit 1; }

# the first context line of hour 1 is TopMemoryContext
first=$(printf '%s\n' "$out" | awk '/^hour 1:/ { h = 1; next } h && /^  / { print; exit }')
case "$first" in
  *": TopMemoryContext") ;;
  *) fail "hour 1 does not rank TopMemoryContext first: $first" ;;
esac

n1=$(printf '%s\n' "$out" | awk '/^replayed 300000 /{ print $4 }')
n2=$(printf '%s\n' "$out" | awk '/^replayed 600000 /{ print $4 }')
[ -n "$n1" ] && [ -n "$n2" ] || fail "no leak counts in the output"
h2=$(printf '%s\n' "$out" | awk '/^hour 2:/ { h = 1; next } h && /^  / { print }')
[ "$(printf '%s\n' "$h2" | wc -l)" -eq 1 ] || fail "hour 2 lists more than one context: $h2"
case "$h2" in
  *": TopMemoryContext") ;;
  *) fail "hour 2 does not name TopMemoryContext: $h2" ;;
esac
used=$(printf '%s\n' "$h2" | awk '{ print substr($1, 2) }')
blocks=$(printf '%s\n' "$h2" | awk '{ for (i = 1; i <= NF; i++) if ($i == "in") { print substr($(i + 1), 2); exit } }')
want=$(( (n2 - n1) * 136 + blocks * 48 ))
[ "$used" -eq "$want" ] || fail "hour 2 growth $used, expected $want ($((n2 - n1)) chunks, $blocks blocks)"

json=$("$bin" --watch 2 --watch-json 2>/dev/null | sed -n '/"from":{"seq":2,/,$p')
printf '%s\n' "$json" | grep -q "\"path\":\"TopMemoryContext\",\"type\":\"AllocSet\",\"level\":0,\"status\":\"grown\"" ||
  fail "JSON of hour 2 lacks the TopMemoryContext entry"
printf '%s\n' "$json" | grep -q "\"used_bytes_delta\":$want}" ||
  printf '%s\n' "$json" | grep -q "\"used_bytes_delta\":$want," ||
  fail "JSON of hour 2 lacks used_bytes_delta $want"
echo "redo_watch: hour 2 grew by $used bytes = $((n2 - n1)) chunks x 136 + $blocks blocks x 48"
