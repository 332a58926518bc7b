"""Alerts on fraudulent travel documents, their revisions, acknowledgements and reference counters.

Secrets at rest: the document number, the bounds of a number range, the MRZ and the holder's name and
date of birth are ``EncryptedText`` columns (AES-GCM, each bound to its column), and searched only
through the blind indexes of ``alerts.indexes``. The narrative fields (description, modus operandi,
detection tips) are stored in clear on purpose: they are what full-text search reads, and the operations
refuse a narrative that quotes the document number or the holder's name.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.access import ShareableMixin
from portal.crypto import EncryptedText
from portal.extensions import db
from portal.parties.models import Party
from portal.timeutil import utcnow


class Alert(ShareableMixin, db.Model):
    """One reported fraudulent document (or series of stolen blanks), shared by distribution and TLP."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    reference_year: Mapped[int] = mapped_column(Integer)
    reference_seq: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    published_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    expired_at: Mapped[datetime | None]
    review_date: Mapped[date] = mapped_column(Date, index=True)

    # detection
    detecting_unit: Mapped[str | None] = mapped_column(String(200))
    detection_place_kind: Mapped[str | None] = mapped_column(String(16))
    detection_place: Mapped[str | None] = mapped_column(String(200))
    detection_date: Mapped[date | None] = mapped_column(Date, index=True)
    route: Mapped[list] = mapped_column(JSON, default=list)
    bearer_nationality: Mapped[str | None] = mapped_column(String(3))

    # document
    document_category: Mapped[str] = mapped_column(String(32), index=True)
    document_type: Mapped[str | None] = mapped_column(String(16))
    issuing_state: Mapped[str] = mapped_column(String(3), index=True)
    series: Mapped[str | None] = mapped_column(String(64))
    document_number: Mapped[str | None] = mapped_column(EncryptedText("alerts.document_number"))
    number_index: Mapped[str | None] = mapped_column(String(64), index=True)
    number_any_index: Mapped[str | None] = mapped_column(String(64), index=True)
    skeleton_index: Mapped[str | None] = mapped_column(String(64), index=True)
    range_start: Mapped[str | None] = mapped_column(EncryptedText("alerts.range_start"))
    range_end: Mapped[str | None] = mapped_column(EncryptedText("alerts.range_end"))
    range_index: Mapped[str | None] = mapped_column(String(64), index=True)
    issue_date: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)

    # fraud
    fraud_type: Mapped[str] = mapped_column(String(32), index=True)
    forgery_subtype: Mapped[str | None] = mapped_column(String(32))
    security_features: Mapped[list] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    modus_operandi: Mapped[str | None] = mapped_column(Text)
    detection_tips: Mapped[str | None] = mapped_column(Text)

    # holder and MRZ (encrypted); the MRZ's failed checks are kept as codes, which reveal nothing
    holder_name: Mapped[str | None] = mapped_column(EncryptedText("alerts.holder_name"))
    holder_birth_date: Mapped[str | None] = mapped_column(EncryptedText("alerts.holder_birth_date"))
    mrz: Mapped[str | None] = mapped_column(EncryptedText("alerts.mrz"))
    mrz_findings: Mapped[list] = mapped_column(JSON, default=list)

    objectives: Mapped[list] = mapped_column(JSON, default=list)

    owner_party: Mapped[Party] = relationship(foreign_keys="Alert.owner_party_id", lazy="joined")

    # Also ix_alerts_newest_first (detection_date DESC NULLS LAST, id DESC), the search pages' default
    # order: created by migration 0013 only, like the full-text objects, as its spelling differs by engine.
    __table_args__ = (UniqueConstraint("owner_party_id", "reference_year", "reference_seq",
                                       name="uq_alerts_owner_party_id_reference"),)

    @classmethod
    def visibility_refinement(cls, principal):
        """A draft is not yet quality-checked: only its own party sees it, whatever its distribution."""
        return or_(cls.status != "draft", cls.owner_party_id == principal.party_id)

    @property
    def is_revised(self) -> bool:
        """Published and changed since first publication."""
        return self.status == "published" and self.revision > 1

    @property
    def display_status(self) -> str:
        """``revised`` for a revised published alert, else the stored status."""
        return "revised" if self.is_revised else self.status

    @property
    def has_range(self) -> bool:
        return self.range_index is not None

    def __repr__(self) -> str:
        return f"<Alert {self.reference} {self.status}>"



