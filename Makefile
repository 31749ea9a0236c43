# drover: see README.md. `make test` runs everything this machine supports.
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

BUILD_PACKAGES := libseccomp-dev pkg-config
VM_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static
BENCH_PACKAGES := crun runc bubblewrap busybox-static

.PHONY: all deps deps-vm build release test test-unit test-leaks test-vm bench run clean

all: build

deps:
	@scripts/deps.sh $(BUILD_PACKAGES)

deps-vm:
	@scripts/deps.sh $(VM_PACKAGES)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

# Unit and integration tests on this host, then the leak check (it must run last, alone),
# then the cgroup v2 VM tier when it can run here.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip LeakCheckTests
	$(SWIFT) test --filter LeakCheckTests
	@$(MAKE) --no-print-directory test-vm

test-vm:
	@echo "test-vm: not built yet"

# Spawn latency beside crun, runc, bwrap and the raw kernel reference (bench/run.sh).
bench: release
	@scripts/deps.sh $(BENCH_PACKAGES)
	bench/run.sh

# A sandboxed web server on an allocated port (droverd and config/ come with the daemon).
run: build
	.build/debug/drover run --port http -- python3 -u -m http.server --bind 127.0.0.1 '$${PORT_HTTP}'

clean:
	rm -rf .build .build-vm .build-bench
