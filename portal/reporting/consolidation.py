"""The consolidated tables of a cycle, built only from the returns the viewer may see, and only from what
was submitted (the latest submitted version of each; never a draft, not even the viewer's own).

- ``sums`` templates (the flows): the regional table (sums of each count by nationality with its
  continent, by continent, by month and by detection point), each party's share, and the change from the
  previous cycle of the template (built under the same rule, so the comparison never counts more);
- ``matrix`` templates: parties x topics (or kinds), each cell the template's ``matrix_cells``, flagged
  where it differs from the previous cycle's.

Every result says which parties' returns it used and how many it could not (not submitted, or not
visible to this viewer: the two are not told apart, so the viewer learns nothing of the hidden ones).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from portal.reporting import queries
from portal.reporting.continents import continent_of
from portal.reporting.models import ReportingCycle


@dataclass
class Basis:
    used: list[str]  # party codes whose submitted returns are counted
    left_out: int  # returns of the cycle not counted (not submitted, or not visible to the viewer)


@dataclass
class Consolidation:
    cycle: ReportingCycle
    kind: str
    basis: Basis
    measures: list[str] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    previous_totals: dict | None = None
    by: dict = field(default_factory=dict)  # dimension -> [(key, {measure: sum})]
    shares: list = field(default_factory=list)  # [(party, detected, share %)]
    matrix_rows: list = field(default_factory=list)  # [(value, label)]
    matrix: dict = field(default_factory=dict)  # party -> {row value: (cell text, changed)}
    previous_period: str | None = None

    def change(self, measure: str):
        """The change of a total from the previous cycle (None: no previous cycle)."""
        if self.previous_totals is None:
            return None
        return self.totals.get(measure, 0) - self.previous_totals.get(measure, 0)


def _submitted(principal, cycle: ReportingCycle) -> tuple[dict[str, list[dict]], int]:
    """party code -> rows of its latest submitted version, for the returns the viewer may see."""
    total = queries.return_count(cycle)
    used: dict[str, list[dict]] = {}
    for item in queries.visible_returns(principal, cycle):
        version = queries.latest_version(item)
        if version is not None:
            used[item.owner_party.code] = list(version.rows)
    return used, total - len(used)


def _counts(template) -> list[str]:
    return [column["name"] for column in template.measures if column["type"] == "count"]


def _sum_rows(rows, measures) -> dict:
    totals = dict.fromkeys(measures, 0)
    for row in rows:
        for name in measures:
            totals[name] += row.get(name) or 0
    return totals


def _group(rows, key, measures) -> list:
    groups = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return sorted(((name, _sum_rows(items, measures)) for name, items in groups.items()),
                  key=lambda item: (-item[1].get(measures[0], 0), str(item[0])))


def _sums(result: Consolidation, used: dict, previous: dict | None) -> None:
    measures = _counts(result.cycle.template)
    rows = [row for party_rows in used.values() for row in party_rows]
    result.measures = measures
    result.totals = _sum_rows(rows, measures)
    result.previous_totals = _sum_rows([r for items in previous.values() for r in items], measures) \
        if previous is not None else None
    names = {column["name"] for column in result.cycle.template.dimensions}
    if "nationality" in names:
        result.by["nationality"] = _group(rows, lambda row: row.get("nationality"), measures)
        result.by["continent"] = _group(rows, lambda row: continent_of(row.get("nationality") or ""), measures)
    for name in ("month", "detection_point"):
        if name in names:
            result.by[name] = _group(rows, lambda row, name=name: row.get(name) or "", measures)
    first = measures[0]
    grand = result.totals.get(first, 0)
    result.shares = sorted(((party, _sum_rows(items, [first])[first]) for party, items in used.items()),
                           key=lambda item: (-item[1], item[0]))
    result.shares = [(party, value, round(100 * value / grand, 1) if grand else 0.0)
                     for party, value in result.shares]


def _cells(template, rows) -> dict:
    spec = template.table
    cells = defaultdict(list)
    for row in rows:
        cells[row.get(spec["matrix_rows"])].append(" / ".join(str(row.get(name) or "") for name in spec["matrix_cells"]))
    return {key: "; ".join(values) for key, values in cells.items()}


def _matrix(result: Consolidation, used: dict, previous: dict | None) -> None:
    template = result.cycle.template
    spec = template.table
    column = next(c for c in template.columns if c["name"] == spec["matrix_rows"])
    result.matrix_rows = [(item["value"], item) for item in column.get("choices", [])]
    for party, rows in sorted(used.items()):
        now = _cells(template, rows)
        before = _cells(template, previous[party]) if previous is not None and party in previous else None
        result.matrix[party] = {key: (text, before is not None and before.get(key, "") != text)
                                for key, text in now.items()}


def consolidate(principal, cycle: ReportingCycle) -> Consolidation:
    used, left_out = _submitted(principal, cycle)
    before = queries.previous_cycle(cycle)
    previous = _submitted(principal, before)[0] if before is not None else None
    kind = cycle.template.table.get("consolidation", "sums")
    result = Consolidation(cycle=cycle, kind=kind, basis=Basis(sorted(used), left_out),
                           previous_period=before.period if before else None)
    (_sums if kind == "sums" else _matrix)(result, used, previous)
    return result


def trend(principal, cycle: ReportingCycle, measure: str, count: int = 6) -> list[tuple[str, int]]:
    """The regional total of ``measure`` in this cycle and up to ``count - 1`` before it, oldest first, each
    built under the same rule (the submitted returns ``principal`` may see)."""
    points, current = [], cycle
    while current is not None and len(points) < count:
        used = _submitted(principal, current)[0]
        points.append((current.period, _sum_rows([row for rows in used.values() for row in rows], [measure])[measure]))
        current = queries.previous_cycle(current)
    return points[::-1]
