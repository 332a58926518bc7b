"""Creating and reading in-app notifications.

A notification names a record and links to it; it never carries the record's content when the record
is marked AMBER or stricter (the bell is visible over a colleague's shoulder, and a notification outlives
a later narrowing of the record's distribution). Titles are rendered in each recipient's language.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import force_locale
from sqlalchemy import select, update

from auth.models import User
from auth.permissions import permissions_for_role
from portal.audit.service import record
from portal.extensions import db
from portal.notifications.models import Notification
from portal.security import is_safe_next
from portal.timeutil import utcnow

# TLP markings whose content may appear in a notification title.
CONTENT_TLP = frozenset({"CLEAR", "GREEN"})


def title_for(tlp: str | None, *, content_title, reference_title):
    """The title to notify with: the content title for CLEAR/GREEN, else only the reference."""
    return content_title if tlp in CONTENT_TLP else reference_title


def notify(users: Iterable, kind: str, title, link: str | None, tlp: str | None, *,
           flush: bool = True) -> list[Notification]:
    """Queue one notification per user (flushed, committed with the request).

    ``title`` may be a lazy string: it is rendered in each user's own interface language. A caller that
    notifies about many records at once passes ``flush=False`` and flushes once itself.
    """
    if link is not None and not is_safe_next(link):
        raise ValueError("a notification links only to a path inside the portal")
    created = []
    for user in users:
        with force_locale(user.locale or "en"):
            text = str(title)
        note = Notification(user_id=user.id, kind=kind, title=text, link=link, tlp=tlp)
        db.session.add(note)
        created.append(note)
    if flush:
        db.session.flush()
    return created


def party_administrators(party_id: int, *, except_user_id: int | None = None) -> list[User]:
    """The active users of ``party_id`` who administer its accounts (``manage_party_users``): whom a party
    is told through of what others did to it."""
    users = db.session.scalars(select(User).where(User.party_id == party_id, User.active.is_(True)))
    return [user for user in users
            if "manage_party_users" in permissions_for_role(user.role) and user.id != except_user_id]


def notifications_for(user, *, unread_only: bool = False):
    """``select(Notification)`` of ``user``'s notifications, newest first."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def mark_all_read(user) -> int:
    """Mark every unread notification of ``user`` as read; returns how many."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    record("notification.read_all", object_type="user", object_id=user.id, details={"count": result.rowcount})
    return result.rowcount
