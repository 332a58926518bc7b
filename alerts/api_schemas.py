"""The bodies and query strings of the alerts API, declared once (pydantic); the OpenAPI schemas are
generated from these classes.

The models check the *shape* of the input (types, lengths, closed vocabularies, required fields, no
unknown field, no NUL byte); the code lists the schema states beside them (ICAO codes, countries, plan
objectives, document numbers, dates) are checked, with the messages of the pages, by
``alerts.validation.clean`` through the operations and by ``alerts.search``, together with what no schema can
say (one field against another, today's date, the parties and networks in the database).
"""


from typing import Annotated, ClassVar, Literal

import pycountry
from flask_babel import lazy_gettext as _l
from pydantic import ConfigDict, Field

from alerts import vocabulary
from alerts.attachments import ATTACHMENT_LIGHTS, ATTACHMENT_SIDES, MAX_CAPTION
from alerts.confirmations import ANSWERS as CONFIRMATION_ANSWERS
from alerts.confirmations import MAX_NOTE as MAX_CONFIRMATION_NOTE
from alerts.confirmations import MAX_PLACE as MAX_CONFIRMATION_PLACE
from alerts.confirmations import STATUSES as CONFIRMATION_STATUSES
from alerts.mrz import _icao_codes
from alerts.search import MAX_BATCH, MAX_PER_PAGE
from alerts.validation import MAX_NARRATIVE
from documents.api_schemas import StoredFile, UploadRefused
from documents.uploads import ATTACHMENT_KINDS
from portal.access import DISTRIBUTION_LEVELS, TLP_LEVELS
from portal.parties.seed import PARTY_CODES
from portal.plan.data import objective_codes
from portal.schemas import (
    ApiModel,
    FormModel,
    QueryModel,
    ResponseModel,
    choice,
    date_text,
    file_part,
    form_boolean,
    optional,
    query_integer,
    stated,
    text,
)

MAX_LIST = 100
MAX_PAGE = 100_000  # keeps OFFSET within every engine's integer range
MAX_QUERY = 500
words = text  # the search's parameter `text` shadows the type in its class
SORTS = ("-detection_date", "detection_date", "reference", "-reference")
ICAO_CODES = sorted(_icao_codes())
_ICAO = "ICAO code of a state or organisation (e.g. GTM, D, XXA); case and `<` fillers are ignored."
# Upper or lower case, spaces, dashes and `<` fillers ignored; 1 to 30 letters and digits.
DOCUMENT_NUMBER_PATTERN = "^[-< ]*([A-Za-z0-9][-< ]*){1,30}$"
_OPTIONAL_NUMBER_PATTERN = "^[-< ]*([A-Za-z0-9][-< ]*){0,30}$"


def _codes(item_schema: dict, description: str):
    return stated(list[text(200)], description, maxItems=MAX_LIST, items=item_schema) | None


# --- requests -----------------------------------------------------------------------------------------

_CheckedNumber = text(MAX_QUERY, required=True, pattern=DOCUMENT_NUMBER_PATTERN,
                      description="The document number (upper or lower case; spaces, dashes and `<` ignored).")
_CheckedState = text(MAX_QUERY, enum=[*ICAO_CODES, ""], description=_ICAO)


class CheckQuery(QueryModel):
    """``GET /api/v1/alerts/check``."""

    document_number: _CheckedNumber
    issuing_state: _CheckedState = ""
    near: choice(["true", "false"], blank_ok=True,
                 description="`true`: also list, apart as `near`, the alerts on look-alike numbers (O/0, I/1, "
                             "S/5, B/8, Z/2, G/6). They are never counted as a hit.") = ""


class CheckDocument(ApiModel):
    """One document of a manifest: what ``GET /api/v1/alerts/check`` takes for one."""

    document_number: _CheckedNumber
    issuing_state: _CheckedState = ""


class CheckBatchRequest(ApiModel):
    """``POST /api/v1/alerts/check``: a manifest."""

    documents: Annotated[list[CheckDocument], Field(min_length=1, max_length=MAX_BATCH,
                                                    description=f"1 to {MAX_BATCH} documents, answered in order.")]
    near: bool = Field(default=False, description="`true`: each result also lists, apart as `near`, the alerts "
                                                  "on look-alike numbers (never a hit).")

    type_messages: ClassVar[dict] = {"documents": _l("Send 1 to %(limit)d documents.", limit=MAX_BATCH)}


