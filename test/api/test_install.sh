#!/bin/sh
# test_install.sh SRC WORKDIR CMAKE CC PG_STYLE_C
#
# Configure, build and install this source tree into a temporary prefix,
# then build test/api/pg_style.c (PostgreSQL spellings, <mcxt/palloc.h>
# only) with `pkg-config --cflags --libs mcxt` against the installed
# library, shared (once with an rpath, once with LD_LIBRARY_PATH) and
# static, run it and check its output.  Also checks that the shared library
# exports nothing without the mcxt prefix.
set -u
SRC=$1 W=$2 CMAKE=$3 CC=$4 PROG=$5
PREFIX=$W/prefix
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

rm -rf "$W" && mkdir -p "$W" || exit 1
if ! "$CMAKE" -S "$SRC" -B "$W/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$CC" \
	-DCMAKE_INSTALL_PREFIX="$PREFIX" -DMCXT_BUILD_TESTS=OFF -DMCXT_BUILD_TOOLS=OFF \
	-DMCXT_BUILD_EXAMPLES=OFF -DMCXT_SANITIZE=OFF >"$W/configure.log" 2>&1; then
	cat "$W/configure.log"; echo "FAIL: configure"; exit 1
fi
if ! "$CMAKE" --build "$W/build" -j 2 --target mcxt_static mcxt_shared >"$W/build.log" 2>&1; then
	cat "$W/build.log"; echo "FAIL: build"; exit 1
fi
# install only what the library component installs (bench or tool targets
# of the same tree are not built here)
if ! "$CMAKE" --install "$W/build" >"$W/install.log" 2>&1; then
	# a full install may want targets we did not build; install the library's directory alone
	if ! "$CMAKE" --install "$W/build/src" >"$W/install.log" 2>&1; then
		cat "$W/install.log"; echo "FAIL: install"; exit 1
	fi
fi
ok "installed into $PREFIX"

for f in include/mcxt.h include/mcxt/palloc.h; do
	[ -f "$PREFIX/$f" ] && ok "$f" || fail "$f not installed"
done
PC=$(find "$PREFIX" -name mcxt.pc | head -n 1)
[ -n "$PC" ] || { echo "FAIL: mcxt.pc not installed"; exit 1; }
LIBDIR=$(dirname "$(dirname "$PC")")
for f in libmcxt.a libmcxt.so; do
	[ -e "$LIBDIR/$f" ] && ok "$f" || fail "$LIBDIR/$f not installed"
done

export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
CFLAGS=$(pkg-config --cflags mcxt) || { echo "FAIL: pkg-config --cflags"; exit 1; }
LIBS=$(pkg-config --libs mcxt) || { echo "FAIL: pkg-config --libs"; exit 1; }
LDIRS=$(pkg-config --libs-only-L mcxt)
ok "pkg-config: $CFLAGS $LIBS"
case "$CFLAGS" in *"$PREFIX"*) ;; *) fail "pkg-config --cflags does not point into the prefix: $CFLAGS" ;; esac

WARN="-std=c11 -Wall -Wextra -Werror"
"$CC" $WARN $CFLAGS "$PROG" -o "$W/pg_shared" $LIBS -Wl,-rpath,"$LIBDIR" || fail "shared build (rpath)"
"$CC" $WARN $CFLAGS "$PROG" -o "$W/pg_shared_norpath" $LIBS || fail "shared build"
"$CC" $WARN $CFLAGS "$PROG" -o "$W/pg_static" $LDIRS -l:libmcxt.a -lpthread || fail "static build"

if command -v readelf >/dev/null 2>&1; then
	readelf -d "$W/pg_shared" | grep -q 'NEEDED.*libmcxt' && ok "pg_shared needs libmcxt.so" \
		|| fail "pg_shared is not linked to libmcxt.so"
	readelf -d "$W/pg_static" | grep -q 'NEEDED.*libmcxt' && fail "pg_static needs libmcxt.so" \
		|| ok "pg_static has libmcxt built in"
fi

# what PostgreSQL's memory contexts would print
cat >"$W/expected" <<'EXP'
row context empty after reset: yes
names: row-0,row-7,row-14,row-21,row-28,row-35,row-42,row-49,row-56,row-63
pnstrdup: memory
describe: t has 10 tuples
tuples owned by QueryContext: yes
space of palloc(100): 136
space of palloc(0): 16
space of grown array: 20008
huge allocation: NULL
parent of RowContext: QueryContext
allocated (recursive) >= own: yes
callback: QueryContext is going away
callbacks run: 1
current is top: yes
EXP

check_run() {
	name=$1; shift
	"$@" >"$W/$name.out" 2>"$W/$name.err"
	st=$?
	if [ "$st" -ne 0 ]; then
		fail "$name exited with status $st"; cat "$W/$name.err"; return
	fi
	# statistics: MemoryContextStats on stderr, StatsDetail on stdout
	for stream in out err; do
		f="$W/$name.$stream"
		grep -Eq '^QueryContext: [0-9]+ total in [0-9]+ blocks; [0-9]+ free \([0-9]+ chunks\); [0-9]+ used: SELECT \* FROM t$' "$f" \
			|| fail "$name: no QueryContext stats line on std$stream"
		grep -Eq '^  RowContext: [0-9]+ total in 1 blocks; [0-9]+ free \(0 chunks\); [0-9]+ used$' "$f" \
			|| fail "$name: no RowContext stats line on std$stream"
		grep -Eq '^Grand total: [0-9]+ bytes in [0-9]+ blocks; [0-9]+ free \([0-9]+ chunks\); [0-9]+ used$' "$f" \
			|| fail "$name: no Grand total on std$stream"
	done
	grep -Ev '^(QueryContext|  RowContext|Grand total): ' "$W/$name.out" >"$W/$name.rest"
	if diff -u "$W/expected" "$W/$name.rest"; then ok "$name output"; else fail "$name output differs"; fi
	[ -s "$W/$name.err" ] && [ "$(grep -Evc '^(QueryContext|  RowContext|Grand total): ' "$W/$name.err")" -ne 0 ] \
		&& fail "$name: unexpected stderr: $(cat "$W/$name.err")"
	return 0
}
check_run pg_shared "$W/pg_shared"
check_run pg_shared_ldpath env LD_LIBRARY_PATH="$LIBDIR" "$W/pg_shared_norpath"
check_run pg_static "$W/pg_static"

# no unprefixed exports (a program that also links PostgreSQL must not collide)
if command -v nm >/dev/null 2>&1; then
	bad=$(nm -D --defined-only "$LIBDIR/libmcxt.so" | awk '{print $3}' | grep -v '^mcxt' | grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$')
	[ -z "$bad" ] && ok "libmcxt.so exports only mcxt* symbols" || fail "unprefixed exports: $bad"
	bad=$(nm -g --defined-only "$LIBDIR/libmcxt.a" 2>/dev/null | awk 'NF==3 {print $3}' | grep -v '^mcxt')
	[ -z "$bad" ] && ok "libmcxt.a defines only mcxt* globals" || fail "unprefixed globals in libmcxt.a: $bad"
fi

echo "$fails failed"
[ "$fails" -eq 0 ]
