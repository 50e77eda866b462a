# The two commands of the README: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install worker clean

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

## make test: the whole suite; it starts and stops its own servers on free loopback ports.
test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var .pytest_cache
