"""The audit entries pending on a session until its commit, and the one public way to empty it (test fixtures
that commit data for real)."""

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.audit.service import discard_pending_entries, record
from portal.extensions import db


def _count(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_discarded_entries_are_never_written(app_ctx):
    record("probe.discarded")
    record("probe.discarded")
    assert discard_pending_entries() == 2
    assert discard_pending_entries() == 0
    record("probe.kept")
    db.session.commit()
    assert (_count("probe.discarded"), _count("probe.kept")) == (0, 1)
