"""Storing, listing and reading attachments and library documents. Each change writes its audit entry.

Order of writes, so that a crash never leaves a half record: the blob (and the thumbnail blob) are
written first, the row last, in the request's one transaction. A refusal after a blob was written
deletes it at once (``StoredBlobs.discard``); a crash between the blob and the commit leaves only an
unreferenced blob, which ``flask blobs gc`` removes (it keeps every id of ``referenced_blob_ids()``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from flask import abort, current_app
from sqlalchemy import select, union

from alerts.models import Alert
from portal.access import (
    DistributionError,
    get_visible_or_404,
    may_change,
    set_distribution,
    validate_distribution,
    visible,
)
from portal.audit.service import record
from portal.distribution import check_recipients
from portal.extensions import db
from portal.keyring import current_keyring
from portal.principal import Principal
from portal.timeutil import utcnow

from . import envelope
from .models import (
    ATTACHMENT_LIGHTS,
    ATTACHMENT_SIDES,
    FILE_MODELS,
    Attachment,
    Document,
    DocumentVersion,
    Folder,
)
from .service import DecryptingReader, StoredFile, encrypt_to_store
from .storage import BlobNotFound, current_blob_store
from .uploads import IMAGE_KINDS, KINDS, UploadRefused, inspect_upload, limits_from_config
from .watermark import apply_watermark, make_thumbnail, needs_watermark, watermark_text

ALERT_OBJECTIVES = ["ERX-INF-4", "MPM-2"]  # the early-warning database (see portal.plan.registry)
MAX_TAGS = 10
MAX_TAG_LENGTH = 40


# --------------------------------------------------------------------------- storing


@dataclass
class StoredBlobs:
    """The blobs one request wrote; ``discard()`` deletes them when the upload is refused after all."""

    ids: list[str] = field(default_factory=list)

    def discard(self) -> None:
        store = current_blob_store()
        for blob_id in self.ids:
            store.delete(blob_id)
        self.ids.clear()


@dataclass(frozen=True)
class ReceivedUpload:
    """A checked, encrypted and stored upload that no row references yet."""

    file_uid: str
    kind: str
    display_name: str
    stored: StoredFile
    thumbnail: StoredFile | None

    @property
    def mime_type(self) -> str:
        return KINDS[self.kind].mime_type


def store_upload(chunks: Iterable[bytes], filename: str | None, *, allowed, blobs: StoredBlobs) -> ReceivedUpload:
    """Check ``chunks`` (type from the content, metadata stripped) and encrypt them into the blob store.

    Raises ``UploadRefused``; then nothing of this upload is stored.
    """
    checked = inspect_upload(chunks, filename, allowed=allowed, limits=limits_from_config(current_app.config))
    store, ring = current_blob_store(), current_keyring()
    file_uid = secrets.token_hex(16)
    is_image = checked.kind.code in IMAGE_KINDS
    # An image was already decoded and re-encoded in memory by the checks: keep those bytes for the
    # thumbnail instead of decrypting the blob again.
    kept = bytearray()

    def body() -> Iterator[bytes]:
        for chunk in checked.chunks:
            if is_image:
                kept.extend(chunk)
            yield chunk

    stored = encrypt_to_store(store, body(), file_uid, ring)
    blobs.ids.append(stored.blob_id)
    thumbnail = None
    if is_image:
        thumbnail = encrypt_to_store(store, [make_thumbnail(bytes(kept), checked.kind.code)],
                                     file_uid + ":thumb", ring)
        blobs.ids.append(thumbnail.blob_id)
    return ReceivedUpload(file_uid, checked.kind.code, checked.display_name, stored, thumbnail)


def file_columns(upload: ReceivedUpload, user_id: int | None) -> dict:
    """The ``StoredFileMixin`` columns of a row for a stored upload (thumbnail included), created by ``user_id``."""
    columns = {
        "file_uid": upload.file_uid,
        "blob_id": upload.stored.blob_id,
        "wrapped_key": upload.stored.wrapped_key,
        "key_id": upload.stored.key_id,
        "size": upload.stored.size,
        "kind": upload.kind,
        "display_name": upload.display_name,
        "created_by_id": user_id,
    }
    if upload.thumbnail is not None:
        columns.update(thumb_blob_id=upload.thumbnail.blob_id, thumb_wrapped_key=upload.thumbnail.wrapped_key,
                       thumb_key_id=upload.thumbnail.key_id, thumb_size=upload.thumbnail.size)
    return columns


def record_refusal(refusal: UploadRefused, *, target: str, object_type: str, object_id=None,
                   object_party: str | None = None) -> None:
    """Audit a refused upload with its stable refusal code (never the file's name)."""
    record("document.upload", outcome="denied", object_type=object_type, object_id=object_id,
           object_party=object_party, details={"reason": refusal.code, "target": target})


def referenced_blob_ids() -> set[str]:
    """Every blob id that a row references (files and thumbnails): what ``blobs gc`` must keep."""
    statements = []
    for model in FILE_MODELS:
        statements.append(select(model.blob_id.label("blob_id")))
        statements.append(select(model.thumb_blob_id.label("blob_id")).where(model.thumb_blob_id.is_not(None)))
    return set(db.session.scalars(union(*statements)))


# --------------------------------------------------------------------------- attachments


class AttachmentError(ValueError):
    """Invalid attachment metadata; ``field`` names the input."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self.message = message


def validate_attachment_fields(side: str, light: str, caption: str | None) -> None:
    if side not in ATTACHMENT_SIDES:
        raise AttachmentError("side", f"side must be one of {', '.join(ATTACHMENT_SIDES)}")
    if light not in ATTACHMENT_LIGHTS:
        raise AttachmentError("light", f"light must be one of {', '.join(ATTACHMENT_LIGHTS)}")
    if caption is not None and len(caption) > 500:
        raise AttachmentError("caption", "a caption has at most 500 characters")


def can_attach(principal: Principal, alert: Alert) -> bool:
    """Only the party that reported an alert adds files to it."""
    return may_change(alert, "report_alert", principal)


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
    statement = visible(Attachment, principal).where(Attachment.alert_id == alert.id)
    return list(db.session.scalars(statement.order_by(Attachment.is_genuine_reference, Attachment.id)))


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


# --------------------------------------------------------------------------- library


class LibraryError(ValueError):
    """Invalid library input; ``field`` names it."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self.message = message


def folders() -> list[Folder]:
    return list(db.session.scalars(select(Folder).order_by(Folder.position, Folder.id)))


def parse_tags(text: str | Iterable[str] | None) -> list[str]:
    """Comma-separated (or listed) tags: trimmed, de-duplicated ignoring case, bounded."""
    raw = text.split(",") if isinstance(text, str) else list(text or [])
    tags: list[str] = []
    for tag in raw:
        tag = " ".join(str(tag).split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise LibraryError("tags", f"a tag has at most {MAX_TAG_LENGTH} characters")
        if tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise LibraryError("tags", f"at most {MAX_TAGS} tags")
    return tags


def _check_objectives(codes) -> list[str]:
    from portal.plan.data import objective_codes

    known = set(objective_codes())
    codes = sorted(set(codes or ()))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise LibraryError("objectives", "unknown plan objective")
    return codes


def validate_document(*, folder_id, title: str, tlp: str, level: str, party_ids=(), network_id=None,
                      tags=None, objectives=()) -> tuple[Folder, list[str], list[str]]:
    """Check a document's fields before any file is stored or any row written."""
    folder = db.session.get(Folder, folder_id) if folder_id else None
    if folder is None:
        raise LibraryError("folder", "unknown folder")
    if not (title or "").strip() or len(title.strip()) > 200:
        raise LibraryError("title", "a title of 1 to 200 characters is required")
    validate_distribution(level, tlp, party_ids, network_id)
    return folder, parse_tags(tags), _check_objectives(objectives)


def _check_recipients(owner_party_id: int, level: str, party_ids, network_id) -> tuple[list[int], int | None]:
    """Recipients as every shared record takes them (``portal.distribution.check_recipients``)."""
    try:
        return check_recipients(owner_party_id, level, party_ids, network_id)
    except DistributionError as error:
        raise LibraryError(error.field, error.message) from None


def create_document(principal: Principal, upload: ReceivedUpload, *, folder_id, title: str, description: str,
                    tlp: str, level: str, party_ids=(), network_id=None, tags=None, objectives=(),
                    note: str | None = None) -> Document:
    """A new library document of the principal's party with its first version."""
    folder, tags, objectives = validate_document(folder_id=folder_id, title=title, tlp=tlp, level=level,
                                                 party_ids=party_ids, network_id=network_id, tags=tags,
                                                 objectives=objectives)
    party_ids, network_id = _check_recipients(principal.party_id, level, party_ids, network_id)
    document = Document(folder_id=folder.id, title=title.strip(), description=(description or "").strip(),
                        tags=tags, objectives=objectives, owner_party_id=principal.party_id,
                        created_by_id=principal.user_id, distribution_level=level, tlp=tlp)
    db.session.add(document)
    db.session.flush()
    set_distribution(document, level=level, tlp=tlp, party_ids=party_ids, network_id=network_id)
    record("document.create", object_type="library_document", object_id=document.id,
           object_party=principal.party_code, objectives=objectives or None,
           details={"folder": folder.code, "level": level, "tlp": tlp, "recipients": len(party_ids)})
    add_version(principal, document, upload, note=note)
    return document


def add_version(principal: Principal, document: Document, upload: ReceivedUpload,
                note: str | None = None) -> DocumentVersion:
    """The next version of ``document`` (the caller checked the principal's party owns it)."""
    if note is not None and len(note) > 500:
        raise LibraryError("note", "a note has at most 500 characters")
    number = (db.session.scalar(select(db.func.max(DocumentVersion.number))
                                .where(DocumentVersion.document_id == document.id)) or 0) + 1
    version = DocumentVersion(document_id=document.id, number=number, note=(note or "").strip() or None,
                              **file_columns(upload, principal.user_id))
    db.session.add(version)
    document.updated_at = utcnow()
    db.session.flush()
    record("document.upload", object_type="library_document", object_id=document.id,
           object_party=document.owner_party.code, objectives=document.objectives or None,
           details={"version": number, "kind": upload.kind, "size": upload.stored.size})
    return version


def versions_of(document: Document) -> list[DocumentVersion]:
    return list(db.session.scalars(select(DocumentVersion).where(DocumentVersion.document_id == document.id)
                                   .order_by(DocumentVersion.number.desc())))


def get_version(document: Document, number: int) -> DocumentVersion | None:
    return db.session.scalar(select(DocumentVersion).where(DocumentVersion.document_id == document.id,
                                                           DocumentVersion.number == number))


def read_document(principal: Principal, document_id) -> Document:
    """The library document ``principal`` opens (404 when invisible, audited as denied), its reading audited."""
    document = get_visible_or_404(Document, document_id, principal)
    record("document.view", object_type="library_document", object_id=document.id,
           object_party=document.owner_party.code, objectives=document.objectives or None, principal=principal)
    return document


# --------------------------------------------------------------------------- reading


@dataclass
class Outgoing:
    """What a download sends: plaintext chunks, their type and (when known in advance) their length."""

    chunks: Iterable[bytes]
    mime_type: str
    length: int | None
    watermarked: bool


def _plaintext_chunks(store, blob_id: str, data_key: bytes, file_uid: str) -> Iterator[bytes]:
    """Decrypted chunks; the blob is opened on the first ``next()`` and closed however iteration ends
    (exhausted, ``close()``d by the WSGI server, or dropped), so an unread response holds no file open."""
    with DecryptingReader(store.open(blob_id), data_key, file_uid) as reader:
        yield from reader


def read_file(row, *, tlp: str, principal: Principal, viewer_name: str, thumbnail: bool = False) -> Outgoing:
    """The plaintext of a stored file (or its thumbnail), watermarked for the viewer when its TLP asks.

    The data key is unwrapped and the blob's presence checked here, so a broken file fails before the
    response starts rather than half-way through it.
    """
    store, ring = current_blob_store(), current_keyring()
    if thumbnail:
        kind, size, file_uid = "jpeg", row.thumb_size, row.thumb_file_uid
        blob_id, wrapped, key_id = row.thumb_blob_id, row.thumb_wrapped_key, row.thumb_key_id
    else:
        kind, size, file_uid = row.kind, row.size, row.file_uid
        blob_id, wrapped, key_id = row.blob_id, row.wrapped_key, row.key_id
    data_key = envelope.unwrap(wrapped, key_id, file_uid, ring)
    if not store.exists(blob_id):
        raise BlobNotFound(blob_id)
    chunks = _plaintext_chunks(store, blob_id, data_key, file_uid)
    if needs_watermark(tlp, kind):
        data = b"".join(chunks)  # images are bounded by the upload's pixel and size limits
        marked = apply_watermark(data, kind, watermark_text(principal.party_code, viewer_name))
        return Outgoing([marked], KINDS[kind].mime_type, len(marked), True)
    return Outgoing(chunks, KINDS[kind].mime_type, size, False)


def download_version(principal: Principal, document_id, number: int, *,
                     viewer_name: str) -> tuple[DocumentVersion, Outgoing]:
    """Version ``number`` of a library document ``principal`` sees, as it is sent (watermarked when its TLP
    asks), the download audited; an invisible document or a missing version answers 404."""
    document = get_visible_or_404(Document, document_id, principal)
    version = get_version(document, number)
    if version is None:
        abort(404)
    outgoing = read_file(version, tlp=document.tlp, principal=principal, viewer_name=viewer_name)
    record("document.download", object_type="library_document", object_id=document.id,
           object_party=document.owner_party.code, objectives=document.objectives or None, principal=principal,
           details={"version": version.number, "watermarked": outgoing.watermarked})
    return version, outgoing
