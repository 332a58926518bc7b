"""The audit chain: contiguous, HMAC-linked, append-only, checkpointed, and never claiming what rolled back.

Tests are robust to entries already in the log (the PostgreSQL concurrency test commits real ones):
they look at the head before they start and only at what follows.
"""

from __future__ import annotations

import json
import re
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from portal.audit.models import AuditEntry, AuditObjective
from portal.audit.service import (
    AuditDetailError,
    canonical_json,
    chain_hash,
    checkpoint,
    entry_fields,
    record,
    verify_chain,
)
from portal.extensions import db
from portal.keyring import current_keyring


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _head_seq() -> int:
    return db.session.scalar(select(func.max(AuditEntry.seq))) or 0


def _append(count: int, prefix: str = "test.chain", **kwargs) -> list[int]:
    """Record ``count`` entries, commit, and return their seqs."""
    start = _head_seq()
    for n in range(count):
        record(f"{prefix}.{n}", object_type="thing", object_id=n, details={"n": n}, objectives=[], **kwargs)
    db.session.commit()
    seqs = list(db.session.scalars(select(AuditEntry.seq).where(AuditEntry.seq > start).order_by(AuditEntry.seq)))
    assert len(seqs) == count
    return seqs


def _disable_append_only() -> None:
    """Inside the test transaction only (rolled back with it): let the test tamper like an intruder would."""
    if _dialect() == "postgresql":
        db.session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
    else:
        db.session.execute(text("DROP TRIGGER audit_entries_no_update"))
        db.session.execute(text("DROP TRIGGER audit_entries_no_delete"))


def test_record_and_commit_give_contiguous_verified_chain(app_ctx):
    start = _head_seq()
    seqs = _append(5)
    assert seqs == list(range(start + 1, start + 6))
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > start).order_by(AuditEntry.seq)).all()
    previous = db.session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == start)) or "0" * 64
    for entry in entries:
        assert entry.prev_hash == previous
        assert re.fullmatch(r"[0-9a-f]{64}", entry.entry_hash)
        assert entry.key_id == current_keyring().active_id
        previous = entry.entry_hash
    result = verify_chain()
    assert result.ok, result.reason
    assert (result.head_seq, result.head_hash, result.entries) == (seqs[-1], previous, seqs[-1])


def test_entries_carry_actor_request_and_objectives(client, make_user, login_as):
    user = make_user(role="country_admin", party_code="GTM")
    login_as(user)
    start = _head_seq()
    client.get("/admin/users/999999999")  # not found: audited as denied
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > start)).all()
    assert (entry.actor_user_id, entry.actor_party, entry.actor_role, entry.ip) == (
        user.id, "GTM", "country_admin", "127.0.0.1")
    assert (entry.action, entry.outcome, entry.object_id) == ("user.access", "denied", "999999999")

    record("test.objectives", objectives=["MPM-2", "HR-3", "MPM-2"])
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "test.objectives"))
    assert entry.objective_codes == ["HR-3", "MPM-2"]
    assert verify_chain().ok


def test_edited_row_fails_verification_naming_its_seq(app_ctx):
    seqs = _append(4)
    assert verify_chain().ok
    _disable_append_only()
    target = seqs[2]
    db.session.execute(text("UPDATE audit_entries SET details = :d WHERE seq = :s"),
                       {"d": json.dumps({"n": 999}), "s": target})
    db.session.expire_all()
    result = verify_chain()
    assert not result.ok
    assert result.bad_seq == target
    assert result.reason == "entry content does not match its hash"
    assert result.head_seq == target - 1


@pytest.mark.parametrize("column, value", (("action", "user.create"), ("outcome", "ok"),
                                           ("actor_party", "TS"), ("ip", "10.0.0.1")))
def test_any_hashed_column_edit_is_detected(app_ctx, column, value):
    seqs = _append(2, outcome="denied")
    _disable_append_only()
    db.session.execute(text(f"UPDATE audit_entries SET {column} = :v WHERE seq = :s"), {"v": value, "s": seqs[0]})
    db.session.expire_all()
    result = verify_chain()
    assert (result.ok, result.bad_seq) == (False, seqs[0])


