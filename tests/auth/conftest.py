"""Helpers for the login tests: drive the real two-step login through the pages."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from auth.models import User
from portal.audit.models import AuditEntry
from portal.extensions import db


def audit_rows(action: str, **filters) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action)
    for name, value in filters.items():
        stmt = stmt.where(getattr(AuditEntry, name) == value)
    return db.session.scalars(stmt.order_by(AuditEntry.seq)).all()


def reload(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def wrong_code(totp: pyotp.TOTP) -> str:
    """A 6-digit code that is valid for none of the steps the server accepts now."""
    now = time.time()
    valid = {totp.at(now + 30 * offset) for offset in (-2, -1, 0, 1, 2)}
    for candidate in (f"{n:06d}" for n in range(0, 1_000_000, 7919)):
        if candidate not in valid:
            return candidate
    raise AssertionError("unreachable")


def password_step(client, email: str, password: str, next_path: str | None = None):
    url = "/auth/login" + (f"?next={next_path}" if next_path is not None else "")
    return client.post(url, data={"email": email, "password": password})


def login_fully(client, user, next_path: str | None = None, code: str | None = None):
    """Both steps for an enrolled user created by ``make_user``; returns the second-step response."""
    first = password_step(client, user.email, user.password, next_path)
    assert first.status_code == 302, first.data
    assert first.headers["Location"] == "/auth/two-factor"
    return client.post("/auth/two-factor", data={"code": code or user.totp.now()})


def session_sid(client) -> str | None:
    with client.session_transaction() as sess:
        return sess.get("sid")


def page_recovery_codes(html: str) -> list[str]:
    block = re.search(r'<ul[^>]*id="recovery-codes"[^>]*>(.*?)</ul>', html, re.DOTALL)
    assert block, "recovery codes list missing"
    return re.findall(r"<li>([a-z0-9-]+)</li>", block.group(1))


@pytest.fixture
def other_client(app):
    return app.test_client()

