# numerpilot: every target creates .venv on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench catalogue clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# 1) the whole round on synthetic data, no keys, no network;
# 2) the same round against the local Numerai sandbox: download, train, submit, scores.
demo: $(STAMP)
	@mkdir -p demo
	cd demo && ../$(BIN)/numerpilot run --demo
	$(BIN)/python -m numerpilot.sandbox.demo demo/sandbox

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy

# One worker per core (pytest-xdist): the daemon and soak tests mostly wait on the sandbox.
pytest: $(STAMP)
	$(BIN)/pytest -n auto; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

# docs/bad-inputs.md from the tests marked bad_input (each one proves its line).
catalogue: $(STAMP)
	NUMERPILOT_CATALOGUE=docs/bad-inputs.md $(BIN)/pytest -q -m bad_input

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
