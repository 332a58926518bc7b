"""Submissions, their recipients' acknowledgements, reply threads, forwards and per-user read marks.

Recipients: a submission is addressed to parties and/or networks. Acknowledgements are owed per party, so
the networks are expanded into their (member and secretariat) parties when the submission is sent, and the
submission is distributed to the union as a ``parties`` distribution (``portal.access.set_distribution``,
unchanged). The networks named are kept (``SubmissionNetwork``) to show how it was addressed; a party that
joins a network later does not see what was sent before it joined.

A reply is itself shareable: owned by its author's party and listed for the parties of its audience, fixed
when it is written (the whole audience of the submission at that moment, or a narrower part of it). Its
``visibility_refinement`` also requires the submission to be visible, so no reply is ever seen by a party
that cannot see the submission: a thread never reaches wider than its submission.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Date, ForeignKey, String, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.access import ShareableMixin, visibility_clause
from portal.crypto import EncryptedText
from portal.extensions import db
from portal.parties.models import Party
from portal.timeutil import utcnow

KINDS = {
    "immigration_control": _l("Immigration-control intelligence"),
    "document_specimens": _l("Travel or migratory document specimens"),
    "fraud_methods": _l("Methods of fraudulently obtaining travel documents"),
    "smuggling_networks": _l("Smuggling networks and routes"),
    "extra_regional_flows": _l("Extra-regional flow monitoring"),
    "request_for_information": _l("Request for information"),
    "other": _l("Other"),
}
RFI = "request_for_information"
STATUSES = {
    "draft": _l("Draft"),
    "sent": _l("Sent"),
    "acknowledged": _l("Acknowledged"),
    "answered": _l("Answered"),
    "closed": _l("Closed"),
}
# Source reliability and information accuracy, as in the 4x4 evaluation (SIENA, Europol).
SOURCE_RELIABILITY = {
    "A": _l("A: no doubt about the source's authenticity, trustworthiness and competence"),
    "B": _l("B: the source has proved reliable in most cases"),
    "C": _l("C: the source has proved unreliable in most cases"),
    "X": _l("X: the reliability of the source cannot be assessed"),
}
INFORMATION_ACCURACY = {
    "1": _l("1: no doubt about its accuracy"),
    "2": _l("2: known personally to the source but not to the official passing it on"),
    "3": _l("3: not known personally to the source but corroborated by other information"),
    "4": _l("4: not known personally to the source and cannot be corroborated"),
}
HANDLING_CODES = {
    "crime_only": _l("Use only to prevent and combat crime"),
    "no_judicial": _l("Not for judicial proceedings without the sender's permission"),
    "no_onward": _l("No onward dissemination without the sender's permission"),
    "other": _l("Other restrictions (stated)"),
}
# Handling codes under which a recipient may forward the submission to another party.
FORWARDABLE_HANDLING = frozenset({"crime_only", "no_judicial", "other"})
# A submission still taking acknowledgements, replies and forwards.
OPEN_STATUSES = ("sent", "acknowledged", "answered")
# Who writes, reads and is told of submissions.
PERMISSION = "exchange_intelligence"
# Default plan objectives by kind (the Coordination axis of the 2018 plan); ``other`` and requests for
# information fall back to the registry's default for ``exchange.`` actions.
KIND_OBJECTIVES: dict[str, tuple[str, ...]] = {
    "immigration_control": ("ERX-COO-1", "ERX-COO-3"),
    "document_specimens": ("ERX-COO-1",),
    "fraud_methods": ("ERX-COO-1",),
    "smuggling_networks": ("ERX-COO-1",),
    "extra_regional_flows": ("ERX-COO-3",),
}


class Submission(ShareableMixin, db.Model):
    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(EncryptedText("submissions.title"))
    summary: Mapped[str] = mapped_column(EncryptedText("submissions.summary"))
    body: Mapped[str] = mapped_column(EncryptedText("submissions.body"))
    source_reliability: Mapped[str] = mapped_column(String(1))
    information_accuracy: Mapped[str] = mapped_column(String(1))
    handling_code: Mapped[str] = mapped_column(String(16))
    handling_restrictions: Mapped[str | None] = mapped_column(EncryptedText("submissions.handling_restrictions"),
                                                              nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    objectives: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    owner_party: Mapped[Party] = relationship(foreign_keys="Submission.owner_party_id", lazy="joined")

    @classmethod
    def visibility_refinement(cls, principal):
        """A draft is seen only by the sending party, whatever its recipients."""
        return or_(cls.status != "draft", cls.owner_party_id == principal.party_id)

    @property
    def reference(self) -> str:
        return f"EX-{self.id:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: date | None = None) -> bool:
        """A request for information past its due date and not yet answered."""
        today = today or utcnow().date()
        return (self.kind == RFI and self.due_date is not None and self.status in ("sent", "acknowledged")
                and self.due_date < today)


class SubmissionNetwork(db.Model):
    """A network a submission was addressed to (its parties are among the listed recipients)."""

    __tablename__ = "submission_networks"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), primary_key=True)


class SubmissionAlert(db.Model):
    """An alert the sender related to the submission (one the sender could see)."""

    __tablename__ = "submission_alerts"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)


class SubmissionAcknowledgement(db.Model):
    """A recipient party's acknowledgement: who, and when."""

    __tablename__ = "submission_acknowledgements"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)

    party: Mapped[Party] = relationship(lazy="joined")


class SubmissionReply(ShareableMixin, db.Model):
    """A message in a submission's thread, seen by its fixed audience (never wider than the submission)."""

    __tablename__ = "submission_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    body: Mapped[str] = mapped_column(EncryptedText("submission_replies.body"))
    restricted: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    owner_party: Mapped[Party] = relationship(foreign_keys="SubmissionReply.owner_party_id", lazy="joined")

    @classmethod
    def visibility_refinement(cls, principal):
        """Only where the submission itself is visible to the principal."""
        parents = select(Submission.id).where(visibility_clause(Submission, principal)).correlate(None)
        return cls.submission_id.in_(parents)


class SubmissionForward(db.Model):
    """A forward: which party's user sent the submission on to which party, and when."""

    __tablename__ = "submission_forwards"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    from_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    to_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    forwarded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    forwarded_at: Mapped[datetime] = mapped_column(default=utcnow)

    from_party: Mapped[Party] = relationship(foreign_keys="SubmissionForward.from_party_id", lazy="joined")
    to_party: Mapped[Party] = relationship(foreign_keys="SubmissionForward.to_party_id", lazy="joined")


class SubmissionRead(db.Model):
    """When a user last read a submission's thread (for unread counts)."""

    __tablename__ = "submission_reads"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


from portal.rotation import register_encrypted_column

register_encrypted_column(Submission, "title", "summary", "body", "handling_restrictions")
register_encrypted_column(SubmissionReply, "body")

from portal.access import register_audited_record
from portal.plan.registry import register_action_objectives

# Intelligence exchange between member countries: ERX-COO-1 (exchange intelligence on immigration control,
# specimens of travel documents, and police intelligence on how travel documents are obtained fraudulently)
# and ERX-COO-3 (monitor extra-regional flows and routes by exchanging intelligence on immigration control).
register_action_objectives("exchange.", ("ERX-COO-1", "ERX-COO-3"))
register_action_objectives("submission.", ("ERX-COO-1", "ERX-COO-3"))
register_audited_record("submission", Submission)
