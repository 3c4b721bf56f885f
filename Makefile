# deploy-action's tasks. `make help` lists them.
#
# More targets come from other files: e2e/cluster/cluster.mk (the test control plane)
# may add prerequisites to `test` with a line of its own (`test: cluster`).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
MODULE := github.com/deploy-action/deploy-action
# -race needs cgo and gcc (hack/setup.sh installs it); `make test RACE=` to go without.
RACE ?= -race
UNIT_TIMEOUT ?= 20m
E2E_TIMEOUT ?= 45m
# Extra flags for both, e.g. GOTESTFLAGS=-v or GOTESTFLAGS='-run TestShop'.
GOTESTFLAGS ?=

# Unit tests: every package but the end-to-end ones.
UNIT_PKGS = $(filter-out $(MODULE)/e2e $(MODULE)/e2e/%,$(shell $(GO) list ./...))
# Packages whose tests spend their time in real images (gzip of a Debian base, containers):
# under the race detector they run 10-50 times slower and tell nothing more, since their
# concurrent code is raced by the unit tests of the same packages that need no engine.
NORACE_PKGS = $(addprefix $(MODULE)/,pkg/build/dockerfile pkg/smoke pkg/structure pkg/imagetest internal/sandbox)

# step NAME COMMAND: prints the step, runs it, prints how long it took.
step = @printf '==> %s\n' '$(1)'; s=$$SECONDS; $(2); printf '==> %s: ok (%ss)\n' '$(1)' $$((SECONDS - s))

# Tools the project pins, built once into the cache.
TOOLS_BIN ?= $(or $(DEPLOY_ACTION_CACHE),/var/cache/deploy-action)/bin
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS_BIN)/staticcheck-$(STATICCHECK_VERSION)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X $(MODULE)/internal/cli.version=$(VERSION) -X $(MODULE)/internal/cli.commit=$(COMMIT)

.PHONY: help demo build action-image lint setup test test-unit test-e2e

help:
	@echo 'make demo       build, tag, push (and deploy, with the control plane built) on embedded defaults'
	@echo 'make test       setup, lint, then unit tests ($(RACE)) and end-to-end tests'
	@echo 'make build      the static binary: bin/deploy-action'
	@echo 'make action-image  the action image (scratch + the binary), built by deploy-action itself'
	@echo 'make lint       gofmt, go vet, staticcheck $(STATICCHECK_VERSION)'
	@echo 'make setup      install and start what the tests need (root, Debian): hack/setup.sh'
	@echo 'make test-unit  unit tests only'
	@echo 'make test-e2e   end-to-end tests only (Docker engine, real servers)'

# With the test control plane built (make cluster-build), the demo also deploys
# to a control plane of its own, started and stopped here.
DEMO_CLUSTER_DIR ?= .cache/demo-cluster
demo:
	@if $(GO) run ./e2e/kubetest/cmd/kubetest-cluster up -dir $(DEMO_CLUSTER_DIR) -nodes 3 >/dev/null 2>&1; then \
		trap '$(GO) run ./e2e/kubetest/cmd/kubetest-cluster down -dir $(DEMO_CLUSTER_DIR) >/dev/null 2>&1' EXIT; \
		$(GO) run ./cmd/deploy-action demo --kubeconfig-file $(DEMO_CLUSTER_DIR)/kubeconfig; \
	else \
		echo "demo: no test control plane to deploy to (make cluster-build builds one); building and pushing only"; \
		$(GO) run ./cmd/deploy-action demo; \
	fi

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
	$(call step,gofmt,out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed: $$out"; exit 1; })
	$(call step,go vet,$(GO) vet ./...)
	$(call step,staticcheck,$(STATICCHECK) ./...)

setup:
	$(call step,setup,hack/setup.sh)

test: setup lint
	@$(MAKE) --no-print-directory test-unit test-e2e

test-unit:
	$(call step,unit tests,$(GO) test $(RACE) -timeout $(UNIT_TIMEOUT) $(GOTESTFLAGS) $(filter-out $(NORACE_PKGS),$(UNIT_PKGS)))
	$(call step,engine tests,$(GO) test -timeout $(UNIT_TIMEOUT) $(GOTESTFLAGS) $(NORACE_PKGS))

# -count=1: the test cache cannot see what these tests depend on (images, the engine,
# files read by docker rather than by the test), so they always run.
test-e2e:
	$(call step,end-to-end tests,$(GO) test -count=1 -timeout $(E2E_TIMEOUT) $(GOTESTFLAGS) ./e2e/...)

-include e2e/cluster/cluster.mk
-include e2e/act/act.mk
