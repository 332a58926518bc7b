"""Machine API for border systems: check a document, report, read and search alerts, validate an MRZ.

A stable contract, declared in ``alerts.api_schemas`` (pydantic) and described at the end of this module for
``GET /api/v1/openapi.json``. Each handler parses its input (``alerts.serializers``), calls one operation or
search function with the token's principal, and answers JSON. Scopes:

- ``alerts:check``: ``GET /api/v1/alerts/check`` (hit / no hit among published alerts) and
  ``POST /api/v1/alerts/check`` (the same for a manifest of up to 500 documents, one audit entry);
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

from alerts import api_schemas, serializers
from alerts.mrz import parse_mrz
from alerts.operations import AlertValidationError, create_alert, read_alert
from alerts.search import SearchError, check_document, check_documents, search_alerts
from auth.tokens import token_required
from portal.api_errors import invalid_response
from portal.extensions import csrf
from portal.openapi import contribute, json_content, operation, path_id, ref, request_body
from portal.principal import current_principal
from portal.schemas import component_schemas, json_body, query_parameters

bp = Blueprint("alerts_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.errorhandler(SearchError)
def _search_error(error: SearchError):
    return invalid_response(error.errors)


@bp.get("/alerts/check")
@token_required("alerts:check")
def check():
    """Hit / no hit: the published alerts the token's owner may see on this document number."""
    number, state, near = serializers.parse_check_query(request.args)
    result = check_document(current_principal(), number, state, near=near)
    return jsonify(serializers.check_response(result))


@bp.post("/alerts/check")
@token_required("alerts:check", permission="check_alerts", denied_action="alert.check_batch")
def check_batch():
    """A manifest: hit / no hit for each document, in order, as the single check answers it."""
    documents, near = serializers.parse_check_batch(json_body())
    results = check_documents(current_principal(), documents, near=near)
    return jsonify(serializers.check_batch_response(results))


@bp.get("/alerts")
@token_required("alerts:read")
def search():
    """Search by number, MRZ or words, with filters and pages (number matches labelled exact/near/range)."""
    arguments = serializers.parse_search_query(request.args)
    result = search_alerts(current_principal(), arguments.pop("query"), arguments.pop("filters"), **arguments)
    return jsonify(serializers.search_response(result))


@bp.get("/alerts/<int:alert_id>")
@token_required("alerts:read", permission="search_alerts", denied_action="alert.view", object_type="alert",
                object_arg="alert_id")
def detail(alert_id: int):
    """One alert, as its reader may see it; invisible and nonexistent are both 404."""
    principal = current_principal()
    alert = read_alert(principal, alert_id, via="api")
    return jsonify(serializers.alert_detail(alert, principal))


@bp.post("/alerts")
@token_required("alerts:write")
def create():
    """Report an alert (draft, or published with the owner's ``publish_alert``): 201 and its location."""
    principal = current_principal()
    data, errors = serializers.parse_alert_body(json_body())
    if errors and principal.can("report_alert"):
        # Some fields are malformed: nothing is written, but every other bad field is reported too.
        errors = {**serializers.api_field_errors(serializers.validation_errors(principal, data), data), **errors}
        return invalid_response(errors)
    try:
        alert = create_alert(principal, data)  # refuses (403, audited) an owner without report_alert
    except AlertValidationError as exc:
        return invalid_response(serializers.api_field_errors(exc.errors, data))
    response = jsonify({"id": alert.id, "reference": alert.reference})
    response.status_code = 201
    response.headers["Location"] = url_for("alerts_api.detail", alert_id=alert.id)
    return response


@bp.post("/mrz/validate")
@token_required()
def validate_mrz():
    """Parse an MRZ and report every failed check; stores nothing and reads nothing stored."""
    text = serializers.parse_mrz_body(json_body())
    return jsonify(parse_mrz(text).to_dict())



# --- the description of the routes above, for GET /api/v1/openapi.json -------------------------------

_ALERTS = ["alerts"]

