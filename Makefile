# Set-up on a fresh machine: `make demo` or `make test` (each creates .venv if missing).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kreg-installed

.PHONY: install demo test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) examples/demo.py

lint: install
	$(VENV)/bin/ruff check kreg tests benchmarks examples
	$(VENV)/bin/ruff format --check kreg tests benchmarks examples

test: install lint
	$(PY) -m pytest kreg tests

format: install
	$(VENV)/bin/ruff format kreg tests benchmarks examples
	$(VENV)/bin/ruff check --fix kreg tests benchmarks examples

bench: install
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
