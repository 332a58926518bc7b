"""Alert references: ``<party code>-<year>-<six-digit sequence>``, e.g. ``GTM-2026-000123``.

The sequence is per party and per year, taken from ``alert_reference_counters`` by one atomic
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` (both engines speak it); a bulk import reserves a
block of consecutive numbers with the same one statement (``reserve_sequences``). On PostgreSQL the row
lock it takes holds a second writer of the same party and year until the first commits, so two concurrent
reports never get the same number, and a rolled-back report gives its numbers back; SQLite's write transactions
(``BEGIN IMMEDIATE``, see ``portal.database``) are serialised anyway. The unique constraints on
``alerts.reference`` and on (party, year, sequence) are the last line of defence.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from alerts.models import AlertReferenceCounter
from portal.extensions import db

_COUNTERS = AlertReferenceCounter.__table__


def format_reference(party_code: str, year: int, seq: int) -> str:
    return f"{party_code}-{year:04d}-{seq:06d}"


def reserve_sequences(party_id: int, year: int, count: int, session=None) -> int:
    """Take ``count`` consecutive numbers of ``party_id``'s ``year`` at once; returns the first of them.

    One statement, whatever ``count``: the counter moves by ``count`` under the same row lock as a single
    report takes, so a concurrent report or import of the same party and year waits for this transaction
    and then numbers on after the whole block (and a rollback gives the block back).
    """
    if count < 1:
        raise ValueError("reserve at least one number")
    session = session or db.session
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_COUNTERS).values(party_id=party_id, year=year, last_value=count)
    statement = statement.on_conflict_do_update(
        index_elements=[_COUNTERS.c.party_id, _COUNTERS.c.year],
        set_={"last_value": _COUNTERS.c.last_value + count},
    ).returning(_COUNTERS.c.last_value)
    return session.execute(statement).scalar_one() - count + 1


def next_sequence(party_id: int, year: int, session=None) -> int:
    """Take the next number of ``party_id``'s ``year`` (1, 2, 3...) inside the current transaction."""
    return reserve_sequences(party_id, year, 1, session)


def next_reference(party_id: int, party_code: str, year: int, session=None) -> tuple[str, int]:
    """``(reference, sequence)`` for a new alert of this party in ``year``."""
    seq = next_sequence(party_id, year, session)
    return format_reference(party_code, year, seq), seq
