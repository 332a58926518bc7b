"""The write-access loader (``portal.access.get_changeable_or_404``), proved on every record kind that has
an owning party: an alert, a notice, a library document and a submission, each owned by GTM and listed for
MEX (so HND does not see it at all).

For each: an invisible record answers 404 (audited like the read loader); a visible record of another
party and a missing permission answer the status the caller states (404 or 403), audited as the caller's
action denied, with the reason, the object's owning party and the caller's details; the owner holding the
permission gets the record and no denial is written.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden, NotFound

from alerts.models import Alert
from documents.models import Document
from portal.access import get_changeable_or_404, may_change, owns
from portal.audit.models import AuditEntry
from portal.exchange.models import Submission
from portal.extensions import db
from portal.notices.models import Notice
from portal.principal import Principal
from tests.alerts.factories import report
from tests.documents.factories import make_document
from tests.exchange.factories import make_submission
from tests.notices.factories import make_notice, party_id

OWNER, LISTED, OUTSIDER = "GTM", "MEX", "HND"
ACTION = "record.change"
NOT_HELD = "manage_all_users"  # a liaison officer never holds it


def _alert(author):
    return report(author, distribution={"level": "parties", "parties": [LISTED]})


def _notice(author):
    return make_notice(author, level="parties", parties=[LISTED])


def _document(author):
    return make_document(author, level="parties", party_ids=[party_id(LISTED)])


def _submission(author):
    return make_submission(author, parties=[LISTED])


KINDS = {
    "alert": (Alert, _alert),
    "notice": (Notice, _notice),
    "library_document": (Document, _document),
    "submission": (Submission, _submission),
}


@pytest.fixture(params=list(KINDS))
def owned(request, app_ctx, make_user):
    """``(model, record, principal of party code -> Principal)`` for one record kind, owned by GTM."""
    model, build = KINDS[request.param]
    record = build(make_user(role="liaison_officer", party_code=OWNER))
    db.session.commit()

    def principal_of(code: str) -> Principal:
        return Principal.for_user(make_user(role="liaison_officer", party_code=code))

    return model, record, principal_of


def _head() -> int:
    return db.session.scalar(select(func.max(AuditEntry.seq))) or 0


def _entries_since(seq: int) -> list[AuditEntry]:
    db.session.commit()  # pending entries are chained when the session commits
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)))


def test_invisible_record_is_not_found_and_audited_like_the_read_loader(owned):
    model, record, principal_of = owned
    outsider, start = principal_of(OUTSIDER), _head()
    with pytest.raises(NotFound):
        get_changeable_or_404(model, record.id, action=ACTION, denied_status=403, principal=outsider)
    (entry,) = _entries_since(start)
    assert (entry.action, entry.outcome, entry.object_type, entry.object_id) == (
        f"{model.__tablename__}.access", "denied", model.__tablename__, str(record.id))


@pytest.mark.parametrize(("denied_status", "refusal"), [(404, NotFound), (403, Forbidden)])
def test_another_partys_record_is_refused_with_the_stated_status(owned, denied_status, refusal):
    model, record, principal_of = owned
    reader, start = principal_of(LISTED), _head()
    assert not owns(record, reader) and not may_change(record, principal=reader)
    with pytest.raises(refusal):
        get_changeable_or_404(model, record.id, action=ACTION, denied_status=denied_status, object_type="thing",
                              details={"target": "test"}, principal=reader)
    (entry,) = _entries_since(start)
    assert (entry.action, entry.outcome, entry.object_type, entry.object_id, entry.object_party) == (
        ACTION, "denied", "thing", str(record.id), OWNER)
    assert (entry.actor_party, json.loads(entry.details)) == (LISTED, {"reason": "not_owner", "target": "test"})


@pytest.mark.parametrize(("denied_status", "refusal"), [(404, NotFound), (403, Forbidden)])
def test_the_owner_without_the_permission_is_refused_with_the_stated_status(owned, denied_status, refusal):
    model, record, principal_of = owned
    owner, start = principal_of(OWNER), _head()
    assert owns(record, owner) and not may_change(record, NOT_HELD, owner)
    with pytest.raises(refusal):
        get_changeable_or_404(model, record.id, action=ACTION, permission=NOT_HELD, denied_status=denied_status,
                              principal=owner)
    (entry,) = _entries_since(start)
    assert (entry.action, entry.outcome, entry.object_type, entry.object_party) == (
        ACTION, "denied", model.__tablename__, OWNER)
    assert json.loads(entry.details) == {"permission": NOT_HELD, "reason": "permission"}


def test_the_owner_holding_the_permission_gets_the_record_unaudited(owned):
    model, record, principal_of = owned
    owner, start = principal_of(OWNER), _head()
    permission = next(iter(sorted(owner.permissions)))
    assert may_change(record, permission, owner)
    found = get_changeable_or_404(model, str(record.id), action=ACTION, permission=permission, principal=owner)
    assert found.id == record.id
    assert _entries_since(start) == []
