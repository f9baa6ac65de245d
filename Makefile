# scalestore — top-level make targets. The lab's targets live in lab/lab.mk.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin
BIN := scalestore
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# Debian packages the tests need, and the lab's (lab/host-packages.txt).
TEST_PACKAGES := openssh-server openssh-client dash e2fsprogs util-linux bc sudo procps fdisk lvm2 drbd-utils asciinema

.PHONY: build vet unit test deps bench fuzz
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) .

vet:
	$(GO) vet ./...

unit: vet
	$(GO) test -count=1 ./...

# The README's test command: everything CI runs — unit tests (with the SSH tests against a
# real sshd), the lab's smoke test (which leaves a clean snapshot), and the end-to-end test.
test: deps unit lab-smoke e2e

bench:
	$(GO) test -run XXX -bench . -benchmem ./remote/ ./steps/ ./ui/

# deps: install everything the tests and the lab need (apt-get update once, and only when a
# package is missing).
ALL_PACKAGES = $(TEST_PACKAGES) $(shell cat lab/host-packages.txt)
deps:
	@missing=$$(for p in $(ALL_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing:" $$missing; apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else echo "deps: all $(words $(ALL_PACKAGES)) packages installed"; fi

# every fuzz target of every package, FUZZTIME each (go test fuzzes one target at a time)
FUZZTIME ?= 15s
fuzz:
	@set -e; for f in $$(grep -l '^func Fuzz' $$(git ls-files '*_test.go')); do \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$t ($$(dirname $$f))"; \
	    $(GO) test ./$$(dirname $$f) -run XXX -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 3s; \
	  done; \
	done

-include lab/lab.mk

# The end-to-end test on the lab's VMs (root, qemu): see e2e/e2e.sh.
.PHONY: e2e
e2e:
	bash e2e/e2e.sh

# The README's "run" command: on a fresh Debian 12 machine (root) install what is needed,
# bring the lab up (with the spare pair, to try "add a storage pair"), and open the wizard
# on a copy of the lab's spec (without a terminal: apply it unattended, live output).
.PHONY: demo
demo: deps build lab-image
	LAB_SPARES=1 bash lab/up.sh
	@cp -n lab/lab.toml $(LAB_DIR)/demo.toml 2>/dev/null || true
	@if [ -t 0 ] && [ -t 1 ]; then ./$(BIN) -f $(LAB_DIR)/demo.toml; \
	else ./$(BIN) apply -f $(LAB_DIR)/demo.toml --yes; fi
-include e2e/demo.mk
-include e2e/bench.mk
