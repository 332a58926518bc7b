"""The spreadsheet pages of periodic reporting: a party's XLSX template, the upload of a filled XLSX or CSV
(a dry run naming every bad cell by sheet, row and column, or the all-or-nothing import), and the
consolidated tables as XLSX and CSV.

Downloads are POST with the CSRF token (``post_button``), as every export. The upload goes through
``documents.transfer`` like every file: typed by its content, checked by the office parsers, encrypted
into the blob store as it arrives; it is read back decrypted and never kept (no row references it, so the
request's end deletes the blob).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from documents import transfer
from documents.files import record_refusal
from documents.service import decrypt_from_store
from documents.storage import current_blob_store
from portal.access import permission_required
from portal.extensions import csrf
from portal.keyring import current_keyring
from portal.principal import current_principal
from portal.reporting import operations, pdf, queries, spreadsheets
from portal.reporting.consolidation import consolidate
from portal.reporting.forms import UploadForm
from portal.reporting.serializers import document_exists
from portal.reporting.validation import ReturnInvalid, clean_rows

bp = Blueprint("reporting_files", __name__, url_prefix="/reporting")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_KINDS = frozenset({"xlsx", "csv"})


def _lang() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def _attachment(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = transfer.content_disposition("attachment", filename)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _fillable(cycle_id, party):
    principal = current_principal()
    return principal, queries.get_fillable_or_404(principal, queries.get_cycle_or_404(principal, cycle_id), party)


@bp.post("/cycles/<int:cycle_id>/returns/<party>/template.xlsx")
@permission_required("submit_party_return")
def template(cycle_id, party):
    principal, found = _fillable(cycle_id, party)
    body = spreadsheets.template_workbook(found.cycle, list(found.draft_rows or []), _lang())
    operations.record_export(principal, found.cycle, "template", found)
    return _attachment(body, XLSX, f"{found.cycle.template_code}-{found.cycle.period}-{found.owner_party.code}.xlsx")


def _render_upload(found, form, status, problems=(), checked=None):
    return render_template("reporting/upload.html", cycle=found.cycle, item=found, form=form, problems=problems,
                           checked=checked, lang=_lang()), status


def _read_back(upload) -> bytes:
    stored = upload.stored
    with decrypt_from_store(current_blob_store(), stored.blob_id, stored.wrapped_key, stored.key_id,
                            upload.file_uid, current_keyring()) as reader:
        return b"".join(reader)


def _save_upload(principal, found, received: transfer.ReceivedForm):
    data = _read_back(received.upload)
    received.blobs.discard()  # read: the rows are what is kept, never the file
    try:
        read = spreadsheets.read_upload(found.template, received.upload.kind, data, _lang())
    except spreadsheets.UnreadableSheet as error:
        return _render_upload(found, received.form, 400, error.problems)
    _rows, errors = clean_rows(found.template, found.cycle.period, read.rows,
                               document_exists=document_exists(principal), lang=_lang())
    if errors or received.form.dry_run.data:
        return _render_upload(found, received.form, 400 if errors else 200,
                              spreadsheets.sheet_problems(read, errors), checked=len(read.rows))
    try:
        operations.save_draft(principal, found, read.rows, document_exists=document_exists(principal),
                              lang=_lang(), via="upload")
    except (ReturnInvalid, operations.ReportingRefused) as error:
        return _render_upload(found, received.form, 400, [getattr(error, "message", str(error))])
    flash(_("%(n)s rows imported into the draft.", n=len(read.rows)), "success")
    return redirect(url_for("reporting.return_page", cycle_id=found.cycle_id, party=found.owner_party.code))


@bp.route("/cycles/<int:cycle_id>/returns/<party>/upload", methods=["GET", "POST"])
@permission_required("submit_party_return")
def upload(cycle_id, party):
    principal, found = _fillable(cycle_id, party)
    return transfer.upload_page(
        lambda fields: UploadForm(formdata=fields),
        lambda form, status: _render_upload(found, form, status), allowed=SHEET_KINDS,
        record_refusal=lambda refusal: record_refusal(refusal, target="reporting_return",
                                                      object_type="reporting_return", object_id=found.id,
                                                      object_party=found.owner_party.code,
                                                      objectives=[found.template.objective]),
        save=lambda received: _save_upload(principal, found, received))


# The token is checked by documents.transfer when its part arrives: Flask-WTF's check would read request.form
# and so spool the whole file to a temporary file in clear first.
csrf.exempt(upload)


def _consolidated(cycle_id, fmt: str):
    principal = current_principal()
    cycle = queries.get_cycle_or_404(principal, cycle_id)
    result = consolidate(principal, cycle)
    operations.record_export(principal, cycle, "consolidated", format=fmt, used=len(result.basis.used))
    name = f"{cycle.template_code}-{cycle.period}-consolidated.{fmt}"
    if fmt == "xlsx":
        return _attachment(spreadsheets.consolidated_xlsx(result, _lang()), XLSX, name)
    return _attachment(spreadsheets.consolidated_csv(result, _lang()), "text/csv", name)


@bp.post("/cycles/<int:cycle_id>/consolidated.xlsx")
@permission_required("view_reporting")
def consolidated_xlsx(cycle_id):
    return _consolidated(cycle_id, "xlsx")


@bp.post("/cycles/<int:cycle_id>/matrix.pdf")
@permission_required("view_reporting")
def matrix_pdf(cycle_id):
    """The comparative matrix of a matrix template, printable (404 for a table of sums)."""
    principal = current_principal()
    cycle = queries.get_cycle_or_404(principal, cycle_id)
    if cycle.template.table.get("consolidation") != "matrix":
        abort(404)
    result = consolidate(principal, cycle)
    operations.record_export(principal, cycle, "consolidated", format="pdf", used=len(result.basis.used))
    return _attachment(pdf.matrix_pdf(result, _lang()), "application/pdf",
                       f"{cycle.template_code}-{cycle.period}-matrix.pdf")


@bp.post("/cycles/<int:cycle_id>/consolidated.csv")
@permission_required("view_reporting")
def consolidated_csv(cycle_id):
    return _consolidated(cycle_id, "csv")
