# The two commands: `make run` and `make test` (see README.md). Each sets up what it needs.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORTAL_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PORTAL_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-pg test-e2e translations messages setup

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Compiled catalogs are build output (not committed); `make messages` refreshes the .po files.
translations: $(STAMP)
	$(VENV)/bin/pybabel -q compile -d portal/translations

messages: $(STAMP)
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot .
	$(VENV)/bin/pybabel -q update -i portal/translations/messages.pot -d portal/translations

setup: $(STAMP) translations
	$(VENV)/bin/flask --app portal setup
	$(VENV)/bin/flask --app portal demo

run: setup
	$(VENV)/bin/gunicorn --workers 2 --bind 127.0.0.1:5000 'portal:create_app()'

test: $(STAMP) translations
	$(PY) -m pytest -m "not e2e"

test-pg: $(STAMP) translations
	PORTAL_TEST_DATABASE_URL=$(PORTAL_TEST_DATABASE_URL) PORTAL_TEST_REDIS_URL=$(PORTAL_TEST_REDIS_URL) \
		$(PY) -m pytest -m "not e2e"

test-e2e: $(STAMP) translations
	$(PY) -m pytest -m e2e -p no:randomly tests/e2e
