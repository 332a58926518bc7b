"""Bulk import of alerts from CSV or JSON: a dry run that stores nothing, then an all-or-nothing real run.

The import format is the API's (``POST /api/v1/alerts``, ``alerts.serializers``):

- JSON: a list of alert objects, each exactly a request body of the API (``distribution`` an object).
- CSV: one alert per line under a header naming the same fields; the lists (``route``,
  ``security_features``, ``objectives``) are separated by ``;``, and the distribution is spread over
  ``distribution_level``, ``distribution_parties`` (codes separated by ``;``) and ``distribution_network``.

The columns ``reference`` and ``reporting_party`` that ``alerts.export`` writes are accepted and ignored
(a new alert gets the importer's reference; the importing user's party is the reporting party), so an
export imports as it is. A CSV cell that the export protected against spreadsheet formulas (a leading
``'`` before ``=``, ``+``, ``-``, ``@``) is read back without that quote.

Every row is checked by the very checks ``create_alert`` runs (``serializers.parse_alert_body`` for the
shape, ``serializers.validation_errors`` for the meaning, nothing written), and each bad row is reported
with its line number and one message per bad field. Files are read as a stream of chunks (CSV line by
line, JSON item by item), so memory holds one row at a time, plus the report (at most
``MAX_REPORTED_ROWS`` bad rows in detail; all are counted). The caller gives the chunks: the CLI reads the
user's own file, the web page stores the upload encrypted (``alerts.bulk_views``); no plaintext copy is
ever written to disk.

``import_alerts(principal, rows)`` is the real run on rows already in the API's shape (also what a
benchmark times): each row is checked by ``create_alert``'s own checks, then stored set-based a batch at a
time (``alerts.bulk_store``: the same rows, revisions, audit entries and notifications as ``create_alert``
writes for a single report, with a fixed number of statements per batch), inside a savepoint that is
rolled back whole if any row fails. The run is audited as ``alert.import`` with counts only, never a
number.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from flask_babel import gettext as _

from alerts.bulk_store import Lookups, store_batch
from alerts.operations import AlertForbidden, prepare_new_alert
from alerts.serializers import (
    BODY_FIELDS,
    LIST_FIELDS,
    InvalidInput,
    api_field_errors,
    parse_alert_body,
    validation_errors,
)
from alerts.validation import AlertValidationError, RecipientLookup
from portal.audit.service import record
from portal.extensions import db
from portal.principal import Principal

FORMATS = ("csv", "json")
# Written by the export, ignored by the import.
EXPORT_ONLY_FIELDS = ("reference", "reporting_party")
DISTRIBUTION_COLUMNS = ("distribution_level", "distribution_parties", "distribution_network")
CSV_FIELDS = tuple(name for name in BODY_FIELDS if name != "distribution") + DISTRIBUTION_COLUMNS
LIST_SEPARATOR = ";"
# The API names a distribution error inside the object; a CSV names the column.
_CSV_ERROR_NAMES = {"distribution.level": "distribution_level", "distribution.parties": "distribution_parties",
                    "distribution.network": "distribution_network", "distribution": "distribution_level"}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text: a leading ``'`` where it would run a formula
    (the import removes it again)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_ROWS = 50_000
MAX_LINE_CHARS = 256 * 1024  # a CSV line or a JSON item; every field of an alert fits far below this
MAX_REPORTED_ROWS = 1_000  # bad rows kept in detail in a report (every bad row is counted)
BATCH_SIZE = 2_000  # rows checked, then stored together (alerts.bulk_store)


class ImportFileError(ValueError):
    """The file cannot be read on (not UTF-8, no header, malformed JSON, too large): ``line`` says where."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


class ImportRefused(ValueError):
    """The real run refused the file: it has bad rows (see the dry run's ``report``), nothing was stored."""

    def __init__(self, report: ImportReport):
        super().__init__(f"{report.invalid} bad rows")
        self.report = report


@dataclass
class Row:
    """One alert read from the file: the API-shaped ``data`` and the shape errors found while reading."""

    line: int
    item: int
    data: dict | None
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class RowProblem:
    line: int
    item: int
    errors: dict[str, str]


