# Thin wrapper over CMake. `make` builds into build/ (the daemon is build/foreshard);
# `make test` installs what is missing, builds and runs every test; `make demo` runs the demo.
JOBS ?= 2
BUILD ?= build
TYPE ?= Debug
FUZZ_SECONDS ?= 60

.PHONY: all build deps test unit integration demo asan tsan valgrind valgrind-unit fuzz format format-check clean

all: build

deps:
	@bash tools/deps.sh

$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(TYPE) >/dev/null

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j 1

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

demo: deps
	$(MAKE) build TYPE=Release BUILD=build-release
	bash tools/demo.sh build-release

asan:
	$(MAKE) test BUILD=build-asan TYPE=ASan

# Criterion's forking test runner cannot start under ThreadSanitizer, so the TSan pass runs the
# integration tests: they drive the TSan-built daemon, whose exit status fails a test on any report.
tsan: deps
	$(MAKE) build BUILD=build-tsan TYPE=TSan
	cd build-tsan && ctest --output-on-failure -j 1 -L integration

# The daemon under valgrind through abrupt disconnects of every kind (tools/valgrind.sh).
valgrind: deps
	$(MAKE) build
	bash tools/valgrind.sh $(BUILD)

# Every unit test program under valgrind, for the uninitialised reads ASan does not see.
valgrind-unit: deps
	$(MAKE) build
	bash tools/valgrind_unit.sh $(BUILD)

# libFuzzer targets in tests/fuzz, each for FUZZ_SECONDS on a copy of its seed corpus (clang-14).
fuzz: deps
	bash tools/fuzz.sh $(FUZZ_SECONDS)

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build build-*
