"""Stored files: attachments on alerts and on exchange submissions, and the document library (folders,
documents, versions).

Every file row carries what ``documents.service`` needs to read its blob back (``StoredFileMixin``): the
blob id, the wrapped data key and its key id, the plaintext size, the kind decided from the content, and
a random ``file_uid`` that is bound into the encryption as the file's id (so a blob or a wrapped key copied
onto another row never decrypts). No plaintext digest is kept (migration ``0010``): the STREAM encryption
already authenticates every segment, its place and the end of the file. Images also have a thumbnail, a second blob
encrypted the same way under the id ``<file_uid>:thumb``.

The display name can reveal things (a name, a document number), so it is an encrypted column, like an
attachment's caption and a library document's title and description. The blob store never sees a name.

Access: an attachment is seen by whoever sees its alert (``visible(Attachment)``, declared by
``visible_through = "alert_id"``: ``visible(Alert)``, drafts included through ``Alert.visibility_refinement``);
a submission's file by exactly the submission's audience (``visible(SubmissionAttachment)``, through
``submission_id``); a library document is itself shareable (``ShareableMixin``), and its versions follow it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from portal.access import ShareableMixin
from portal.crypto import EncryptedText
from portal.extensions import db
from portal.parties.models import Party
from portal.timeutil import utcnow

ATTACHMENT_SIDES = ("front", "back", "biodata", "other")
ATTACHMENT_LIGHTS = ("visible", "uv", "ir", "coaxial")
THUMBNAIL_SUFFIX = ":thumb"


class StoredFileMixin:
    """The columns of one encrypted file (and its optional thumbnail) in the blob store."""

    @declared_attr
    def file_uid(cls) -> Mapped[str]:
        return mapped_column(String(32), unique=True)

    @declared_attr
    def blob_id(cls) -> Mapped[str]:
        return mapped_column(String(32), unique=True)

    @declared_attr
    def wrapped_key(cls) -> Mapped[bytes]:
        return mapped_column(LargeBinary)

    @declared_attr
    def key_id(cls) -> Mapped[str]:
        return mapped_column(String(64), index=True)

    @declared_attr
    def size(cls) -> Mapped[int]:
        return mapped_column(Integer)

    @declared_attr
    def kind(cls) -> Mapped[str]:
        return mapped_column(String(16))

    @declared_attr
    def display_name(cls) -> Mapped[str]:
        return mapped_column(EncryptedText(f"{cls.__tablename__}.display_name"))

    @declared_attr
    def thumb_blob_id(cls) -> Mapped[str | None]:
        return mapped_column(String(32), unique=True, nullable=True)

    @declared_attr
    def thumb_wrapped_key(cls) -> Mapped[bytes | None]:
        return mapped_column(LargeBinary, nullable=True)

    @declared_attr
    def thumb_key_id(cls) -> Mapped[str | None]:
        return mapped_column(String(64), nullable=True)

    @declared_attr
    def thumb_size(cls) -> Mapped[int | None]:
        return mapped_column(Integer, nullable=True)

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id"))

    @declared_attr
    def created_at(cls) -> Mapped[datetime]:
        return mapped_column(default=utcnow)

    @property
    def thumb_file_uid(self) -> str:
        """The file id bound into the thumbnail's encryption."""
        return self.file_uid + THUMBNAIL_SUFFIX

    @property
    def is_image(self) -> bool:
        return self.kind in ("jpeg", "png", "tiff")


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


class Folder(db.Model):
    """A topic folder of the library (bilingual name, the plan objective it serves)."""

    __tablename__ = "library_folders"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_es: Mapped[str] = mapped_column(String(200))
    objective: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)

    def name(self, lang: str) -> str:
        return self.name_es if lang == "es" else self.name_en


class Document(ShareableMixin, db.Model):
    """A library document: owned by a party, shared by distribution and TLP, with versions."""

    __tablename__ = "library_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("library_folders.id"), index=True)
    title: Mapped[str] = mapped_column(EncryptedText("library_documents.title"))
    description: Mapped[str] = mapped_column(EncryptedText("library_documents.description"))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    objectives: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner_party: Mapped[Party] = relationship(foreign_keys="Document.owner_party_id", lazy="joined")
    folder: Mapped[Folder] = relationship(lazy="joined")


class DocumentVersion(StoredFileMixin, db.Model):
    """One uploaded version of a library document (1, 2, ...)."""

    __tablename__ = "library_document_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("library_documents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(EncryptedText("library_document_versions.note"))

    document: Mapped[Document] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("document_id", "number", name="uq_library_document_versions_document_id_number"),)


class SubmissionAttachment(StoredFileMixin, db.Model):
    """A file on an intelligence-exchange submission, seen by exactly the submission's audience
    (``visible(Submission)``: its sender and recipients; a draft only by the sending party)."""

    __tablename__ = "submission_attachments"
    visible_through = "submission_id"  # the submission's scope decides (portal.access.visibility_clause)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    caption: Mapped[str | None] = mapped_column(EncryptedText("submission_attachments.caption"))


# Every model whose rows reference blobs (``referenced_blob_ids``, ``keys rotate``/``verify``, backups).
FILE_MODELS = (Attachment, DocumentVersion, SubmissionAttachment)


from portal.rotation import (
    register_encrypted_column,
    register_wrapped_key,
)

for _model in FILE_MODELS:
    register_wrapped_key(_model, "file_uid", "wrapped_key", "key_id", blob_id_attr="blob_id",
                         size_attr="size")
    register_wrapped_key(_model, "thumb_file_uid", "thumb_wrapped_key", "thumb_key_id",
                         blob_id_attr="thumb_blob_id", size_attr="thumb_size")
    register_encrypted_column(_model, "display_name")
register_encrypted_column(Attachment, "caption")
register_encrypted_column(Document, "title", "description")
register_encrypted_column(DocumentVersion, "note")
register_encrypted_column(SubmissionAttachment, "caption")
