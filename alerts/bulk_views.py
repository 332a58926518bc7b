"""Pages for bulk import and export of alerts (blueprint ``alert_bulk``, under ``/alerts/bulk``).

Import is two steps. The upload is read off the request stream (``documents.transfer.receive_file``:
Werkzeug's form parser would spool it to a temporary file in clear, and an import holds document numbers), encrypted
into the blob store as it arrives, then decrypted chunk by chunk for the dry run. The report page lists
the bad rows (the first ``bulk.MAX_REPORTED_ROWS``; beyond them the upload is kept, encrypted, for an hour
and a CSV of every bad row is made from it on request); a clean file gets a confirmation form whose signed token (valid one hour, for this user
only) names the encrypted upload. Confirming decrypts it again and checks every row once more (a refusal
answers 400 with the report), then streams the import's page: a progress bar that grows after each stored
batch, then the result. The storing runs while the page streams, in its own transaction, all or nothing
(a failure, or a lost connection noticed at a step before the commit, rolls it back whole), then the upload
is deleted. No script
is needed: each step is a new ``<progress>`` element and the stylesheet shows only the last one (strict
CSP, nothing inline). Cancelling deletes the upload; an abandoned one is removed by ``blobs gc`` after an
hour (no row references it).

Export: a summary page for the current search (how many alerts, how many RED or AMBER+STRICT left out)
and the CSV / JSON downloads (``Cache-Control: no-store``, ``Content-Disposition: attachment``).
"""

from __future__ import annotations

import base64
import secrets

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    has_app_context,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, SubmitField
from wtforms.validators import DataRequired

from alerts import bulk
from alerts.bulk import ImportFileError, ImportRefused
from alerts.export import ExportRefused, export_chunks, plan_export
from alerts.forms import SearchForm
from alerts.operations import AlertForbidden
from alerts.search import SearchError
from alerts.validation import AlertValidationError
from documents.files import StoredBlobs
from documents.receive import MalformedUpload
from documents.service import decrypt_from_store, encrypt_to_store
from documents.storage import BlobNotFound, current_blob_store
from documents.transfer import CsrfRefused, receive_file
from documents.uploads import UploadRefused
from portal.access import permission_required
from portal.extensions import csrf, db
from portal.keyring import current_keyring
from portal.principal import current_principal
from portal.timeutil import utcnow

bp = Blueprint("alert_bulk", __name__, url_prefix="/alerts/bulk")

PENDING_MAX_AGE = 3600  # seconds a checked upload waits for confirmation (blobs gc removes it after that)


class ImportForm(FlaskForm):
    """Only the CSRF token and the button: the file part is read off the stream, not by WTForms."""

    class Meta:
        csrf = False  # checked when the file part arrives (see upload())

    submit = SubmitField(_l("Check the file (dry run)"))


class ConfirmForm(FlaskForm):
    pending = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Import the alerts"))
    cancel = SubmitField(_l("Cancel"))


class FullReportForm(FlaskForm):
    """Download every bad row of a dry run whose page lists only the first ``bulk.MAX_REPORTED_ROWS``."""

    pending = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Download every bad row (CSV)"))


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="alert_bulk.pending_import")


def _pending_token(stored, file_id: str, fmt: str) -> str:
    return _signer().dumps({"u": current_principal().user_id, "b": stored.blob_id, "f": file_id, "fmt": fmt,
                            "k": base64.b64encode(stored.wrapped_key).decode(), "i": stored.key_id})


