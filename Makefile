# The two commands README promises: `make demo` (set up + run the demo) and `make test`.
# Everything lives in .venv beside this file; nothing is installed system-wide.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Dagster reads DAGSTER_HOME for its instance; keep it project-local, telemetry off (.dagster_home/dagster.yaml).
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: install demo test lint benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/ice-pipeline demo

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check ice_pipeline ice_pipeline_tests benchmarks

benchmark: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf data .dagster_home/storage .dagster_home/history .dagster_home/schedules .dagster_home/logs test-artifacts
