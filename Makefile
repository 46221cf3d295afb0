# Two commands for a newcomer: `make demo` and `make test`. Both install missing Debian packages.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# the build's own make runs are not announced ("Entering directory ...")
MAKEFLAGS += --no-print-directory
CMAKE_FLAGS ?= -DTK_WERROR=ON
BUILD ?= build

.PHONY: all deps build demo async-flow calibrate-python test test-fast test-asan test-tsan bench install clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The build is quiet here: its output goes to $(BUILD)/build.log, shown only when it fails.
demo: deps
	@mkdir -p $(BUILD)
	@echo "make demo: building in $(BUILD)/ (log: $(BUILD)/build.log)"
	@{ cmake -S . -B $(BUILD) $(CMAKE_FLAGS) && cmake --build $(BUILD) -j$(JOBS); } \
	    >$(BUILD)/build.log 2>&1 || { cat $(BUILD)/build.log; \
	    echo "make demo: the build failed (the log above is in $(BUILD)/build.log)"; exit 1; }
	@echo "make demo: the gateway example under \`timekeeper report\` (4 s)"
	@echo
	@sh examples/gateway/demo.sh $(BUILD)/bin

# The Python client of an asynchronous C library, and where the time of a request goes.
async-flow: build
	@sh examples/async-flow/run.sh --build $(BUILD)

event-pipeline: build
	@sh examples/event-pipeline/run.sh $(BUILD)

calibrate-python: build
	@PYTHONPATH=$(BUILD)/python /usr/bin/python3 -m timekeeper.calibrate

# The whole suite: the normal build, then ASan+UBSan, then TSan for the concurrency tests.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	@$(MAKE) --no-print-directory test-asan test-tsan

test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -LE slow

test-asan: deps
	@cmake -S . -B build-asan -DTK_WERROR=ON -DTK_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-asan -j$(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ctest --output-on-failure -j$(JOBS) -L 'unit|integration|concurrency' -LE 'python|slow'

test-tsan: deps
	@cmake -S . -B build-tsan -DTK_WERROR=ON -DTK_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-tsan -j$(JOBS)
	@cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j$(JOBS) -L concurrency -LE python

bench: build
	@sh bench/run.sh $(BUILD)/bin

install: build
	@cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf build build-asan build-tsan
