"""Key rotation work: moving everything the registry (``portal.rotation``) names to a new key, and checking it.

- An encrypted column stores ``<key id>:<b64>``; ``keys rotate`` re-encrypts every value not under the active
  key. A value names its key, so the work left is always visible in the data itself: an interrupted
  rotation resumes by running it again, and nothing is lost because old keys stay in the ring.
- A blind index is a keyed hash with no key id in it. It is derived from the ring's dedicated index key
  (``KeyRing.index_key_id``), which ``keys rotate`` does not change; ``keys rotate --index`` adds a new
  index key and recomputes every registered index with ``compute_fn(row)`` (the row's encrypted columns
  are decrypted on load). ``compute_fn`` returns ``{column attribute: new index}`` for the row's own
  columns; it may also replace dependent index rows itself through ``db.session`` (a token table).
- A sealed search term of the audit (``portal.audit.sealing``) is never re-encrypted: the log is append-only.
  It names its key, which stays in the ring (``key_usage`` counts it, so ``keys retire`` refuses the key);
  ``keys verify`` opens every one.
- A wrapped file key is re-wrapped by the ``rewrap`` function registered with it, under the active key;
  the blob is never touched. The file id may be a property (a thumbnail's ``<uid>:thumb``); rows are
  loaded with their encrypted columns deferred.

Writes use Core ``UPDATE`` statements that leave ``onupdate`` timestamps alone: a rotation is not an edit.
The registry is read as ``rotation.registry`` at each call (tests swap in a copy).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, inspect, not_, select, type_coerce, update
from sqlalchemy.orm import defer

from portal import rotation
from portal.audit import sealing
from portal.crypto import DecryptionError, EncryptedText, decrypt_text, encrypt_text
from portal.extensions import db
from portal.keyring import KeyRing, KeyRingError

DEFAULT_BATCH_SIZE = 500
SEALED_LABEL = "audit_entries (sealed search terms)"


def stored_key_id(stored: str) -> str:
    """The key id an encrypted column value names (``k2`` of ``k2:...``)."""
    return stored.partition(":")[0]


def _primary_key(model: type):
    columns = model.__table__.primary_key.columns
    if len(columns) != 1:
        raise TypeError(f"{model.__tablename__}: rotation needs a single-column primary key")
    return next(iter(columns))


def _untouched_onupdate(table) -> dict:
    """``SET updated_at = updated_at`` for columns with an ``onupdate``: Core would otherwise fire it."""
    return {column: column for column in table.columns if column.onupdate is not None}


def _set(model: type, pk_value, values: dict) -> None:
    table = model.__table__
    pk = _primary_key(model)
    db.session.execute(update(table).where(pk == pk_value).values({**_untouched_onupdate(table), **values}))


def _raw(column):
    """The column read and compared as stored text, bypassing EncryptedText's (de)cryption."""
    return type_coerce(column, Text)


@dataclass
class Problem:
    """One item that could not be processed: table, row id, column, what went wrong."""

    table: str
    row_id: Any
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.table} id={self.row_id} {self.column}: {self.reason}"


@dataclass
class Report:
    """What a rotation or verification did: counts per label, and the problems."""

    converted: dict[str, int] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.converted.values())


Progress = Callable[[str, int], None]


def _no_progress(label: str, count: int) -> None:
    return None


# --- what still uses a key --------------------------------------------------------------------------


def key_usage(ring: KeyRing | None = None) -> dict[str, dict[str, int]]:
    """For each key id: how many registered values / wrapped keys / audit entries name it."""
    from sqlalchemy import func

    from portal.audit.models import AuditEntry

    usage: dict[str, dict[str, int]] = {}
    for entry in rotation.registry.encrypted.values():
        raw = _raw(entry.column)
        for value, in db.session.execute(select(raw).where(raw.is_not(None))):
            usage.setdefault(stored_key_id(value), {}).setdefault(entry.label, 0)
            usage[stored_key_id(value)][entry.label] += 1
    for entry in rotation.registry.wrapped_keys.values():
        key_id_column = inspect(entry.model).columns[entry.key_id_attr]
        rows = db.session.execute(select(key_id_column, func.count()).where(key_id_column.is_not(None))
                                  .group_by(key_id_column))
        for key_id, count in rows:
            usage.setdefault(key_id, {})[entry.label] = count
    for key_id, count in db.session.execute(select(AuditEntry.key_id, func.count()).group_by(AuditEntry.key_id)):
        usage.setdefault(key_id, {})["audit_entries (HMAC chain)"] = count
    for _entry, stored in sealing.sealed_entries():
        used = usage.setdefault(sealing.sealed_key_id(stored), {})
        used[SEALED_LABEL] = used.get(SEALED_LABEL, 0) + 1
    return usage


