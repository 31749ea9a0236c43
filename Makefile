# drover: see README.md. `make test` runs everything this machine supports.
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

BUILD_PACKAGES := libseccomp-dev pkg-config
VM_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils zstd
BENCH_PACKAGES := crun runc bubblewrap busybox-static supervisor wrk hyperfine

.PHONY: all deps deps-vm build release install test test-unit test-leaks test-chaos test-readme test-vm bench run clean

all: build

deps:
	@scripts/deps.sh $(BUILD_PACKAGES)

deps-vm:
	@scripts/deps.sh $(VM_PACKAGES)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

# drover, droverd and drover-init (droverd finds it beside itself) into $(PREFIX)/bin, the
# build `make run` uses. `make install PREFIX=$$HOME/.local` for a prefix of your own.
PREFIX ?= /usr/local
install: build
	install -d $(PREFIX)/bin
	install -m 0755 .build/debug/drover .build/debug/droverd .build/debug/drover-init $(PREFIX)/bin/

# README's walkthrough, tried as a newcomer would (make run, make install, each command the
# README shows, Ctrl-C): every command must print what the README says.
test-readme: build
	@scripts/deps.sh curl
	tests/readme/walkthrough.sh

# Unit and integration tests on this host, the chaos test, README's walkthrough, then the
# leak check (it must run last, alone), then the cgroup v2 VM tier when it can run here.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip LeakCheckTests
	@$(MAKE) --no-print-directory test-chaos
	@$(MAKE) --no-print-directory test-readme
	$(SWIFT) test --filter LeakCheckTests
	@$(MAKE) --no-print-directory test-vm

# Issue 12's chaos test, alone (2-4 minutes): the real droverd under random SIGKILLs (some
# mid-apply), replica kills, scaling and evictions, and 20 targeted restart races. It prints
# its seed; DROVER_CHAOS_SEED=N replays the choices, DROVER_CHAOS_SECONDS (default 130) and
# DROVER_CHAOS_RACES (default 20) size it. `swift test` alone skips it (no DROVER_CHAOS).
test-chaos: deps
	$(SWIFT) build --build-tests
	DROVER_CHAOS=1 $(SWIFT) test --skip-build --filter DroverChaosTests

# The cgroup v2 tier: the test bundle built here, run in a VM with pure cgroup v2
# (tests/vm/run.sh), where the controller-dependent tests run instead of skipping; then the
# escape suite on Debian's kernel, apart (the limit tests measure CPU, which tests running
# beside them would take); then the leak check, in the same VM. FILTER picks tests (a
# swift-testing --filter regex), run as one group.
VM_FILTER ?= LimitEnforcementTests
VM_FILTER_AFTER ?= DroverEscapeTests
FILTER ?= $(VM_FILTER)
FILTER_AFTER ?= $(if $(filter command line,$(origin FILTER)),,$(VM_FILTER_AFTER))
test-vm: deps
	@if ! scripts/deps.sh $(VM_PACKAGES); then \
	  echo "test-vm: SKIPPED: cannot install $(VM_PACKAGES)"; [ -z "$$CI" ] || exit 1; exit 0; \
	fi
	$(SWIFT) build --build-tests
	@bundle=$$($(SWIFT) build --show-bin-path)/droverPackageTests.xctest; \
	start=$$(date +%s); \
	tests/vm/run.sh --timeout 1500 -- sh -c '"$$0" --testing-library swift-testing --filter "$$1" && { [ -z "$$2" ] || "$$0" --testing-library swift-testing --filter "$$2"; } && "$$0" --testing-library swift-testing --filter LeakCheckTests' "$$bundle" '$(FILTER)' '$(FILTER_AFTER)'; \
	rc=$$?; \
	if [ $$rc -eq 77 ]; then \
	  echo "test-vm: SKIPPED (see the SKIP line above)"; \
	  if [ -n "$$CI" ]; then echo "test-vm: CI must run this tier"; exit 1; fi; exit 0; \
	fi; \
	echo "test-vm: finished in $$(( $$(date +%s) - start )) s, exit $$rc"; exit $$rc

# Everything measured side by side with its peers, from one run on this machine:
# spawn latency (drover, raw clone3, bwrap, crun, runc), droverd restarts and 1,000 replicas
# (against supervisord), the service proxy (against direct, with wrk), eviction lateness.
bench: release
	@scripts/deps.sh $(BENCH_PACKAGES)
	bench/run.sh
	bench/daemon.sh
	bench/proxy.sh
	bench/evict.sh

# droverd in the foreground on the example jobs in config/ (state in /var/lib/drover, API on
# /run/drover/drover.sock). In another terminal: .build/debug/drover ps
RUN_ARGS ?=
run: build
	.build/debug/droverd --config config $(RUN_ARGS)

clean:
	rm -rf .build .build-vm .build-bench
