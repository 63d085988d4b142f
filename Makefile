# scanfloor: `make demo` runs the demo floor, `make test` runs the tests.
# Both set up everything they need on a fresh machine first.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
APT_STAMP := $(VENV)/.apt
VENDOR_JS := server/web/static/vendor/socket.io.min.js
LOCK    := requirements.lock
UV_VERSION  := 0.13.9

.PHONY: setup lock demo demo-serve handheld test test-deep docs docs-serve lint fmt bench bench-floor bench-shift bench-cluster fleet cluster redis clean

setup: $(STAMP) $(APT_STAMP) $(VENDOR_JS)

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Installs come from requirements.lock: every package pinned with its hashes (runtime and dev).
# uv installs them (about ten times less time than pip on 2 cores); uv itself comes first, by
# pip, from its own entry in the lock, hashes checked. The project goes in editable and
# without dependencies, so nothing unlocked slips in. Then the packages are compiled to
# bytecode once (about 13 s on 2 cores): where PYTHONDONTWRITEBYTECODE is set (CI sets it),
# nothing else ever writes it, and every server, worker, device and CLI process the tests
# start compiled Flask, pandas, SciPy and the rest again from source.
$(BIN)/uv: $(LOCK) | $(BIN)/python
	awk '/^uv==/{p=1} p{print} p && !/\\$$/{exit}' $(LOCK) > $(VENV)/uv.req
	$(BIN)/pip install -q --require-hashes -r $(VENV)/uv.req
	touch $@

$(STAMP): pyproject.toml $(LOCK) $(BIN)/uv
	$(BIN)/uv pip install -q --python $(BIN)/python --require-hashes -r $(LOCK)
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 -x '/tests/' $(VENV)/lib/python*/site-packages >/dev/null
	@if $(BIN)/python -c "import eventlet" >/dev/null 2>&1; then echo "eventlet must not be installed"; exit 1; fi
	touch $@

# Refresh the lock after changing dependencies in pyproject.toml: pins that still fit are kept;
# `make lock LOCK_ARGS=--upgrade` moves every package to its newest fitting release.
# uv resolves for every platform at once, so markers (evdev, pyudev: Linux only) are kept.
# A fresh checkout with no lock entry for uv yet: `pip install uv==$(UV_VERSION)` into .venv first.
LOCK_ARGS ?=
lock: | $(BIN)/python
	@test -x $(BIN)/uv || $(BIN)/pip install -q uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  --generate-hashes --custom-compile-command 'make lock' --quiet -o $(LOCK) $(LOCK_ARGS)

# Debian packages: chromium for the board's browser tests, CUPS for the raw-queue printer tests,
# nginx and redis-server for several server processes (`make cluster`, tests/e2e/test_cluster.py).
# Checked again whenever this Makefile changes (the list may have grown).
APT_PACKAGES := chromium cups-client cups-bsd cups-daemon nginx redis-server
$(APT_STAMP): Makefile | $(BIN)/python
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "apt-get install$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (their tests will be skipped)"; fi; \
	fi
	touch $@

# The board's browser libraries (socket.io client), served from our own static files (floors
# often have no internet), pinned with integrity hashes in server/web/package-lock.json.
$(VENDOR_JS): server/web/package-lock.json scripts/vendor-js.sh
	bash scripts/vendor-js.sh

demo: setup
	$(BIN)/scanfloor demo

# Several server processes behind nginx, joined by the Redis on 127.0.0.1:6379 (started here
# if none answers): `make cluster CLUSTER_ARGS="--processes 4 --port 8800"`.
CLUSTER_ARGS ?= --processes 2
REDIS_URL ?= redis://127.0.0.1:6379/0
cluster: setup redis
	SCANFLOOR_REDIS_URL=$${SCANFLOOR_REDIS_URL:-$(REDIS_URL)} $(BIN)/scanfloor serve-cluster $(CLUSTER_ARGS)

# Debian's redis-server on 127.0.0.1:6379, started where none answers: its init script as
# root, else a daemon of this user's without persistence (the queue keeps nothing worth saving).
redis: $(APT_STAMP)
	@if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && [ -x /etc/init.d/redis-server ] && command -v service >/dev/null 2>&1; then \
	    echo "starting Debian's redis-server"; service redis-server start >/dev/null; \
	  else \
	    echo "starting redis-server on 127.0.0.1:6379"; \
	    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no \
	      --dir "$${TMPDIR:-/tmp}" >/dev/null; \
	  fi; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done; \
	  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { echo "no Redis answers on 127.0.0.1:6379"; exit 1; }; \
	fi

