"""Machine API for border systems: check a document, report, read and search alerts, validate an MRZ.

A stable contract, described at the end of this module for ``GET /api/v1/openapi.json``. Each handler parses its input (``alerts.serializers``), calls one
operation or search function with the token's principal, and answers JSON. Scopes:

- ``alerts:check``: ``GET /api/v1/alerts/check`` (hit / no hit among published alerts);
- ``alerts:read``: ``GET /api/v1/alerts`` (search) and ``GET /api/v1/alerts/<id>``;
- ``alerts:write``: ``POST /api/v1/alerts``;
- any valid token: ``POST /api/v1/mrz/validate``. It reads no stored data (it only checks the text sent),
  and every kind of border client needs it: a check client to read a passport, a reporting client to
  fill an alert.

A token acts with at most its owner's permissions, so a scope the owner's role does not hold answers 403.
Bad input answers 400 (not a JSON object) or 422 with one message per field; nothing is stored.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _

from alerts import serializers
from alerts.models import Alert
from alerts.mrz import parse_mrz
from alerts.operations import AlertValidationError, create_alert
from alerts.search import SearchError, check_document, search_alerts
from alerts.serializers import InvalidInput
from auth.tokens import token_required
from portal.access import get_visible_or_404
from portal.audit.service import record
from portal.extensions import csrf
from portal.openapi import contribute, json_content, operation, ref
from portal.principal import current_principal

bp = Blueprint("alerts_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _invalid(fields: dict[str, str], status: int = 422):
    response = jsonify({"error": "invalid input", "status": status, "fields": fields})
    response.status_code = status
    return response


@bp.errorhandler(InvalidInput)
def _invalid_input(error: InvalidInput):
    return _invalid(error.fields, error.status)


@bp.errorhandler(SearchError)
def _search_error(error: SearchError):
    return _invalid({key: str(message) for key, message in error.errors.items()})


def _json_body():
    """The request's JSON, or ``InvalidInput`` (400) when it is not JSON."""
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidInput({"body": _("Send a JSON object (Content-Type: application/json).")}, status=400)
    return body


@bp.get("/alerts/check")
@token_required("alerts:check")
def check():
    """Hit / no hit: the published alerts the token's owner may see on this document number."""
    number, state = serializers.parse_check_query(request.args)
    result = check_document(current_principal(), number, state)
    return jsonify(serializers.check_response(result))


@bp.get("/alerts")
@token_required("alerts:read")
def search():
    """Search by number, MRZ or words, with filters and pages (number matches labelled exact/near/range)."""
    arguments = serializers.parse_search_query(request.args)
    result = search_alerts(current_principal(), arguments.pop("query"), arguments.pop("filters"), **arguments)
    return jsonify(serializers.search_response(result))


@bp.get("/alerts/<int:alert_id>")
@token_required("alerts:read")
def detail(alert_id: int):
    """One alert, as its reader may see it; invisible and nonexistent are both 404."""
    principal = current_principal()
    if not principal.can("search_alerts"):
        record("alert.view", outcome="denied", object_type="alert", object_id=alert_id,
               details={"permission": "search_alerts"})
        return jsonify({"error": "Forbidden", "status": 403}), 403
    alert = get_visible_or_404(Alert, alert_id, principal)
    record("alert.view", object_type="alert", object_id=alert.id, object_party=alert.owner_party.code,
           details={"reference": alert.reference, "via": "api"})
    return jsonify(serializers.alert_detail(alert, principal))


@bp.post("/alerts")
@token_required("alerts:write")
def create():
    """Report an alert (draft, or published with the owner's ``publish_alert``): 201 and its location."""
    principal = current_principal()
    data, errors = serializers.parse_alert_body(_json_body())
    if errors and principal.can("report_alert"):
        # Some fields are malformed: nothing is written, but every other bad field is reported too.
        errors = {**serializers.api_field_errors(serializers.validation_errors(principal, data), data), **errors}
        return _invalid(errors)
    try:
        alert = create_alert(principal, data)  # refuses (403, audited) an owner without report_alert
    except AlertValidationError as exc:
        return _invalid(serializers.api_field_errors(exc.errors, data))
    response = jsonify({"id": alert.id, "reference": alert.reference})
    response.status_code = 201
    response.headers["Location"] = url_for("alerts_api.detail", alert_id=alert.id)
    return response


@bp.post("/mrz/validate")
@token_required()
def validate_mrz():
    """Parse an MRZ and report every failed check; stores nothing and reads nothing stored."""
    text = serializers.parse_mrz_body(_json_body())
    return jsonify(parse_mrz(text).to_dict())



