"""Password step, lockout, rate limit and deactivated accounts."""

from __future__ import annotations

import re
from datetime import timedelta

from auth.models import User
from portal.extensions import db
from portal.timeutil import utcnow
from tests.auth.conftest import audit_rows, login_fully, password_step, reload, session_sid

GENERIC = b"The e-mail address or password is not correct."
LOCKED = b"This account is temporarily locked"


def test_login_page_renders(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert b'name="email"' in response.data and b'name="password"' in response.data
    assert b'type="submit"' in response.data


def test_login_success_through_both_steps(client, make_user):
    user = make_user()
    uid = user.id
    first = password_step(client, user.email, user.password)
    assert first.status_code == 302 and first.headers["Location"] == "/auth/two-factor"
    # the password alone does not sign in
    assert client.get("/").status_code == 302
    assert session_sid(client) is None
    second = client.post("/auth/two-factor", data={"code": user.totp.now()})
    assert second.status_code == 302 and second.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    fresh = reload(uid)
    assert fresh.last_login_at is not None and fresh.failed_logins == 0
    entries = audit_rows("auth.login", object_id=str(uid))
    assert len(entries) == 1 and entries[0].outcome == "ok" and entries[0].actor_user_id == uid
    assert "@" not in entries[0].details


def test_wrong_password_gives_generic_error_and_is_audited(client, make_user):
    user = make_user()
    response = password_step(client, user.email, "wrong-password-123456")
    assert response.status_code == 200
    assert GENERIC in response.data
    assert reload(user.id).failed_logins == 1
    entry = audit_rows("auth.login.failed", object_id=str(user.id))[0]
    assert entry.outcome == "denied" and entry.object_type == "user"
    assert user.email not in entry.details and "wrong-password" not in entry.details


def test_unknown_email_gives_the_same_message(client, make_user):
    user = make_user()
    known = password_step(client, user.email, "wrong-password-123456")
    unknown = password_step(client, "nobody@nowhere.example.org", "wrong-password-123456")
    assert unknown.status_code == known.status_code == 200
    assert GENERIC in unknown.data

    def normalised(body):
        body = body.replace(b"nobody@nowhere.example.org", b"").replace(user.email.encode(), b"")
        return re.sub(rb'name="csrf_token"[^>]*', b"", body)

    # apart from the echoed e-mail address the two pages are identical (no hint that the account exists)
    assert normalised(known.data) == normalised(unknown.data)
    entries = audit_rows("auth.login.failed")
    assert [e.object_id for e in entries] == [str(user.id), None]


def test_lockout_after_five_failures(client, make_user):
    user = make_user()
    uid = user.id
    for attempt in range(4):
        response = password_step(client, user.email, f"wrong-password-{attempt}")
        assert GENERIC in response.data
    response = password_step(client, user.email, "wrong-password-5")
    # the page says no more than for a wrong password (the owner is told by mail)
    assert response.status_code == 200 and GENERIC in response.data and LOCKED not in response.data
    locked = reload(uid)
    assert locked.locked_until is not None and locked.locked_until > utcnow() + timedelta(minutes=14)
    assert len(audit_rows("auth.lockout", object_id=str(uid))) == 1
    assert len(audit_rows("auth.login.failed", object_id=str(uid))) == 5
    # the right password does not help while locked
    response = password_step(client, user.email, user.password)
    assert response.status_code == 200 and GENERIC in response.data and LOCKED not in response.data
    assert session_sid(client) is None
    # 15 minutes later (moved back in time) the account opens again
    locked = reload(uid)
    locked.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert login_fully(client, user).status_code == 302
    assert client.get("/").status_code == 200
    assert reload(uid).failed_logins == 0


def test_second_factor_failures_count_towards_lockout(client, make_user):
    from tests.auth.conftest import wrong_code

    user = make_user()
    uid = user.id
    password_step(client, user.email, user.password)
    for _ in range(4):
        response = client.post("/auth/two-factor", data={"code": wrong_code(user.totp)})
        assert response.status_code == 200
        assert b"This code is not valid" in response.data
    response = client.post("/auth/two-factor", data={"code": wrong_code(user.totp)})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert reload(uid).is_locked()
    assert audit_rows("auth.lockout", object_id=str(uid))[0].details == '{"minutes": 15, "stage": "second_factor"}'
    # the pending login is gone: even a right code does not get in now
    response = client.post("/auth/two-factor", data={"code": user.totp.now()})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert client.get("/").status_code == 302


def test_deactivated_account_cannot_log_in(client, make_user):
    user = make_user(active=False)
    response = password_step(client, user.email, user.password)
    assert response.status_code == 200
    assert GENERIC in response.data and b"deactivated" not in response.data
    assert client.get("/auth/two-factor").headers["Location"] == "/auth/login"
    assert audit_rows("auth.login.failed", object_id=str(user.id))[0].details == (
        '{"reason": "inactive", "stage": "password"}'
    )


def test_deactivated_between_the_two_steps(client, make_user):
    user = make_user()
    password_step(client, user.email, user.password)
    row = db.session.get(User, user.id)
    row.active = False
    db.session.commit()
    response = client.post("/auth/two-factor", data={"code": user.totp.now()})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert client.get("/").status_code == 302


def test_pending_login_expires_after_five_minutes(client, make_user):
    user = make_user()
    password_step(client, user.email, user.password)
    with client.session_transaction() as sess:
        sess["auth_pending"] = {**sess["auth_pending"], "at": sess["auth_pending"]["at"] - 301}
    response = client.post("/auth/two-factor", data={"code": user.totp.now()})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert client.get("/").status_code == 302


def test_rate_limit_on_login_post(client, app, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    for _ in range(3):
        assert password_step(client, "someone@example.org", "wrong-password-123").status_code == 200
    response = password_step(client, "someone@example.org", "wrong-password-123")
    assert response.status_code == 429
    assert b"Too many attempts" in response.data
    # GET is not limited
    assert client.get("/auth/login").status_code == 200
    assert len(audit_rows("auth.login.rate_limited")) == 1
    assert len(audit_rows("auth.login.failed")) == 3
