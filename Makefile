# The two commands a fresh clone needs:
#   make demo    build, run the leaking example, take its core, diagnose it
#   make check   build and run every test (release, ASan+UBSan, valgrind)
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

.PHONY: all build check check-release check-sanitize check-valgrind demo install \
        bench bench-deps deps clean

all: build

deps:
	@scripts/deps.sh check

$(REL)/CMakeCache.txt:
	$(CMAKE) -S . -B $(REL) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: $(REL)/CMakeCache.txt
	$(CMAKE) --build $(REL) -j $(JOBS)

check: deps
	$(MAKE) check-release
	$(MAKE) check-sanitize
	$(MAKE) check-valgrind
	@echo "make check: release, sanitizer and valgrind runs all passed"

check-release: build
	cd $(REL) && $(CTEST) --output-on-failure -j $(JOBS)

check-sanitize:
	$(CMAKE) -S . -B $(SAN) -DCMAKE_BUILD_TYPE=Debug -DMCXT_SANITIZE=ON -DMCXT_BUILD_EXAMPLES=OFF
	$(CMAKE) --build $(SAN) -j $(JOBS)
	cd $(SAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(CTEST) --output-on-failure -j $(JOBS) -LE nosanitize

check-valgrind:
	$(CMAKE) -S . -B $(VG) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCXT_BUILD_EXAMPLES=OFF \
	  "-DMCXT_TEST_WRAPPER=$(VALGRIND)"
	$(CMAKE) --build $(VG) -j $(JOBS)
	cd $(VG) && $(CTEST) --output-on-failure -j $(JOBS) -LE "nowrap|novalgrind"

# The prefix is baked into mcxt.pc at configure time, so configure with it.
install:
	$(CMAKE) -S . -B $(REL) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	$(CMAKE) --build $(REL) -j $(JOBS)
	$(CMAKE) --install $(REL)

demo: build
	@if [ -x scripts/demo.sh ]; then scripts/demo.sh $(REL); \
	 else $(REL)/examples/redo_leak; fi

bench-deps:
	@scripts/deps.sh bench

bench: build
	@if [ -x bench/run.sh ]; then bench/run.sh $(REL); \
	 else echo "bench: not built yet (bench/run.sh missing)"; exit 1; fi

clean:
	rm -rf $(BUILD)
