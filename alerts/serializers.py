"""The JSON of the alerts API: reading a request (declared in ``alerts.api_schemas``), writing alerts out.

The pydantic models check the input's *shape*; what the values mean is checked by ``alerts.validation.clean``
through the operations. Both kinds of error come back together, one message per field, with the
distribution's parts named ``distribution.level``, ``distribution.parties`` and ``distribution.network``.

Output never goes beyond what the viewer may see: search results carry no encrypted field (a client asks
for the detail), and only the reporting party learns which parties or network an alert was sent to.
"""

from __future__ import annotations

from datetime import date, datetime

from alerts.api_schemas import AlertInput, CheckBatchRequest, CheckQuery, MrzRequest, SearchQuery
from alerts.models import Alert
from alerts.operations import CONTENT_FIELDS, as_read_by, snapshot, validate_alert
from alerts.search import FILTER_KEYS, CheckResult, SearchResult
from alerts.validation import AlertValidationError
from portal.api_errors import InvalidInput, not_json_object
from portal.principal import Principal

__all__ = ["InvalidInput"]

# The fields of POST /api/v1/alerts in the order of the import and export files' columns.
LIST_FIELDS = ("route", "security_features", "objectives")
TEXT_FIELDS = tuple(name for name in CONTENT_FIELDS if name not in LIST_FIELDS) + ("status", "tlp")
OBJECT_FIELDS = ("distribution",)
BODY_FIELDS = TEXT_FIELDS + LIST_FIELDS + OBJECT_FIELDS
assert set(BODY_FIELDS) == set(AlertInput.model_fields), "AlertInput declares every field of an alert"
# clean() names the distribution's parts by their own names; the API names them inside the object.
_DISTRIBUTION_ERRORS = {"distribution": "distribution.level", "parties": "distribution.parties",
                        "network": "distribution.network"}


def _absent(body: dict, name: str) -> bool:
    """Whether the (dotted) field ``name`` is missing or null in ``body``."""
    value = body
    for part in name.split("."):
        if not isinstance(value, dict) or value.get(part) is None:
            return True
        value = value[part]
    return False


def parse_alert_body(body) -> tuple[dict, dict[str, str]]:
    """The fields of a POST /api/v1/alerts body whose shape is right, and a message per bad field.

    A missing or null field is left to ``clean()``, which words what each required field needs.
    """
    if not isinstance(body, dict):
        raise not_json_object()
    _model, shape_errors = AlertInput.check(body)
    errors = {name: message for name, message in shape_errors.items()
              if name.split(".")[0] not in AlertInput.model_fields or not _absent(body, name)}
    data: dict = {}
    for key, value in body.items():
        if key in AlertInput.model_fields and value is not None and key not in errors:
            if isinstance(value, dict):  # the distribution: its well-shaped parts
                value = {part: item for part, item in value.items()
                         if item is not None and f"{key}.{part[:40]}" not in errors}
            data[key] = value
    return data, errors


def validation_errors(principal: Principal, data: dict, lookup=None) -> dict[str, str]:
    """What ``create_alert`` would refuse in ``data``, without writing anything (not even a reference).

    ``lookup``: a ``validation.RecipientLookup`` shared by the rows of one file.
    """
    try:
        validate_alert(data, principal.party_id, lookup=lookup)  # the operation's own checks, MRZ pre-fill included
    except AlertValidationError as exc:
        return exc.errors
    return {}


def api_field_errors(errors: dict[str, str], data: dict) -> dict[str, str]:
    """``clean()``'s errors named as the API's fields (the distribution's parts inside ``distribution``)."""
    named = {}
    for key, message in errors.items():
        if key in _DISTRIBUTION_ERRORS and not (key == "distribution" and "distribution" not in data):
            key = _DISTRIBUTION_ERRORS[key]
        named.setdefault(key, str(message))
    return named


# --- query strings ------------------------------------------------------------------------------------

