#!/usr/bin/env bash
# Usage errors exit 2, unreadable input exits 1 with a message naming what
# and where, help and version exit 0: for the tool and every command.
# Needs no gcore.
. "$(dirname "$0")/lib.sh"

run "$MCXT"; expect_rc 2 mcxt; err_has 'Usage: mcxt COMMAND' "usage on stderr"
run "$MCXT" --help; expect_rc 0 --help
for c in info strings find help; do out_has "^  $c " "--help lists $c"; done
run "$MCXT" --version; expect_rc 0 --version; out_has '^mcxt [0-9]+\.[0-9]+' "version line"
run "$MCXT" bogus; expect_rc 2 bogus; err_has "unknown command 'bogus'" "names the command"
run "$MCXT" -x; expect_rc 2 -x
for c in info strings find; do
  run "$MCXT" "$c" --help; expect_rc 0 "$c --help"; out_has "^Usage: mcxt $c" "$c help"
  run "$MCXT" help "$c"; expect_rc 0 "help $c"; out_has "^Usage: mcxt $c" "help $c"
  run "$MCXT" "$c"; expect_rc 2 "$c without target"; err_has 'no TARGET' "$c: says what is missing"
  run "$MCXT" "$c" /nonexistent --bogus-option; expect_rc 2 "$c --bogus-option"
done
run "$MCXT" help nosuch; expect_rc 2 "help nosuch"

# option values
echo x >"$WORK/notacore"
run "$MCXT" strings "$WORK/notacore" --min-len 0; expect_rc 2 "--min-len 0"
run "$MCXT" strings "$WORK/notacore" --min-len abc; expect_rc 2 "--min-len abc"
run "$MCXT" strings "$WORK/notacore" --top; expect_rc 2 "--top without value"
run "$MCXT" strings "$WORK/notacore" --top=-3; expect_rc 2 "--top=-3"
run "$MCXT" find "$WORK/notacore"; expect_rc 2 "find without pattern"; err_has 'no PATTERN' "find: says what is missing"
run "$MCXT" find "$WORK/notacore" 0x123; expect_rc 2 "odd hex"
run "$MCXT" find "$WORK/notacore" --hex zz; expect_rc 2 "--hex zz"
run "$MCXT" find "$WORK/notacore" --u64 nope; expect_rc 2 "--u64 nope"
run "$MCXT" find "$WORK/notacore" a b; expect_rc 2 "two patterns"
run "$MCXT" info --pid abc; expect_rc 2 "--pid abc"
run "$MCXT" info --pid 1 "$WORK/notacore"; expect_rc 2 "two targets"
run "$MCXT" info "$WORK/notacore" "$WORK/notacore"; expect_rc 2 "two cores"

# unreadable or not understood input: exit 1, message with the path
run "$MCXT" info "$WORK/nonexistent"; expect_rc 1 missing; err_has "$WORK/nonexistent: cannot open" "names the file"
run "$MCXT" info "$WORK/notacore"; expect_rc 1 "not ELF"; err_has "notacore: .*(shorter than an ELF header|not an ELF)" "says why"
head -c 4096 /dev/urandom >"$WORK/random"
run "$MCXT" strings "$WORK/random"; expect_rc 1 random; err_has "random: " "names the file"
: >"$WORK/empty"
run "$MCXT" info "$WORK/empty"; expect_rc 1 empty; err_has "empty" "says empty"
run "$MCXT" info "$WORK"; expect_rc 1 directory; err_has "not a regular file" "directory"
run "$MCXT" find "$CLI_TARGET" abc; expect_rc 1 "executable, not a core"; err_has "not a core" "says not a core"
run "$MCXT" info --pid 2147483646; expect_rc 1 "no such pid"; err_has "no such process" "names the problem"

# --json errors are JSON on stdout
run "$MCXT" info "$WORK/nonexistent" --json; expect_rc 1 "json error"
json_valid "error object"; out_has '^\{"error":".*nonexistent' "error names the file"
run "$MCXT" info --json --bogus; expect_rc 2 "json usage error"; json_valid "usage error object"
run "$MCXT" strings --min-len 0 --json; expect_rc 2 "json usage error before --json"; json_valid "early usage error object"

done_ok
