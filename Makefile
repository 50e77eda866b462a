# The two commands of the README: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check install worker bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## make run: the embedded Temporal dev server (var/temporal.db) and the worker; Ctrl-C stops both.
run: install
	$(BIN)/python -m yuqing.devserver

## make worker: only the worker, against TEMPORAL_ADDRESS / temporal.toml (default 127.0.0.1:7233).
worker: install
	$(BIN)/python worker.py

## make check: ruff on everything; mypy --strict on yuqing/ and workflows/ (workflow code may not read clocks).
check: install
	$(BIN)/ruff check .
	$(BIN)/mypy

## make test: the checks, then the whole suite; it starts and stops its own servers on free loopback ports.
test: check
	$(BIN)/python -m pytest

## make bench: the benchmark suite against the bare twin (bench/suite.py); writes bench/results.json.
## ARGS=--quick for a smoke run of seconds.
bench: install
	$(BIN)/python -m bench.suite $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