def test_edited_objective_link_is_detected(app_ctx):
    record("test.objective.edit", objectives=["MPM-2"])
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "test.objective.edit"))
    db.session.add(AuditObjective(entry_id=entry.id, code="HR-3"))  # inserting is allowed; it breaks the hash
    db.session.commit()
    db.session.expire_all()
    result = verify_chain()
    assert (result.ok, result.bad_seq) == (False, entry.seq)


def test_deleted_row_is_a_gap(app_ctx):
    seqs = _append(4)
    _disable_append_only()
    db.session.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": seqs[1]})
    db.session.expire_all()
    result = verify_chain()
    assert not result.ok
    assert result.bad_seq == seqs[2]
    assert result.reason == f"sequence gap: expected {seqs[1]}, found {seqs[2]}"


@pytest.mark.parametrize("statement", (
    "UPDATE audit_entries SET details = '{}' WHERE seq = :s",
    "DELETE FROM audit_entries WHERE seq = :s",
    "UPDATE audit_objectives SET code = 'X-1' WHERE entry_id = (SELECT id FROM audit_entries WHERE seq = :s)",
    "DELETE FROM audit_objectives WHERE entry_id = (SELECT id FROM audit_entries WHERE seq = :s)",
))
def test_triggers_refuse_update_and_delete(app_ctx, statement):
    record("test.trigger", objectives=["MPM-2"])
    db.session.commit()
    seq = _head_seq()
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text(statement), {"s": seq})
    # the savepoint rolled back; the test transaction and the entry survive intact
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.seq == seq))
    assert entry.details == "{}" and entry.objective_codes == ["MPM-2"]
    assert verify_chain().ok


def test_emptying_the_log_is_refused(app_ctx):
    """PostgreSQL: a statement trigger refuses TRUNCATE. SQLite has no TRUNCATE; its row trigger
    refuses the table-wide DELETE (which would otherwise take SQLite's truncate shortcut)."""
    _append(1)
    statement = "TRUNCATE audit_entries CASCADE" if _dialect() == "postgresql" else "DELETE FROM audit_entries"
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text(statement))
    assert _head_seq() > 0 and verify_chain().ok


def test_checkpoint_format_and_verification(app_ctx):
    _append(3)
    published = checkpoint()
    seq, _, digest = published.partition(":")
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", published)
    head = db.session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    assert (int(seq), digest) == (head.seq, head.entry_hash)
    assert verify_chain(checkpoint=published).ok
    _append(2)  # the log grows past a published checkpoint: still fine
    assert verify_chain(checkpoint=published).ok
    with pytest.raises(ValueError, match="checkpoint"):
        verify_chain(checkpoint="12:nothex")


def test_checkpoint_catches_a_rewrite_by_someone_holding_the_key(app_ctx):
    seqs = _append(3)
    published = checkpoint()
    _disable_append_only()
    # rewrite the head entry and re-sign it: the chain alone still verifies...
    head = db.session.scalar(select(AuditEntry).where(AuditEntry.seq == seqs[-1]))
    fields = {**entry_fields(head), "details": {"n": 42}}
    key = current_keyring().derive("audit-hmac", head.key_id)
    forged = chain_hash(key, head.prev_hash, canonical_json(fields, head.objective_codes, head.seq))
    db.session.execute(text("UPDATE audit_entries SET details = :d, entry_hash = :h WHERE seq = :s"),
                       {"d": json.dumps({"n": 42}), "h": forged, "s": head.seq})
    db.session.expire_all()
    assert verify_chain().ok
    # ...but not against the hash published out of band
    result = verify_chain(checkpoint=published)
    assert (result.ok, result.bad_seq) == (False, seqs[-1])
    assert result.reason == "entry differs from the published checkpoint"


def test_checkpoint_catches_a_truncated_log(app_ctx):
    seqs = _append(3)
    published = checkpoint()
    _disable_append_only()
    db.session.execute(text("DELETE FROM audit_entries WHERE seq >= :s"), {"s": seqs[1]})
    db.session.expire_all()
    assert verify_chain().ok  # a shorter chain is still a valid chain
    result = verify_chain(checkpoint=published)
    assert (result.ok, result.bad_seq) == (False, seqs[-1])
    assert result.reason == "the published checkpoint's entry is missing (log truncated)"


