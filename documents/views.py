"""Pages of attachments on alerts and of the document library, and the streamed downloads.

Every read goes through the owning record's scope: an attachment through ``visible(Alert)`` (drafts stay
with their party), a library document through ``visible(Document)``. Invisible and nonexistent answer 404.
Upload routes read the body with ``documents.receive`` (never ``request.form``), see there why.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict
from wtforms.validators import ValidationError

from alerts.models import Alert
from portal.access import (
    DistributionError,
    get_changeable_or_404,
    get_visible_or_404,
    owns,
    permission_required,
    visible,
)
from portal.audit.service import record
from portal.distribution import networks, recipient_parties
from portal.extensions import csrf, db
from portal.principal import current_principal

from . import operations
from .forms import LIGHT_CHOICES, SIDE_CHOICES, AttachmentForm, DocumentForm, VersionForm
from .models import Document
from .receive import MalformedUpload, drain_request, receive
from .uploads import ATTACHMENT_KINDS, LIBRARY_KINDS, UploadRefused, limits_from_config
from .watermark import WATERMARKED_TLP

bp = Blueprint("documents", __name__)

SANDBOX_CSP = "sandbox; default-src 'none'"


# --------------------------------------------------------------------------- shared helpers


def content_disposition(disposition: str, filename: str) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''...`` (the display name is already sanitised)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(ch for ch in ascii_name if ch.isprintable() and ch not in '"\\') or "download"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(outgoing: operations.Outgoing, *, filename: str, inline: bool) -> Response:
    """A streamed file with the headers that keep a browser from running, sniffing or caching it."""
    response = Response(outgoing.chunks, mimetype=outgoing.mime_type, direct_passthrough=True)
    if outgoing.length is not None:
        response.content_length = outgoing.length  # a client can tell a cut-off stream from a short file
    response.headers["Content-Disposition"] = content_disposition("inline" if inline else "attachment", filename)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = SANDBOX_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class CsrfRefused(ValueError):
    """The upload form's CSRF token is missing or invalid."""


def check_csrf(fields: MultiDict) -> None:
    """The CSRF check Flask-WTF would do, on the token read off the stream (see ``documents.receive``)."""
    if g.get("upload_csrf_ok") or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(fields.get("csrf_token") or request.headers.get("X-CSRFToken"))
    except ValidationError:
        raise CsrfRefused() from None
    g.upload_csrf_ok = True


def receive_upload(fields: MultiDict, *, allowed, blobs: operations.StoredBlobs, csrf_check=check_csrf):
    """Read the body; the single file part named ``file`` is checked, encrypted and stored.

    Returns the ``ReceivedUpload`` (or None when no file was sent). Raises ``UploadRefused``,
    ``MalformedUpload`` or ``CsrfRefused``, after deleting whatever this request stored.
    """
    received = []

    def on_file(part):
        if part.name != "file" or received:
            raise UploadRefused("unexpected_file", _("Send exactly one file, in the field named file."))
        upload = operations.store_upload(part.chunks(), part.filename, allowed=allowed, blobs=blobs)
        received.append(upload)
        return upload

    try:
        receive(on_file, fields, check_csrf=csrf_check)
    except UploadRefused as refusal:
        blobs.discard()
        if refusal.code != "too_large":
            drain_request()  # so the client reads our answer; bounded by the size limit
        raise
    except BaseException:
        blobs.discard()
        raise
    g.uncommitted_blobs = blobs
    return received[0] if received else None


@bp.teardown_request
def discard_uncommitted_blobs(error):
    """A request that stored blobs but did not commit their rows (a crash, a failed commit) deletes them."""
    blobs = g.pop("uncommitted_blobs", None)
    if blobs is None or not blobs.ids:
        return
    try:
        kept = error is None and set(blobs.ids) <= operations.referenced_blob_ids()
    except SQLAlchemyError:  # a broken session: the rows were certainly not committed
        kept = False
    if not kept:
        blobs.discard()


def _refusal_status(refusal: UploadRefused) -> int:
    return 413 if refusal.code == "too_large" else 400


