"""Reading a multipart upload straight off ``request.stream``: no temporary file, ever.

Werkzeug's form parser (``request.form`` / ``request.files``) spools any file part over 500 KB to a
temporary file, in clear. Upload routes therefore never touch ``request.form``: they read the body with
``MultipartReader``, built on Werkzeug's sans-IO ``MultipartDecoder``, which hands out each part as it
arrives. A text field is kept in memory (bounded); a file part is an iterator of chunks that the caller
feeds through ``uploads.inspect_upload`` into ``service.encrypt_to_store``, so its bytes go from the
socket to the encryptor and then to the blob store as ciphertext. Plaintext exists only in memory.

Type checking is done while streaming: ``inspect_upload`` reads the first chunks, decides the type from
them and refuses early (an SVG, an executable, a name that disagrees), before anything is stored; what
can only be refused later (a PDF action near the end, the size limit) raises from inside the chunk
iterator, which makes ``BlobStore.put`` discard its temporary file. Either way nothing is left behind.

Upload routes are exempt from the global CSRF check (which would read ``request.form``) and check the
token themselves when its part arrives: browsers send parts in document order, and the upload forms put
``csrf_token`` first, so a file part that comes before a valid token is refused unread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, Field, File, MultipartDecoder

from .uploads import UploadRefused, limits_from_config

CHUNK_SIZE = 64 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32


class MalformedUpload(ValueError):
    """The body is not a readable multipart/form-data message."""


def too_large_refusal() -> UploadRefused:
    max_bytes = limits_from_config(current_app.config).max_bytes
    return UploadRefused(
        "too_large", _l("The file is larger than the limit of %(size)s MB.", size=f"{max_bytes / 1024 / 1024:g}")
    )


@dataclass
class Part:
    """One part of the body. A file part must be read (``chunks()``) before the next part is asked for."""

    name: str
    filename: str | None
    reader: MultipartReader
    done: bool = False

    @property
    def is_file(self) -> bool:
        return self.filename is not None

    def chunks(self) -> Iterator[bytes]:
        """The part's bytes as they arrive (never buffered beyond a chunk)."""
        while not self.done:
            event = self.reader.next_event()
            if not isinstance(event, Data):
                raise MalformedUpload("a part ended without its data")
            if not event.more_data:
                self.done = True
            if event.data:
                yield event.data

    def read_text(self) -> str:
        size, parts = 0, []
        for chunk in self.chunks():
            size += len(chunk)
            if size > MAX_FIELD_BYTES:
                raise MalformedUpload("a form field is too long")
            parts.append(chunk)
        try:
            return b"".join(parts).decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedUpload("a form field is not UTF-8") from None


@dataclass
class MultipartReader:
    """Pull parser over a binary stream; ``parts()`` yields ``Part`` objects in body order."""

    stream: object
    boundary: bytes
    decoder: MultipartDecoder = field(init=False)

    def __post_init__(self):
        # The decoder's own buffer holds at most a chunk and a boundary between our reads.
        self.decoder = MultipartDecoder(self.boundary, max_form_memory_size=4 * CHUNK_SIZE, max_parts=MAX_PARTS)

    def next_event(self):
        while True:
            try:
                event = self.decoder.next_event()
                if event is not NEED_DATA:
                    return event
                data = self.stream.read(CHUNK_SIZE)
                self.decoder.receive_data(data or None)
            except UploadRefused:
                raise
            except RequestEntityTooLarge:  # too many parts, or headers that never end
                raise MalformedUpload("the multipart body is not acceptable") from None
            except ValueError as error:
                raise MalformedUpload(str(error)) from None

    def parts(self) -> Iterator[Part]:
        while True:
            event = self.next_event()
            if isinstance(event, Epilogue):
                return
            if isinstance(event, (Field, File)):
                part = Part(event.name, event.filename if isinstance(event, File) else None, self)
                yield part
                for _chunk in part.chunks():  # whatever the consumer left unread
                    pass


def open_upload() -> MultipartReader:
    """A reader over the current request's body, or ``MalformedUpload`` / ``UploadRefused('too_large')``.

    ``request.stream`` is limited to ``MAX_CONTENT_LENGTH``: a declared length above it is refused before
    a byte is read, and an undeclared (chunked) body is cut off when it passes the limit.
    """
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = options.get("boundary", "")
    if mimetype != "multipart/form-data" or not boundary:
        raise MalformedUpload("the body must be multipart/form-data")
    try:
        stream = request.stream
    except RequestEntityTooLarge:
        raise too_large_refusal() from None
    return MultipartReader(_LimitTranslatingStream(stream), boundary.encode("latin-1"))


class _LimitTranslatingStream:
    """``request.stream`` whose over-limit error becomes the portal's own size refusal."""

    def __init__(self, stream):
        self._stream = stream

    def read(self, size: int) -> bytes:
        try:
            return self._stream.read(size)
        except RequestEntityTooLarge:
            raise too_large_refusal() from None


def drain_request() -> None:
    """Read and discard what is left of the body (so the client sees our answer), bounded by the limit."""
    try:
        stream = request.stream
        while stream.read(CHUNK_SIZE):
            pass
    except (RequestEntityTooLarge, OSError, ValueError):
        pass


@dataclass
class ReceivedFile:
    """What the caller's ``on_file`` returned for a file part, with the part's field name."""

    name: str
    result: object


def receive(on_file, fields: MultiDict, *, check_csrf=None) -> list[ReceivedFile]:
    """Read the whole body: text fields into ``fields``, every file part through ``on_file(part)``.

    ``fields`` is the caller's, so that the values read before a refusal can fill the form again.
    ``check_csrf(fields)`` (HTML routes) is called when the first file part arrives and again at the end;
    it raises to refuse. A file input left empty (no file name) is skipped. Exceptions from ``on_file``
    propagate; the caller discards what earlier parts stored (``documents.files.StoredBlobs``).
    """
    reader = open_upload()
    files: list[ReceivedFile] = []
    for part in reader.parts():
        if part.is_file:
            if check_csrf is not None:
                check_csrf(fields)
            if part.filename == "":
                continue
            files.append(ReceivedFile(part.name, on_file(part)))
        else:
            fields.add(part.name, part.read_text())
    if check_csrf is not None:
        check_csrf(fields)
    return files
