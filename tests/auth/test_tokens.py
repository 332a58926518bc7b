"""Personal API tokens: the page, and the tokens' behaviour on the API."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from auth.models import ApiToken, User
from auth.tokens import create_token, token_required
from portal.crypto import token_digest
from portal.extensions import db
from portal.timeutil import utcnow
from tests.auth.conftest import audit_rows


def _create(client, **fields):
    data = {"name": "border system", "scopes": ["alerts:check"], "days": "30", "allowed_ips": ""}
    data.update(fields)
    return client.post("/auth/tokens", data=data)


def _secret(response) -> str:
    return re.search(r'id="token-secret" type="text" readonly value="(rcm_[^"]+)"', response.get_data(as_text=True)).group(1)


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def test_scopes_offered_follow_the_role(client, make_user, login_as):
    login_as(make_user(role="border_officer"))
    page = client.get("/auth/tokens").get_data(as_text=True)
    offered = set(re.findall(r'name="scopes" type="checkbox" value="([^"]+)"', page))
    assert offered == {"alerts:check", "alerts:read", "directory:read", "library:read", "reporting:read"}
    # a scope the role does not hold is refused even if posted
    response = _create(client, scopes=["alerts:write"])
    assert response.status_code == 200 and b"is-invalid" in response.data
    assert db.session.scalars(select(ApiToken)).all() == []


def test_roles_without_the_permission_get_403(client, make_user, login_as):
    login_as(make_user(role="observer"))
    assert client.get("/auth/tokens").status_code == 403


def test_create_shows_secret_once_and_token_works(client, make_user, login_as):
    user = make_user(role="liaison_officer")
    login_as(user)
    response = _create(client, scopes=["alerts:check", "alerts:read"], days="10")
    assert response.status_code == 200
    secret = _secret(response)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.token_digest == token_digest(secret) and secret.startswith(f"rcm_{token.prefix}_")
    assert token.scopes == ["alerts:check", "alerts:read"]
    assert timedelta(days=9, hours=23) < token.expires_at - utcnow() <= timedelta(days=10)
    assert audit_rows("token.create", object_id=str(token.id))[0].outcome == "ok"
    # the list never shows the secret again
    listing = client.get("/auth/tokens")
    assert secret.encode() not in listing.data and f"rcm_{token.prefix}_".encode() in listing.data
    # the token works on the API, and its use is recorded
    api = client.get("/api/v1/me", headers=_bearer(secret))
    assert api.status_code == 200
    assert api.get_json() == {"user_id": user.id, "party": "GTM", "role": "liaison_officer",
                              "scopes": ["alerts:check", "alerts:read"]}
    db.session.expire_all()
    token = db.session.get(ApiToken, token.id)
    assert token.last_used_at is not None and token.last_used_ip == "127.0.0.1"
    assert b"never" not in client.get("/auth/tokens").data


def test_revoked_token_401(client, make_user, login_as):
    user = make_user()
    login_as(user)
    secret = _secret(_create(client))
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    response = client.post(f"/auth/tokens/{token_id}/revoke")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/tokens"
    db.session.expire_all()
    assert db.session.get(ApiToken, token_id).revoked_at is not None
    assert len(audit_rows("token.revoke", object_id=str(token_id))) == 1
    api = client.get("/api/v1/me", headers=_bearer(secret))
    assert api.status_code == 401 and api.headers["WWW-Authenticate"].startswith("Bearer")
    assert audit_rows("api.auth.failed")[0].outcome == "denied"
    assert b"revoked" in client.get("/auth/tokens").data


def test_expired_token_401(client, make_user, login_as):
    user = make_user()
    login_as(user)
    secret = _secret(_create(client))
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/me", headers=_bearer(secret)).status_code == 401
    assert b"expired" in client.get("/auth/tokens").data


def test_deactivated_owner_401(client, make_user, login_as):
    user = make_user()
    login_as(user)
    secret = _secret(_create(client))
    owner = db.session.get(User, user.id)
    owner.active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=_bearer(secret)).status_code == 401


def test_allowed_ip_ranges_enforced(client, make_user, login_as):
    user = make_user()
    login_as(user)
    response = _create(client, allowed_ips="198.51.100.0/24\n 2001:db8::/32 \n")
    secret = _secret(response)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.allowed_ips == ["198.51.100.0/24", "2001:db8::/32"]
    inside = client.get("/api/v1/me", headers=_bearer(secret), environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert inside.status_code == 200
    outside = client.get("/api/v1/me", headers=_bearer(secret), environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 403
    assert audit_rows("api.auth.ip_refused", object_id=str(token.id))[0].ip == "203.0.113.9"


def test_invalid_ip_range_is_a_field_error(client, make_user, login_as):
    login_as(make_user())
    response = _create(client, allowed_ips="10.0.0.0/8\nnot-an-address")
    assert response.status_code == 200
    assert "“not-an-address” is not an IP address or CIDR range.".encode() in response.data
    assert db.session.scalars(select(ApiToken)).all() == []


def test_expiry_limits(client, make_user, login_as):
    login_as(make_user())
    for days in ("0", "366", "abc"):
        response = _create(client, days=days)
        assert response.status_code == 200
        assert b'id="token-secret"' not in response.data
        assert b'id="days"' in response.data and b"invalid-feedback" in response.data
    assert db.session.scalars(select(ApiToken)).all() == []


def test_other_users_token_is_404(client, make_user, login_as):
    owner = make_user(party_code="MEX")
    token, _secret_value = create_token(owner, name="theirs", scopes=["alerts:check"], days=5)
    db.session.commit()
    login_as(make_user(party_code="MEX"))
    assert client.post(f"/auth/tokens/{token.id}/revoke").status_code == 404
    assert client.post("/auth/tokens/999999/revoke").status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None
    assert b"theirs" not in client.get("/auth/tokens").data
    assert audit_rows("api_tokens.access", object_id=str(token.id))[0].outcome == "denied"


def test_missing_scope_403(app, make_user):
    """``token_required(scope)`` refuses a token without that scope, and admits one with it."""
    user = make_user()
    narrow, narrow_secret = create_token(user, name="check only", scopes=["alerts:check"], days=5)
    _wide, wide_secret = create_token(user, name="read", scopes=["alerts:read"], days=5)
    db.session.commit()

    @token_required("alerts:read")
    def read_view():
        return "ok"

    with app.test_request_context("/api/v1/me", headers=_bearer(narrow_secret)):
        response = read_view()
        assert response.status_code == 403
        assert response.get_json()["error"] == "this token lacks the scope alerts:read"
    with app.test_request_context("/api/v1/me", headers=_bearer(wide_secret)):
        assert read_view() == "ok"
    db.session.commit()
    assert audit_rows("api.scope.denied", object_id=str(narrow.id))[0].details == '{"scope": "alerts:read"}'
