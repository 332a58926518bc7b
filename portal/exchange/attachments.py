"""Files on intelligence-exchange submissions: the model, who may attach, storing the row, the scoped reads.

- Attaching: only users of the sending party holding ``exchange_intelligence``, while the submission is a
  draft or sent (once a recipient acknowledged or answered, what it received is fixed).
- Reading: an attachment is seen by exactly the submission's audience - the one scoping query
  ``visible(SubmissionAttachment, principal)``, through the submission's scope (sender and recipients; a
  draft only by the sending party).
  A party that is not a recipient never sees one: nonexistent and invisible both answer None (404), audited.
- The file itself goes through the file service (``documents.transfer``: type from the content, metadata
  stripped, encrypted as it streams) exactly like an alert's attachment; images of AMBER and RED
  submissions are watermarked on the way out (``documents.transfer.send_file`` with the submission's TLP).

Replies carry no files: a reply's audience may be narrower than its submission's, and a file on the
submission is always seen by the submission's whole audience.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from documents.files import ReceivedUpload, file_columns
from documents.files import record_refusal as record_file_refusal
from documents.models import StoredFileMixin, register_stored_file
from documents.uploads import ATTACHMENT_KINDS, UploadRefused
from portal.access import may_change, owns, register_audited_record, visible
from portal.audit.service import record
from portal.crypto import EncryptedText
from portal.exchange.models import Submission
from portal.extensions import db
from portal.principal import Principal
from portal.rotation import register_encrypted_column

PERMISSION = "exchange_intelligence"
ATTACHABLE_STATUSES = ("draft", "sent")
# The same allowlist as alert attachments: JPEG, PNG, TIFF, PDF.
SUBMISSION_KINDS = ATTACHMENT_KINDS
MAX_CAPTION = 500


class SubmissionAttachment(StoredFileMixin, db.Model):
    """A file on an intelligence-exchange submission, seen by exactly the submission's audience
    (``visible(Submission)``: its sender and recipients; a draft only by the sending party)."""

    __tablename__ = "submission_attachments"
    visible_through = "submission_id"  # the submission's scope decides (portal.access.visibility_clause)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    caption: Mapped[str | None] = mapped_column(EncryptedText("submission_attachments.caption"))


class CaptionTooLong(ValueError):
    """The caption is longer than ``MAX_CAPTION``."""


def _objectives(submission: Submission) -> list[str] | None:
    return list(submission.objectives or ()) or None


def can_attach(principal: Principal | None, submission: Submission) -> bool:
    """Only the sending party's users who exchange intelligence, while it is a draft or just sent."""
    return (principal is not None and principal.can(PERMISSION)
            and owns(submission, principal) and submission.status in ATTACHABLE_STATUSES)


def refusal_reason(principal: Principal, submission: Submission) -> str:
    """Why ``can_attach`` said no (for the audit): not the sender, or too late."""
    if not owns(submission, principal):
        return "not_owner"
    return "status"


def record_denied_attach(submission: Submission, reason: str) -> None:
    """Audit a refused attach or remove: not the sender, or too late."""
    record("exchange.attach", outcome="denied", object_type="submission", object_id=submission.id,
           object_party=submission.owner_party.code, objectives=_objectives(submission),
           details={"reference": submission.reference, "reason": reason})


def record_refusal(refusal: UploadRefused, submission: Submission) -> None:
    """Audit a refused file with its stable code (never the file's name)."""
    record_file_refusal(refusal, target="submission_attachment", object_type="submission", object_id=submission.id,
                        object_party=submission.owner_party.code, objectives=_objectives(submission))


def check_caption(caption: str | None) -> str | None:
    """The trimmed caption (None when empty); raises ``CaptionTooLong``."""
    caption = (caption or "").strip() or None
    if caption is not None and len(caption) > MAX_CAPTION:
        raise CaptionTooLong()
    return caption


def create_attachment(principal: Principal, submission: Submission, upload: ReceivedUpload,
                      caption: str | None = None) -> SubmissionAttachment:
    """The row for a stored upload on ``submission`` (the caller checked ``can_attach``), audited."""
    item = SubmissionAttachment(submission_id=submission.id, caption=check_caption(caption),
                                **file_columns(upload, principal.user_id))
    db.session.add(item)
    db.session.flush()
    record("exchange.attach", object_type="submission", object_id=submission.id,
           object_party=submission.owner_party.code, objectives=_objectives(submission),
           details={"reference": submission.reference, "attachment_id": item.id, "kind": upload.kind,
                    "size": upload.stored.size})
    return item


def attachments_of(submission: Submission, principal: Principal | None) -> list[SubmissionAttachment]:
    """The submission's files the principal sees, oldest first."""
    statement = visible(SubmissionAttachment, principal).where(SubmissionAttachment.submission_id == submission.id)
    return list(db.session.scalars(statement.order_by(SubmissionAttachment.id)))


def get_visible(attachment_id: int, principal: Principal | None,
                submission_id: int | None = None) -> SubmissionAttachment | None:
    """The file if its submission is visible to ``principal`` (and it belongs to ``submission_id``), else
    None, audited as denied exactly like ``get_visible_or_404``."""
    statement = visible(SubmissionAttachment, principal).where(SubmissionAttachment.id == attachment_id)
    if submission_id is not None:
        statement = statement.where(SubmissionAttachment.submission_id == submission_id)
    item = db.session.scalar(statement)
    if item is None:
        record("submission_attachments.access", outcome="denied", object_type="submission_attachment",
               object_id=str(attachment_id), details={"submission_id": submission_id})
    return item


def record_view(item: SubmissionAttachment, submission: Submission, *, variant: str, watermarked: bool,
                via: str = "web") -> None:
    """Audit a read of the file (``via`` is ``web`` or ``api``)."""
    record("exchange.attachment_view", object_type="submission_attachment", object_id=item.id,
           object_party=submission.owner_party.code, objectives=_objectives(submission),
           details={"submission_id": submission.id, "reference": submission.reference, "variant": variant,
                    "watermarked": watermarked, "via": via})


class AttachmentRefused(Exception):
    """The acting party may not do this now; ``message`` is shown to the user."""

    def __init__(self, reason: str, message: str):
        super().__init__(reason)
        self.reason = reason
        self.message = message


def remove_attachment(principal: Principal, submission: Submission, item: SubmissionAttachment) -> None:
    """The sending party removes a file from its draft. The row goes now; the (encrypted) blob, which no row
    references any more, is removed by ``flask blobs gc`` - deleting it before the commit could leave a
    row without its file if the transaction rolled back."""
    from flask_babel import gettext as _

    if not may_change(submission, PERMISSION, principal):
        record_denied_attach(submission, "not_owner")
        raise AttachmentRefused("not_owner", _("Only the sending party may remove files."))
    if submission.status != "draft":
        record_denied_attach(submission, "status")
        raise AttachmentRefused("status", _("Files can be removed only while the submission is a draft."))
    attachment_id = item.id
    db.session.delete(item)
    db.session.flush()
    record("exchange.detach", object_type="submission", object_id=submission.id,
           object_party=submission.owner_party.code, objectives=_objectives(submission),
           details={"reference": submission.reference, "attachment_id": attachment_id})


register_stored_file(SubmissionAttachment)
register_encrypted_column(SubmissionAttachment, "caption")
register_audited_record("submission_attachment", SubmissionAttachment)
