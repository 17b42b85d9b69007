# Everything a learner or teacher runs. `make lab` and `make test` set up .venv on first use.
PYTHON     ?= python3
VENV       ?= .venv
BIN        := $(VENV)/bin
# torch is installed first, and only when the environment has none, so an installed torch is
# reused. Override for another platform, e.g. make test TORCH_SPEC='torch>=2.2'. From PyPI, torch
# on Linux is the CUDA build (several GB); PyTorch's CPU-only wheels (about 200 MB) come from
# its own index: make lab TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
PIP_TORCH  = -m pip install $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
# e.g. VENV_FLAGS=--system-site-packages to reuse a torch installed in the base Python
VENV_FLAGS ?=
# Two stamps: make lab installs the learner's extra (lab), make test adds the checks' (test).
LAB_STAMP  := $(VENV)/.installed-lab
STAMP      := $(VENV)/.installed
NB_GLOB    := $(shell $(PYTHON) tools/project.py glob)
NOTEBOOKS  := $(sort $(wildcard notebooks/$(NB_GLOB).ipynb))
# Every notebook run has a per-cell deadline; its one home is tools/notebook_runner.py.
CELL_TIMEOUT_S := $(shell sed -n 's/^CELL_TIMEOUT_S = \([0-9]*\).*/\1/p' tools/notebook_runner.py)
NBVAL      := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=$(CELL_TIMEOUT_S) --nbval-kernel-startup-timeout=60
ROOT_FLAG  := $(if $(filter 0,$(shell id -u)),--allow-root,)
PORT       ?= 8888

.PHONY: help setup lab test test-py test-nb test-portable test-compat test-min screenshots sync zh-status execute readme bench stress clean site test-site weights

help:
	@echo "make lab      set up .venv if needed, then JupyterLab on 127.0.0.1 (token auth)"
	@echo "make test     set up .venv if needed, then pytest tests/ and strict nbval on every English notebook"
	@echo "make test-portable  strict nbval and the notebook-claims tests again, as two other kinds of"
	@echo "              CPU compute (an AVX2 laptop, an SSE4.2 machine): tools/portable.py"
	@echo "make test-compat  Colab's way: ipywidgets 7.7 (.venv-compat), every notebook installed by its"
	@echo "              own first cell (pip install git+...) and run from outside the repository"
	@echo "make test-min every dependency at its declared lower bound (.venv-min), tests/ without the browser"
	@echo "make screenshots  browser test, then copy each notebook's slider panel to docs/screenshots/"
	@echo "make sync     re-pair notebooks/*.ipynb and their .py (jupytext), then build notebooks/zh/*.ipynb"
	@echo "              from the Chinese .py and the English outputs (tools/zh.py build)"
	@echo "make zh-status  Chinese notebooks: cells whose English changed, English notebooks with no twin"
	@echo "make execute  re-execute every notebook in place, deterministically (and rebuild notebooks/zh/*.ipynb)"
	@echo "make readme   rebuild the badge tables of README.md and README.zh.md from pyproject.toml"
	@echo "make bench    measured speed and memory table (benchmarks/, a few minutes)"
	@echo "make weights  retrain notebook 07's longer-trained network, helpers/weights/digits_long.pt (seeded, minutes)"
	@echo "make stress   every notebook 20 times over with a hang watchdog (about 20 min)"
	@echo "make site     the course as a static website, English and Chinese, in build/site (tools/website.py)"
	@echo "make test-site  make site, then its browser test in Chromium (tests/test_site.py)"

setup: $(STAMP)

