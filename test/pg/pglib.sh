# pglib.sh: throwaway PostgreSQL 15 clusters for the tests and the benchmark
# (sourced, bash).
#
# What it gives a script:
#   pg_need_tools        the server binaries, gcore and (for builds) pg_config,
#                        or a failure naming the packages: never a skip
#   pg_init NAME         initdb a cluster in $WORK/NAME (trust, no fsync)
#   pg_start NAME [-c guc=value ...]
#                        start it on a free port with its unix socket in
#                        $WORK (no TCP), small shared memory (small cores),
#                        no JIT, and a log_line_prefix of "[pid] " that the
#                        log readers below rely on; the port is in PGPORT_<NAME>
#   pg_session S NAME    a long-lived psql session S on cluster NAME, fed
#                        through a fifo, so its backend stays alive and idle
#                        between commands; S_PID is its backend's pid
#   pg_sql S SQL...      run SQL in session S, wait for it; its output in
#                        $WORK/S.last
#   pg_sql1 NAME SQL     a one-shot psql -Atc on cluster NAME, output on stdout
#   pg_child_titled PPID PREFIX
#                        a child process by its title (the standby's startup)
#   pg_log_mark NAME     the current size of NAME's server log (an offset)
#   pg_log_contexts NAME PID OFFSET OUT
#                        wait for the memory-context dump PID writes after
#                        OFFSET (pg_log_backend_memory_contexts) and write its
#                        lines, without the log-line prefix, to OUT
#   pg_gcore PID OUT     a core of PID with gcore (the process keeps running)
#   pg_build_leakext DIR build test/pg/leakext (PGXS) into DIR, copy the .so
#                        to $WORK, where the server can read it; LEAKEXT_SO
#
# Everything lives in one temporary directory, $WORK, owned by the postgres
# user when run as root (PostgreSQL refuses to run as root: the server, psql
# and initdb run through runuser).  An EXIT trap stops every server this
# script started (immediate mode), ends its psql sessions and removes $WORK
# (KEEP_WORK=1 keeps it and says where); a watchdog does the same if the
# script is killed without running its trap.  Each script gets its own directory,
# socket and port, so tests can run in parallel with each other and with
# other clusters on the machine.
#
# Checks follow test/cli/lib.sh: each passes or ends the script with
# "FAIL: ..." and exit 1.
set -u

PG_PACKAGES="postgresql-15 postgresql-server-dev-15 gdb"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# Sanitizer reports must not look like mcxt's own exit codes.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:exitcode=87:halt_on_error=1"

CHECKS=0
PG_CLUSTERS=()			# names of clusters started, for the trap
PG_SESSIONS=()			# names of psql sessions opened, for the trap

fail() {
	echo "FAIL: $*" >&2
	if [ -n "${WORK:-}" ]; then
		if [ -s "$WORK/out" ]; then echo "--- stdout:" >&2; head -c 3000 "$WORK/out" >&2; fi
		if [ -s "$WORK/err" ]; then echo "--- stderr:" >&2; head -c 3000 "$WORK/err" >&2; fi
	fi
	exit 1
}

pass() {
	CHECKS=$((CHECKS + 1))
}

done_ok() {
	echo "ok: $CHECKS checks passed ($(basename "$0"))"
	exit 0
}

# as_pg CMD...: run CMD as the postgres user when we are root, else as us.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$WORK" && runuser -u postgres -- "$@")
	else
		(cd "$WORK" && "$@")
	fi
}

# pg_need_tools [build]: what every PostgreSQL test needs; "build" adds the
# PGXS files for the test extension.
pg_need_tools() {
	local t
	for t in postgres initdb pg_ctl psql pg_basebackup; do
		[ -x "$PG_BIN/$t" ] ||
			fail "$PG_BIN/$t not found: install $PG_PACKAGES (as root: scripts/deps.sh pg; or set PG_BIN)"
	done
	command -v gcore >/dev/null 2>&1 ||
		fail "gcore not found: install gdb (as root: scripts/deps.sh pg)"
	if [ "${1:-}" = build ]; then
		PG_CONFIG=${PG_CONFIG:-$PG_BIN/pg_config}
		[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config || true)
		[ -n "$PG_CONFIG" ] && [ -f "$("$PG_CONFIG" --pgxs 2>/dev/null)" ] &&
			[ -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ] ||
			fail "PGXS not found: install postgresql-server-dev-15 (as root: scripts/deps.sh pg)"
		command -v make >/dev/null && command -v gcc >/dev/null ||
			fail "make and gcc are needed to build the test extension"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 ||
			fail "no postgres user: install postgresql-15 (it creates the user), or run as a non-root user"
	fi
}

