# paincoach: `make run` starts the coach (the terminal chat when no token is set); `make test`
# runs every test. Both set everything up first, in ./.venv, with nothing installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PACKAGES := paincoach bot coach dialogs content scheduler storage clock sandbox

# `make soak`: the crash test at full size (200 journeys, 20 broadcasts), which takes a long while;
# `make test` runs it with one journey (PAINCOACH_CRASH_JOURNEYS).
.PHONY: setup run chat test soak bench lint format check-content db-upgrade clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "paincoach needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: setup
	$(BIN)/paincoach run

chat: setup
	$(BIN)/paincoach chat

test: setup
	$(BIN)/python -m pytest

soak: setup
	PAINCOACH_CRASH_JOURNEYS=200 $(BIN)/python -m pytest -s tests/test_crash.py

bench: setup
	$(BIN)/python -m bench.run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-content: setup
	$(BIN)/paincoach content check

db-upgrade: setup
	$(BIN)/paincoach db upgrade

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
