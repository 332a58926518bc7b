"""Sending the outbox: the file backend, SMTP, retries with backoff, giving up, nothing lost."""

from __future__ import annotations

import email
import smtplib
import stat
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.outbox.service import MAX_ATTEMPTS, _claim, backoff, queue_email, send_due
from portal.timeutil import utcnow

RECIPIENT = "officer@gtm.example.org"


@pytest.fixture
def spool(app, tmp_path, monkeypatch):
    folder = tmp_path / "spool"
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_SPOOL_DIR", str(folder))
    return folder


@pytest.fixture
def smtp_server(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    monkeypatch.setitem(app.config, "MAIL_PORT", 587)
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", True)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "portal")
    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "smtp-secret-password")


@pytest.fixture
def failing_smtp(smtp_server, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(smtplib, "SMTP", refuse)


def _queue(subject="Password reset", body="Open this link within one hour.") -> int:
    message = queue_email(RECIPIENT, subject, body)
    db.session.commit()
    return message.id


def _get(message_id: int) -> OutboxMessage:
    return db.session.get(OutboxMessage, message_id, populate_existing=True)


def test_queued_messages_are_stored_encrypted(app_ctx):
    message_id = _queue(subject="Secret subject")
    raw = db.session.execute(text("SELECT recipient, subject, body FROM outbox_messages WHERE id = :id"),
                             {"id": message_id}).one()
    assert RECIPIENT not in raw.recipient
    assert "Secret subject" not in raw.subject
    assert "within one hour" not in raw.body


def test_file_backend_writes_a_private_eml_file_atomically(app_ctx, spool):
    message_id = _queue()
    now = utcnow()

    assert send_due(now) == (1, 0)

    [written] = list(spool.iterdir())  # no temporary file left behind
    assert written.suffix == ".eml"
    assert RECIPIENT not in written.name
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    parsed = email.message_from_bytes(written.read_bytes())
    assert parsed["To"] == RECIPIENT
    assert parsed["Subject"] == "Password reset"
    assert parsed["From"] == app_ctx.config["MAIL_SENDER"]
    assert parsed["Message-ID"]
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_payload(decode=True).decode().strip() == "Open this link within one hour."
    message = _get(message_id)
    assert (message.status, message.attempts, message.last_error) == ("sent", 0, None)
    assert message.sent_at is not None
    assert send_due(now + timedelta(hours=1)) == (0, 0)  # sent once only
    assert len(list(spool.iterdir())) == 1


def test_only_due_messages_are_sent(app_ctx, spool):
    due_id = _queue(subject="Due")
    later_id = _queue(subject="Later")
    now = utcnow()
    _get(later_id).next_attempt_at = now + timedelta(minutes=5)
    db.session.commit()

    assert send_due(now) == (1, 0)

    assert _get(due_id).status == "sent"
    assert _get(later_id).status == "pending"
    assert send_due(now + timedelta(minutes=5)) == (1, 0)
    assert _get(later_id).status == "sent"


def test_smtp_backend_uses_starttls_login_and_sends(app_ctx, smtp_server, monkeypatch):
    calls = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            calls.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            calls.append(("quit",))

        def starttls(self, context=None):
            calls.append(("starttls", context is not None))

        def login(self, user, password):
            calls.append(("login", user, password))

        def send_message(self, message):
            calls.append(("send", message["To"], message["Subject"]))

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    message_id = _queue()

    assert send_due() == (1, 0)

    assert calls == [
        ("connect", "smtp.example.org", 587),
        ("starttls", True),
        ("login", "portal", "smtp-secret-password"),
        ("send", RECIPIENT, "Password reset"),
        ("quit",),
    ]
    assert _get(message_id).status == "sent"


def test_a_failing_server_keeps_the_message_pending_with_backoff(app_ctx, failing_smtp):
    message_id = _queue()
    now = utcnow()

    assert send_due(now) == (0, 1)

    message = _get(message_id)
    assert message.status == "pending"
    assert message.attempts == 1
    assert message.next_attempt_at == now + timedelta(minutes=1)
    assert message.sent_at is None
    assert message.last_error == "ConnectionRefusedError (errno 111: Connection refused)"
    assert "smtp-secret-password" not in message.last_error
    assert send_due(now + timedelta(seconds=59)) == (0, 0)  # not due again before the backoff

    assert send_due(now + timedelta(minutes=1)) == (0, 1)

    message = _get(message_id)
    assert message.attempts == 2
    assert message.next_attempt_at == now + timedelta(minutes=1) + timedelta(minutes=2)


def test_the_error_kept_never_holds_the_servers_text(app_ctx, smtp_server, monkeypatch):
    def refuse_recipient(*args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({RECIPIENT: (550, f"5.1.1 <{RECIPIENT}> unknown".encode())})

    monkeypatch.setattr(smtplib, "SMTP", refuse_recipient)
    message_id = _queue()

    assert send_due() == (0, 1)

    assert _get(message_id).last_error == "SMTPRecipientsRefused (SMTP 550)"


def test_sending_gives_up_after_the_maximum_attempts(app_ctx, failing_smtp):
    message_id = _queue()
    when = utcnow()
    delays = []

    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert send_due(when) == (0, 1)
        message = _get(message_id)
        assert message.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert message.status == "pending"
            delays.append(message.next_attempt_at - when)
            when = message.next_attempt_at

    assert [delay.total_seconds() / 60 for delay in delays] == [1, 2, 4, 8, 16, 32, 64]
    message = _get(message_id)
    assert message.status == "failed"
    assert message.attempts == MAX_ATTEMPTS == 8
    assert send_due(when + timedelta(days=30)) == (0, 0)
    assert db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.id == message_id))


def test_a_failure_does_not_stop_the_other_messages(app_ctx, spool, monkeypatch):
    from portal.outbox import service

    first_id, second_id = _queue(subject="First"), _queue(subject="Second")
    real_write = service._write_spool

    def write_or_fail(email_message, message, now):
        if message.id == first_id:
            raise PermissionError(13, "Permission denied")
        return real_write(email_message, message, now)

    monkeypatch.setattr(service, "_write_spool", write_or_fail)

    assert send_due() == (1, 1)

    assert (_get(first_id).status, _get(first_id).attempts) == ("pending", 1)
    assert _get(first_id).last_error == "PermissionError (errno 13: Permission denied)"
    assert _get(second_id).status == "sent"


def test_a_claimed_message_is_not_taken_twice(app_ctx):
    message_id = _queue()
    now = utcnow()

    assert _claim(message_id, now) is True
    assert _claim(message_id, now) is False  # a second sender running at the same time skips it
    assert send_due(now) == (0, 0)
    # the lease runs out: a sender that crashed mid-send leaves the message to be retried
    assert _get(message_id).status == "pending"
    assert _get(message_id).next_attempt_at == now + timedelta(minutes=10)


def test_backoff_doubles_from_one_minute():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
