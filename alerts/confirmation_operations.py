"""Hit confirmations: request, answer, read, the response time, overdue reminders and the response times.

Every change takes the principal first, flushes (never commits), writes its audit entry and its
notifications (``alerts.confirmation_notify``). Reads go through ``portal.access`` (the two parties only).
The audit names the confirmation, its alert and parties, never the document number, the place or a note.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from werkzeug.exceptions import Forbidden

from alerts import confirmation_notify
from alerts.confirmations import (
    ANSWER_PERMISSION,
    ANSWERS,
    FINAL_ANSWERS,
    MAX_NOTE,
    MAX_PLACE,
    MAX_RESPONSE_MINUTES,
    MIN_RESPONSE_MINUTES,
    REQUEST_PERMISSION,
    HitConfirmation,
    PartyResponseTime,
    response_minutes,
)
from alerts.indexes import VALID_NUMBER, normalise_document_number, number_any_index, skeleton_index
from alerts.models import Alert
from portal.access import get_changeable_or_404, get_visible_or_404, owns, visible
from portal.audit.service import record
from portal.extensions import db
from portal.parties.models import Party
from portal.principal import Principal
from portal.timeutil import utcnow

OBJECT_TYPE = "hit_confirmation"


class ConfirmationError(ValueError):
    """Bad input; ``errors`` maps each bad field to a message. Nothing was written."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{key}: {value}" for key, value in errors.items()))
        self.errors = errors


def _require(principal: Principal | None, permission: str, action: str) -> None:
    if principal is None or not principal.can(permission):
        record(action, outcome="denied", principal=principal, details={"permission": permission})
        raise Forbidden()


def _text(errors: dict, name: str, value, limit: int, *, required: bool) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    if value is None:
        errors[name] = _("Enter text.")
    elif required and not value:
        errors[name] = _("This field is required.")
    elif len(value) > limit:
        errors[name] = _("Enter at most %(limit)d characters.", limit=limit)
    return value or None


# --- requesting ---------------------------------------------------------------------------------------

def request_confirmation(principal: Principal | None, alert_id, *, document_number, place, note=None) -> HitConfirmation:
    """Ask the reporting party of a visible, published alert to confirm a hit on ``document_number``.

    404 for an alert the principal may not see; ``ConfirmationError`` (nothing written) for bad input, an
    alert of the principal's own party or one no longer published. Due within the reporting party's
    response time; its liaison officers and country administrators are told at once."""
    _require(principal, REQUEST_PERMISSION, "confirmation.request")
    alert = get_visible_or_404(Alert, alert_id, principal, object_type="alert")
    errors: dict[str, str] = {}
    number = normalise_document_number(document_number) if isinstance(document_number, str) else ""
    if not VALID_NUMBER.match(number):
        errors["document_number"] = _("A document number holds 1 to 30 letters and digits.")
    place = _text(errors, "place", place, MAX_PLACE, required=True)
    note = _text(errors, "note", note, MAX_NOTE, required=False)
    if owns(alert, principal):
        errors["alert"] = _("Your own party reported this alert: there is nobody to ask.")
    elif alert.status != "published":
        errors["alert"] = _("This alert is no longer published: there is no hit to confirm.")
    if errors:
        raise ConfirmationError(errors)
    now, minutes = utcnow(), response_minutes(alert.owner_party_id)
    confirmation = HitConfirmation(
        alert_id=alert.id, requester_party_id=principal.party_id, reporting_party_id=alert.owner_party_id,
        requested_by_id=principal.user_id, document_number=number, place=place, note=note, status="pending",
        requested_at=now, due_at=now + timedelta(minutes=minutes), response_minutes=minutes)
    db.session.add(confirmation)
    db.session.flush()
    record("confirmation.request", object_type=OBJECT_TYPE, object_id=confirmation.id,
           object_party=alert.owner_party.code, principal=principal,
           details={"alert_id": alert.id, "match": number_match(alert, number), "response_minutes": minutes})
    confirmation_notify.requested(confirmation, alert)
    return confirmation


def may_request(principal: Principal, alert: Alert) -> bool:
    """Whether ``principal`` may ask for a confirmation of a hit on ``alert`` (another party's published one)."""
    return principal.can(REQUEST_PERMISSION) and alert.status == "published" and not owns(alert, principal)