@dataclass
class ReceivedForm:
    """A multipart form whose file was accepted (and stored encrypted) and whose fields validated."""

    form: object
    upload: object
    blobs: operations.StoredBlobs


def receive_upload_form(make_form, render, *, allowed, record_refusal):
    """Stream a multipart form's file into encrypted storage, then validate the form's other fields.

    ``make_form(fields)`` builds the form from the received fields, ``render(form, status)`` re-renders the
    page, ``record_refusal(refusal)`` audits a refused file. Returns a ``ReceivedForm`` when the file
    and the fields are good; otherwise the page with the error next to the file field, after discarding any
    blob already stored. The caller discards ``blobs`` too if its operation then refuses the input.
    """
    fields, blobs = MultiDict(), operations.StoredBlobs()
    try:
        upload = receive_upload(fields, allowed=allowed, blobs=blobs)
    except UploadRefused as refusal:
        record_refusal(refusal)
        form = make_form(fields)
        form.file.errors = [str(refusal.message)]
        return render(form, _refusal_status(refusal))
    except (MalformedUpload, CsrfRefused):
        form = make_form(fields)
        form.file.errors = [_("The form could not be read. Reload the page and try again.")]
        return render(form, 400)
    form = make_form(fields)
    valid = form.validate()
    if upload is None:
        form.file.errors = [*form.file.errors, _("Choose a file to upload.")]
        valid = False
    if not valid:
        blobs.discard()
        return render(form, 400)
    return ReceivedForm(form, upload, blobs)


def _viewer_name() -> str:
    return current_user.full_name


# --------------------------------------------------------------------------- attachments


@bp.app_context_processor
def _attachment_helpers():
    def alert_attachments(alert):
        principal = current_principal()
        if principal is None or not principal.can("search_alerts"):
            return []
        return operations.attachments_of(alert, principal)

    def can_attach(alert) -> bool:
        principal = current_principal()
        return principal is not None and operations.can_attach(principal, alert)

    def upload_limit_mb() -> str:
        return f"{limits_from_config(current_app.config).max_bytes / 1024 / 1024:g}"

    return {"alert_attachments": alert_attachments, "can_attach": can_attach, "upload_limit_mb": upload_limit_mb,
            "side_labels": {c.value: c.label for c in SIDE_CHOICES},
            "light_labels": {c.value: c.label for c in LIGHT_CHOICES},
            "watermarked_tlp": WATERMARKED_TLP}


def _attachable_alert_or_404(alert_id: int) -> Alert:
    alert = get_visible_or_404(Alert, alert_id)
    if not operations.can_attach(current_principal(), alert):
        record("document.upload", outcome="denied", object_type="alert", object_id=alert.id,
               object_party=alert.owner_party.code, objectives=operations.ALERT_OBJECTIVES,
               details={"reason": "not_owner", "target": "attachment"})
        abort(404)
    return alert


def _attachment_or_404(alert_id: int, attachment_id: int):
    attachment = operations.get_visible_attachment(attachment_id, current_principal(), alert_id=alert_id)
    if attachment is None:
        abort(404)
    return attachment, db.session.get(Alert, attachment.alert_id)


@bp.get("/alerts/<int:alert_id>/attachments")
@permission_required("search_alerts")
def attachments(alert_id: int):
    alert = get_visible_or_404(Alert, alert_id)
    return render_template("documents/attachments.html", alert=alert)


def _render_attachment_form(alert, form, status=200):
    return render_template("documents/new_attachment.html", alert=alert, form=form), status


@bp.route("/alerts/<int:alert_id>/attachments/new", methods=["GET", "POST"])
@permission_required("report_alert")
def new_attachment(alert_id: int):
    alert = _attachable_alert_or_404(alert_id)
    if request.method == "GET":
        return _render_attachment_form(alert, AttachmentForm(formdata=None))
    received = receive_upload_form(
        lambda fields: AttachmentForm(formdata=fields),
        lambda form, status: _render_attachment_form(alert, form, status),
        allowed=ATTACHMENT_KINDS,
        record_refusal=lambda refusal: operations.record_refusal(
            refusal, target="attachment", object_type="alert", object_id=alert.id,
            object_party=alert.owner_party.code))
    if not isinstance(received, ReceivedForm):
        return received  # the page again, with the error
    form, upload = received.form, received.upload
    operations.create_attachment(current_principal(), alert, upload, side=form.side.data, light=form.light.data,
                                 is_genuine_reference=form.is_genuine_reference.data, caption=form.caption.data)
    flash(_("File attached."), "success")
    return redirect(url_for("documents.attachments", alert_id=alert.id))


