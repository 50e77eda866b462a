# The two commands of the README: `make run` and `make test`. Everything they need is installed here.
# Python 3.11 is required: `python3.11` first, then `python3` only if it is 3.11 (or `make PYTHON=/path/to/python3.11`).
IS_311 := import sys; sys.exit(sys.version_info[:2] != (3, 11))
PYTHON ?= $(shell for p in python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c '$(IS_311)' 2>/dev/null && { command -v $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check install worker campaign bench clean

# A .venv of another Python (made by an older make with python3 = 3.12, say) is rebuilt, never reused.
ifneq ($(shell $(BIN)/python -c '$(IS_311)' 2>/dev/null && echo ok),ok)
.PHONY: $(STAMP)
endif


$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "找不到 Python 3.11 cannot find Python 3.11 (tried python3.11, python3): install it, or run make PYTHON=/path/to/python3.11" >&2; exit 1; fi
	@$(PYTHON) -c '$(IS_311)' 2>/dev/null || { \
	  echo "$(PYTHON) 不是 Python 3.11 is not Python 3.11: run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	@if [ -e $(VENV) ] && ! $(BIN)/python -c '$(IS_311)' 2>/dev/null; then \
	  echo "重建 .venv rebuilding .venv: it is not a Python 3.11 environment" >&2; rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## make run: the embedded Temporal dev server (var/temporal.db) and the worker; Ctrl-C stops both (so does closing
## the terminal or killing make: the server never outlives it).
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

## make campaign: the fault campaign (README, "Fault campaign"): its own server, workers and receiver.
##   make campaign ARGS="--quick"   or   ARGS="--incidents 40 --worker-kills 30 --seed 7 --json out.json"
campaign: install
	$(BIN)/python -m faults.campaign $(ARGS)
## make bench: the benchmark suite against the bare twin (bench/suite.py); writes bench/results.json.
## ARGS=--quick for a smoke run of seconds.
bench: install
	$(BIN)/python -m bench.suite $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
