"""Two running hosts driven as clients drive them: ``make test-hosts`` runs these under ``python -m tests.hosts``.

Every test here is marked ``hosts`` (the other targets leave that marker out) and is skipped when no hosts
run (``PORTAL_HOST_URLS`` unset). The hosts commit for real: accounts get unique e-mail addresses, and the
rate-limit counters in the shared Redis are cleared after each test. Each test also fails when a host
logged an error while it ran (a 500, a crashed worker).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tests.e2e.journeys import PASSWORD, create_user, next_code
from tests.hosts import host_urls, hosts_app, reset_rate_limits

TIMEOUT = 60
_CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
_LOGGED_ERROR = re.compile(r'"level": "(error|critical)"|\[(ERROR|CRITICAL)\]')


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.hosts)


@pytest.fixture(scope="session")
def hosts() -> list[str]:
    urls = host_urls()
    if len(urls) < 2:
        pytest.skip("needs two running hosts: make test-hosts (python -m tests.hosts pytest tests/multihost)")
    return urls


@pytest.fixture(scope="session")
def portal(hosts):
    """This process's application on the hosts' settings (to prepare accounts and read the audit back)."""
    app = hosts_app()
    yield app
    from portal.extensions import db

    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def cli(portal):
    """``cli(*args)``: a ``flask --app portal`` command run in this process on the hosts' settings (cheaper
    than a process of its own: ``tests.hosts.flask_command``); its click result."""
    runner = portal.test_cli_runner()

    def invoke(*args: str):
        result = runner.invoke(args=list(args))
        from portal.extensions import db

        with portal.app_context():
            db.session.remove()
        return result

    return invoke


@pytest.fixture(autouse=True)
def _transaction():
    """Overrides the suite's rolled-back transaction (the hosts commit for real) and checks the hosts' logs."""
    logs = [Path(path) for path in os.environ.get("PORTAL_HOST_LOGS", "").split(",") if path]
    sizes = [log.stat().st_size for log in logs]
    yield
    if logs:
        reset_rate_limits()
    for log, size in zip(logs, sizes, strict=True):
        with open(log, errors="replace") as handle:
            handle.seek(size)
            errors = [line for line in handle.read().splitlines() if _LOGGED_ERROR.search(line)]
        assert not errors, f"{log.name} logged errors during the test: {errors[:5]}"


@dataclass
class Account:
    email: str
    password: str
    totp_secret: str
    user_id: int


@pytest.fixture
def account(portal):
    """Factory: ``account(role, party_code)`` -> an enrolled account, committed in the shared database."""

    def make(role: str = "liaison_officer", party_code: str = "GTM") -> Account:
        from auth.models import User
        from portal.extensions import db

        email = f"hosts.{secrets.token_hex(4)}@{party_code.lower()}.example.org"
        secret = create_user(SimpleNamespace(app=portal), email, role, party_code, "Hosts Tester")
        with portal.app_context():
            user_id = User.find_by_email(email).id
            db.session.remove()
        return Account(email, PASSWORD, secret, user_id)

    return make


@pytest.fixture
def token(portal):
    """Factory: ``token(account, *scopes)`` -> the ``Authorization`` header of a new API token."""

    def make(owner: Account, *scopes: str) -> dict:
        from auth.models import User
        from auth.tokens import create_token
        from portal.extensions import db

        with portal.app_context():
            try:
                _row, secret = create_token(db.session.get(User, owner.user_id), name="hosts test",
                                            scopes=list(scopes))
                db.session.commit()
            finally:
                db.session.remove()
        return {"Authorization": f"Bearer {secret}"}

    return make


class Browser:
    """One person's browser: one cookie jar for both hosts (they are one site behind a balancer; cookies
    do not tell ports apart), and the CSRF token of the page a form is posted from."""

    def __init__(self):
        self.http = requests.Session()

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=TIMEOUT, **kwargs)

    def csrf_token(self, url: str) -> str:
        page = self.get(url)
        assert page.status_code == 200, (url, page.status_code)
        found = _CSRF_INPUT.search(page.text)
        assert found, f"no CSRF token on {url}"
        return found.group(1)

    def post(self, url: str, data: dict, *, token_from: str | None = None, **kwargs) -> requests.Response:
        """Post ``data`` with the CSRF token of the form page ``token_from`` (default: ``url`` itself)."""
        fields = {"csrf_token": self.csrf_token(token_from or url), **data}
        return self.http.post(url, data=fields, allow_redirects=False, timeout=TIMEOUT, **kwargs)

    def sign_in(self, who: Account, password_host: str, code_host: str) -> None:
        """The password step on one host, the second factor on the other."""
        step = self.post(f"{password_host}/auth/login", {"email": who.email, "password": who.password})
        assert step.status_code == 302 and step.headers["Location"].endswith("/auth/two-factor"), step.status_code
        done = self.post(f"{code_host}/auth/two-factor", {"code": next_code(who.totp_secret)})
        assert done.status_code == 302 and "/auth/" not in done.headers["Location"], done.status_code


@pytest.fixture
def visitor() -> Browser:
    client = Browser()
    yield client
    client.http.close()
