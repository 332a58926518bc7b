"""Checks of a return's rows against its template: each cell, then each row, then the rows together.

``clean_rows(template, period, rows)`` returns the clean rows and a list of ``CellError`` (the row's
position from 0, the column's name, the message); the caller stores nothing while there is one. The same
checks serve the form, the API (``rows[3].women``) and the spreadsheets (sheet, row and column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import pycountry
from flask_babel import gettext as _

from portal.parties.seed import MEMBER_COUNTRIES

PERIOD_PATTERN = re.compile(r"^(\d{4})-H([12])$")
MAX_ROWS = 2000
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MIN_YEAR, _MAX_YEAR = 1900, 2100


@dataclass(frozen=True)
class CellError:
    row: int | None  # position from 0; None: the rows as a whole
    column: str | None  # None: the row as a whole
    message: str

    @property
    def field(self) -> str:
        """The API's name of the bad input: ``rows[3].women``, ``rows[3]``, ``rows``."""
        if self.row is None:
            return "rows"
        return f"rows[{self.row}]" + (f".{self.column}" if self.column else "")


class CellProblem(ValueError):
    """One cell's problem; its message is shown at the cell."""


class ReturnInvalid(ValueError):
    """Bad rows: nothing was stored."""

    def __init__(self, errors: list[CellError]):
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = errors


def clean_period(period: str) -> str | None:
    """``2026-H2`` -> itself; anything else -> None."""
    match = PERIOD_PATTERN.match(str(period or "").strip())
    return match.group(0) if match and _MIN_YEAR <= int(match.group(1)) <= _MAX_YEAR else None


def period_months(period: str) -> list[str]:
    """The six months of a semester (``2026-H2`` -> ``2026-07`` .. ``2026-12``)."""
    year, half = PERIOD_PATTERN.match(period).groups()
    first = 1 if half == "1" else 7
    return [f"{year}-{month:02d}" for month in range(first, first + 6)]


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _count(column, value, _context):
    if isinstance(value, bool):
        raise CellProblem(_("Must be a whole number, 0 or more."))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise CellProblem(_("Must be a whole number, 0 or more."))
    if value > column.get("max", 10**9):
        raise CellProblem(_("At most %(max)d.", max=column.get("max", 10**9)))
    return value


def _text(column, value, _context):
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise CellProblem(_("Expected text."))
    value = " ".join(str(value).split())
    limit = column.get("max_length", 500)
    if len(value) > limit:
        raise CellProblem(_("At most %(limit)d characters.", limit=limit))
    return value


def _choice(column, value, _context):
    values = [item["value"] for item in column["choices"]]
    value = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
    if value not in values:
        raise CellProblem(_("Must be one of: %(choices)s.", choices=", ".join(values)))
    return value


def _country(column, value, _context):
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != 3 or pycountry.countries.get(alpha_3=code) is None:
        raise CellProblem(_("Not an ISO 3166 country code (three letters, such as IND)."))
    if column.get("non_member") and code in MEMBER_COUNTRIES:
        raise CellProblem(_("%(code)s is an RCM member country, not an extra-regional nationality.", code=code))
    return code


def _month(_column, value, context):
    if isinstance(value, datetime | date):
        value = f"{value.year:04d}-{value.month:02d}"
    match = _MONTH.match(value.strip()) if isinstance(value, str) else None
    months = period_months(context["period"])
    if match is None or value.strip() not in months:
        raise CellProblem(_("Must be a month of %(period)s (%(first)s to %(last)s).", period=context["period"],
                           first=months[0], last=months[-1]))
    return value.strip()


def _date(_column, value, _context):
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        value = value.isoformat()
    try:
        if not isinstance(value, str) or not _DATE.match(value.strip()):
            raise CellProblem
        parsed = date.fromisoformat(value.strip())
    except ValueError:  # CellProblem too
        raise CellProblem(_("Must be a date (YYYY-MM-DD).")) from None
    if not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
        raise CellProblem(_("Must be a date between %(first)s and %(last)s.", first=_MIN_YEAR, last=_MAX_YEAR))
    return parsed.isoformat()


def _document(column, value, context):
    number = _count(dict(column, max=2**31 - 1), value, context)
    exists = context.get("document_exists")
    if number == 0 or (exists is not None and not exists(number)):
        raise CellProblem(_("No library document with this number that you may see."))
    return number


CELL_CHECKS = {"count": _count, "text": _text, "choice": _choice, "country": _country, "month": _month,
               "date": _date, "document": _document}


def clean_cell(column: dict, value, context: dict):
    """A cell's clean value (None when blank and optional); raises ``CellProblem`` with the message."""
    if _blank(value):
        if column.get("required"):
            raise CellProblem(_("This field is required."))
        return None
    return CELL_CHECKS[column["type"]](column, value, context)


def _label(column: dict, lang: str) -> str:
    return column["label_es"] if lang == "es" else column["label_en"]


def _row_rules(template, row: dict, position: int, lang: str) -> list[CellError]:
    errors = []
    columns = {column["name"]: column for column in template.columns}
    for column in template.measures:
        total_name = column.get("part_of")
        part, total = row.get(column["name"]), row.get(total_name) if total_name else None
        if total_name and part is not None and total is not None and part > total:
            errors.append(CellError(position, column["name"], _(
                "Cannot be more than %(total)s (%(label)s).", total=total, label=_label(columns[total_name], lang))))
    return errors


def clean_row(template, raw, position: int, context: dict) -> tuple[dict, list[CellError]]:
    """One row's clean cells and its errors (unknown columns, bad cells, "of whom" above its total)."""
    if not isinstance(raw, dict):
        return {}, [CellError(position, None, _("Each row must be an object of column names and values."))]
    names = {column["name"] for column in template.columns}
    errors = [CellError(position, str(key)[:40], _("Unknown column.")) for key in raw if key not in names]
    row = {}
    for column in template.columns:
        try:
            row[column["name"]] = clean_cell(column, raw.get(column["name"]), context)
        except CellProblem as error:
            errors.append(CellError(position, column["name"], str(error)))
    if not errors:
        errors = _row_rules(template, row, position, context.get("lang", "en"))
    return row, errors


def clean_rows(template, period: str, rows, *, document_exists=None, lang: str = "en"):
    """Every row checked; returns ``(clean_rows, errors)`` (the rows are only usable without errors)."""
    if not isinstance(rows, list):
        return [], [CellError(None, None, _("Expected a list of rows."))]
    if len(rows) > MAX_ROWS:
        return [], [CellError(None, None, _("At most %(limit)d rows.", limit=MAX_ROWS))]
    context = {"period": period, "document_exists": document_exists, "lang": lang}
    clean, errors, seen = [], [], {}
    keys = [column["name"] for column in template.dimensions]
    for position, raw in enumerate(rows):
        row, row_errors = clean_row(template, raw, position, context)
        errors.extend(row_errors)
        clean.append(row)
        if template.table.get("unique") and not row_errors:
            key = tuple(row.get(name) for name in keys)
            if key in seen:
                errors.append(CellError(position, keys[0], _(
                    "Row %(other)d already has these %(columns)s.", other=seen[key] + 1,
                    columns=", ".join(keys))))
            seen.setdefault(key, position)
    return clean, errors
