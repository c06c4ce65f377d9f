# The README's two commands: `make demo` and `make test`. Each creates .venv if missing and installs what it needs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
CACHE := $(CURDIR)/.cache
PYTHON ?= python3

# Everything a run writes outside outputs/ stays in the project's cache folder.
export NARRATIVES_CACHE_DIR := $(CACHE)
export PREFECT_HOME := $(CACHE)/prefect
export NUMBA_CACHE_DIR := $(CACHE)/numba
export TMPDIR := $(CACHE)/tmp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test install clean

$(VENV)/.installed: pyproject.toml constraints.txt
	@mkdir -p $(CACHE)/tmp
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	@mkdir -p $(CACHE)/tmp
	$(VENV)/bin/narratives demo

test: $(VENV)/.installed
	@mkdir -p $(CACHE)/tmp
	$(PY) -m pytest

clean:
	rm -rf $(CACHE) outputs/narratives.duckdb outputs/tables outputs/report.html demo_data
