"""Machine API for hit confirmations (the border systems' side of ``alerts.confirmation_views``).

- ``POST /api/v1/alerts/<id>/confirmations`` (scope ``alerts:check``): ask the reporting party of a visible
  alert to confirm a hit; 201 ``{"id", "status": "pending", "due_at"}``.
- ``POST /api/v1/confirmations/<id>/answer`` (scope ``alerts:write``): the reporting party's answer.
- ``GET /api/v1/confirmations/<id>`` (a token with ``alerts:check`` or ``alerts:write``): the request, for
  its two parties only; everyone else gets 404.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for

from alerts import api_schemas
from alerts.confirmation_operations import (
    ConfirmationError,
    answer_confirmation,
    number_match,
    read_confirmation,
    request_confirmation,
)
from alerts.confirmations import HitConfirmation
from alerts.models import Alert
from auth.tokens import token_required
from portal.api_errors import invalid_response
from portal.extensions import csrf, db
from portal.openapi import contribute, json_content, operation, path_id, ref, request_body
from portal.principal import current_principal
from portal.schemas import component_schemas, json_body

bp = Blueprint("confirmations_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.errorhandler(ConfirmationError)
def _invalid(error: ConfirmationError):
    return invalid_response(error.errors)


def _iso(value):
    return value.isoformat() if value is not None else None


def confirmation_json(confirmation: HitConfirmation) -> dict:
    """The request as its parties see it (the ``Confirmation`` schema)."""
    alert = db.session.get(Alert, confirmation.alert_id)
    return {"id": confirmation.id, "alert_id": alert.id, "alert_reference": alert.reference,
            "requesting_party": confirmation.requester_party.code,
            "reporting_party": confirmation.reporting_party.code, "status": confirmation.status,
            "overdue": confirmation.is_overdue(), "document_number": confirmation.document_number,
            "number_match": number_match(alert, confirmation.document_number), "place": confirmation.place,
            "note": confirmation.note, "requested_at": _iso(confirmation.requested_at),
            "due_at": _iso(confirmation.due_at), "response_minutes": confirmation.response_minutes,
            "answered_at": _iso(confirmation.answered_at), "answer_note": confirmation.answer_note}


@bp.post("/alerts/<int:alert_id>/confirmations")
@token_required("alerts:check", permission="request_hit_confirmation", denied_action="confirmation.request",
                object_type="alert", object_arg="alert_id")
def request_hit_confirmation(alert_id: int):
    """Ask the reporting party to confirm a hit: 201 with the request's id, status and due time."""
    body = api_schemas.ConfirmationRequest.parse_json(json_body())
    confirmation = request_confirmation(current_principal(), alert_id, document_number=body.document_number,
                                        place=body.place, note=body.note)
    response = jsonify({"id": confirmation.id, "status": confirmation.status, "due_at": _iso(confirmation.due_at)})
    response.status_code = 201
    response.headers["Location"] = url_for("confirmations_api.confirmation", confirmation_id=confirmation.id)
    return response


@bp.post("/confirmations/<int:confirmation_id>/answer")
@token_required("alerts:write", permission="answer_hit_confirmation", denied_action="confirmation.answer",
                object_type="hit_confirmation", object_arg="confirmation_id")
def answer(confirmation_id: int):
    """The reporting party's answer (confirmed, not_confirmed, more_information)."""
    body = api_schemas.ConfirmationAnswer.parse_json(json_body())
    confirmation = answer_confirmation(current_principal(), confirmation_id, answer=body.answer, note=body.note)
    return jsonify(confirmation_json(confirmation))


@bp.get("/confirmations/<int:confirmation_id>")
@token_required()
def confirmation(confirmation_id: int):
    """One request, for the requesting and the reporting party (404 for everyone else)."""
    return jsonify(confirmation_json(read_confirmation(current_principal(), confirmation_id, via="api")))


# --- the description of the routes above, for GET /api/v1/openapi.json -------------------------------

_TAGS = ["confirmations"]

contribute(bp.name, tags=[{"name": "confirmations", "description": "Hit confirmations: a party with a hit asks "
                                                                   "the reporting party to confirm it."}],
           schemas=component_schemas(*api_schemas.CONFIRMATION_BODIES), paths={
    "/api/v1/alerts/{alert_id}/confirmations": {"post": operation(
        operation_id="requestHitConfirmation", summary="Ask the reporting party to confirm a hit",
        scope="alerts:check", tags=_TAGS,
        description="On a published alert the token's owner may see, reported by another party. Due within the "
                    "reporting party's response time (60 minutes unless its country administrator set another); "
                    "its liaison officers and country administrators are told at once. The document number is "
                    "stored encrypted and never audited. Beyond the schema, the server refuses (422 naming "
                    "`alert`) an alert of the token owner's own party or one no longer published.",
        parameters=[path_id("alert_id")], request_body=request_body(api_schemas.ConfirmationRequest),
        responses={"201": {"description": "Requested.", "content": json_content(ref("ConfirmationCreated")),
                           "headers": {"Location": {"description": "The request's URL.",
                                                    "schema": {"type": "string"}}}}},
        errors=(400, 404, 422),
    )},
    "/api/v1/confirmations/{confirmation_id}/answer": {"post": operation(
        operation_id="answerHitConfirmation", summary="Answer a hit confirmation request", scope="alerts:write",
        tags=_TAGS, description="The reporting party only (the requesting party is refused with 403, anyone else "
                                "gets 404). The officer who asked is told. Beyond the schema, the server refuses (422) a "
                                "request already answered for good (`answer`) and `more_information` "
                                "without a `note`.",
        parameters=[path_id("confirmation_id")], request_body=request_body(api_schemas.ConfirmationAnswer),
        responses={"200": {"description": "Answered.", "content": json_content(ref("Confirmation"))}},
        errors=(400, 403, 404, 422),
    )},
    "/api/v1/confirmations/{confirmation_id}": {"get": operation(
        operation_id="getHitConfirmation", summary="Read a hit confirmation request", scope=None, tags=_TAGS,
        description="For the members of the requesting and the reporting party whose token carries "
                    "`alerts:check` or `alerts:write`; everyone else, observers and the secretariat included, "
                    "gets 404.",
        parameters=[path_id("confirmation_id")],
        responses={"200": {"description": "The request.", "content": json_content(ref("Confirmation"))}},
        errors=(404,),
    )},
})
