"""Server-side sessions: fresh id at login, logout, idle and absolute timeouts, sign out elsewhere."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from auth.models import UserSession
from portal.crypto import token_digest
from portal.extensions import db
from portal.timeutil import utcnow
from tests.auth.conftest import audit_rows, login_fully, password_step, session_sid

COOKIE = "rcm_session"


def _row(sid: str) -> UserSession:
    db.session.expire_all()
    return db.session.scalar(select(UserSession).where(UserSession.sid_digest == token_digest(sid)))


def test_session_id_renewed_at_login(client, make_user):
    user = make_user()
    with client.session_transaction() as sess:
        sess["sid"] = "attacker-chosen-session-id"
        sess["planted"] = "value"
    before = client.get_cookie(COOKIE).value
    assert login_fully(client, user).status_code == 302
    sid = session_sid(client)
    assert sid and sid != "attacker-chosen-session-id"
    assert client.get_cookie(COOKIE).value != before
    with client.session_transaction() as sess:
        assert "planted" not in sess and "auth_pending" not in sess
    row = _row(sid)
    assert row.user_id == user.id and row.revoked_at is None and row.ip == "127.0.0.1"


def test_cookie_flags(client, make_user):
    user = make_user()
    response = login_fully(client, user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_invalidates_the_session_server_side(client, make_user):
    user = make_user()
    login_fully(client, user)
    stolen = client.get_cookie(COOKIE).value
    sid = session_sid(client)
    response = client.post("/auth/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert _row(sid).revoked_at is not None
    assert len(audit_rows("auth.logout", object_id=str(user.id))) == 1
    # replaying the old cookie gets nowhere
    client.set_cookie(COOKIE, stolen)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def test_logout_requires_post(client, make_user, login_as):
    login_as(make_user())
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_idle_timeout(client, make_user):
    user = make_user()
    login_fully(client, user)
    sid = session_sid(client)
    row = _row(sid)
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    assert _row(sid).revoked_at is not None
    page = client.get(response.headers["Location"])
    assert b"Your session has expired. Please sign in again." in page.data
    # the flash is shown once
    assert b"Your session has expired" not in client.get("/auth/login").data


def test_activity_within_the_idle_limit_keeps_the_session(client, make_user):
    user = make_user()
    login_fully(client, user)
    sid = session_sid(client)
    row = _row(sid)
    row.last_seen_at = utcnow() - timedelta(minutes=29)
    db.session.commit()
    assert client.get("/").status_code == 200
    assert _row(sid).last_seen_at > utcnow() - timedelta(minutes=1)


def test_absolute_timeout(client, make_user):
    user = make_user()
    login_fully(client, user)
    sid = session_sid(client)
    row = _row(sid)
    row.created_at = utcnow() - timedelta(hours=12, minutes=1)
    row.last_seen_at = utcnow()
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    assert _row(sid).revoked_at is not None
    assert b"Your session has expired" in client.get(response.headers["Location"]).data


def test_account_lists_sessions_and_signs_out_elsewhere(client, other_client, make_user):
    user = make_user()
    login_fully(client, user)
    # a second browser signs in through the real pages, with the next step's code (no replay)
    password_step(other_client, user.email, user.password)
    later = user.totp.at(time.time() + 30)
    assert other_client.post("/auth/two-factor", data={"code": later}).status_code == 302
    other_sid = session_sid(other_client)
    page = client.get("/auth/account")
    assert page.status_code == 200
    assert page.data.count(b"<tr") == 3  # header + two sessions
    assert b"this session" in page.data
    response = client.post("/auth/sessions/revoke-others")
    assert response.status_code == 302
    assert _row(other_sid).revoked_at is not None
    assert _row(session_sid(client)).revoked_at is None
    assert other_client.get("/").status_code == 302
    assert client.get("/").status_code == 200
    assert audit_rows("auth.sessions.revoke_others")[0].details == '{"revoked": 1}'


def test_account_saves_language(client, make_user, login_as):
    user = make_user()
    login_as(user)
    response = client.post("/auth/account", data={"locale": "es"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(user), user.id).locale == "es"
    assert b'lang="es"' in client.get("/auth/account").data
    assert client.post("/auth/account", data={"locale": "xx"}).status_code == 200
    assert db.session.get(type(user), user.id).locale == "es"
