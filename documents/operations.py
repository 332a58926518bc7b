"""The document library: folders, documents and their versions. Each change writes its audit entry.

A version's file is stored by ``documents.transfer`` (through ``documents.files``) before its row is written
here, in the request's one transaction; see ``documents.files`` for what happens to it on a refusal or a crash.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.access import (
    DistributionError,
    Marking,
    can_reshare,
    get_visible_or_404,
    history_seen_by,
    sent_to_party_ids,
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


class WiderReshareRefused(LibraryError):
    """A RED or AMBER+STRICT document re-marked to a wider audience (``portal.access.can_reshare``)."""

    def __init__(self):
        super().__init__("distribution", _l("A RED or AMBER+STRICT document cannot be shared more widely than "
                                            "it is."))


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


def add_version(principal: Principal, document: Document, upload: ReceivedUpload, note: str | None = None, *,
                marking: Marking | None = None) -> DocumentVersion:
    """The next version of ``document`` (the caller checked the principal's party owns it), published under
    ``marking`` (default: the document's current one), which becomes the document's. A RED or AMBER+STRICT
    document is never re-marked to a wider audience. The version keeps the marking it was published under."""
    if note is not None and len(note) > 500:
        raise LibraryError("note", "a note has at most 500 characters")
    remarked = marking is not None and marking != current_marking(document)
    if remarked:
        _remark(document, marking)
    number = (db.session.scalar(select(db.func.max(DocumentVersion.number))
                                .where(DocumentVersion.document_id == document.id)) or 0) + 1
    published = current_marking(document)
    version = DocumentVersion(document_id=document.id, number=number, note=(note or "").strip() or None,
                              distribution_level=published.level, tlp=published.tlp,
                              network_id=published.network_id, party_ids=list(published.party_ids),
                              **file_columns(upload, principal.user_id))
    db.session.add(version)
    document.updated_at = utcnow()
    db.session.flush()
    record("document.upload", object_type="library_document", object_id=document.id,
           object_party=document.owner_party.code, objectives=document.objectives or None,
           details={"version": number, "kind": upload.kind, "size": upload.stored.size,
                    **({"level": published.level, "tlp": published.tlp, "recipients": len(published.party_ids),
                        "remarked": True} if remarked else {})})
    return version


def current_marking(document: Document) -> Marking:
    """The document's marking now: its listed parties, or for a network distribution the audience it was
    sent to (frozen when it was sent: ``portal.access.sent_to_party_ids``), sorted."""
    party_ids = (sent_to_party_ids(document) if document.distribution_level == "network"
                 else document.recipient_party_ids)
    return Marking(document.distribution_level, document.tlp, tuple(sorted(party_ids)), document.network_id)


def _remark(document: Document, marking: Marking) -> None:
    try:
        validate_distribution(marking.level, marking.tlp, marking.party_ids, marking.network_id)
    except DistributionError as error:
        raise LibraryError(error.field, error.message) from None
    party_ids, network_id = _check_recipients(document.owner_party_id, marking.level, marking.party_ids,
                                              marking.network_id)
    if not can_reshare(document, marking.level, party_ids=party_ids, network_id=network_id):
        raise WiderReshareRefused()
    set_distribution(document, level=marking.level, tlp=marking.tlp, party_ids=party_ids, network_id=network_id)
    db.session.flush()


def versions_of(document: Document) -> list[DocumentVersion]:
    """The document's versions, newest first (all of them: see ``versions_seen_by`` for a reader's)."""
    return list(db.session.scalars(select(DocumentVersion).where(DocumentVersion.document_id == document.id)
                                   .order_by(DocumentVersion.number.desc())))


def versions_seen_by(principal: Principal, document: Document) -> list[DocumentVersion]:
    """The versions of ``document`` (loaded through ``get_visible_or_404``) that ``principal`` may read,
    newest first: each under the marking it was published under as well as the document's current one. A
    document once AMBER to its party and now GREEN to all keeps its AMBER versions to its party."""
    return history_seen_by(principal, document.owner_party_id, versions_of(document), lambda row: row.marking)


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
    """Version ``number`` of a library document ``principal`` sees, if it may read that version
    (``versions_seen_by``); an invisible document (audited as denied) or a missing version answers 404."""
    document = get_visible_or_404(Document, document_id, principal)
    version = next((row for row in versions_seen_by(principal, document) if row.number == number), None)
    if version is None:
        abort(404)  # no such version, or one published for others: alike
    return document, version


def record_download(principal: Principal, document: Document, version: DocumentVersion, watermarked: bool) -> None:
    """Audit the download of a library version, once its file is known to be readable."""
    record("document.download", object_type="library_document", object_id=document.id,
           object_party=document.owner_party.code, objectives=document.objectives or None, principal=principal,
           details={"version": version.number, "watermarked": watermarked})
