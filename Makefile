# deploy-action's tasks. `make help` lists them.
#
# More targets come from other files: e2e/cluster/cluster.mk (the test control plane)
# may add prerequisites to `test` with a line of its own (`test: cluster`).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
MODULE := github.com/deploy-action/deploy-action
# Everything builds with cgo off (the binary is static anyway), and so does the test
# control plane (e2e/cluster/build.sh): go vet, the unit tests, the end-to-end tests'
# deploy-action binary and the control plane then share one set of compiled packages.
# Only the race detector needs cgo; its build is instrumented and shares nothing anyway.
# No debug information is compiled (-dwarf=false): the programs are linked stripped and test
# binaries never run under a debugger, so it was a tenth of every compile spent for nothing. The
# scripts that compile set the same (hack/goenv.sh).
export CGO_ENABLED := 0
ifeq ($(findstring -gcflags=all=-dwarf=false,$(GOFLAGS)),)
export GOFLAGS += -gcflags=all=-dwarf=false
endif
# -race needs cgo and gcc (hack/setup.sh installs it); `make test RACE=` to go without.
RACE ?= -race
UNIT_TIMEOUT ?= 20m
E2E_TIMEOUT ?= 45m
# Extra flags for both, e.g. GOTESTFLAGS=-v or GOTESTFLAGS='-run TestShop'.
GOTESTFLAGS ?=

# Unit tests: every package but the end-to-end ones.
UNIT_PKGS = $(filter-out $(MODULE)/e2e $(MODULE)/e2e/%,$(shell $(GO) list ./...))
# The race detector runs on the packages that own concurrent code: goroutines, errgroups,
# state shared behind a mutex. -race compiles every dependency again, instrumented, so it
# is kept off the packages whose concurrency lives in a library (client-go's informers
# are raced through pkg/rollout, the registry client through pkg/push), and off those whose
# tests spend their time in real images and containers (pkg/build/dockerfile, pkg/smoke,
# pkg/structure, pkg/imagetest, pkg/internal/sandbox: 10-50 times slower under -race).
#   internal/report     the masked stream and the line writer, shared by concurrent stages
#   pkg/mask            the run's one masker, fed and read by concurrent stages
#   pkg/internal/imagefs  an image's layers read by an errgroup
#   pkg/apply           objects applied by an errgroup
#   pkg/policy          layers scanned for secrets by an errgroup, findings behind a mutex
#   pkg/build/layers    layers compressed by an errgroup
#   pkg/push            every registry pushed at once
#   pkg/rollout         the watch: informers, events and logs feeding one verdict
RACE_PKGS = $(addprefix $(MODULE)/,internal/report pkg/mask pkg/internal/imagefs pkg/apply pkg/policy pkg/build/layers pkg/push pkg/rollout)
# Packages with goroutines or locks of their own that run without the race detector, and why:
# test helpers (internal/testenv, internal/testimage/..., e2e/kubetest/rollouttest), a
# sync.Once or a server goroutine only (internal/cli, internal/demo), or tests in real
# images and containers (the rest). `make lint` fails on a package in neither list.
NORACE_CONCURRENT = internal/cli internal/demo internal/testenv internal/testimage internal/testimage/server \
	e2e/kubetest/rollouttest pkg/build/dockerfile pkg/smoke pkg/structure pkg/imagetest pkg/internal/sandbox

# step NAME COMMAND: prints the step, runs it, prints how long it took and the CPU time
# the machine used meanwhile (hack/cpu.sh; omitted where it cannot be read).
step = @printf '==> %s\n' '$(1)'; s=$$SECONDS; c=$$(hack/cpu.sh); $(2); \
	cpu=$$(hack/cpu.sh "$$c"); printf '==> %s: ok (%ss%s)\n' '$(1)' $$((SECONDS - s)) "$${cpu:+, $$cpu CPU-s}"

