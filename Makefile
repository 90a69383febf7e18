# The two commands a fresh clone needs:
#   make demo    build, run the leaking example, take its core, diagnose it
#   make check   build and run every test: release (including the tests that
#                read a real PostgreSQL 15 server's cores), ASan+UBSan, valgrind with
#                mempool annotations, a level-3 checking build, and the fuzzers
#                for a bounded time
# Everything is built by CMake in build directories under build/.

BUILD    ?= build
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX   ?= /usr/local
CMAKE    ?= cmake
CTEST    ?= ctest
VALGRIND ?= valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --track-origins=yes --quiet

REL  = $(BUILD)/release
SAN  = $(BUILD)/sanitize
VG   = $(BUILD)/valgrind
DBG  = $(BUILD)/debug3
FUZZ_SECONDS ?= 60

.PHONY: all build check check-release check-sanitize check-valgrind check-debug check-pg fuzz \
        demo install bench bench-deps bench-forensics bench-pg deps clean

all: build

# Everything `make check` needs, PostgreSQL 15 included (test/pg runs a real
# server): installed as root through apt-get, otherwise named, never skipped.
deps:
	@scripts/deps.sh check pg

$(REL)/CMakeCache.txt:
	$(CMAKE) -S . -B $(REL) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: $(REL)/CMakeCache.txt
	$(CMAKE) --build $(REL) -j $(JOBS)

check: deps
	$(MAKE) check-release
	$(MAKE) check-sanitize
	$(MAKE) check-valgrind
	$(MAKE) check-debug
	$(MAKE) fuzz
	@echo "make check: release, sanitizer, valgrind, checking-build and fuzz runs all passed"

check-release: build
	cd $(REL) && $(CTEST) --output-on-failure -j $(JOBS)

# Only the tests against a real PostgreSQL 15 server (part of check-release).
check-pg: build
	@scripts/deps.sh pg
	cd $(REL) && $(CTEST) --output-on-failure -j $(JOBS) -L '^pg$$'

check-sanitize:
	$(CMAKE) -S . -B $(SAN) -DCMAKE_BUILD_TYPE=Debug -DMCXT_SANITIZE=ON -DMCXT_BUILD_EXAMPLES=OFF
	$(CMAKE) --build $(SAN) -j $(JOBS)
	cd $(SAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(CTEST) --output-on-failure -j $(JOBS) -LE nosanitize

# The library itself is built with MCXT_VALGRIND here, so memcheck sees
# inside contexts, not only malloc'd blocks.
check-valgrind:
	$(CMAKE) -S . -B $(VG) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCXT_BUILD_EXAMPLES=OFF \
	  -DMCXT_VALGRIND=ON "-DMCXT_TEST_WRAPPER=$(VALGRIND)"
	$(CMAKE) --build $(VG) -j $(JOBS)
	cd $(VG) && $(CTEST) --output-on-failure -j $(JOBS) -LE "nowrap|novalgrind"

# The prefix is baked into mcxt.pc at configure time, so configure with it.
# Every libmcxt test against a level-3 checking build of the library (but
# the 136-bytes-per-chunk memory test: checking builds add a sentinel byte to
# every request, so that property holds only for the plain layout, which
# check-release tests).
check-debug:
	$(CMAKE) -S . -B $(DBG) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCXT_DEBUG=3 \
	  -DMCXT_BUILD_EXAMPLES=OFF -DMCXT_BUILD_TOOLS=OFF
	$(CMAKE) --build $(DBG) -j $(JOBS)
	cd $(DBG) && $(CTEST) --output-on-failure -j $(JOBS) -R '^(api|unit|safety|fuzz)\.' -E '^unit.test_memory$$'

fuzz:
	@scripts/deps.sh fuzz
	scripts/fuzz.sh $(FUZZ_SECONDS)

install:
	$(CMAKE) -S . -B $(REL) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	$(CMAKE) --build $(REL) -j $(JOBS)
	$(CMAKE) --install $(REL)

demo: build
	scripts/demo.sh $(REL)

bench-deps:
	@scripts/deps.sh bench

bench: build
	bench/run.sh $(REL)

# mcxt on a ~2 GB core of the demo, next to strings | sort | uniq -c (a few minutes)
bench-forensics: build
	bench/forensics.sh $(REL)

# mcxt on a ~1 GB core of a real PostgreSQL 15 backend (test/pg/leakext)
bench-pg: build
	@scripts/deps.sh pg
	bench/pg_forensics.sh $(REL)

clean:
	rm -rf $(BUILD)
