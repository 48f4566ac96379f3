# healthmart: `make run` runs the daily job on the sample exports, `make test` runs the tests.
# Both set up everything they need: uv (from PyPI), the locked virtualenv, the dbt manifest.

PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export UV_PYTHON := $(PYTHON)

.PHONY: setup run test browser lint ui summary report clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen
	@touch $@

run: setup
	$(BIN)/healthmart run --sample

test: setup browser
	$(BIN)/healthmart parse
	$(BIN)/pytest

# The health report test renders the report in headless Chromium, from Debian's packages.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }

# ruff on the Python, sqlfluff on the dbt models and singular tests (dbt_models/.sqlfluff). The
# dbt templater compiles every model, and the config macros query the seeds: it works on a
# warehouse of its own, seeded here, and its own target folder, so it never touches a run's.
LINT_DBT_ENV := DBT_TARGET_PATH=target/lint HEALTHMART_WAREHOUSE_PATH=$(CURDIR)/dbt_models/target/lint/lint.duckdb
lint: setup dbt_models/target/lint/lint.duckdb
	$(BIN)/ruff check dagster_project tests benchmarks
	$(BIN)/ruff format --check dagster_project tests benchmarks
	cd dbt_models && $(LINT_DBT_ENV) ../$(BIN)/sqlfluff lint models tests

dbt_models/target/lint/lint.duckdb: $(VENV)/.installed $(wildcard seeds/*) dbt_models/dbt_project.yml
	@mkdir -p $(@D) && rm -f $@
	cd dbt_models && $(LINT_DBT_ENV) ../$(BIN)/dbt seed --profiles-dir . --quiet

summary: setup
	$(BIN)/healthmart summary

report: setup
	$(BIN)/healthmart report

# Fit signal weights to the churn history: writes reports/calibration/ (proposal + comparison).
.PHONY: calibrate
calibrate: setup
	$(BIN)/healthmart calibrate

# dbt's documentation site (every model and column, the lineage graph) as one static HTML
# file. It reads the warehouse, so run `make run` first (and not while a run is going).
WAREHOUSE_PATH := $(abspath $(or $(HEALTHMART_WAREHOUSE_PATH),data/warehouse.duckdb))
.PHONY: docs
docs: setup
	@test -f "$(WAREHOUSE_PATH)" || { echo "No warehouse at $(WAREHOUSE_PATH): run 'make run' first." >&2; exit 1; }
	cd dbt_models && HEALTHMART_WAREHOUSE_PATH="$(WAREHOUSE_PATH)" ../$(BIN)/dbt docs generate --static --profiles-dir . --quiet
	@mkdir -p docs/site
	@cp dbt_models/target/static_index.html docs/site/index.html
	@echo "dbt docs: $(CURDIR)/docs/site/index.html (open it in a browser)"

ui: setup
	$(BIN)/healthmart parse
	$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) dbt_models/target dbt_models/logs .dagster_home

# Benchmark, apart from the tests: the pipeline (full build, incremental day, current-day
# build) against hand-written DuckDB scripts (latest date, full history) and a pandas version,
# at the chosen scales (S 2,000 accounts, M 100,000, L 1,000,000). Writes docs/benchmark.json and .md; the exports,
# warehouses and logs go to HEALTHMART_BENCH_DIR (data/bench).
SCALES ?= S
BENCH_STEPS ?= sql,pandas,history,current_day,backfill,full,incremental
BENCH_TIMEOUT ?= 3600
.PHONY: bench
bench: setup
	$(BIN)/python -m benchmarks --scales $(SCALES) --steps $(BENCH_STEPS) \
		--timeout $(BENCH_TIMEOUT)
