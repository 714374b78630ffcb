# Set-up on a fresh machine: `make demo` or `make test` (each creates .venv if missing).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kreg-installed

.PHONY: install demo test test-unit test-bridges compat-table lint typecheck format bench clean \
	browser-deps keras-matrix test-compat backend-jax backend-torch

CONTRIB := plugins/kreg-contrib
# Bridges to real Keras libraries that ship no kreg plugin: light, pure Python, in CI.
BRIDGES := plugins/kreg-keras-rs plugins/kreg-extra-keras-metrics plugins/kreg-keras-proba
PLUGINS := $(CONTRIB) $(BRIDGES)
# Bridges whose libraries are heavy (keras-hub pulls tokenizers, sentencepiece): not in CI,
# in their own environment, so that they never change what `make test` sees.
HEAVY_BRIDGES := plugins/kreg-keras-hub plugins/kreg-keras-cv
BRIDGES_VENV := .venv-bridges
BRIDGES_PY := $(BRIDGES_VENV)/bin/python
BRIDGES_STAMP := $(BRIDGES_VENV)/.kreg-installed
LINTED := kreg tests benchmarks examples plugins notebooks tools

$(STAMP): pyproject.toml $(foreach p,$(PLUGINS),$(p)/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' $(foreach p,$(PLUGINS),-e $(p))
	touch $(STAMP)

install: $(STAMP)

# Older Keras 3 versions for tests/test_keras_versions.py: pure-Python wheels, installed once
# each into build/keras/VERSION (put first on the path over the installed TensorFlow).
KERAS_MATRIX := 3.10.0 3.11.3 3.12.4 3.13.2 3.14.1
KERAS_FOLDERS := $(foreach v,$(KERAS_MATRIX),build/keras/$(v)/.installed)

build/keras/%/.installed: | $(STAMP)
	$(PY) -m pip install --quiet --no-deps --target build/keras/$* keras==$*
	touch $@

keras-matrix: $(KERAS_FOLDERS)

# Keras's other backends for tests/test_backends.py, CPU builds, each into its own folder
# (put on the path with TensorFlow hidden). JAX: 89 MB of wheels, 523 MB installed, in
# `make test`. PyTorch: 900 MB installed, in `make test-compat` only.
JAX_VERSION := 0.10.2
TORCH_VERSION := 2.13.0

build/backends/jax/.installed: | $(STAMP)
	$(PY) -m pip install --quiet --no-deps --target build/backends/jax \
	  jax==$(JAX_VERSION) jaxlib==$(JAX_VERSION) scipy==1.17.1
	touch $@

build/backends/torch/.installed: | $(STAMP)
	$(PY) -m pip install --quiet --target build/backends/torch torch==$(TORCH_VERSION)
	rm -rf build/backends/torch/numpy* build/backends/torch/bin
	touch $@

backend-jax: build/backends/jax/.installed
backend-torch: build/backends/torch/.installed

$(BRIDGES_STAMP): pyproject.toml $(foreach p,$(PLUGINS) $(HEAVY_BRIDGES),$(p)/pyproject.toml)
	test -x $(BRIDGES_PY) || $(PYTHON) -m venv $(BRIDGES_VENV)
	$(BRIDGES_PY) -m pip install --quiet --upgrade pip
	$(BRIDGES_PY) -m pip install --quiet -e '.[test]' \
	  $(foreach p,$(PLUGINS) $(HEAVY_BRIDGES),-e $(p))
	touch $(BRIDGES_STAMP)

# Debian's chromium for tests/test_browser.py (Playwright drives it; it downloads no browser).
# Never fails: without it, that one test is skipped and says why.
browser-deps:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else SUDO=none; fi; \
	  if [ "$$SUDO" != none ] && command -v apt-get >/dev/null 2>&1; then \
	    APT="$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -q"; \
	    $$APT install -y chromium || { $$APT update && $$APT install -y chromium; }; \
	  fi; \
	  test -x /usr/bin/chromium \
	    || echo "chromium could not be installed: the browser test will be skipped"; \
	}

demo: install
	$(PY) examples/demo.py

lint: install
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

# mypy's settings are in pyproject.toml ([tool.mypy]: kreg/, no untyped defs, no Any returned).
typecheck: install
	$(VENV)/bin/mypy

# The registry and the cell grammar without TensorFlow: seconds.
test-unit: install
	$(PY) -m pytest tests/unit

test: install lint typecheck browser-deps keras-matrix backend-jax
	KREG_KERAS_MATRIX="$(KERAS_MATRIX)" KREG_BACKENDS=jax $(PY) -m pytest kreg tests $(PLUGINS)

# Every bridge, the heavy ones too, in .venv-bridges (not part of CI).
test-bridges: $(BRIDGES_STAMP)
	$(BRIDGES_PY) -m pytest $(BRIDGES) $(HEAVY_BRIDGES)

# Throw-away venvs of the oldest and newest TensorFlow on Python 3.10/3.12/3.13: the fast
# part of the suite and the quickstart notebook; writes the README's "Supported versions"
# table (not part of CI: about 1.5 GB of TensorFlow wheels).
test-compat: install backend-jax backend-torch
	KREG_BACKENDS="jax torch" $(PY) -m pytest tests/test_backends.py
	$(PY) tools/test_compat.py README.md

# docs/compatibility.md from `kreg check --json` of every bridge (not part of CI).
compat-table: $(BRIDGES_STAMP)
	$(BRIDGES_PY) tools/compat_table.py docs/compatibility.md

format: install
	$(VENV)/bin/ruff format $(LINTED)
	$(VENV)/bin/ruff check --fix $(LINTED)

bench: install
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) $(BRIDGES_VENV) .pytest_cache build *.egg-info
