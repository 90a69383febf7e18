#!/usr/bin/env bash
# Damaged cores, made here from a real gcore core: truncated at many points,
# corrupted ELF and program headers, corrupted notes, absurd sizes, random
# bit flips.  Every command must end with exit 0 (a result, with warnings
# where memory is missing) or exit 1 (a message naming the file), never a
# crash, a hang, a sanitizer report or another exit code.  The fuzz target's
# replay program runs over the same files.
. "$(dirname "$0")/lib.sh"
: "${CORE_DAMAGE:?}" "${FUZZ_IMAGE:?}"

start_target
take_gcore
stop_target
CORE=$WORK/core
SIZE=$(stat -c %s "$CORE")
D=$WORK/damaged
mkdir "$D"

u64_at() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }
u16_at() { od -An -t u2 -j "$2" -N 2 "$1" | tr -d ' '; }
PHOFF=$(u64_at "$CORE" 32)
PHNUM=$(u16_at "$CORE" 56)
PHEND=$((PHOFF + 56 * PHNUM))
# the note segment (gcore and the kernel put it first, check anyway)
NOTE_OFF=; NOTE_SZ=
for i in $(seq 0 $((PHNUM - 1))); do
  if [ "$(od -An -t u4 -j $((PHOFF + 56 * i)) -N 4 "$CORE" | tr -d ' ')" = 4 ]; then
    NOTE_OFF=$(u64_at "$CORE" $((PHOFF + 56 * i + 8)))
    NOTE_SZ=$(u64_at "$CORE" $((PHOFF + 56 * i + 32)))
    break
  fi
done
[ -n "$NOTE_OFF" ] || fail "no PT_NOTE in the gcore core"
# where segment data ends (gcore puts section headers after it)
DATA_END=0
for i in $(seq 0 $((PHNUM - 1))); do
  e=$(( $(u64_at "$CORE" $((PHOFF + 56 * i + 8))) + $(u64_at "$CORE" $((PHOFF + 56 * i + 32))) ))
  [ "$e" -gt "$DATA_END" ] && DATA_END=$e
done

for n in 1 16 63 64 100 $((PHOFF + 56)) $((PHEND - 1)) $PHEND $((NOTE_OFF + 20)) \
         $((NOTE_OFF + NOTE_SZ / 2)) $((NOTE_OFF + NOTE_SZ - 1)) $((NOTE_OFF + NOTE_SZ)) \
         $((SIZE / 3)) $((SIZE / 2)) $((DATA_END - 4096)) $((DATA_END - 1)); do
  "$CORE_DAMAGE" "$CORE" "$D/trunc-$n" truncate "$n" || fail "core_damage truncate $n"
done
for m in ehdr-class ehdr-magic ehdr-machine ehdr-type phoff-huge phnum-big phnum-xnum phentsize \
         load-offset-huge load-filesz-huge load-vaddr-wrap load-overlap load-all-huge \
         note-offset-huge note-filesz-huge note-namesz-huge note-descsz-huge note-prstatus-short \
         auxv-garbage ntfile-count-huge ntfile-pagesize-zero ntfile-pagesize-odd \
         ntfile-names-unterminated ntfile-ranges-absurd; do
  "$CORE_DAMAGE" "$CORE" "$D/$m" "$m" || fail "core_damage $m"
done
for seed in 1 2 3 4 5 6 7 8; do
  "$CORE_DAMAGE" "$CORE" "$D/flip-$seed" flip 40 "$seed" || fail "core_damage flip"
done
"$CORE_DAMAGE" "$CORE" "$D/shrink" shrink 64 || fail "core_damage shrink"

A="$(exp a_prefix)$(exp a_number)"
for f in "$D"/*; do
  name=$(basename "$f")
  for cmd in info strings find "info --json"; do
    # shellcheck disable=SC2086
    if [ "$cmd" = find ]; then
      run timeout 30 "$MCXT" find "$f" "$A"
    else
      run timeout 30 "$MCXT" $cmd "$f"
    fi
    case $RC in
      0) [ -s "$WORK/out" ] || fail "$name: $cmd: exit 0 without output" ;;
      1) if [ "$cmd" = "info --json" ]; then
           json_valid "$name: JSON error"; out_has_fixed "{\"error\":\"$f: " "$name: JSON error names the file"
         else
           err_has "$f" "$name: $cmd: the error names the file"
         fi ;;
      124) fail "$name: $cmd: hung (killed after 30 s)" ;;
      *) fail "$name: $cmd: exit $RC (crash or sanitizer?)" ;;
    esac
    pass
    case $name in
      trunc-*)
        # cut inside the data: refused, or analysed with a warning that it is partial
        [ "$RC" -eq 1 ] || [ "${name#trunc-}" -ge "$DATA_END" ] || grep -q 'warning: .*\(truncated\|partial\|damaged\)' "$WORK/err" ||
          fail "$name: $cmd: truncated core without a warning"
        pass ;;
    esac
    [ "$cmd" = "info --json" ] && [ "$RC" -eq 0 ] && json_valid "$name info --json"
  done
done

# what must be refused, is
for m in ehdr-class ehdr-magic ehdr-machine ehdr-type phoff-huge phentsize trunc-1 trunc-63; do
  run "$MCXT" info "$D/$m"; expect_rc 1 "$m must be refused"
done
# what must still work, does (with warnings)
run "$MCXT" info "$D/trunc-$((SIZE / 2))"; expect_rc 0 "half a core"
out_has '^partial: +yes' "half a core is partial"
err_has 'core file is truncated' "truncation explained"
run "$MCXT" info "$D/ntfile-count-huge"; expect_rc 0 "NT_FILE count"
err_has 'NT_FILE note claims' "absurd NT_FILE count explained"
run "$MCXT" info "$D/note-namesz-huge"; expect_rc 0 "damaged note"
err_has 'damaged note' "damaged note reported"
run "$MCXT" strings "$D/shrink" --json; expect_rc 0 "shrunk core"; json_valid "shrunk strings"

# the fuzz target's replay over all of them (no files opened)
run "$FUZZ_IMAGE" "$D"; expect_rc 0 "fuzz_image replay"
out_has "replayed $(find "$D" -type f | wc -l) inputs" "every damaged core replayed"

done_ok
