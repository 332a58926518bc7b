"""Browser tests: the real application served by werkzeug in a thread, driven by Debian's Chromium.

The app runs on its own SQLite file database in a temporary instance folder, prepared by the real
``flask setup`` command, with CSRF on and real argon2 parameters. Playwright's own browser download
does not work here, so it launches ``/usr/bin/chromium`` (``.ci/run`` installs it when missing).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from portal.keyring import KeyRing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"


@dataclass(frozen=True)
class LiveServer:
    app: object
    url: str
    email: str
    password: str
    totp_secret: str


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _transaction():
    """Overrides the suite's per-test rolled-back transaction: this server commits for real.

    Each journey starts with fresh rate limits: they all sign in from 127.0.0.1 on one live server, and
    together they pass the login limit (10 a minute per address) that each one alone stays under.
    """
    yield
    from portal.extensions import limiter

    limiter.reset()


def _create_live_app(instance: Path):
    from portal import create_app

    keyring_file = instance / "keyring.json"
    KeyRing.generate().save(keyring_file)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PORTAL_INSTANCE_PATH", str(instance))
        env.setenv("PORTAL_SECRET_KEY", secrets.token_hex(32))
        env.setenv("PORTAL_ENV", "development")
        return create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'portal.db'}",
                "KEYRING_FILE": str(keyring_file),
                "INSTANCE_PATH": str(instance),
                "MAIL_SERVER": "",
                "MAIL_SPOOL_DIR": str(instance / "mail"),
                "RATELIMIT_STORAGE_URI": "memory://",
            }
        )


def _create_user(app, email: str, password: str, totp_secret: str) -> None:
    from auth.models import User, email_index
    from auth.passwords import hash_password
    from portal.extensions import db
    from portal.parties.models import Party
    from portal.timeutil import utcnow

    with app.app_context():
        from sqlalchemy import select

        gtm = db.session.scalar(select(Party).where(Party.code == "GTM"))
        db.session.add(User(email=email, email_index=email_index(email), full_name="Ana Browser",
                            party_id=gtm.id, role="liaison_officer", active=True,
                            password_hash=hash_password(password), password_changed_at=utcnow(),
                            totp_secret=totp_secret, totp_enrolled_at=utcnow()))
        db.session.commit()
        db.session.remove()


def _static_files_closed_at_once(app):
    """Static files read whole and closed before the server sends them.

    Werkzeug's development server closes a response only after draining the socket, and that read raises
    when the browser has dropped the connection (Chromium does so for assets it no longer needs): the open
    file is then left to the garbage collector, whose ResourceWarning fails whichever test runs then
    (warnings are errors). Gunicorn, which serves the portal, closes in all cases; the pages themselves
    still stream (the import's progress page does).
    """

    def wrapped(environ, start_response):
        response = app(environ, start_response)
        if "/static/" not in environ.get("PATH_INFO", ""):
            return response
        try:
            return [b"".join(response)]
        finally:
            if hasattr(response, "close"):
                response.close()

    return wrapped


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("e2e-instance")
    app = _create_live_app(instance)
    setup = app.test_cli_runner().invoke(args=["setup"])
    assert setup.exit_code == 0, setup.output
    email, password, totp_secret = "ana.browser@gtm.example.org", "Quetzal-volcano-Antigua-2024!", pyotp.random_base32()
    _create_user(app, email, password, totp_secret)

    server = make_server("127.0.0.1", 0, _static_files_closed_at_once(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", email, password, totp_secret)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        from portal.extensions import db

        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def chromium_browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(request, chromium_browser):
    """A fresh English-speaking browser context; a screenshot lands in test-results/ when the test fails."""
    context = chromium_browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.csp_violations = []
    page.on("console", lambda message: page.csp_violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()
