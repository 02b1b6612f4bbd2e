# One entry point per habit. Every target sets itself up: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install test unit integration saga lint fmt diagram clean

help:
	@echo "make test         set up .venv if needed and run every test"
	@echo "make lint         ruff + mypy"
	@echo "make fmt          format and auto-fix with ruff"
	@echo "make diagram      redraw docs/saga-diagram.md and the README diagram from the ASL file"
	@echo "make unit | integration | saga   run one test group"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

saga: $(STAMP)
	$(BIN)/python -m pytest tests/saga

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services orchestration tests

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

diagram: $(STAMP)
	$(BIN)/python -m orchestration.diagram

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
