# Two entry points, each self-contained on a fresh machine with Python 3.11+:
#   make demo   set up .venv with what the comparison needs, and run it into figures/
#   make test   set up .venv with the dev tools too, and run lint, type checks and the tests
# VENV=/some/dir puts the environment elsewhere (e.g. to time a fresh install).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
CORE := $(VENV)/.core-stamp
DEV := $(VENV)/.dev-stamp
CHECKED := simlab tests benchmarks examples notebooks

.PHONY: demo test bench notebooks clean

$(BIN)/python:
	@echo "== setup: creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

# The comparison needs only simlab's own dependencies: no Jupyter, Dask or test tools.
$(CORE): pyproject.toml | $(BIN)/python
	@echo "== setup: installing simlab and its dependencies (cryptography, networkx, matplotlib, pandas, tqdm)"
	$(PIP) -e .
	@touch $@

$(DEV): pyproject.toml | $(BIN)/python
	@echo "== setup: installing simlab with the dev extras (Jupyter, Dask, pytest, ruff, mypy, pymerkle)"
	$(PIP) -e '.[dev]'
	@touch $@ $(CORE)

demo: $(CORE)
	@echo "== demo: every scenario under every defence, 3 seeds each, into figures/"
	$(BIN)/simlab compare --out figures --force

test: $(DEV)
	@echo "== test 1/4: lint (ruff check)"
	$(BIN)/ruff check $(CHECKED)
	@echo "== test 2/4: formatting (ruff format --check)"
	$(BIN)/ruff format --check $(CHECKED)
	@echo "== test 3/4: types (mypy --strict)"
	$(BIN)/mypy
	@echo "== test 4/4: tests (pytest: one line per test file; the slowest tests at the end)"
	$(BIN)/python -m pytest --verbosity=0 --durations=5

bench: $(DEV)
	$(BIN)/python -m benchmarks

# Each notebook is notebooks/NN-name.py (jupytext percent format) paired with its .ipynb.
# Edit either one (in an editor, or in Jupyter), then sync the pair and clear the outputs.
notebooks: $(DEV)
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]-*.py
	$(BIN)/jupyter nbconvert --clear-output --inplace --log-level=WARN notebooks/[0-9][0-9]-*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
