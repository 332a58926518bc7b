"""Who is told what: a return sent back, and the reminders of a cycle's due date (``reporting remind``).

Reminders go to the party's country admins and liaison officers (the holders of ``submit_party_return``),
by e-mail through the outbox and in-app notification: 14 and 3 days before the due date, and on every
week overdue (7, 14, 21 ... days after it), each at most once per return (``ReturnReminder``), so a missed
run catches up the latest one due and never sends one twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from auth.permissions import ROLE_PERMISSIONS
from portal.audit.service import record
from portal.extensions import db
from portal.reporting.models import EDITABLE_STATUSES, PartyReturn, ReportingCycle, ReturnReminder
from portal.routing import portal_path, portal_url
from portal.timeutil import utcnow

BEFORE_DUE = (14, 3)


def party_submitters(party_id: int) -> list:
    """The party's active users who fill its returns (``submit_party_return``)."""
    from auth.models import User

    roles = sorted(role for role, granted in ROLE_PERMISSIONS.items() if "submit_party_return" in granted)
    return list(db.session.scalars(select(User).where(User.party_id == party_id, User.role.in_(roles),
                                                      User.active.is_(True)).order_by(User.id)))


def _link(party_return: PartyReturn, absolute: bool) -> str:
    build = portal_url if absolute else portal_path
    return build("reporting.return_page", cycle_id=party_return.cycle_id, party=party_return.owner_party.code)


def _tell(party_return: PartyReturn, kind: str, subject, body, title) -> int:
    """E-mail (in each user's language) and notify the party's submitters; how many were told."""
    from portal.notifications.operations import notify
    from portal.outbox.service import queue_email

    users = party_submitters(party_return.owner_party_id)
    cycle = party_return.cycle
    for user in users:
        with force_locale(user.locale or "en"):
            values = {"template": cycle.template.title(str(user.locale or "en")), "period": cycle.period,
                      "due": cycle.due_date.isoformat(), "link": _link(party_return, True)}
            queue_email(user.email, str(subject) % values, str(body) % values, flush=False)
    notify(users, kind, title, _link(party_return, False), None)
    return len(users)


def tell_sent_back(party_return: PartyReturn) -> int:
    """Tell the party that the secretariat sent its return back (the reason is on the page, not mailed)."""
    return _tell(party_return, "reporting.sent_back",
                 _l("RCM portal: your return %(template)s %(period)s was sent back"),
                 _l("The Technical Secretariat sent back your party's return %(template)s for %(period)s. "
                    "The reason and the return are here: %(link)s"),
                 _l("A return of your party was sent back"))


def reminder_due(due: date, today: date) -> str | None:
    """The reminder owed on ``today`` for a cycle due on ``due``: ``due-14``, ``due-3``, ``overdue-N`` (the
    latest week overdue reached), or None. A day between two reminders owes the latest one passed, so a
    run missed by a day still reminds, and ``ReturnReminder`` keeps each from being sent twice."""
    days = (due - today).days
    if days < 0:
        weeks = (-days) // 7
        return f"overdue-{weeks}" if weeks >= 1 else None
    for before in sorted(BEFORE_DUE):
        if days <= before:
            return f"due-{before}"
    return None


@dataclass
class Reminded:
    cycle_id: int
    party_code: str
    kind: str
    recipients: int


def send_reminders(principal, today: date | None = None) -> list[Reminded]:
    """Remind each open return's party of what it owes today, once per return and kind; each audited
    (``reporting.remind``, linked to the template's objective)."""
    today = today or utcnow().date()
    sent = []
    returns = db.session.scalars(select(PartyReturn).join(ReportingCycle, ReportingCycle.id == PartyReturn.cycle_id)
                                 .where(PartyReturn.status.in_(sorted(EDITABLE_STATUSES)))
                                 .order_by(ReportingCycle.id, PartyReturn.id))
    for party_return in list(returns):
        kind = reminder_due(party_return.cycle.due_date, today)
        if kind is None or db.session.get(ReturnReminder, (party_return.id, kind)) is not None:
            continue
        overdue = kind.startswith("overdue")
        count = _tell(party_return, "reporting.remind",
                      _l("RCM portal: your return %(template)s %(period)s is overdue") if overdue else
                      _l("RCM portal: your return %(template)s %(period)s is due on %(due)s"),
                      _l("Your party's return %(template)s for %(period)s was due on %(due)s and has not been "
                         "submitted. Please fill it in and submit it: %(link)s") if overdue else
                      _l("Your party's return %(template)s for %(period)s is due on %(due)s. Please fill it in "
                         "and submit it: %(link)s"),
                      _l("A return of your party is overdue") if overdue else _l("A return of your party is due soon"))
        db.session.add(ReturnReminder(return_id=party_return.id, kind=kind, sent_on=today, recipients=count))
        db.session.flush()
        cycle = party_return.cycle
        record("reporting.remind", object_type="reporting_return", object_id=party_return.id,
               object_party=party_return.owner_party.code, objectives=[cycle.template.objective],
               details={"cycle": cycle.id, "kind": kind, "recipients": count, "day": today.isoformat()},
               principal=principal)
        sent.append(Reminded(cycle.id, party_return.owner_party.code, kind, count))
    return sent
