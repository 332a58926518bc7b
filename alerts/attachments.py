"""Files on alerts: the model, who may attach, storing the row, the scoped reads and their audit entries.

- A specimen image (tagged by side and light) or a PDF, stored encrypted by the file service
  (``documents.files``; the upload and download views go through ``documents.transfer``).
- Attaching: only the party that reported the alert, by users holding ``report_alert``.
- Reading: an attachment is seen by whoever sees its alert (``visible(Attachment)``, declared by
  ``visible_through = "alert_id"``: ``visible(Alert)``, drafts included through
  ``Alert.visibility_refinement``). Nonexistent and invisible both answer None (404), audited.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from alerts.models import Alert
from documents.files import ReceivedUpload, file_columns
from documents.files import record_refusal as record_file_refusal
from documents.models import StoredFileMixin, register_stored_file
from documents.uploads import UploadRefused
from portal.access import register_audited_record, visible
from portal.audit.service import record, record_listing
from portal.crypto import EncryptedText
from portal.extensions import db
from portal.principal import Principal
from portal.rotation import register_encrypted_column

ATTACHMENT_SIDES = ("front", "back", "biodata", "other")
ATTACHMENT_LIGHTS = ("visible", "uv", "ir", "coaxial")
ALERT_OBJECTIVES = ["ERX-INF-4", "MPM-2"]  # the early-warning database (see portal.plan.registry)
MAX_CAPTION = 500


class Attachment(StoredFileMixin, db.Model):
    """A file on an alert: a specimen image (tagged by side and light), or a PDF."""

    __tablename__ = "attachments"
    visible_through = "alert_id"  # seen by exactly whoever sees the alert (portal.access.visibility_clause)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    side: Mapped[str] = mapped_column(String(16), default="other")
    light: Mapped[str] = mapped_column(String(16), default="visible")
    is_genuine_reference: Mapped[bool] = mapped_column(Boolean, default=False)
    caption: Mapped[str | None] = mapped_column(EncryptedText("attachments.caption"))


class AttachmentError(ValueError):
    """Invalid attachment metadata; ``field`` names the input."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self.message = message


def validate_attachment_fields(side: str, light: str, caption: str | None) -> None:
    """Raise ``AttachmentError`` for a side or light outside the lists, or a caption too long."""
    if side not in ATTACHMENT_SIDES:
        raise AttachmentError("side", f"side must be one of {', '.join(ATTACHMENT_SIDES)}")
    if light not in ATTACHMENT_LIGHTS:
        raise AttachmentError("light", f"light must be one of {', '.join(ATTACHMENT_LIGHTS)}")
    if caption is not None and len(caption) > MAX_CAPTION:
        raise AttachmentError("caption", "a caption has at most 500 characters")


def can_attach(principal: Principal, alert: Alert) -> bool:
    """Only the party that reported an alert adds files to it."""
    return principal.can("report_alert") and alert.owner_party_id == principal.party_id


def record_denied_attach(alert: Alert) -> None:
    """Audit an attempt to attach a file to another party's alert."""
    record("document.upload", outcome="denied", object_type="alert", object_id=alert.id,
           object_party=alert.owner_party.code, objectives=ALERT_OBJECTIVES,
           details={"reason": "not_owner", "target": "attachment"})


def record_refusal(refusal: UploadRefused, alert: Alert) -> None:
    """Audit a refused file with its stable code (never the file's name)."""
    record_file_refusal(refusal, target="attachment", object_type="alert", object_id=alert.id,
                        object_party=alert.owner_party.code)


def create_attachment(principal: Principal, alert: Alert, upload: ReceivedUpload, *, side: str, light: str,
                      is_genuine_reference: bool = False, caption: str | None = None) -> Attachment:
    """The row for a stored upload on ``alert`` (the caller checked ``can_attach``)."""
    validate_attachment_fields(side, light, caption)
    attachment = Attachment(alert_id=alert.id, side=side, light=light, is_genuine_reference=bool(is_genuine_reference),
                            caption=(caption or "").strip() or None, **file_columns(upload, principal.user_id))
    db.session.add(attachment)
    db.session.flush()
    record("document.upload", object_type="attachment", object_id=attachment.id,
           object_party=alert.owner_party.code, objectives=ALERT_OBJECTIVES,
           details={"alert_id": alert.id, "kind": upload.kind, "size": upload.stored.size,
                    "side": side, "light": light})
    return attachment


def attachments_of(alert: Alert, principal: Principal) -> list[Attachment]:
    """The alert's attachments the principal sees, genuine references last."""
    statement = visible(Attachment, principal).where(Attachment.alert_id == alert.id)
    return list(db.session.scalars(statement.order_by(Attachment.is_genuine_reference, Attachment.id)))


def first_specimen_image(alert: Alert, principal: Principal) -> Attachment | None:
    """The first image of the false document itself (not a genuine reference) that the principal sees,
    for the hit banner."""
    return next((item for item in attachments_of(alert, principal)
                 if item.is_image and not item.is_genuine_reference), None)


def read_attachment_list(principal: Principal, alert: Alert) -> list[Attachment]:
    """The alert's files page: ``attachments_of``, the listing audited like a detail page."""
    items = attachments_of(alert, principal)
    record_listing("attachment.list", object_type="attachment", ids=[item.id for item in items],
                   principal=principal, alert_id=alert.id)
    return items


def get_visible_attachment(attachment_id: int, principal: Principal, alert_id: int | None = None) -> Attachment | None:
    """The attachment if its alert is visible to ``principal`` (and it belongs to ``alert_id``), else None
    (audited as denied, exactly like ``get_visible_or_404``)."""
    statement = visible(Attachment, principal).where(Attachment.id == attachment_id)
    if alert_id is not None:
        statement = statement.where(Attachment.alert_id == alert_id)
    attachment = db.session.scalar(statement)
    if attachment is None:
        record("attachments.access", outcome="denied", object_type="attachment", object_id=str(attachment_id),
               objectives=ALERT_OBJECTIVES)
    return attachment


def record_view(item: Attachment, alert: Alert, *, variant: str, watermarked: bool, via: str | None = None) -> None:
    """Audit a read of the file (``via="api"`` for the API; the pages leave it out)."""
    details = {"alert_id": alert.id, "variant": variant, "watermarked": watermarked}
    if via is not None:
        details["via"] = via
    record("attachment.view", object_type="attachment", object_id=item.id, object_party=alert.owner_party.code,
           objectives=ALERT_OBJECTIVES, details=details)


register_stored_file(Attachment)
register_encrypted_column(Attachment, "caption")
register_audited_record("attachment", Attachment)
