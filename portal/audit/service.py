"""Writing and verifying the audit chain.

``record()`` keeps an entry pending on the current database session; the entries are chained and inserted
just before that session commits, under the chain lock (``portal.database``), so the chain never forks.
The lock is only tried, never waited for inside a request's transaction (it is held until COMMIT has
flushed, so waiting would serialise every audited request): a transaction that finds it busy stores its
entries in ``audit_queue``, atomically with its changes and each under a MAC; the queue is chained right
after, by whichever transaction holds the lock then. An entry pending in a transaction that rolls back is
discarded with it: the log never claims what did not happen.

Each entry's hash is HMAC-SHA256, under the key ring's ``audit-hmac`` key named by ``key_id``, over the
previous entry's hash and the entry's canonical JSON. The key is never in the database, so whoever can
write the database still cannot forge a chain that verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass

from flask import g, has_request_context, request
from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session, scoped_session

from portal.audit.models import OUTCOMES, AuditEntry, AuditObjective, AuditQueueEntry
from portal.database import commits_can_overlap_chain_lock, try_lock_audit_chain
from portal.extensions import db
from portal.keyring import KeyRingError, current_keyring
from portal.principal import current_principal
from portal.timeutil import utcnow

GENESIS_HASH = "0" * 64
logger = logging.getLogger(__name__)
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
    from portal.plan.registry import objectives_for_action

    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    principal = principal if principal is not None else current_principal()
    fields = {
        **_actor_fields(principal),
        "ip": request.remote_addr if has_request_context() else None,
        "request_id": g.get("request_id") if has_request_context() else None,
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
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        # Begin now, so a rollback before any statement still discards this entry (a session with no
        # transaction has nothing to roll back, and the entry would be written by its next commit).
        session.begin()
    session.info.setdefault(_PENDING_KEY, []).append(_Pending(fields, codes))


# A list page records which rows it showed, up to this many ids (a page is at most the page size anyway).
LISTED_IDS = 100


def record_listing(action: str, *, object_type: str, ids, principal=None, **details) -> None:
    """Audit a list page that showed protected rows, like a detail page: which ``object_type`` rows (their
    ids, at most ``LISTED_IDS``), how many, and the list's own ``details`` (a box, a page, a folder)."""
    ids = [str(item) for item in ids]
    record(action, object_type=object_type, principal=principal,
           details={**details, "count": len(ids), "ids": ids[:LISTED_IDS]})


def discard_pending_entries(session=None) -> int:
    """Drop the entries pending on ``session`` (default: the app's) without writing them; how many went.

    Only for test fixtures that commit data for real: the log is append-only, so their entries would stay
    forever. Application code never needs it: work that did not happen is rolled back, entries with it.
    """
    session = session or db.session
    return len(session.info.pop(_PENDING_KEY, None) or ())


def canonical_json(fields: dict, objectives: list[str], seq: int) -> str:
    payload = {**fields, "seq": seq, "objectives": sorted(objectives)}
    if payload.get("request_id") is None:
        payload.pop("request_id", None)  # entries written outside a request, and before revision 0020
    payload["created_at"] = payload["created_at"].isoformat(timespec="microseconds")
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(key: bytes, prev_hash: str, canonical: str) -> str:
    return hmac.new(key, f"{prev_hash}\n{canonical}".encode(), hashlib.sha256).hexdigest()


# Statements run on every commit, built once (building them cost more CPU than running them).
_HEAD = select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
_QUEUED = select(AuditQueueEntry.__table__).order_by(AuditQueueEntry.id)
_ANY_QUEUED = select(AuditQueueEntry.id).limit(1)
# The head and whether anything is queued, in one round trip: what every chaining commit asks first.
_HEAD_AND_QUEUE = select(_HEAD.with_only_columns(AuditEntry.seq).scalar_subquery(),
                         _HEAD.with_only_columns(AuditEntry.entry_hash).scalar_subquery(),
                         _ANY_QUEUED.exists())


def _head(connection) -> tuple[int, str]:
    row = connection.execute(_HEAD).first()
    return (row.seq, row.entry_hash) if row else (0, GENESIS_HASH)


def _head_and_queue(connection) -> tuple[tuple[int, str], bool]:
    """The chain's head, and whether entries wait in the queue (the caller holds the chain lock)."""
    seq, entry_hash, queued = connection.execute(_HEAD_AND_QUEUE).one()
    return ((seq, entry_hash) if seq is not None else (0, GENESIS_HASH)), bool(queued)


