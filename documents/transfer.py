"""The one way files come in and go out over HTTP: every feature's upload and download views call this.

Uploads: the body is read off the stream (``documents.receive``, never ``request.form``: Werkzeug would
spool the file to a temporary file in clear), the single part named ``file`` is type-checked, encrypted
and stored as it arrives (``documents.files.store_upload``), and the other fields are returned for the
view to validate. ``upload_page`` is a whole upload page (the empty form, or the file and fields received
and handed to the feature's operation); ``receive_upload_form`` the form part of it; ``receive_api_upload``
does it for the API (raising ``ApiUploadError`` with the status and body to answer, ``created`` is the 201);
``receive_file`` is for a view that stores its file its own way (the alert import).

The blobs a request stores are deleted again, without waiting for ``blobs gc``, when the request ends
without committing a row that references them: ``discard_uncommitted_blobs`` is a teardown of the whole
application (``init_app``), so it covers every upload route of every blueprint.

Downloads: ``send_file`` decrypts a row's file (watermarked when its TLP asks) and streams it with the
headers that keep a browser from running, sniffing or caching it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from flask import Flask, Response, abort, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict
from wtforms.validators import ValidationError

from portal.principal import Principal
from portal.rotation import referenced_blob_ids

from .files import Outgoing, ReceivedUpload, StoredBlobs, read_file, store_upload
from .receive import MalformedUpload, drain_request, receive
from .storage import BlobStoreUnavailable
from .uploads import UploadRefused, limits_from_config
from .watermark import WATERMARKED_TLP, WatermarkTooLarge

SANDBOX_CSP = "sandbox; default-src 'none'"


def init_app(app: Flask) -> None:
    """Clean up uncommitted blobs after every request, and give templates the upload limit and TLPs."""
    app.teardown_request(discard_uncommitted_blobs)
    app.context_processor(lambda: {"upload_limit_mb": upload_limit_mb, "watermarked_tlp": WATERMARKED_TLP})


def upload_limit_mb() -> str:
    """The upload size limit in MB, for the upload pages (``20``, ``2.5``)."""
    return f"{limits_from_config(current_app.config).max_bytes / 1024 / 1024:g}"


# --------------------------------------------------------------------------- receiving


class CsrfRefused(ValueError):
    """The upload form's CSRF token is missing or invalid."""


def check_csrf(fields: MultiDict) -> None:
    """The CSRF check Flask-WTF would do, on the token read off the stream (see ``documents.receive``)."""
    if g.get("upload_csrf_ok") or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(fields.get("csrf_token") or request.headers.get("X-CSRFToken"))
    except ValidationError:
        raise CsrfRefused() from None
    g.upload_csrf_ok = True


def receive_file(fields: MultiDict, store_file: Callable, *, blobs: StoredBlobs, csrf_check=check_csrf):
    """Read the body: text fields into ``fields``, the single file part named ``file`` through
    ``store_file(part)``, which stores it and adds its blobs to ``blobs``.

    Returns what ``store_file`` returned, or None when no file was sent. Raises ``UploadRefused``,
    ``MalformedUpload`` or ``CsrfRefused`` (or what ``store_file`` raised), after deleting whatever this
    request stored. Until the request commits a row for them, ``blobs`` are deleted at its end.
    """
    g.uncommitted_blobs = blobs
    received = []

    def on_file(part):
        if part.name != "file" or received:
            raise UploadRefused("unexpected_file", _("Send exactly one file, in the field named file."))
        received.append(store_file(part))

    try:
        receive(on_file, fields, check_csrf=csrf_check)
    except UploadRefused as refusal:
        blobs.discard()
        if refusal.code != "too_large":
            drain_request()  # so the client reads our answer; bounded by the size limit
        raise
    except BaseException:
        blobs.discard()
        raise
    return received[0] if received else None


