# seriald: two commands get you going.
#   make run    install what is missing, build (Release), start seriald on 127.0.0.1:50051
#   make test   install what is missing, build, run every test through ctest
# Also: make build (binaries in build/bin), make deps, make format, make clean.
#   make fuzz        build the libFuzzer targets with clang in build-fuzz, make their seed corpora
#                    and fuzz each for FUZZ_SECONDS (300); exits 1 on a crash (fuzz/run.sh)
#   make fuzz-smoke  the same, but replay the seeds and fuzz FUZZ_SMOKE_SECONDS (10) per target
#                    (make test runs it too, as the ctest fuzz_smoke)
#   make soak        build, then load a fresh seriald for SOAK_SECONDS (600; SOAK_WARMUP 120 of
#                    warm-up) with small calls, 100 MiB streams, malformed inputs, cancels and
#                    deadlines; prints the report (JSON in BUILD_DIR/soak.json); exits 1 on a
#                    failed valid call or a leak of descriptors, threads or RSS (tests/bench/soak.cc)

BUILD_DIR ?= build
BUILD_TYPE ?= Release
LISTEN ?= 127.0.0.1:50051
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 10
SOAK_SECONDS ?= 600
SOAK_WARMUP ?= 120
SOAK_ARGS ?=

.PHONY: all deps configure build run test fuzz fuzz-smoke soak format clean

all: build

deps:
	./scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@echo
	@echo "Starting seriald on $(LISTEN) (Ctrl-C stops it). From another terminal:"
	@echo "  $(BUILD_DIR)/bin/serialctl --help"
	@echo "  $(BUILD_DIR)/bin/serialctl --server $(LISTEN) health"
	@echo "  $(BUILD_DIR)/bin/serialctl --server $(LISTEN) convert --to t7-ascii IN.t7 OUT.t7"
	@echo "  /usr/bin/python3 client/python/seriald_client.py --server $(LISTEN) health"
	@echo
	exec $(BUILD_DIR)/bin/seriald --listen $(LISTEN)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

fuzz: deps
	FUZZ_BUILD_DIR=$(FUZZ_BUILD_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) ./fuzz/run.sh fuzz

fuzz-smoke: deps
	FUZZ_BUILD_DIR=$(FUZZ_BUILD_DIR) FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) JOBS=$(JOBS) \
	  ./fuzz/run.sh smoke

soak: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target soak seriald
	$(BUILD_DIR)/bin/soak --duration $(SOAK_SECONDS) --warmup $(SOAK_WARMUP) --stream-mib 100 \
	  --check-leaks --report $(BUILD_DIR)/soak.json $(SOAK_ARGS)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