# Tools the project pins, built once into the cache.
TOOLS_BIN ?= $(or $(DEPLOY_ACTION_CACHE),/var/cache/deploy-action)/bin
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS_BIN)/staticcheck-$(STATICCHECK_VERSION)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X $(MODULE)/internal/cli.version=$(VERSION) -X $(MODULE)/internal/cli.commit=$(COMMIT)

.PHONY: help demo build action-image lint setup test test-unit test-e2e

help:
	@echo 'make demo       the whole pipeline on the sample shop: build, test, push, deploy, a broken release rolled back'
	@echo 'make test       setup, lint, then unit tests ($(RACE)) and end-to-end tests'
	@echo 'make build      the static binary: bin/deploy-action'
	@echo 'make action-image  the action image (scratch + the binary), built by deploy-action itself'
	@echo 'make lint       gofmt, go vet, staticcheck $(STATICCHECK_VERSION)'
	@echo 'make setup      install and start what the tests need (root, Debian): hack/setup.sh'
	@echo 'make test-unit  unit tests only'
	@echo 'make test-e2e   end-to-end tests only (Docker engine, real servers)'

# The whole pipeline on embedded defaults. As root on Debian it provisions what it needs
# first (hack/setup.sh, e2e/cluster/build.sh); elsewhere it runs what it can and names the
# command that enables each part it skipped. The summary: .cache/demo/summary.{md,html}.
demo:
	@GO=$(GO) hack/demo.sh

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/deploy-action ./cmd/deploy-action

# The same image as the Dockerfile's "action" stage, made without a daemon, so its size
# can be measured anywhere.
action-image: build
	rm -rf dist/action-image dist/tmp
	mkdir -p dist/tmp && chmod 1777 dist/tmp
	bin/deploy-action build --base scratch --layers dist/tmp:/tmp \
	  --layers bin/deploy-action:/usr/local/bin/deploy-action,mode=0755 \
	  --layers /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt,mode=0644 \
	  --entrypoint /usr/local/bin/deploy-action --output dist/action-image
	@printf 'action image: binary %s, image blobs %s (compressed)\n' \
	  "$$(du -h bin/deploy-action | cut -f1)" "$$(du -sh dist/action-image/blobs | cut -f1)"

$(STATICCHECK):
	mkdir -p $(TOOLS_BIN)
	export GOBIN=$$(mktemp -d) && $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) && mv $$GOBIN/staticcheck $@

lint: $(STATICCHECK)
	$(call step,race list,hack/racecheck.sh $(patsubst $(MODULE)/%,%,$(RACE_PKGS)) -- $(NORACE_CONCURRENT))
	$(call step,shared modules,hack/sharecheck.sh)
	$(call step,gofmt,out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed: $$out"; exit 1; })
	$(call step,go vet,$(GO) vet ./...)
	$(call step,staticcheck,$(STATICCHECK) ./...)

setup:
	$(call step,setup,hack/setup.sh)

# The test control plane (cluster-build, CPU-bound) builds alongside the setup, which
# waits on the network (apt, debootstrap). go vet starts after it: they share most of
# their compiles (see CGO_ENABLED above), and two builds compiling the same package at
# once would both compile it. Warm, the control plane is found in the cache at once.
test:
	@$(MAKE) --no-print-directory -j2 cluster-build setup
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-e2e

test-unit:
	$(call step,race tests,CGO_ENABLED=1 $(GO) test $(RACE) -timeout $(UNIT_TIMEOUT) $(GOTESTFLAGS) $(RACE_PKGS))
	$(call step,unit tests,$(GO) test -timeout $(UNIT_TIMEOUT) $(GOTESTFLAGS) $(filter-out $(RACE_PKGS),$(UNIT_PKGS)))

# -count=1: the test cache cannot see what these tests depend on (images, the engine,
# files read by docker rather than by the test), so they always run.
test-e2e:
	$(call step,end-to-end tests,$(GO) test -count=1 -timeout $(E2E_TIMEOUT) $(GOTESTFLAGS) ./e2e/...)

-include e2e/cluster/cluster.mk
-include e2e/act/act.mk
