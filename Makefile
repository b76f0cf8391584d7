# The 2FA portal. `make run` serves it; `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
WORKERS ?= $(or $(GUNICORN_WORKERS),2)
export FLASK_APP := wsgi

.PHONY: run test lint bench i18n-extract i18n-compile test-tools clean
# Debian packages the tests drive: a real browser, a QR reader and an independent TOTP implementation.
TEST_TOOLS := chromium:chromium chromedriver:chromium-driver zbarimg:zbar-tools oathtool:oathtool redis-server:redis-server

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

i18n-compile: $(VENV)/.runtime
	$(BIN)/pybabel compile -d portal/translations

## Extract messages and merge them into every catalogue (then translate the new entries).
i18n-extract: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project=portal -o portal/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i portal/translations/messages.pot -d portal/translations

run: $(VENV)/.runtime i18n-compile
	$(BIN)/flask db upgrade
	HOST=$(HOST) PORT=$(PORT) GUNICORN_WORKERS=$(WORKERS) $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

## Debian's Chromium, ChromeDriver, zbar-tools, oathtool and redis-server (a private one for the Redis-outage test)
## for the tests (Playwright cannot download browsers here).
test-tools:
	@missing=""; for pair in $(TEST_TOOLS); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing:$$missing"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

## Speed and memory figures (see bench/README.md); not part of make test.
bench: $(VENV)/.runtime
	$(BIN)/python bench/recovery_cost.py
	$(BIN)/python bench/admin_search.py
	$(BIN)/python bench/portal_bench.py
	$(BIN)/python bench/load_test.py

## Ruff, then mypy on portal/ (its files and settings are in pyproject.toml).
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(VENV)/.dev i18n-compile test-tools lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache portal/translations/*/LC_MESSAGES/*.mo
