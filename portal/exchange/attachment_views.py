"""Files on intelligence-exchange submissions: the upload page, the streamed reads, and their API routes.

Pages (``exchange_intelligence``):
- ``/exchange/<id>/attachments/new`` (GET, POST): the sending party attaches a file while the submission is
  a draft or sent. Anyone else gets 404 (audited), exactly like a submission it cannot see.
- ``/exchange/<id>/attachments/<file>/view|thumbnail|download``: the bytes, to the submission's audience.
- ``/exchange/<id>/attachments/<file>/delete`` (POST): the sending party removes a file from its draft.

API: ``POST /api/v1/submissions/<id>/attachments`` (scope ``exchange:write``) and
``GET /api/v1/submissions/<id>/attachments/<file>`` (scope ``exchange:read``); their OpenAPI description is
at the end. Uploads and downloads go through ``documents.transfer`` (read off the stream and encrypted as
they arrive); a refusal leaves no blob and no row. Every read goes through ``attachments.get_visible`` (the
submission's own scope); invisible and nonexistent both answer 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FileField, TextAreaField
from wtforms.validators import Length, Optional

from auth.tokens import token_required
from documents import transfer
from documents.transfer import stored_file_json
from portal.access import get_visible_or_404, owns, permission_required
from portal.api_errors import api_error as _error
from portal.exchange import api_schemas
from portal.exchange import attachments as files
from portal.exchange.models import Submission
from portal.extensions import csrf, db
from portal.openapi import contribute, error_response, json_content, operation, ref
from portal.principal import current_principal
from portal.routing import MAX_DATABASE_INT, embeddable
from portal.schemas import component_schemas

bp = Blueprint("submission_attachments", __name__)
PERMISSION = files.PERMISSION


class SubmissionAttachmentForm(FlaskForm):
    """Built with explicit ``formdata`` (the fields read off the stream); the CSRF token is checked by
    ``documents.transfer`` when its part arrives."""

    class Meta:
        csrf = False

    caption = TextAreaField(_l("Caption"), validators=[Optional(), Length(max=files.MAX_CAPTION)])
    file = FileField(_l("File"))


class RemoveForm(FlaskForm):
    """The remove button: only its CSRF token."""


# --------------------------------------------------------------------------- template helpers


@bp.app_context_processor
def _helpers():
    def submission_attachments(submission):
        principal = current_principal()
        if principal is None or not principal.can(PERMISSION):
            return []
        return files.attachments_of(submission, principal)

    def can_attach_to_submission(submission) -> bool:
        return files.can_attach(current_principal(), submission)

    return {"submission_attachments": submission_attachments,
            "can_attach_to_submission": can_attach_to_submission,
            "submission_attachment_remove_form": lambda: RemoveForm(formdata=None)}


# --------------------------------------------------------------------------- pages


def _attachable_or_404(submission_id: int) -> Submission:
    submission = get_visible_or_404(Submission, submission_id)
    principal = current_principal()
    if not files.can_attach(principal, submission):
        files.record_denied_attach(submission, files.refusal_reason(principal, submission))
        abort(404)
    return submission


def _render_form(submission, form, status=200):
    return render_template("exchange/new_attachment.html", submission=submission, form=form), status


@bp.route("/exchange/<int:submission_id>/attachments/new", methods=["GET", "POST"])
@permission_required(PERMISSION)
def new(submission_id: int):
    """The upload form (the sending party, draft or sent), and the upload."""
    submission = _attachable_or_404(submission_id)
    return transfer.upload_page(
        lambda fields: SubmissionAttachmentForm(formdata=fields),
        lambda form, status: _render_form(submission, form, status),
        allowed=files.SUBMISSION_KINDS, record_refusal=lambda refusal: files.record_refusal(refusal, submission),
        save=lambda received: _attach(submission, received))


def _attach(submission: Submission, received: transfer.ReceivedForm):
    files.create_attachment(current_principal(), submission, received.upload, caption=received.form.caption.data)
    flash(_("File attached."), "success")
    return redirect(url_for("exchange.detail", submission_id=submission.id) + "#submission-attachments")


def _attachment_or_404(submission_id: int, attachment_id: int):
    item = files.get_visible(attachment_id, current_principal(), submission_id=submission_id)
    if item is None:
        abort(404)
    return item, db.session.get(Submission, item.submission_id)


def _send(submission_id: int, attachment_id: int, variant: str):
    item, submission = _attachment_or_404(submission_id, attachment_id)
    return transfer.send_file(item, tlp=submission.tlp, principal=current_principal(), variant=variant,
                              record_view=lambda watermarked: files.record_view(item, submission, variant=variant,
                                                                                watermarked=watermarked))


@bp.get("/exchange/<int:submission_id>/attachments/<int:attachment_id>/view")
@embeddable
@permission_required(PERMISSION)
def view(submission_id: int, attachment_id: int):
    """The file inline (images) for the viewer, watermarked when the submission's TLP asks."""
    return _send(submission_id, attachment_id, "view")


@bp.get("/exchange/<int:submission_id>/attachments/<int:attachment_id>/thumbnail")
@embeddable
@permission_required(PERMISSION)
def thumbnail(submission_id: int, attachment_id: int):
    """The file's thumbnail (404 for a file without one)."""
    return _send(submission_id, attachment_id, "thumbnail")


@bp.get("/exchange/<int:submission_id>/attachments/<int:attachment_id>/download")
@permission_required(PERMISSION)
def download(submission_id: int, attachment_id: int):
    """The file as a download."""
    return _send(submission_id, attachment_id, "download")


