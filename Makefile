# The two commands a fresh machine needs: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test check lint format typecheck index chat install clean bench bench-quick

# Creates the environment, builds/syncs the index from articles/, then starts the Discord bot when
# DISCORD_TOKEN is set, else the terminal chat on the same engine.
run: $(STAMP)
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

index: $(STAMP)
	$(BIN)/newsdesk index rebuild

chat: $(STAMP)
	$(BIN)/newsdesk chat

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e '.[dev]'
	touch $(STAMP)

# The benchmark suite (docs/benchmarks.md): full <= 30 min on 2 cores, quick a few minutes.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run_all

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run_all --quick

$(BENCH_STAMP): $(STAMP)
	$(PIP_INSTALL) -e '.[dev,bench]'
	touch $(BENCH_STAMP)

clean:
	rm -rf $(VENV) .index .mypy_cache .ruff_cache .pytest_cache
