"""Machine API for intelligence exchange: write, read, list and acknowledge submissions.

Scopes: ``exchange:write`` for ``POST /api/v1/submissions`` and ``.../acknowledge``; ``exchange:read`` for
the reads. The token's owner also needs ``exchange_intelligence``. A submission the owner's party may not
see answers 404 (audited). Bad input answers 400 (not a JSON object) or 422 with one message per field;
nothing is stored. The OpenAPI description is at the end of this module.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _

from auth.tokens import token_required
from portal.access import get_visible_or_404
from portal.api_errors import api_error, invalid_response, not_json_object
from portal.exchange import api_schemas, operations, queries, validation
from portal.exchange.api_schemas import AcknowledgementRequest, SubmissionInput, SubmissionListQuery
from portal.exchange.markdown import render
from portal.exchange.models import Submission
from portal.extensions import csrf
from portal.openapi import contribute, json_content, operation, path_id, ref, request_body
from portal.principal import current_principal
from portal.schemas import component_schemas, query_parameters

bp = Blueprint("exchange_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
PERMISSION = "exchange_intelligence"


def _json_object(hint: str | None = None) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise not_json_object(hint)
    return body


def _party_codes(ids) -> list[str]:
    return queries.party_codes(ids)


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
    acks = queries.acknowledgements(submission, principal)
    replies = queries.thread(principal, submission)
    return {
        **summary(submission),
        "summary": submission.summary,
        "body": submission.body,
        "body_html": str(render(submission.body, submission.id)),
        "source_reliability": submission.source_reliability,
        "information_accuracy": submission.information_accuracy,
        "handling_code": submission.handling_code,
        "handling_restrictions": submission.handling_restrictions,
        "recipients": _party_codes(submission.recipient_party_ids),
        "networks": [network.code for network in queries.submission_networks(submission)],
        "objectives": list(submission.objectives or []),
        "related_alerts": [{"id": alert.id, "reference": alert.reference}
                           for alert in queries.related_alerts(principal, submission)],
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
@token_required("exchange:write", permission=PERMISSION, denied_action="exchange.create")
def create():
    """Write a submission for the token owner's party; sent at once unless ``"send": false`` (a draft)."""
    principal = current_principal()
    raw = _json_object()
    _shape, errors = SubmissionInput.check(raw)
    try:
        data = validation.clean_submission(principal, raw)
    except validation.SubmissionInvalid as error:
        return invalid_response({**errors, **error.errors})
    if errors:
        return invalid_response(errors)
    submission = operations.create_submission(principal, data, send=raw.get("send", True))
    response = jsonify({"id": submission.id, "reference": submission.reference, "status": submission.status})
    response.status_code = 201
    response.headers["Location"] = url_for("exchange_api.detail", submission_id=submission.id)
    return response


@bp.get("/submissions/<int:submission_id>")
@token_required("exchange:read", permission=PERMISSION, denied_action="exchange.view")
def detail(submission_id: int):
    """One submission with the replies and acknowledgements its reader may see."""
    principal = current_principal()
    submission = queries.read_submission(principal, submission_id, via="api")
    return jsonify(detail_body(submission, principal))


@bp.get("/submissions")
@token_required("exchange:read", permission=PERMISSION, denied_action="exchange.list")
def index():
    """The party's inbox (``box=inbox``, the default) or sent box (``box=sent``, drafts included)."""
    principal = current_principal()
    query = SubmissionListQuery.from_args(request.args)
    result = queries.read_box(principal, query.box, query.page, query.per_page, via="api")
    unread = queries.unread_ids(principal, [item.id for item in result.items])
    return jsonify({
        "box": query.box, "page": result.page, "pages": result.pages, "total": result.total,
        "unread": queries.unread_count(principal, query.box),
        "items": [{**summary(item), "unread": item.id in unread} for item in result.items],
    })


@bp.post("/submissions/<int:submission_id>/acknowledge")
@token_required("exchange:write", permission=PERMISSION, denied_action="exchange.acknowledge")
def acknowledge(submission_id: int):
    """The token owner's party acknowledges receipt (once)."""
    principal = current_principal()
    submission = get_visible_or_404(Submission, submission_id, principal)
    AcknowledgementRequest.parse(_json_object(_("Send a JSON object (Content-Type: application/json), {} will do.")))
    try:
        ack = operations.acknowledge(principal, submission)
    except operations.ExchangeRefused as error:
        status = 409 if error.reason in ("status", "already_acknowledged") else 403
        return api_error(status, error.reason, message=error.message)
    return jsonify({"id": submission.id, "reference": submission.reference, "status": submission.status,
                    "party": ack.party.code, "at": ack.acknowledged_at.isoformat() + "Z"})


# --- the description of the routes above, for GET /api/v1/openapi.json -------------------------------

_TAGS = ["exchange"]
_ID = [path_id("submission_id")]

contribute(bp.name, schemas=component_schemas(*api_schemas.REQUESTS, *api_schemas.RESPONSES),
           tags=[{"name": "exchange", "description": "Intelligence-exchange submissions between parties."}],
           paths={
    "/api/v1/submissions": {
        "get": operation(
            operation_id="listSubmissions", summary="Inbox or sent box", scope="exchange:read", tags=_TAGS,
            parameters=query_parameters(SubmissionListQuery),
            responses={"200": {"description": "One page of the box.", "content": json_content(ref("SubmissionList"))}},
            errors=(422,),
        ),
        "post": operation(
            operation_id="createSubmission", summary="Write and send a submission", scope="exchange:write",
            tags=_TAGS, description="For the token owner's party. Every bad field is reported at once; nothing "
                                    "is stored. Recipients are notified (metadata only for AMBER and RED). Beyond "
                                    "what this schema states, the server refuses (422, naming the field) what "
                                    "depends on other fields, on today's date or on the database: recipients the "
                                    "sender may not address, alerts it cannot see, restrictions missing for "
                                    "handling code `other`, a due date missing for a request for information, "
                                    "given for anything else, or in the past.",
            request_body=request_body(SubmissionInput),
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
        request_body=request_body(AcknowledgementRequest),
        responses={"200": {"description": "Acknowledged.", "content": json_content(ref("Acknowledgement"))},
                   "409": {"description": "Already acknowledged, or not open.", "content": json_content(ref("Error"))}},
        errors=(400, 404, 422),
    )},
})