def pending_work(ring: KeyRing) -> int:
    """Registered values and wrapped keys not yet under the active key (an unfinished rotation)."""
    from sqlalchemy import func

    prefix = f"{ring.active_id}:"
    total = 0
    for entry in rotation.registry.encrypted.values():
        raw = _raw(entry.column)
        total += db.session.scalar(select(func.count()).select_from(entry.model.__table__)
                                   .where(raw.is_not(None), not_(raw.startswith(prefix, autoescape=True))))
    for entry in rotation.registry.wrapped_keys.values():
        key_id_column = inspect(entry.model).columns[entry.key_id_attr]
        total += db.session.scalar(select(func.count()).select_from(entry.model.__table__)
                                   .where(key_id_column.is_not(None), key_id_column != ring.active_id))
    return total


# --- re-encryption ----------------------------------------------------------------------------------


def reencrypt_columns(ring: KeyRing, *, batch_size: int = DEFAULT_BATCH_SIZE,
                      progress: Progress = _no_progress, report: Report | None = None) -> Report:
    """Re-encrypt every registered column value not under ``ring.active_id``; commit after each batch.

    Keyset pagination on the primary key: a value that does not decrypt is reported and skipped (it
    stays as it is, under its old key), never rewritten or dropped.
    """
    report = report or Report()
    prefix = f"{ring.active_id}:"
    for entry in rotation.registry.encrypted.values():
        pk, raw = _primary_key(entry.model), _raw(entry.column)
        kind = entry.type
        done = 0
        for rows in _keyset_batches(pk, raw, where=(raw.is_not(None), not_(raw.startswith(prefix, autoescape=True))),
                                    batch_size=batch_size):
            for row_id, stored in rows:
                try:
                    plain = decrypt_text(stored, purpose=kind.purpose, context=kind.context)
                except (DecryptionError, KeyRingError, ValueError) as exc:
                    report.problems.append(Problem(entry.model.__tablename__, row_id, entry.column.name, str(exc)))
                    continue
                fresh = encrypt_text(plain, purpose=kind.purpose, context=kind.context)
                _set(entry.model, row_id, {entry.column: _raw_value(fresh)})
                done += 1
            db.session.commit()
            progress(entry.label, done)
        report.converted[entry.label] = report.converted.get(entry.label, 0) + done
    return report


def _raw_value(stored: str):
    from sqlalchemy import literal

    return literal(stored, Text)


def _keyset_batches(pk, *columns, where=(), batch_size: int) -> Iterator[list]:
    """Batches of rows ``(pk, *columns)`` matching ``where``, in primary-key order (keyset pagination: each
    batch starts after the last key of the one before, so a caller may change and commit rows in between)."""
    last = None
    while True:
        statement = select(pk, *columns).where(*where).order_by(pk).limit(batch_size)
        if last is not None:
            statement = statement.where(pk > last)
        rows = db.session.execute(statement).all()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def _file_rows(entry: rotation.WrappedKeyColumns, where, batch_size: int) -> Iterator[list]:
    """Batches of ORM rows (encrypted columns deferred: nothing to decrypt), keyset-paginated."""
    model = entry.model
    pk_attr = getattr(model, inspect(model).get_property_by_column(_primary_key(model)).key)
    deferred = [defer(getattr(model, attr.key)) for attr in inspect(model).column_attrs
                if isinstance(attr.columns[0].type, EncryptedText)]
    last = None
    while True:
        statement = select(model).options(*deferred).where(*where).order_by(pk_attr).limit(batch_size)
        if last is not None:
            statement = statement.where(pk_attr > last)
        rows = db.session.scalars(statement).unique().all()
        if not rows:
            return
        last = getattr(rows[-1], pk_attr.key)
        yield rows


def rewrap_file_keys(ring: KeyRing, *, batch_size: int = DEFAULT_BATCH_SIZE,
                     progress: Progress = _no_progress, report: Report | None = None) -> Report:
    """Re-wrap every registered file key not under ``ring.active_id`` (the blobs are not touched)."""
    report = report or Report()
    for entry in rotation.registry.wrapped_keys.values():
        model = entry.model
        key_id_attr = getattr(model, entry.key_id_attr)
        done = 0
        for rows in _file_rows(entry, (key_id_attr.is_not(None), key_id_attr != ring.active_id), batch_size):
            for row in rows:
                try:
                    fresh = entry.rewrap(getattr(row, entry.wrapped_attr), getattr(row, entry.key_id_attr), ring,
                                   getattr(row, entry.file_id_attr))
                except (DecryptionError, KeyRingError) as exc:
                    report.problems.append(Problem(model.__tablename__, row.id, entry.wrapped_attr, str(exc)))
                    continue
                _set(model, row.id, {inspect(model).columns[entry.wrapped_attr]: fresh.wrapped,
                                     inspect(model).columns[entry.key_id_attr]: fresh.key_id})
                done += 1
            db.session.commit()
            progress(entry.label, done)
        report.converted[entry.label] = report.converted.get(entry.label, 0) + done
    return report


