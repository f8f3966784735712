# Two set-up-free commands (each bootstraps .venv from pyproject.toml):
#   make verify   the whole suite on the reference solvers at --profile standard, writing reports/latest/
#   make test     the package's tests and the suite at --profile quick; non-zero exit on any failure
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
REPORT := reports/latest

.PHONY: verify test lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev,torch]'
	touch $@

verify: $(VENV)/.installed
	$(PY) -m pytest checks --profile standard --report-json $(REPORT)/results.json --report-html $(REPORT)/index.html

test: $(VENV)/.installed
	$(PY) -m pytest tests checks --profile quick

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check theory solvers checks reports tests

clean:
	rm -rf $(VENV) $(REPORT) *.egg-info