# --- the description of the routes above, for GET /api/v1/openapi.json -------------------------------

def _query(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or {"type": "string", "maxLength": serializers.MAX_QUERY}}


_ALERTS = ["alerts"]
_SEARCH_PARAMETERS = [
    _query("q", "A document number (upper case, spaces and dashes ignored), a pasted MRZ, or words "
                "searched in the narratives."),
    _query("issuing_state", "ICAO code of the issuing state or organisation."),
    _query("document_category", "Category code.", {"type": "string", "enum": serializers.ENUMS["document_category"]}),
    _query("fraud_type", "Fraud type code.", {"type": "string", "enum": serializers.ENUMS["fraud_type"]}),
    _query("reporting_party", "Code of the reporting party."),
    _query("detected_from", "Detected on or after (YYYY-MM-DD).", {"type": "string", "format": "date"}),
    _query("detected_to", "Detected on or before (YYYY-MM-DD).", {"type": "string", "format": "date"}),
    _query("status", "Status (revised: published and changed since).",
           {"type": "string", "enum": [*serializers.ENUMS["status"], "revised"]}),
    _query("text", "Words that must all occur in the narratives."),
    _query("sort", "Order of the results.",
           {"type": "string", "enum": ["-detection_date", "detection_date", "reference", "-reference"]}),
    _query("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "maximum": serializers.MAX_PAGE}),
    _query("per_page", "Results per page.", {"type": "integer", "minimum": 1, "maximum": 100}),
]

contribute(bp.name, tags=[{"name": "alerts", "description": "The early-warning database of fraudulent "
                                                            "travel documents."}],
           schemas=serializers.SCHEMAS, paths={
    "/api/v1/alerts/check": {"get": operation(
        operation_id="checkDocument", summary="Hit / no hit for one document", scope="alerts:check", tags=_ALERTS,
        description="The published alerts the token's owner may see on exactly this document number (and, when "
                    "the issuing state is given, on series of stolen blanks holding it). Audited by a keyed "
                    "hash of the number, never the number itself.",
        parameters=[_query("document_number", "The document number.", required=True),
                    _query("issuing_state", "ICAO code of the issuing state or organisation.")],
        responses={"200": {"description": "The answer.", "content": json_content(ref("CheckResult"))}},
        errors=(422,),
    )},
    "/api/v1/alerts": {
        "get": operation(
            operation_id="searchAlerts", summary="Search alerts", scope="alerts:read", tags=_ALERTS,
            description="Within what the token's owner may see. A number or MRZ search lists exact matches first, "
                        "then near matches (look-alike characters), then series enclosing the number.",
            parameters=_SEARCH_PARAMETERS,
            responses={"200": {"description": "One page of results.", "content": json_content(ref("SearchResult"))}},
            errors=(422,),
        ),
        "post": operation(
            operation_id="createAlert", summary="Report an alert", scope="alerts:write", tags=_ALERTS,
            description="For the token owner's party, as a draft or published. Every bad field is reported at "
                        "once and nothing is stored.",
            request_body={"required": True, "content": json_content(ref("AlertInput"))},
            responses={"201": {"description": "Reported.", "content": json_content(ref("AlertCreated")),
                                "headers": {"Location": {"description": "The alert's URL.",
                                                         "schema": {"type": "string"}}}}},
            errors=(400, 422),
        ),
    },
    "/api/v1/alerts/{alert_id}": {"get": operation(
        operation_id="getAlert", summary="Read one alert", scope="alerts:read", tags=_ALERTS,
        parameters=[{"name": "alert_id", "in": "path", "required": True,
                     "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}],
        responses={"200": {"description": "The alert.", "content": json_content(ref("Alert"))}},
        errors=(404,),
    )},
    "/api/v1/mrz/validate": {"post": operation(
        operation_id="validateMrz", summary="Parse and verify an MRZ", scope=None, tags=_ALERTS,
        description="Any valid token, whatever its scopes: the MRZ sent is checked (ICAO Doc 9303 TD1, TD2, "
                    "TD3, MRV-A, MRV-B: every check digit, the composite and impossible dates), nothing is "
                    "read or stored.",
        request_body={"required": True, "content": json_content(ref("MrzRequest"))},
        responses={"200": {"description": "What the MRZ holds and every failed check.",
                           "content": json_content(ref("MrzResult"))}},
        errors=(400, 422),
    )},
})