def parse_check_query(args) -> tuple[str, str | None, bool]:
    """``(document_number, issuing_state, near)`` of a check request; ``InvalidInput`` names each bad one."""
    query = CheckQuery.from_args(args)
    return query.document_number.strip(), query.issuing_state or None, query.near == "true"


def parse_check_batch(body) -> tuple[list[tuple[str, str | None]], bool]:
    """``([(document_number, issuing_state), ...], near)`` of a manifest; ``InvalidInput`` names each bad one
    (``documents[3].document_number``). The numbers and states are validated by ``check_documents``."""
    batch = CheckBatchRequest.parse_json(body)
    return [(doc.document_number.strip(), doc.issuing_state or None) for doc in batch.documents], batch.near


def parse_search_query(args) -> dict:
    """Keyword arguments for ``search_alerts`` (``query``, ``filters``, ``page``, ``per_page``, ``sort``)."""
    query = SearchQuery.from_args(args)
    return {
        "query": query.q or None,
        "filters": {key: getattr(query, key) for key in FILTER_KEYS if getattr(query, key)},
        "page": query.page,
        "per_page": query.per_page,
        "sort": query.sort or "-detection_date",
    }


def parse_mrz_body(body) -> str:
    """The MRZ text of a POST /api/v1/mrz/validate body."""
    return MrzRequest.parse_json(body).mrz


# --- output -------------------------------------------------------------------------------------------

def _iso(value):
    return value.isoformat() if isinstance(value, date | datetime) else value


def alert_summary(alert: Alert, match: str | None = None) -> dict:
    """One search result: what identifies the alert and its marking, no encrypted field."""
    return {
        "id": alert.id,
        "reference": alert.reference,
        "status": alert.status,
        "display_status": alert.display_status,
        "tlp": alert.tlp,
        "reporting_party": alert.owner_party.code,
        "document_category": alert.document_category,
        "document_type": alert.document_type,
        "issuing_state": alert.issuing_state,
        "fraud_type": alert.fraud_type,
        "forgery_subtype": alert.forgery_subtype,
        "detection_date": _iso(alert.detection_date),
        "published_at": _iso(alert.published_at),
        "match": match,
    }


def alert_detail(alert: Alert, principal: Principal) -> dict:
    """The full record as ``principal`` (who may see it) sees it."""
    content = as_read_by(snapshot(alert), alert, principal)
    return {
        "id": alert.id,
        "reference": alert.reference,
        "reporting_party": alert.owner_party.code,
        "status": alert.status,
        "display_status": alert.display_status,
        "revision": alert.revision,
        "tlp": alert.tlp,
        "distribution": content["distribution"],
        **{name: content[name] for name in CONTENT_FIELDS},
        "mrz_findings": content["mrz_findings"],
        "created_at": _iso(alert.created_at),
        "updated_at": _iso(alert.updated_at),
        "published_at": _iso(alert.published_at),
        "withdrawn_at": _iso(alert.withdrawn_at),
        "withdrawal_reason": alert.withdrawal_reason,
        "expired_at": _iso(alert.expired_at),
    }


def search_response(result: SearchResult) -> dict:
    return {
        "kind": result.kind,
        "issuing_state": result.issuing_state,
        "mrz_errors": list(result.mrz_errors),
        "total": result.total,
        "total_exact": result.total_exact,
        "page": result.page,
        "per_page": result.per_page,
        "pages": result.pages,
        "results": [alert_summary(hit.alert, hit.match) for hit in result.hits],
    }


def check_response(result: CheckResult) -> dict:
    """The border systems' contract (``CheckResult.to_dict``): hit, and per alert its identity and marking."""
    return result.to_dict()


def check_batch_response(results: list[CheckResult]) -> dict:
    """A manifest's answers, in order: each exactly ``check_response`` of its document, with its ``index``."""
    return {"results": [{"index": index, **check_response(result)} for index, result in enumerate(results)]}
