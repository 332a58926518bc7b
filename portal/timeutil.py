"""Naive UTC timestamps everywhere: SQLite keeps no time zone, so both engines store the same thing."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
