"""What changed between two versions of a return, row by row and cell by cell.

Rows are matched by their dimensions when the template keeps one row per combination of them (the
flows: nationality, month, detection point; the matrix: topic); otherwise by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RowChange:
    kind: str  # added, removed, changed, same
    key: tuple
    before: dict | None
    after: dict | None
    cells: list[str] = field(default_factory=list)  # the columns that differ (changed rows)


def _keyed(template, rows) -> dict:
    if template.table.get("unique"):
        names = [column["name"] for column in template.dimensions]
        return {tuple(row.get(name) for name in names): row for row in rows}
    return {(index + 1,): row for index, row in enumerate(rows)}


def diff_rows(template, before: list[dict], after: list[dict]) -> list[RowChange]:
    """Every row of either version, in the newer one's order, then the removed ones."""
    old, new = _keyed(template, before), _keyed(template, after)
    names = [column["name"] for column in template.columns]
    changes = []
    for key, row in new.items():
        previous = old.get(key)
        if previous is None:
            changes.append(RowChange("added", key, None, row))
            continue
        cells = [name for name in names if previous.get(name) != row.get(name)]
        changes.append(RowChange("changed" if cells else "same", key, previous, row, cells))
    changes.extend(RowChange("removed", key, row, None) for key, row in old.items() if key not in new)
    return changes