@bp.get("/alerts/<int:alert_id>/attachments/<int:attachment_id>")
@permission_required("search_alerts")
def attachment(alert_id: int, attachment_id: int):
    item, alert = _attachment_or_404(alert_id, attachment_id)
    return render_template("documents/attachment.html", alert=alert, item=item)


def _send_attachment(alert_id: int, attachment_id: int, variant: str) -> Response:
    item, alert = _attachment_or_404(alert_id, attachment_id)
    thumbnail = variant == "thumbnail"
    if thumbnail and item.thumb_blob_id is None:
        abort(404)
    outgoing = operations.read_file(item, tlp=alert.tlp, principal=current_principal(), viewer_name=_viewer_name(),
                                    thumbnail=thumbnail)
    record("attachment.view", object_type="attachment", object_id=item.id, object_party=alert.owner_party.code,
           objectives=operations.ALERT_OBJECTIVES,
           details={"alert_id": alert.id, "variant": variant, "watermarked": outgoing.watermarked})
    inline = variant != "download" and (thumbnail or item.kind in ("jpeg", "png"))
    filename = item.display_name if not thumbnail else f"thumbnail-{item.id}.jpg"
    return file_response(outgoing, filename=filename, inline=inline)


@bp.get("/alerts/<int:alert_id>/attachments/<int:attachment_id>/view")
@permission_required("search_alerts")
def view_attachment(alert_id: int, attachment_id: int):
    return _send_attachment(alert_id, attachment_id, "view")


@bp.get("/alerts/<int:alert_id>/attachments/<int:attachment_id>/thumbnail")
@permission_required("search_alerts")
def attachment_thumbnail(alert_id: int, attachment_id: int):
    return _send_attachment(alert_id, attachment_id, "thumbnail")


@bp.get("/alerts/<int:alert_id>/attachments/<int:attachment_id>/download")
@permission_required("search_alerts")
def download_attachment(alert_id: int, attachment_id: int):
    return _send_attachment(alert_id, attachment_id, "download")


# --------------------------------------------------------------------------- library


def _lang() -> str:
    return str(get_locale() or "en")[:2]


def _document_form(formdata=None, **kwargs) -> DocumentForm:
    from portal.plan.data import get_objective, objective_codes

    form = DocumentForm(formdata=formdata, **kwargs)
    form.set_choices(recipient_parties(current_principal().party_id), networks())
    form.folder.choices = [(folder.id, folder.name(_lang())) for folder in operations.folders()]
    form.objectives.choices = [(code, f"{code} · {get_objective(code).title(_lang())}") for code in objective_codes()]
    return form


_LIBRARY_FIELDS = {"folder": "folder", "title": "title", "tags": "tags", "objectives": "objectives", "note": "note",
                   "tlp": "tlp", "distribution": "distribution", "parties": "parties", "network": "network"}


def _apply_library_error(form, field: str, message: str) -> None:
    target = getattr(form, _LIBRARY_FIELDS.get(field, ""), None) or form.file
    target.errors = [*target.errors, message]


@bp.get("/library/")
@permission_required("view_library")
def library():
    statement = visible(Document)
    folder_id = request.args.get("folder", type=int)
    if folder_id:
        statement = statement.where(Document.folder_id == folder_id)
    documents = list(db.session.scalars(statement.order_by(Document.updated_at.desc(), Document.id.desc())))
    tag = (request.args.get("tag") or "").strip()
    if tag:  # tags are a small JSON list: filtered here, the same way on SQLite and PostgreSQL
        documents = [doc for doc in documents if tag.lower() in {t.lower() for t in doc.tags}]
    counts: dict[int, int] = {}
    for doc in db.session.scalars(visible(Document)):
        counts[doc.folder_id] = counts.get(doc.folder_id, 0) + 1
    return render_template("documents/library.html", folders=operations.folders(), documents=documents,
                           counts=counts, folder_id=folder_id, tag=tag, lang=_lang())


