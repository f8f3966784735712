# Two set-up-free commands (each bootstraps .venv from pyproject.toml):
#   make verify   the whole suite on the reference solvers at --profile standard, writing reports/latest/
#   make test     the package's tests and the suite at --profile quick; non-zero exit on any failure
#   make calibrate  each check's measured false-alarm rate (both stages), the suite-level rates and the power on its
#                   record's mutants -> reports/calibration.json, on a local Dask cluster (hours with the defaults of
#                   sgd-conformance calibrate; CALIBRATE_ARGS="--stale" re-measures what the code changed,
#                   CALIBRATE_ARGS="--scheduler tcp://HOST:8786" runs on a Dask cluster)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
REPORT := reports/latest

.PHONY: verify test calibrate lint clean bench bench-gpu

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev,torch]'
	touch $@

# both targets run on every core (pytest-xdist; one BLAS thread per worker, so workers do not oversubscribe the
# cores); per-check seeds make verdicts independent of the worker, and the controller writes one merged report
PARALLEL := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
verify: $(VENV)/.installed
	$(PARALLEL) $(PY) -m pytest checks -n auto --sgdc-profile standard --sgdc-report-json $(REPORT)/results.json \
		--sgdc-report-html $(REPORT)/index.html

test: $(VENV)/.installed
	$(PARALLEL) $(PY) -m pytest tests checks -n auto --sgdc-profile quick

# the calibration sets one BLAS thread per worker itself; the record is merged, so it can be built claim by claim, and
# an interrupted run resumes from its journal (reports/calibration.json.journal)
CALIBRATE_ARGS ?=
calibrate: $(VENV)/.installed
	$(VENV)/bin/sgd-conformance calibrate --out reports/calibration.json $(CALIBRATE_ARGS)

# make bench: kernel benchmarks (benchmarks/, never part of make test) on one thread per library (per-core
# figures, robust to a busy second core); installs the optional extra "bench"
$(VENV)/.installed-bench: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,torch,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	@mkdir -p .benchmarks
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(PY) -m pytest benchmarks/test_kernels.py -p no:cacheprovider --benchmark-only \
		--benchmark-json=.benchmarks/latest.json --benchmark-columns=min,median,rounds --benchmark-sort=name -q
	$(PY) benchmarks/table.py .benchmarks/latest.json benchmarks/latest.md

# make bench-gpu: the same kernels on CuPy at 10^6 chains (needs CuPy and a CUDA device; skips without)
bench-gpu: $(VENV)/.installed-bench
	@mkdir -p .benchmarks
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(PY) -m pytest benchmarks/test_gpu_kernels.py -p no:cacheprovider --benchmark-only \
		--benchmark-json=.benchmarks/latest_gpu.json --benchmark-sort=name -q
	$(PY) benchmarks/table.py .benchmarks/latest_gpu.json benchmarks/latest_gpu.md

# ruff on everything; mypy (strict) on the harness and the top-level package, over the installed layout: a tree of
# links build/typecheck/sgd_conformance to the folders that pyproject.toml maps
TYPECHECK := build/typecheck/sgd_conformance
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check theory solvers checks reports tests benchmarks
	@rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)
	@for f in __init__.py __main__.py cli.py; do ln -s ../../../checks/cli/$$f $(TYPECHECK)/$$f; done
	@for d in theory solvers checks reports; do ln -s ../../../$$d $(TYPECHECK)/$$d; done
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(REPORT) *.egg-info build
