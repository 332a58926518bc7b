"""The API bodies every feature's file routes share, declared once (pydantic): what is said of a stored
file (``documents.transfer.stored_file_json``) and the answer to a refused upload
(``documents.transfer.ApiUploadError``). Each feature's attachment model extends ``StoredFile``."""

from pydantic import Field

from portal.schemas import ResponseModel, optional


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