def number_match(alert: Alert, number: str) -> str:
    """How the number seen relates to the alert's: ``exact``, ``near`` (look-alike), ``range`` or ``other``,
    by blind indexes (nothing decrypted)."""
    if alert.number_any_index and alert.number_any_index == number_any_index(number):
        return "exact"
    if alert.skeleton_index and alert.skeleton_index == skeleton_index(number):
        return "near"
    return "range" if alert.has_range else "other"


# --- answering ----------------------------------------------------------------------------------------

def answer_confirmation(principal: Principal | None, confirmation_id, *, answer, note=None) -> HitConfirmation:
    """The reporting party's answer. 404 for anyone who may not see the request, 403 (audited) for the
    requesting party; ``ConfirmationError`` for a bad answer or one already final. The requester is told."""
    _require(principal, ANSWER_PERMISSION, "confirmation.answer")
    confirmation = get_changeable_or_404(HitConfirmation, confirmation_id, action="confirmation.answer",
                                         permission=ANSWER_PERMISSION, denied_status=403,
                                         object_type=OBJECT_TYPE, principal=principal)
    errors: dict[str, str] = {}
    if answer not in ANSWERS:
        errors["answer"] = _("Choose one of: %(choices)s.", choices=", ".join(ANSWERS))
    elif confirmation.status in FINAL_ANSWERS:
        errors["answer"] = _("This request has already been answered.")
    note = _text(errors, "note", note, MAX_NOTE, required=answer == "more_information")
    if errors:
        raise ConfirmationError(errors)
    now = utcnow()
    first = confirmation.answered_at is None
    confirmation.status, confirmation.answer_note, confirmation.answered_by_id = answer, note, principal.user_id
    if first:
        confirmation.answered_at = now
    db.session.flush()
    record("confirmation.answer", object_type=OBJECT_TYPE, object_id=confirmation.id,
           object_party=confirmation.reporting_party.code, principal=principal,
           details={"alert_id": confirmation.alert_id, "answer": answer, "first_answer": first,
                    "in_time": confirmation.answered_at <= confirmation.due_at,
                    "minutes": _minutes(confirmation.answered_at - confirmation.requested_at)})
    confirmation_notify.answered(confirmation, db.session.get(Alert, confirmation.alert_id))
    return confirmation


def _minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


# --- reading ------------------------------------------------------------------------------------------

def read_confirmation(principal: Principal | None, confirmation_id, *, via: str | None = None) -> HitConfirmation:
    """One request, for its two parties (404 for everyone else, audited as denied); the read is audited."""
    confirmation = get_visible_or_404(HitConfirmation, confirmation_id, principal, object_type=OBJECT_TYPE)
    record("confirmation.view", object_type=OBJECT_TYPE, object_id=confirmation.id, principal=principal,
           object_party=confirmation.reporting_party.code, details={"via": via} if via else None)
    return confirmation


@dataclass
class ConfirmationLists:
    to_answer: list[HitConfirmation]  # asked of the principal's party
    requested: list[HitConfirmation]  # asked by the principal's party


def confirmation_lists(principal: Principal) -> ConfirmationLists:
    """The party's requests, open ones first, newest first: those to answer, and those it asked."""
    rows = db.session.scalars(visible(HitConfirmation, principal).order_by(
        HitConfirmation.status != "pending", HitConfirmation.requested_at.desc(), HitConfirmation.id.desc())
        .limit(200)).all()
    return ConfirmationLists([row for row in rows if row.reporting_party_id == principal.party_id],
                             [row for row in rows if row.requester_party_id == principal.party_id])


def alert_references(confirmations) -> dict[int, str]:
    """Alert id -> reference, for the listed requests (the parties see their alert's reference)."""
    ids = {item.alert_id for item in confirmations}
    return dict(db.session.execute(select(Alert.id, Alert.reference).where(Alert.id.in_(ids))).all()) if ids else {}


# --- the response time --------------------------------------------------------------------------------

