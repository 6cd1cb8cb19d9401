# digiready: `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-packages demo test lab check build

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# bubblewrap (grading sandbox) and chromium (browser tests), with apt when allowed
system-packages:
	@bash scripts/system-packages

demo: $(STAMP) system-packages
	$(BIN)/digiready demo

test: $(STAMP) system-packages
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/digiready lab

check: $(STAMP)
	$(BIN)/digiready check

build: $(STAMP)
	$(BIN)/digiready build
