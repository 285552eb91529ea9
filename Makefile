# allframe-quality: `make report` (run every notebook, publish site/) and `make test`.
# Both run `setup` first; it is idempotent and cheap when everything is in place.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export PATH := $(HOME)/.cargo/bin:$(HOME)/go/bin:$(PATH)
# Rust builds are cached outside the clone, so a fresh clone reuses them.
export AFQ_CACHE_DIR ?= $(HOME)/.cache/allframe-quality
export CARGO_TARGET_DIR ?= $(AFQ_CACHE_DIR)/target

VENV := .venv
PY := $(VENV)/bin/python
# libclang-dev: bindgen for librocksdb-sys (the micro suite's cqrs-rocksdb backend, weekly).
APT_PACKAGES := binutils wrk postgresql postgresql-contrib valgrind heaptrack protobuf-compiler libclang-dev
# Only the tests need these (make report never opens a browser): Chromium renders the published pages, openssl
# makes the SMTP test's certificate.
TEST_APT_PACKAGES := chromium fonts-noto-color-emoji openssl
ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.7
# Extra arguments, e.g. make report ARGS="-p size.profiles='[release]'"
ARGS ?=
PORT ?= 8000

.PHONY: help setup setup-system setup-rust setup-test report test test-heavy test-fast gate ab bisect pr-check merge history-rebuild comment lab serve clean lock

help:
	@echo "make report   run every notebook with defaults into one run and publish site/ (sets up first)"
	@echo "make test     the test suite: parsers, real small builds, notebooks via papermill, pages in Chromium"
	@echo "make gate     check the latest run against quality.toml and its baseline; exit 1 on a broken budget or a regression"
	@echo "make ab A=0.1.27 B=pinned   two AllFrame sources (versions, 'pinned' or checkout paths) measured interleaved -> Markdown"
	@echo "make pr-check ARGS='--repo DIR --base REV --head REV'   AllFrame's PR check on two revisions of a checkout"
	@echo "make bisect METRIC=size.full.file_bytes GOOD=0.1.20 BAD=0.1.28 [CHECKOUT=path]  the release (commit) that moved a metric"
	@echo "make merge ARGS='dir...'    bring run directories from parallel CI jobs into data/ and the history"
	@echo "make history-rebuild        rebuild data/history.parquet from data/runs"
	@echo "make lab      JupyterLab on notebooks/        make serve   the site on http://localhost:$(PORT)"
	@echo "make setup    system packages, .venv from requirements.lock, the pinned Rust toolchain, cargo-bloat, cargo-llvm-cov, cargo fetch"
	@echo "make lock     refresh requirements.lock and requirements-test.lock (Python packages pinned exactly, with hashes)"

setup: setup-system $(VENV)/.installed setup-rust

# Debian packages the suites need; installed only when one is missing.
setup-system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing Debian packages: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# What only the tests need: their Python packages (the `test` extra, requirements-test.lock), their Debian packages,
# and actionlint (built by Go from its module) for the workflows.
setup-test: setup $(VENV)/.installed-test
	@$(MAKE) --no-print-directory setup-system APT_PACKAGES="$(TEST_APT_PACKAGES)"
	@command -v actionlint >/dev/null || { command -v go >/dev/null && go install $(ACTIONLINT); } || \
	  echo "setup: actionlint not installed (needs Go >= 1.22: go install $(ACTIONLINT)); tests/test_workflows.py will fail"

# Python packages at the exact versions and hashes of requirements.lock (refresh it with `make lock`), then the project.
$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.lock
	$(PY) -m pip install -q --require-hashes -r requirements-test.lock
	@touch $@

