"""The API bodies every feature's file routes share, declared once (pydantic): what is said of a stored
file (``documents.transfer.stored_file_json``) and the answer to a refused upload
(``documents.transfer.ApiUploadError``). Each feature's attachment model extends ``StoredFile``. Then the
bodies of the library's own API (``documents.api``)."""

from typing import Literal

from pydantic import Field

from portal.schemas import ResponseModel, optional, stated


class StoredFile(ResponseModel):
    """The members of ``stored_file_json``; a feature states its ``kind`` vocabulary in its subclass."""

    display_name: str = Field(description="The sanitised file name (never a storage path).")
    size: int = Field(description="Bytes stored (after image metadata was stripped).")
    kind: str


class UploadRefused(ResponseModel):
    """A refused file: one message, and a stable code. Nothing was stored."""

    error: str
    status: int
    code: optional(str)
    fields: optional(dict[str, str])


# --- the library's API (documents.api) ---------------------------------------------------------------

_TIMESTAMP = stated(str, format="date-time")
_LEVEL = Literal["party", "parties", "network", "members"]
_TLP = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]


class LibraryVersion(StoredFile):
    """One version the reader may read, with the TLP it was published under."""

    number: int
    tlp: _TLP
    note: str | None
    created_at: _TIMESTAMP


class LibraryDocument(ResponseModel):
    """A library document as the reader sees it; ``versions`` (newest first) only on the single read, and
    only those the reader could see under the marking each was published under."""

    id: int
    title: str
    description: str
    folder: str
    owner_party: str
    tlp: _TLP
    distribution_level: _LEVEL
    tags: list[str]
    objectives: list[str]
    updated_at: _TIMESTAMP
    versions: optional(list[LibraryVersion])


class LibraryDocumentList(ResponseModel):
    documents: list[LibraryDocument]


LIBRARY_RESPONSES = (LibraryDocument, LibraryDocumentList)
