"""Queueing and sending e-mail. Sending is ``send_due()`` (``flask --app portal outbox send``).

Delivery is SMTP when ``MAIL_SERVER`` is set, otherwise an ``.eml`` file (mode 0600) in
``MAIL_SPOOL_DIR``. Each message is handled in its own transactions:

1. it is *claimed*: a conditional UPDATE pushes its ``next_attempt_at`` a lease ahead and commits, so a
   second sender running at the same time skips it, and a sender that crashes mid-send leaves it to be
   retried when the lease runs out (nothing is lost);
2. it is handed to the server or written to the spool;
3. the outcome is committed at once: ``sent``, or a failed attempt with exponential backoff (1, 2, 4...
   minutes) and ``failed`` after ``MAX_ATTEMPTS``.

A crash between 2 and 3 can send one message twice (at-least-once delivery); no other point can.
``last_error`` names the error class and SMTP/OS code only: server replies may echo an address.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import select, update

from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.timeutil import utcnow

MAX_ATTEMPTS = 8
CLAIM_LEASE = timedelta(minutes=10)  # longer than any SMTP timeout below
SMTP_TIMEOUT_SECONDS = 30


def queue_email(recipient: str, subject: str, body: str, *, flush: bool = True) -> OutboxMessage:
    """Queue a message in the current transaction: it exists only if the request's work commits.

    A caller queueing many messages at once passes ``flush=False`` and flushes once itself.
    """
    message = OutboxMessage(recipient=recipient, subject=subject, body=body)
    db.session.add(message)
    if has_request_context():
        g.outbox_queued = True  # deliver_after_request: this request has mail to send
    if flush:
        db.session.flush()
    return message


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 1, 2, 4, 8... minutes."""
    return timedelta(minutes=2 ** max(attempts - 1, 0))


def build_message(message: OutboxMessage) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at.replace(tzinfo=UTC), usegmt=True)
    sender_domain = config["MAIL_SENDER"].rpartition("@")[2] or None
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}", domain=sender_domain)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    return email


def _send_smtp(email: EmailMessage) -> None:
    config = current_app.config
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)


def _write_spool(email: EmailMessage, message: OutboxMessage, now: datetime) -> Path:
    """Write the message atomically (temp file, fsync, rename) as a 0600 file in the spool folder."""
    folder = Path(current_app.config["MAIL_SPOOL_DIR"])
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{now:%Y%m%dT%H%M%S}-{message.id:08d}.eml"
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=".outbox-", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(email.as_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def deliver(message: OutboxMessage, now: datetime) -> None:
    """Hand one message to the mail server, or to the spool folder when there is none."""
    email = build_message(message)
    if current_app.config.get("MAIL_SERVER"):
        _send_smtp(email)
    else:
        _write_spool(email, message, now)


def describe_error(exc: BaseException) -> str:
    """An error description safe to store: the class and codes, never the server's text."""
    description = type(exc).__name__
    if isinstance(exc, smtplib.SMTPResponseException):
        description += f" (SMTP {exc.smtp_code})"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in exc.recipients.values()})
        description += f" (SMTP {', '.join(codes)})"
    elif isinstance(exc, OSError) and exc.errno is not None:
        description += f" (errno {exc.errno}: {os.strerror(exc.errno)})"
    return description[:500]


def _claim(message_id: int, now: datetime) -> bool:
    """Take the message for this run; False when another sender took it first."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending",
               OutboxMessage.next_attempt_at <= now)
        .values(next_attempt_at=now + CLAIM_LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def send_due(now: datetime | None = None, limit: int | None = None) -> tuple[int, int]:
    """Send every pending message whose time has come; returns ``(sent, failed)`` for this run."""
    now = now or utcnow()
    query = (select(OutboxMessage.id)
             .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id))
    if limit:
        query = query.limit(limit)
    due_ids = db.session.scalars(query).all()
    db.session.commit()  # end the read transaction: each message gets its own
    sent = failed = 0
    for message_id in due_ids:
        if not _claim(message_id, now):
            continue
        message = db.session.get(OutboxMessage, message_id, populate_existing=True)
        try:
            deliver(message, now)
        except Exception as exc:  # noqa: BLE001 - any failure: keep the message, try again later
            message.attempts += 1
            message.last_error = describe_error(exc)
            if message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
            else:
                message.next_attempt_at = now + backoff(message.attempts)
            current_app.logger.warning("outbox message %s: attempt %s failed: %s",
                                       message_id, message.attempts, message.last_error)
            failed += 1
        else:
            message.status = "sent"
            message.sent_at = utcnow()
            message.last_error = None
            sent += 1
        db.session.commit()
    return sent, failed


def delivers_after_request(app: Flask) -> bool:
    """In development without a mail server, mail reaches the spool folder without ``outbox send``: the
    newcomer's set-password link can be followed at once. Never under test (its transactions roll back)."""
    return (app.config.get("OUTBOX_DELIVER_AFTER_REQUEST", app.config.get("PORTAL_ENV") == "development")
            and not app.config.get("MAIL_SERVER") and not app.testing)


def deliver_after_request(_error=None) -> None:
    """After a request that queued mail (and has committed it): send what is due, a few at most."""
    if not g.pop("outbox_queued", False):
        return
    try:
        send_due(limit=50)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("outbox: delivery after the request failed")


def init_app(app: Flask) -> None:
    if delivers_after_request(app):
        app.teardown_request(deliver_after_request)
