"""Machine API for periodic reporting (national statistics systems submit too).

Scopes: ``reporting:read`` for the reads, ``reporting:write`` for replacing a draft and submitting (the
token's owner also needs ``submit_party_return``, for its own party's return only). A return the owner's
party may not see answers 404 (audited), as one that does not exist. Bad cells answer 422 with one message
per bad cell (``rows[3].women``); nothing is stored. The OpenAPI description is at the end of this module.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from auth.tokens import token_required
from portal.api_errors import api_error, invalid_response, not_json_object
from portal.extensions import csrf
from portal.openapi import contribute, json_content, operation, path_id, ref, request_body
from portal.principal import current_principal
from portal.reporting import api_schemas, operations, queries
from portal.reporting.api_schemas import ReturnRows, SubmitRequest
from portal.reporting.consolidation import consolidate
from portal.reporting.serializers import (
    consolidated_json,
    cycle_detail_json,
    cycle_json,
    document_exists,
    return_json,
)
from portal.reporting.validation import ReturnInvalid
from portal.schemas import component_schemas

bp = Blueprint("reporting_api", __name__, url_prefix="/api/v1/reporting")
csrf.exempt(bp)
READ, WRITE, SUBMIT = "reporting:read", "reporting:write", "submit_party_return"


def _body(model):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise not_json_object()
    return model.parse(body)


@bp.get("/cycles")
@token_required(READ, permission="view_reporting", denied_action="reporting.list")
def cycles():
    return jsonify({"cycles": [cycle_json(cycle) for cycle in queries.cycles(current_principal())]})


@bp.get("/cycles/<int:cycle_id>")
@token_required(READ, permission="view_reporting", denied_action="reporting.view")
def cycle(cycle_id: int):
    principal = current_principal()
    return jsonify(cycle_detail_json(principal, queries.get_cycle_or_404(principal, cycle_id)))


@bp.get("/cycles/<int:cycle_id>/returns/<party>")
@token_required(READ, permission="view_reporting", denied_action="reporting.return.view")
def party_return(cycle_id: int, party: str):
    principal = current_principal()
    found = queries.get_return_or_404(principal, queries.get_cycle_or_404(principal, cycle_id), party)
    return jsonify(return_json(principal, found))


@bp.put("/cycles/<int:cycle_id>/returns/<party>")
@token_required(WRITE, permission=SUBMIT, denied_action="reporting.return.edit")
def replace_draft(cycle_id: int, party: str):
    """Replace the draft's rows: every cell checked first, nothing stored while one is bad."""
    principal = current_principal()
    found = queries.get_fillable_or_404(principal, queries.get_cycle_or_404(principal, cycle_id), party)
    rows = _body(ReturnRows).rows
    try:
        operations.save_draft(principal, found, rows, document_exists=document_exists(principal), via="api")
    except ReturnInvalid as error:
        return invalid_response({item.field: item.message for item in error.errors})
    except operations.ReportingRefused as error:
        return api_error(409, error.reason, message=error.message)
    return jsonify(return_json(principal, found))


@bp.post("/cycles/<int:cycle_id>/returns/<party>/submit")
@token_required(WRITE, permission=SUBMIT, denied_action="reporting.return.submit")
def submit(cycle_id: int, party: str):
    principal = current_principal()
    found = queries.get_fillable_or_404(principal, queries.get_cycle_or_404(principal, cycle_id), party)
    _body(SubmitRequest)
    try:
        operations.submit(principal, found, document_exists=document_exists(principal))
    except ReturnInvalid as error:
        return invalid_response({item.field: item.message for item in error.errors})
    except operations.ReportingRefused as error:
        return api_error(409, error.reason, message=error.message)
    return jsonify(return_json(principal, found))


@bp.get("/cycles/<int:cycle_id>/consolidated")
@token_required(READ, permission="view_reporting", denied_action="reporting.consolidated")
def consolidated(cycle_id: int):
    principal = current_principal()
    return jsonify(consolidated_json(consolidate(principal, queries.get_cycle_or_404(principal, cycle_id))))


# --- the description of the routes above, for GET /api/v1/openapi.json -------------------------------

_TAGS = ["reporting"]
_PARTY = {"name": "party", "in": "path", "required": True, "description": "The party's code (GTM).",
          "schema": {"type": "string", "pattern": "^[A-Z]{2,8}$"}}
_RETURN = [path_id("cycle_id"), _PARTY]
_WRITE_NOTE = ("For the token owner's own party, while the return is not submitted (409 once it is, until the "
               "secretariat sends it back). ")

contribute(bp.name, schemas=component_schemas(*api_schemas.REQUESTS, *api_schemas.RESPONSES),
           tags=[{"name": "reporting", "description": "Periodic reporting: cycles, returns, consolidation."}],
           paths={
    "/api/v1/reporting/cycles": {"get": operation(
        operation_id="listReportingCycles", summary="The reporting cycles", scope=READ, tags=_TAGS,
        responses={"200": {"description": "Every cycle, newest period first.",
                           "content": json_content(ref("CycleList"))}},
    )},
    "/api/v1/reporting/cycles/{cycle_id}": {"get": operation(
        operation_id="getReportingCycle", summary="A cycle and each party's status", scope=READ, tags=_TAGS,
        description="The template's columns, the due date and each party's status as the viewer may see it "
                    "(the secretariat: every party; anyone else: its own party and the returns it may see).",
        parameters=[path_id("cycle_id")],
        responses={"200": {"description": "The cycle.", "content": json_content(ref("CycleDetail"))}},
        errors=(404,),
    )},
    "/api/v1/reporting/cycles/{cycle_id}/returns/{party}": {
        "get": operation(
            operation_id="getReturn", summary="A party's return", scope=READ, tags=_TAGS, parameters=_RETURN,
            description="Another party's return is found only once submitted, and only by those it is "
                        "distributed to; they read its latest submitted version.",
            responses={"200": {"description": "The return.", "content": json_content(ref("Return"))}},
            errors=(404,),
        ),
        "put": operation(
            operation_id="putReturn", summary="Replace the draft's rows", scope=WRITE, tags=_TAGS,
            parameters=_RETURN, request_body=request_body(ReturnRows),
            description=_WRITE_NOTE + "Every cell is checked against the cycle's template: 422 with one message "
                                      "per bad cell (`rows[3].women`), nothing stored.",
            responses={"200": {"description": "The draft was replaced.", "content": json_content(ref("Return"))},
                       "409": {"description": "Submitted: not editable.", "content": json_content(ref("Error"))}},
            errors=(400, 404, 422),
        ),
    },
    "/api/v1/reporting/cycles/{cycle_id}/returns/{party}/submit": {"post": operation(
        operation_id="submitReturn", summary="Submit the draft as a new version", scope=WRITE, tags=_TAGS,
        parameters=_RETURN, request_body=request_body(SubmitRequest),
        description=_WRITE_NOTE + "The body is an empty JSON object (`{}`).",
        responses={"200": {"description": "Submitted.", "content": json_content(ref("Return"))},
                   "409": {"description": "Already submitted, or nothing saved.",
                           "content": json_content(ref("Error"))}},
        errors=(400, 404, 422),
    )},
    "/api/v1/reporting/cycles/{cycle_id}/consolidated": {"get": operation(
        operation_id="getConsolidated", summary="The cycle's consolidated table", scope=READ, tags=_TAGS,
        description="Built only from the submitted returns the viewer may see; `used` and `left_out` say which.",
        parameters=[path_id("cycle_id")],
        responses={"200": {"description": "The consolidation.", "content": json_content(ref("Consolidated"))}},
        errors=(404,),
    )},
})
