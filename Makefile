# Convenience entry points around CMake/CTest. The README's two commands are `make demo` and
# `make test`; .ci/run calls `make test` and then `make sanitize` and `make fuzz-smoke`.
#
# Each target installs what is missing first (scripts/deps.sh, Debian 12, needs root).

BUILD        ?= build
BUILD_ASAN   ?= build-asan
BUILD_FUZZ   ?= build-fuzz
JOBS         ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 20
CTEST_ARGS   ?=

.PHONY: all deps build demo test sanitize fuzz-smoke clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTORIDE_WERROR=ON
	cmake --build $(BUILD) -j $(JOBS)

# The main job: start `toride lab` (emulated devices on loopback, no root needed), survey it with
# the default credential list into SQLite, print the report, stop the lab.
demo: build
	bash scripts/demo.sh $(BUILD)/toride

# All tests: unit, fuzz-corpus replay, and the network-namespace integration tests.
# -j: unit tests and corpus replays run side by side; the netns tests are RUN_SERIAL and run alone.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# The same tests on an AddressSanitizer + UndefinedBehaviorSanitizer build.
sanitize: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DTORIDE_WERROR=ON -DTORIDE_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# Every libFuzzer target for FUZZ_SECONDS seconds from its seed corpus (clang).
fuzz-smoke: deps
	CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DTORIDE_FUZZ=ON -DTORIDE_WERROR=ON
	cmake --build $(BUILD_FUZZ) -j $(JOBS)
	bash scripts/fuzz-smoke.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
