"""Spreadsheets both ways: a cycle's table as an XLSX template (openpyxl), uploads read back into rows, and
the consolidated tables as XLSX and CSV.

The template's sheet has the column names in row 1 (the keys the API uses: keep them), their labels in the
reader's language in row 2, then the party's rows (its draft, prefilled); choice, country and month cells
carry validation lists (a ``lists`` sheet). An upload is read from row 2 on (row 2 is skipped when it holds
the labels); a CSV has the names in its first line. Every problem is named by sheet, row and column
(``CellProblem``), exactly as the form and the API check them (``validation.clean_rows``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pycountry
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from portal.parties.seed import MEMBER_COUNTRIES
from portal.reporting.validation import CellError, period_months

SHEET = "return"
LISTS = "lists"
FIRST_DATA_ROW = 3
MAX_UPLOAD_ROWS = 2000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defused(value):
    """A value a spreadsheet shows as text, never runs: text that would start a formula gets a leading ``'``
    (``read_upload`` takes it off again)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _undefused(value):
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


@dataclass(frozen=True)
class SheetProblem:
    sheet: str
    row: int | None
    column: str | None  # the letter
    name: str | None  # the column's name
    message: str

    def __str__(self) -> str:
        where = _("Sheet %(sheet)s", sheet=self.sheet)
        if self.row is not None:
            where += ", " + _("row %(row)d", row=self.row)
        if self.column is not None:
            where += ", " + _("column %(column)s (%(name)s)", column=self.column, name=self.name)
        return f"{where}: {self.message}"


def _label(column: dict, lang: str) -> str:
    return column["label_es"] if lang == "es" else column["label_en"]


def _list_values(column: dict, period: str) -> list[str] | None:
    if column["type"] == "choice":
        return [item["value"] for item in column["choices"]]
    if column["type"] == "country":
        return sorted(country.alpha_3 for country in pycountry.countries
                      if not (column.get("non_member") and country.alpha_3 in MEMBER_COUNTRIES))
    if column["type"] == "month":
        return period_months(period)
    return None


def template_workbook(cycle, rows: list[dict], lang: str) -> bytes:
    """The cycle's table for one party as an XLSX file, with its ``rows`` filled in."""
    template = cycle.template
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    lists = book.create_sheet(LISTS)
    columns = template.columns
    sheet.append([column["name"] for column in columns])
    sheet.append([_label(column, lang) for column in columns])
    for row in rows:
        sheet.append([defused(row.get(column["name"])) for column in columns])
    last = max(FIRST_DATA_ROW + len(rows) + 200, 500)
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(_label(column, lang)) + 2)
        values = _list_values(column, cycle.period)
        if values:
            for position, value in enumerate(values, start=1):
                lists.cell(row=position, column=index, value=value)
            check = DataValidation(type="list", formula1=f"{LISTS}!${letter}$1:${letter}${len(values)}",
                                   allow_blank=not column.get("required"))
        elif column["type"] in ("count", "document"):
            check = DataValidation(type="whole", operator="between", formula1="0",
                                   formula2=str(column.get("max", 2**31 - 1)), allow_blank=True)
        else:
            continue
        check.error = _("See the template's rules for this column.")
        sheet.add_data_validation(check)
        check.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last}")
    lists.sheet_state = "hidden"
    sheet.freeze_panes = f"A{FIRST_DATA_ROW}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class UnreadableSheet(ValueError):
    def __init__(self, problems: list[SheetProblem]):
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


