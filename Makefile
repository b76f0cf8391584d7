# The 2FA portal. `make run` serves it; `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
WORKERS ?= $(or $(GUNICORN_WORKERS),2)
export FLASK_APP := wsgi

.PHONY: run test lint bench i18n-extract i18n-compile test-tools twilio-oai clean
# Debian packages the tests drive: a real browser, a QR reader and an independent TOTP implementation.
TEST_TOOLS := chromium:chromium chromedriver:chromium-driver zbarimg:zbar-tools oathtool:oathtool redis-server:redis-server
# Twilio's official, complete OpenAPI documents (github.com/twilio/twilio-oai, MIT), which the tests' Twilio double
# checks every request and answer against. The npm package @twilio-alpha/mcp (MIT) ships them as
# package/twilio-oai/spec/json/*.json. The integrity is the one the npm registry publishes for this version
# (`npm view @twilio-alpha/mcp@0.7.0 dist.integrity`); make checks the tarball against it itself, not through npm.
TWILIO_OAI_PACKAGE := @twilio-alpha/mcp
TWILIO_OAI_VERSION := 0.7.0
TWILIO_OAI_INTEGRITY := sha512-YsUde1pMXwqHm8Cvq9JdtsyvclVCC/f/V+FmxTNN04u5Qt5aapkbQgcfqBYQ0xcmvATBNswgPDo3MPVaCtZK8Q==
TWILIO_OAI_IN_PACKAGE := package/twilio-oai/spec/json
TWILIO_OAI_DIR := .cache/twilio-oai
TWILIO_OAI_FILES := twilio_verify_v2.json twilio_api_v2010.json
# The stamp names the version: after a version bump the documents are fetched again.
TWILIO_OAI_STAMP := $(TWILIO_OAI_DIR)/twilio-alpha-mcp-$(TWILIO_OAI_VERSION).integrity
TWILIO_OAI := $(addprefix $(TWILIO_OAI_DIR)/,$(TWILIO_OAI_FILES)) $(TWILIO_OAI_STAMP)

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

## Twilio's OpenAPI documents for the Twilio double, fetched once into $(TWILIO_OAI_DIR) (git-ignored).
## Installs Debian's npm if it is missing; any integrity mismatch stops the build.
twilio-oai: $(TWILIO_OAI)

$(TWILIO_OAI) &:
	@command -v npm >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing: npm"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; }
	@set -euo pipefail; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "fetching $(TWILIO_OAI_PACKAGE)@$(TWILIO_OAI_VERSION) (Twilio's OpenAPI documents)"; \
	(cd "$$tmp" && npm pack --ignore-scripts --silent "$(TWILIO_OAI_PACKAGE)@$(TWILIO_OAI_VERSION)" >/dev/null); \
	tarball=$$(ls "$$tmp"/*.tgz); \
	actual=$$($(PYTHON) -c 'import base64, hashlib, sys; \
		print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$$tarball"); \
	if [ "$$actual" != "$(TWILIO_OAI_INTEGRITY)" ]; then \
		echo "INTEGRITY MISMATCH for $(TWILIO_OAI_PACKAGE)@$(TWILIO_OAI_VERSION):" >&2; \
		echo "  expected $(TWILIO_OAI_INTEGRITY)" >&2; echo "  got      $$actual" >&2; exit 1; \
	fi; \
	tar -xzf "$$tarball" -C "$$tmp" $(addprefix $(TWILIO_OAI_IN_PACKAGE)/,$(TWILIO_OAI_FILES)); \
	for name in $(TWILIO_OAI_FILES); do \
		$(PYTHON) -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$$tmp/$(TWILIO_OAI_IN_PACKAGE)/$$name"; \
	done; \
	mkdir -p $(TWILIO_OAI_DIR); rm -f $(TWILIO_OAI_DIR)/*.integrity; \
	for name in $(TWILIO_OAI_FILES); do \
		cp "$$tmp/$(TWILIO_OAI_IN_PACKAGE)/$$name" "$(TWILIO_OAI_DIR)/$$name.tmp"; \
		mv -f "$(TWILIO_OAI_DIR)/$$name.tmp" "$(TWILIO_OAI_DIR)/$$name"; \
	done; \
	echo "$(TWILIO_OAI_PACKAGE)@$(TWILIO_OAI_VERSION) $$actual" > $(TWILIO_OAI_STAMP); \
	echo "Twilio's OpenAPI documents are in $(TWILIO_OAI_DIR)/"

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

test: $(VENV)/.dev i18n-compile test-tools twilio-oai lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache portal/translations/*/LC_MESSAGES/*.mo
