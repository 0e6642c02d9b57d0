# The two commands of the README: `make reports` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
ARGS   ?=

.PHONY: reports test test-fast lint lab validate list clean-reports bench hooks

$(STAMP): pyproject.toml
	@$(PYTHON) -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 'Python >= 3.11 is needed (found ' + sys.version.split()[0] + ')')"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo 'could not create $(VENV): on Debian, apt-get install python3-venv' >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

reports: $(STAMP)
	$(BIN)/rare-earth-report build $(ARGS)

# The whole suite, spread over the cores (pytest-xdist). Tests that share built reports or notebook runs get them from
# session fixtures that run once per test run behind a file lock (tests/conftest.py), on whichever worker asks first;
# the tests on those shared runs are collected first. --dist loadgroup hands the tests out a few at a time in that
# order, so that the long runs overlap the short tests, and gives each xdist_group (a module whose tests share an
# expensive module fixture: a Dask cluster, a browser, a model run) to one worker, which computes it once.
# Notebook and browser tests included. One test worker per core and one more: some build tests spend their time
# waiting on a build's subprocesses and kernels, or for a signal to take effect, and the extra worker keeps the cores
# busy meanwhile; more workers only add their own collection and module fixtures (on 2 cores, 3 workers spent 7% less
# CPU than 4, and 2 left the cores idle 14% of the run: benchmarks/bench_tests.py).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(ARGS)

# Unit, data, lint and contract tests: no notebook runs, no browser. Short tests only, so xdist's default blocks
# (handing 768 tests out one at a time cost a quarter of the run: 67 s against 50 s idle).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto -m "not slow and not browser" $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

validate: $(STAMP)
	$(BIN)/rare-earth-report validate

# Once per clone: strip notebooks and run ruff on every commit (.pre-commit-config.yaml).
hooks: $(STAMP)
	$(BIN)/pre-commit install

list: $(STAMP)
	$(BIN)/rare-earth-report list

# JupyterLab (the lab extra: jupyterlab, jupyterlab-myst) installed once, again only when pyproject.toml changes;
# opens the repository root (notebooks/, params/, the library). Extra flags: make lab ARGS="--no-browser --port 8899"
LAB_STAMP = $(VENV)/.lab-installed
$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	touch $@

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_timeline.py
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_preview.py

clean-reports:
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
