"""In development without a mail server, queued mail reaches the spool folder after the request."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g

from portal.extensions import db
from portal.outbox import service
from portal.outbox.models import OutboxMessage


def test_only_development_without_a_mail_server_delivers_after_the_request(app):
    assert not service.delivers_after_request(app)  # the test application: its transactions roll back
    dev = Flask("dev")
    dev.config.update(PORTAL_ENV="development", MAIL_SERVER="")
    assert service.delivers_after_request(dev)
    dev.config.update(MAIL_SERVER="smtp.example.org")
    assert not service.delivers_after_request(dev)
    dev.config.update(MAIL_SERVER="", PORTAL_ENV="production")
    assert not service.delivers_after_request(dev)


def test_a_request_that_queued_mail_writes_it_to_the_spool(app):
    spool = Path(app.config["MAIL_SPOOL_DIR"])
    before = set(spool.glob("*.eml")) if spool.exists() else set()
    with app.test_request_context("/"):
        message = service.queue_email("newcomer@gtm.example.org", "Set your password", "Follow the link.")
        assert g.outbox_queued
        service.deliver_after_request()
        assert "outbox_queued" not in g
    assert db.session.get(OutboxMessage, message.id).status == "sent"
    written = set(spool.glob("*.eml")) - before
    assert len(written) == 1 and "Set your password" in written.pop().read_text()


def test_a_request_without_mail_sends_nothing(app, monkeypatch):
    monkeypatch.setattr(service, "send_due", lambda **kwargs: (_ for _ in ()).throw(AssertionError("sent")))
    with app.test_request_context("/"):
        service.deliver_after_request()