def set_response_time(principal: Principal | None, minutes) -> PartyResponseTime:
    """The principal's party's response time (minutes, 5 to 1,440); new requests are due within it."""
    _require(principal, "set_confirmation_response_time", "confirmation.response_time")
    if isinstance(minutes, bool) or not isinstance(minutes, int) \
            or not MIN_RESPONSE_MINUTES <= minutes <= MAX_RESPONSE_MINUTES:
        raise ConfirmationError({"minutes": _("Enter a number from %(low)d to %(high)d.",
                                              low=MIN_RESPONSE_MINUTES, high=MAX_RESPONSE_MINUTES)})
    row = db.session.get(PartyResponseTime, principal.party_id)
    previous = response_minutes(principal.party_id)
    if row is None:
        row = PartyResponseTime(party_id=principal.party_id)
        db.session.add(row)
    row.minutes, row.updated_at, row.updated_by_id = minutes, utcnow(), principal.user_id
    db.session.flush()
    record("confirmation.response_time", object_type="party", object_id=principal.party_id,
           object_party=principal.party_code, principal=principal,
           details={"minutes": minutes, "previous": previous})
    return row


# --- overdue requests ---------------------------------------------------------------------------------

def remind_overdue(now: datetime | None = None, principal: Principal | None = None) -> int:
    """Tell the reporting parties again of each pending request past its due time: once when it falls
    due, then once per further response-time period (a scheduler runs this every few minutes; a second run
    in the same period sends nothing). Each reminder is claimed with one conditional UPDATE, so two
    overlapping runs never send it twice. Returns how many requests were re-notified."""
    now = now or utcnow()
    due = db.session.scalars(select(HitConfirmation).where(
        HitConfirmation.status == "pending", HitConfirmation.due_at < now).order_by(HitConfirmation.id)).all()
    reminded = 0
    for confirmation in due:
        last = confirmation.reminded_at
        if last is not None and now - last < timedelta(minutes=confirmation.response_minutes):
            continue
        claimed = db.session.execute(
            update(HitConfirmation)
            .where(HitConfirmation.id == confirmation.id, HitConfirmation.status == "pending",
                   HitConfirmation.reminded_at.is_(None) if last is None else HitConfirmation.reminded_at == last)
            .values(reminded_at=now, reminders=HitConfirmation.reminders + 1)
            .execution_options(synchronize_session=False)).rowcount
        if not claimed:
            continue
        db.session.refresh(confirmation)
        confirmation_notify.overdue(confirmation, db.session.get(Alert, confirmation.alert_id))
        record("confirmation.overdue", object_type=OBJECT_TYPE, object_id=confirmation.id, principal=principal,
               object_party=confirmation.reporting_party.code,
               details={"reminders": confirmation.reminders, "minutes_overdue": _minutes(now - confirmation.due_at)})
        reminded += 1
    return reminded


# --- response times, for the secretariat ---------------------------------------------------------------

@dataclass(frozen=True)
class PartyResponseFigures:
    party_code: str
    party_name: str
    response_minutes: int
    requests: int
    answered: int
    open: int
    overdue: int
    median_minutes: float | None  # of the answered requests (first answer)
    in_time_share: float | None  # answered in time / (answered + overdue), None when neither


def response_figures(principal: Principal | None, now: datetime | None = None) -> list[PartyResponseFigures]:
    """Per reporting party: how fast it answers (median, share in time). Counts and times only: no alert,
    requester, number or note. Audited as read."""
    _require(principal, "view_confirmation_statistics", "confirmation.statistics")
    now = now or utcnow()
    rows = db.session.execute(select(
        HitConfirmation.reporting_party_id, HitConfirmation.requested_at, HitConfirmation.due_at,
        HitConfirmation.answered_at, HitConfirmation.status)).all()
    by_party: dict[int, list] = {}
    for row in rows:
        by_party.setdefault(row.reporting_party_id, []).append(row)
    parties = {party.id: party for party in db.session.scalars(
        select(Party).where(or_(Party.id.in_(list(by_party)), Party.kind == "member")))}
    figures = []
    for party_id, party in sorted(parties.items(), key=lambda item: item[1].code):
        items = by_party.get(party_id, [])
        answered = [row for row in items if row.answered_at is not None]
        overdue = [row for row in items if row.answered_at is None and now > row.due_at]
        in_time = sum(1 for row in answered if row.answered_at <= row.due_at)
        judged = len(answered) + len(overdue)
        figures.append(PartyResponseFigures(
            party.code, party.name, response_minutes(party_id), len(items), len(answered),
            sum(1 for row in items if row.answered_at is None), len(overdue),
            statistics.median((row.answered_at - row.requested_at).total_seconds() / 60 for row in answered)
            if answered else None,
            in_time / judged if judged else None))
    record("confirmation.statistics", object_type="hit_confirmation", principal=principal,
           details={"parties": len(figures)})
    return figures
