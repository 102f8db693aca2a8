# focusbot: `make run` starts it (the local console when no Slack credentials are set), `make test` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
# The PostgreSQL the tests also run on, when set (CI sets it).
TEST_DATABASE_URL ?=
# The PostgreSQL `make bench` also measures the data on, when set.
BENCH_DATABASE_URL ?=

.PHONY: run console console-picture test lint format migrate dist bench bench-commands eval-pain clean

$(STAMP): pyproject.toml
	@echo "focusbot: creating a virtualenv in $(VENV) with $(PYTHON)…"
	@$(PYTHON) -m venv $(VENV)
	@echo "focusbot: upgrading pip…"
	@$(BIN)/pip install --quiet --upgrade pip
	@echo "focusbot: installing focusbot and its dependencies into $(VENV) (a minute or two the first time)…"
	@$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)
	@echo "focusbot: installed; $(BIN)/focusbot --help lists its commands."

run: $(STAMP)
	$(BIN)/focusbot start

console: $(STAMP)
	$(BIN)/focusbot console

# The README's picture of the console: a real session, saved by rich as SVG.
console-picture: $(STAMP)
	$(BIN)/python docs/console_picture.py docs/console.svg

migrate: $(STAMP)
	$(BIN)/focusbot migrate

# The wheel to install focusbot elsewhere (see README.md), into dist/.
dist: $(STAMP)
	@echo "focusbot: building the wheel into dist/…"
	@$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .
	@ls dist/focusbot-*.whl

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Most tests wait on sockets, subprocesses and the clock rather than compute, so four workers pay off
# even on two cores; a file's tests stay together so that shared fixtures (the wheel) are built once.
PYTEST_WORKERS ?= 4
test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(if $(TEST_DATABASE_URL),--postgres-url=$(TEST_DATABASE_URL))

$(BENCH_STAMP): $(STAMP)
	@echo "focusbot: installing the benchmarks' dependencies…"
	@$(BIN)/pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

# Benchmarks (a few minutes): figures into BENCHMARKS.md, plot into bench/latency_vs_data.png.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(if $(BENCH_DATABASE_URL),--postgres-url=$(BENCH_DATABASE_URL))

# Each command against a bare Bolt app, a burst of 150, workers on PostgreSQL (a few minutes a
# part): figures into BENCHMARKS.md. PART=cpu|burst|workers runs one part alone.
PART ?=
bench-commands: $(BENCH_STAMP)
	$(BIN)/python -m bench.commands $(if $(PART),--part $(PART)) $(if $(BENCH_DATABASE_URL),--postgres-url=$(BENCH_DATABASE_URL))

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist

# Pain point matching quality over HTTP (a few minutes); with PAIN_MODEL_PATH also the model and hybrid.
eval-pain: $(STAMP)
	$(BIN)/python -m bench.pain_quality
