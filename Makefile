# rsbatch — every target creates .venv on first use (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SQL ?= query.sql

.PHONY: setup run test pytest lint validate-template bench build deploy invoke clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,dev]'
	touch $(STAMP)

run: setup
	$(BIN)/rsbatch run $(SQL) --local

# The template tools install into their own venvs while the tests run (output kept per target).
test: setup lint
	$(MAKE) --no-print-directory -j2 --output-sync=target validate-template pytest

# Tests mostly wait on servers and timeouts, so four workers fit on two cores.
pytest: setup
	$(BIN)/pytest -q -n 4 --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# template.yaml, then the template `make build` deploys: + the schedules of pipelines/*.yaml.
validate-template: setup
	tools/validate-template.sh
	$(BIN)/python -m rsbatch.build_schedules --out .rsbatch/validate/template.yaml
	tools/validate-template.sh .rsbatch/validate/template.yaml

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