$(LAB_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python $(PIP_TORCH)
	$(BIN)/python -m pip install -e ".[lab]"
	touch $@

$(STAMP): $(LAB_STAMP)
	$(BIN)/python -m pip install -e ".[lab,test]"
	touch $@

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=notebooks $(ROOT_FLAG)

# make test runs in two worker processes (pytest-xdist, --dist loadfile: each test file is one unit
# of work, and tests/conftest.py makes the notebooks one unit with the browser and determinism
# tests, which share their runs). TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest tests $(NOTEBOOKS) $(NBVAL) -q $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test-py: $(STAMP)
	$(BIN)/python -m pytest tests -q

test-nb: $(STAMP)
	$(BIN)/python -m pytest $(NOTEBOOKS) $(NBVAL) -q

# The notebooks as other CPUs compute them: MKL's and ATen's kernels steered to an AVX2 laptop's
# and an older SSE4.2 machine's paths (tools/portable.py says which it really changes here, and
# fails if none changes both). The printed outputs must be the same on every path.
test-portable: $(STAMP)
	$(BIN)/python tools/portable.py run $(NOTEBOOKS) tests/test_notebook_claims_*.py $(NBVAL) -q

# Colab's widget versions: a second environment with ipywidgets 7.7, same torch rule as setup.
COMPAT_VENV  ?= .venv-compat
COMPAT_BIN   := $(COMPAT_VENV)/bin
COMPAT_STAMP := $(COMPAT_VENV)/.installed
COMPAT_PINS  ?= ipywidgets==7.7.*

$(COMPAT_STAMP): pyproject.toml
	test -x $(COMPAT_BIN)/python || $(PYTHON) -m venv $(VENV_FLAGS) $(COMPAT_VENV)
	$(COMPAT_BIN)/python -c "import torch" 2>/dev/null || $(COMPAT_BIN)/python $(PIP_TORCH)
	$(COMPAT_BIN)/python -m pip install -e ".[lab,test]" "$(COMPAT_PINS)"
	touch $@

# PATH first: any kernel started by name also comes from .venv-compat. compat_colab_install.py
# installs each notebook the way Colab does, in a fresh environment on top of this one.
test-compat: $(COMPAT_STAMP)
	PATH="$(CURDIR)/$(COMPAT_BIN):$$PATH" $(COMPAT_BIN)/python -m pytest \
	    tests/compat_widget_panels.py tests/compat_colab_install.py $(NOTEBOOKS) $(NBVAL) -q -s

# The declared lower bound of every dependency, installed exactly (tools/project.py minimum-pins
# turns each ">=X" of pyproject.toml into "==X"; torch 2.0 comes from PyPI, a CUDA build of about
# 5 GB), then tests/ without the browser test. Not part of make test; CI runs it too.
MIN_VENV  ?= .venv-min
MIN_BIN   := $(MIN_VENV)/bin
MIN_STAMP := $(MIN_VENV)/.installed

$(MIN_STAMP): pyproject.toml
	test -x $(MIN_BIN)/python || $(PYTHON) -m venv $(MIN_VENV)
	$(MIN_BIN)/python -m pip install -q $$($(PYTHON) tools/project.py minimum-pins)
	$(MIN_BIN)/python -m pip install -q --no-deps -e .
	$(MIN_BIN)/python -m pip check
	touch $@

test-min: $(MIN_STAMP)
	$(MIN_BIN)/python -c "import numpy, scipy, matplotlib, torch; print('test-min: numpy', numpy.__version__, 'scipy', scipy.__version__, 'matplotlib', matplotlib.__version__, 'torch', torch.__version__)"
	PATH="$(CURDIR)/$(MIN_BIN):$$PATH" $(MIN_BIN)/python -m pytest tests -q --ignore=tests/test_browser.py

# README pictures: the browser test must run (no skip), then its panel crops are copied.
screenshots: $(STAMP)
	rm -f screenshots/$(NB_GLOB).png
	REQUIRE_BROWSER_TEST=1 $(BIN)/python -m pytest tests/test_browser.py -q \
	    -k test_notebook_runs_in_jupyterlab
	mkdir -p docs/screenshots
	cp screenshots/$(NB_GLOB).png docs/screenshots/

# English pairs first: the Chinese .ipynb take their outputs from the English .ipynb. NB_GLOB is
# notebooks/ only (it does not descend into notebooks/zh/), so nbval and the badges stay English.
sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/$(NB_GLOB).py
	$(BIN)/python tools/zh.py build

zh-status: $(STAMP)
	$(BIN)/python tools/zh.py status

execute: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py $(NB)
	$(BIN)/python tools/zh.py build

readme:
	$(PYTHON) tools/project.py readme

# Measured speed and memory (a few minutes): prints a table, writes benchmarks/results/latest.json
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# Notebook 07's longer-trained network (tools/digits_weights.py; tests/test_bits_per_level.py
# checks the file is reproduced under DIGITS_WEIGHTS_TEST=1)
weights: $(STAMP)
	$(BIN)/python tools/digits_weights.py

# Hang hunting after a Jupyter upgrade (not part of make test). Another environment, e.g.
#   make stress STRESS_VENV=.venv-ik6 STRESS_PINS='ipykernel==6.*'
STRESS_VENV ?= $(VENV)
STRESS_PINS ?=
STRESS_ARGS ?= --passes 20
stress: $(STAMP)
	test -x $(STRESS_VENV)/bin/python || $(PYTHON) -m venv $(VENV_FLAGS) $(STRESS_VENV)
	$(STRESS_VENV)/bin/python -c "import torch" 2>/dev/null || $(STRESS_VENV)/bin/python $(PIP_TORCH)
	$(STRESS_VENV)/bin/python -c "import helpers" 2>/dev/null || $(STRESS_VENV)/bin/python -m pip install -e ".[lab,test]"
	$(STRESS_VENV)/bin/python -m pip install -q py-spy $(STRESS_PINS)
	PATH="$(CURDIR)/$(STRESS_VENV)/bin:$$PATH" $(STRESS_VENV)/bin/python tools/stress.py $(STRESS_ARGS)

# The website (issue 30): the docs extra (Sphinx, myst-nb, the book theme) on top of lab, and
# MathJax and axe-core from npm (site/package-lock.json). make lab stays lean: it installs neither.
DOCS_STAMP := $(VENV)/.installed-docs
NPM_STAMP  := site/node_modules/.installed
SITE_DIR   := build/site

$(DOCS_STAMP): $(LAB_STAMP)
	$(BIN)/python -m pip install -e ".[lab,docs]"
	touch $@

$(NPM_STAMP): site/package.json site/package-lock.json
	npm ci --prefix site --no-audit --no-fund
	touch $@

site: $(DOCS_STAMP) $(NPM_STAMP)
	$(BIN)/python tools/website.py build

test-site: $(STAMP) site
	REQUIRE_SITE_TEST=1 $(BIN)/python -m pytest tests/test_site.py -q

clean:
	rm -rf $(VENV) $(COMPAT_VENV) $(MIN_VENV) .pytest_cache .hypothesis
