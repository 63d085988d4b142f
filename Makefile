# scanfloor: `make demo` runs the demo floor, `make test` runs the tests.
# Both set up everything they need on a fresh machine first.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
APT_STAMP := $(VENV)/.apt
VENDOR_JS := server/web/static/vendor/socket.io.min.js

.PHONY: setup demo demo-serve test lint fmt bench clean

setup: $(STAMP) $(APT_STAMP) $(VENDOR_JS)

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@if $(BIN)/pip show eventlet >/dev/null 2>&1; then echo "eventlet must not be installed"; exit 1; fi
	touch $@

# Debian packages: chromium for the board's browser tests, CUPS for the raw-queue printer tests.
APT_PACKAGES := chromium cups-client cups-bsd cups-daemon
$(APT_STAMP): | $(BIN)/python
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "apt-get install$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (their tests will be skipped)"; fi; \
	fi
	touch $@

# socket.io browser client, served from our own static files (floors often have no internet).
$(VENDOR_JS): scripts/vendor-js.sh
	bash scripts/vendor-js.sh

demo: setup
	$(BIN)/scanfloor demo

demo-serve: setup
	$(BIN)/scanfloor demo --serve

test: setup
	$(BIN)/ruff check server device shared scripts tests
	$(BIN)/python -m pytest -q

# Benchmarks print figures and write them into docs/benchmarks.md (not timed tests).
bench: setup
	$(BIN)/python scripts/bench_allocate.py

lint:
	$(BIN)/ruff check server device shared scripts tests
	$(BIN)/ruff format --check server device shared scripts tests

fmt:
	$(BIN)/ruff format server device shared scripts tests
	$(BIN)/ruff check --fix server device shared scripts tests

clean:
	rm -rf $(VENV) build dist *.egg-info demo-out var
