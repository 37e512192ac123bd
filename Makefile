# Every target creates .venv with python3 -m venv and installs what it needs:
# nothing else is assumed on the machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# Test worker processes (pytest-xdist); 0 runs the tests in this process. Each test file runs
# whole on one worker (--dist loadfile), so its module fixtures (a solved example, a browser, a
# server) are built once.
TEST_WORKERS ?= 2
XDIST  := -n $(TEST_WORKERS) --dist loadfile

.PHONY: demo test test-long bench lint typecheck clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/portfolio backends
	$(BIN)/portfolio solve instances/example_borough.yaml --time-limit 60
	@if [ -f instances/example_borough_multiyear.yaml ]; then \
		$(BIN)/portfolio solve instances/example_borough_multiyear.yaml --time-limit 120; \
	fi
	@if [ -f instances/example_borough_scenarios.yaml ]; then \
		$(BIN)/portfolio solve instances/example_borough_scenarios.yaml --time-limit 60; \
	fi

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest tests -q -m "not slow" -p no:cacheprovider $(XDIST)

test-long: $(VENV)/.installed-dev
	$(BIN)/python -m pytest tests -q -p no:cacheprovider $(XDIST)

bench: $(VENV)/.installed-dev
	$(BIN)/python -m pytest benchmarks -q -p no:cacheprovider --benchmark-only \
		--benchmark-columns=min,mean,max,rounds
	$(BIN)/portfolio bench all --backend highs --time-limit 60 --output bench-results.json
	$(BIN)/python benchmarks/bench_multiyear.py --services 300 --years 5 --gap 1e-3 --time-limit 60
	$(BIN)/python benchmarks/bench_multiyear.py --services 1000 --years 7 --gap 1e-2 --time-limit 60
	$(BIN)/python benchmarks/bench_multiyear.py --instance instances/example_borough_multiyear.yaml \
		--gap 1e-7 --time-limit 120

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

typecheck: lint

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .benchmarks
