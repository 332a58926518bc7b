"""Second factor: TOTP codes (no replay), recovery codes (single use), enrolment on first login."""

from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import select, update

from auth import operations
from auth import totp as totp_module
from auth.models import RecoveryCode, User
from auth.totp import recovery_digest
from portal.extensions import db
from portal.timeutil import utcnow
from tests.auth.conftest import (
    audit_rows,
    login_fully,
    page_recovery_codes,
    password_step,
    reload,
    wrong_code,
)

INVALID_CODE = b"This code is not valid, or it has already been used."


def _recovery_codes_for(user, codes):
    db.session.add_all(RecoveryCode(user_id=user.id, code_digest=recovery_digest(code)) for code in codes)
    db.session.commit()


def test_two_factor_page_needs_the_password_step(client):
    response = client.get("/auth/two-factor")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    response = client.get("/auth/two-factor/enrol")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"


def test_wrong_totp_code_refused(client, make_user):
    user = make_user()
    password_step(client, user.email, user.password)
    response = client.post("/auth/two-factor", data={"code": wrong_code(user.totp)})
    assert response.status_code == 200 and INVALID_CODE in response.data
    assert client.get("/").status_code == 302
    assert reload(user.id).failed_logins == 1
    entry = audit_rows("auth.login.failed", object_id=str(user.id))[0]
    assert entry.details == '{"failures": 1, "reason": "bad_credentials", "stage": "second_factor"}'


def test_replayed_totp_code_refused(client, other_client, make_user):
    user = make_user()
    code = user.totp.now()
    assert login_fully(client, user, code=code).status_code == 302
    step = reload(user.id).totp_last_step
    assert step is not None
    # the same code, seconds later, from another browser that knows the password
    password_step(other_client, user.email, user.password)
    response = other_client.post("/auth/two-factor", data={"code": code})
    assert response.status_code == 200 and INVALID_CODE in response.data
    assert other_client.get("/").status_code == 302
    # an older code (previous step, still inside the window) is a replay too
    older = user.totp.at(time.time() - 30)
    response = other_client.post("/auth/two-factor", data={"code": older})
    assert response.status_code == 200 and INVALID_CODE in response.data
    assert reload(user.id).totp_last_step == step


def test_recovery_code_works_once(client, other_client, make_user):
    user = make_user()
    _recovery_codes_for(user, ["abcde-fghjk", "mnpqr-stuvw"])
    password_step(client, user.email, user.password)
    response = client.post("/auth/two-factor", data={"code": "ABCDE FGHJK"})  # case and spacing are forgiven
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    login = audit_rows("auth.login", object_id=str(user.id))[0]
    assert login.details == '{"method": "recovery_code"}'
    used = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                         RecoveryCode.used_at.is_not(None))).all()
    assert len(used) == 1
    # the same recovery code a second time: refused
    password_step(other_client, user.email, user.password)
    response = other_client.post("/auth/two-factor", data={"code": "abcde-fghjk"})
    assert response.status_code == 200 and INVALID_CODE in response.data
    assert other_client.get("/").status_code == 302
    # the other one still works
    response = other_client.post("/auth/two-factor", data={"code": "mnpqr-stuvw"})
    assert response.status_code == 302


def test_another_users_recovery_code_refused(client, make_user):
    owner, user = make_user(), make_user()
    _recovery_codes_for(owner, ["abcde-fghjk"])
    password_step(client, user.email, user.password)
    response = client.post("/auth/two-factor", data={"code": "abcde-fghjk"})
    assert response.status_code == 200 and INVALID_CODE in response.data