class SearchQuery(QueryModel):
    """``GET /api/v1/alerts``."""

    q: text(MAX_QUERY, description="A document number (upper case, spaces and dashes ignored), a pasted "
                                   "MRZ (its lines separated by line breaks or spaces, stray spaces ignored, "
                                   "or the one line with the number: TD1's first, TD2's or TD3's second), or "
                                   "words searched in the narratives. An MRZ that cannot be read is refused "
                                   "(422 naming `q`, and what failed) rather than searched as words.") = ""
    issuing_state: text(MAX_QUERY, enum=[*ICAO_CODES, ""], description=_ICAO) = ""
    document_category: choice(vocabulary.DOCUMENT_CATEGORIES, blank_ok=True, description="Category code.") = ""
    fraud_type: choice(vocabulary.FRAUD_TYPES, blank_ok=True, description="Fraud type code.") = ""
    reporting_party: text(MAX_QUERY, enum=[*PARTY_CODES, ""], description="Code of the reporting party.") = ""
    detected_from: date_text("Detected on or after (YYYY-MM-DD).") = ""
    detected_to: date_text("Detected on or before (YYYY-MM-DD).") = ""
    status: choice([*vocabulary.STATUSES, "revised"], blank_ok=True,
                   description="Status (revised: published and changed since).") = ""
    text: words(MAX_QUERY, description="Words that must all occur in the narratives.") = ""
    sort: choice(SORTS, blank_ok=True, description="Order of the results.") = ""
    page: query_integer(1, MAX_PAGE, 1, "Page number, from 1.") = 1
    per_page: query_integer(1, MAX_PER_PAGE, 20, "Results per page.") = 20

    type_messages: ClassVar[dict] = {"page": _l("Enter a number from 1 to %(limit)d.", limit=MAX_PAGE),
                     "per_page": _l("Enter a number from 1 to %(limit)d.", limit=MAX_PER_PAGE)}


class Distribution(ApiModel):
    """Who receives the alert: the own party, listed member parties, a network or all members."""

    level: choice(DISTRIBUTION_LEVELS)
    parties: stated(list[text(200)], "Party codes (level `parties`).", maxItems=MAX_LIST) | None = None
    network: text(40, description="Network code (level `network`).") | None = None


class AlertInput(ApiModel):
    """A new alert. Unknown fields are refused."""

    detecting_unit: text(200, description="The unit that detected the document.") | None = None
    detection_place_kind: choice(vocabulary.PLACE_KINDS, blank_ok=True) | None = None
    detection_place: text(200, description="Airport, border post or place.") | None = None
    detection_date: date_text("YYYY-MM-DD, not in the future.") | None = None
    route: _codes({"type": "string", "enum": sorted(country.alpha_3 for country in pycountry.countries)},
                  "The journey, as ISO 3166 alpha-3 country codes in order.") = None
    bearer_nationality: text(40, enum=[*ICAO_CODES, ""], description=_ICAO) | None = None
    document_category: choice(vocabulary.DOCUMENT_CATEGORIES)
    document_type: choice(vocabulary.DOCUMENT_TYPES, blank_ok=True) | None = None
    issuing_state: text(40, required=True, enum=ICAO_CODES, description=_ICAO)
    series: text(64, description="Series or model (e.g. PRT-BO-04001).") | None = None
    document_number: text(200, pattern=_OPTIONAL_NUMBER_PATTERN,
                          description="The document number (upper case, spaces and dashes ignored). Give it, "
                                      "or a series (range_start and range_end), or an MRZ that holds it.") | None = None
    range_start: text(200, pattern=_OPTIONAL_NUMBER_PATTERN,
                      description="First number of a series of stolen blanks.") | None = None
    range_end: text(200, pattern=_OPTIONAL_NUMBER_PATTERN,
                    description="Last number of a series of stolen blanks.") | None = None
    issue_date: date_text("YYYY-MM-DD, not in the future.") | None = None
    expiry_date: date_text("YYYY-MM-DD, after the date of issue.") | None = None
    fraud_type: choice(vocabulary.FRAUD_TYPES)
    forgery_subtype: choice(vocabulary.FORGERY_SUBTYPES, blank_ok=True,
                            description="Required for a forgery, refused otherwise.") | None = None
    security_features: _codes({"type": "string", "enum": list(vocabulary.SECURITY_FEATURES)}, "The security features compromised.") = None
    description: text(MAX_NARRATIVE, required=True,
                      description="Stored in clear for full-text search: must not quote the number or the holder.")
    modus_operandi: text(MAX_NARRATIVE) | None = None
    detection_tips: text(MAX_NARRATIVE) | None = None
    holder_name: text(200, description="Stored encrypted.") | None = None
    holder_birth_date: date_text("YYYY-MM-DD, not in the future (stored encrypted).") | None = None
    mrz: text(200, description="The raw MRZ (stored encrypted); fills the fields it holds that the body leaves "
                               "empty.") | None = None
    review_date: date_text("YYYY-MM-DD in the future; default: ten years after detection (ten years from today "
                           "if that date has passed).") | None = None
    objectives: _codes({"type": "string", "enum": list(objective_codes())}, "Plan of action objective codes (default: the early-warning "
                                           "objectives).") = None
    status: choice(("draft", "published"), blank_ok=True,
                   description="`published` needs the owner's publish permission.") | None = None
    tlp: choice(TLP_LEVELS)
    distribution: Distribution

    type_messages: ClassVar[dict] = {"distribution": _l("Expected an object with level, parties and network."),
                     "route": _l("Expected a list of texts."), "security_features": _l("Expected a list of texts."),
                     "objectives": _l("Expected a list of texts."),
                     "distribution.parties": _l("Expected a list of texts.")}