def receive_upload(fields: MultiDict, *, allowed, blobs: StoredBlobs, csrf_check=check_csrf) -> ReceivedUpload | None:
    """``receive_file`` for a row's file: checked against ``allowed`` kinds, encrypted and stored."""
    return receive_file(
        fields, lambda part: store_upload(part.chunks(), part.filename, allowed=allowed, blobs=blobs),
        blobs=blobs, csrf_check=csrf_check)


def discard_uncommitted_blobs(error) -> None:
    """A request that stored blobs but did not commit their rows (a crash, a failed commit) deletes them."""
    blobs = g.pop("uncommitted_blobs", None)
    if blobs is None or not blobs.ids:
        return
    try:
        kept = error is None and set(blobs.ids) <= referenced_blob_ids()
    except SQLAlchemyError:  # a broken session: the rows were certainly not committed
        kept = False
    if not kept:
        blobs.discard()


def store_unavailable_message() -> str:
    return _("The file store is unavailable at the moment; nothing was stored. Try again in a few minutes.")


def _refusal_status(refusal: UploadRefused) -> int:
    return 413 if refusal.code == "too_large" else 400


@dataclass
class ReceivedForm:
    """A multipart form whose file was accepted (and stored encrypted) and whose fields validated."""

    form: object
    upload: ReceivedUpload
    blobs: StoredBlobs


def receive_upload_form(make_form, render, *, allowed, record_refusal):
    """Stream a multipart form's file into encrypted storage, then validate the form's other fields.

    ``make_form(fields)`` builds the form from the received fields, ``render(form, status)`` re-renders the
    page, ``record_refusal(refusal)`` audits a refused file. Returns a ``ReceivedForm`` when the file
    and the fields are good; otherwise the page with the error next to the file field, after discarding any
    blob already stored. The caller discards ``blobs`` too if its operation then refuses the input.
    """
    fields, blobs = MultiDict(), StoredBlobs()
    try:
        upload = receive_upload(fields, allowed=allowed, blobs=blobs)
    except UploadRefused as refusal:
        record_refusal(refusal)
        form = make_form(fields)
        form.file.errors = [str(refusal.message)]
        return render(form, _refusal_status(refusal))
    except (MalformedUpload, CsrfRefused):
        form = make_form(fields)
        form.file.errors = [_("The form could not be read. Reload the page and try again.")]
        return render(form, 400)
    except BlobStoreUnavailable:
        form = make_form(fields)
        form.file.errors = [store_unavailable_message()]
        return render(form, 503)
    form = make_form(fields)
    valid = form.validate()
    if upload is None:
        form.file.errors = [*form.file.errors, _("Choose a file to upload.")]
        valid = False
    if not valid:
        blobs.discard()
        return render(form, 400)
    return ReceivedForm(form, upload, blobs)


def upload_page(make_form, render, *, allowed, record_refusal, save):
    """An upload page: on GET the empty form; on POST the file and fields through ``receive_upload_form``
    (the page again with the error when they are refused), then ``save(received)``, which calls the
    feature's operation with the ``ReceivedForm`` and returns the response (a redirect, or the page again)."""
    if request.method == "GET":
        return render(make_form(None), 200)
    received = receive_upload_form(make_form, render, allowed=allowed, record_refusal=record_refusal)
    if not isinstance(received, ReceivedForm):
        return received  # the page again, with the error
    return save(received)


class ApiUploadError(Exception):
    """An API upload to answer with an error: ``status``, ``error`` and the body's other members."""

    def __init__(self, status: int, error: str, **extra):
        super().__init__(error)
        self.status = status
        self.error = error
        self.extra = extra


@dataclass
class ApiUpload:
    """An API upload whose file was stored and whose fields ``check_fields`` accepted."""

    values: dict
    upload: ReceivedUpload


