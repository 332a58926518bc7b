"""A token's last use is recorded at most once a minute per address (no row write on every API call)."""

from __future__ import annotations

from datetime import timedelta

from auth.models import ApiToken
from auth.tokens import LAST_USED_PRECISION, create_token
from portal.extensions import db
from portal.timeutil import utcnow


def _call(client, secret: str, ip: str = "127.0.0.1"):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"},
                      environ_base={"REMOTE_ADDR": ip})


def _reload(token_id: int) -> ApiToken:
    db.session.expire_all()
    return db.session.get(ApiToken, token_id)


def test_last_use_written_once_per_minute_and_on_a_new_address(client, make_user):
    token, secret = create_token(make_user(role="border_officer"), name="border system", scopes=["alerts:check"])
    db.session.flush()
    assert token.last_used_at is None

    assert _call(client, secret).status_code == 200
    first = _reload(token.id)
    assert first.last_used_at is not None and first.last_used_ip == "127.0.0.1"

    recent = utcnow() - timedelta(seconds=10)
    first.last_used_at = recent
    db.session.flush()
    assert _call(client, secret).status_code == 200
    assert _reload(token.id).last_used_at == recent  # within the minute: not written again

    stale = utcnow() - LAST_USED_PRECISION - timedelta(seconds=1)
    token = _reload(token.id)
    token.last_used_at = stale
    db.session.flush()
    assert _call(client, secret).status_code == 200
    token = _reload(token.id)
    assert token.last_used_at > stale and token.last_used_ip == "127.0.0.1"

    token.last_used_at = recent
    db.session.flush()
    assert _call(client, secret, ip="10.0.0.9").status_code == 200
    token = _reload(token.id)
    assert token.last_used_ip == "10.0.0.9" and token.last_used_at > recent  # a new address is recorded at once
