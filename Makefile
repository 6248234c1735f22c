# The two commands a newcomer needs are `make demo` and `make test`; both set themselves up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
UV_VERSION := 0.13.9
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
CHECKOV_VENV := $(VENV)/tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
LAYER_VENV := $(VENV)/tools/lambda-layer
LAYER_STAMP := $(LAYER_VENV)/.installed

LAKE ?= lake
ROWS ?= 1000000
REPEAT ?= 3
ENV ?= dev

export DBT_PROFILES_DIR := $(CURDIR)/profiles
export LAKEHOUSE_LAKE ?= $(abspath $(LAKE))
export PATH := $(BIN):$(PATH)

.PHONY: help setup demo test test-fast lint docs report bench clean requirements deploy destroy athena-local

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# The venv is rebuilt only when a requirement file or pyproject.toml changes: a no-op takes well under a second.
$(STAMP): requirements/dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(UV) pip sync -q --python $(BIN)/python requirements/dev.txt
	$(UV) pip install -q --python $(BIN)/python --no-deps -e .
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

setup: $(STAMP) $(CHECKOV_STAMP) $(LAYER_STAMP) ## create or refresh .venv (idempotent)

demo: $(STAMP) ## run the whole pipeline locally on ~200k orders (1% defects) and print what it built
	$(BIN)/lakehouse run --lake $(LAKE) --rows 200000 --days 90 --defect-rate 0.01

test: setup ## run every test (unit, Spark, dbt, Athena stand-in, end-to-end, lint, infra)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

test-fast: $(STAMP) ## the inner loop: ruff and the tests that need neither Spark nor dbt (seconds)
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

docs: $(STAMP) ## generate and serve the dbt docs on http://localhost:8080 (with the last KPI report)
	@mkdir -p $(LAKEHOUSE_LAKE)
	$(BIN)/dbt docs generate
	$(BIN)/python -m lakehouse.docs_site --target target --site target/site --report $(LAKEHOUSE_LAKE)/reports/kpi_report.html
	$(BIN)/dbt docs serve --port 8080 --target-path target/site

report: $(STAMP) ## run notebooks/exploration.ipynb on the local lake -> $(LAKE)/reports/kpi_report.html
	$(BIN)/python -m lakehouse.report --lake $(LAKE)

athena-local: $(STAMP) ## run dbt on the athena target against a local Athena stand-in (ARGS="build -s gold_orders+")
	$(BIN)/python -m tests.athena --lake $(LAKE) $(ARGS)

bench: setup ## benchmark every stage against a DuckDB baseline (ROWS=1000000 REPEAT=3)
	$(BIN)/python -m bench.run --rows $(ROWS) --repeat $(REPEAT)

deploy: setup ## deploy the stack to your AWS account (ENV=dev|prod)
	infra/scripts/deploy.sh $(ENV)

destroy: ## delete the stack (ENV=dev|prod)
	infra/scripts/destroy.sh $(ENV)

requirements: ## re-pin requirements/*.txt from the .in files
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/dev.in -o requirements/dev.txt
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/runtime.in -c requirements/dev.txt -o requirements/runtime.txt
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/checkov.in -o requirements/checkov.txt
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/lambda-layer.in -o requirements/lambda-layer.txt
	$(UV) pip compile -q --python-version 3.11 --no-annotate requirements/gold-runner.in -c requirements/dev.txt -o requirements/gold-runner.txt

clean: ## remove the venv, the local lake and dbt's build output
	rm -rf $(VENV) $(LAKE) target logs dbt_packages .pytest_cache .ruff_cache
