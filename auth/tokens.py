"""Personal API tokens: ``Authorization: Bearer <token>`` for machine clients.

A token is ``rcm_<prefix>_<secret>``; only its SHA-256 digest is stored (it has 256 bits of entropy,
so a fast digest is as safe as a slow password hash and lets every request look it up by equality).
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from flask import abort, current_app, g, request
from sqlalchemy import bindparam, select, update

from auth.models import ApiToken, User
from auth.permissions import TOKEN_SCOPES
from portal.api_errors import api_error
from portal.crypto import token_digest
from portal.extensions import db, limiter
from portal.parties.models import Party
from portal.principal import Principal
from portal.timeutil import utcnow

MAX_TOKEN_DAYS = 365
# How stale ``last_used_at`` may get: it is shown to the owner, not used for any decision.
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenError(ValueError):
    """Invalid token parameters; ``field`` names the input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def parse_ip_ranges(values) -> list[str]:
    ranges = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            ranges.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError as exc:
            raise TokenError("allowed_ips", f"{value!r} is not an IP address or CIDR range") from exc
    return ranges


def create_token(user: User, *, name: str, scopes, days: int = 90, allowed_ips=()) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is shown once and never stored."""
    from portal.audit.service import record

    name = (name or "").strip()
    if not name or len(name) > 100:
        raise TokenError("name", "a token needs a name of 1 to 100 characters")
    scopes = sorted(set(scopes))
    if not scopes:
        raise TokenError("scopes", "choose at least one scope")
    unknown = [scope for scope in scopes if scope not in TOKEN_SCOPES]
    if unknown:
        raise TokenError("scopes", f"unknown scope(s): {', '.join(unknown)}")
    if not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise TokenError("days", f"expiry must be between 1 and {MAX_TOKEN_DAYS} days")
    ranges = parse_ip_ranges(allowed_ips)
    prefix = secrets.token_hex(4)
    secret = f"rcm_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_digest=token_digest(secret),
        prefix=prefix,
        scopes=scopes,
        allowed_ips=ranges,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    record("token.create", object_type="api_token", object_id=token.id, object_party=user.party.code,
           details={"scopes": scopes, "days": days, "owner_id": user.id})
    return token, secret


def revoke_token(token: ApiToken) -> None:
    from portal.audit.service import record

    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record("token.revoke", object_type="api_token", object_id=token.id, object_party=token.user.party.code)


def _ip_allowed(token, ip: str | None) -> bool:
    if not token.allowed_ips:
        return True
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(cidr) for cidr in token.allowed_ips)


@dataclass(frozen=True)
class PresentedToken:
    """A usable bearer token as one API request knows it: the token's columns the request needs and its
    owner's principal. Read with one narrow query, not as ORM entities: it runs on every API call, and
    loading the token, its owner and the owner's party as entities cost more than the check it guards."""

    id: int
    user_id: int
    scopes: tuple[str, ...]
    allowed_ips: tuple[str, ...]
    last_used_at: datetime | None
    last_used_ip: str | None
    principal: Principal

    @property
    def user(self) -> User:
        """The owner, loaded only by the few calls that need more than the principal (names, authors)."""
        return db.session.get(User, self.user_id)


# Built once: what a usable token needs of itself, its owner and the owner's party.
_PRESENTED = (
    select(ApiToken.id, ApiToken.user_id, ApiToken.scopes, ApiToken.allowed_ips, ApiToken.expires_at,
           ApiToken.revoked_at, ApiToken.last_used_at, ApiToken.last_used_ip, User.active, User.role,
           User.party_id, Party.code, Party.kind)
    .join(User, User.id == ApiToken.user_id)
    .join(Party, Party.id == User.party_id)
    .where(ApiToken.token_digest == bindparam("digest"))
)


def authenticate_bearer() -> PresentedToken | None:
    """The request's bearer token if it exists, is neither revoked nor expired, and its owner is active."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    row = db.session.connection().execute(_PRESENTED, {"digest": token_digest(secret.strip())}).first()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow() or not row.active:
        return None
    owner = Principal.for_member(user_id=row.user_id, party_id=row.party_id, party_code=row.code,
                                 party_kind=row.kind, role=row.role)
    return PresentedToken(id=row.id, user_id=row.user_id, scopes=tuple(row.scopes),
                          allowed_ips=tuple(row.allowed_ips or ()), last_used_at=row.last_used_at,
                          last_used_ip=row.last_used_ip, principal=owner.through_token(row.id, row.scopes))


def _rate_key() -> str:
    """Per token: Flask-Limiter checks before the view runs, so key on the presented secret's digest."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return "token:" + token_digest(secret.strip())[:32]
    return f"ip:{request.remote_addr}"


# Shared by every API route (one allowance per address, not per route); only 401 answers count.
_AUTH_FAILURES_PER_ADDRESS = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_API_AUTH_FAILURES"], scope="api-auth-failures",
    key_func=lambda: f"ip:{request.remote_addr}", deduct_when=lambda response: response.status_code == 401)


def token_required(scope: str | None = None, permission: str | None = None, *, denied_action: str | None = None,
                   object_type: str | None = None, object_arg: str | None = None):
    """Authenticate the request by bearer token and require ``scope`` (if given) and, of the token's owner,
    ``permission`` (if given: a scope never grants more than the owner's role).

    401 without a valid token, 403 when the token lacks the scope or comes from a disallowed address, 403
    when the owner lacks ``permission``: audited as ``denied_action`` (on ``object_type`` and the id in the
    view's ``object_arg`` argument, when given). Every refusal is audited. Rate limited per token.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from portal.audit.service import record

            token = authenticate_bearer()
            if token is None:
                record("api.auth.failed", outcome="denied", details={"endpoint": request.endpoint or ""})
                return api_error(401, "a valid bearer token is required")
            g.api_token = token
            g.principal = token.principal
            if not _ip_allowed(token, request.remote_addr):
                record("api.auth.ip_refused", outcome="denied", object_type="api_token", object_id=token.id)
                return api_error(403, "this token may not be used from this address")
            if scope is not None and scope not in token.scopes:
                record("api.scope.denied", outcome="denied", object_type="api_token", object_id=token.id,
                       details={"scope": scope})
                return api_error(403, f"this token lacks the scope {scope}")
            now = utcnow()
            # At most one write per token per minute (and on a new address): an UPDATE on every request
            # made each one hold the token's row lock until commit, serialising a border system's calls.
            if (token.last_used_at is None or token.last_used_ip != request.remote_addr
                    or now - token.last_used_at >= LAST_USED_PRECISION):
                db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                                   .values(last_used_at=now, last_used_ip=request.remote_addr))
            if permission is not None and not token.principal.can(permission):
                record(denied_action or "api.permission.denied", outcome="denied", object_type=object_type,
                       object_id=kwargs.get(object_arg) if object_arg else None,
                       details={"permission": permission})
                return api_error(403, "Forbidden")
            return view(*args, **kwargs)

        wrapped.required_scope = scope or ""
        wrapped.required_permission = permission or ""
        per_token = limiter.limit(lambda: current_app.config["RATELIMIT_API"], key_func=_rate_key)
        return per_token(_AUTH_FAILURES_PER_ADDRESS(wrapped))

    return decorator


def get_own_token_or_404(principal: Principal, token_id: int) -> ApiToken:
    """One of ``principal``'s own tokens; anyone else's, and a nonexistent one, answer 404 (audited as denied)."""
    from portal.audit.service import record

    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == principal.user_id))
    if token is None:
        record("api_tokens.access", outcome="denied", object_type="api_token", object_id=token_id,
               principal=principal)
        abort(404)
    return token
