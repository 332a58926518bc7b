"""Writing and verifying the audit chain.

``record()`` queues an entry on the current database session; the entries are chained and inserted
just before that session commits, under a lock (``portal.database.lock_audit_chain``), so concurrent
requests append one after another and the chain never forks. An entry queued in a transaction that
rolls back is discarded with it: the log never claims what did not happen.

Each entry's hash is HMAC-SHA256, under the key ring's ``audit-hmac`` key named by ``key_id``, over the
previous entry's hash and the entry's canonical JSON. The key is never in the database, so whoever can
write the database still cannot forge a chain that verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from flask import has_request_context, request
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from portal.audit.models import OUTCOMES, AuditEntry, AuditObjective
from portal.database import lock_audit_chain
from portal.extensions import db
from portal.keyring import KeyRingError, current_keyring
from portal.timeutil import utcnow

GENESIS_HASH = "0" * 64
_PENDING_KEY = "audit_pending"
_SAVEPOINT_MARKS_KEY = "audit_savepoint_marks"
# Detail keys that could carry a secret or a document number in clear: refused outright, so a
# careless caller fails in tests instead of leaking in production.
_FORBIDDEN_DETAIL_KEY = re.compile(r"password|secret|^token$|recovery|document_number|mrz|holder|email|otp", re.IGNORECASE)


class AuditDetailError(ValueError):
    """An audit entry was given a detail that must never be logged."""


@dataclass
class _Pending:
    fields: dict
    objectives: list[str]


def _actor_fields(principal) -> dict:
    if principal is None:
        return {"actor_user_id": None, "actor_party": None, "actor_role": None, "actor_token_id": None}
    return {
        "actor_user_id": principal.user_id,
        "actor_party": principal.party_code,
        "actor_role": principal.role,
        "actor_token_id": principal.token_id,
    }


def _check_details(details: dict) -> dict:
    for key in details:
        if _FORBIDDEN_DETAIL_KEY.search(key):
            raise AuditDetailError(f"audit detail key {key!r} could hold a secret; log an id or a digest")
    return details


def record(
    action: str,
    *,
    outcome: str = "ok",
    object_type: str | None = None,
    object_id=None,
    object_party: str | None = None,
    details: dict | None = None,
    objectives: list[str] | None = None,
    principal=None,
    session=None,
) -> None:
    """Queue an audit entry; it is written when the session commits."""
    from portal.access import current_principal
    from portal.plan.registry import objectives_for_action

    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    principal = principal if principal is not None else current_principal()
    fields = {
        **_actor_fields(principal),
        "ip": request.remote_addr if has_request_context() else None,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "object_party": object_party,
        "outcome": outcome,
        "details": _check_details(dict(details or {})),
        "created_at": utcnow(),
    }
    codes = sorted(set(objectives if objectives is not None else objectives_for_action(action)))
    session = session or db.session
    session.info.setdefault(_PENDING_KEY, []).append(_Pending(fields, codes))


def canonical_json(fields: dict, objectives: list[str], seq: int) -> str:
    payload = {**fields, "seq": seq, "objectives": sorted(objectives)}
    payload["created_at"] = payload["created_at"].isoformat(timespec="microseconds")
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(key: bytes, prev_hash: str, canonical: str) -> str:
    return hmac.new(key, f"{prev_hash}\n{canonical}".encode(), hashlib.sha256).hexdigest()


def _head(connection) -> tuple[int, str]:
    row = connection.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row.seq, row.entry_hash) if row else (0, GENESIS_HASH)


_ENTRIES = AuditEntry.__table__
_OBJECTIVES = AuditObjective.__table__


@event.listens_for(Session, "before_commit")
def _append_pending(session) -> None:
    """Chain and insert the queued entries, under the chain lock, just before the commit.

    Core statements rather than the ORM unit of work: this runs in every request that commits, and the
    entries are never read back through this session. The entries are chained in Python first, then
    inserted a page at a time: one executemany for the entries (the driver pipelines a prepared single-row
    statement), one query for their ids by ``seq`` (unique), one executemany for their objectives; so a
    commit that appends thousands of entries (a bulk import) holds the lock for a few round trips, not
    thousands.
    """
    if session.in_nested_transaction():
        return  # a savepoint's commit: entries wait for the real commit (and go if an outer savepoint rolls back)
    session.info.pop(_SAVEPOINT_MARKS_KEY, None)
    pending: list[_Pending] = session.info.pop(_PENDING_KEY, [])
    if not pending:
        return
    session.flush()  # the request's own changes first, so a failing flush fails before the log is touched
    lock_audit_chain(session)
    connection = session.connection()
    seq, prev_hash = _head(connection)
    ring = current_keyring()
    key_id = ring.active_id
    key = ring.derive("audit-hmac", key_id)
    rows, codes = [], {}
    for item in pending:
        seq += 1
        canonical = canonical_json(item.fields, item.objectives, seq)
        entry_hash = chain_hash(key, prev_hash, canonical)
        rows.append({**item.fields, "details": json.dumps(item.fields["details"], sort_keys=True),
                     "seq": seq, "key_id": key_id, "prev_hash": prev_hash, "entry_hash": entry_hash})
        codes[seq] = item.objectives
        prev_hash = entry_hash
    if len(rows) == 1:  # the common case (one request, one entry): one round trip
        entry_id = connection.execute(insert(_ENTRIES).returning(_ENTRIES.c.id), rows[0]).scalar_one()
        ids = [(rows[0]["seq"], entry_id)]
    else:
        connection.execute(insert(_ENTRIES), rows)
        ids = connection.execute(select(_ENTRIES.c.seq, _ENTRIES.c.id).where(
            _ENTRIES.c.seq.between(rows[0]["seq"], rows[-1]["seq"]))).all()
    objectives = [{"entry_id": entry_id, "code": code} for entry_seq, entry_id in sorted(ids)
                  for code in codes[entry_seq]]
    if objectives:
        connection.execute(insert(_OBJECTIVES), objectives)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session, transaction) -> None:
    """Remember how many entries were queued when a savepoint began, to drop later ones if it rolls back."""
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINT_MARKS_KEY, {})
        marks[id(transaction)] = len(session.info.get(_PENDING_KEY, ()))


@event.listens_for(Session, "after_soft_rollback")
def _discard_pending(session, previous_transaction) -> None:
    """Entries queued in work that was rolled back are dropped with it (a savepoint's, or all of them)."""
    if previous_transaction.nested:  # (a closed transaction no longer knows its parent: ask .nested)
        mark = session.info.get(_SAVEPOINT_MARKS_KEY, {}).pop(id(previous_transaction), None)
        if mark is not None:
            del session.info.get(_PENDING_KEY, [])[mark:]
        return
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_SAVEPOINT_MARKS_KEY, None)


