"""Machine API for the files on alerts: upload a file to an alert, read one back.

- ``POST /api/v1/alerts/<id>/attachments`` (scope ``alerts:write``; the token owner's party must have
  reported the alert): multipart/form-data with the parts ``side``, ``light``, ``is_genuine_reference``,
  ``caption`` and one ``file``. The body is read off the stream and encrypted as it arrives
  (``documents.transfer``); a refused file answers 413 (too large) or 422 naming the file, and leaves nothing.
- ``GET /api/v1/attachments/<id>`` (scope ``alerts:read``): the bytes, if the token owner sees the alert.
"""

from __future__ import annotations

from flask import Blueprint, url_for

from alerts import api_schemas, attachments
from alerts.models import Alert
from auth.tokens import token_required
from documents import transfer
from documents.transfer import stored_file_json
from documents.uploads import ATTACHMENT_KINDS
from portal.access import get_visible_or_404
from portal.api_errors import api_error
from portal.extensions import csrf, db
from portal.openapi import contribute, error_response, json_content, operation, ref
from portal.principal import current_principal
from portal.schemas import component_schemas

bp = Blueprint("alert_attachments_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.post("/alerts/<int:alert_id>/attachments")
@token_required("alerts:write", permission="report_alert", denied_action="document.upload", object_type="alert",
                object_arg="alert_id")
def upload_attachment(alert_id: int):
    """Attach one file to an alert of the token owner's party: 201 with the stored file's description."""
    principal = current_principal()
    alert = get_visible_or_404(Alert, alert_id, principal)
    if not attachments.can_attach(principal, alert):
        attachments.record_denied_attach(alert)
        return api_error(404, "Not Found")
    try:
        received = transfer.receive_api_upload(
            allowed=ATTACHMENT_KINDS, record_refusal=lambda refusal: attachments.record_refusal(refusal, alert),
            check_fields=api_schemas.AttachmentFields.check_form)
    except transfer.ApiUploadError as refused:
        return api_error(refused.status, refused.error, **refused.extra)
    item = attachments.create_attachment(principal, alert, received.upload, **received.values)
    return transfer.created(attachment_json(item), url_for("alert_attachments_api.attachment", attachment_id=item.id))


def attachment_json(item) -> dict:
    """What the API says of an alert's file."""
    return {"id": item.id, "alert_id": item.alert_id, **stored_file_json(item), "side": item.side,
            "light": item.light, "is_genuine_reference": item.is_genuine_reference}


@bp.get("/attachments/<int:attachment_id>")
@token_required("alerts:read", permission="search_alerts", denied_action="attachment.view", object_type="alert",
                object_arg="attachment_id")
def attachment(attachment_id: int):
    """The file's bytes (images of AMBER and RED alerts watermarked with the token owner's party and name)."""
    principal = current_principal()
    item = attachments.get_visible_attachment(attachment_id, principal)
    if item is None:
        return api_error(404, "Not Found")
    alert = db.session.get(Alert, item.alert_id)
    return transfer.send_file(item, tlp=alert.tlp, principal=principal, record_view=lambda watermarked: (
        attachments.record_view(item, alert, variant="download", watermarked=watermarked, via="api")))


# --- the description of the routes above, for GET /api/v1/openapi.json -------------------------------

_TAGS = ["attachments"]
_ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}

contribute(bp.name, tags=[{"name": "attachments", "description": "Encrypted files on alerts."}], schemas=component_schemas(*api_schemas.ATTACHMENT_BODIES),
           paths={
    "/api/v1/alerts/{alert_id}/attachments": {"post": operation(
        operation_id="uploadAttachment", summary="Attach a file to an alert", scope="alerts:write", tags=_TAGS,
        description="Only the party that reported the alert attaches files. The type is decided from the content "
                    "(JPEG, PNG, TIFF, PDF); SVG, HTML, programs, PDFs with scripts or launch actions and names "
                    "that disagree with the content are refused; image metadata is removed. The file is encrypted "
                    "as it is received.",
        parameters=[{"name": "alert_id", "in": "path", "required": True, "schema": _ID}],
        request_body={"required": True, "content": {"multipart/form-data": {"schema": ref("AttachmentUpload")}}},
        responses={
            "201": {"description": "Stored.", "content": json_content(ref("Attachment")),
                    "headers": {"Location": {"description": "The file's URL.", "schema": {"type": "string"}}}},
            "400": error_response("The body is not multipart/form-data."),
            "413": error_response("The file is larger than the limit.", "UploadRefused"),
            "422": error_response("The file was refused, or a field is invalid: one message per field.",
                                  "UploadRefused"),
        },
        errors=(404,),
    )},
    "/api/v1/attachments/{attachment_id}": {"get": operation(
        operation_id="getAttachment", summary="Read an attachment's bytes", scope="alerts:read", tags=_TAGS,
        description="If the token's owner sees the alert. Images of TLP:AMBER, AMBER+STRICT and RED alerts carry "
                    "a visible watermark naming the owner's party and name and the date.",
        parameters=[{"name": "attachment_id", "in": "path", "required": True, "schema": _ID}],
        responses={"200": {"description": "The file.", "content": {
            "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}},
        errors=(404,),
    )},
})