demo-serve: setup
	$(BIN)/scanfloor demo --serve

# A handheld in this terminal on the server `make demo-serve` keeps running: a new device of
# the demo's site, the keyboard as its scanner (type a barcode, Enter). docs/device-setup.md.
HANDHELD_ARGS ?=
handheld: setup
	$(BIN)/python -m scripts.handheld $(HANDHELD_ARGS)

# The tests run side by side in TEST_WORKERS pytest-xdist processes (the e2e tests mostly wait
# on real processes, so more workers than cores pay: docs/testing.md has the measurements).
# Our sources are compiled first: every server and device process the tests start would
# otherwise compile them again where PYTHONDONTWRITEBYTECODE is set.
# `make test PYTEST_ARGS="--durations=25"` passes more to pytest.
TEST_WORKERS ?= 4
PYTEST_ARGS ?=
test: setup
	$(BIN)/ruff check server device shared scripts tests
	$(BIN)/lint-imports --no-cache
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	$(BIN)/python -m compileall -q server device shared scripts >/dev/null
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The docs site (MkDocs Material, mkdocs.yml): docs/*.md, with the configuration and REST
# pages made from the code as it builds (scripts/docsite/). Strict: a broken link or anchor,
# or a page left out of the nav, fails. Built into site/; served on 127.0.0.1 only.
DOCS_ADDR ?= 127.0.0.1:8000
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr $(DOCS_ADDR)

# Benchmarks print figures and write them into docs/benchmarks.md (not timed tests).
bench: setup
	$(BIN)/python scripts/bench_allocate.py
	$(BIN)/python scripts/bench_floor.py

# The floor at full size alone (about 15 minutes): echo beside the server, 20/200/1,000 devices,
# then 1,500 handhelds as a floor feels them (all signing in at once, every scan counted).
bench-floor: setup
	$(BIN)/python scripts/bench_floor.py

# A whole shift end to end (docs/benchmarks.md, "Whole shift"): 10,000 orders as signed Shopify
# webhooks over the shift, 200 pickers and 20 pack stations, the dock, the local carrier to the
# door, the shop's webhook receiver and an SMTP server; every order, unit, webhook and mail
# accounted for (exits 1 if any is missing or doubled). Smaller:
# `make bench-shift SHIFT_ARGS="--orders 2000 --pickers 50 --packers 6"`.
SHIFT_ARGS ?=
bench-shift: setup
	$(BIN)/python scripts/bench_shift.py --write-docs $(SHIFT_ARGS)

# A fleet of simulated handhelds on a freshly seeded site, for watching the server under load.
FLEET_ARGS ?= --pickers 180 --packers 20 --seconds 30
fleet: setup
	$(BIN)/python scripts/load/fleet.py --serve $(FLEET_ARGS)

# One server process against two behind nginx, the same fleet (a private Redis of its own).
bench-cluster: setup
	$(BIN)/python scripts/bench_cluster.py

# The fuzzers and the stock state machine far deeper than `make test` runs them (about 30-60
# minutes on 2 cores): 5,000 device messages, 300 cases per API operation, 2,000 state
# machines of 100 steps. A failure prints the smallest messages or steps that make it.
test-deep: setup
	SCANFLOOR_DEVICE_FUZZ_EXAMPLES=5000 SCANFLOOR_FUZZ_EXAMPLES=300 HYPOTHESIS_PROFILE=long \
	  $(BIN)/python -m pytest -q -n $(TEST_WORKERS) \
	  tests/server/floor/test_fuzz_device.py tests/server/api/test_fuzz_api.py \
	  tests/server/inventory/test_allocation_stateful.py

lint:
	$(BIN)/ruff check server device shared scripts tests
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff format --check server device shared scripts tests

fmt:
	$(BIN)/ruff format server device shared scripts tests
	$(BIN)/ruff check --fix server device shared scripts tests

clean:
	rm -rf $(VENV) build dist *.egg-info demo-out var site server/web/node_modules