class MrzRequest(ApiModel):
    mrz: text(300, required=True, description="Two or three lines, separated by line breaks.")


# --- responses ----------------------------------------------------------------------------------------

# Timestamps are UTC, written without an offset.
Timestamp = stated(str, "UTC, ISO 8601 without an offset.",
                   pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?$")
Day = stated(str, format="date")
Tlp = Literal[TLP_LEVELS]
Level = Literal[DISTRIBUTION_LEVELS]
Status = Literal[tuple(vocabulary.STATUSES)]
DisplayStatus = Literal[(*vocabulary.STATUSES, "revised")]


class AlertCreated(ResponseModel):
    id: int
    reference: str


class CheckAlert(ResponseModel):
    id: int
    reference: str
    fraud_type: Literal[tuple(vocabulary.FRAUD_TYPES)]
    status: Literal["published"]
    issuing_state: str
    reporting_party: str
    tlp: Tlp
    match: Literal["exact", "range", "near"] = Field(
        description="`range`: the number lies in a reported series of stolen blanks; `near` (only in the "
                    "`near` list): the number differs by look-alike characters.")


class CheckResult(ResponseModel):
    hit: bool = Field(description="An alert on exactly this number, or on a series holding it (never a near match).")
    alerts: list[CheckAlert]
    near: list[CheckAlert] | None = Field(
        default=None, description="Only with `near=true`: alerts on look-alike numbers, not counted as a hit.")


class CheckBatchEntry(CheckResult):
    index: int = Field(description="The document's position in the request, from 0.")


class CheckBatchResult(ResponseModel):
    results: list[CheckBatchEntry] = Field(description="One per document, in the order sent.")


class MrzIssue(ResponseModel):
    field: str
    code: str
    message: str


class MrzResult(ResponseModel):
    valid: bool
    format: Literal["TD1", "TD2", "TD3", "MRVA", "MRVB"] | None = Field(
        description="ICAO Doc 9303 format; null when the text is not an MRZ.")
    fields: dict[str, str | None]
    errors: list[MrzIssue] = Field(description="Every failed check digit and impossible value (fraud indicators).")


class AlertSummary(ResponseModel):
    id: int
    reference: str
    status: Status
    display_status: DisplayStatus
    tlp: Tlp
    reporting_party: str
    document_category: Literal[tuple(vocabulary.DOCUMENT_CATEGORIES)] | None = None
    document_type: Literal[tuple(vocabulary.DOCUMENT_TYPES)] | None = None
    issuing_state: str
    fraud_type: Literal[tuple(vocabulary.FRAUD_TYPES)] | None = None
    forgery_subtype: Literal[tuple(vocabulary.FORGERY_SUBTYPES)] | None = None
    detection_date: Day | None = None
    published_at: Timestamp | None = None
    match: Literal["exact", "near", "range"] | None = Field(
        description="For a number or MRZ search: exact, near (look-alike characters) or range.")


class SearchResult(ResponseModel):
    kind: Literal["all", "number", "mrz", "text"]
    issuing_state: str | None = None
    mrz_errors: list[MrzIssue] = Field(default_factory=list)
    total: int = Field(description="Matches, counted up to 1,000 for word and filter searches (see total_exact).")
    total_exact: bool = Field(description="false: more than `total` alerts match; only the first `total` are "
                                          "paged. Narrow the search.")
    page: int
    per_page: int
    pages: int
    results: list[AlertSummary]


class AlertDistribution(ResponseModel):
    level: Level
    parties: list[str] | None = None
    network: str | None = None


class MrzFinding(ResponseModel):
    field: str
    code: str


class Alert(ResponseModel):
    """The full record as the reader may see it. `distribution.parties` and `distribution.network` are given
    to the reporting party only."""

    id: int
    reference: str
    reporting_party: str
    status: Status
    display_status: DisplayStatus
    revision: int
    tlp: Tlp
    distribution: AlertDistribution
    detecting_unit: str | None = None
    detection_place_kind: Literal[tuple(vocabulary.PLACE_KINDS)] | None = None
    detection_place: str | None = None
    detection_date: Day | None = None
    route: list[str] = Field(default_factory=list)
    bearer_nationality: str | None = None
    document_category: Literal[tuple(vocabulary.DOCUMENT_CATEGORIES)] | None = None
    document_type: Literal[tuple(vocabulary.DOCUMENT_TYPES)] | None = None
    issuing_state: str | None = None
    series: str | None = None
    document_number: str | None = None
    range_start: str | None = None
    range_end: str | None = None
    issue_date: Day | None = None
    expiry_date: Day | None = None
    fraud_type: Literal[tuple(vocabulary.FRAUD_TYPES)] | None = None
    forgery_subtype: Literal[tuple(vocabulary.FORGERY_SUBTYPES)] | None = None
    security_features: list[str] = Field(default_factory=list)
    description: str | None = None
    modus_operandi: str | None = None
    detection_tips: str | None = None
    holder_name: str | None = None
    holder_birth_date: Day | None = None
    mrz: str | None = None
    review_date: Day | None = None
    objectives: list[str] = Field(default_factory=list)
    mrz_findings: list[MrzFinding] = Field(default_factory=list)
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    published_at: Timestamp | None = None
    withdrawn_at: Timestamp | None = None
    withdrawal_reason: str | None = None
    expired_at: Timestamp | None = None



# --- attachments (multipart/form-data) ----------------------------------------------------------------

class AttachmentFields(FormModel):
    """The parts of ``POST /api/v1/alerts/{id}/attachments`` besides the file (any other part is ignored)."""

    model_config = ConfigDict(extra="ignore", strict=False)

    side: choice(ATTACHMENT_SIDES) = "other"
    light: choice(ATTACHMENT_LIGHTS) = "visible"
    is_genuine_reference: form_boolean() = False
    caption: optional(Annotated[str, Field(max_length=MAX_CAPTION)])


class AttachmentUpload(AttachmentFields):
    """The whole upload, as the document states it; the file service reads the file off the stream."""

    file: file_part("JPEG, PNG, TIFF or PDF; the type is decided from the content.")


class Attachment(StoredFile):
    id: int
    alert_id: int
    kind: Literal[tuple(sorted(ATTACHMENT_KINDS))]
    side: Literal[ATTACHMENT_SIDES]
    light: Literal[ATTACHMENT_LIGHTS]
    is_genuine_reference: bool = False


# --- hit confirmations --------------------------------------------------------------------------------

class ConfirmationRequest(ApiModel):
    """``POST /api/v1/alerts/{id}/confirmations``."""

    document_number: text(MAX_QUERY, required=True, pattern=DOCUMENT_NUMBER_PATTERN,
                          description="The number of the document in front of the officer (stored encrypted).")
    place: text(MAX_CONFIRMATION_PLACE, required=True, description="Where the document was checked.")
    note: text(MAX_CONFIRMATION_NOTE, description="What the reporting party should know.") | None = None


class ConfirmationAnswer(ApiModel):
    """``POST /api/v1/confirmations/{id}/answer``."""

    answer: choice(CONFIRMATION_ANSWERS, description="`more_information` needs a note saying what is needed.")
    note: text(MAX_CONFIRMATION_NOTE, description="For the requesting party.") | None = None


class ConfirmationCreated(ResponseModel):
    id: int
    status: Literal["pending"]
    due_at: Timestamp


class Confirmation(ResponseModel):
    """A hit confirmation request, as its two parties see it."""

    id: int
    alert_id: int
    alert_reference: str
    requesting_party: str
    reporting_party: str
    status: Literal[CONFIRMATION_STATUSES]
    overdue: bool = Field(description="Still pending after `due_at`.")
    document_number: str
    number_match: Literal["exact", "near", "range", "other"] = Field(
        description="How the number relates to the alert's (exact, look-alike, a series alert, or other).")
    place: str
    note: str | None = None
    requested_at: Timestamp
    due_at: Timestamp
    response_minutes: int
    answered_at: Timestamp | None = None
    answer_note: str | None = None


REQUESTS = (AlertInput, MrzRequest, CheckBatchRequest, CheckDocument)
RESPONSES = (AlertCreated, CheckResult, CheckBatchResult, CheckBatchEntry, SearchResult, Alert, MrzResult)
ATTACHMENT_BODIES = (AttachmentUpload, Attachment, UploadRefused)
CONFIRMATION_BODIES = (ConfirmationRequest, ConfirmationAnswer, ConfirmationCreated, Confirmation)
