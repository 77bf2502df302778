# zerolag: two commands on a fresh machine.
#   make demo   builds (release) and runs the demo on the embedded store; no server needed
#   make test   builds, makes sure redis-server, postgresql and chromium are there, runs
#               cargo test, pytest over every backend, the stub check and the notebooks
# Also: make lint, make bench, make build, make wheel, make docs, make clean.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.deps-stamp
BUILD_STAMP := $(VENV)/.build-stamp
RUST_SOURCES := $(shell find src -type f 2>/dev/null) Cargo.toml Cargo.lock pyproject.toml
PY_SOURCES := $(shell find python -type f -name '*.py*' 2>/dev/null)
# $(call install-extra,NAME): pip-installs pyproject.toml's extra NAME (its one list of the
# development tools), not the package itself: maturin develop builds that.
REQS = $(VENV)/requirements-$(1).txt
install-extra = $(PY) scripts/extra_requirements.py $(1) > $(REQS) && $(PIP) install -r $(REQS)

# LangChain's standard suites need pytest-asyncio in auto mode: a run of their own, so the
# main suite runs as it always has (tests/langchain_suites/conftest.py). One process: about 330
# short tests (30-45 s), where xdist workers would each start their own servers.
LANGCHAIN_TESTS = $(PY) -m pytest -q -p no:cacheprovider -o asyncio_mode=auto tests/langchain_suites

.PHONY: demo test build wheel docs lint bench check-tools lint-tools redis postgres chromium cargo-test pytest stubtest notebooks clean

check-tools:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.10 or newer (apt-get install python3 python3-venv)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || { echo "error: zerolag needs Python 3.10 or newer; $(PYTHON) is $$($(PYTHON) -V)"; exit 1; }
	@command -v cargo >/dev/null || { echo "error: cargo not found; install the Rust toolchain (https://rustup.rs: curl ... | sh, or apt-get install cargo)"; exit 1; }

$(STAMP): pyproject.toml Makefile scripts/extra_requirements.py | check-tools
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "error: could not create a virtualenv; install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(PIP) install --upgrade pip
	@$(PY) -c 'import tomllib' 2>/dev/null || $(PIP) install tomli
	$(call install-extra,dev)
	@touch $@

$(BUILD_STAMP): $(STAMP) $(RUST_SOURCES)
	$(VENV)/bin/maturin develop --release -q
	@touch $@

build: $(BUILD_STAMP)

# The development build as a wheel (the same compiled artifacts: seconds) and the wheels of its
# dependencies, for the test that installs it into a fresh virtualenv without the network
# (tests/test_install.py).
DEV_WHEEL := target/dev-wheel
WHEELHOUSE := $(VENV)/wheelhouse
DEV_WHEEL_STAMP := $(VENV)/.dev-wheel-stamp
$(DEV_WHEEL_STAMP): $(BUILD_STAMP)
	rm -rf $(DEV_WHEEL)
	$(VENV)/bin/maturin build --release -q -i $(PY) -o $(DEV_WHEEL)
	$(PIP) download --only-binary=:all: -d $(WHEELHOUSE) $(DEV_WHEEL)/*.whl
	@touch $@

# The wheel to distribute: manylinux2014 (glibc 2.17 or newer) through zig, for the Python
# of the virtualenv (one wheel per Python version: see docs/bench.md, the abi3 decision), the
# sdist beside it, both checked.
wheel: $(STAMP)
	$(call install-extra,release)
	rm -rf dist
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/maturin build --release --zig \
		--compatibility manylinux2014 -i $(PY) -o dist
	$(VENV)/bin/maturin sdist -o dist
	$(VENV)/bin/twine check --strict dist/*
	@ls -l dist

demo: build
	$(VENV)/bin/zerolag demo

redis:
	@bash scripts/ensure-redis.sh

# The archive tests and the archive bench suite start a real PostgreSQL server (tests/pg.py).
postgres:
	@bash scripts/ensure-postgres.sh

# The dashboard test drives headless Chromium through chromedriver (tests/test_dashboard.py).
chromium:
	@bash scripts/ensure-chromium.sh

cargo-test: redis
	cargo test --profile test-core -q

pytest: build redis postgres chromium
	$(PY) -m pytest -q -p no:cacheprovider -n auto tests
	$(LANGCHAIN_TESTS)

stubtest: build
	$(PY) -m mypy.stubtest zerolag._core --allowlist scripts/stubtest-allowlist.txt

notebooks: build
	$(PY) scripts/run_notebooks.py notebooks

test: build redis postgres chromium $(DEV_WHEEL_STAMP)
	cargo test --profile test-core -q
	$(PY) -m pytest -q -p no:cacheprovider -n auto tests
	$(LANGCHAIN_TESTS)
	$(PY) -m mypy.stubtest zerolag._core --allowlist scripts/stubtest-allowlist.txt
	$(PY) scripts/run_notebooks.py notebooks

# The documentation site (guides and the API reference from the docstrings and stubs) in
# build/site/; `make test` builds it strictly too (tests/test_api_docs.py).
docs: $(STAMP)
	$(VENV)/bin/mkdocs build
	@echo "documentation: build/site/index.html"

# $(call rust-tool,SUBCOMMAND,COMPONENT,APT-PACKAGE): cargo SUBCOMMAND is there, or rustup adds
# it, or make stops saying how to get it.
rust-tool = cargo $(1) --version >/dev/null 2>&1 || { command -v rustup >/dev/null && rustup component add $(2); } \
	|| { echo "error: cargo $(1) not found; install it: rustup component add $(2) (or apt-get install $(3))"; exit 1; }

lint-tools:
	@$(call rust-tool,fmt,rustfmt,rustfmt)
	@$(call rust-tool,clippy,clippy,rust-clippy)

lint: $(STAMP) lint-tools
	cargo fmt --check
	cargo clippy -q --all-targets -- -D warnings
	cargo clippy -q --features python -- -D warnings
	$(VENV)/bin/ruff check python tests bench scripts
	$(VENV)/bin/ruff format --check python tests bench scripts
	$(VENV)/bin/mypy

bench: build redis postgres
	$(call install-extra,bench)
	$(PY) bench/run.py
	$(PY) bench/plot.py

clean:
	rm -rf target $(VENV) .zerolag build