_ENTRIES = AuditEntry.__table__
_OBJECTIVES = AuditObjective.__table__
_QUEUE = AuditQueueEntry.__table__
_DRAIN_DUE_KEY = "audit_drain_due"
# The hashed fields stored as columns of their own (``details`` is stored as canonical JSON).
_FIELD_NAMES = ("created_at", "actor_user_id", "actor_party", "actor_role", "actor_token_id", "ip", "action",
                "object_type", "object_id", "object_party", "outcome", "request_id")


def _stored_fields(item: _Pending) -> dict:
    """An entry's fields as columns: the details as canonical JSON."""
    return {**item.fields, "details": json.dumps(item.fields["details"], sort_keys=True)}


def _active_key() -> tuple[str, bytes]:
    ring = current_keyring()
    return ring.active_id, ring.derive("audit-hmac", ring.active_id)


def queue_mac(key: bytes, fields: dict, objectives: list[str]) -> str:
    """The MAC a queued entry carries until it is chained (a domain prefix keeps it apart from chain hashes)."""
    return hmac.new(key, f"queued\n{canonical_json(fields, objectives, 0)}".encode(), hashlib.sha256).hexdigest()


def _queue_row(item: _Pending, key_id: str, key: bytes) -> dict:
    return {**_stored_fields(item), "objectives": json.dumps(item.objectives), "key_id": key_id,
            "entry_mac": queue_mac(key, item.fields, item.objectives)}


def _read_queued(row, ring) -> tuple[_Pending, bool]:
    """A queue row as the entry it holds, and whether its MAC verifies."""
    item = _Pending(entry_fields(row), json.loads(row.objectives))
    try:
        key = ring.derive("audit-hmac", row.key_id)
    except KeyRingError:
        return item, False
    return item, hmac.compare_digest(queue_mac(key, item.fields, item.objectives), row.entry_mac)


def _take_queue(connection) -> list[_Pending]:
    """Every queued entry, oldest first, removed from the queue (the caller holds the chain lock).

    An entry whose MAC does not verify was changed while it waited: it is not chained as if genuine; an
    ``audit.queue_tampered`` error entry naming its queue id takes its place.
    """
    rows = connection.execute(_QUEUED).all()
    if not rows:
        return []
    connection.execute(delete(_QUEUE).where(_QUEUE.c.id.in_([row.id for row in rows])))
    ring = current_keyring()
    items = []
    for row in rows:
        item, genuine = _read_queued(row, ring)
        if not genuine:
            item = _Pending({**_actor_fields(None), "ip": None, "request_id": None, "action": "audit.queue_tampered",
                             "object_type": "audit_queue", "object_id": str(row.id), "object_party": None,
                             "outcome": "error", "details": {}, "created_at": utcnow()}, [])
        items.append(item)
    return items


def _chain(connection, items: list[_Pending], key_id: str, key: bytes, head: tuple[int, str] | None = None) -> None:
    """Append ``items`` after the head (read here unless given; the caller holds the chain lock)."""
    if not items:
        return
    seq, prev_hash = head or _head(connection)
    rows = []
    for item in items:
        seq += 1
        entry_hash = chain_hash(key, prev_hash, canonical_json(item.fields, item.objectives, seq))
        rows.append({**_stored_fields(item), "seq": seq, "key_id": key_id, "prev_hash": prev_hash,
                     "entry_hash": entry_hash})
        prev_hash = entry_hash
    if len(rows) == 1:  # the common case (one request, one entry): one round trip
        ids = [connection.execute(insert(_ENTRIES).returning(_ENTRIES.c.id), rows[0]).scalar_one()]
    else:
        # An executemany without RETURNING: psycopg pipelines one prepared single-row statement, where a
        # multi-row INSERT ... RETURNING is a new statement text to parse each time (2.5x slower for an
        # import's thousands of entries). The ids are read back by ``seq``, which is unique.
        connection.execute(insert(_ENTRIES), rows)
        by_seq = dict(connection.execute(select(_ENTRIES.c.seq, _ENTRIES.c.id).where(
            _ENTRIES.c.seq.between(rows[0]["seq"], rows[-1]["seq"]))).all())
        ids = [by_seq[row["seq"]] for row in rows]
    links = [{"entry_id": entry_id, "code": code} for entry_id, item in zip(ids, items) for code in item.objectives]
    if links:
        connection.execute(insert(_OBJECTIVES), links)


