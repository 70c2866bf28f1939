# partnerhub: `make run` serves the portal, `make test` runs the whole suite.
# Both create .venv from the lock file first (once; again only when the lock file changes).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PH := $(BIN)/partnerhub
BIND ?= 127.0.0.1:8000

.PHONY: run install test lint bench messages chromium clean

# Python keeps its compiled bytecode (and pytest its rewritten test modules) under .venv, even
# where the environment says PYTHONDONTWRITEBYTECODE: without the cache every process (each test
# worker, each server a test starts) compiled Django and the project again, 12 s of a test run's
# 22 s collection.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache

run: install
	$(PH) migrate --noinput
	$(PH) collectstatic --noinput -v 0
	$(PH) demo_load
	$(PH) serve --bind $(BIND)

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Browser tests drive Debian's Chromium; PDF tests read documents with poppler-utils (pdftoppm,
# pdftotext). Install what is missing when we are root.
SYSTEM_PACKAGES := chromium fonts-dejavu-core poppler-utils
chromium:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftotext >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
		else \
			echo "note: $(SYSTEM_PACKAGES) missing and we are not root: browser and PDF tests will be skipped"; \
		fi; \
	fi

# The suite runs on PYTEST_WORKERS processes (pytest-xdist), each with its own test database:
# by default one a core, at most 4 (every worker builds its database first). PYTEST_WORKERS=0
# runs it in this one process; PYTEST_ARGS adds pytest options (PYTEST_ARGS="tests/core -x").
# Work stealing: a worker that runs dry takes half of another's queue (with --dist load the
# long transactional tests, which pytest-django puts last, piled up on one worker: 394 s
# against 269 s for the other).
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ "$$n" -gt 4 ] && n=4; echo $$n)

test: install chromium
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(if $(filter 0,$(PYTEST_WORKERS)),,--dist worksteal) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src/partnerhub
	$(BIN)/lint-imports

bench: install
	@set -e; for script in bench/*.py; do \
		[ -e "$$script" ] || continue; \
		case "$$(basename $$script)" in _*) continue;; esac; \
		echo "== $$script"; $(BIN)/python $$script; \
	done

# Regenerate the English catalogue after changing Russian texts (needs gettext's msgfmt).
messages: install
	cd src/partnerhub && ../../$(PH) makemessages -l en --no-obsolete --no-location
	cd src/partnerhub && ../../$(PH) compilemessages -l en

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
