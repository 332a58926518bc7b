"""The CSV export of the audit log: the rows of a scoped, filtered query as defused CSV, the export itself
audited (``audit.export``, with the row count and the filters)."""

from __future__ import annotations

import csv
import io

from portal.audit.sealing import shown_details
from portal.audit.sentences import describe
from portal.audit.service import record
from portal.extensions import db

EXPORT_LIMIT = 100_000
CSV_COLUMNS = ("seq", "time_utc", "actor_party", "actor_role", "actor_user_id", "actor_token_id", "ip",
               "action", "object_type", "object_id", "object_party", "outcome", "objectives", "details", "sentence")


def _csv_cell(value) -> str:
    """A cell as text, defused against spreadsheet formula injection."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(statement, filter_details: dict, principal) -> str:
    """The first ``EXPORT_LIMIT`` entries of ``statement`` (already scoped to ``principal`` and filtered) as CSV
    text, each with its sentence in the reader's language; the export is audited with the number of rows and
    ``filter_details``."""
    entries = db.session.scalars(statement.limit(EXPORT_LIMIT)).all()
    sentences = describe(entries, principal, links=False)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow(_csv_cell(value) for value in (
            entry.seq, entry.created_at.isoformat(timespec="seconds") + "Z", entry.actor_party, entry.actor_role,
            entry.actor_user_id, entry.actor_token_id, entry.ip, entry.action, entry.object_type,
            entry.object_id, entry.object_party, entry.outcome, " ".join(entry.objective_codes), shown_details(entry.details),
            sentences[entry.id].text,
        ))
    record("audit.export", details={"rows": len(entries), **filter_details})
    return buffer.getvalue()
