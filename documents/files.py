"""A row's file: storing a checked upload encrypted in the blob store, and reading it back for a viewer.

Every feature that keeps files (alert attachments, submission attachments, library versions) stores them
here and declares its file model with ``documents.models.register_stored_file``; the request side
(multipart bodies, refusals, download headers) is ``documents.transfer``.

Order of writes, so that a crash never leaves a half record: the blob (and the thumbnail blob) are written
first, the row last, in the request's one transaction. A refusal after a blob was written deletes it at
once (``StoredBlobs.discard``); a request that ends without committing a row for its blobs deletes them
too (``documents.transfer.discard_uncommitted_blobs``, an application-wide teardown). ``flask blobs gc``
removes whatever a killed process left (it keeps every id of ``portal.rotation.referenced_blob_ids()``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from flask import current_app

from portal.audit.service import record
from portal.keyring import current_keyring
from portal.principal import Principal

from . import envelope
from .models import THUMBNAIL_SUFFIX
from .service import DecryptingReader, StoredFile, encrypt_to_store
from .storage import BlobNotFound, current_blob_store
from .uploads import IMAGE_KINDS, KINDS, UploadRefused, inspect_upload, limits_from_config
from .watermark import WatermarkTooLarge, apply_watermark, make_thumbnail, needs_watermark, watermark_text


@dataclass
class StoredBlobs:
    """The blobs one request wrote; ``discard()`` deletes them when the upload is refused after all."""

    ids: list[str] = field(default_factory=list)

    def add(self, blob_id: str) -> None:
        """Remember a blob this request wrote."""
        self.ids.append(blob_id)

    def discard(self) -> None:
        """Delete every blob remembered (the upload was refused, or its row was not committed)."""
        store = current_blob_store()
        for blob_id in self.ids:
            try:
                store.delete(blob_id)
            except Exception:  # an unreachable store: `blobs gc` removes the unreferenced blob later
                current_app.logger.warning("could not delete an uncommitted blob; blobs gc removes it later",
                                           exc_info=True)
        self.ids.clear()

    def keep(self) -> None:
        """Leave the blobs without a row on purpose (a pending import; ``blobs gc`` removes it later)."""
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
    blobs.add(stored.blob_id)
    thumbnail = None
    if is_image:
        thumbnail = encrypt_to_store(store, [make_thumbnail(bytes(kept), checked.kind.code)],
                                     file_uid + THUMBNAIL_SUFFIX, ring)
        blobs.add(thumbnail.blob_id)
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
                   object_party: str | None = None, objectives=None) -> None:
    """Audit a refused upload with its stable refusal code (never the file's name)."""
    record("document.upload", outcome="denied", object_type=object_type, object_id=object_id,
           object_party=object_party, objectives=objectives, details={"reason": refusal.code, "target": target})


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


def _slices(view: memoryview, size: int = 1024 * 1024) -> Iterator[bytes]:
    for start in range(0, len(view), size):
        yield bytes(view[start : start + size])


def _read_at_most(chunks: Iterator[bytes], limit: int) -> bytes:
    """The whole plaintext, or ``WatermarkTooLarge`` as soon as it passes ``limit`` bytes."""
    parts, total = [], 0
    try:
        for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise WatermarkTooLarge(f"more than {limit} bytes")
            parts.append(chunk)
    finally:
        chunks.close()
    return b"".join(parts)


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
        # The mark is drawn on the whole image, so the file is read into memory: never more than an
        # upload may be, and decoded within the upload's decode budget (``watermark.apply_watermark``).
        limits = limits_from_config(current_app.config)
        data = _read_at_most(chunks, limits.max_bytes)
        marked = apply_watermark(data, kind, watermark_text(principal.party_code, viewer_name),
                                 max_decode_bytes=limits.max_decode_bytes)
        return Outgoing(_slices(marked), KINDS[kind].mime_type, len(marked), True)
    return Outgoing(chunks, KINDS[kind].mime_type, size, False)
