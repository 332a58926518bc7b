"""Changing a password, and admin-issued reset links."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from auth.models import PasswordResetToken, UserSession
from auth.passwords import verify_password
from portal.crypto import token_digest
from portal.extensions import db
from portal.timeutil import utcnow
from tests.auth.conftest import audit_rows, login_fully, password_step, reload, session_sid

NEW_PASSWORD = "violet-Tractor-moonlight-93"


def _change(client, current, new, confirm=None):
    return client.post("/auth/password", data={"current_password": current, "new_password": new,
                                               "confirm": new if confirm is None else confirm})


def test_password_change_revokes_other_sessions_not_the_current(client, other_client, make_user, login_as):
    user = make_user()
    login_as(user, client)
    login_as(user, other_client)
    assert other_client.get("/").status_code == 200
    keep_sid = session_sid(client)
    response = _change(client, user.password, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/account"
    fresh = reload(user.id)
    assert verify_password(fresh.password_hash, NEW_PASSWORD)
    assert fresh.password_hash.startswith("$argon2id$")
    assert fresh.password_changed_at is not None
    assert client.get("/").status_code == 200
    assert other_client.get("/").status_code == 302
    live = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id,
                                                        UserSession.revoked_at.is_(None))).all()
    assert [row.sid_digest for row in live] == [token_digest(keep_sid)]
    entry = audit_rows("auth.password.change", object_id=str(user.id))[0]
    assert entry.outcome == "ok" and entry.details == '{"sessions_revoked": 1}'
    assert NEW_PASSWORD not in entry.details
    # the old password no longer works, the new one does
    assert b"not correct" in password_step(other_client, user.email, user.password).data
    assert password_step(other_client, user.email, NEW_PASSWORD).status_code == 302


def test_wrong_current_password_refused(client, make_user, login_as):
    user = make_user()
    login_as(user)
    response = _change(client, "not-my-password-at-all", NEW_PASSWORD)
    assert response.status_code == 200 and b"The current password is not correct." in response.data
    assert verify_password(reload(user.id).password_hash, user.password)
    assert audit_rows("auth.password.change")[0].outcome == "denied"


def test_weak_password_refused_with_a_message(client, make_user, login_as):
    user = make_user(name="Rosa Quintana")
    login_as(user)
    response = _change(client, user.password, "short")
    assert response.status_code == 200 and b"Use at least 12 characters." in response.data
    response = _change(client, user.password, "password1234")
    assert response.status_code == 200 and b"This password is too easy to guess." in response.data
    response = _change(client, user.password, "RosaQuintana")  # built from the user's own name
    assert response.status_code == 200 and b"This password is too easy to guess." in response.data
    response = _change(client, user.password, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert response.status_code == 200 and b"The two passwords do not match." in response.data
    assert b'class="invalid-feedback d-block"' in response.data
    assert verify_password(reload(user.id).password_hash, user.password)
    assert audit_rows("auth.password.change") == []


def _issue_reset(user, *, expires_in=timedelta(hours=1)) -> tuple[str, int]:
    secret = secrets.token_urlsafe(32)
    row = PasswordResetToken(user_id=user.id, token_digest=token_digest(secret), expires_at=utcnow() + expires_in)
    db.session.add(row)
    db.session.commit()
    return secret, row.id


def test_reset_link_works_once(client, other_client, make_user, login_as):
    user = make_user()
    login_as(user, other_client)
    user = reload(user.id)
    user.failed_logins = 3
    db.session.commit()
    secret, reset_id = _issue_reset(user)
    page = client.get(f"/auth/reset/{secret}")
    assert page.status_code == 200 and b'name="new_password"' in page.data
    weak = client.post(f"/auth/reset/{secret}", data={"new_password": "password1234", "confirm": "password1234"})
    assert weak.status_code == 200 and b"too easy to guess" in weak.data
    response = client.post(f"/auth/reset/{secret}", data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    fresh = reload(user.id)
    assert verify_password(fresh.password_hash, NEW_PASSWORD) and fresh.failed_logins == 0
    assert db.session.get(PasswordResetToken, reset_id).used_at is not None
    assert other_client.get("/").status_code == 302  # every session revoked
    entry = audit_rows("auth.password.reset", outcome="ok")[0]
    assert entry.object_id == str(user.id) and entry.details == f'{{"reset_id": {reset_id}, "sessions_revoked": 1}}'
    # used: refused
    again = client.get(f"/auth/reset/{secret}")
    assert again.status_code == 410 and b"This password reset link is not valid" in again.data
    again = client.post(f"/auth/reset/{secret}", data={"new_password": "other-Long-phrase-77x", "confirm":
                                                       "other-Long-phrase-77x"})
    assert again.status_code == 410
    assert verify_password(reload(user.id).password_hash, NEW_PASSWORD)
    denied = audit_rows("auth.password.reset", outcome="denied")
    assert [e.details for e in denied] == ['{"reason": "used"}', '{"reason": "used"}']
    # and the new password signs in (through the second factor as before)
    user.password = NEW_PASSWORD
    assert login_fully(client, user).status_code == 302


def test_expired_reset_link_refused(client, make_user):
    user = make_user()
    secret, reset_id = _issue_reset(user, expires_in=timedelta(seconds=-1))
    response = client.get(f"/auth/reset/{secret}")
    assert response.status_code == 410 and b"This password reset link is not valid" in response.data
    response = client.post(f"/auth/reset/{secret}", data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 410
    assert verify_password(reload(user.id).password_hash, user.password)
    entry = audit_rows("auth.password.reset", outcome="denied")[0]
    assert entry.object_id == str(reset_id) and entry.details == '{"reason": "expired"}'


def test_unknown_reset_link_refused(client):
    response = client.get("/auth/reset/not-a-real-token")
    assert response.status_code == 410
    assert audit_rows("auth.password.reset", outcome="denied")[0].details == '{"reason": "unknown"}'


def test_reset_for_unenrolled_user_leads_to_enrolment(client, make_user):
    user = make_user(enrolled=False)
    secret, _ = _issue_reset(user)
    client.post(f"/auth/reset/{secret}", data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    response = password_step(client, user.email, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/two-factor/enrol"
