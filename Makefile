# Pathways: `make run` and `make test` each set up their own virtual environment (.venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATHWAYS_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install run init test lint typecheck unit bench bench-scale clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Front-end packages the app serves itself (web/assets.py: bpmn-js), and axe-core for the
# accessibility tests, from the npm registry at the versions package-lock.json pins; no
# install scripts run.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# The project's own modules compiled to bytecode now, as `pip install` of a wheel does: with
# PYTHONDONTWRITEBYTECODE set (as on the machines here) Python would otherwise compile every
# module it imports from source on every command, 0.2 s of each CLI command's start.
install: $(BIN)/.installed node_modules/.package-lock.json
	$(BIN)/python -m compileall -q -j 0 engine adapters dsl web

init: install
	$(BIN)/pathways init

# The main job on the embedded default (./pathways.sqlite): publish the shipped pathways, run
# the timer/message worker in the background and serve the app with the production server
# (gunicorn; sessions kept across restarts by ./pathways.sqlite.secret-key) until Ctrl-C.
run: install
	$(BIN)/pathways init --demo
	@$(BIN)/pathways worker --interval 5 > pathways-worker.log 2>&1 & \
	worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	echo "worker running (pid $$worker, log pathways-worker.log)"; \
	$(BIN)/pathways serve --host 127.0.0.1 --port $${PORT:-5000}

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest tests/unit -q

# Every test: lint, strict types on engine/ and dsl/, then unit, integration (SQLite and the
# PostgreSQL at $$PATHWAYS_TEST_POSTGRES_URL) and end-to-end tests.
test: lint typecheck
	$(BIN)/python -m pytest -q -n auto --dist loadfile --durations=15

# (a)-(c): a step's cost; the realistic workloads (gate reception with answers, more active
# cases than the live-case cache, two processes; BENCH_REALISTIC="--population 20000"); a
# worker's due timers one commit a case and in group commits; then
# the dashboard over generated cases (cold and warm p50/p95, statements per request). The
# issue's size: BENCH_DASHBOARD="--clients 100000 --events 5000000"
bench: install
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.realistic $(BENCH_REALISTIC)
	$(BIN)/python -m bench.timers
	$(BIN)/python -m bench.dashboard $(BENCH_DASHBOARD)

# What users hit at national scale (issue 17): the shipped pathways' real cases copied in SQL to
# 1,000 and 10,000 clients, then pages, API, CLI, memory and table sizes per size, with goals.
# The issue's size: BENCH_SCALE="--clients 1000,10000,100000 --sqlite off --keep scale"
BENCH_SCALE ?= --clients 1000,10000
bench-scale: install
	$(BIN)/python -m bench.scale $(BENCH_SCALE)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache pathways.sqlite*
