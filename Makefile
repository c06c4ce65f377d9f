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

.PHONY: demo test install clean browser

$(VENV)/.installed: pyproject.toml constraints.txt
	@mkdir -p $(CACHE)/tmp
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	@# bytecode of the project's own modules (pip compiles site-packages, not an editable project): a cold
	@# `narratives run` then skips compiling them, which it cannot cache where PYTHONDONTWRITEBYTECODE is set
	@$(PY) -m compileall -q narratives flows >/dev/null
	@touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	@mkdir -p $(CACHE)/tmp
	$(VENV)/bin/narratives demo

# The report's browser tests drive Debian's chromium (tests/test_report_browser.py); install it when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "cannot install chromium (not root, no sudo): the browser tests will skip (and fail under CI)"; fi; }

test: $(VENV)/.installed browser
	@mkdir -p $(CACHE)/tmp
	$(PY) -m pytest

clean:
	rm -rf $(CACHE) outputs/narratives.duckdb outputs/tables outputs/report.html demo_data
