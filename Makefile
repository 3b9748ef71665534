# Two commands on a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# the web workbench (web/): Node.js 20.19+ and npm; built into web/dist, served by `jointplan serve` at /app
NPM       ?= npm
HAVE_NPM  := $(shell command -v $(NPM) 2>/dev/null)
WEB_DEPS  := web/node_modules/.installed
WEB_BUILD := web/dist/index.html
WEB_SRC   := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json \
             web/tsconfig.app.json web/package-lock.json

.PHONY: install demo test test-slow test-all bench clean web web-unit web-e2e

install: $(STAMP)
ifneq ($(HAVE_NPM),)
install: $(WEB_BUILD)
else
install:
	@echo "npm not found: the API is installed and works without the web workbench."
	@echo "To build the workbench, install Node.js 20.19+ with npm, then run: make web"
endif

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jointplan demo

test: $(STAMP)
	$(PY) -m pytest -n 2 -q
	@$(MAKE) --no-print-directory web-unit

test-slow: $(STAMP)
	$(PY) -m pytest -n 2 -q -m slow; rc=$$?; if [ $$rc -eq 5 ]; then echo "no slow tests"; exit 0; fi; exit $$rc

test-all: test test-slow

# npm ci from the committed lock file; the build needs no Python (the typed client in
# web/src/client is committed; `cd web && npm run generate-client` remakes it from the API)
$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund
	touch $(WEB_DEPS)

$(WEB_BUILD): $(WEB_DEPS) $(WEB_SRC)
	cd web && $(NPM) run build

web: $(WEB_BUILD)

# the workbench's unit tests (Vitest: formatting, chart data, diffs); skipped without npm
web-unit:
ifneq ($(HAVE_NPM),)
	@$(MAKE) --no-print-directory $(WEB_DEPS)
	cd web && $(NPM) test --silent
else
	@echo "npm not found: skipping the web workbench's unit tests (web/)"
endif

# the workbench in a real browser (Playwright driving Debian's /usr/bin/chromium) against
# `jointplan serve` and a worker on a fresh database: SQLite, or PostgreSQL when
# JOINTPLAN_TEST_POSTGRES_URL is set (a new database per run); about two minutes
# E2E_SPECS: only these spec files (e.g. E2E_SPECS="e2e/1-planner.spec.ts"); default every spec
web-e2e: $(STAMP) $(WEB_BUILD)
	cd web && JOINTPLAN_PYTHON=$(abspath $(PY)) $(NPM) run e2e -- $(E2E_SPECS)

bench: $(STAMP)
	$(PY) benchmarks/plan_scale.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache web/node_modules web/dist web/test-results
