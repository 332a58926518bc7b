"""Machine API for intelligence exchange: write, read, list and acknowledge submissions.

Scopes: ``exchange:write`` for ``POST /api/v1/submissions`` and ``.../acknowledge``; ``exchange:read`` for
the reads. The token's owner also needs ``exchange_intelligence``. A submission the owner's party may not
see answers 404 (audited). Bad input answers 400 (not a JSON object) or 422 with one message per field;
nothing is stored. The OpenAPI description is at the end of this module.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _

from auth.tokens import token_required
from portal import MAX_DATABASE_INT
from portal.access import current_principal, get_visible_or_404
from portal.audit.service import record
from portal.exchange import operations
from portal.exchange.markdown import render
from portal.exchange.models import (
    HANDLING_CODES,
    INFORMATION_ACCURACY,
    KINDS,
    SOURCE_RELIABILITY,
    STATUSES,
    Submission,
)
from portal.extensions import csrf, db
from portal.openapi import contribute, json_content, operation, ref

bp = Blueprint("exchange_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
PERMISSION = "exchange_intelligence"
INPUT_FIELDS = ("title", "kind", "summary", "body", "source_reliability", "information_accuracy", "handling_code",
                "handling_restrictions", "tlp", "parties", "networks", "related_alerts", "objectives", "due_date",
                "send")
MAX_PER_PAGE = 100


def _error(status: int, message: str):
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    return response


def _invalid(fields: dict[str, str], status: int = 422):
    response = jsonify({"error": "invalid input", "status": status, "fields": fields})
    response.status_code = status
    return response


def _forbidden(action: str):
    """The token's owner lacks exchange_intelligence (a scope never grants more than the role)."""
    record(action, outcome="denied", details={"permission": PERMISSION})
    return _error(403, "Forbidden")


def _party_codes(ids) -> list[str]:
    return operations.party_codes(ids)


def summary(submission: Submission) -> dict:
    return {
        "id": submission.id, "reference": submission.reference, "kind": submission.kind,
        "title": submission.title, "tlp": submission.tlp, "status": submission.status,
        "from": submission.owner_party.code,
        "sent_at": submission.sent_at.isoformat() + "Z" if submission.sent_at else None,
        "due_date": submission.due_date.isoformat() if submission.due_date else None,
        "overdue": submission.is_overdue(),
    }


def _attachments(submission: Submission, principal) -> list[dict]:
    """The files of the submission, with the API path of their bytes (same audience as the submission)."""
    from portal.exchange.attachments import attachments_of

    return [{"id": item.id, "display_name": item.display_name, "kind": item.kind, "size": item.size,
             "href": url_for("submission_attachments.api_download", submission_id=submission.id,
                             attachment_id=item.id)}
            for item in attachments_of(submission, principal)]


def detail_body(submission: Submission, principal) -> dict:
    is_sender = submission.owner_party_id == principal.party_id
    acks = operations.acknowledgements(submission)
    if not is_sender:
        acks = [ack for ack in acks if ack.party_id == principal.party_id]
    replies = operations.thread(submission, principal)
    return {
        **summary(submission),
        "summary": submission.summary,
        "body": submission.body,
        "body_html": str(render(submission.body)),
        "source_reliability": submission.source_reliability,
        "information_accuracy": submission.information_accuracy,
        "handling_code": submission.handling_code,
        "handling_restrictions": submission.handling_restrictions,
        "recipients": _party_codes(submission.recipient_party_ids),
        "networks": [network.code for network in operations.submission_networks(submission)],
        "objectives": list(submission.objectives or []),
        "related_alerts": [{"id": alert.id, "reference": alert.reference}
                           for alert in operations.related_alerts(submission, principal)],
        "acknowledgements": [{"party": ack.party.code, "user_id": ack.user_id,
                              "at": ack.acknowledged_at.isoformat() + "Z"} for ack in acks],
        "attachments": _attachments(submission, principal),
        "replies": [{
            "id": item.id, "party": item.owner_party.code, "at": item.created_at.isoformat() + "Z",
            "body": item.body, "restricted": item.restricted,
            "audience": _party_codes([item.owner_party_id, *item.recipient_party_ids]),
        } for item in replies],
    }


@bp.post("/submissions")
@token_required("exchange:write")
def create():
    """Write a submission for the token owner's party; sent at once unless ``"send": false`` (a draft)."""
    principal = current_principal()
    if not principal.can(PERMISSION):
        return _forbidden("exchange.create")
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        return _invalid({"body": _("Send a JSON object (Content-Type: application/json).")}, status=400)
    unknown = {key: _("Unknown field.") for key in raw if key not in INPUT_FIELDS}
    send = raw.get("send", True)
    send_error = {} if isinstance(send, bool) else {"send": _("Must be true or false.")}
    try:
        data = operations.clean_submission(principal, raw)
    except operations.SubmissionInvalid as error:
        return _invalid({**error.errors, **send_error, **unknown})
    if unknown or send_error:
        return _invalid({**send_error, **unknown})
    submission = operations.create_submission(g.api_token.user, principal, data, send=send)
    response = jsonify({"id": submission.id, "reference": submission.reference, "status": submission.status})
    response.status_code = 201
    response.headers["Location"] = url_for("exchange_api.detail", submission_id=submission.id)
    return response


