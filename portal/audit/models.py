"""Audit entries: append-only (database triggers refuse UPDATE and DELETE) and HMAC-chained."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

OUTCOMES = ("ok", "denied", "error")


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    actor_user_id: Mapped[int | None] = mapped_column(index=True)
    actor_party: Mapped[str | None] = mapped_column(String(8), index=True)
    actor_role: Mapped[str | None] = mapped_column(String(32))
    actor_token_id: Mapped[int | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    object_party: Mapped[str | None] = mapped_column(String(8), index=True)
    outcome: Mapped[str] = mapped_column(String(8), index=True)
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    request_id: Mapped[str | None] = mapped_column(String(32))  # the request log's id (portal.observability)
    key_id: Mapped[str] = mapped_column(String(16))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    objectives: Mapped[list[AuditObjective]] = relationship(
        order_by="AuditObjective.code", lazy="selectin", viewonly=True
    )

    @property
    def objective_codes(self) -> list[str]:
        return [link.code for link in self.objectives]


class AuditObjective(db.Model):
    """Plan-of-action objectives an audited action served (a table, so both engines filter alike)."""

    __tablename__ = "audit_objectives"

    entry_id: Mapped[int] = mapped_column(ForeignKey("audit_entries.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class AuditQueueEntry(db.Model):
    """An entry committed by a request that found the chain busy, waiting to be chained.

    Requests never wait for the chain lock (``portal.audit.service``): when another transaction holds it,
    the entry lands here, atomically with the request's own changes, and is chained right after the
    commit. ``entry_mac`` (HMAC under the ``audit-hmac`` key) makes a queued entry tamper-evident before it
    reaches the chain. Rows are inserted and deleted (when chained), never updated (triggers refuse it).
    """

    __tablename__ = "audit_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    actor_user_id: Mapped[int | None]
    actor_party: Mapped[str | None] = mapped_column(String(8))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    actor_token_id: Mapped[int | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    object_party: Mapped[str | None] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(8))
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    request_id: Mapped[str | None] = mapped_column(String(32))
    objectives: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of plan codes
    key_id: Mapped[str] = mapped_column(String(16))
    entry_mac: Mapped[str] = mapped_column(String(64))
