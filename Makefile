# rsbatch — every target creates .venv on first use (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SQL ?= query.sql

.PHONY: setup run test lint validate-template bench build deploy invoke clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,dev]'
	touch $(STAMP)

run: setup
	$(BIN)/rsbatch run $(SQL) --local

test: setup lint validate-template
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

validate-template:
	tools/validate-template.sh

bench: setup
	$(BIN)/python -m bench

build: setup
	tools/build.sh --python $(BIN)/python $(if $(ARCH),--arch $(ARCH))

deploy: setup
	tools/deploy.sh $(if $(ARCH),--arch $(ARCH)) $(if $(GUIDED),--guided)

invoke: setup
	$(BIN)/rsbatch start $(SQL)

clean:
	rm -rf .rsbatch .aws-sam build .pytest_cache .mypy_cache .ruff_cache
