# The two commands of the quick start: `make demo` and `make test`.
# Each creates or updates the local virtualenv from the project's own files, then runs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench fuzz venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/hashbench run --out results

# pytest exits 5 when it collects no test: that is a failure of the suite, not a pass.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests were collected" >&2; fi; exit $$rc

# A longer fuzzing run of the decoder and every hasher than the bounded one in `make test`.
fuzz: $(STAMP)
	HASHBENCH_FUZZ_EXAMPLES=5000 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py

bench: $(STAMP)
	mkdir -p results/benchmarks
	$(BIN)/python -m pytest -q benchmarks --benchmark-only --benchmark-json=results/benchmarks/latest.json

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .benchmarks
