"""The JSON shapes of the alerts API: reading a request body or query string, and writing alerts out.

Input is checked here for its JSON *shape* only (a text is a string, a list a list of strings, no unknown
field, no NUL byte or lone surrogate that the database would choke on); what the values mean is checked
by ``alerts.validation.clean`` through the operations. Both kinds of error come back together, one message
per field, with the distribution's parts named ``distribution.level``, ``distribution.parties`` and
``distribution.network``.

Output never goes beyond what the viewer may see: search results carry no encrypted field (a client asks
for the detail), and only the reporting party learns which parties or network an alert was sent to.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _

from alerts import vocabulary
from alerts.models import Alert
from alerts.operations import CONTENT_FIELDS, as_read_by, snapshot, validate_alert
from alerts.search import FILTER_KEYS, MAX_PER_PAGE, CheckResult, SearchResult
from alerts.validation import AlertValidationError
from portal.principal import Principal

# Shape of each field of POST /api/v1/alerts.
LIST_FIELDS = ("route", "security_features", "objectives")
TEXT_FIELDS = tuple(name for name in CONTENT_FIELDS if name not in LIST_FIELDS) + ("status", "tlp")
OBJECT_FIELDS = ("distribution",)
BODY_FIELDS = TEXT_FIELDS + LIST_FIELDS + OBJECT_FIELDS
DISTRIBUTION_KEYS = ("level", "parties", "network")
# clean() names the distribution's parts by their own names; the API names them inside the object.
_DISTRIBUTION_ERRORS = {"distribution": "distribution.level", "parties": "distribution.parties",
                        "network": "distribution.network"}
MAX_TEXT = 20_000  # far above any field's own limit: anything longer is not worth validating further
MAX_LIST = 100
MAX_PAGE = 100_000  # keeps OFFSET within every engine's integer range
MAX_QUERY = 500

SEARCH_PARAMETERS = ("q", "page", "per_page", "sort", *FILTER_KEYS)
CHECK_PARAMETERS = ("document_number", "issuing_state")


class InvalidInput(ValueError):
    """The request cannot be used; ``status`` is 400 (not a JSON object) or 422 (``fields`` are bad)."""

    def __init__(self, fields: dict[str, str], status: int = 422):
        super().__init__("; ".join(f"{key}: {value}" for key, value in fields.items()))
        self.fields = dict(fields)
        self.status = status


def _unsafe_text(value: str) -> str | None:
    """Why a string cannot be stored or searched (NUL bytes, lone surrogates), or ``None``."""
    if "\x00" in value:
        return _("Contains a NUL character.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("Contains characters that are not valid Unicode.")
    return None


def _text_error(value, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str):
        return _("Expected text.")
    if len(value) > limit:
        return _("At most %(limit)d characters.", limit=limit)
    return _unsafe_text(value)


def _list_error(value) -> str | None:
    if not isinstance(value, list):
        return _("Expected a list of texts.")
    if len(value) > MAX_LIST:
        return _("At most %(limit)d items.", limit=MAX_LIST)
    for item in value:
        error = _text_error(item, 200)
        if error:
            return error
    return None


def _distribution(value, errors: dict) -> dict | None:
    if not isinstance(value, dict):
        errors["distribution"] = _("Expected an object with level, parties and network.")
        return None
    cleaned = {}
    for key in value:
        if key not in DISTRIBUTION_KEYS:
            errors[f"distribution.{str(key)[:40]}"] = _("Unknown field.")
    level = value.get("level")
    if level is not None:
        error = _text_error(level, 20)
        if error:
            errors["distribution.level"] = error
        else:
            cleaned["level"] = level
    parties = value.get("parties")
    if parties is not None:
        error = _list_error(parties)
        if error:
            errors["distribution.parties"] = error
        else:
            cleaned["parties"] = parties
    network = value.get("network")
    if network is not None:
        error = _text_error(network, 40)
        if error:
            errors["distribution.network"] = error
        else:
            cleaned["network"] = network
    return cleaned


def parse_alert_body(body) -> tuple[dict, dict[str, str]]:
    """The fields of a POST /api/v1/alerts body whose shape is right, and a message per bad field.

    Raises ``InvalidInput`` with status 400 when the body is not a JSON object at all.
    """
    if not isinstance(body, dict):
        raise InvalidInput({"body": _("Send a JSON object (Content-Type: application/json).")}, status=400)
    data: dict = {}
    errors: dict[str, str] = {}
    for key, value in body.items():
        if key not in BODY_FIELDS:
            errors[str(key)[:40]] = _("Unknown field.")
        elif value is None:
            continue
        elif key in OBJECT_FIELDS:
            distribution = _distribution(value, errors)
            if distribution is not None:
                data[key] = distribution
        else:
            error = _list_error(value) if key in LIST_FIELDS else _text_error(value)
            if error:
                errors[key] = error
            else:
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

def _query(args, allowed: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """The query parameters as single strings, and errors for unknown, repeated or unsafe ones."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key in args:
        name = str(key)[:40]
        if key not in allowed:
            errors[name] = _("Unknown parameter.")
            continue
        given = args.getlist(key)
        if len(given) > 1:
            errors[name] = _("Give this parameter once.")
            continue
        error = _text_error(given[0], MAX_QUERY)
        if error:
            errors[name] = error
        else:
            values[key] = given[0]
    return values, errors