@bp.post("/exchange/<int:submission_id>/attachments/<int:attachment_id>/delete")
@permission_required(PERMISSION)
def remove(submission_id: int, attachment_id: int):
    """The sending party removes a file from its draft (the row goes; ``blobs gc`` removes the blob)."""
    item, submission = _attachment_or_404(submission_id, attachment_id)
    principal = current_principal()
    if not owns(submission, principal):
        files.record_denied_attach(submission, "not_owner")
        abort(404)
    if not RemoveForm().validate_on_submit():
        abort(400)
    try:
        files.remove_attachment(principal, submission, item)
    except files.AttachmentRefused as error:
        flash(error.message, "danger")
        return redirect(url_for("exchange.detail", submission_id=submission.id))
    flash(_("File removed."), "success")
    return redirect(url_for("exchange.detail", submission_id=submission.id) + "#submission-attachments")


# Upload routes read the body themselves and check the CSRF token when its part arrives; Flask-WTF's
# global check would read request.form first, which spools the file to a temporary file in clear.
csrf.exempt(new)


# --------------------------------------------------------------------------- API


def attachment_json(item) -> dict:
    """What the API says of a submission's file."""
    return {"id": item.id, "submission_id": item.submission_id, **stored_file_json(item), "caption": item.caption}


@bp.post("/api/v1/submissions/<int:submission_id>/attachments")
@token_required("exchange:write", permission=PERMISSION, denied_action="exchange.attach", object_type="submission",
                object_arg="submission_id")
def api_upload(submission_id: int):
    """Attach one file to a submission of the token owner's party (draft or sent): 201 with its description."""
    principal = current_principal()
    submission = get_visible_or_404(Submission, submission_id, principal)
    if not files.can_attach(principal, submission):
        reason = files.refusal_reason(principal, submission)
        files.record_denied_attach(submission, reason)
        if reason == "status":
            return _error(409, "status", message=_("Files can be attached only to a draft or a sent submission."))
        return _error(404, "Not Found")
    try:
        received = transfer.receive_api_upload(
            allowed=files.SUBMISSION_KINDS, record_refusal=lambda refusal: files.record_refusal(refusal, submission),
            check_fields=api_schemas.SubmissionAttachmentFields.check_form)
    except transfer.ApiUploadError as refused:
        return _error(refused.status, refused.error, **refused.extra)
    item = files.create_attachment(principal, submission, received.upload, **received.values)
    return transfer.created(attachment_json(item), url_for("submission_attachments.api_download",
                                                           submission_id=submission.id, attachment_id=item.id))


@bp.get("/api/v1/submissions/<int:submission_id>/attachments/<int:attachment_id>")
@token_required("exchange:read", permission=PERMISSION, denied_action="exchange.attachment_view",
                object_type="submission", object_arg="submission_id")
def api_download(submission_id: int, attachment_id: int):
    """The file's bytes, if the token's owner sees the submission (images of AMBER and RED watermarked)."""
    principal = current_principal()
    item = files.get_visible(attachment_id, principal, submission_id=submission_id)
    if item is None:
        return _error(404, "Not Found")
    submission = db.session.get(Submission, item.submission_id)
    return transfer.send_file(item, tlp=submission.tlp, principal=principal, record_view=lambda watermarked: (
        files.record_view(item, submission, variant="download", watermarked=watermarked, via="api")))


for _view in (api_upload, api_download):
    csrf.exempt(_view)


# --- the description of the API routes above, for GET /api/v1/openapi.json ---------------------------

_TAGS = ["exchange"]
_ID = {"type": "integer", "minimum": 0, "maximum": MAX_DATABASE_INT}
_SUBMISSION_ID = {"name": "submission_id", "in": "path", "required": True, "schema": _ID}
contribute(bp.name, schemas=component_schemas(*api_schemas.ATTACHMENT_BODIES), paths={
    "/api/v1/submissions/{submission_id}/attachments": {"post": operation(
        operation_id="uploadSubmissionAttachment", summary="Attach a file to a submission", scope="exchange:write",
        tags=_TAGS,
        description="Only the sending party attaches files, while the submission is a draft or sent (409 "
                    "afterwards). The type is decided from the content (JPEG, PNG, TIFF, PDF); SVG, HTML, "
                    "programs, PDFs with scripts or launch actions and names that disagree with the content are "
                    "refused; image metadata is removed. The file is encrypted as it is received, and is seen by "
                    "exactly the submission's sender and recipients.",
        parameters=[_SUBMISSION_ID],
        request_body={"required": True,
                      "content": {"multipart/form-data": {"schema": ref("SubmissionAttachmentUpload")}}},
        responses={
            "201": {"description": "Stored.", "content": json_content(ref("SubmissionAttachment")),
                    "headers": {"Location": {"description": "The file's URL.", "schema": {"type": "string"}}}},
            "400": error_response("The body is not multipart/form-data."),
            "409": error_response("The submission is no longer a draft or just sent."),
            "413": error_response("The file is larger than the limit.", "UploadRefused"),
            "422": error_response("The file was refused, or a field is invalid: one message per field.",
                                  "UploadRefused"),
        },
        errors=(404,),
    )},
    "/api/v1/submissions/{submission_id}/attachments/{attachment_id}": {"get": operation(
        operation_id="getSubmissionAttachment", summary="Read a submission attachment's bytes",
        scope="exchange:read", tags=_TAGS,
        description="If the token's owner sees the submission (its sender and recipients). Images of TLP:AMBER, "
                    "AMBER+STRICT and RED submissions carry a visible watermark naming the owner's party and name "
                    "and the date.",
        parameters=[_SUBMISSION_ID, {"name": "attachment_id", "in": "path", "required": True, "schema": _ID}],
        responses={"200": {"description": "The file.", "content": {
            "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}},
        errors=(404,),
    )},
})