def receive_api_upload(*, allowed, record_refusal, check_fields) -> ApiUpload:
    """Stream an API request's file into encrypted storage, then check its other fields.

    ``check_fields(fields)`` returns ``(values, {field: message})``; ``record_refusal(refusal)`` audits a
    refused file. Raises ``ApiUploadError`` (400 for a body that is not multipart, 413 for a file too large,
    422 naming the file or each bad field) after deleting whatever was stored.
    """
    fields, blobs = MultiDict(), StoredBlobs()
    try:
        upload = receive_upload(fields, allowed=allowed, blobs=blobs, csrf_check=None)
    except UploadRefused as refusal:
        record_refusal(refusal)
        if refusal.code == "too_large":
            raise ApiUploadError(413, str(refusal.message), code=refusal.code) from None
        raise ApiUploadError(422, "invalid input", fields={"file": str(refusal.message)}, code=refusal.code) from None
    except MalformedUpload:
        raise ApiUploadError(400, _("Send multipart/form-data with one part named file.")) from None
    except BlobStoreUnavailable:
        raise ApiUploadError(503, store_unavailable_message(), code="store_unavailable") from None
    values, errors = check_fields(fields)
    if upload is None:
        errors["file"] = _("Send the file in a part named file.")
    if errors:
        blobs.discard()
        raise ApiUploadError(422, "invalid input", fields=errors)
    return ApiUpload(values, upload)


def created(body: dict, location: str) -> Response:
    """The API's answer to a stored upload: 201, the file's description, and its URL in ``Location``."""
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


# --------------------------------------------------------------------------- sending


def content_disposition(disposition: str, filename: str) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''...`` (the display name is already sanitised)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(ch for ch in ascii_name if ch.isprintable() and ch not in '"\\') or "download"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(outgoing: Outgoing, *, filename: str, inline: bool) -> Response:
    """A streamed file with the headers that keep a browser from running, sniffing or caching it."""
    response = Response(outgoing.chunks, mimetype=outgoing.mime_type, direct_passthrough=True)
    if outgoing.length is not None:
        response.content_length = outgoing.length  # a client can tell a cut-off stream from a short file
    response.headers["Content-Disposition"] = content_disposition("inline" if inline else "attachment", filename)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = SANDBOX_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _viewer_name() -> str:
    """The name a watermark shows: the API token's owner, or the signed-in user."""
    token = g.get("api_token")
    return token.user.full_name if token is not None else current_user.full_name


def send_file(row, *, tlp: str, principal: Principal, variant: str = "download",
              record_view: Callable[[bool], None]) -> Response:
    """Stream a row's file: ``view`` (inline for JPEG and PNG), ``thumbnail`` (404 without one) or
    ``download``, watermarked for the viewer when ``tlp`` asks. ``record_view(watermarked)`` audits the
    read once the file is known to be readable."""
    thumbnail = variant == "thumbnail"
    if thumbnail and row.thumb_blob_id is None:
        abort(404)
    try:
        outgoing = read_file(row, tlp=tlp, principal=principal, viewer_name=_viewer_name(), thumbnail=thumbnail)
    except WatermarkTooLarge:
        # Never sent unmarked: only a file stored under larger limits than today's gets here.
        abort(409, description=_("This image is too large to be watermarked for you; ask its owner for a "
                                 "smaller copy."))
    record_view(outgoing.watermarked)
    inline = variant != "download" and (thumbnail or row.kind in ("jpeg", "png"))
    filename = row.display_name if not thumbnail else f"thumbnail-{row.id}.jpg"
    return file_response(outgoing, filename=filename, inline=inline)


# --------------------------------------------------------------------------- API descriptions


def stored_file_json(item) -> dict:
    """What the API says of every stored file, whatever it is attached to (its ``StoredFileMixin`` columns)."""
    return {"display_name": item.display_name, "size": item.size, "kind": item.kind}


def stored_file_properties(kinds) -> dict:
    """The OpenAPI properties of ``stored_file_json`` for a file of one of ``kinds``."""
    return {
        "display_name": {"type": "string", "description": "The sanitised file name (never a storage path)."},
        "size": {"type": "integer", "description": "Bytes stored (after image metadata was stripped)."},
        "kind": {"type": "string", "enum": sorted(kinds)},
    }