contribute(bp.name, tags=[{"name": "alerts", "description": "The early-warning database of fraudulent "
                                                            "travel documents."}],
           schemas=component_schemas(*api_schemas.REQUESTS, *api_schemas.RESPONSES), paths={
    "/api/v1/alerts/check": {"get": operation(
        operation_id="checkDocument", summary="Hit / no hit for one document", scope="alerts:check", tags=_ALERTS,
        description="The published alerts the token's owner may see on exactly this document number (and, when "
                    "the issuing state is given, on series of stolen blanks holding it); with `near=true`, "
                    "also the alerts on look-alike numbers, apart and never counted as a hit. Audited by a "
                    "keyed hash of the number, never the number itself.",
        parameters=query_parameters(api_schemas.CheckQuery),
        responses={"200": {"description": "The answer.", "content": json_content(ref("CheckResult"))}},
        errors=(422,),
    ), "post": operation(
        operation_id="checkDocuments", summary="Hit / no hit for a manifest", scope="alerts:check", tags=_ALERTS,
        description="Up to 500 documents (a passenger manifest): for each, in the order sent and with its "
                    "`index`, exactly what `GET /api/v1/alerts/check` answers for it (series and `near` "
                    "included). Every number and state is validated first: a 422 names each bad one "
                    "(`documents[3].document_number`) and nothing is checked. One audit entry for the whole "
                    "manifest, holding the count, the hits and the numbers sealed.",
        request_body=request_body(api_schemas.CheckBatchRequest),
        responses={"200": {"description": "One answer per document.",
                           "content": json_content(ref("CheckBatchResult"))}},
        errors=(400, 422),
    )},
    "/api/v1/alerts": {
        "get": operation(
            operation_id="searchAlerts", summary="Search alerts", scope="alerts:read", tags=_ALERTS,
            description="Within what the token's owner may see. A number or MRZ search lists exact matches first, "
                        "then near matches (look-alike characters), then series enclosing the number.",
            parameters=query_parameters(api_schemas.SearchQuery),
            responses={"200": {"description": "One page of results.", "content": json_content(ref("SearchResult"))}},
            errors=(422,),
        ),
        "post": operation(
            operation_id="createAlert", summary="Report an alert", scope="alerts:write", tags=_ALERTS,
            description="For the token owner's party, as a draft or published. Every bad field is reported at "
                        "once and nothing is stored. Beyond what this schema states, the server refuses (422, "
                        "naming the field) what depends on other fields, on today's date or on the database: "
                        "a number and a series together, a forgery without its subtype, dates in the future "
                        "(a review date in the past), narratives quoting the number or the holder, recipients "
                        "that do not exist or do not fit the level and TLP.",
            request_body=request_body(api_schemas.AlertInput),
            responses={"201": {"description": "Reported.", "content": json_content(ref("AlertCreated")),
                                "headers": {"Location": {"description": "The alert's URL.",
                                                         "schema": {"type": "string"}}}}},
            errors=(400, 422),
        ),
    },
    "/api/v1/alerts/{alert_id}": {"get": operation(
        operation_id="getAlert", summary="Read one alert", scope="alerts:read", tags=_ALERTS,
        parameters=[path_id("alert_id")],
        responses={"200": {"description": "The alert.", "content": json_content(ref("Alert"))}},
        errors=(404,),
    )},
    "/api/v1/mrz/validate": {"post": operation(
        operation_id="validateMrz", summary="Parse and verify an MRZ", scope=None, tags=_ALERTS,
        description="Any valid token, whatever its scopes: the MRZ sent is checked (ICAO Doc 9303 TD1, TD2, "
                    "TD3, MRV-A, MRV-B: every check digit, the composite and impossible dates), nothing is "
                    "read or stored.",
        request_body=request_body(api_schemas.MrzRequest),
        responses={"200": {"description": "What the MRZ holds and every failed check.",
                           "content": json_content(ref("MrzResult"))}},
        errors=(400, 422),
    )},
})
