"""The password step gives nothing away; the owner learns by mail; the pending second factor is single-use.

An unknown, a locked and a deactivated account get the same page, status and hashing work as a wrong
password; the owner of a locked account is mailed once per lock, the owner of a deactivated account at
most once an hour; a copy of the cookie taken after the password step opens nothing once used.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from auth import operations
from auth.models import User
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.timeutil import utcnow
from tests.auth.conftest import login_fully, password_step, reload, session_sid

GENERIC = b"The e-mail address or password is not correct."
UNKNOWN_EMAIL = "nobody@nowhere.example.org"


def _mails_to(address: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return [m for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)) if m.recipient == address]


def _lock(user) -> None:
    row = db.session.get(User, user.id)
    row.locked_until = utcnow() + timedelta(minutes=15)
    db.session.commit()


def _page(response, email: str) -> bytes:
    """The page without what legitimately differs: the echoed address and the CSRF token."""
    return re.sub(rb'name="csrf_token"[^>]*', b"", response.data.replace(email.encode(), b""))


@pytest.fixture
def hashings(monkeypatch) -> list:
    """The stored hashes (None: the dummy) the password step verified against, in order."""
    calls = []
    real = operations.verify_password
    monkeypatch.setattr(operations, "verify_password", lambda stored, pw: calls.append(stored) or real(stored, pw))
    return calls


def _attempt(client, make_user, kind: str):
    """One password step against an account of ``kind``; returns (response, e-mail)."""
    if kind == "unknown":
        return password_step(client, UNKNOWN_EMAIL, "some-password-123456"), UNKNOWN_EMAIL
    user = make_user(active=kind != "deactivated")
    if kind == "locked":
        _lock(user)
    password = "wrong-password-123456" if kind == "wrong_password" else user.password
    return password_step(client, user.email, password), user.email


@pytest.mark.parametrize("kind", ["unknown", "locked", "deactivated"])
def test_unknown_locked_and_deactivated_answer_like_a_wrong_password(client, app, make_user, kind, hashings):
    reference, reference_email = _attempt(app.test_client(), make_user, "wrong_password")
    reference_hashings = len(hashings)
    response, email = _attempt(client, make_user, kind)
    assert response.status_code == reference.status_code == 200
    assert GENERIC in response.data
    assert _page(response, email) == _page(reference, reference_email)
    assert b"locked" not in response.data and b"deactivated" not in response.data
    assert reference_hashings == 1 and len(hashings) == 2  # one password hashed on every path
    assert session_sid(client) is None
    assert client.get("/auth/two-factor").headers["Location"] == "/auth/login"


def test_locked_account_owner_is_mailed_once_per_lock(client, app, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "100 per minute")
    user = make_user()
    for attempt in range(5):
        password_step(client, user.email, f"wrong-password-{attempt}")
    assert reload(user.id).is_locked()
    mails = _mails_to(user.email)
    assert len(mails) == 1 and "locked" in mails[0].subject
    assert "15 minutes" in mails[0].body
    # attempts while locked (right password or wrong) queue no further mail
    password_step(client, user.email, user.password)
    password_step(client, user.email, "wrong-password-again")
    assert len(_mails_to(user.email)) == 1
    # a second lock, after the first expired, is a second mail
    row = reload(user.id)
    row.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    for attempt in range(5):
        password_step(client, user.email, f"wrong-password-b{attempt}")
    assert len(_mails_to(user.email)) == 2


def test_deactivated_account_owner_is_mailed_at_most_once_an_hour(client, make_user):
    user = make_user(active=False, locale="es")
    password_step(client, user.email, user.password)
    mails = _mails_to(user.email)
    assert len(mails) == 1 and "desactivada" in mails[0].subject
    password_step(client, user.email, user.password)
    assert len(_mails_to(user.email)) == 1  # within the hour: no second mail
    # a wrong password neither mails nor counts towards a lock
    for attempt in range(6):
        password_step(client, user.email, f"wrong-password-{attempt}")
    assert len(_mails_to(user.email)) == 1 and not reload(user.id).is_locked()
    row = reload(user.id)
    row.sign_in_notice_at = utcnow() - timedelta(hours=1, seconds=1)
    db.session.commit()
    password_step(client, user.email, user.password)
    assert len(_mails_to(user.email)) == 2


def test_unknown_address_mails_nobody(client, make_user):
    before = len(db.session.scalars(select(OutboxMessage.id)).all())
    for attempt in range(6):
        password_step(client, UNKNOWN_EMAIL, f"wrong-password-{attempt}")
    assert len(db.session.scalars(select(OutboxMessage.id)).all()) == before


def _saved_session(client) -> dict:
    with client.session_transaction() as sess:
        return dict(sess)


def _replay(other_client, saved: dict) -> None:
    with other_client.session_transaction() as sess:
        sess.clear()
        sess.update(saved)


def test_pending_second_factor_cookie_replayed_after_login_opens_nothing(client, other_client, make_user):
    user = make_user()
    assert password_step(client, user.email, user.password).status_code == 302
    captured = _saved_session(client)
    assert client.post("/auth/two-factor", data={"code": user.totp.now()}).status_code == 302
    assert client.get("/").status_code == 200
    # the attacker replays the cookie of the password step with a fresh (next step) code
    _replay(other_client, captured)
    response = other_client.post("/auth/two-factor", data={"code": user.totp.at(time.time() + 30)})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert session_sid(other_client) is None
    assert other_client.get("/").status_code == 302
    assert len(operations.active_sessions(reload(user.id))) == 1


def test_pending_second_factor_is_bound_to_the_newest_password_step(client, other_client, make_user):
    user = make_user()
    password_step(client, user.email, user.password)
    saved = _saved_session(client)
    forged = {**saved, "auth_pending": {**saved["auth_pending"], "nonce": "guessed"}}
    _replay(other_client, forged)
    response = other_client.post("/auth/two-factor", data={"code": user.totp.now()})
    assert response.headers["Location"] == "/auth/login"
    # a password step elsewhere ends this browser's pending login
    password_step(other_client, user.email, user.password)
    response = client.post("/auth/two-factor", data={"code": user.totp.now()})
    assert response.headers["Location"] == "/auth/login"
    assert login_fully(other_client, user, code=user.totp.at(time.time() + 30)).status_code == 302


def test_pending_second_factor_ends_at_a_lock(client, other_client, make_user):
    from tests.auth.conftest import wrong_code

    user = make_user()
    password_step(client, user.email, user.password)
    captured = _saved_session(client)
    for _ in range(5):
        client.post("/auth/two-factor", data={"code": wrong_code(user.totp)})
    assert reload(user.id).is_locked() and reload(user.id).pending_login_digest is None
    row = reload(user.id)
    row.locked_until = utcnow() - timedelta(seconds=1)  # the lock expired; the old cookie is still dead
    db.session.commit()
    _replay(other_client, captured)
    response = other_client.post("/auth/two-factor", data={"code": user.totp.now()})
    assert response.headers["Location"] == "/auth/login"