@event.listens_for(Session, "before_commit")
def _append_pending(session) -> None:
    """Chain the entries just before the commit, or queue them when the chain is busy.

    The chain lock is held until COMMIT has flushed the WAL, so a transaction that waited for it would make
    every audited request commit one at a time (and hand the lock over one by one, each handover waiting
    for a worker to be scheduled). So the lock is only ever *tried*: the transaction that gets it chains its
    own entries after whatever was queued; one that does not stores its entries in ``audit_queue``, in the
    same transaction as its changes (atomic, MAC'd), and never waits. ``_drain_after_commit`` then makes
    sure nothing stays queued.

    Core statements rather than the ORM unit of work: this runs in every request that commits, and the
    entries are never read back through this session. ``_chain`` inserts all of a commit's entries with one
    pipelined executemany (and their objectives with another), so a commit that appends thousands of
    entries (a bulk import) holds the lock for a few round trips, not thousands.
    """
    if session.in_nested_transaction():
        return  # a savepoint's commit: entries wait for the real commit (and go if an outer savepoint rolls back)
    session.info.pop(_SAVEPOINT_MARKS_KEY, None)
    pending: list[_Pending] = session.info.pop(_PENDING_KEY, [])
    if not pending:
        return
    session.flush()  # the request's own changes first, so a failing flush fails before the log is touched
    connection = session.connection()
    key_id, key = _active_key()
    if try_lock_audit_chain(connection):
        head, queued = _head_and_queue(connection)  # (a separate statement: it must see what the lock guards)
        _chain(connection, (_take_queue(connection) if queued else []) + pending, key_id, key, head)
        # Others may have queued while we held the lock, after we read the queue: look again once our
        # commit has released it.
        session.info[_DRAIN_DUE_KEY] = commits_can_overlap_chain_lock(connection)
    else:
        connection.execute(insert(_QUEUE), [_queue_row(item, key_id, key) for item in pending])
        session.info[_DRAIN_DUE_KEY] = True


@event.listens_for(Session, "after_commit")
def _drain_after_commit(session) -> None:
    """After a commit that queued entries or held the chain lock, chain what waits in the queue.

    Why nothing is left behind without anyone waiting: an entry is queued only when another transaction
    holds the lock; its own drain tries the lock once after its commit; if the lock is still held, the
    holder drains after releasing it, and sees the entry (committed before the holder released). Failing
    here must not turn a committed request into an error: the entries stay queued, MAC'd, for the next
    transaction that takes the lock.
    """
    if not session.info.pop(_DRAIN_DUE_KEY, False):
        return
    bind = session.get_bind()
    try:
        drain_queue(getattr(bind, "engine", bind))
    except Exception:  # logged: the queue is drained by the next transaction that takes the chain lock
        logger.exception("audit entries left queued; the next transaction holding the chain lock chains them")


def drain_queue(engine) -> int:
    """Chain the queued entries unless another transaction holds the chain lock (it drains after
    releasing it); returns how many were chained. Never waits for the lock."""
    chained = 0
    while True:
        # Looking is one autocommit statement (no BEGIN / ROLLBACK round trips): it runs after every
        # commit that held the lock, and finds the queue empty nearly always.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as peek:
            if peek.execute(_ANY_QUEUED).first() is None:
                return chained
        with engine.begin() as connection:
            if not try_lock_audit_chain(connection):
                return chained
            items = _take_queue(connection)
            key_id, key = _active_key()
            _chain(connection, items, key_id, key)
            chained += len(items)
        # the commit released the lock: entries queued meanwhile may have missed our read; look again


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


def entry_fields(entry) -> dict:
    """The hashed fields of a stored entry (a chained ``AuditEntry`` or a queued row), as ``record()``
    produced them."""
    fields = {name: getattr(entry, name) for name in _FIELD_NAMES}
    fields["details"] = json.loads(entry.details)
    return fields


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    reason: str | None = None
    queued: int = 0  # entries committed but not yet chained (normally none: they are chained at once)


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
    queued, bad_queue_id = _verify_queue(ring)
    if bad_queue_id is not None:
        return VerifyResult(False, count, expected_seq - 1, prev_hash, None,
                            f"queued entry {bad_queue_id} does not match its MAC", queued=queued)
    return VerifyResult(True, count, expected_seq - 1, prev_hash, queued=queued)


def _verify_queue(ring) -> tuple[int, int | None]:
    """How many entries wait in the queue, and the id of the first whose MAC fails (None if all verify)."""
    rows = db.session.execute(_QUEUED).all()
    bad = next((row.id for row in rows if not _read_queued(row, ring)[1]), None)
    return len(rows), bad


def _parse_checkpoint(checkpoint: str) -> tuple[int, str]:
    seq, _, digest = checkpoint.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ValueError("a checkpoint looks like <seq>:<64 hex digits>")
    return int(seq), digest.lower()


def checkpoint() -> str:
    """The current head, to publish out of band."""
    seq, digest = _head(db.session.connection())
    return f"{seq}:{digest}"
