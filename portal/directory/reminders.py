"""Staleness reminders: each party's country admins are told, by e-mail and notification, of its active
entries not verified for ``STALE_MONTHS`` months, at most once per party per day (``directory remind``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from auth.permissions import ROLE_PERMISSIONS
from portal.audit.service import record
from portal.directory.models import DirectoryEntry, DirectoryReminder
from portal.directory.queries import STALE_MONTHS, stale_clause
from portal.extensions import db
from portal.parties.models import Party
from portal.timeutil import utcnow


@dataclass
class ReminderResult:
    """One party reminded: how many stale entries, how many country admins told."""

    party_code: str
    stale: int
    recipients: int


def _directory_maintainers(party_id: int) -> list:
    """The party's active users who keep its directory entries (``manage_party_directory``: its country
    admins)."""
    from auth.models import User

    roles = sorted(role for role, granted in ROLE_PERMISSIONS.items() if "manage_party_directory" in granted)
    return list(db.session.scalars(
        select(User).where(User.party_id == party_id, User.role.in_(roles), User.active.is_(True))
    ))


def _remind(party: Party, stale: int, admins: list) -> None:
    """Queue the e-mail (in each admin's language) and the notification."""
    from portal.notifications.operations import notify
    from portal.outbox.service import queue_email

    for admin in admins:
        with force_locale(admin.locale or "en"):
            subject = _("RCM portal: %(n)s directory entries to verify", n=stale)
            body = _("%(n)s entries of %(party)s in the network directories have not been verified for "
                     "%(months)s months. Please check them and mark them verified in the portal "
                     "(Directory, filter 'Not verified recently').", n=stale, party=party.code,
                     months=STALE_MONTHS)
        queue_email(admin.email, subject, body)
    notify(admins, "directory.stale",
           _l("%(n)s directory entries of your party need verifying", n=stale),
           f"/directory/?party={party.code}&stale=1", None)


def send_reminders(principal, today: date | None = None) -> tuple[list[ReminderResult], int]:
    """Remind each party's country admins of its stale active entries, at most once per party per day;
    each reminder is audited as ``directory.remind`` by ``principal`` (the command line's actor).

    Returns the reminders sent now and how many parties had been reminded already today.
    """
    today = today or utcnow().date()
    counts = db.session.execute(
        select(DirectoryEntry.party_id, func.count(DirectoryEntry.id))
        .where(DirectoryEntry.active.is_(True), stale_clause(today))
        .group_by(DirectoryEntry.party_id)
    ).all()
    sent, skipped = [], 0
    for party_id, stale in sorted(counts):
        if db.session.get(DirectoryReminder, (party_id, today)) is not None:
            skipped += 1
            continue
        party = db.session.get(Party, party_id)
        admins = _directory_maintainers(party_id)
        _remind(party, stale, admins)
        db.session.add(DirectoryReminder(party_id=party_id, sent_on=today, stale_count=stale))
        db.session.flush()
        record("directory.remind", object_type="party", object_id=party_id, object_party=party.code,
               details={"stale": stale, "recipients": len(admins), "day": today.isoformat()}, principal=principal)
        sent.append(ReminderResult(party.code, stale, len(admins)))
    return sent, skipped