# The compiler is pinned by bench/rust-toolchain.toml. When rustup lacks that toolchain by name but the
# installed stable one is that very release, link it (no download); otherwise ask rustup to install it.
RUST_PIN := $(shell sed -n 's/^channel = "\(.*\)"/\1/p' bench/rust-toolchain.toml)
setup-rust:
	@command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust with rustup (https://rustup.rs)"; exit 1; }
	@if command -v rustup >/dev/null && ! rustup toolchain list | grep -q "^$(RUST_PIN)"; then \
	  if rustc +stable --version 2>/dev/null | grep -q "^rustc $(RUST_PIN) "; then \
	    echo "setup: linking the installed stable toolchain as $(RUST_PIN)"; \
	    rustup toolchain link $(RUST_PIN) "$$(rustc +stable --print sysroot)"; \
	  else rustup toolchain install --profile minimal $(RUST_PIN); fi; \
	fi
	@command -v cargo-bloat >/dev/null || cargo install --locked cargo-bloat
	@command -v inferno-flamegraph >/dev/null && command -v inferno-diff-folded >/dev/null || cargo install --locked inferno
	@command -v cargo-llvm-cov >/dev/null || cargo install --locked cargo-llvm-cov
	@rustup component list --toolchain $(RUST_PIN) --installed 2>/dev/null | grep -q '^llvm-tools' || rustup component add llvm-tools --toolchain $(RUST_PIN)
	@cd bench && cargo fetch --locked -q

# Refresh the locks: the newest releases pyproject.toml allows, with their hashes (uv's resolver, in a scratch venv).
PYVER := $(shell python3 -c 'import platform; print(platform.python_version())')
lock:
	rm -rf build/lock-venv && python3 -m venv build/lock-venv && build/lock-venv/bin/pip install -q uv
	build/lock-venv/bin/uv pip compile pyproject.toml --python-version $(PYVER) --generate-hashes --no-header --no-annotate -q -o requirements.lock
	build/lock-venv/bin/uv pip compile pyproject.toml --extra test --python-version $(PYVER) --generate-hashes --no-header --no-annotate -q -o requirements-test.lock
	rm -rf build/lock-venv
	@echo "requirements.lock and requirements-test.lock refreshed: review the diff, run make test, commit them"

report: setup
	$(PY) -m allframe_quality.commands.cli report $(ARGS)

gate: $(VENV)/.installed
	$(PY) -m allframe_quality.commands.cli gate $(ARGS)

# A/B: A and B are 'pinned', an exact registry version, or a local checkout path.
A ?= pinned
B ?= pinned
ab: setup
	$(PY) -m allframe_quality.commands.cli ab --a "$(A)" --b "$(B)" $(ARGS)

# The first release (or commit of a local checkout) where a metric crossed its limit or stepped past the threshold:
# make bisect METRIC=size.full.file_bytes GOOD=0.1.20 BAD=0.1.28     (releases)
# make bisect METRIC=size.minimal.file_bytes CHECKOUT=../all-frame GOOD=v0.1.27 BAD=main
METRIC ?=
GOOD ?=
BAD ?=
CHECKOUT ?=
bisect: setup
	@test -n "$(METRIC)" -a -n "$(GOOD)" -a -n "$(BAD)" || { echo "bisect: give METRIC=, GOOD= and BAD= (and CHECKOUT= for commits), e.g. make bisect METRIC=size.full.file_bytes GOOD=0.1.20 BAD=0.1.28"; exit 2; }
	$(PY) -m allframe_quality.commands.cli bisect --metric "$(METRIC)" --good "$(GOOD)" --bad "$(BAD)" $(if $(CHECKOUT),--checkout "$(CHECKOUT)") --out build/bisect.md $(ARGS)

# AllFrame's PR check: two revisions of a checkout measured interleaved, head's limits (action.yml runs this):
# make pr-check ARGS="--repo ../all-frame --base main --head HEAD --suites size,cqrs --out build/pr-check.md"
pr-check: setup
	$(PY) -m allframe_quality.commands.cli pr-check $(ARGS)

merge: $(VENV)/.installed
	$(PY) -m allframe_quality.commands.cli merge $(ARGS)

history-rebuild: $(VENV)/.installed
	$(PY) -m allframe_quality.commands.cli history rebuild

# One PR comment from Markdown files: make comment ARGS="--out build/comment.md build/gate.md build/ab.md"
comment: $(VENV)/.installed
	$(PY) -m allframe_quality.commands.cli comment $(ARGS)

test: setup-test
	$(PY) -m pytest -m "not heavy" --durations=15 $(ARGS)

# The tests that cold-build AllFrame's heavy backends (allsource-core, RocksDB): the weekly workflow runs them.
test-heavy: setup-test
	$(PY) -m pytest -m heavy $(ARGS)

# Parsers, budgets and schema only: seconds, no Rust builds.
test-fast: setup-test
	$(PY) -m pytest -m "not slow and not heavy" $(ARGS)

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --allow-root

serve:
	@test -f site/index.html || { echo "no site yet: run make report"; exit 1; }
	$(PY) -m http.server --directory site --bind 127.0.0.1 $(PORT)

clean:
	rm -rf site build
