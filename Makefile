# Parley — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
NPM := $(shell command -v npm 2>/dev/null)
PY_SOURCES := libs/kit/src libs/testing/src gateway/src services/auth/src services/chat/src services/llm-worker/src services/mailer/src tools/parley/src
WEB_SOURCES := $(shell find web/src web/index.html web/package.json web/vite.config.* -type f 2>/dev/null)

.PHONY: run test test-python test-web bench soak lint sync web node-client

run: sync web ## start every process in the foreground (Ctrl-C stops)
	$(UV) run parley up

test: sync web node-client ## the whole suite (what .ci/run calls)
	$(MAKE) test-web
	$(MAKE) test-python

test-python:
	$(UV) run pytest

test-web:
	@if [ -n "$(NPM)" ] && [ -f web/package.json ]; then cd web && npm test; \
	else echo "Node.js not found: skipping the web unit tests"; fi

bench: sync ## benchmarks (figures printed as tables)
	@for b in bench/*.py; do [ "$$b" = bench/soak.py ] && continue; echo "== $$b"; $(UV) run python $$b || exit 1; done

soak: sync ## 10 minutes of load with workers killed and Redis restarted (PostgreSQL)
	$(UV) run python bench/soak.py

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy $(PY_SOURCES)
	@if [ -n "$(NPM)" ] && [ -f web/package.json ]; then cd web && npm run lint; fi

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv

# Bytecode compiled at install: a process that may not write it (PYTHONDONTWRITEBYTECODE, a
# read-only install) would otherwise compile every module it imports each time it starts.
sync: $(if $(findstring $(TOOLS),$(UV)),$(TOOLS)/bin/uv)
	$(UV) sync --frozen --compile-bytecode
	$(UV) run --no-sync python -m compileall -q -j 0 $(PY_SOURCES)

web: $(if $(and $(NPM),$(wildcard web/package.json)),web/dist/index.html)

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

# the official Node `openai` package, a client in tests/e2e/test_openai_node.py
node-client: $(if $(NPM),tests/e2e/node/node_modules/.package-lock.json)

tests/e2e/node/node_modules/.package-lock.json: tests/e2e/node/package-lock.json
	cd tests/e2e/node && npm ci --no-audit --no-fund

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build
