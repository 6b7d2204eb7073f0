# The two commands of the quick start: `make demo` and `make test`.
# Each creates or updates the local virtualenv from the project's own files, then runs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo lint test dist bench bench-compare bench-gate-demo bench-table fuzz venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/hashbench run --out results

# The gates: ruff (rules and format) and mypy, each reading its settings from pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks && $(BIN)/ruff format --check src tests benchmarks && $(BIN)/mypy

# pytest exits 5 when it collects no test: that is a failure of the suite, not a pass.
# The gates first (ruff, mypy: `make lint`), then the suite.
test: $(STAMP) lint
	$(BIN)/python -m pytest -q -p no:cacheprovider tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests were collected" >&2; fi; exit $$rc

# An sdist and a wheel in dist/, built offline with this virtualenv's setuptools (the test extra
# has `build`, setuptools and wheel). Install the wheel with `pip install dist/hashbench-*.whl`;
# tests/test_dist.py installs it into a fresh virtualenv and runs it.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .

# A longer fuzzing run of the decoder and every hasher than the bounded one in `make test`.
fuzz: $(STAMP)
	HASHBENCH_FUZZ_EXAMPLES=5000 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py

# Every benchmark suite (long: tens of minutes on 2 cores); JSON in results/benchmarks/ (git-ignored).
bench: $(STAMP)
	mkdir -p results/benchmarks
	$(BIN)/python -m pytest -q -p no:cacheprovider benchmarks --benchmark-only --benchmark-json=results/benchmarks/latest.json

# The CI speed gate: BASE checked out in a temporary git worktree, the `gate` benchmarks run for
# base and head in turns (ROUNDS each), exit 1 when a head minimum is slower than the base's by
# more than TOLERANCE. TIMER=cpu (default) ignores time spent waiting for other processes;
# TIMER=wall on a quiet runner. See benchmarks/README.md.
BASE      ?=
TOLERANCE ?= 0.15
ROUNDS    ?= 3
TIMER     ?= cpu
bench-compare: $(STAMP)
	@if [ -z "$(BASE)" ]; then echo "usage: make bench-compare BASE=<git ref> [TOLERANCE=0.15] [ROUNDS=3] [TIMER=cpu|wall]" >&2; exit 2; fi
	$(BIN)/python benchmarks/compare.py --base "$(BASE)" --tolerance $(TOLERANCE) --rounds $(ROUNDS) --timer $(TIMER)

# Shows the gate both ways: HEAD vs HEAD passes; HEAD vs HEAD with the head's FlatIndex slowed by
# benchmarks/conftest.py (HASHBENCH_BENCH_FLAT_QUERY_BLOCK=1) fails.
bench-gate-demo: $(STAMP)
	PYTHON=$(BIN)/python sh benchmarks/demo_gate.sh --rounds $(ROUNDS) --timer $(TIMER)

# The README "Performance" table: every figure a ratio against a baseline measured in the same run.
bench-table: $(STAMP)
	$(BIN)/python benchmarks/table.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .benchmarks