def _read_pending(token: str | None) -> dict | None:
    """The pending upload named by a confirmation token, if it is this user's and not expired."""
    try:
        pending = _signer().loads(token or "", max_age=PENDING_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(pending, dict) or pending.get("u") != current_principal().user_id:
        return None
    return pending


def _opener(pending: dict):
    """A callable giving the decrypted chunks of the pending upload (read once per pass)."""
    store, ring = current_blob_store(), current_keyring()
    wrapped = base64.b64decode(pending["k"])

    def chunks():
        with decrypt_from_store(store, pending["b"], wrapped, pending["i"], pending["f"], ring) as reader:
            yield from reader

    return chunks


def _discard(pending: dict) -> None:
    current_blob_store().delete(pending["b"])


def _render_upload(errors=(), status=200):
    return render_template("alerts/import.html", form=ImportForm(formdata=None), errors=list(errors),
                           limits=bulk.limits()), status


def _import_storer(file_id: str, max_bytes: int, blobs: StoredBlobs):
    """How ``receive_file`` stores an import: a .csv or .json name, encrypted up to the import's size limit."""

    def store(part):
        fmt = bulk.guess_format(part.filename)
        if fmt is None:
            raise UploadRefused("type", _("Choose a .csv or .json file."))
        try:
            stored = encrypt_to_store(current_blob_store(), bulk._limited(part.chunks(), max_bytes), file_id,
                                      current_keyring())
        except ImportFileError as error:  # larger than the import limit: refused like any upload
            raise UploadRefused("import_file", error.message) from None
        blobs.add(stored.blob_id)
        return stored, fmt

    return store


@bp.get("/import")
@permission_required("report_alert")
def import_page():
    """The upload form, with the format described."""
    return _render_upload()


@bp.post("/import")
@permission_required("report_alert")
def upload():
    """Store the upload encrypted as it streams in, then check every row (dry run) and show the report."""
    principal = current_principal()
    max_bytes, max_rows = bulk.limits()
    file_id = f"alert-import:{principal.user_id}:{secrets.token_hex(12)}"
    blobs = StoredBlobs()
    try:
        received = receive_file(MultiDict(), _import_storer(file_id, max_bytes, blobs), blobs=blobs)
    except UploadRefused as refusal:
        return _render_upload([str(refusal)], 400)
    except (MalformedUpload, CsrfRefused):
        return _render_upload([_("The upload could not be read. Please try again.")], 400)
    if received is None:
        return _render_upload([_("Choose a file.")], 400)
    stored, fmt = received
    pending = {"b": stored.blob_id, "f": file_id, "k": base64.b64encode(stored.wrapped_key).decode(),
               "i": stored.key_id}
    report = bulk.dry_run(principal, _opener(pending)(), fmt, max_bytes=max_bytes, max_rows=max_rows)
    if not report.ok:
        full_report = None
        if report.unreported:
            # Kept (encrypted, as for a confirmation) so the full report can be made from it; removed by
            # blobs gc after PENDING_MAX_AGE like any upload nobody confirms.
            full_report = FullReportForm(formdata=None, pending=_pending_token(stored, file_id, fmt))
            blobs.keep()
        else:
            blobs.discard()
        return render_template("alerts/import_report.html", report=report, confirm=None,
                               full_report=full_report), 200
    confirm = ConfirmForm(formdata=None, pending=_pending_token(stored, file_id, fmt))
    blobs.keep()  # pending confirmation: deleted on confirm or cancel, else by blobs gc
    return render_template("alerts/import_report.html", report=report, confirm=confirm)


@bp.post("/import/confirm")
@permission_required("report_alert")
def confirm():
    """Run the real import of a checked upload (or cancel it); all or nothing."""
    form = ConfirmForm()
    pending = _read_pending(form.pending.data) if form.validate_on_submit() else None
    if pending is None:
        flash(_("This import has expired or is not yours. Upload the file again."), "warning")
        return redirect(url_for("alert_bulk.import_page"))
    if form.cancel.data:
        _discard(pending)
        flash(_("The import was cancelled; the uploaded file has been deleted."), "info")
        return redirect(url_for("alert_bulk.import_page"))
    principal = current_principal()
    try:
        report = bulk.check_before_import(principal, _opener(pending), pending["fmt"])
    except BlobNotFound:
        flash(_("This import has expired or is not yours. Upload the file again."), "warning")
        return redirect(url_for("alert_bulk.import_page"))
    except ImportRefused as refused:
        _discard(pending)
        return render_template("alerts/import_report.html", report=refused.report, confirm=None,
                               refused=True), 400
    # From here the page streams; the alerts are stored while it does (see _import_page). The page around
    # the progress is rendered now, while the request's session still holds the signed-in user: by the
    # time the stream runs, the request has committed and its objects are gone (a real server showed it).
    head, tail = render_template("alerts/import_running.html", total=report.valid).split(PROGRESS_MARK)
    response = Response(stream_with_context(_import_page(principal, pending, report, head, tail)),
                        mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy must pass each step on, not hold the page
    return response


@bp.post("/import/report.csv")
@permission_required("report_alert")
def full_report():
    """Every bad row of a checked upload as CSV: the file is checked again (audited as a dry run)."""
    form = FullReportForm()
    pending = _read_pending(form.pending.data) if form.validate_on_submit() else None
    problems = []
    try:
        if pending is not None:
            max_bytes, max_rows = bulk.limits()
            bulk.dry_run(current_principal(), _opener(pending)(), pending["fmt"], max_bytes=max_bytes,
                         max_rows=max_rows, on_problem=problems.append)
    except BlobNotFound:
        pending = None
    if pending is None:
        flash(_("This report has expired or is not yours. Upload the file again."), "warning")
        return redirect(url_for("alert_bulk.import_page"))
    response = Response(bulk.report_csv(problems), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=import-problems.csv"
    response.headers["Cache-Control"] = "no-store"
    return response


PROGRESS_MARK = "<!-- import progress -->"


def _import_page(principal, pending: dict, report, head: str, tail: str):
    """The confirmed import's page, streamed: a progress bar per stored batch, then the result.

    The request's own commit has run by now (``portal.transaction``): this generator is the import's
    transaction and commits it itself, or rolls it back whole if anything fails (a row refused, the upload
    gone, the server noticing at a step that the reader closed the page: nothing is stored), then deletes
    the upload.
    """
    yield head
    yield render_template("alerts/_import_step.html", done=0, total=report.valid)
    counts, failure, committed = None, None, False
    batches = bulk.import_batches(principal, bulk.file_rows(_opener(pending), pending["fmt"]))
    try:
        for counts in batches:
            yield render_template("alerts/_import_step.html", done=counts.imported, total=report.valid)
        db.session.commit()
        committed = True
    except (AlertValidationError, AlertForbidden) as error:
        failure = _("Row %(item)s was refused while importing; nothing was stored.", item=getattr(error, "item", "?"))
    except BlobNotFound:
        failure = _("This import has expired or is not yours. Upload the file again.")
    except Exception:
        current_app.logger.exception("alert import failed")
        failure = _("The import failed; nothing was stored.")
    finally:
        if not committed:  # also when the reader left (GeneratorExit at a yield)
            batches.close()
            db.session.rollback()
        try:
            _discard(pending)
        except BlobNotFound:
            pass
    yield render_template("alerts/_import_result.html", counts=None if failure else counts, failure=failure,
                          party_code=principal.party_code)
    yield tail


csrf.exempt(upload)


# --- export -------------------------------------------------------------------------------------------

def _search_arguments() -> tuple[SearchForm, str, dict, str | None]:
    form = SearchForm(request.args)
    form.set_choices()
    return form, (form.q.data or ""), form.filters(), (request.args.get("tlp") or None)


def _named_errors(form: SearchForm, errors: dict[str, str]) -> list[str]:
    """Each filter's error after the filter's label, so the page says which filter was refused."""
    return [f"{form[name].label.text}: {message}" if name in form else str(message) for name, message in errors.items()]


@bp.get("/export")
@permission_required("search_alerts")
def export_page():
    """What an export of the current search holds, and how many restricted alerts it leaves out."""
    form, query, filters, tlp = _search_arguments()
    try:
        plan = plan_export(current_principal(), query, filters, tlp)
    except SearchError as error:
        return render_template("alerts/export.html", plan=None, errors=_named_errors(form, error.errors),
                               args={}), 422
    except ExportRefused as refused:
        return render_template("alerts/export.html", plan=None, errors=[refused.description], args={}), 403
    args = {key: value for key, value in request.args.items() if value and key != "page"}
    return render_template("alerts/export.html", plan=plan, errors=[], args=args, form=form)


def _download(fmt: str):
    _form, query, filters, tlp = _search_arguments()
    try:
        plan = plan_export(current_principal(), query, filters, tlp)
    except SearchError as error:
        return {"error": "invalid input", "fields": {k: str(v) for k, v in error.errors.items()}}, 422
    chunks = export_chunks(plan, fmt)  # audited now, committed by the request before the body streams
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    name = f"alerts-{utcnow():%Y%m%d-%H%M%S}.{fmt}"
    app = current_app._get_current_object()

    def body():
        # The server pulls the body after the request context is gone (its commit wrote the audit entry):
        # read the alerts in an application context of our own (its own database session), unless one
        # is still active (a test client).
        if has_app_context():
            yield from chunks
            return
        with app.app_context():
            yield from chunks

    response = Response(body(), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Alerts-Exported"] = str(plan.count)
    response.headers["X-Alerts-Excluded-Restricted"] = str(plan.excluded_restricted)
    return response


@bp.post("/export.csv")
@permission_required("search_alerts")
def export_csv():
    """The current search's exportable alerts as CSV (the import format)."""
    return _download("csv")


@bp.post("/export.json")
@permission_required("search_alerts")
def export_json():
    """The current search's exportable alerts as JSON (the import format)."""
    return _download("json")


