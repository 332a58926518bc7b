"""Build submissions through the real operations (audit and notifications included), for exchange tests."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.exchange import operations, validation
from portal.exchange.models import Submission
from portal.extensions import db
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage
from portal.parties.models import Party
from portal.principal import Principal


def party_id(code: str) -> int:
    return db.session.scalar(select(Party.id).where(Party.code == code))


def submission_input(**overrides) -> dict:
    """A complete, valid submission (GTM to MEX, AMBER), as the API sends it, with ``overrides``."""
    data = {
        "title": "Forged Schengen visas on the Tapachula route",
        "kind": "immigration_control",
        "summary": "Three forged visas detected at La Aurora this week.",
        "body": "## Findings\n\nThe visas share a **misprinted** security thread.",
        "source_reliability": "B",
        "information_accuracy": "2",
        "handling_code": "crime_only",
        "tlp": "AMBER",
        "parties": ["MEX"],
    }
    data.update(overrides)
    return data


def make_submission(author, *, send=True, commit=True, **overrides) -> Submission:
    """A submission written by ``author`` through ``create_submission`` (sent unless ``send=False``)."""
    principal = Principal.for_user(author)
    data = validation.clean_submission(principal, submission_input(**overrides))
    submission = operations.create_submission(principal, data, send=send)
    if commit:
        db.session.commit()
    return submission


def audit_rows(action, **where):
    """The audit entries of ``action`` (filtered by the ``AuditEntry`` columns ``where``), oldest first."""
    stmt = select(AuditEntry).where(AuditEntry.action == action)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, key) == value)
    return db.session.scalars(stmt.order_by(AuditEntry.seq)).all()


def notifications_of(user):
    """The in-app notifications ``user`` has."""
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()


def mails_of(user):
    """The e-mails queued in the outbox for ``user``."""
    return [m for m in db.session.scalars(select(OutboxMessage)) if m.recipient == user.email]


def row_count(model):
    """How many rows ``model`` has."""
    return db.session.scalar(select(func.count()).select_from(model))


def form_input(**overrides):
    """The page's "new submission" form data for ``submission_input()`` (sent), with ``overrides``; a None
    value leaves the field out."""
    data = {**submission_input(), "action": "send"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def make_submission_attachment(author, submission, data: bytes | None = None, filename: str = "specimen.png",
                               caption: str | None = None):
    """A file on ``submission`` stored through the real operations (encrypted blob, thumbnail), committed."""
    from documents.files import StoredBlobs, store_upload
    from portal.exchange import attachments
    from tests.documents.factories import png_bytes

    blobs = StoredBlobs()
    upload = store_upload([data or png_bytes()], filename, allowed=attachments.SUBMISSION_KINDS, blobs=blobs)
    item = attachments.create_attachment(Principal.for_user(author), submission, upload, caption=caption)
    db.session.commit()
    return item