@bp.get("/submissions/<int:submission_id>")
@token_required("exchange:read")
def detail(submission_id: int):
    """One submission with the replies and acknowledgements its reader may see."""
    principal = current_principal()
    if not principal.can(PERMISSION):
        return _forbidden("exchange.view")
    submission = get_visible_or_404(Submission, submission_id, principal)
    operations.view(submission, g.api_token.user, via="api")
    return jsonify(detail_body(submission, principal))


@bp.get("/submissions")
@token_required("exchange:read")
def index():
    """The party's inbox (``box=inbox``, the default) or sent box (``box=sent``, drafts included)."""
    principal = current_principal()
    if not principal.can(PERMISSION):
        return _forbidden("exchange.list")
    errors = {}
    box = request.args.get("box", "inbox")
    if box not in ("inbox", "sent"):
        errors["box"] = _("Must be one of: %(choices)s.", choices="inbox, sent")
    page = request.args.get("page", "1")
    per_page = request.args.get("per_page", "20")
    if not (page.isascii() and page.isdigit()) or not 1 <= int(page) <= 100000:
        errors["page"] = _("Must be a whole number from 1.")
    if not (per_page.isascii() and per_page.isdigit()) or not 1 <= int(per_page) <= MAX_PER_PAGE:
        errors["per_page"] = _("Must be a whole number from 1 to %(max)d.", max=MAX_PER_PAGE)
    if errors:
        return _invalid(errors)
    result = db.paginate(operations.box_query(principal, box), page=int(page), per_page=int(per_page),
                         error_out=False)
    unread = operations.unread_ids(principal, [item.id for item in result.items])
    return jsonify({
        "box": box, "page": result.page, "pages": result.pages, "total": result.total,
        "unread": operations.unread_count(principal, box),
        "items": [{**summary(item), "unread": item.id in unread} for item in result.items],
    })


@bp.post("/submissions/<int:submission_id>/acknowledge")
@token_required("exchange:write")
def acknowledge(submission_id: int):
    """The token owner's party acknowledges receipt (once)."""
    principal = current_principal()
    if not principal.can(PERMISSION):
        return _forbidden("exchange.acknowledge")
    submission = get_visible_or_404(Submission, submission_id, principal)
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        return _invalid({"body": _("Send a JSON object (Content-Type: application/json), {} will do.")}, status=400)
    if raw:
        return _invalid({key: _("Unknown field.") for key in raw})
    try:
        ack = operations.acknowledge(submission, g.api_token.user, principal)
    except operations.ExchangeRefused as error:
        status = 409 if error.reason in ("status", "already_acknowledged") else 403
        response = jsonify({"error": error.reason, "status": status, "message": error.message})
        response.status_code = status
        return response
    return jsonify({"id": submission.id, "reference": submission.reference, "status": submission.status,
                    "party": ack.party.code, "at": ack.acknowledged_at.isoformat() + "Z"})


# --- the description of the routes above, for GET /api/v1/openapi.json -------------------------------

