"""Server-side login sessions: the cookie holds a random id; the row decides whether it is still valid.

Logout and password changes revoke rows, so a copied cookie dies with them. A session ends after 30
idle minutes or 12 hours in all, whichever comes first.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import select, update

from auth.models import User, UserSession
from portal.crypto import token_digest
from portal.extensions import db, login_manager
from portal.timeutil import utcnow

_SESSION_KEY = "sid"
_TOUCH_INTERVAL = timedelta(seconds=60)  # write last_seen at most once a minute per session


def start_session(user: User) -> UserSession:
    """Log ``user`` in with a fresh session id (never reuse a pre-login id: session fixation)."""
    locale = session.get("locale")
    session.clear()
    sid = secrets.token_urlsafe(32)
    row = UserSession(
        sid_digest=token_digest(sid),
        user_id=user.id,
        ip=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:200],
    )
    db.session.add(row)
    session[_SESSION_KEY] = sid
    if locale:
        session["locale"] = locale
    session.permanent = False
    login_user(user)
    user.last_login_at = utcnow()
    return row


def current_session_row() -> UserSession | None:
    sid = session.get(_SESSION_KEY)
    if not sid:
        return None
    return db.session.scalar(select(UserSession).where(UserSession.sid_digest == token_digest(sid)))


def end_session() -> None:
    row = current_session_row()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    logout_user()
    session.clear()


def revoke_sessions(user: User, *, keep_current: bool = False) -> int:
    """Revoke every live session of ``user`` (optionally all but this request's)."""
    keep = current_session_row() if keep_current else None
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    return db.session.execute(stmt.values(revoked_at=utcnow())).rowcount


def session_expired(row: UserSession, now) -> bool:
    cfg = current_app.config
    return (
        now - row.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
        or now - row.created_at > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])
    )


@login_manager.user_loader
def _load_user(user_id: str):
    row = current_session_row()
    if row is None or row.revoked_at is not None or str(row.user_id) != user_id:
        return None
    now = utcnow()
    if session_expired(row, now):
        row.revoked_at = now
        session.pop(_SESSION_KEY, None)
        session["expired"] = True
        return None
    user = row.user
    if not user.active:
        return None
    if now - row.last_seen_at > _TOUCH_INTERVAL:
        row.last_seen_at = now
    return user