@bp.route("/library/documents/new", methods=["GET", "POST"])
@permission_required("manage_library")
def new_document():
    if request.method == "GET":
        folder = request.args.get("folder", type=int)
        return _render_document_form(_document_form(folder=folder))
    received = receive_upload_form(
        _document_form, _render_document_form, allowed=LIBRARY_KINDS,
        record_refusal=lambda refusal: operations.record_refusal(
            refusal, target="library_document", object_type="library_document"))
    if not isinstance(received, ReceivedForm):
        return received  # the page again, with the error
    form, upload, blobs = received.form, received.upload, received.blobs
    try:
        document = operations.create_document(
            current_principal(), upload, folder_id=form.folder.data, title=form.title.data,
            description=form.description.data, tlp=form.tlp.data, level=form.distribution.data,
            party_ids=form.parties.data, network_id=form.network.data, tags=form.tags.data,
            objectives=form.objectives.data, note=form.note.data)
    except (operations.LibraryError, DistributionError) as error:
        _apply_library_error(form, error.field, _("This value is not valid."))
        blobs.discard()
        return _render_document_form(form, 400)
    flash(_("Document added to the library."), "success")
    return redirect(url_for("documents.document", document_id=document.id))


def _render_document_form(form, status=200):
    return render_template("documents/new_document.html", form=form), status


@bp.get("/library/documents/<int:document_id>")
@permission_required("view_library")
def document(document_id: int):
    doc = operations.read_document(current_principal(), document_id)
    from portal.plan.data import get_objective

    objectives = [(code, get_objective(code)) for code in doc.objectives]
    return render_template("documents/document.html", doc=doc, versions=operations.versions_of(doc),
                           objectives=objectives, lang=_lang(),
                           is_owner=owns(doc))


def _own_document_or_404(document_id: int) -> Document:
    """A library document of the viewer's party; another party's answers 404 (audited as an upload denied)."""
    return get_changeable_or_404(Document, document_id, action="document.upload", object_type="library_document",
                                 details={"target": "library_version"})


@bp.route("/library/documents/<int:document_id>/versions/new", methods=["GET", "POST"])
@permission_required("manage_library")
def new_version(document_id: int):
    doc = _own_document_or_404(document_id)
    if request.method == "GET":
        return _render_version_form(doc, VersionForm(formdata=None))
    received = receive_upload_form(
        lambda fields: VersionForm(formdata=fields),
        lambda form, status: _render_version_form(doc, form, status),
        allowed=LIBRARY_KINDS,
        record_refusal=lambda refusal: operations.record_refusal(
            refusal, target="library_version", object_type="library_document", object_id=doc.id,
            object_party=doc.owner_party.code))
    if not isinstance(received, ReceivedForm):
        return received  # the page again, with the error
    form, upload = received.form, received.upload
    operations.add_version(current_principal(), doc, upload, note=form.note.data)
    flash(_("New version uploaded."), "success")
    return redirect(url_for("documents.document", document_id=doc.id))


def _render_version_form(doc, form, status=200):
    return render_template("documents/new_version.html", doc=doc, form=form), status


@bp.get("/library/documents/<int:document_id>/versions/<int:number>/download")
@permission_required("view_library")
def download_version(document_id: int, number: int):
    version, outgoing = operations.download_version(current_principal(), document_id, number,
                                                    viewer_name=_viewer_name())
    return file_response(outgoing, filename=version.display_name, inline=False)


# Upload routes read the body themselves and check the CSRF token when its part arrives; Flask-WTF's
# global check would read request.form first, which spools the file to a temporary file in clear.
for _view in (new_attachment, new_document, new_version):
    csrf.exempt(_view)
