"""Test fixtures: one schema per run (Alembic), a rolled-back transaction per test, and factories.

``PORTAL_TEST_DATABASE_URL`` selects the database (default: a SQLite file in a temporary folder);
``make test-pg`` points it at PostgreSQL and ``PORTAL_TEST_REDIS_URL`` at Redis for rate limits.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import replace

import pyotp
import pytest
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from flask import g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.orm import scoped_session, sessionmaker

from auth.models import User
from auth.passwords import hash_password
from portal import create_app
from portal.cli_support import REFERENCE_DATA_LOADERS
from portal.extensions import db
from portal.keyring import KeyRing, current_keyring
from portal.parties.models import Party
from portal.parties.seed import load_reference_parties

STRONG_PASSWORD = "correct-Horse-battery-staple-42"
_counter = itertools.count(1)


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _reset_schema(app) -> None:
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    keyring_file = instance / "keyring.json"
    KeyRing.generate().save(keyring_file)
    # Keep the suite out of the repository's instance/ folder: on a clean checkout load_settings()
    # would otherwise generate instance/secret_key there with a warning (and warnings are errors).
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PORTAL_INSTANCE_PATH", str(instance))
        env.setenv("PORTAL_SECRET_KEY", "test-secret-key")
        app = _create_test_app(tmp_path_factory, instance, keyring_file)
    app.test_client_class = IsolatedClient
    with app.app_context():
        _reset_schema(app)
        upgrade(directory=str(app.extensions["migrate"].directory), revision="heads")
        load_reference_parties()
        for loader in REFERENCE_DATA_LOADERS:  # the features' reference data, as ``flask setup`` loads it
            loader()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()  # close pooled connections before the interpreter does (ResourceWarning)


class IsolatedClient(FlaskClient):
    """A test client whose every request starts with an empty ``g``, as in production.

    Tests keep an application context open (for the rolled-back session), and Flask reuses it for the
    client's requests, so without this Flask-Login's cached user would leak from one request to the next.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.__dict__.clear()
        try:
            return super().open(*args, **kwargs)
        finally:
            if has_app_context():
                g.__dict__.clear()


def _create_test_app(tmp_path_factory, instance, keyring_file):
    from tests.blobs import fresh_store_setting

    blobs = fresh_store_setting("suite")  # on S3 (make test-s3): a prefix of this run's own
    return create_app(
        {
            **({"BLOB_STORE": blobs} if blobs else {}),
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path_factory),
            "KEYRING_FILE": str(keyring_file),
            "INSTANCE_PATH": str(instance),
            "MAIL_SPOOL_DIR": str(instance / "mail"),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": os.environ.get("PORTAL_TEST_REDIS_URL", "memory://"),
            # cheap argon2 in tests only: the suite hashes hundreds of passwords
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 8,
            "ARGON2_PARALLELISM": 1,
        }
    )


@pytest.fixture(autouse=True)
def _transaction(request, app):
    """Run each test inside a transaction that is rolled back; app commits become savepoints."""
    if "real_commits" in request.fixturenames:
        yield
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = scoped_session(sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()
    from portal.extensions import limiter

    limiter.reset()


@pytest.fixture
def real_commits():
    """Opt out of the per-test rollback (concurrency tests); such a test cleans up after itself."""
    return True


@pytest.fixture
def app_ctx(app):
    with app.test_request_context():
        yield app


@pytest.fixture
def empty_audit_log(app):
    """No audit entry, inside the test's rolled-back transaction only.

    For tests that count the whole log: the log is append-only, so the entries a ``real_commits`` test
    commits (a killed import's dry run, say) outlive it and would be counted by every later test.
    """
    # the per-test transaction's application context is the current one (no context of our own: popping it
    # would remove the session and roll the deletions back)
    for table in ("audit_objectives", "audit_entries"):
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
        else:
            db.session.execute(text(f"DROP TRIGGER {table}_no_delete"))
        db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()  # a savepoint of the per-test transaction


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli(app):
    """Run a ``flask`` command in the test app: ``cli("audit", "verify")``, with ``stdin=`` for prompts."""
    runner = app.test_cli_runner()

    def invoke(*args, stdin=None):
        return runner.invoke(args=list(args), input=stdin)

    return invoke


@pytest.fixture
def ring_file(app, tmp_path, monkeypatch):
    """A private copy of the test ring: commands save to it, and the suite's ring is restored afterwards."""
    path = tmp_path / "ring" / "keyring.json"
    ring = replace(current_keyring(), path=path)
    ring.save(path)
    monkeypatch.setitem(app.extensions, "keyring", ring)
    monkeypatch.setitem(app.config, "KEYRING_FILE", str(path))
    return path


@pytest.fixture
def party():
    def get(code: str) -> Party:
        return db.session.scalar(select(Party).where(Party.code == code))

    return get


@pytest.fixture
def make_user(app, party):
    """Factory: ``make_user(role="liaison_officer", party="GTM")`` -> a committed, enrolled user.

    The plain password and TOTP secret are kept on the object (``.password``, ``.totp``) for tests.
    """

    def make(role="liaison_officer", party_code="GTM", *, party=None, password=STRONG_PASSWORD,
             enrolled=True, active=True, email=None, name=None, locale=None) -> User:
        code = party or party_code
        n = next(_counter)
        secret = pyotp.random_base32()
        user = User(
            email=email or f"user{n}@{code.lower()}.example.org",
            full_name=name or f"Test User {n}",
            role=role,
            active=active,
            password_hash=hash_password(password),
            totp_secret=secret if enrolled else None,
            locale=locale,
        )
        from auth.models import email_index
        from portal.timeutil import utcnow

        user.email_index = email_index(user.email)
        user.party_id = get_party(code).id
        if enrolled:
            user.totp_enrolled_at = utcnow()
        db.session.add(user)
        db.session.commit()
        user.password = password
        user.totp = pyotp.TOTP(secret) if enrolled else None
        return user

    get_party = party
    return make


@pytest.fixture
def login_as(app, client):
    """Sign ``user`` in on ``client`` through a real server-side session (no form round trip)."""
    import secrets as _secrets

    from auth.models import UserSession
    from portal.crypto import token_digest

    def login(user, the_client=None):
        the_client = the_client or client
        sid = _secrets.token_urlsafe(32)
        db.session.add(UserSession(sid_digest=token_digest(sid), user_id=user.id))
        db.session.commit()
        with the_client.session_transaction() as sess:
            sess["sid"] = sid
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True
        return the_client

    return login


@pytest.fixture
def scratch(app, tmp_path):
    """A SQLite database of its own, migrated by Alembic outside the application's engine."""
    engine = create_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
    # Rows below reference no real alert, document or submission: keep SQLite's foreign keys off.
    event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA foreign_keys=OFF"))
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())

    def migrate(revision: str, *, down: bool = False) -> None:
        # What ``alembic upgrade``/``downgrade`` do, without the application's env.py (bound to its engine).
        def steps(current, _context):
            return script._downgrade_revs(revision, current) if down else script._upgrade_revs(revision, current)

        with engine.begin() as connection, EnvironmentContext(app.extensions["migrate"].migrate.get_config(),
                                                              script, fn=steps) as environment:
            environment.configure(connection=connection, render_as_batch=True)
            with environment.begin_transaction():
                environment.run_migrations()

    yield engine, migrate
    engine.dispose()
