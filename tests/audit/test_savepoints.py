"""Audit entries queued inside a savepoint that rolls back are dropped with it; the others stay."""

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.audit.service import record
from portal.extensions import db


def _count(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_rolled_back_savepoint_drops_only_its_entries(app_ctx):
    record("probe.before")
    savepoint = db.session.begin_nested()
    record("probe.inside")
    inner = db.session.begin_nested()
    record("probe.inner")
    inner.commit()
    savepoint.rollback()
    record("probe.after")
    db.session.commit()
    assert (_count("probe.before"), _count("probe.inside"), _count("probe.inner"), _count("probe.after")) == (1, 0, 0, 1)


def test_committed_savepoint_keeps_its_entries(app_ctx):
    savepoint = db.session.begin_nested()
    record("probe.kept")
    savepoint.commit()
    db.session.commit()
    assert _count("probe.kept") == 1
