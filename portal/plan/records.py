"""The records linked to a plan-of-action objective, as each feature declares them.

The plan pages belong to the core, which never imports a feature; so a feature registers a loader that
lists its records linked to an objective code, read through ``portal.access`` (only what the viewer may
see), and the objective page shows each kind's list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast

LISTED = 10  # records of each kind on an objective page


@dataclass(frozen=True)
class LinkedRecord:
    reference: str
    title: str
    url: str
    when: datetime | None


@dataclass(frozen=True)
class RecordKind:
    name: str
    label: object  # lazy string: the heading of the kind's list
    load: Callable[[object, str, int], tuple[list[LinkedRecord], int]]  # principal, code, limit -> (listed, total)


_KINDS: dict[str, RecordKind] = {}


def register_objective_records(name: str, label, load) -> None:
    """Declare a kind of record linked to objectives (registering the same name again replaces it)."""
    _KINDS[name] = RecordKind(name, label, load)


def records_for(principal, code: str) -> list[tuple[RecordKind, list[LinkedRecord], int]]:
    """Each registered kind with its records linked to ``code`` that ``principal`` may see, and their count."""
    found = []
    for kind in sorted(_KINDS.values(), key=lambda kind: kind.name):
        listed, total = kind.load(principal, code, LISTED)
        found.append((kind, listed, total))
    return found


def objectives_contain(column, code: str):
    """SQL condition: the JSON list ``column`` holds the objective ``code`` (the same text on both engines:
    codes are letters, digits, dashes and dots, so no LIKE wildcard can occur in them)."""
    return cast(column, String).like(f'%"{code}"%')