def _table_from_xlsx(data: bytes) -> tuple[str, list[tuple]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged file  # noqa: BLE001
        raise UnreadableSheet([SheetProblem("-", None, None, None, _("The spreadsheet could not be read."))]) \
            from None
    sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
    return sheet.title, [tuple(row) for row in sheet.iter_rows(values_only=True, max_row=MAX_UPLOAD_ROWS + 3)]


def _table_from_csv(data: bytes) -> tuple[str, list[tuple]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableSheet([SheetProblem("CSV", None, None, None, _("The CSV file is not UTF-8 text."))]) \
            from None
    return "CSV", [tuple(row) for row in csv.reader(io.StringIO(text))][:MAX_UPLOAD_ROWS + 3]


@dataclass
class ReadSheet:
    sheet: str
    rows: list[dict]
    lines: list[int]  # each row's line in the sheet
    letters: dict[str, str]  # column name -> letter


def read_upload(template, kind: str, data: bytes, lang: str) -> ReadSheet:
    """The rows of an uploaded XLSX or CSV; ``UnreadableSheet`` when its header is not the template's."""
    sheet, table = (_table_from_xlsx if kind == "xlsx" else _table_from_csv)(data)
    if not table:
        raise UnreadableSheet([SheetProblem(sheet, None, None, None, _("The file is empty."))])
    header = [str(value).strip() if value is not None else "" for value in table[0]]
    names = {column["name"] for column in template.columns}
    letters = {name: get_column_letter(index) for index, name in enumerate(header, start=1) if name}
    problems = [SheetProblem(sheet, 1, letters[name], name, _("Unknown column.")) for name in letters
                if name not in names]
    problems += [SheetProblem(sheet, 1, None, None, _("Column %(name)s is missing.", name=column["name"]))
                 for column in template.columns if column["name"] not in letters and column.get("required")]
    if problems:
        raise UnreadableSheet(problems)
    labels = {name: {column["label_en"], column["label_es"]} for column in template.columns
              for name in [column["name"]]}
    rows, lines = [], []
    for line, values in enumerate(table[1:], start=2):
        row = {name: _undefused(values[index] if index < len(values) else None)
               for index, name in enumerate(header) if name}
        if line == 2 and all(str(row.get(name) or "") in labels[name] | {""} for name in row):
            continue  # the labels' row of the template
        if all(value is None or str(value).strip() == "" for value in row.values()):
            continue
        rows.append(row)
        lines.append(line)
    return ReadSheet(sheet, rows, lines, letters)


def sheet_problems(read: ReadSheet, errors: list[CellError]) -> list[SheetProblem]:
    """The validation's errors, named by sheet, row and column."""
    return [SheetProblem(read.sheet, read.lines[error.row] if error.row is not None else None,
                         read.letters.get(error.column) if error.column else None, error.column, error.message)
            for error in errors]


# --- the consolidated tables --------------------------------------------------------------------------

def consolidated_tables(result, lang: str) -> list[tuple[str, list[list]]]:
    """The consolidation as named tables (a sheet each, or sections of one CSV)."""
    template = result.cycle.template
    basis = [[_("Built from the submitted returns you may see: %(parties)s.",
                parties=", ".join(result.basis.used) or "-")], [_("Returns not counted"), result.basis.left_out]]
    tables = [("basis", basis)]
    if result.kind == "sums":
        head = [_label(template.column(name), lang) for name in result.measures]
        totals = [["", result.cycle.period, *([result.previous_period] if result.previous_period else [])]]
        for name in result.measures:
            line = [_label(template.column(name), lang), result.totals[name]]
            if result.previous_period:
                line.append(result.previous_totals[name])
            totals.append(line)
        tables.append(("totals", totals))
        for dimension, groups in result.by.items():
            tables.append((f"by_{dimension}", [[dimension, *head]] + [[key or "", *sums.values()]
                                                                     for key, sums in groups]))
        tables.append(("shares", [["party", head[0], "%"]] + [list(item) for item in result.shares]))
    else:
        rows = [value for value, _choice in result.matrix_rows]
        matrix = [["party", *rows]]
        for party, cells in result.matrix.items():
            matrix.append([party, *[(cells[key][0] + (" *" if cells[key][1] else "")) if key in cells else ""
                                    for key in rows]])
        tables.append(("matrix", matrix))
    return tables


def consolidated_xlsx(result, lang: str) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in consolidated_tables(result, lang):
        sheet = book.create_sheet(name[:31])
        for row in rows:
            sheet.append([defused(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def consolidated_csv(result, lang: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for name, rows in consolidated_tables(result, lang):
        writer.writerow([f"# {name}"])
        writer.writerows([[defused(value) for value in row] for row in rows])
        writer.writerow([])
    return out.getvalue().encode("utf-8")
