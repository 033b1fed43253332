# devcluster: the two commands a new user needs are `make up` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
BIN := .build/release
DEVCLUSTER := $(BIN)/devcluster
# Never two Swift builds at once on this 2-core class of machine: every build takes this lock.
LOCK := flock /tmp/devcluster-swift-build.lock

.PHONY: deps build up down test unit e2e bench install install-files dist lint clean demo-rebuild demo-bitrot demo-partition demo-slow chaos fuzz deb image demo-hosts

deps:
	@scripts/install-deps.sh

build: deps
	$(LOCK) $(SWIFT) build -c release --product devnode
	$(LOCK) $(SWIFT) build -c release --product devcluster

up: build
	$(DEVCLUSTER) up 4

down:
	$(DEVCLUSTER) down

test: build
	@scripts/run-tests.sh

unit: deps
	$(LOCK) $(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

e2e: build
	PATH="$(CURDIR)/.venv/bin:$$PATH" python3 -m pytest -q tests/e2e

# Tutorials that are also tests (scenarios/): narrated here, run as checks by make test.
demo-rebuild: build
	$(DEVCLUSTER) scenario rebuild --home sandbox

demo-bitrot: build
	$(DEVCLUSTER) scenario bitrot --home sandbox

demo-partition: build
	$(DEVCLUSTER) scenario partition --home sandbox

demo-slow: build
	$(DEVCLUSTER) scenario slow --home sandbox

# Four hosts in network namespaces (root): a kill, a cut link, detection and healing, narrated.
demo-hosts: build
	DEVCLUSTER_DEMO=1 PATH="$(CURDIR)/.venv/bin:$$PATH" python3 -m pytest -q -s tests/e2e/test_hosts.py

# The chaos checker for 10 minutes on a cluster of its own (make test runs it for 60 s).
chaos: build
	@scripts/chaos.sh

bench: build
	@scripts/bench.sh

# libFuzzer on every parser that takes outside bytes; FUZZ_SECONDS per target (default 60).
fuzz: deps
	@scripts/fuzz.sh

install: build install-files

# What install copies, without building (the tests check it against DESTDIR): programs, Templates,
# shell completions and man pages.
install-files:
	@scripts/stage-tree.sh $(DESTDIR)$(PREFIX)
	@echo "installed devcluster and devnode in $(DESTDIR)$(PREFIX)/bin"

# A tarball that runs without a Swift toolchain or the C libraries' packages (dist/).
dist: build
	@scripts/dist.sh

# A container image with no base image (dist/devcluster-image-VERSION.tar: docker load / podman load).
image: build
	@python3 scripts/image.py

# A Debian package (dist/devcluster_VERSION_ARCH.deb) that depends on Debian's C library packages.
deb: build
	@scripts/deb.sh

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

clean:
	rm -rf .build
