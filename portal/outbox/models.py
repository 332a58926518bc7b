"""Queued e-mail. Recipient, subject and body are stored encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import EncryptedText
from portal.extensions import db
from portal.timeutil import utcnow

STATUSES = ("pending", "sent", "failed")


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(EncryptedText("outbox.recipient"))
    subject: Mapped[str] = mapped_column(EncryptedText("outbox.subject"))
    body: Mapped[str] = mapped_column(EncryptedText("outbox.body"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


from portal.rotation import register_encrypted_column

register_encrypted_column(OutboxMessage, "recipient", "subject", "body")
