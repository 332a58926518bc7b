"""The bodies and query strings of the exchange API, declared once (pydantic); the OpenAPI schemas are
generated from these classes.

The models check the shape; ``validation.clean_submission`` checks what the values mean (the parties and
networks a sender may address, the alerts it can see, a due date for and only for a request for
information) and, where both speak of one field, its message is the one given.
"""

from typing import Annotated, ClassVar, Literal

from flask_babel import lazy_gettext as _l
from pydantic import ConfigDict, Field

from documents.api_schemas import StoredFile, UploadRefused
from portal.access import TLP_LEVELS
from portal.exchange.attachments import MAX_CAPTION, SUBMISSION_KINDS
from portal.exchange.models import HANDLING_CODES, INFORMATION_ACCURACY, KINDS, SOURCE_RELIABILITY, STATUSES
from portal.exchange.validation import MAX_BODY, MAX_RESTRICTIONS, MAX_SUMMARY, MAX_TITLE
from portal.plan.data import objective_codes
from portal.schemas import (
    ApiModel,
    DatabaseId,
    FormModel,
    QueryModel,
    ResponseModel,
    choice,
    date_text,
    file_part,
    optional,
    query_integer,
    stated,
    text,
)

MAX_PER_PAGE = 100
MAX_PAGE = 100_000
_CODE = text(200)


# --- requests -----------------------------------------------------------------------------------------

class SubmissionInput(ApiModel):
    """A new submission, for the token owner's party. Unknown fields are refused."""

    title: text(MAX_TITLE, required=True)
    kind: choice(KINDS)
    summary: text(MAX_SUMMARY, required=True)
    body: text(MAX_BODY, required=True, description="Markdown.")
    source_reliability: choice(SOURCE_RELIABILITY)
    information_accuracy: choice(INFORMATION_ACCURACY)
    handling_code: choice(HANDLING_CODES)
    handling_restrictions: text(MAX_RESTRICTIONS, description="Required with handling code `other`.") | None = None
    tlp: choice(TLP_LEVELS)
    parties: stated(list[_CODE], "Recipient party codes (member countries, TS).") | None = None
    networks: stated(list[_CODE], "Recipient network codes: their member parties receive it.") | None = None
    related_alerts: stated(list[DatabaseId], "Ids of alerts the token's owner can see.") | None = None
    objectives: stated(list[_CODE], "Plan objective codes; default by kind.",
                       items={"type": "string", "enum": list(objective_codes())}) | None = None
    due_date: date_text("Required for (and only for) a request for information; not in the past.") | None = None
    send: bool = Field(True, description="false: keep it as a draft.")


class SubmissionListQuery(QueryModel):
    """``GET /api/v1/submissions``: other parameters are ignored."""

    model_config = ConfigDict(extra="ignore", strict=False)

    box: choice(("inbox", "sent")) = "inbox"
    page: query_integer(1, MAX_PAGE, 1) = 1
    per_page: query_integer(1, MAX_PER_PAGE, 20) = 20

    type_messages: ClassVar[dict] = {"box": _l("Must be one of: %(choices)s.", choices="inbox, sent"),
                     "page": _l("Must be a whole number from 1."),
                     "per_page": _l("Must be a whole number from 1 to %(max)d.", max=MAX_PER_PAGE)}


class AcknowledgementRequest(ApiModel):
    """An empty JSON object (`{}`)."""


# --- responses ----------------------------------------------------------------------------------------

Timestamp = stated(str, format="date-time")
Codes = list[str]


class SubmissionCreated(ResponseModel):
    id: int
    reference: str
    status: str


class _SubmissionFields(ResponseModel):
    id: int
    reference: str
    kind: Literal[tuple(KINDS)]
    title: str
    tlp: str
    status: Literal[tuple(STATUSES)]
    sent_from: str = Field(alias="from", description="The sending party's code.")
    sent_at: Timestamp | None = None
    due_date: stated(str, format="date") | None = None
    overdue: bool


class SubmissionSummary(_SubmissionFields):
    unread: bool


class SubmissionList(ResponseModel):
    box: Literal["inbox", "sent"]
    page: int
    pages: int
    total: int
    unread: int = Field(description="Unread in the whole box, for this user.")
    items: list[SubmissionSummary]


class RelatedAlert(ResponseModel):
    id: int
    reference: str


class PartyAcknowledgement(ResponseModel):
    party: str
    user_id: int
    at: Timestamp


class AttachmentLink(ResponseModel):
    id: int
    display_name: str
    kind: str
    size: int
    href: str


class Reply(ResponseModel):
    id: int
    party: str
    at: Timestamp
    body: str
    restricted: bool
    audience: Codes


class Submission(_SubmissionFields):
    summary: str
    body: str
    body_html: str = Field(description="The body rendered and sanitised.")
    source_reliability: str
    information_accuracy: str
    handling_code: str
    handling_restrictions: str | None = None
    recipients: Codes
    networks: Codes
    objectives: Codes
    related_alerts: list[RelatedAlert]
    acknowledgements: list[PartyAcknowledgement] = Field(
        description="Every party's for the sender; the own party's for a recipient.")
    attachments: list[AttachmentLink] = Field(description="The submission's files; GET `href` for the bytes.")
    replies: list[Reply] = Field(description="The replies the reader may see.")


class Acknowledgement(ResponseModel):
    id: int
    reference: str
    status: str
    party: str
    at: Timestamp



# --- attachments (multipart/form-data) ----------------------------------------------------------------

class SubmissionAttachmentFields(FormModel):
    """The parts of ``POST /api/v1/submissions/{id}/attachments`` besides the file: an optional caption,
    nothing else."""

    caption: optional(Annotated[str, Field(max_length=MAX_CAPTION)])


class SubmissionAttachmentUpload(SubmissionAttachmentFields):
    """The whole upload, as the document states it; the file service reads the file off the stream."""

    file: file_part("JPEG, PNG, TIFF or PDF; the type is decided from the content.")


class SubmissionAttachment(StoredFile):
    id: int
    submission_id: int
    kind: Literal[tuple(sorted(SUBMISSION_KINDS))]
    caption: str | None = None


REQUESTS = (SubmissionInput, AcknowledgementRequest)
RESPONSES = (SubmissionCreated, SubmissionList, Submission, Acknowledgement)
ATTACHMENT_BODIES = (SubmissionAttachmentUpload, SubmissionAttachment, UploadRefused)
