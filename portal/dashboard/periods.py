"""Time buckets for the dashboard's charts, counted in Python so that SQLite and PostgreSQL agree.

The panels read dates through ``portal.access`` (what the viewer may see) and bucket them here; a panel
reads at most a year of one kind of record, so no engine-specific date function is needed.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import select

from auth.models import UserSession
from auth.sessions import current_session_row
from portal.extensions import db
from portal.timeutil import utcnow

FIRST_VISIT_WINDOW = timedelta(days=7)  # "new since the last visit" on a first visit


def month_labels(months: int = 12, today: date | None = None) -> list[str]:
    """The last ``months`` months as ``YYYY-MM``, oldest first, ending with the current month."""
    today = today or utcnow().date()
    year, month = today.year, today.month
    labels = []
    for _ in range(months):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return labels[::-1]


def window_start(labels: list[str]) -> datetime:
    """Midnight of the first day of the oldest month in ``labels``."""
    year, month = (int(part) for part in labels[0].split("-"))
    return datetime(year, month, 1)


def month_of(value: date | datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def count_by_month(values: Iterable[date | datetime | None], labels: list[str]) -> list[int]:
    """How many of ``values`` fall in each month of ``labels`` (others are ignored)."""
    counts = Counter(month_of(value) for value in values if value is not None)
    return [counts.get(label, 0) for label in labels]


def median_by_month(pairs: Iterable[tuple[date | datetime | None, float | None]], labels: list[str]) -> list[float | None]:
    """The median of the values of each month (``None`` for a month without any), rounded to 0.1."""
    buckets: dict[str, list[float]] = {label: [] for label in labels}
    for when, value in pairs:
        if when is not None and value is not None and month_of(when) in buckets:
            buckets[month_of(when)].append(value)
    return [round(statistics.median(values), 1) if values else None for values in buckets.values()]


def iso_week_bounds(week: str) -> tuple[datetime, datetime]:
    """``2026-W48`` -> its Monday 00:00 and the next Monday 00:00 (``ValueError`` if not an ISO week)."""
    year, separator, number = week.partition("-W")
    if not separator or not (year.isdigit() and number.isdigit()):
        raise ValueError(f"not an ISO week: {week!r}")
    monday = date.fromisocalendar(int(year), int(number), 1)
    start = datetime(monday.year, monday.month, monday.day)
    return start, start + timedelta(days=7)


def current_iso_week(today: date | None = None) -> str:
    year, week, _day = (today or utcnow().date()).isocalendar()
    return f"{year:04d}-W{week:02d}"


def last_visit(user_id: int) -> datetime:
    """When the user was last here before this visit: the last activity of their previous session, or a
    week ago on a first visit."""
    current = current_session_row()
    statement = select(UserSession.last_seen_at).where(UserSession.user_id == user_id)
    if current is not None:
        statement = statement.where(UserSession.id != current.id)
    previous = db.session.scalar(statement.order_by(UserSession.last_seen_at.desc()).limit(1))
    return previous or utcnow() - FIRST_VISIT_WINDOW
