# Targets mirror the work: set up, run, test (lint, unit, contract, pipeline, integration, browser), emulators.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY311 ?= $(shell command -v python3.11 || echo python3)
PY310 ?= $(shell (command -v pyenv >/dev/null && pyenv root >/dev/null && ls -d $$(pyenv root)/versions/3.10*/bin/python 2>/dev/null | tail -n1) || command -v python3.10)
VENV := .venv
TFX_VENV := .venv-tfx
TOOLS_VENV := .venv-tools
PIP_QUIET := --quiet --disable-pip-version-check
export TF_USE_LEGACY_KERAS := 1

.PHONY: help setup data run run-emulated test lint typecheck test-unit test-contract test-pipeline test-api \
        test-integration test-deploy test-browser tfdv-fixtures calibrate emulators-start emulators-stop emulators-status bench clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(VENV)/.installed: requirements/services.txt requirements/dev.txt shared/pyproject.toml
	test -x $(VENV)/bin/python || $(PY311) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) --upgrade pip
	$(VENV)/bin/pip install $(PIP_QUIET) -r requirements/services.txt -r requirements/dev.txt
	$(VENV)/bin/pip install $(PIP_QUIET) -e shared
	touch $@

$(TFX_VENV)/.installed: requirements/tfx-1.16-py3.10.lock requirements/pipeline.txt shared/pyproject.toml
	test -x $(TFX_VENV)/bin/python || $(PY310) -m venv $(TFX_VENV)
	$(TFX_VENV)/bin/pip install $(PIP_QUIET) --upgrade pip
	$(TFX_VENV)/bin/pip install $(PIP_QUIET) -r requirements/tfx-1.16-py3.10.lock
	$(TFX_VENV)/bin/pip install $(PIP_QUIET) -c requirements/tfx-1.16-py3.10.lock -r requirements/pipeline.txt
	$(TFX_VENV)/bin/pip install $(PIP_QUIET) --no-deps -e shared
	touch $@

$(TOOLS_VENV)/.installed: requirements/tools.txt
	test -x $(TOOLS_VENV)/bin/python || $(PY311) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install $(PIP_QUIET) -r requirements/tools.txt
	touch $@

ui/node_modules/.installed: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
	touch $@

RUN_DEPS := $(VENV)/.installed $(TFX_VENV)/.installed ui/node_modules/.installed

setup: $(RUN_DEPS) $(TOOLS_VENV)/.installed  ## create the Python environments (services, pipeline, infrastructure linters) and install the UI's npm packages

run: $(RUN_DEPS)  ## set up, load MovieLens 100k, start the stack on the embedded defaults and a demo quick test (UI on http://127.0.0.1:8080)
	$(VENV)/bin/python -m experiments_platform.local.stack --demo

run-emulated: $(RUN_DEPS)  ## the same, each service its own process on the Pub/Sub and Firestore emulators
	$(VENV)/bin/python -m experiments_platform.local.stack --emulated

lint: $(VENV)/.installed  ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy shared/experiments_platform
	MYPYPATH=shared $(VENV)/bin/mypy tests/fakes.py
	for s in services/*/; do (cd $$s && $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml .) || exit 1; done

test: setup lint  ## the whole suite: lint, type-check, unit, contract (emulators), API, pipeline, integration, deploy, browser
	@status=0; \
	$(VENV)/bin/python -m pytest tests --ignore=tests/pipeline -q || status=1; \
	$(TFX_VENV)/bin/python -m pytest tests/pipeline -q || status=1; \
	exit $$status

test-unit: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/unit -q

test-contract: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/contract -q

test-api: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/api -q

test-pipeline: $(TFX_VENV)/.installed
	$(TFX_VENV)/bin/python -m pytest tests/pipeline -q

test-integration: setup
	$(VENV)/bin/python -m pytest tests/integration -q

test-deploy: $(VENV)/.installed $(TOOLS_VENV)/.installed
	$(VENV)/bin/python -m pytest tests/deploy -q

test-browser: setup
	$(VENV)/bin/python -m pytest tests/browser -q

.PHONY: test-images
test-images: $(VENV)/.installed  ## build every image with podman on offline stand-in bases; run each as Cloud Run, Cloud Build, Vertex AI and Dataflow start it
	PLATFORM_IMAGE_TESTS=1 $(VENV)/bin/python -m pytest tests/deploy/images -q

data: $(VENV)/.installed  ## load MovieLens 100k (and a 50-user sample) and the synthetic B2B dataset into var/warehouse
	$(VENV)/bin/python -m experiments_platform.data.movielens --data-dir var --sample-users 50
	$(VENV)/bin/python -m experiments_platform.data.synthetic_b2b --data-dir var

emulators-start:  ## start the Pub/Sub, Firestore and fake-gcs-server emulators on 127.0.0.1
	scripts/emulators.sh start

emulators-stop:  ## stop them
	scripts/emulators.sh stop

emulators-status:  ## show which emulators run
	scripts/emulators.sh status

bench: setup  ## run the benchmarks (full-size quick tests, event latency, UI scale, gateway under load)
	$(TFX_VENV)/bin/python benchmarks/quicktest.py
	$(VENV)/bin/python benchmarks/event_latency.py
	$(VENV)/bin/python benchmarks/ui_scale.py
	$(VENV)/bin/python benchmarks/gateway_load.py

tfdv-fixtures: $(TFX_VENV)/.installed  ## regenerate the real TFX statistics/schema fixtures of the tfdv parser tests
	$(TFX_VENV)/bin/python scripts/make_tfdv_fixtures.py

calibrate: setup  ## re-measure quick tests and refit the launch estimates (run on a quiet machine)
	mkdir -p var
	$(TFX_VENV)/bin/python benchmarks/quicktest.py | tee var/quicktest-cold.txt
	$(VENV)/bin/python benchmarks/calibrate_estimates.py --forget-stored-runs --quicktest var/quicktest-cold.txt --measure 10 25 --write

clean:  ## remove local state (var/) and test results
	rm -rf var test-results
