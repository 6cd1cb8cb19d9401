# digiready: `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PROXY := $(VENV)/hub-proxy/node_modules/.bin/configurable-http-proxy

.PHONY: install system-packages hub-proxy demo test lab check build

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# bubblewrap (grading sandbox) and chromium (browser tests), with apt when allowed
system-packages:
	@bash scripts/system-packages

# JupyterHub's proxy (an npm package) for the hub test, into .venv/hub-proxy; needs node and npm
$(PROXY): | system-packages
	npm install --silent --no-audit --no-fund --prefix $(VENV)/hub-proxy configurable-http-proxy@5 \
		|| echo "digiready: configurable-http-proxy not installed (needs node and npm); the hub test is skipped" >&2

hub-proxy: $(PROXY)

demo: $(STAMP) system-packages
	$(BIN)/digiready demo

test: $(STAMP) system-packages hub-proxy
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/digiready lab

check: $(STAMP)
	$(BIN)/digiready check

build: $(STAMP)
	$(BIN)/digiready build
