"""Segmented authenticated encryption of files: the STREAM construction over AES-256-GCM.

STREAM (Hoang, Reyhanitabar, Rogaway, Vizar, "Online Authenticated-Encryption and its Nonce-Reuse
Misuse-Resistance", CRYPTO 2015) cuts a file into segments and seals each one with a nonce made of

    7-byte random prefix || 4-byte big-endian segment counter || 1-byte last-segment flag

so that every segment is authenticated on its own (constant memory both ways) while the counter refuses
reordering and duplication and the last-segment flag refuses truncation and trailing data.

Layout of an encrypted file::

    header (16 bytes): b"RCMS" | version (1 byte) | segment size (4 bytes, big-endian) | nonce prefix (7 bytes)
    segment 0 .. n-1:  ciphertext of ``segment size`` plaintext bytes + 16-byte GCM tag
    segment n (last):  ciphertext of 0 .. ``segment size`` plaintext bytes + 16-byte GCM tag

Every segment's associated data is the whole header followed by the file's id, so a segment (or a whole
ciphertext) moved to another file, or a header whose segment size was edited, fails authentication. An
empty file is one empty last segment (just a tag). Each file has its own data key (see ``envelope``), so
the 56-bit random prefix never has to carry the uniqueness of nonces across files on its own.

Decryption yields each segment's plaintext only after that segment authenticated, but a consumer that
streams plaintext onward (an HTTP download, say) has already passed on the earlier segments when a later
one fails. Such a consumer MUST treat a ``StreamIntegrityError`` raised at any point as a failure of the
whole file (abort the response, do not cache, log), never as a short file.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.crypto import DecryptionError

MAGIC = b"RCMS"
VERSION = 1
HEADER_SIZE = 16
PREFIX_SIZE = 7
TAG_SIZE = 16
KEY_SIZE = 32
DEFAULT_SEGMENT_SIZE = 64 * 1024
MIN_SEGMENT_SIZE = 16
# An upper bound keeps a forged header from making the reader allocate a huge buffer.
MAX_SEGMENT_SIZE = 16 * 1024 * 1024
MAX_SEGMENTS = 2**32
# The encryptor hands ciphertext on in pieces of about this size (whole segments) from one reused buffer:
# a few system calls per MB and no allocation per segment. Larger buffers gain nothing on big files and
# cost small ones (a thumbnail) the page faults of a fresh buffer.
WRITE_SIZE = 256 * 1024

_HEADER = struct.Struct(">4sBI7s")


class StreamIntegrityError(DecryptionError):
    """The encrypted stream is not exactly what was written for this file (tampered, truncated, wrong key)."""


def file_id_bytes(file_id: str | int) -> bytes:
    """The canonical encoding of a file id inside associated data."""
    text = str(file_id)
    if not text:
        raise ValueError("a file id is required")
    return text.encode("utf-8")


def _associated_data(header: bytes, file_id: str | int) -> bytes:
    fid = file_id_bytes(file_id)
    return header + struct.pack(">I", len(fid)) + fid


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError("file data keys are 256-bit")


def ciphertext_size(plaintext_size: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    """Bytes of the encrypted form of ``plaintext_size`` bytes (for checks and accounting)."""
    segments = max(1, -(-plaintext_size // segment_size))
    return HEADER_SIZE + plaintext_size + segments * TAG_SIZE


class StreamEncryptor:
    """A writer that encrypts what it is given, in any chunk sizes, into ``sink`` (a binary file object).

    Holds at most one segment of plaintext and about ``WRITE_SIZE`` bytes of ciphertext, which it hands to
    ``sink.write`` in one call (a memoryview of a buffer it reuses: the sink must consume it before
    returning, as a file's ``write`` does). Whole segments of a large ``write`` are sealed straight from the
    caller's buffer; only the tail that may be the last segment is copied. ``close()`` seals the last
    segment and passes on what is left; a writer abandoned without ``close()`` (an exception inside a
    ``with`` block) leaves a stream that never decrypts - by design. ``close()`` does not close the sink.
    """

    def __init__(
        self, sink: BinaryIO, key: bytes, file_id: str | int, segment_size: int = DEFAULT_SEGMENT_SIZE
    ):
        _check_key(key)
        if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
            raise ValueError(f"segment size must be between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE}")
        self._sink = sink
        self._aead = AESGCM(key)
        self._segment_size = segment_size
        self._prefix = os.urandom(PREFIX_SIZE)
        header = _HEADER.pack(MAGIC, VERSION, segment_size, self._prefix)
        self._ad = _associated_data(header, file_id)
        # The segment being filled (sealed as non-last only once we know more data follows) ...
        self._pending = bytearray(segment_size)
        self._pending_size = 0
        # ... and sealed segments waiting to be written, the header first.
        sealed = segment_size + TAG_SIZE
        self._out = memoryview(bytearray(HEADER_SIZE + max(1, WRITE_SIZE // sealed) * sealed))
        self._out[:HEADER_SIZE] = header
        self._out_size = HEADER_SIZE
        self._counter = 0
        self._closed = False
        self.plaintext_size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed StreamEncryptor")
        view = memoryview(data).cast("B")
        size, position, segment = len(view), 0, self._segment_size
        while position < size:
            if self._pending_size == segment:
                self._seal(memoryview(self._pending), last=False)
                self._pending_size = 0
            if self._pending_size == 0:
                # Whole segments with data after them: sealed in place, without a copy.
                while size - position > segment:
                    self._seal(view[position:position + segment], last=False)
                    position += segment
            take = min(segment - self._pending_size, size - position)
            self._pending[self._pending_size:self._pending_size + take] = view[position:position + take]
            self._pending_size += take
            position += take
        self.plaintext_size += size
        return size

    def _seal(self, plaintext: memoryview, last: bool) -> None:
        if self._counter >= MAX_SEGMENTS:
            raise OverflowError("file too large for a 32-bit segment counter")
        sealed = len(plaintext) + TAG_SIZE
        if self._out_size + sealed > len(self._out):
            self._flush()
        end = self._out_size + sealed
        self._aead.encrypt_into(_nonce(self._prefix, self._counter, last), plaintext, self._ad,
                                self._out[self._out_size:end])
        self._out_size = end
        self._counter += 1

    def _flush(self) -> None:
        if self._out_size:
            self._sink.write(self._out[:self._out_size])
            self._out_size = 0

    def close(self) -> None:
        if self._closed:
            return
        self._seal(memoryview(self._pending)[:self._pending_size], last=True)
        self._flush()
        self._pending_size = 0
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()


class _Drain:
    """A sink that hands back what was written since the last drain (for ``encrypt_chunks``)."""

    def __init__(self):
        self._parts: list[bytes] = []

    def write(self, data: bytes | memoryview) -> int:
        self._parts.append(bytes(data))  # a copy: the encryptor reuses its buffer
        return len(data)

    def drain(self) -> Iterator[bytes]:
        parts, self._parts = self._parts, []
        return iter(parts)


def encrypt_chunks(
    chunks: Iterable[bytes], key: bytes, file_id: str | int, segment_size: int = DEFAULT_SEGMENT_SIZE
) -> Iterator[bytes]:
    """Generator form of ``StreamEncryptor``: plaintext chunks in, ciphertext pieces out, constant memory."""
    sink = _Drain()
    writer = StreamEncryptor(sink, key, file_id, segment_size)
    yield from sink.drain()
    for chunk in chunks:
        writer.write(chunk)
        yield from sink.drain()
    writer.close()
    yield from sink.drain()


def _read_exact(source: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; fewer only at the end of the stream (sockets and S3 bodies read short)."""
    parts = []
    remaining = size
    while remaining:
        data = source.read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


def read_header(source: BinaryIO) -> tuple[bytes, int, bytes]:
    """(raw header, segment size, nonce prefix); refuses anything that is not a version-1 stream."""
    header = _read_exact(source, HEADER_SIZE)
    if len(header) != HEADER_SIZE:
        raise StreamIntegrityError("encrypted file is truncated (incomplete header)")
    magic, version, segment_size, prefix = _HEADER.unpack(header)
    if magic != MAGIC:
        raise StreamIntegrityError("not an encrypted portal file (bad magic)")
    if version != VERSION:
        raise StreamIntegrityError(f"unsupported encrypted file format version {version}")
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise StreamIntegrityError("encrypted file header names an impossible segment size")
    return header, segment_size, prefix


def decrypt_stream(source: BinaryIO, key: bytes, file_id: str | int) -> Iterator[bytes]:
    """Yield the plaintext of each segment of ``source`` once it has authenticated.

    Raises ``StreamIntegrityError`` at the first segment that fails (including a missing last segment,
    trailing bytes, a swapped, repeated or dropped segment, or another file's id). See the module
    docstring: what was yielded before the error is authentic but the file as a whole is not.
    """
    _check_key(key)
    header, segment_size, prefix = read_header(source)
    aead = AESGCM(key)
    ad = _associated_data(header, file_id)
    full = segment_size + TAG_SIZE
    counter = 0
    current = _read_exact(source, full)
    while True:
        following = _read_exact(source, full) if len(current) == full else b""
        last = not following
        if len(current) < TAG_SIZE:
            raise StreamIntegrityError("encrypted file is truncated (segment shorter than its tag)")
        if counter >= MAX_SEGMENTS:
            raise StreamIntegrityError("encrypted file has too many segments")
        try:
            plain = aead.decrypt(_nonce(prefix, counter, last), current, ad)
        except InvalidTag:
            raise StreamIntegrityError(
                f"segment {counter} of the encrypted file failed authentication "
                "(tampered, truncated, reordered, or not this file's)"
            ) from None
        if plain:
            yield plain
        if last:
            return
        counter += 1
        current = following


def decrypt_bytes(data: bytes, key: bytes, file_id: str | int) -> bytes:
    """Whole-buffer convenience for small objects (thumbnails) and tests."""
    return b"".join(decrypt_stream(io.BytesIO(data), key, file_id))


def encrypt_bytes(
    data: bytes, key: bytes, file_id: str | int, segment_size: int = DEFAULT_SEGMENT_SIZE
) -> bytes:
    """Whole-buffer convenience for small objects (thumbnails) and tests."""
    return b"".join(encrypt_chunks([data], key, file_id, segment_size))
