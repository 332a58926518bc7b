"""Queueing e-mail. Sending is ``send_due()`` (``flask --app portal outbox send``)."""

from __future__ import annotations

from portal.extensions import db
from portal.outbox.models import OutboxMessage


def queue_email(recipient: str, subject: str, body: str) -> OutboxMessage:
    """Queue a message in the current transaction: it exists only if the request's work commits."""
    message = OutboxMessage(recipient=recipient, subject=subject, body=body)
    db.session.add(message)
    db.session.flush()
    return message