def reindex_blind_indexes(*, batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress = _no_progress,
                          report: Report | None = None) -> Report:
    """Recompute every registered blind index under the ring's current index key; idempotent.

    A row whose encrypted values do not decrypt is reported and left as it is.
    """
    report = report or Report()
    for entry in rotation.registry.blind_indexes.values():
        model = entry.model
        pk = _primary_key(model)
        pk_attr = getattr(model, inspect(model).get_property_by_column(pk).key)
        label = f"{model.__tablename__} ({entry.name})"
        done = 0
        for rows in _keyset_batches(pk, batch_size=batch_size):
            ids = [row_id for (row_id,) in rows]
            for row in _load_rows(model, pk_attr, ids, report, label):
                values = entry.compute(row) or {}
                if any(getattr(row, attr) != value for attr, value in values.items()):
                    _set(model, getattr(row, pk_attr.key),
                         {inspect(model).columns[attr]: value for attr, value in values.items()})
                done += 1
            db.session.commit()
            progress(label, done)
        report.converted[label] = report.converted.get(label, 0) + done
    return report


def _load_rows(model, pk_attr, ids: list, report: Report, label: str) -> list:
    """The rows with these ids, decrypted; one by one (naming the bad ones) when a value fails."""
    try:
        return db.session.scalars(select(model).where(pk_attr.in_(ids)).order_by(pk_attr)).unique().all()
    except (DecryptionError, KeyRingError, ValueError):
        pass  # the session's identity map holds rows weakly: nothing half-loaded stays behind
    rows = []
    for row_id in ids:
        try:
            rows.append(db.session.scalars(select(model).where(pk_attr == row_id)).unique().one())
        except (DecryptionError, KeyRingError, ValueError) as exc:
            report.problems.append(Problem(model.__tablename__, row_id, label, f"not reindexed: {exc}"))
    return rows


# --- verification -----------------------------------------------------------------------------------


def verify_all(ring: KeyRing, *, batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress = _no_progress,
               blobs: bool = True) -> Report:
    """Decrypt every registered value and every registered blob; each failure becomes a ``Problem``.

    A blob is checked by the ``verify`` function registered with it, which decrypts it to the end: every
    segment's GCM tag, their order and the end of the stream, then the plaintext size against the row's.
    """
    report = Report()
    for entry in rotation.registry.encrypted.values():
        pk, raw = _primary_key(entry.model), _raw(entry.column)
        kind = entry.type
        checked = 0
        for rows in _keyset_batches(pk, raw, where=(raw.is_not(None),), batch_size=batch_size):
            for row_id, stored in rows:
                checked += 1
                try:
                    decrypt_text(stored, purpose=kind.purpose, context=kind.context)
                except (DecryptionError, KeyRingError, ValueError, UnicodeDecodeError) as exc:
                    report.problems.append(Problem(entry.model.__tablename__, row_id, entry.column.name,
                                                   _describe(exc, stored)))
            progress(entry.label, checked)
        report.checked[entry.label] = checked
    _verify_sealed(batch_size, progress, report)
    if blobs:
        _verify_blobs(ring, batch_size, progress, report)
    return report


def _verify_sealed(batch_size: int, progress: Progress, report: Report) -> None:
    """Open every sealed search term of the audit (append-only: never re-encrypted, each names its key)."""
    checked = 0
    for entry, stored in sealing.sealed_entries(batch_size):
        checked += 1
        try:
            sealing.open_sealed(stored)
        except (DecryptionError, KeyRingError, ValueError, UnicodeDecodeError) as exc:
            report.problems.append(Problem("audit_entries", entry.id, f"details.{sealing.SEALED}",
                                           _describe(exc, stored)))
    progress(SEALED_LABEL, checked)
    report.checked[SEALED_LABEL] = checked


def _describe(exc: Exception, stored: str) -> str:
    if isinstance(exc, KeyRingError):
        return f"key {stored_key_id(stored)!r} is not in the key ring"
    try:
        base64.b64decode(stored.partition(":")[2], validate=True)
    except ValueError:
        return "not a ciphertext (malformed)"
    return "failed authentication (corrupted or tampered)"


def _verify_blobs(ring: KeyRing, batch_size: int, progress: Progress, report: Report) -> None:
    for entry in rotation.registry.wrapped_keys.values():
        model = entry.model
        blob_attr = getattr(model, entry.blob_id_attr)
        checked = 0
        for rows in _file_rows(entry, (blob_attr.is_not(None),), batch_size):
            for row in rows:
                checked += 1
                try:
                    entry.verify(getattr(row, entry.blob_id_attr), getattr(row, entry.wrapped_attr),
                                  getattr(row, entry.key_id_attr), getattr(row, entry.file_id_attr), ring,
                                  size=getattr(row, entry.size_attr) if entry.size_attr else None)
                except rotation.MissingBlob:
                    report.problems.append(Problem(model.__tablename__, row.id, entry.blob_id_attr,
                                                   "blob is missing from the store"))
                except (DecryptionError, KeyRingError, ValueError) as exc:
                    report.problems.append(Problem(model.__tablename__, row.id, entry.blob_id_attr, str(exc)))
            progress(f"{model.__tablename__}.{entry.blob_id_attr}", checked)
        report.checked[f"{model.__tablename__}.{entry.blob_id_attr}"] = checked
