# Thin wrapper over CMake for the README's commands. Every target that needs
# packages first runs scripts/install-deps.sh (a no-op once they are there).
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
FUZZ_SECONDS ?= 30

.PHONY: all deps build run test unit-test integration-test asan-test \
        tsan-test fuzz clean docs crash-test

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j$(JOBS)

# Starts a server in the foreground with the built-in defaults
# (gRPC 127.0.0.1:50051, health/metrics 127.0.0.1:9090, data in ./data).
run: build
	./$(BUILD)/src/server/amaters-server start --foreground

unit-test: build
	ctest --test-dir $(BUILD) -L unit --output-on-failure -j$(JOBS)

integration-test: build
	ctest --test-dir $(BUILD) -L integration --output-on-failure

# All tests: unit (cmocka) + integration (pytest against the real binary).
test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan-test: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	    -DAMATERS_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir $(ASAN_BUILD) -L unit \
	    --output-on-failure -j$(JOBS)

# Unit tests under ThreadSanitizer (not part of `make test`: ~12 min here,
# most of it the FHE tests). tests/tsan.supp drops reports that involve
# Debian's uninstrumented gRPC, abseil, OpenSSL and RocksDB.
tsan-test: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DAMATERS_TSAN=ON $(CMAKE_ARGS)
	cmake --build $(TSAN_BUILD) -j$(JOBS)
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp second_deadlock_stack=1" \
	    ctest --test-dir $(TSAN_BUILD) -L unit --output-on-failure -j$(JOBS)

# libFuzzer harnesses, each run for FUZZ_SECONDS (not part of `make test`).
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	    -DAMATERS_FUZZ=ON $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	bash scripts/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Durability: 20 kill -9 rounds per sync mode with 32 writers, batches
# killed mid-way, 1,000,000 keys across a graceful restart, and a 1 GiB
# stream whose server RSS growth must stay under 64 MiB.
crash-test: build
	AMATERS_CRASH_ROUNDS=20 AMATERS_RESTART_KEYS=1000000 AMATERS_STREAM_MB=1024 \
	AMATERS_SERVER_BIN=$(CURDIR)/$(BUILD)/src/server/amaters-server \
	AMATERS_PY_GEN=$(CURDIR)/$(BUILD)/tests/integration/gen \
	AMATERS_SHARED_DIR=$(CURDIR)/../shared \
	/usr/bin/python3 -m pytest -q -s -p no:cacheprovider \
	    tests/integration/test_durability.py

docs: build
	./$(BUILD)/src/config/amaters-config-docs > docs/configuration.md

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)

# Standard benchmark set (bench/run.sh): starts a server from $(BUILD) on
# free loopback ports (lsm engine, sync always), runs amaters-bench,
# engine-bench and, when etcd is installed, the loadgen against etcd;
# writes bench/results/<date>.md and prints it. Not part of `make test`.
.PHONY: bench
bench: build
	bash bench/run.sh $(BUILD)

# FHE acceptance run (not part of `make test`). Every FHE unit test
# binary except test_fhe_int runs directly (no ctest timeout) with
# AMATERS_FHE_PAIRS=FHE_PAIRS and test_fhe_pbs's failure-rate run at
# FHE_PFAIL_RUNS PBS; each that passes leaves a stamp in $(BUILD) and is
# skipped on the next `make fhe-test-full` until it is rebuilt or the
# counts change. The integer operations (test_fhe_int's cases at full
# count: 10 edge + FHE_PAIRS random pairs for every op and width) run in
# amaters-fhe-pairs, which journals each result to FHE_JOURNAL and
# continues where it stopped when rerun (kill -9 safe; pause with kill
# -STOP / -CONT), then prints the table of done / failed items. At the
# full counts this is ~37 CPU hours (~19 h on 2 cores); e.g.
# `make fhe-test-full FHE_PAIRS=20 FHE_PFAIL_RUNS=1000` for a shorter pass
# (each pair count has its own journal, named after it).
FHE_PAIRS ?= 2000
FHE_PFAIL_RUNS ?= 100000
FHE_JOURNAL ?= $(BUILD)/fhe-full-$(FHE_PAIRS).journal
.PHONY: fhe-test-full
fhe-test-full: build
	set -e; for t in fft lwe block serial golden mul radix cli pbs; do \
	    bin=./$(BUILD)/src/fhe/test_fhe_$$t; \
	    stamp=$(BUILD)/fhe-full-$$t-$(FHE_PAIRS)-$(FHE_PFAIL_RUNS).ok; \
	    if [ -f $$stamp ] && [ $$stamp -nt $$bin ]; then \
	        echo "test_fhe_$$t: passed before ($$stamp)"; continue; \
	    fi; \
	    AMATERS_FHE_PAIRS=$(FHE_PAIRS) \
	    AMATERS_FHE_PFAIL_RUNS=$(FHE_PFAIL_RUNS) $$bin; \
	    touch $$stamp; \
	done
	rc=0; ./$(BUILD)/src/fhe/amaters-fhe-pairs --journal $(FHE_JOURNAL) \
	    --pairs $(FHE_PAIRS) || rc=$$?; \
	./$(BUILD)/src/fhe/amaters-fhe-pairs --journal $(FHE_JOURNAL) \
	    --pairs $(FHE_PAIRS) --summary && exit $$rc