@pytest.mark.parametrize("key", ("password", "new_password", "email", "recipient_email", "document_number",
                                 "token", "totp_secret", "recovery_codes", "mrz", "holder_name", "otp",
                                 "Password", "EMAIL"))
def test_record_refuses_details_that_could_hold_secrets(app_ctx, key):
    start = _head_seq()
    with pytest.raises(AuditDetailError):
        record("test.forbidden", details={key: "x"})
    db.session.commit()
    assert _head_seq() == start


@pytest.mark.parametrize("key", ("user_id", "token_id", "reset_id", "role", "rows"))
def test_record_accepts_ids_and_roles(app_ctx, key):
    start = _head_seq()
    record("test.allowed", details={key: 1})
    db.session.commit()
    assert json.loads(db.session.scalar(select(AuditEntry.details).where(AuditEntry.seq == start + 1))) == {key: 1}


def test_record_refuses_unknown_outcome(app_ctx):
    with pytest.raises(ValueError, match="outcome"):
        record("test.outcome", outcome="maybe")


def test_rolled_back_transaction_leaves_no_entry(app_ctx):
    start = _head_seq()
    record("test.rolled_back")
    db.session.rollback()
    record("test.kept")
    db.session.commit()
    actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.seq > start)))
    assert actions == ["test.kept"]
    assert verify_chain().ok


def test_failed_request_writes_only_the_error_entry(client, make_user, login_as, app, monkeypatch):
    """A 500 rolls back the request's work and its audit entries; the error itself is audited."""
    from portal.admin import operations

    admin = make_user(role="country_admin", party_code="GTM")
    target = make_user(role="liaison_officer", party_code="GTM")
    login_as(admin)

    def explode(principal, user):
        user.active = False
        record("user.deactivate", object_type="user", object_id=user.id, object_party="GTM")
        raise RuntimeError("boom")

    monkeypatch.setattr(operations, "deactivate_user", explode)
    monkeypatch.setattr(app, "testing", False)  # let the error handler answer instead of re-raising
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        start = _head_seq()
        response = client.post(f"/admin/users/{target.id}/deactivate")
    finally:
        app.config.pop("PROPAGATE_EXCEPTIONS")
    assert response.status_code == 500
    db.session.expire_all()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > start)).all()
    assert [(e.action, e.outcome) for e in entries] == [("request.error", "error")]
    from auth.models import User

    assert db.session.get(User, target.id).active is True


PG = bool(__import__("os").environ.get("PORTAL_TEST_DATABASE_URL", "").startswith("postgresql"))


@pytest.mark.pg
@pytest.mark.skipif(not PG, reason="needs PostgreSQL: SQLite serialises writers by design")
def test_concurrent_writers_never_fork_the_chain(app, real_commits):
    """8 threads, each with its own app context and session, append 25 committed entries each."""
    threads, per_thread = 8, 25
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def writer(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                for i in range(per_thread):
                    record(f"test.concurrent.{n}", details={"writer": n, "i": i}, objectives=[])
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - a thread's failure is re-raised by the main thread's assert
            errors.append(exc)

    with app.app_context():
        start = _head_seq()
        db.session.remove()
    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    with app.app_context():
        try:
            seqs = list(db.session.scalars(
                select(AuditEntry.seq).where(AuditEntry.seq > start).order_by(AuditEntry.seq)))
            assert seqs == list(range(start + 1, start + 1 + threads * per_thread))
            per_writer = dict(db.session.execute(
                select(AuditEntry.action, func.count()).where(AuditEntry.seq > start).group_by(AuditEntry.action)
            ).all())
            assert per_writer == {f"test.concurrent.{n}": per_thread for n in range(threads)}
            result = verify_chain()
            assert result.ok, result.reason
            assert result.head_seq == start + threads * per_thread
        finally:
            db.session.remove()
