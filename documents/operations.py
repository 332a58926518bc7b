"""The document library: folders, documents and their versions. Each change writes its audit entry.

A version's file is stored by ``documents.transfer`` (through ``documents.files``) before its row is written
here, in the request's one transaction; see ``documents.files`` for what happens to it on a refusal or a crash.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import abort
from sqlalchemy import select

from portal.access import (
    DistributionError,
    get_visible_or_404,
    set_distribution,
    validate_distribution,
    visible,
)
from portal.audit.service import record, record_listing
from portal.distribution import check_recipients
from portal.extensions import db
from portal.principal import Principal
from portal.timeutil import utcnow

from .files import ReceivedUpload, file_columns
from .models import Document, DocumentVersion, Folder

MAX_TAGS = 10
MAX_TAG_LENGTH = 40


class LibraryError(ValueError):
    """Invalid library input; ``field`` names it."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self.message = message


def folders() -> list[Folder]:
    """The library's folders, in their display order."""
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
    """The document's versions, newest first."""
    return list(db.session.scalars(select(DocumentVersion).where(DocumentVersion.document_id == document.id)
                                   .order_by(DocumentVersion.number.desc())))


def get_version(document: Document, number: int) -> DocumentVersion | None:
    """Version ``number`` of the document, or None."""
    return db.session.scalar(select(DocumentVersion).where(DocumentVersion.document_id == document.id,
                                                           DocumentVersion.number == number))


def read_library(principal: Principal, folder_id: int | None, tag: str) -> tuple[list[Document], dict[int, int]]:
    """The library documents ``principal`` sees (in ``folder_id``, with ``tag``), newest first, and how many
    it sees per folder; the listing is audited like a detail page (which documents it showed)."""
    statement = visible(Document, principal)
    if folder_id:
        statement = statement.where(Document.folder_id == folder_id)
    documents = list(db.session.scalars(statement.order_by(Document.updated_at.desc(), Document.id.desc())))
    if tag:  # tags are a small JSON list: filtered here, the same way on SQLite and PostgreSQL
        documents = [doc for doc in documents if tag.lower() in {t.lower() for t in doc.tags}]
    counts: dict[int, int] = {}
    for doc in db.session.scalars(visible(Document, principal)):
        counts[doc.folder_id] = counts.get(doc.folder_id, 0) + 1
    record_listing("library.list", object_type="library_document", ids=[doc.id for doc in documents],
                   principal=principal, folder=folder_id, tag=bool(tag))
    return documents, counts


def read_document(principal: Principal, document_id) -> Document:
    """The library document ``principal`` opens (404 when invisible, audited as denied), its reading audited."""
    document = get_visible_or_404(Document, document_id, principal)
    record("document.view", object_type="library_document", object_id=document.id,
           object_party=document.owner_party.code, objectives=document.objectives or None, principal=principal)
    return document


def version_to_download(principal: Principal, document_id, number: int) -> tuple[Document, DocumentVersion]:
    """Version ``number`` of a library document ``principal`` sees; an invisible document (audited as
    denied) or a missing version answers 404."""
    document = get_visible_or_404(Document, document_id, principal)
    version = get_version(document, number)
    if version is None:
        abort(404)
    return document, version


def record_download(principal: Principal, document: Document, version: DocumentVersion, watermarked: bool) -> None:
    """Audit the download of a library version, once its file is known to be readable."""
    record("document.download", object_type="library_document", object_id=document.id,
           object_party=document.owner_party.code, objectives=document.objectives or None, principal=principal,
           details={"version": version.number, "watermarked": watermarked})
