"""The audit queue: a transaction that finds the chain lock busy queues its entries (MAC'd) instead of
waiting, and the queue is chained right after - so requests commit concurrently and the chain stays whole.

Most tests force the busy case by making the lock look taken (``try_lock_audit_chain`` -> False) and
leaving the queue for the next transaction that gets the lock; the PostgreSQL test holds the real lock
from another connection and watches a writer queue, commit and then chain its entry once the lock frees.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

import portal.audit.service as audit_service
from portal.audit.models import AuditEntry, AuditQueueEntry
from portal.audit.service import queue_mac, record, verify_chain
from portal.database import AUDIT_CHAIN_LOCK
from portal.extensions import db
from portal.keyring import current_keyring
from portal.timeutil import utcnow

PG = bool(__import__("os").environ.get("PORTAL_TEST_DATABASE_URL", "").startswith("postgresql"))


def _head_seq() -> int:
    return db.session.scalar(select(func.max(AuditEntry.seq))) or 0


def _queued() -> list[AuditQueueEntry]:
    return list(db.session.scalars(select(AuditQueueEntry).order_by(AuditQueueEntry.id)))


@pytest.fixture
def chain_busy(monkeypatch):
    """The chain lock looks taken; the after-commit drain is recorded instead of run (it would use another
    connection, outside this test's rolled-back transaction)."""
    calls = []
    monkeypatch.setattr(audit_service, "try_lock_audit_chain", lambda connection: False)
    monkeypatch.setattr(audit_service, "drain_queue", lambda engine: calls.append(engine))
    return calls


def test_busy_chain_queues_entries_atomically_with_the_commit(app_ctx, chain_busy):
    start = _head_seq()
    record("test.queue.first", object_type="thing", object_id=1, details={"n": 1}, objectives=["MPM-2"])
    record("test.queue.second", object_type="thing", object_id=2, details={"n": 2}, objectives=[])
    db.session.commit()
    assert _head_seq() == start  # nothing chained while the lock was busy ...
    queued = _queued()
    assert [row.action for row in queued] == ["test.queue.first", "test.queue.second"]
    assert json.loads(queued[0].objectives) == ["MPM-2"] and json.loads(queued[0].details) == {"n": 1}
    assert len(chain_busy) == 1  # ... and the drain after the commit was asked for, once
    result = verify_chain()
    assert result.ok and result.queued == 2


def test_next_lock_holder_chains_the_queue_first_then_its_own(app_ctx, chain_busy, monkeypatch):
    start = _head_seq()
    record("test.queue.waiting", objectives=["MPM-2"], details={"n": 1})
    db.session.commit()
    monkeypatch.setattr(audit_service, "try_lock_audit_chain", lambda connection: True)
    record("test.queue.holder", objectives=[])
    db.session.commit()
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.seq > start).order_by(AuditEntry.seq)))
    assert [entry.action for entry in entries] == ["test.queue.waiting", "test.queue.holder"]
    assert entries[0].objective_codes == ["MPM-2"] and json.loads(entries[0].details) == {"n": 1}
    assert _queued() == []
    result = verify_chain()
    assert result.ok and result.queued == 0 and result.head_seq == start + 2


def test_rolled_back_request_queues_nothing(app_ctx, chain_busy):
    record("test.queue.rolled_back", objectives=[])
    db.session.rollback()
    db.session.commit()
    assert [row.action for row in _queued()] == [] and chain_busy == []


def _forged_queue_row(**changes) -> None:
    """A queue row as an intruder with database access could write it: MAC'd for other content."""
    ring = current_keyring()
    fields = {"created_at": utcnow(), "actor_user_id": None, "actor_party": "GTM", "actor_role": None,
              "actor_token_id": None, "ip": None, "action": "test.queue.genuine", "object_type": None,
              "object_id": None, "object_party": None, "outcome": "ok", "details": {}}
    mac = queue_mac(ring.derive("audit-hmac", ring.active_id), fields, [])
    row = {**fields, "details": "{}", "objectives": "[]", "key_id": ring.active_id, "entry_mac": mac, **changes}
    db.session.execute(insert(AuditQueueEntry.__table__), row)


def test_tampered_queue_entry_is_reported_and_never_chained_as_genuine(app_ctx):
    start = _head_seq()
    _forged_queue_row(action="test.queue.forged")
    result = verify_chain()
    assert not result.ok and "does not match its MAC" in result.reason and result.queued == 1
    record("test.queue.after", objectives=[])
    db.session.commit()
    actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.seq > start).order_by(AuditEntry.seq)))
    assert actions == ["audit.queue_tampered", "test.queue.after"]
    assert "test.queue.forged" not in actions
    assert verify_chain().ok


def test_genuine_queue_row_from_another_process_is_chained(app_ctx):
    start = _head_seq()
    _forged_queue_row()  # unchanged content: its MAC verifies
    assert verify_chain().ok
    record("test.queue.after", objectives=[])
    db.session.commit()
    actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.seq > start).order_by(AuditEntry.seq)))
    assert actions == ["test.queue.genuine", "test.queue.after"]


def test_queued_entries_are_never_updated(app_ctx, chain_busy):
    record("test.queue.trigger", objectives=[])
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text("UPDATE audit_queue SET action = 'test.queue.changed'"))
    assert [row.action for row in _queued()] == ["test.queue.trigger"]


@pytest.mark.pg
@pytest.mark.skipif(not PG, reason="needs PostgreSQL's advisory lock held by another connection")
def test_writer_never_waits_for_a_held_chain_lock(app, real_commits):
    """Another connection holds the chain lock: the writer's commit queues its entry and returns at once
    (no waiting); the next transaction that gets the lock chains it before its own entry."""
    with app.app_context():
        start = _head_seq()
        db.session.remove()
        holder = db.engine.connect()
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": AUDIT_CHAIN_LOCK})
        holder.commit()
    try:
        with app.app_context():
            began = time.monotonic()
            record("test.queue.blocked", details={"n": 1}, objectives=[])
            db.session.commit()
            assert time.monotonic() - began < 5  # a waiting writer would hang here until the unlock below
            assert [row.action for row in _queued()] == ["test.queue.blocked"]
            assert _head_seq() == start
            db.session.remove()
    finally:
        holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": AUDIT_CHAIN_LOCK})
        holder.close()
    with app.app_context():
        try:
            record("test.queue.next", objectives=[])
            db.session.commit()
            actions = list(db.session.scalars(
                select(AuditEntry.action).where(AuditEntry.seq > start).order_by(AuditEntry.seq)))
            assert actions == ["test.queue.blocked", "test.queue.next"]
            assert _queued() == []
            assert verify_chain().ok
        finally:
            db.session.remove()