@dataclass
class ImportReport:
    """What a dry run found: counts, the bad rows (line and one message per bad field), a file error."""

    format: str
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    file_error: ImportFileError | None = None
    published: int = 0

    @property
    def ok(self) -> bool:
        return self.invalid == 0 and self.file_error is None and self.rows > 0

    @property
    def unreported(self) -> int:
        return self.invalid - len(self.problems)

    def audit_details(self) -> dict:
        return {"format": self.format, "rows": self.rows, "valid": self.valid, "invalid": self.invalid,
                "file_error": self.file_error is not None}


@dataclass
class ImportCounts:
    """The result of a real run."""

    imported: int = 0
    published: int = 0
    drafts: int = 0
    first_reference: str | None = None
    last_reference: str | None = None


# --- reading ------------------------------------------------------------------------------------------

def limits() -> tuple[int, int]:
    """``(max_bytes, max_rows)`` from ``ALERT_IMPORT_MAX_BYTES`` / ``ALERT_IMPORT_MAX_ROWS``."""
    config = current_app.config if has_app_context() else {}
    return (int(config.get("ALERT_IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES),
            int(config.get("ALERT_IMPORT_MAX_ROWS") or DEFAULT_MAX_ROWS))


def guess_format(filename: str | None, first_bytes: bytes = b"") -> str | None:
    """``csv`` or ``json`` from the file name's extension (or the first character), else ``None``."""
    name = (filename or "").lower()
    for fmt in FORMATS:
        if name.endswith("." + fmt):
            return fmt
    head = first_bytes.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head == b"[" else None


def _limited(chunks: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise ImportFileError(_("The file is larger than the limit of %(size)s MB.",
                                    size=f"{max_bytes / 1024 / 1024:g}"))
        yield chunk


def _text(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text (a leading byte-order mark dropped), chunk by chunk; a bad byte is a file error."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    try:
        for chunk in chunks:
            text = decoder.decode(chunk)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFileError(_("The file is not UTF-8 text.")) from None
    if tail:
        yield tail


def _lines(texts: Iterable[str]) -> Iterator[str]:
    """Lines with their endings, each bounded by ``MAX_LINE_CHARS`` (bounded memory on a file without one)."""
    pending = ""
    number = 0
    for text in texts:
        pending += text
        start = 0
        while True:
            end = pending.find("\n", start)
            if end < 0:
                break
            number += 1
            yield pending[start:end + 1]
            start = end + 1
        pending = pending[start:]
        if len(pending) > MAX_LINE_CHARS:
            raise ImportFileError(_("Line %(line)d is too long.", line=number + 1), number + 1)
    if pending:
        yield pending


def _cell(value: str) -> str:
    if value.startswith("'") and value[1:2] in FORMULA_PREFIXES:
        return value[1:]
    return value


def _csv_row(values: dict[str, str]) -> dict:
    """A CSV row as an API body: empty cells left out, lists split, the distribution as an object."""
    body: dict = {}
    for name, raw in values.items():
        value = _cell(raw.strip())
        if not value or name in EXPORT_ONLY_FIELDS or name in DISTRIBUTION_COLUMNS:
            continue
        body[name] = [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()] \
            if name in LIST_FIELDS else value
    level, parties, network = (_cell((values.get(name) or "").strip()) for name in DISTRIBUTION_COLUMNS)
    if level or parties or network:
        distribution: dict = {}
        if level:
            distribution["level"] = level
        if parties:
            distribution["parties"] = [part.strip() for part in parties.split(LIST_SEPARATOR) if part.strip()]
        if network:
            distribution["network"] = network
        body["distribution"] = distribution
    return body


def _csv_names(errors: dict[str, str]) -> dict[str, str]:
    return {_CSV_ERROR_NAMES.get(key, key): message for key, message in errors.items()}


def read_csv(chunks: Iterable[bytes]) -> Iterator[Row]:
    """The rows of a CSV file (header first). ``ImportFileError`` stops the file; a bad line is a bad row."""
    reader = csv.reader(_lines(_text(chunks)), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(_("The file is empty."), 1) from None
    except csv.Error:
        raise ImportFileError(_("The header line is not valid CSV."), 1) from None
    header = [name.strip() for name in header]
    unknown = [name for name in header if name not in CSV_FIELDS and name not in EXPORT_ONLY_FIELDS]
    if unknown:
        raise ImportFileError(_("Unknown column: %(names)s.", names=", ".join(unknown[:5])[:120]), 1)
    if len(set(header)) != len(header):
        raise ImportFileError(_("A column is named twice in the header."), 1)
    item = 0
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            item += 1
            last_line = reader.line_num
            yield Row(start, item, None, {"line": _("This line is not valid CSV (check its quotes).")})
            continue
        last_line = reader.line_num
        if not any(value.strip() for value in values):
            continue  # blank line
        item += 1
        if len(values) != len(header):
            yield Row(start, item, None, {"line": _("This line has %(got)d values; the header has %(want)d.",
                                                    got=len(values), want=len(header))})
            continue
        data, errors = parse_alert_body(_csv_row(dict(zip(header, values, strict=True))))
        yield Row(start, item, data, _csv_names(errors))


def _json_values(texts: Iterable[str]) -> Iterator[tuple[int, object]]:
    """``(line, value)`` for each element of a top-level JSON list, read one element at a time."""
    decoder = json.JSONDecoder()
    texts = iter(texts)
    buffer, position, line_base, ended = "", 0, 1, False

    def more() -> bool:
        nonlocal buffer, position, line_base, ended
        if ended:
            return False
        line_base += buffer.count("\n", 0, position)
        buffer = buffer[position:]
        position = 0
        try:
            buffer += next(texts)
        except StopIteration:
            ended = True
            return False
        return True

    def skip_space() -> bool:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                position += 1
            if position < len(buffer):
                return True
            if not more():
                return False

    def here() -> int:
        return line_base + buffer.count("\n", 0, position)

    if not skip_space() or buffer[position] != "[":
        raise ImportFileError(_("A JSON import is a list of alert objects ([{...}, {...}])."), 1)
    position += 1
    first = True
    while True:
        if not skip_space():
            raise ImportFileError(_("The JSON list is not closed (a ] is missing at the end)."), here())
        if buffer[position] == "]":
            position += 1
            if skip_space():
                raise ImportFileError(_("Malformed JSON at line %(line)d: nothing may follow the list.",
                                        line=here()), here())
            return
        if not first:
            if buffer[position] != ",":
                raise ImportFileError(_("Malformed JSON at line %(line)d: a comma is missing between two "
                                        "alerts.", line=here()), here())
            position += 1
            if not skip_space():
                raise ImportFileError(_("The JSON list is not closed (a ] is missing at the end)."), here())
        first = False
        while True:
            try:
                value, end = decoder.raw_decode(buffer, position)
                if end == len(buffer) and not ended and not isinstance(value, dict | list | str):
                    raise ValueError("a number or a word may continue in the next chunk")
                break
            except RecursionError:
                raise ImportFileError(_("The JSON item at line %(line)d is nested too deeply.", line=here()),
                                      here()) from None
            except json.JSONDecodeError as error:
                # A cut inside a literal or an escape fails within a few characters of the end.
                if error.pos < len(buffer) - 8 and not error.msg.startswith("Unterminated string"):
                    line = line_base + buffer.count("\n", 0, error.pos)  # a real syntax error, not a cut
                    raise ImportFileError(_("Malformed JSON at line %(line)d.", line=line), line) from None
                if len(buffer) - position > MAX_LINE_CHARS:
                    raise ImportFileError(_("The alert at line %(line)d is too long.", line=here()), here()) from None
                if not more():
                    raise ImportFileError(_("Malformed JSON at line %(line)d.", line=here()), here()) from None
            except ValueError:
                if len(buffer) - position > MAX_LINE_CHARS:
                    raise ImportFileError(_("The alert at line %(line)d is too long.", line=here()), here()) from None
                if not more():
                    raise ImportFileError(_("Malformed JSON at line %(line)d.", line=here()), here()) from None
        yield here(), value
        position = end


def read_json(chunks: Iterable[bytes]) -> Iterator[Row]:
    """The rows of a JSON file: each element of the list, shaped exactly like an API request body."""
    for item, (line, value) in enumerate(_json_values(_text(chunks)), 1):
        if isinstance(value, dict):
            value = {key: entry for key, entry in value.items() if key not in EXPORT_ONLY_FIELDS}
        try:
            data, errors = parse_alert_body(value)
        except InvalidInput:
            yield Row(line, item, None, {"item": _("Expected an alert object ({...}).")})
            continue
        yield Row(line, item, data, errors)


def read_rows(chunks: Iterable[bytes], fmt: str, *, max_bytes: int | None = None,
              max_rows: int | None = None) -> Iterator[Row]:
    """The rows of a CSV or JSON file, within the size and row limits (``ImportFileError`` beyond)."""
    default_bytes, default_rows = limits()
    max_bytes, max_rows = max_bytes or default_bytes, max_rows or default_rows
    reader = {"csv": read_csv, "json": read_json}.get(fmt)
    if reader is None:
        raise ImportFileError(_("Choose a CSV or JSON file."))
    for row in reader(_limited(chunks, max_bytes)):
        if row.item > max_rows:
            raise ImportFileError(_("The file holds more than %(limit)d alerts: split it.", limit=max_rows), row.line)
        yield row


# --- checking -----------------------------------------------------------------------------------------

def _require(principal: Principal | None, dry_run: bool) -> None:
    if principal is None or not principal.can("report_alert"):
        record("alert.import", outcome="denied", object_type="alert", principal=principal,
               details={"permission": "report_alert", "dry_run": dry_run})
        raise AlertForbidden()


def row_errors(principal: Principal, row: Row, fmt: str, lookup: RecipientLookup | None = None) -> dict[str, str]:
    """Every bad field of ``row``, by the checks ``create_alert`` runs; nothing is written."""
    if row.data is None:
        return dict(row.errors)
    errors = api_field_errors(validation_errors(principal, row.data, lookup), row.data)
    if fmt == "csv":
        errors = _csv_names(errors)
    if not errors and row.data.get("status") == "published" and not principal.can("publish_alert"):
        errors["status"] = _("You may not publish alerts: import them as drafts.")
    return {**errors, **row.errors}


def check_file(principal: Principal, chunks: Iterable[bytes], fmt: str, *, max_bytes: int | None = None,
               max_rows: int | None = None, on_problem: Callable[[RowProblem], None] | None = None) -> ImportReport:
    """Read and check every row (no audit, nothing stored): the report of a dry run."""
    report = ImportReport(format=fmt)
    lookup = RecipientLookup()
    try:
        for row in read_rows(chunks, fmt, max_bytes=max_bytes, max_rows=max_rows):
            report.rows += 1
            errors = row_errors(principal, row, fmt, lookup)
            if errors:
                report.invalid += 1
                problem = RowProblem(row.line, row.item, {key: str(value) for key, value in errors.items()})
                if len(report.problems) < MAX_REPORTED_ROWS:
                    report.problems.append(problem)
                if on_problem is not None:
                    on_problem(problem)
            else:
                report.valid += 1
                report.published += row.data.get("status") == "published"
    except ImportFileError as error:
        report.file_error = error
    return report


REPORT_COLUMNS = ("line", "item", "field", "problem")


def csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV text a row at a time, for a streamed download (the first row is the header)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def report_csv(problems: Iterable[RowProblem]) -> Iterator[str]:
    """Every bad row of a dry run as CSV (``REPORT_COLUMNS``, a line per bad field): the full report, where
    the page lists the first ``MAX_REPORTED_ROWS``."""
    rows = ([problem.line, problem.item, name, spreadsheet_safe(message)]
            for problem in problems for name, message in problem.errors.items())
    return csv_lines(itertools.chain([REPORT_COLUMNS], rows))


def dry_run(principal: Principal | None, chunks: Iterable[bytes], fmt: str, **kwargs) -> ImportReport:
    """Check a whole file and report every bad row; stores nothing (not even a reference number).

    Audited as ``alert.import`` with ``dry_run`` and the counts.
    """
    _require(principal, True)
    report = check_file(principal, chunks, fmt, **kwargs)
    record("alert.import", object_type="alert", principal=principal,
           details={"dry_run": True, **report.audit_details()})
    return report


# --- importing ----------------------------------------------------------------------------------------

def import_batches(principal: Principal | None, rows: Iterable[dict], *,
                   batch_size: int = BATCH_SIZE) -> Iterator[ImportCounts]:
    """Create one alert per API-shaped row, exactly as ``create_alert`` would, all or nothing, yielding
    the running counts after each stored batch (the last time after the whole run, audited).

    Rows are taken ``batch_size`` at a time: every row of a batch is checked by ``create_alert``'s own
    checks (``prepare_new_alert``) before any of it is written, then the batch is stored set-based
    (``alerts.bulk_store.store_batch``: a fixed number of statements per batch). Runs inside a savepoint:
    if any row is refused (``AlertValidationError``, ``AlertForbidden``), every alert of this run, its
    reference numbers and its audit entries are rolled back and the error is raised with ``item``
    (1-based) set on it; so they are if the caller stops iterating early (``close()``). Audited as
    ``alert.import`` with the counts, besides each alert's own entries.
    """
    _require(principal, False)
    counts = ImportCounts()
    db.session.flush()
    savepoint = db.session.begin_nested()
    item = 0

    def store(batch: list) -> None:
        for alert in store_batch(principal, batch, lookups):
            counts.imported += 1
            if alert.status == "published":
                counts.published += 1
            else:
                counts.drafts += 1
            counts.first_reference = counts.first_reference or alert.reference
            counts.last_reference = alert.reference
        batch.clear()

    try:
        lookups, lookup = Lookups.load(principal), RecipientLookup()
        batch: list = []
        for item, data in enumerate(rows, 1):
            batch.append(prepare_new_alert(principal, data, lookup))
            if len(batch) >= batch_size:
                store(batch)
                yield counts
        if batch:
            store(batch)
        db.session.flush()
    except (AlertValidationError, AlertForbidden) as error:
        savepoint.rollback()  # the audit entries queued since the savepoint go with it
        error.item = item
        raise
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    record("alert.import", object_type="alert", object_party=principal.party_code, principal=principal,
           details={"dry_run": False, "imported": counts.imported, "published": counts.published,
                    "drafts": counts.drafts, "first_reference": counts.first_reference,
                    "last_reference": counts.last_reference})
    yield counts


def import_alerts(principal: Principal | None, rows: Iterable[dict], *,
                  progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE) -> ImportCounts:
    """``import_batches`` run to the end; ``progress(done)`` after each stored batch. Returns the counts."""
    counts, reported = ImportCounts(), None
    for counts in import_batches(principal, rows, batch_size=batch_size):
        if progress is not None and counts.imported != reported:
            progress(counts.imported)
            reported = counts.imported
    return counts


def check_before_import(principal: Principal | None, open_chunks: Callable[[], Iterable[bytes]], fmt: str, *,
                        max_bytes: int | None = None, max_rows: int | None = None) -> ImportReport:
    """The first pass of a real run: check the whole file (``open_chunks()`` gives its chunks).

    A file with any bad row is refused whole (``ImportRefused`` carrying the dry run's report; audited as
    ``alert.import`` denied with the counts) and nothing is stored.
    """
    _require(principal, False)
    report = check_file(principal, open_chunks(), fmt, max_bytes=max_bytes, max_rows=max_rows)
    if not report.ok:
        record("alert.import", outcome="denied", object_type="alert", principal=principal,
               details={"dry_run": False, "reason": "bad_rows", **report.audit_details()})
        raise ImportRefused(report)
    return report


def file_rows(open_chunks: Callable[[], Iterable[bytes]], fmt: str, *, max_bytes: int | None = None,
              max_rows: int | None = None) -> Iterator[dict]:
    """The second pass: the rows of a checked file, read again, in the API's shape."""
    return (row.data for row in read_rows(open_chunks(), fmt, max_bytes=max_bytes, max_rows=max_rows))


def import_file(principal: Principal | None, open_chunks: Callable[[], Iterable[bytes]], fmt: str, *,
                progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE,
                max_bytes: int | None = None, max_rows: int | None = None,
                on_checked: Callable[[ImportReport], None] | None = None) -> tuple[ImportReport, ImportCounts]:
    """The real run: check the whole file first (``open_chunks()`` is read twice), then import every row.

    A file with any bad row is refused whole (``ImportRefused``, see ``check_before_import``) and nothing
    is stored. ``on_checked(report)`` is called between the two passes (to size a progress bar).
    """
    try:
        report = check_before_import(principal, open_chunks, fmt, max_bytes=max_bytes, max_rows=max_rows)
    except ImportRefused as refused:
        if on_checked is not None:
            on_checked(refused.report)
        raise
    if on_checked is not None:
        on_checked(report)
    rows = file_rows(open_chunks, fmt, max_bytes=max_bytes, max_rows=max_rows)
    counts = import_alerts(principal, rows, progress=progress, batch_size=batch_size)
    return report, counts