def entry_fields(entry: AuditEntry) -> dict:
    """The hashed fields of a stored entry, as ``record()`` produced them."""
    return {
        "actor_user_id": entry.actor_user_id,
        "actor_party": entry.actor_party,
        "actor_role": entry.actor_role,
        "actor_token_id": entry.actor_token_id,
        "ip": entry.ip,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_party": entry.object_party,
        "outcome": entry.outcome,
        "details": json.loads(entry.details),
        "created_at": entry.created_at,
    }


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    reason: str | None = None


def verify_chain(checkpoint: str | None = None, batch: int = 2000) -> VerifyResult:
    """Recompute the whole chain; report the first entry that does not verify.

    ``checkpoint`` is ``"<seq>:<hash>"`` as printed by ``checkpoint()``: the entry at that position
    must still carry that hash (this catches a rewrite of the whole tail by someone holding the key).
    """
    ring = current_keyring()
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    want_seq, want_hash = _parse_checkpoint(checkpoint) if checkpoint else (None, None)
    checkpoint_seen = False
    last_seq = 0
    while True:
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not entries:
            break
        for entry in entries:
            if entry.seq != expected_seq:
                return VerifyResult(False, count, expected_seq - 1, prev_hash, entry.seq,
                                    f"sequence gap: expected {expected_seq}, found {entry.seq}")
            if entry.prev_hash != prev_hash:
                return VerifyResult(False, count, entry.seq - 1, prev_hash, entry.seq, "broken link to previous entry")
            try:
                key = ring.derive("audit-hmac", entry.key_id)
            except KeyRingError:
                return VerifyResult(False, count, entry.seq - 1, prev_hash, entry.seq, f"unknown key {entry.key_id}")
            canonical = canonical_json(entry_fields(entry), entry.objective_codes, entry.seq)
            if not hmac.compare_digest(chain_hash(key, prev_hash, canonical), entry.entry_hash):
                return VerifyResult(False, count, entry.seq - 1, prev_hash, entry.seq, "entry content does not match its hash")
            if want_seq == entry.seq:
                checkpoint_seen = True
                if not hmac.compare_digest(want_hash, entry.entry_hash):
                    return VerifyResult(False, count, entry.seq, entry.entry_hash, entry.seq,
                                        "entry differs from the published checkpoint")
            prev_hash, expected_seq, count = entry.entry_hash, expected_seq + 1, count + 1
            last_seq = entry.seq
        db.session.expunge_all()
    if want_seq is not None and not checkpoint_seen:
        return VerifyResult(False, count, expected_seq - 1, prev_hash, want_seq,
                            "the published checkpoint's entry is missing (log truncated)")
    return VerifyResult(True, count, expected_seq - 1, prev_hash)


def _parse_checkpoint(checkpoint: str) -> tuple[int, str]:
    seq, _, digest = checkpoint.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ValueError("a checkpoint looks like <seq>:<64 hex digits>")
    return int(seq), digest.lower()


def checkpoint() -> str:
    """The current head, to publish out of band."""
    seq, digest = _head(db.session.connection())
    return f"{seq}:{digest}"
