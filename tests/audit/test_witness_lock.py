"""Two checkpointers at the same moment (two hosts, or a host and `audit witness`) take turns under one
database lock: one consistent sequence of checkpoints, never two for one due moment nor one out of order.

Each checkpointer is a thread with its own application context, so its own database connection and
transaction, as two processes have. Reading the state is slowed down so that, without the lock, both
would read the same latest witnessed checkpoint (or one an older state) before either appends.
"""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest
from sqlalchemy import select

from portal.audit import witness
from portal.audit.models import AuditEntry
from portal.audit.service import record, verify_chain
from portal.extensions import db

THREADS = 2


@pytest.fixture
def witness_dir(app, tmp_path, monkeypatch, real_commits):
    folder = tmp_path / "witness"
    monkeypatch.setitem(app.config, "AUDIT_WITNESS_DIR", str(folder))
    monkeypatch.setitem(app.config, "AUDIT_WITNESS_EMAILS", "")
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_ENTRIES", 1)
    slow_read, delays = witness.current_state, itertools.cycle((0.3, 0.05))

    def current_state():
        state = slow_read()
        # The window in which another checkpointer would read the same state, or (a shorter one) read a
        # newer state and append it first.
        time.sleep(next(delays))
        return state

    monkeypatch.setattr(witness, "current_state", current_state)
    return folder


def _lines(folder) -> list[dict]:
    return [json.loads(line)["checkpoint"] for line in (folder / witness.WITNESS_FILE).read_text().splitlines()]


def _commit_entries(app, count: int, prefix: str) -> None:
    with app.app_context():
        try:
            for n in range(count):
                record(f"{prefix}.{n}", details={"n": n}, objectives=[])
            db.session.commit()
        finally:
            db.session.remove()


def _in_threads(app, work, count: int = THREADS) -> list:
    """Run ``work(n)`` in ``count`` threads started together; their results, or the first error raised."""
    barrier, results, errors = threading.Barrier(count), [None] * count, []

    def run(n: int) -> None:
        try:
            with app.app_context():
                try:
                    barrier.wait(timeout=30)
                    results[n] = work(n)
                finally:
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_two_hosts_due_at_once_take_one_checkpoint(app, witness_dir):
    _commit_entries(app, 2, "test.witness_lock.due")
    taken = _in_threads(app, lambda n: witness.checkpoint_if_due())
    assert sum(item is not None for item in taken) == 1
    [checkpoint] = _lines(witness_dir)
    with app.app_context():
        try:
            head = db.session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
        finally:
            db.session.remove()
    assert checkpoint["seq"] == head and checkpoint["queued"] == 0


def test_concurrent_checkpointers_and_writers_append_one_ordered_sequence(app, witness_dir):
    def work(n: int):
        if n < 2:  # two writers, committing entries between the checkpoints
            for round_ in range(8):
                _commit_entries(app, 2, f"test.witness_lock.writer{n}.{round_}")
                time.sleep(0.1)
            return None
        return [witness.take_checkpoint() for _ in range(4)]  # two checkpointers, forced every time

    _in_threads(app, work, count=4)
    lines = _lines(witness_dir)
    assert len(lines) == 8
    seqs, totals = [line["seq"] for line in lines], [line["seq"] + line["queued"] for line in lines]
    # A checkpoint of an older state appended after a newer one would look like a cut-back log.
    assert seqs == sorted(seqs) and totals == sorted(totals), lines
    with app.app_context():
        try:
            result = verify_chain(f"{lines[-1]['seq']}:{lines[-1]['hash']}")
            assert result.ok, result.reason
            assert witness.missing_since(witness.latest_witnessed(), witness.current_state()) is None
        finally:
            db.session.remove()
