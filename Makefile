# Two commands for a fresh machine: `make demo` and `make test`. Everything else is for maintainers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: demo test lint format bench bench-1m record studio clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.base: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PIP) -e '.[dev]'
	touch $@

demo: $(VENV)/.base
	$(BIN)/cdp-agents demo

test: $(VENV)/.dev
	$(BIN)/pytest -n 2 --dist loadgroup -q --durations=10

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy cdp graph agents llm evals cli prompts report

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The quick set (a few minutes): figures in benchmarks/results/, plots in benchmarks/plots/.
bench: $(VENV)/.dev
	$(BIN)/python benchmarks/run_quick.py

# The engine at 1M customers: seeding takes ~6 min and ~4.6 GB in BENCH_WORKDIR (kept and reused by
# the next run), then three runs, each on a fresh copy in a fresh process; redraws the plots.
BENCH_WORKDIR ?= /tmp/cdp-bench
bench-1m: $(VENV)/.dev
	$(BIN)/python benchmarks/engine_scale.py --sizes 1000000 --workdir $(BENCH_WORKDIR)
	$(BIN)/python benchmarks/plot.py

record: $(VENV)/.dev
	$(BIN)/python -m tests.replay.record

studio: $(VENV)/.dev
	$(BIN)/python -m cli.studio

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .langgraph_api
