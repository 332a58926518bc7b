# The two commands: `make run` and `make test` (see README.md). Each sets up what it needs.
#   make run       .venv, translations, `flask setup` + `flask demo`, gunicorn on http://127.0.0.1:5000
#   make test      ruff (lint, import order), then the suite on SQLite (browser tests excluded)
#   make test-pg   the suite on PostgreSQL, Redis as the rate-limit store
#   make test-e2e  the browser tests (Playwright driving /usr/bin/chromium)
#   make test-s3   the blob-store, attachment, library, rotation, gc and backup tests on PostgreSQL with
#                  the blobs in a SeaweedFS S3 gateway that it starts on free loopback ports and stops
#   make test-hosts  two gunicorn hosts of the portal (one PostgreSQL database, one Redis, one SeaweedFS
#                  bucket, one key ring; tests/hosts.py starts and stops them) driven alternately by the
#                  tests of tests/multihost (marked `hosts`, which the other targets leave out)
#   make test-faults  bench/faults.py, short, on such two hosts: load, a worker killed mid-upload and
#                  mid-import, PostgreSQL restarted under load, Redis paused (the machine's own services:
#                  run it where nothing else uses them, as in CI); exits 1 when an expectation fails
# .ci/run starts the services and runs the six test targets.
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app portal
STAMP := $(VENV)/.installed-stamp
PORTAL_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PORTAL_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

# pytest exits 5 when it collected no tests: that is a failure here (a marker or path went wrong),
# and it is said so rather than left as a bare "Error 5".
pytest = $(PY) -m pytest $(1) $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing" >&2; fi; exit $$status

.PHONY: run test test-pg test-s3 test-hosts test-faults test-e2e translations messages setup lint

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Compiled catalogs are build output (not committed); `make messages` refreshes the .po files.
translations: $(STAMP)
	$(VENV)/bin/pybabel -q compile -d portal/translations

messages: $(STAMP)
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot .
	$(VENV)/bin/pybabel -q update -i portal/translations/messages.pot -d portal/translations

# Idempotent: creates or upgrades the SQLite database under instance/; demo accounts are created (and
# their passwords printed) only the first time.
setup: $(STAMP) translations
	$(FLASK) setup
	$(FLASK) demo $(if $(filter empty,$(DEMO)),--accounts-only,)

run: setup
	@# No access log: request paths can carry reset secrets and API queries document numbers; the audit log
	@# records every access instead.
	$(VENV)/bin/gunicorn --workers 2 --bind 127.0.0.1:5000 'portal:create_app()'

# Lint and import order first (ruff, pinned in pyproject.toml), then the suite on SQLite even when the
# PostgreSQL variables are exported (as .ci/run does for test-pg).
test: $(STAMP) translations lint
	@env -u PORTAL_TEST_DATABASE_URL -u PORTAL_TEST_REDIS_URL $(call pytest,-m "not e2e and not hosts")

test-pg: $(STAMP) translations
	@PORTAL_TEST_DATABASE_URL='$(PORTAL_TEST_DATABASE_URL)' PORTAL_TEST_REDIS_URL='$(PORTAL_TEST_REDIS_URL)' \
		$(call pytest,-m "not e2e and not hosts")

# The tests whose files go through the blob store; tests.seaweed runs them with PORTAL_BLOB_STORE=s3://...
S3_TESTS := tests/documents tests/alerts/test_attachments.py tests/alerts/test_attachment_api.py \
	tests/alerts/test_bulk.py tests/exchange/test_attachments.py tests/test_rotation.py tests/core/test_backup.py

test-s3: $(STAMP) translations
	@PORTAL_TEST_DATABASE_URL='$(PORTAL_TEST_DATABASE_URL)' PORTAL_TEST_REDIS_URL='$(PORTAL_TEST_REDIS_URL)' \
		$(PY) -m tests.seaweed $(PY) -m pytest -m "not e2e and not hosts" $(S3_TESTS) $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing" >&2; fi; exit $$status

# tests.hosts starts SeaweedFS, a scratch database next to PORTAL_TEST_DATABASE_URL's and two gunicorn hosts,
# runs the suite against them (PORTAL_HOST_URLS, ...) and stops everything.
test-hosts: $(STAMP) translations
	@PORTAL_TEST_DATABASE_URL='$(PORTAL_TEST_DATABASE_URL)' PORTAL_TEST_REDIS_URL='$(PORTAL_TEST_REDIS_URL)' \
		$(PY) -m tests.hosts $(PY) -m pytest -m hosts -p no:randomly tests/multihost $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing" >&2; fi; exit $$status

# A short run of the fault bench (the full one: 50 clients for 60 s, see docs/performance.md). It restarts
# the PostgreSQL cluster and pauses the Redis the hosts use, so only where nothing else needs them.
FAULTS_ARGS ?= --clients 20 --duration 20 --restart-clients 8 --allow-shared-redis
test-faults: $(STAMP) translations
	@PORTAL_TEST_DATABASE_URL='$(PORTAL_TEST_DATABASE_URL)' PORTAL_TEST_REDIS_URL='$(PORTAL_TEST_REDIS_URL)' \
		$(PY) -m tests.hosts $(PY) bench/faults.py $(FAULTS_ARGS)

test-e2e: $(STAMP) translations
	@env -u PORTAL_TEST_DATABASE_URL -u PORTAL_TEST_REDIS_URL $(call pytest,-m e2e -p no:randomly tests/e2e)
