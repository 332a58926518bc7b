"""Hit confirmations: a party with a hit asks the reporting party to confirm it before acting.

As INTERPOL's National Central Bureaus do for a hit in the SLTD database: the officer at the counter has a
hit on an alert, and asks the party that reported it whether the alert still holds for the document in
front of them. The request names the alert, the document number seen (encrypted like an alert's number,
never in clear at rest, in the audit or in a message), the place and a note (encrypted: it may name the
holder). It is due within the reporting party's response time (``PartyResponseTime``, set by its country
administrator; 60 minutes by default).

A request is seen by exactly two parties, the requesting one and the reporting one, and only by their
members who may request or answer confirmations (``visible_to_parties``, the rule in ``portal.access``):
an observer (the role holds neither permission), the secretariat and every other party get 404. Only the reporting party answers
(``owning_party_attr``: the write loader's owner).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import EncryptedText
from portal.extensions import db
from portal.parties.models import Party
from portal.timeutil import utcnow

STATUSES = ("pending", "confirmed", "not_confirmed", "more_information")
ANSWERS = ("confirmed", "not_confirmed", "more_information")
FINAL_ANSWERS = frozenset({"confirmed", "not_confirmed"})
DEFAULT_RESPONSE_MINUTES = 60
MIN_RESPONSE_MINUTES, MAX_RESPONSE_MINUTES = 5, 24 * 60
MAX_PLACE, MAX_NOTE = 200, 2000
REQUEST_PERMISSION = "request_hit_confirmation"
ANSWER_PERMISSION = "answer_hit_confirmation"


class HitConfirmation(db.Model):
    """One request to confirm a hit on an alert, and its answer."""

    __tablename__ = "hit_confirmations"
    # portal.access: seen by the members of these two parties who hold one of these permissions.
    visible_to_parties = ("requester_party_id", "reporting_party_id")
    visible_to_permissions = (REQUEST_PERMISSION, ANSWER_PERMISSION)
    owning_party_attr = "reporting_party_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    requester_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    reporting_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    document_number: Mapped[str] = mapped_column(EncryptedText("hit_confirmations.document_number"))
    place: Mapped[str] = mapped_column(EncryptedText("hit_confirmations.place"))
    note: Mapped[str | None] = mapped_column(EncryptedText("hit_confirmations.note"))
    status: Mapped[str] = mapped_column(String(24), default="pending", index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(index=True)
    response_minutes: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime | None]  # the first answer (what response times are measured by)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answer_note: Mapped[str | None] = mapped_column(EncryptedText("hit_confirmations.answer_note"))
    reminded_at: Mapped[datetime | None]  # the last overdue reminder
    reminders: Mapped[int] = mapped_column(Integer, default=0)

    requester_party: Mapped[Party] = relationship(foreign_keys=[requester_party_id], lazy="joined")
    reporting_party: Mapped[Party] = relationship(foreign_keys=[reporting_party_id], lazy="joined")

    @property
    def is_open(self) -> bool:
        """Not yet answered for good (pending, or more information asked)."""
        return self.status not in FINAL_ANSWERS

    def is_overdue(self, now: datetime | None = None) -> bool:
        """Still pending after its due time."""
        return self.status == "pending" and (now or utcnow()) > self.due_at

    def __repr__(self) -> str:
        return f"<HitConfirmation {self.id} {self.status}>"


class PartyResponseTime(db.Model):
    """How many minutes a party gives itself to answer a confirmation request (its country admin sets it)."""

    __tablename__ = "party_response_times"

    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_RESPONSE_MINUTES)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


def response_minutes(party_id: int) -> int:
    """The party's response time, in minutes (the default when it set none)."""
    row = db.session.get(PartyResponseTime, party_id)
    return row.minutes if row is not None else DEFAULT_RESPONSE_MINUTES


from portal.access import register_audited_record
from portal.plan.registry import register_action_objectives
from portal.rotation import register_encrypted_column

register_encrypted_column(HitConfirmation, "document_number", "place", "note", "answer_note")
register_audited_record("hit_confirmation", HitConfirmation)
# Part of the early-warning system (ERX-INF-4): a hit is acted on once its reporting party confirms it.
register_action_objectives("confirmation.", ("ERX-INF-4",))
