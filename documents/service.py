"""Encrypt into, and decrypt out of, the blob store: envelope keys + STREAM + BlobStore in one place.

Plaintext only ever exists in memory, one segment at a time: chunks go through the STREAM encryptor
straight into a ``BlobStore.writer()`` (whose temporary file already holds ciphertext), and reading decrypts
segment by segment out of ``BlobStore.open``.

No digest of the plaintext is kept: every segment is authenticated by its GCM tag under the file's own
data key, with its position (counter) and the end of the file (last-segment flag) in the nonce and the
file's id in the associated data, so a blob that decrypts to the end is exactly what was stored for that
row. A hash over the plaintext would add nothing to that and cost more than the encryption itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO, NamedTuple, Self

from portal.keyring import KeyRing
from portal.rotation import MissingBlob, register_wrapped_key

from . import envelope
from .storage import BlobNotFound, BlobStore, current_blob_store
from .stream import DEFAULT_SEGMENT_SIZE, StreamEncryptor, StreamIntegrityError, decrypt_stream


class StoredFile(NamedTuple):
    """What a file's row keeps: where the ciphertext is, the wrapped data key and the plaintext size."""

    blob_id: str
    wrapped_key: bytes
    key_id: str
    size: int


def encrypt_to_store(
    store: BlobStore,
    chunks: Iterable[bytes],
    file_id: str | int,
    ring: KeyRing,
    *,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
) -> StoredFile:
    """Encrypt ``chunks`` under a new data key into a new blob.

    An exception raised while iterating ``chunks`` (``UploadRefused`` from a size limit, a dropped
    connection) propagates and leaves no blob and no temporary file.
    """
    data_key = envelope.new_data_key()
    wrapped = envelope.wrap(data_key, file_id, ring)
    with store.writer() as blob:
        writer = StreamEncryptor(blob, data_key, file_id, segment_size)
        for chunk in chunks:
            writer.write(chunk)
        writer.close()
    return StoredFile(blob.blob_id, wrapped.wrapped, wrapped.key_id, writer.plaintext_size)


class DecryptingReader:
    """An iterator of plaintext chunks that owns the blob's reader and closes it (WSGI calls ``close()``).

    A ``StreamIntegrityError`` may be raised from any ``next()``: the consumer must treat it as a
    failure of the whole file, even after some chunks were passed on (see ``documents.stream``).
    """

    def __init__(self, handle: BinaryIO, data_key: bytes, file_id: str | int):
        self._handle = handle
        self._chunks = decrypt_stream(handle, data_key, file_id)

    def __iter__(self) -> DecryptingReader:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._chunks.close()
        self._handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def decrypt_from_store(
    store: BlobStore, blob_id: str, wrapped_key: bytes, key_id: str, file_id: str | int, ring: KeyRing
) -> DecryptingReader:
    """Plaintext chunks of a stored file. The key is unwrapped (and the blob opened) before returning,
    so a wrong file id, a missing key or a missing blob fail here rather than mid-response."""
    data_key = envelope.unwrap(wrapped_key, key_id, file_id, ring)
    return DecryptingReader(store.open(blob_id), data_key, file_id)


def verify_stored(
    store: BlobStore,
    blob_id: str,
    wrapped_key: bytes,
    key_id: str,
    file_id: str | int,
    ring: KeyRing,
    *,
    size: int | None = None,
) -> None:
    """Decrypt a whole blob (``keys verify``): every segment's GCM tag, their order, the end of the
    stream, and the plaintext size against the one the row records.

    Raises ``StreamIntegrityError`` (or the unwrap/lookup error) describing what is wrong.
    """
    total = 0
    with decrypt_from_store(store, blob_id, wrapped_key, key_id, file_id, ring) as reader:
        for chunk in reader:
            total += len(chunk)
    if size is not None and total != size:
        raise StreamIntegrityError(f"blob {blob_id} decrypts to {total} bytes, the row records {size}")


def verify_registered_blob(blob_id: str, wrapped_key: bytes, key_id: str, file_id: str | int, ring: KeyRing, *,
                           size: int | None = None) -> None:
    """``verify_stored`` on the application's store, as ``keys verify`` calls it (``portal.rotation``)."""
    try:
        verify_stored(current_blob_store(), blob_id, wrapped_key, key_id, file_id, ring, size=size)
    except BlobNotFound as missing:
        raise MissingBlob(blob_id) from missing


def register_file_columns(model: type, file_id_attr: str, wrapped_attr: str, key_id_attr: str, *,
                          blob_id_attr: str = "blob_id", size_attr: str | None = None) -> None:
    """Register one blob of ``model`` with the key ring's registry, with this service's re-wrap and verify
    (``keys rotate`` and ``keys verify`` call them; ``blobs gc`` and the upload clean-up keep its blobs)."""
    register_wrapped_key(model, file_id_attr, wrapped_attr, key_id_attr, rewrap=envelope.rewrap,
                         verify=verify_registered_blob, blob_id_attr=blob_id_attr, size_attr=size_attr)
