#!/usr/bin/env bash
# deps.sh GROUP...
#   Make sure the Debian packages a group of tests needs are installed.  As
#   root with apt-get, install what is missing; otherwise stop, naming the
#   packages, so a missing dependency is never a silent skip.
#
#   Groups: build (compiler, cmake, pkg-config), check (build + gdb +
#   valgrind + clang for the fuzzers), bench (the peer allocators), pg (the
#   PostgreSQL 15 server, its PGXS files for test/pg's extension, and gdb for
#   gcore: test/pg runs a real server), fuzz (clang).  `make check` and
#   .ci/run ask for check and pg.
set -euo pipefail

pkgs_for() {
  case "$1" in
    build) echo "gcc make cmake pkg-config" ;;
    check) echo "gcc make cmake pkg-config gdb valgrind clang libclang-rt-14-dev" ;;
    bench) echo "valgrind gnuplot-nox libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev libtalloc-dev libapr1-dev libpg-query-dev" ;;
    pg)    echo "postgresql-15 postgresql-server-dev-15 gdb gcc make" ;;
    fuzz)  echo "clang libclang-rt-14-dev" ;;
    *) echo "deps.sh: unknown group '$1'" >&2; exit 2 ;;
  esac
}

missing=()
for group in "$@"; do
  for p in $(pkgs_for "$group"); do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # postgresql-common would otherwise create and start a cluster on 5432.
  if printf '%s\n' "${missing[@]}" | grep -q '^postgresql-15$'; then
    mkdir -p /etc/postgresql-common
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf
  fi
  stamp=/var/lib/apt/periodic/mcxt-update-stamp
  if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +360 2>/dev/null)" ]; then
    apt-get update -qq
    mkdir -p "$(dirname "$stamp")" && touch "$stamp"
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

echo "deps.sh: these packages are needed and not installed: ${missing[*]}" >&2
echo "deps.sh: install them (as root: apt-get install ${missing[*]}) and run again." >&2
exit 1
