"""Stored files: the columns every file row has (``StoredFileMixin``), and the document library (folders,
documents, versions). Alert attachments (``alerts.attachments``) and submission attachments
(``portal.exchange.attachments``) use the mixin and register their models with ``register_stored_file``.

Every file row carries what ``documents.service`` needs to read its blob back (``StoredFileMixin``): the
blob id, the wrapped data key and its key id, the plaintext size, the kind decided from the content, and
a random ``file_uid`` that is bound into the encryption as the file's id (so a blob or a wrapped key copied
onto another row never decrypts). No plaintext digest is kept (migration ``0010``): the STREAM encryption
already authenticates every segment, its place and the end of the file. Images also have a thumbnail, a second blob
encrypted the same way under the id ``<file_uid>:thumb``.

The display name can reveal things (a name, a document number), so it is an encrypted column, like an
attachment's caption and a library document's title and description. The blob store never sees a name.

Access: a library document is itself shareable (``ShareableMixin``). Each version keeps the marking it was
published under (a new version may re-mark the document): a version is seen only by whoever could see the
document under that marking as well as under the current one (``documents.operations.versions_seen_by``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from portal.access import Marking, ShareableMixin
from portal.crypto import EncryptedText
from portal.extensions import db
from portal.parties.models import Party
from portal.rotation import register_encrypted_column
from portal.timeutil import utcnow

from .service import register_file_columns

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
    # The marking the version was published under (migration 0017): its document's at the time.
    distribution_level: Mapped[str] = mapped_column(String(16))
    tlp: Mapped[str] = mapped_column(String(16))
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), nullable=True)
    party_ids: Mapped[list] = mapped_column(JSON, default=list)

    document: Mapped[Document] = relationship(lazy="joined")

    @property
    def marking(self) -> Marking:
        return Marking(self.distribution_level, self.tlp, tuple(self.party_ids or ()), self.network_id)

    __table_args__ = (UniqueConstraint("document_id", "number", name="uq_library_document_versions_document_id_number"),)


def register_stored_file(model: type) -> None:
    """Declare a ``StoredFileMixin`` model to the key ring's registry: its file and thumbnail (rotation,
    verification, ``blobs gc``, the upload clean-up) and its encrypted display name."""
    register_file_columns(model, "file_uid", "wrapped_key", "key_id", blob_id_attr="blob_id", size_attr="size")
    register_file_columns(model, "thumb_file_uid", "thumb_wrapped_key", "thumb_key_id",
                          blob_id_attr="thumb_blob_id", size_attr="thumb_size")
    register_encrypted_column(model, "display_name")


register_stored_file(DocumentVersion)
register_encrypted_column(Document, "title", "description")
register_encrypted_column(DocumentVersion, "note")

from portal.access import register_audited_record
from portal.plan.registry import DOCUMENT_SECURITY, register_action_objectives

# The document library holds specimens of travel documents (ERX-COO-1, activity 2: "regularly exchange
# information on specimens") and material such as the IOM manual on detecting fraudulent documents (MPM-2,
# activity 2.2.1).
register_action_objectives("library.", ("ERX-COO-1", DOCUMENT_SECURITY))
register_action_objectives("document.", ("ERX-COO-1", DOCUMENT_SECURITY))
register_audited_record("library_document", Document)
