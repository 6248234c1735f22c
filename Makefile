# The two commands a newcomer needs are `make demo` and `make test`; both set themselves up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# The PATH make was started with: $(PYTHON) must name the interpreter the user meant, not the venv's own python3.
ORIGINAL_PATH := $(PATH)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
UV_VERSION := 0.13.9
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
PYTHON_ID := $(VENV)/.python-id
PROFILES_STAMP := $(VENV)/.dbt-profiles
CHECKOV_VENV := $(VENV)/tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
LAYER_VENV := $(VENV)/tools/lambda-layer
LAYER_STAMP := $(LAYER_VENV)/.installed

LAKE ?= lake
ROWS ?= 1000000
REPEAT ?= 3
ENV ?= dev
PORT ?= 8080
VERBOSE ?=

# Checked when a target needs the venv, before any rule runs (a few milliseconds): a Python below 3.11 stops make
# with one line, and a venv built by another interpreter is removed so that the rules below build it again.
ifneq ($(filter-out help clean destroy requirements,$(or $(MAKECMDGOALS),$(.DEFAULT_GOAL))),)
PYTHON_PROBLEM := $(shell PATH="$(ORIGINAL_PATH)" scripts/venv-python.sh "$(PYTHON)" "$(VENV)")
ifneq ($(PYTHON_PROBLEM),)
$(error $(PYTHON_PROBLEM))
endif
endif

export DBT_PROFILES_DIR := $(CURDIR)/profiles
export LAKEHOUSE_LAKE ?= $(abspath $(LAKE))
export PATH := $(BIN):$(PATH)

.PHONY: help setup demo test test-fast lint docs report bench bench-history clean requirements deploy destroy athena-local

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's|$$(LAKE)|$(LAKE)|g; s|$$(PORT)|$(PORT)|g' \
		| awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# Written by scripts/venv-python.sh below, only when the interpreter changes.
$(PYTHON_ID): ;

# The venv is rebuilt only when a requirement file or pyproject.toml changes: a no-op takes well under a second.
$(STAMP): requirements/dev.txt pyproject.toml $(PYTHON_ID)
	@test -x $(BIN)/python || PATH="$(ORIGINAL_PATH)" $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(UV) pip sync -q --python $(BIN)/python requirements/dev.txt
	$(UV) pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@

# After `source .venv/bin/activate`, a plain `dbt build` from the repository root finds profiles/.
$(PROFILES_STAMP): $(STAMP)
	@grep -q DBT_PROFILES_DIR $(BIN)/activate || echo 'export DBT_PROFILES_DIR="$(CURDIR)/profiles"' >> $(BIN)/activate
	@touch $@

$(CHECKOV_STAMP): requirements/checkov.txt $(STAMP)
	@test -x $(CHECKOV_VENV)/bin/python || $(UV) venv -q --python $(BIN)/python $(CHECKOV_VENV)
	$(UV) pip sync -q --python $(CHECKOV_VENV)/bin/python requirements/checkov.txt
	@touch $@

# The numpy and pyarrow of the AWS SDK for pandas Lambda layer, for the handler's test (tests/infra).
$(LAYER_STAMP): requirements/lambda-layer.txt $(STAMP)
	@test -x $(LAYER_VENV)/bin/python || $(UV) venv -q --python $(BIN)/python $(LAYER_VENV)
	$(UV) pip sync -q --python $(LAYER_VENV)/bin/python requirements/lambda-layer.txt
	@touch $@

setup: $(PROFILES_STAMP) $(CHECKOV_STAMP) $(LAYER_STAMP) ## create or refresh .venv (idempotent)

# A fixed seed, dates and landing time: run again on the same lake, the demo finds its files landed and adds nothing.
demo: $(PROFILES_STAMP) ## run the pipeline locally on ~200k orders (1% defects), print a summary (VERBOSE=1: all)
	@$(BIN)/lakehouse run --lake $(LAKE) --rows 200000 --days 90 --defect-rate 0.01 \
		--start-date 2026-01-01 --seed 42 --ingested-at 2026-04-01T02:00:00 $(if $(VERBOSE),--verbose)

# Two workers (pytest-xdist): Spark tests on one, sharing its Spark session; dbt, Athena and the rest on either
# (tests/conftest.py groups them, tests/README.md says how). The slowest tests are listed at the end.
test: setup ## run every test (unit, Spark, dbt, Athena stand-in, end-to-end, lint, infra) on two workers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --durations=15

# The lambda-layer venv is for tests/infra's handler test, which test-fast runs: right after `make demo` it is built.
test-fast: $(PROFILES_STAMP) $(LAYER_STAMP) ## the inner loop: ruff and the tests that need neither Spark nor dbt (seconds)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -m "not spark and not dbt and not e2e and not slow"

lint: setup ## ruff, sqlfluff (athena dialect), dbt-score (every model >= 9.0), yamllint, notebooks, cfn-lint, checkov
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/yamllint --strict .
	$(BIN)/nbstripout --verify --keep-id notebooks/*.ipynb
	@mkdir -p $(LAKEHOUSE_LAKE)
	$(BIN)/sqlfluff lint models macros analyses data-tests
	$(BIN)/dbt-score lint --run-dbt-parse --show failing-items
	$(BIN)/cfn-lint infra/*.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download -d infra

# Ctrl-C ends the server quietly with 0, but make gets the terminal's SIGINT too and re-raises it on itself
# (status 130) whatever the recipe does: neither exec nor a trap in the recipe can change make's own status.
docs: $(PROFILES_STAMP) ## generate and serve the dbt docs on http://localhost:$(PORT) (PORT=; with the last KPI report)
	@mkdir -p $(LAKEHOUSE_LAKE)
	$(BIN)/dbt -q docs generate
	@$(BIN)/python -m lakehouse.docs_site --target target --site target/site \
		--report $(LAKEHOUSE_LAKE)/reports/kpi_report.html --serve --port $(PORT)

report: $(PROFILES_STAMP) ## run notebooks/exploration.ipynb on the local lake -> $(LAKE)/reports/kpi_report.html
	$(BIN)/python -m lakehouse.report --lake $(LAKE)

athena-local: $(PROFILES_STAMP) ## run dbt on the athena target against a local Athena stand-in (ARGS="build -s gold_orders+")
	$(BIN)/python -m lakehouse.athena_local --lake $(LAKE) $(ARGS)

bench: setup ## benchmark every stage against a DuckDB baseline (ROWS=1000000 REPEAT=3)
	$(BIN)/python -m bench.run --rows $(ROWS) --repeat $(REPEAT)

bench-history: setup ## the same new day on 30 and on 1,095 days of history (27,397 orders a day): does a day stay flat?
	$(BIN)/python -m bench.history_growth

deploy: setup ## deploy the stack to your AWS account (ENV=dev|prod)
	infra/scripts/deploy.sh $(ENV)

destroy: ## delete the stack (ENV=dev|prod)
	infra/scripts/destroy.sh $(ENV)

requirements: ## re-pin requirements/*.txt from the .in files
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/dev.in -o requirements/dev.txt
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/runtime.in -c requirements/dev.txt -o requirements/runtime.txt
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/checkov.in -o requirements/checkov.txt
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/lambda-layer.in -o requirements/lambda-layer.txt
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/glue.in -c requirements/runtime.txt -o requirements/glue.txt
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/gold-runner.in -c requirements/dev.txt -o requirements/gold-runner.txt

clean: ## remove the venv, the local lake and dbt's build output
	rm -rf $(VENV) $(LAKE) target logs dbt_packages .pytest_cache .ruff_cache