_TAGS = ["exchange"]
_ID = [{"name": "submission_id", "in": "path", "required": True,
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_DATABASE_INT}}]
_CODES = {"type": "array", "items": {"type": "string"}}
_SUMMARY_PROPERTIES = {
    "id": {"type": "integer"}, "reference": {"type": "string"}, "kind": {"type": "string", "enum": list(KINDS)},
    "title": {"type": "string"}, "tlp": {"type": "string"}, "status": {"type": "string", "enum": list(STATUSES)},
    "from": {"type": "string", "description": "The sending party's code."},
    "sent_at": {"type": ["string", "null"], "format": "date-time"},
    "due_date": {"type": ["string", "null"], "format": "date"}, "overdue": {"type": "boolean"},
}
SCHEMAS = {
    "SubmissionInput": {
        "type": "object",
        "required": ["title", "kind", "summary", "body", "source_reliability", "information_accuracy",
                     "handling_code", "tlp"],
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "maxLength": operations.MAX_TITLE},
            "kind": {"type": "string", "enum": list(KINDS)},
            "summary": {"type": "string", "maxLength": operations.MAX_SUMMARY},
            "body": {"type": "string", "maxLength": operations.MAX_BODY, "description": "Markdown."},
            "source_reliability": {"type": "string", "enum": list(SOURCE_RELIABILITY)},
            "information_accuracy": {"type": "string", "enum": list(INFORMATION_ACCURACY)},
            "handling_code": {"type": "string", "enum": list(HANDLING_CODES)},
            "handling_restrictions": {"type": ["string", "null"], "maxLength": operations.MAX_RESTRICTIONS,
                                      "description": "Required with handling code `other`."},
            "tlp": {"type": "string", "enum": ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]},
            "parties": {**_CODES, "description": "Recipient party codes (member countries, TS)."},
            "networks": {**_CODES, "description": "Recipient network codes: their member parties receive it."},
            "related_alerts": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_DATABASE_INT},
                               "description": "Ids of alerts the token's owner can see."},
            "objectives": {**_CODES, "description": "Plan objective codes; default by kind."},
            "due_date": {"type": ["string", "null"], "format": "date",
                         "description": "Required for (and only for) a request for information."},
            "send": {"type": "boolean", "default": True, "description": "false: keep it as a draft."},
        },
    },
    "SubmissionCreated": {"type": "object", "required": ["id", "reference", "status"],
                          "properties": {"id": {"type": "integer"}, "reference": {"type": "string"},
                                         "status": {"type": "string"}}},
    "SubmissionSummary": {"type": "object", "properties": {**_SUMMARY_PROPERTIES, "unread": {"type": "boolean"}}},
    "SubmissionList": {"type": "object", "required": ["box", "items"], "properties": {
        "box": {"type": "string", "enum": ["inbox", "sent"]}, "page": {"type": "integer"},
        "pages": {"type": "integer"}, "total": {"type": "integer"},
        "unread": {"type": "integer", "description": "Unread in the whole box, for this user."},
        "items": {"type": "array", "items": ref("SubmissionSummary")}}},
    "Submission": {"type": "object", "properties": {
        **_SUMMARY_PROPERTIES, "summary": {"type": "string"}, "body": {"type": "string"},
        "body_html": {"type": "string", "description": "The body rendered and sanitised."},
        "source_reliability": {"type": "string"}, "information_accuracy": {"type": "string"},
        "handling_code": {"type": "string"}, "handling_restrictions": {"type": ["string", "null"]},
        "recipients": _CODES, "networks": _CODES, "objectives": _CODES,
        "related_alerts": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "reference": {"type": "string"}}}},
        "acknowledgements": {"type": "array", "description": "Every party's for the sender; the own party's "
                             "for a recipient.", "items": {"type": "object", "properties": {
                                 "party": {"type": "string"}, "user_id": {"type": "integer"},
                                 "at": {"type": "string", "format": "date-time"}}}},
        "attachments": {"type": "array", "description": "The submission's files; GET `href` for the bytes.",
                        "items": {"type": "object", "properties": {
                            "id": {"type": "integer"}, "display_name": {"type": "string"},
                            "kind": {"type": "string"}, "size": {"type": "integer"}, "href": {"type": "string"}}}},
        "replies": {"type": "array", "description": "The replies the reader may see.", "items": {
            "type": "object", "properties": {"id": {"type": "integer"}, "party": {"type": "string"},
                                             "at": {"type": "string", "format": "date-time"},
                                             "body": {"type": "string"}, "restricted": {"type": "boolean"},
                                             "audience": _CODES}}},
    }},
    "Acknowledgement": {"type": "object", "properties": {
        "id": {"type": "integer"}, "reference": {"type": "string"}, "status": {"type": "string"},
        "party": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}},
}

contribute(bp.name, schemas=SCHEMAS, tags=[{"name": "exchange", "description": "Intelligence-exchange "
                                                                                "submissions between parties."}],
           paths={
    "/api/v1/submissions": {
        "get": operation(
            operation_id="listSubmissions", summary="Inbox or sent box", scope="exchange:read", tags=_TAGS,
            parameters=[
                {"name": "box", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["inbox", "sent"], "default": "inbox"}},
                {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
                {"name": "per_page", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}},
            ],
            responses={"200": {"description": "One page of the box.", "content": json_content(ref("SubmissionList"))}},
            errors=(422,),
        ),
        "post": operation(
            operation_id="createSubmission", summary="Write and send a submission", scope="exchange:write",
            tags=_TAGS, description="For the token owner's party. Every bad field is reported at once; nothing "
                                    "is stored. Recipients are notified (metadata only for AMBER and RED).",
            request_body={"required": True, "content": json_content(ref("SubmissionInput"))},
            responses={"201": {"description": "Written (and sent unless `send` was false).",
                               "content": json_content(ref("SubmissionCreated")),
                               "headers": {"Location": {"description": "The submission's URL.",
                                                        "schema": {"type": "string"}}}}},
            errors=(400, 422),
        ),
    },
    "/api/v1/submissions/{submission_id}": {"get": operation(
        operation_id="getSubmission", summary="Read one submission", scope="exchange:read", tags=_TAGS,
        parameters=_ID,
        responses={"200": {"description": "The submission.", "content": json_content(ref("Submission"))}},
        errors=(404,),
    )},
    "/api/v1/submissions/{submission_id}/acknowledge": {"post": operation(
        operation_id="acknowledgeSubmission", summary="Acknowledge receipt", scope="exchange:write", tags=_TAGS,
        description="Once per recipient party; 409 when already acknowledged or the submission is closed. "
                    "The body is an empty JSON object (`{}`).",
        parameters=_ID,
        request_body={"required": True, "content": json_content({"type": "object", "maxProperties": 0,
                                                                 "additionalProperties": False})},
        responses={"200": {"description": "Acknowledged.", "content": json_content(ref("Acknowledgement"))},
                   "409": {"description": "Already acknowledged, or not open.", "content": json_content(ref("Error"))}},
        errors=(400, 404, 422),
    )},
})
