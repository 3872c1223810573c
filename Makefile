# sealyard: make demo runs the pipeline on embedded defaults; make test runs
# every test. Both need only Go and root (for apt-get) on a fresh machine.

SHELL := /bin/bash
GO    ?= go
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)


.PHONY: all demo test bench deps fmt-check vet unit dagger-check fuzz release

# One set of compile flags for vet, the tests and every Go binary the tests
# build (sealyard itself, the peer CLIs, the fixture programs, the release):
# -trimpath and CGO_ENABLED=0, as sealyard's releases and its Dagger module
# build it. Flags that differ give every package a different build cache
# key; with one set, a cold run compiles the dependency graph once.
export CGO_ENABLED := 0
BUILDFLAGS := -trimpath

all: test

## demo: build the example app and push it to an embedded registry
demo:
	$(GO) run ./cmd/sealyard demo

## test: install test dependencies, check formatting, vet, run every test.
## The Dagger generator check runs beside the tests (its output follows
## theirs), and test binaries are linked without DWARF (-ldflags=-w,
## half the link time; nothing reads it): a cold run compiles and links
## less on the critical path.
test: deps fmt-check vet
	@docker info >/dev/null 2>&1 || { echo "make test needs a Docker daemon (the docker: source, docker save archives and images that run are tested against it)"; exit 1; }
	@log=$$(mktemp); \
	( $(MAKE) --no-print-directory dagger-check >$$log 2>&1; echo $$? >$$log.rc ) & \
	rc=0; \
	( cd ci && $(GO) test $(BUILDFLAGS) ./internal/... ) && $(GO) test $(BUILDFLAGS) -tags docker -ldflags=-w -timeout 30m ./... || rc=$$?; \
	wait; echo "== dagger-check"; cat $$log; drc=$$(cat $$log.rc); rm -f $$log $$log.rc; \
	[ $$drc = 0 ] || echo "dagger-check failed (exit $$drc)"; \
	[ $$rc = 0 ] && [ $$drc = 0 ]

## bench: sealyard run against syft → grype → crane → cosign on a 200 MB
## reference image (same database, same Distribution registry); prints wall
## time, CPU time, peak memory, their ratios and the top of a CPU profile
bench: deps
	@[ -x /usr/bin/time ] || { echo "installing time (GNU time: peak memory of each process)"; $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q time; }
	$(GO) test $(BUILDFLAGS) -run '^$$' -bench . -benchtime $(or $(BENCHTIME),1x) -timeout 60m ./internal/bench ./pipelines/scan ./pipelines/run

## fuzz: run every Fuzz target for FUZZTIME each (make test runs their
## seeds); crashers land in the package's testdata/fuzz as regression seeds.
## Minimizing a new input is capped at FUZZMINTIME: go test's default (60s)
## spends a 30s run minimizing one input of the archive targets, whose every
## execution writes files.
FUZZTIME ?= 30s
FUZZMINTIME ?= 5s
FUZZ_PKGS = ./pipelines/image ./pipelines/policy ./pipelines/sbom ./cmd/sealyard/internal/cli
# sealyard ships itself: RELEASE_TO=REGISTRY/REPOSITORY:TAG RELEASE_KEY=...
# (see .ci/release for the other settings).
release:
	./.ci/release

fuzz:
	@for pkg in $(FUZZ_PKGS); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg || exit 1; \
		done; \
	done
	@cd ci && for t in $$($(GO) test -list '^Fuzz' ./internal/cmdline | grep '^Fuzz'); do \
		echo "== ci/internal/cmdline $$t ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) ./internal/cmdline || exit 1; \
	done

## deps: install what the tests need and is missing
deps:
	@missing=""; \
	[ -x /usr/bin/docker-registry ] || missing="$$missing docker-registry"; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	command -v pre-commit >/dev/null || missing="$$missing pre-commit"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing (Distribution for registry tests, shellcheck for the workflow checks, pre-commit for the hook test, Chromium for the HTML report test)"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$missing; \
	fi

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## vet: every file, the docker-tagged tests included (no file is
## excluded by the tag, so one pass covers both builds)
vet:
	$(GO) vet $(BUILDFLAGS) -tags docker ./...
	cd ci && $(GO) vet $(BUILDFLAGS) ./internal/...

## dagger-check: generate the Dagger module's bindings as `dagger develop`
## does and build and vet the result: with the Dagger v0.21.6 code generator
## kit when it is beside the repository, else with a dagger CLI on PATH.
DAGGER_CODEGEN_KIT ?= ../shared/dagger-codegen/check-module
dagger-check:
	@if [ -x "$(DAGGER_CODEGEN_KIT)" ]; then \
		"$(DAGGER_CODEGEN_KIT)" .; \
	elif command -v dagger >/dev/null; then \
		dagger develop && cd ci && $(GO) build ./... && $(GO) vet ./...; \
	else \
		echo "dagger-check needs the Dagger code generator kit ($(DAGGER_CODEGEN_KIT)) or a dagger CLI on PATH"; exit 1; \
	fi
