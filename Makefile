# twostep: local development. `make run` serves the app; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Re-installs when pyproject.toml changes: the stamp is keyed on its hash.
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# pytest-xdist workers: one per core of the 2-core machines the suite is sized for; each
# module is one unit of work, and the in-process API tests stay together (tests/aws_calls.py).
TEST_WORKERS ?= 2

.PHONY: venv run test lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade 'pip<26.3'  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: venv
	$(PY) -m local.run

test: venv
	test -x /usr/bin/chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }
	$(PY) -m pytest -q --durations=20 -n $(TEST_WORKERS) --dist loadgroup

lint: venv
	$(VENV)/bin/cfn-lint infra/template.yaml infra/waf.yaml

clean:
	rm -rf test-artifacts .pytest_cache build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# --- AWS (docs/deploying.md) -------------------------------------------------------------
STAGE ?= dev
.PHONY: package deploy

# build/$(STAGE)/sam.yaml (tables, keys, Lambda, API Gateway, S3, CloudFront) + deployment.zip
package: venv
	$(PY) infra/package.py $(STAGE)

deploy: venv
	PY=$(PY) infra/deploy.sh $(STAGE)

# --- Performance (bench/README.md) ------------------------------------------------------
# One table of figures, test-artifacts/bench.json; exits non-zero naming each budget exceeded.
# BENCH_ARGS="--only calls,sizes" or "--skip-package" narrows it.
.PHONY: bench
bench: venv
	$(PY) -m bench $(BENCH_ARGS)