class AlertRevision(db.Model):
    """A full snapshot of an alert after each change, encrypted as a whole (it holds the secret fields).

    ``seq`` numbers the snapshots of one alert; ``revision`` is the alert's revision at that moment (it
    grows only when a published alert is edited), ``event`` says what happened.
    """

    __tablename__ = "alert_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    snapshot: Mapped[str] = mapped_column(EncryptedText("alert_revisions.snapshot"))

    __table_args__ = (UniqueConstraint("alert_id", "seq", name="uq_alert_revisions_alert_id_seq"),)


class AlertAcknowledgement(db.Model):
    """An officer of a receiving party marked the alert as seen (once per user)."""

    __tablename__ = "alert_acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    party: Mapped[Party] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("alert_id", "user_id", name="uq_alert_acknowledgements_alert_id_user_id"),)


class AlertReferenceCounter(db.Model):
    """The last reference number given per party and year (``alerts.references`` increments it atomically)."""

    __tablename__ = "alert_reference_counters"

    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


# Key rotation (``portal.rotation``): the encrypted columns, and how to recompute the blind indexes from
# the decrypted values (the same functions ``alerts.operations._apply`` uses).
def _alert_blind_indexes(alert: Alert) -> dict[str, str | None]:
    from alerts.indexes import NumberRange, number_any_index, number_index, skeleton_index

    number, state = alert.document_number, alert.issuing_state
    series = NumberRange.parse(alert.range_start, alert.range_end) if alert.range_start and alert.range_end else None
    return {
        "number_index": number_index(number, state) if number else None,
        "number_any_index": number_any_index(number) if number else None,
        "skeleton_index": skeleton_index(number) if number else None,
        "range_index": series.index(state) if series else None,
    }


from portal.rotation import register_blind_index, register_encrypted_column

register_encrypted_column(Alert, "document_number", "range_start", "range_end", "holder_name",
                          "holder_birth_date", "mrz")
register_encrypted_column(AlertRevision, "snapshot")
register_blind_index(Alert, _alert_blind_indexes, name="alerts.number_indexes")


class AlertSubscription(db.Model):
    """A user's standing interest in alerts: any combination of issuing state, document category and fraud
    type (``None``: any), delivered by e-mail at once (``immediate``) or in a daily digest (``digest``).

    The criteria are codes of public vocabularies, not secrets: they are stored in clear so that matching
    is one indexed query per published alert.
    """

    __tablename__ = "alert_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    issuing_state: Mapped[str | None] = mapped_column(String(3), index=True)
    document_category: Mapped[str | None] = mapped_column(String(32))
    fraud_type: Mapped[str | None] = mapped_column(String(32))
    delivery: Mapped[str] = mapped_column(String(16), default="immediate")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def matches(self, alert: Alert) -> bool:
        """True when every criterion this subscription sets equals the alert's value."""
        return all(wanted is None or wanted == getattr(alert, name) for name, wanted in (
            ("issuing_state", self.issuing_state), ("document_category", self.document_category),
            ("fraud_type", self.fraud_type)))


class AlertDigestItem(db.Model):
    """One event (published, revised, withdrawn, expired) waiting for a user's daily digest e-mail.

    ``digest_run`` names the digest run that claimed it (with ``sent_at``): a run claims a user's pending
    items with one conditional UPDATE, so each event goes out in at most one digest even when two runs
    overlap.
    """

    __tablename__ = "alert_digest_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    digest_run: Mapped[str | None] = mapped_column(String(32), index=True)


from portal.access import register_audited_record
from portal.plan.registry import DOCUMENT_SECURITY, register_action_objectives

# The early-warning database itself: ERX-INF-4 ("Develop an early warning system: maintain on the private
# site of the virtual secretariat a database ... on false documents and travel documents obtained
# fraudulently") and the 2009 document-security objective it carries forward.
register_action_objectives("alert.", ("ERX-INF-4", DOCUMENT_SECURITY))
register_audited_record("alert", Alert)

from alerts.mrz import canonical_state, normalise_document_number
from portal.audit.sealing import register_term_normaliser

# What ``audit find-search`` compares with the sealed terms of searches and checks: the number and the
# state as the search normalised them before sealing.
register_term_normaliser("number", normalise_document_number)
register_term_normaliser("state", lambda code: canonical_state(code.strip().upper()))
