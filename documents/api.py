"""Machine API for the document library (scope ``library:read``): the documents a token's owner sees, one
document with the versions it may read, and a version's bytes.

Every read goes through the library's operations, as the pages do: the documents through
``visible(Document)``, the versions through ``operations.versions_seen_by`` (a version is read only by whoever
could see the document under the marking that version was published under as well as the current one), and
every read is audited.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from auth.tokens import token_required
from portal.extensions import csrf
from portal.openapi import contribute, error_response, json_content, operation, path_id, ref
from portal.principal import current_principal
from portal.schemas import component_schemas

from . import api_schemas, operations, transfer
from .models import Document, DocumentVersion

bp = Blueprint("library_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _stamp(moment) -> str:
    return moment.isoformat() + "Z"


def _version_json(version: DocumentVersion) -> dict:
    return {**transfer.stored_file_json(version), "number": version.number, "tlp": version.tlp,
            "note": version.note, "created_at": _stamp(version.created_at)}


def _document_json(document: Document, versions=None) -> dict:
    body = {"id": document.id, "title": document.title, "description": document.description,
            "folder": document.folder.code, "owner_party": document.owner_party.code, "tlp": document.tlp,
            "distribution_level": document.distribution_level, "tags": list(document.tags or []),
            "objectives": list(document.objectives or []), "updated_at": _stamp(document.updated_at)}
    if versions is not None:
        body["versions"] = [_version_json(version) for version in versions]
    return body


@bp.get("/library/documents")
@token_required("library:read", permission="view_library")
def documents():
    """The library documents the token's owner sees, newest first (the listing is audited)."""
    found, _counts = operations.read_library(current_principal(), None, "")
    return jsonify({"documents": [_document_json(document) for document in found]})


@bp.get("/library/documents/<int:document_id>")
@token_required("library:read", permission="view_library", denied_action="document.view",
                object_type="library_document", object_arg="document_id")
def document(document_id: int):
    """One document, with the versions its reader may read (the read is audited)."""
    principal = current_principal()
    doc = operations.read_document(principal, document_id)
    return jsonify(_document_json(doc, operations.versions_seen_by(principal, doc)))


@bp.get("/library/documents/<int:document_id>/versions/<int:number>")
@token_required("library:read", permission="view_library", denied_action="document.download",
                object_type="library_document", object_arg="document_id")
def version(document_id: int, number: int):
    """A version's bytes, watermarked when the document's TLP asks (the download is audited)."""
    principal = current_principal()
    doc, found = operations.version_to_download(principal, document_id, number)
    return transfer.send_file(found, tlp=doc.tlp, principal=principal, record_view=lambda watermarked: (
        operations.record_download(principal, doc, found, watermarked)))


# --- the description of the routes above, for GET /api/v1/openapi.json -------------------------------

_TAGS = ["library"]
_VERSIONS_RULE = ("A version is listed and served only to a reader who could see the document under the "
                  "marking that version was published under as well as under the current one.")

contribute(bp.name, schemas=component_schemas(*api_schemas.LIBRARY_RESPONSES),
           tags=[{"name": "library", "description": "The document library."}], paths={
    "/api/v1/library/documents": {"get": operation(
        operation_id="listLibraryDocuments", summary="The library documents the token's owner sees",
        scope="library:read", tags=_TAGS,
        responses={"200": {"description": "Newest first, without their versions.",
                           "content": json_content(ref("LibraryDocumentList"))}},
    )},
    "/api/v1/library/documents/{document_id}": {"get": operation(
        operation_id="getLibraryDocument", summary="One library document and its versions", scope="library:read",
        tags=_TAGS, description=_VERSIONS_RULE, parameters=[path_id("document_id")],
        responses={"200": {"description": "The document, its versions newest first.",
                           "content": json_content(ref("LibraryDocument"))}},
        errors=(404,),
    )},
    "/api/v1/library/documents/{document_id}/versions/{number}": {"get": operation(
        operation_id="getLibraryVersion", summary="A version's bytes", scope="library:read", tags=_TAGS,
        description=_VERSIONS_RULE + " Images of TLP:AMBER, AMBER+STRICT and RED documents carry a visible "
                    "watermark naming the owner's party and name and the date.",
        parameters=[path_id("document_id"), path_id("number")],
        responses={"200": {"description": "The file.", "content": {
            "application/octet-stream": {"schema": {"type": "string",
                                                    "contentMediaType": "application/octet-stream"}}}},
                   "409": error_response("An image stored under larger limits than today's: too large to be "
                                         "watermarked, never sent unmarked.")},
        errors=(404,),
    )},
})