def parse_check_query(args) -> tuple[str, str | None]:
    """``(document_number, issuing_state)`` of a check request; ``InvalidInput`` names each bad one."""
    values, errors = _query(args, CHECK_PARAMETERS)
    number = values.get("document_number", "").strip()
    if not number and "document_number" not in errors:
        errors["document_number"] = _("This field is required.")
    if errors:
        raise InvalidInput(errors)
    return number, values.get("issuing_state") or None


def _positive(values: dict, errors: dict, name: str, default: int, limit: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= limit:
        errors[name] = _("Enter a number from 1 to %(limit)d.", limit=limit)
        return default
    return int(raw)


def parse_search_query(args) -> dict:
    """Keyword arguments for ``search_alerts`` (``query``, ``filters``, ``page``, ``per_page``, ``sort``)."""
    values, errors = _query(args, SEARCH_PARAMETERS)
    page = _positive(values, errors, "page", 1, MAX_PAGE)
    per_page = _positive(values, errors, "per_page", 20, MAX_PER_PAGE)
    if errors:
        raise InvalidInput(errors)
    return {
        "query": values.get("q"),
        "filters": {key: values[key] for key in FILTER_KEYS if values.get(key)},
        "page": page,
        "per_page": per_page,
        "sort": values.get("sort") or "-detection_date",
    }


def parse_mrz_body(body) -> str:
    """The MRZ text of a POST /api/v1/mrz/validate body."""
    if not isinstance(body, dict):
        raise InvalidInput({"body": _("Send a JSON object (Content-Type: application/json).")}, status=400)
    errors = {str(key)[:40]: _("Unknown field.") for key in body if key != "mrz"}
    mrz = body.get("mrz")
    if mrz is None or (isinstance(mrz, str) and not mrz.strip()):
        errors["mrz"] = _("This field is required.")
    else:
        error = _text_error(mrz, 300)
        if error:
            errors["mrz"] = error
    if errors:
        raise InvalidInput(errors)
    return mrz


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


# Codes the API accepts, for the OpenAPI document.
ENUMS = {
    "detection_place_kind": list(vocabulary.PLACE_KINDS),
    "document_category": list(vocabulary.DOCUMENT_CATEGORIES),
    "document_type": list(vocabulary.DOCUMENT_TYPES),
    "fraud_type": list(vocabulary.FRAUD_TYPES),
    "forgery_subtype": list(vocabulary.FORGERY_SUBTYPES),
    "security_features": list(vocabulary.SECURITY_FEATURES),
    "status": list(vocabulary.STATUSES),
}


# --- the shapes above, for the OpenAPI document (portal.openapi) ------------------------------------------

def _text(description: str = "", *, nullable: bool = True, enum: list | None = None, fmt: str | None = None) -> dict:
    schema: dict = {"type": ["string", "null"] if nullable else "string"}
    if enum is not None:
        schema["enum"] = [*enum, None] if nullable else list(enum)
    if fmt:
        schema["format"] = fmt
    if description:
        schema["description"] = description
    return schema


def _texts(description: str = "", enum: list | None = None) -> dict:
    items: dict = {"type": "string"}
    if enum is not None:
        items["enum"] = enum
    schema: dict = {"type": "array", "items": items, "maxItems": MAX_LIST}
    if description:
        schema["description"] = description
    return schema


_TLP = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
_LEVELS = ["party", "parties", "network", "members"]
_ICAO = "ICAO code of a state or organisation (e.g. GTM, D, XXA)."

_FIELD_SCHEMAS = {
    "detecting_unit": _text("The unit that detected the document."),
    "detection_place_kind": _text(enum=ENUMS["detection_place_kind"]),
    "detection_place": _text("Airport, border post or place."),
    "detection_date": _text("YYYY-MM-DD, not in the future.", fmt="date"),
    "route": _texts("The journey, as ISO 3166 alpha-3 country codes in order."),
    "bearer_nationality": _text(_ICAO),
    "document_category": _text(enum=ENUMS["document_category"]),
    "document_type": _text(enum=ENUMS["document_type"]),
    "issuing_state": _text(_ICAO),
    "series": _text("Series or model (e.g. PRT-BO-04001)."),
    "document_number": _text("The document number (upper case, spaces and dashes ignored). Give it, or a "
                             "series (range_start and range_end), or an MRZ that holds it."),
    "range_start": _text("First number of a series of stolen blanks."),
    "range_end": _text("Last number of a series of stolen blanks."),
    "issue_date": _text("YYYY-MM-DD.", fmt="date"),
    "expiry_date": _text("YYYY-MM-DD, after the date of issue.", fmt="date"),
    "fraud_type": _text(enum=ENUMS["fraud_type"]),
    "forgery_subtype": _text("Required for a forgery, refused otherwise.", enum=ENUMS["forgery_subtype"]),
    "security_features": _texts("The security features compromised.", enum=ENUMS["security_features"]),
    "description": _text("Stored in clear for full-text search: must not quote the number or the holder."),
    "modus_operandi": _text(),
    "detection_tips": _text(),
    "holder_name": _text("Stored encrypted."),
    "holder_birth_date": _text("YYYY-MM-DD (stored encrypted).", fmt="date"),
    "mrz": _text("The raw MRZ (stored encrypted); fills the fields it holds that the body leaves empty."),
    "review_date": _text("YYYY-MM-DD in the future; default: ten years after detection (ten years from today "
                         "if that date has passed).", fmt="date"),
    "objectives": _texts("Plan of action objective codes (default: the early-warning objectives)."),
}

SCHEMAS = {
    "Distribution": {
        "type": "object",
        "description": "Who receives the alert: the own party, listed member parties, a network or all members.",
        "required": ["level"],
        "additionalProperties": False,
        "properties": {
            "level": {"type": "string", "enum": _LEVELS},
            "parties": {"type": ["array", "null"], "items": {"type": "string"}, "maxItems": MAX_LIST,
                        "description": "Party codes (level `parties`)."},
            "network": {"type": ["string", "null"], "description": "Network code (level `network`)."},
        },
    },
    "AlertInput": {
        "type": "object",
        "description": "A new alert. Unknown fields are refused.",
        "required": ["document_category", "issuing_state", "fraud_type", "description", "distribution", "tlp"],
        "additionalProperties": False,
        "properties": {
            **_FIELD_SCHEMAS,
            "status": _text("`published` needs the owner's publish permission.", enum=["draft", "published"]),
            "tlp": {"type": "string", "enum": _TLP},
            "distribution": {"$ref": "#/components/schemas/Distribution"},
        },
    },
    "AlertCreated": {
        "type": "object",
        "required": ["id", "reference"],
        "properties": {"id": {"type": "integer"}, "reference": {"type": "string"}},
    },
    "CheckAlert": {
        "type": "object",
        "required": ["id", "reference", "fraud_type", "status", "issuing_state", "reporting_party", "tlp", "match"],
        "properties": {
            "id": {"type": "integer"},
            "reference": {"type": "string"},
            "fraud_type": {"type": "string", "enum": ENUMS["fraud_type"]},
            "status": {"type": "string", "enum": ["published"]},
            "issuing_state": {"type": "string"},
            "reporting_party": {"type": "string"},
            "tlp": {"type": "string", "enum": _TLP},
            "match": {"type": "string", "enum": ["exact", "range"],
                      "description": "`range`: the number lies in a reported series of stolen blanks."},
        },
    },
    "CheckResult": {
        "type": "object",
        "required": ["hit", "alerts"],
        "properties": {"hit": {"type": "boolean"},
                       "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/CheckAlert"}}},
    },
    "AlertSummary": {
        "type": "object",
        "required": ["id", "reference", "status", "display_status", "tlp", "reporting_party", "match"],
        "properties": {
            "id": {"type": "integer"},
            "reference": {"type": "string"},
            "status": {"type": "string", "enum": ENUMS["status"]},
            "display_status": {"type": "string", "enum": [*ENUMS["status"], "revised"]},
            "tlp": {"type": "string", "enum": _TLP},
            "reporting_party": {"type": "string"},
            "document_category": _text(enum=ENUMS["document_category"]),
            "document_type": _text(enum=ENUMS["document_type"]),
            "issuing_state": {"type": "string"},
            "fraud_type": _text(enum=ENUMS["fraud_type"]),
            "forgery_subtype": _text(enum=ENUMS["forgery_subtype"]),
            "detection_date": _text(fmt="date"),
            "published_at": _text(fmt="date-time"),
            "match": _text("For a number or MRZ search: exact, near (look-alike characters) or range.",
                           enum=["exact", "near", "range"]),
        },
    },
    "SearchResult": {
        "type": "object",
        "required": ["kind", "total", "total_exact", "page", "per_page", "pages", "results"],
        "properties": {
            "kind": {"type": "string", "enum": ["all", "number", "mrz", "text"]},
            "issuing_state": _text(),
            "mrz_errors": {"type": "array", "items": {"$ref": "#/components/schemas/MrzIssue"}},
            "total": {"type": "integer", "description": "Matches, counted up to 1,000 for word and filter "
                                                       "searches (see total_exact)."},
            "total_exact": {"type": "boolean", "description": "false: more than `total` alerts match; only the "
                                                             "first `total` are paged. Narrow the search."},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "pages": {"type": "integer"},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/AlertSummary"}},
        },
    },
    "Alert": {
        "type": "object",
        "description": "The full record as the reader may see it. `distribution.parties` and "
                       "`distribution.network` are given to the reporting party only.",
        "required": ["id", "reference", "reporting_party", "status", "display_status", "revision", "tlp",
                     "distribution"],
        "properties": {
            "id": {"type": "integer"},
            "reference": {"type": "string"},
            "reporting_party": {"type": "string"},
            "status": {"type": "string", "enum": ENUMS["status"]},
            "display_status": {"type": "string", "enum": [*ENUMS["status"], "revised"]},
            "revision": {"type": "integer"},
            "tlp": {"type": "string", "enum": _TLP},
            "distribution": {"type": "object", "properties": {
                "level": {"type": "string", "enum": _LEVELS},
                "parties": {"type": ["array", "null"], "items": {"type": "string"}},
                "network": {"type": ["string", "null"]},
            }},
            **_FIELD_SCHEMAS,
            "mrz_findings": {"type": "array", "items": {"type": "object", "properties": {
                "field": {"type": "string"}, "code": {"type": "string"}}}},
            "created_at": _text(fmt="date-time"),
            "updated_at": _text(fmt="date-time"),
            "published_at": _text(fmt="date-time"),
            "withdrawn_at": _text(fmt="date-time"),
            "withdrawal_reason": _text(),
            "expired_at": _text(fmt="date-time"),
        },
    },
    "MrzRequest": {
        "type": "object",
        "required": ["mrz"],
        "additionalProperties": False,
        "properties": {"mrz": {"type": "string", "maxLength": 300,
                               "description": "Two or three lines, separated by line breaks."}},
    },
    "MrzIssue": {
        "type": "object",
        "required": ["field", "code", "message"],
        "properties": {"field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}},
    },
    "MrzResult": {
        "type": "object",
        "required": ["valid", "format", "fields", "errors"],
        "properties": {
            "valid": {"type": "boolean"},
            "format": _text("ICAO Doc 9303 format; null when the text is not an MRZ.",
                            enum=["TD1", "TD2", "TD3", "MRVA", "MRVB"]),
            "fields": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/MrzIssue"},
                       "description": "Every failed check digit and impossible value (fraud indicators)."},
        },
    },
}