def test_enrolment_flow(client, make_user):
    user = make_user(enrolled=False)
    uid = user.id
    first = password_step(client, user.email, user.password, next_path="/auth/account")
    assert first.status_code == 302 and first.headers["Location"] == "/auth/two-factor/enrol"
    # not enrolled: the code page sends back to enrolment
    assert client.get("/auth/two-factor").headers["Location"] == "/auth/two-factor/enrol"
    page = client.get("/auth/two-factor/enrol")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'<img class="qr-code border" id="totp-qr" src="data:image/svg\+xml', html)
    secret = re.search(r'<code class="fs-5" id="totp-secret">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")
    assert len(secret) == 32
    assert secret not in client.get_cookie("rcm_session").value  # sealed in the cookie, not readable
    # reloading the page keeps the same secret (the app may already have scanned it)
    again = client.get("/auth/two-factor/enrol").get_data(as_text=True)
    assert re.search(r'id="totp-secret">([A-Z2-7 ]+)<', again).group(1).replace(" ", "") == secret
    totp = pyotp.TOTP(secret)
    # a wrong code is refused and nothing is stored
    response = client.post("/auth/two-factor/enrol", data={"code": wrong_code(totp)})
    assert response.status_code == 200 and b"This code does not match" in response.data
    assert reload(uid).totp_secret is None
    # the right code: enrolled, signed in, recovery codes shown once
    response = client.post("/auth/two-factor/enrol", data={"code": totp.now()})
    assert response.status_code == 200
    codes = page_recovery_codes(response.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/auth/account"' in response.get_data(as_text=True)
    fresh = reload(uid)
    assert fresh.totp_secret == secret and fresh.two_factor_enrolled and fresh.totp_last_step is not None
    stored = db.session.scalars(select(RecoveryCode.code_digest).where(RecoveryCode.user_id == uid)).all()
    assert sorted(stored) == sorted(recovery_digest(code) for code in codes)
    assert not any(code in digest for code in codes for digest in stored)
    assert client.get("/").status_code == 200
    assert len(audit_rows("auth.two_factor.enrol", object_id=str(uid))) == 1
    assert audit_rows("auth.login", object_id=str(uid))[0].details == '{"method": "totp_enrolment"}'
    # the secret is stored encrypted
    raw = db.session.execute(db.text("SELECT totp_secret FROM users WHERE id = :id"), {"id": uid}).scalar()
    assert secret not in raw
    # the enrolment page cannot be replayed to show or reset anything
    assert client.get("/auth/two-factor/enrol").headers["Location"] == "/auth/login"


def test_enrolled_user_cannot_reenrol(client, make_user):
    user = make_user()
    password_step(client, user.email, user.password)
    response = client.get("/auth/two-factor/enrol")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/two-factor"


def test_regenerate_recovery_codes(client, make_user, login_as):
    user = make_user()
    _recovery_codes_for(user, ["abcde-fghjk"])
    login_as(user)
    response = client.post("/auth/recovery-codes", data={"code": wrong_code(user.totp)})
    assert response.status_code == 200 and INVALID_CODE in response.data
    assert audit_rows("auth.recovery_codes.regenerate")[0].outcome == "denied"
    response = client.post("/auth/recovery-codes", data={"code": user.totp.now()})
    assert response.status_code == 200
    codes = page_recovery_codes(response.get_data(as_text=True))
    assert len(codes) == 10
    live = db.session.scalars(select(RecoveryCode.code_digest).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all()
    assert sorted(live) == sorted(recovery_digest(code) for code in codes)
    assert recovery_digest("abcde-fghjk") not in live  # the old code stopped working
    assert audit_rows("auth.recovery_codes.regenerate", outcome="ok")


def test_code_claimed_by_a_concurrent_request_is_refused(make_user):
    """Two requests racing with one code: the step is claimed atomically, so only one gets in."""
    user = make_user()
    code = user.totp.now()
    assert user.totp_last_step is None  # this request's copy, loaded before the other one committed
    step = totp_module.matching_step(user.totp_secret, code, None)
    db.session.execute(
        update(User).where(User.id == user.id).values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    assert user.totp_last_step is None
    assert operations.verify_second_factor(user, code) is None
    assert user.totp_last_step == step and user.failed_logins == 1


def test_recovery_code_claimed_by_a_concurrent_request_is_refused(make_user):
    user = make_user()
    _recovery_codes_for(user, ["abcde-fghjk"])
    row = db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user.id))
    assert row.used_at is None
    db.session.execute(
        update(RecoveryCode).where(RecoveryCode.id == row.id).values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    # the stale copy still says unused; the atomic claim does not believe it
    assert operations._claim_recovery_code(row) is False
    assert row.used_at is not None
