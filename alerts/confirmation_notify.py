"""Who is told what about a hit confirmation (in-app notification and e-mail through the outbox).

A request, and each overdue reminder, go to the reporting party's active accounts that may answer it (its
liaison officers and country administrators, by permission); an answer goes to the officer who asked. For
an alert marked CLEAR or GREEN a message names the fraud type, the issuing state and the place; for AMBER,
AMBER+STRICT and RED only the metadata: the alert's reference and TLP, the parties, the times and a link.
No message ever holds the document number or a note.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from alerts import vocabulary
from alerts.confirmations import ANSWER_PERMISSION, HitConfirmation
from alerts.models import Alert
from auth.models import User
from auth.permissions import permissions_for_role
from portal.extensions import db
from portal.notifications.operations import CONTENT_TLP, notify
from portal.outbox.service import queue_email
from portal.routing import portal_path, portal_url

ANSWER_LABELS = {
    "pending": _l("Pending"),
    "confirmed": _l("Confirmed"),
    "not_confirmed": _l("Not confirmed"),
    "more_information": _l("More information needed"),
}


def answerers(party_id: int) -> list[User]:
    """The party's active accounts that may answer a confirmation request."""
    users = db.session.scalars(select(User).where(User.party_id == party_id, User.active.is_(True))
                               .order_by(User.id))
    return [user for user in users if ANSWER_PERMISSION in permissions_for_role(user.role)]


def _time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _title(kind: str, confirmation: HitConfirmation, alert: Alert):
    values = {"reference": alert.reference, "tlp": alert.tlp, "requester": confirmation.requester_party.code,
              "reporter": confirmation.reporting_party.code, "due": _time(confirmation.due_at),
              "answer": ANSWER_LABELS.get(confirmation.status, confirmation.status)}
    if kind == "requested":
        return _l("Hit confirmation requested by %(requester)s on alert %(reference)s (TLP:%(tlp)s): answer by "
                  "%(due)s", **values)
    if kind == "overdue":
        return _l("Overdue: hit confirmation requested by %(requester)s on alert %(reference)s (TLP:%(tlp)s), "
                  "due %(due)s", **values)
    if alert.tlp in CONTENT_TLP:
        return _l("%(reporter)s answered your hit confirmation on alert %(reference)s: %(answer)s", **values)
    return _l("%(reporter)s answered your hit confirmation on alert %(reference)s (TLP:%(tlp)s)", **values)


def _body(kind: str, confirmation: HitConfirmation, alert: Alert) -> str:
    lines = [str(_title(kind, confirmation, alert)), "",
             _("Alert: %(reference)s", reference=alert.reference), f"TLP:{alert.tlp}",
             _("Requested by: %(party)s, %(time)s", party=confirmation.requester_party.code,
               time=_time(confirmation.requested_at)),
             _("Due: %(time)s", time=_time(confirmation.due_at))]
    if alert.tlp in CONTENT_TLP:
        lines += [_("Fraud type: %(fraud)s", fraud=vocabulary.label(vocabulary.FRAUD_TYPES, alert.fraud_type)),
                  _("Issuing state: %(state)s", state=alert.issuing_state)]
    lines += [_("The document number and the notes are shown only on the portal, after you sign in."), "",
              portal_url("alert_confirmations.detail", confirmation_id=confirmation.id)]
    return "\n".join(lines)


def _tell(users, kind: str, confirmation: HitConfirmation, alert: Alert) -> None:
    title = _title(kind, confirmation, alert)
    notify(users, f"confirmation.{kind}", title,
           portal_path("alert_confirmations.detail", confirmation_id=confirmation.id), alert.tlp)
    for user in users:
        with force_locale(user.locale or "en"):
            queue_email(user.email, str(title), _body(kind, confirmation, alert), flush=False)


def requested(confirmation: HitConfirmation, alert: Alert) -> None:
    """A new request: the reporting party's answerers, at once."""
    _tell(answerers(confirmation.reporting_party_id), "requested", confirmation, alert)


def overdue(confirmation: HitConfirmation, alert: Alert) -> None:
    """A pending request past its due time: the reporting party's answerers, again."""
    _tell(answerers(confirmation.reporting_party_id), "overdue", confirmation, alert)


def answered(confirmation: HitConfirmation, alert: Alert) -> None:
    """An answer: the officer who asked (if the account is still active)."""
    requester = db.session.get(User, confirmation.requested_by_id) if confirmation.requested_by_id else None
    if requester is not None and requester.active:
        _tell([requester], "answered", confirmation, alert)