pg_cleanup() {
	local rc=$? s n
	set +e
	for s in "${PG_SESSIONS[@]}"; do
		pg_session_close "$s"
	done
	for n in "${PG_CLUSTERS[@]}"; do
		[ -f "$WORK/$n/postmaster.pid" ] &&
			as_pg "$PG_BIN/pg_ctl" -D "$WORK/$n" -m immediate -w stop >/dev/null 2>&1
	done
	if [ -n "${KEEP_WORK:-}" ] || { [ "$rc" -ne 0 ] && [ -n "${KEEP_ON_FAIL:-}" ]; }; then
		echo "kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}

# pg_workdir: make $WORK, owned by postgres when root, readable by it.
pg_workdir() {
	WORK=$(mktemp -d /tmp/mcxt-pg.XXXXXX) || fail "mktemp"
	chmod 755 "$WORK"
	[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$WORK"
	trap pg_cleanup EXIT
	trap 'exit 1' INT TERM
	# A script killed outright (ctest's timeout, SIGKILL) runs no trap: a
	# detached watchdog then stops its servers (SIGQUIT: immediate shutdown)
	# and removes $WORK.  It holds none of our files open, so nothing waits
	# for it; after a normal exit it finds nothing left to do.
	setsid bash -c '
		while kill -0 "$1" 2>/dev/null; do sleep 1; done
		for pm in "$2"/*/postmaster.pid; do
			[ -f "$pm" ] && kill -QUIT "$(head -1 "$pm")" 2>/dev/null
		done
		[ -n "$3" ] || { sleep 2; rm -rf "$2"; }
	' pg-watchdog "$$" "$WORK" "${KEEP_WORK:-}${KEEP_ON_FAIL:-}" </dev/null >/dev/null 2>&1 &
}

pg_init() {
	local name=$1
	as_pg "$PG_BIN/initdb" -D "$WORK/$name" -A trust -U postgres --no-sync \
		>"$WORK/$name.initdb.log" 2>&1 ||
		{ cat "$WORK/$name.initdb.log" >&2; fail "initdb $name"; }
}

# pg_free_port: a port no server on this machine listens on, TCP or unix
# socket; the socket is in $WORK anyway, so a clash could only be with the
# port number's shared-memory key, which the server resolves itself.
pg_free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		[ -e "$WORK/.s.PGSQL.$p" ] && continue
		ls /tmp/.s.PGSQL.$p /var/run/postgresql/.s.PGSQL.$p >/dev/null 2>&1 && continue
		echo "$p"
		return 0
	done
	fail "no free port found"
}

# pg_start NAME [OPTIONS for postgres...]
pg_start() {
	local name=$1 port
	shift
	port=$(pg_free_port)
	printf -v "PGPORT_$name" '%s' "$port"
	# a name is started (and stopped by the trap) from here on
	PG_CLUSTERS+=("$name")
	as_pg "$PG_BIN/pg_ctl" -D "$WORK/$name" -l "$WORK/$name.log" -w -t 60 \
		-o "-p $port -c listen_addresses='' -c unix_socket_directories='$WORK' \
		    -c shared_buffers=16MB -c jit=off -c fsync=off -c autovacuum=off \
		    -c log_line_prefix='[%p] ' -c logging_collector=off $*" \
		start >"$WORK/$name.pg_ctl.log" 2>&1 ||
		{ cat "$WORK/$name.pg_ctl.log" "$WORK/$name.log" >&2; fail "pg_ctl start $name"; }
}

pg_port() {
	local v="PGPORT_$1"
	printf '%s' "${!v}"
}

# pg_postmaster_pid NAME
pg_postmaster_pid() {
	head -1 "$WORK/$1/postmaster.pid"
}

# pg_child_titled PPID PREFIX: the pid of a child of PPID whose process
# title starts with PREFIX (from /proc: procps may not be installed).
pg_child_titled() {
	local d pid st title
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		read -r st <"$d/stat" 2>/dev/null || continue
		st=${st##*) }			# after "pid (comm) ": state, then ppid
		st=${st#* }
		[ "${st%% *}" = "$1" ] || continue
		title=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
		case "$title" in
		"$2"*) echo "$pid"; return 0 ;;
		esac
	done
	return 0
}

pg_sql1() {
	local name=$1
	shift
	as_pg "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$WORK" -p "$(pg_port "$name")" \
		-U postgres -d postgres -c "$*"
}

# pg_session S NAME: open session S on cluster NAME.
pg_session() {
	local s=$1 name=$2 fd
	mkfifo "$WORK/$s.in" || fail "mkfifo"
	[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$WORK/$s.in"
	# read-write open: never blocks, and psql sees no EOF until we close it
	exec {fd}<>"$WORK/$s.in"
	printf -v "PGFD_$s" '%s' "$fd"
	PG_SESSIONS+=("$s")
	# psql must not inherit our write end, or it would never see EOF
	: >"$WORK/$s.out"
	as_pg "$PG_BIN/psql" -X -A -t -q -h "$WORK" -p "$(pg_port "$name")" -U postgres -d postgres \
		<"$WORK/$s.in" >>"$WORK/$s.out" 2>&1 {fd}>&- &
	printf -v "PGPSQL_$s" '%s' "$!"
	printf -v "PGSEQ_$s" '%s' 0
	pg_sql "$s" "SELECT 'BACKEND_PID=' || pg_backend_pid();"
	local pid
	pid=$(sed -n 's/^BACKEND_PID=\([0-9][0-9]*\)$/\1/p' "$WORK/$s.last")
	[ -n "$pid" ] || fail "session $s: no backend pid: $(cat "$WORK/$s.out")"
	printf -v "${s}_PID" '%s' "$pid"
}

pg_session_close() {
	local s=$1 fd v pv
	v="PGFD_$s"; fd=${!v:-}
	pv="PGPSQL_$s"
	[ -n "$fd" ] || return 0
	exec {fd}>&-
	printf -v "PGFD_$s" '%s' ""
	# psql exits on EOF; do not leave it behind if the server is gone
	for _ in $(seq 1 50); do
		kill -0 "${!pv}" 2>/dev/null || break
		sleep 0.05
	done
	kill "${!pv}" 2>/dev/null || true
	wait "${!pv}" 2>/dev/null || true
	return 0
}

# pg_sql S SQL...: run the SQL (psql input, may be several lines) in session
# S and wait until psql has done it; what it printed is in $WORK/S.last.
# SQL errors end the test.
pg_sql() {
	local s=$1 fd v seq before
	shift
	v="PGFD_$s"; fd=${!v}
	v="PGSEQ_$s"; seq=$((${!v} + 1))
	printf -v "PGSEQ_$s" '%s' "$seq"
	before=$(stat -c %s "$WORK/$s.out")
	printf '%s\n\\echo @@DONE %s@@\n' "$*" "$seq" >&"$fd"
	for _ in $(seq 1 3000); do
		if grep -q -x "@@DONE $seq@@" "$WORK/$s.out"; then
			tail -c +"$((before + 1))" "$WORK/$s.out" | grep -v -x "@@DONE $seq@@" >"$WORK/$s.last"
			if grep -q -E '^(psql:.*)?(ERROR|FATAL|PANIC):' "$WORK/$s.last"; then
				fail "session $s: SQL failed: $(head -c 2000 "$WORK/$s.last")"
			fi
			return 0
		fi
		v="PGPSQL_$s"
		kill -0 "${!v}" 2>/dev/null || fail "session $s: psql exited: $(tail -c 2000 "$WORK/$s.out")"
		sleep 0.02
	done
	fail "session $s: no answer in 60 s to: $(printf '%s' "$*" | head -c 300)"
}

pg_log_mark() {
	stat -c %s "$WORK/$1.log"
}

# pg_log_contexts NAME PID OFFSET OUT: the dump PID logs after OFFSET, from
# its "logging memory contexts of PID" line to its "Grand total" line, as the
# lines after "LOG:  ".  The server log is shared by every process of the
# cluster, so only lines with PID's prefix are kept; lines without a prefix
# (continuations of other processes' multi-line messages) are dropped.
pg_log_contexts() {
	local name=$1 pid=$2 off=$3 out=$4 log="$WORK/$1.log"
	for _ in $(seq 1 1500); do
		if tail -c +"$((off + 1))" "$log" | grep -q -F "[$pid] LOG:  Grand total: "; then
			tail -c +"$((off + 1))" "$log" | awk -v p="[$pid] LOG:  " '
				index($0, p) != 1 { next }
				{ line = substr($0, length(p) + 1) }
				line ~ /^logging memory contexts of PID / { on = 1; n = 0; next }
				on { buf[++n] = line }
				on && line ~ /^Grand total: / { for (i = 1; i <= n; i++) print buf[i]; exit }
			' >"$out"
			[ -s "$out" ] || fail "no memory-context dump of $pid in $log after offset $off"
			return 0
		fi
		sleep 0.02
	done
	fail "pid $pid logged no memory contexts in 30 s ($log)"
}

# pg_gcore PID OUT
pg_gcore() {
	local pid=$1 out=$2
	gcore -o "$WORK/gcore" "$pid" >"$WORK/gcore.log" 2>&1 ||
		{ cat "$WORK/gcore.log" >&2; fail "gcore $pid failed"; }
	mv "$WORK/gcore.$pid" "$out" || fail "gcore wrote no core for $pid"
}

# pg_build_leakext DIR: the test extension, built with PGXS as a VPATH build
# in DIR (the build tree), then copied into $WORK so that the server (the
# postgres user) can load it by absolute path.  Several tests may build at
# once: a lock serialises them, make keeps it incremental.
pg_build_leakext() {
	local dir=$1 src
	src=$(cd "$(dirname "${BASH_SOURCE[0]}")/leakext" && pwd)
	mkdir -p "$dir" || fail "mkdir $dir"
	(
		flock 9
		make -C "$dir" -f "$src/Makefile" PG_CONFIG="$PG_CONFIG" with_llvm=no \
			>"$dir/build.log" 2>&1
	) 9>"$dir/.lock" ||
		{ cat "$dir/build.log" >&2; fail "building the test extension with PGXS"; }
	cp "$dir/mcxt_leak.so" "$WORK/mcxt_leak.so" || fail "no mcxt_leak.so"
	chmod 755 "$WORK/mcxt_leak.so"
	LEAKEXT_SO=$WORK/mcxt_leak.so
}

# pg_create_leak_functions S: the extension's SQL functions, in session S.
pg_create_leak_functions() {
	pg_sql "$1" "CREATE FUNCTION mcxt_leak_base(int) RETURNS int
	AS '$LEAKEXT_SO', 'mcxt_leak_base' LANGUAGE C STRICT;
CREATE FUNCTION mcxt_leak_wal(int) RETURNS text
	AS '$LEAKEXT_SO', 'mcxt_leak_wal' LANGUAGE C STRICT;"
}

# run CMD...: stdout in $WORK/out, stderr in $WORK/err, exit code in $RC;
# a sanitizer report fails the test whatever the exit code.
run() {
	"$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	if grep -q -e 'AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' "$WORK/err"; then
		fail "sanitizer report from: $*"
	fi
}

expect_rc() {
	[ "$RC" -eq "$1" ] || fail "expected exit $1, got $RC from: ${*:2}"
	pass
}

err_lacks() {
	if grep -q -E -e "$1" "$WORK/err"; then fail "stderr has /$1/ ($2)"; fi
	pass
}

# same_lines EXPECTED ACTUAL WHAT: the two files hold the same lines in the
# same order; the diff is shown otherwise.
same_lines() {
	diff -u "$1" "$2" >"$WORK/diff" ||
		fail "$3: $(wc -l <"$1") lines expected (PostgreSQL's), $(wc -l <"$2") from mcxt; diff:
$(head -c 6000 "$WORK/diff")"
	pass
}
