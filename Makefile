# seriald: two commands get you going.
#   make run    install what is missing, build (Release), start seriald on 127.0.0.1:50051
#   make test   install what is missing, build, run every test through ctest
# Also: make build (binaries in build/bin), make deps, make format, make clean.

BUILD_DIR ?= build
BUILD_TYPE ?= Release
LISTEN ?= 127.0.0.1:50051
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=

.PHONY: all deps configure build run test format clean

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

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
