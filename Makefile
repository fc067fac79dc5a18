# Thin wrapper around CMake + ctest. `make test` and `make demo` work on a fresh Debian 12.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CTEST_ARGS ?= --output-on-failure -j$(JOBS)
FUZZ_SECONDS ?= 10

.PHONY: all deps build build-asan build-fuzz test test-normal test-asan test-fuzz demo format bench clean

all: build

deps:
	@tools/install-deps.sh build

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

build-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRTC_SANITIZE=ON -DRTC_BENCH=OFF >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)

build-fuzz:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRTC_SANITIZE=ON -DRTC_FUZZ=ON \
	  -DRTC_BENCH=OFF -DRTC_FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link -gline-tables-only" >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $$(cd fuzz && ls *.c 2>/dev/null | sed 's/^/fuzz_/;s/\.c$$//' | tr '\n' ' ')

# The whole suite twice (normal, then ASan+UBSan), then every fuzz target briefly.
test:
	@tools/install-deps.sh test
	@tools/run-tests.sh "$(BUILD)" "$(ASAN_BUILD)" "$(FUZZ_BUILD)" "$(JOBS)" "$(FUZZ_SECONDS)"

test-normal: build
	cd $(BUILD) && ctest $(CTEST_ARGS)

test-asan: build-asan
	cd $(ASAN_BUILD) && ctest $(CTEST_ARGS) -LE fuzz

test-fuzz: build-fuzz
	cd $(FUZZ_BUILD) && ctest $(CTEST_ARGS) -L fuzz

demo:
	@tools/install-deps.sh demo
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	@tools/demo.sh $(BUILD)

bench: build
	@for b in $(BUILD)/bench_*; do echo "== $$b"; $$b || exit 1; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
