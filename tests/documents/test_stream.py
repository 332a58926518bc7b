"""STREAM encryption: round trips at the segment boundaries, every tamper case, constant memory, and the
format of blobs already stored (a reference encoder written from the format's description)."""

from __future__ import annotations

import io
import os
import struct
import tracemalloc
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from documents import stream
from documents.stream import (
    DEFAULT_SEGMENT_SIZE,
    HEADER_SIZE,
    TAG_SIZE,
    StreamEncryptor,
    StreamIntegrityError,
    ciphertext_size,
    decrypt_bytes,
    decrypt_stream,
    encrypt_bytes,
    encrypt_chunks,
)
from portal.crypto import DecryptionError

KEY = bytes(range(32))
SEG = 1024  # small segments keep the tamper tests fast; the round trips use the default size


def pieces(data: bytes, size: int):
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


@pytest.fixture(autouse=True, params=["256 KiB pieces", "one segment per piece"])
def write_size(request, monkeypatch):
    """Every test runs twice: with the real write size, and with an output buffer of one segment, so that
    segment boundaries fall on buffer boundaries."""
    if request.param == "one segment per piece":
        monkeypatch.setattr(stream, "WRITE_SIZE", 1)
    return request.param


@pytest.mark.parametrize(
    "size",
    [0, 1, DEFAULT_SEGMENT_SIZE - 1, DEFAULT_SEGMENT_SIZE, DEFAULT_SEGMENT_SIZE + 1, 3 * 1024 * 1024],
)
def test_round_trip_sizes(size):
    data = os.urandom(size)
    sink = io.BytesIO()
    with StreamEncryptor(sink, KEY, "file-1") as writer:
        for piece in pieces(data, 7777):  # chunk sizes unrelated to the segment size
            writer.write(piece)
    ciphertext = sink.getvalue()
    assert len(ciphertext) == ciphertext_size(size)
    assert writer.plaintext_size == size
    chunks = list(decrypt_stream(io.BytesIO(ciphertext), KEY, "file-1"))
    assert b"".join(chunks) == data
    assert all(len(chunk) <= DEFAULT_SEGMENT_SIZE for chunk in chunks)


def test_empty_file_is_one_empty_last_segment():
    ciphertext = encrypt_bytes(b"", KEY, "f")
    assert len(ciphertext) == HEADER_SIZE + TAG_SIZE
    assert list(decrypt_stream(io.BytesIO(ciphertext), KEY, "f")) == []


def test_generator_form_matches_and_chunks_of_any_size():
    data = os.urandom(5 * SEG + 3)
    ciphertext = b"".join(encrypt_chunks(pieces(data, 1), KEY, "f", SEG))
    assert decrypt_bytes(ciphertext, KEY, "f") == data


def test_short_reads_are_tolerated():
    data = os.urandom(4 * SEG + 7)
    ciphertext = encrypt_bytes(data, KEY, "f", SEG)

    class Trickle(io.BytesIO):
        def read(self, n=-1):
            return super().read(min(n, 100) if n and n > 0 else n)

    assert b"".join(decrypt_stream(Trickle(ciphertext), KEY, "f")) == data
    with pytest.raises(StreamIntegrityError):
        list(decrypt_stream(Trickle(ciphertext[:-1]), KEY, "f"))


# --------------------------------------------------------------------------- format of stored blobs


def reference_encrypt(data: bytes, key: bytes, file_id: str, segment_size: int, prefix: bytes) -> bytes:
    """The version-1 format as the module docstring describes it, one segment at a time, no buffering:
    what blobs stored before the buffered encryptor were made of."""
    header = b"RCMS" + bytes([1]) + struct.pack(">I", segment_size) + prefix
    fid = file_id.encode()
    ad = header + struct.pack(">I", len(fid)) + fid
    aead = AESGCM(key)
    parts = [data[i : i + segment_size] for i in range(0, len(data), segment_size)] or [b""]
    return header + b"".join(
        aead.encrypt(prefix + struct.pack(">I", n) + (b"\x01" if n == len(parts) - 1 else b"\x00"), part, ad)
        for n, part in enumerate(parts)
    )


FORMAT_CASES = ([(SEG, n) for n in (0, 1, 15, 16, 17, 40)] + [(DEFAULT_SEGMENT_SIZE, n) for n in (0, 1, 15, 16, 17)]
                + [(2 * 1024 * 1024, n) for n in (0, 1, 2)])


@pytest.mark.parametrize(("segment_size", "segments"), FORMAT_CASES)
@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_the_format_is_byte_for_byte_the_version_1_format(monkeypatch, segment_size, segments, extra):
    data = os.urandom(max(0, segments * segment_size + extra))
    prefix = os.urandom(7)
    expected = reference_encrypt(data, KEY, "blob-1", segment_size, prefix)
    # Blobs stored by earlier versions decrypt ...
    assert b"".join(decrypt_stream(io.BytesIO(expected), KEY, "blob-1")) == data
    # ... and what is written now is exactly that format, whatever the chunk sizes.
    monkeypatch.setattr(stream, "os", SimpleNamespace(urandom=lambda n: prefix[:n]))
    for chunk in (len(data) or 1, 1000, 3 * segment_size + 5):
        sink = io.BytesIO()
        with StreamEncryptor(sink, KEY, "blob-1", segment_size) as writer:
            for piece in pieces(data, chunk):
                writer.write(piece)
        assert sink.getvalue() == expected


def test_nonces_differ_between_encryptions_of_the_same_file():
    first = encrypt_bytes(b"same", KEY, "f")
    second = encrypt_bytes(b"same", KEY, "f")
    assert first[9:16] != second[9:16] and first != second


# --------------------------------------------------------------------------- tampering

DATA = os.urandom(4 * SEG + 100)  # segments 0..3 full, segment 4 (last) holds 100 bytes
FULL = SEG + TAG_SIZE


@pytest.fixture
def sealed() -> bytes:
    return encrypt_bytes(DATA, KEY, "file-7", SEG)


def segment(ciphertext: bytes, index: int) -> tuple[int, int]:
    start = HEADER_SIZE + index * FULL
    return start, min(start + FULL, len(ciphertext))


def refuse(ciphertext: bytes, file_id="file-7", key=KEY) -> list[bytes]:
    """Decrypt, expecting refusal; return what was yielded before it."""
    out: list[bytes] = []
    with pytest.raises(StreamIntegrityError):
        out.extend(decrypt_stream(io.BytesIO(ciphertext), key, file_id))
    return out


def test_untampered_decrypts(sealed):
    assert decrypt_bytes(sealed, KEY, "file-7") == DATA


@pytest.mark.parametrize("segments_kept", [1, 2, 3, 4])
def test_truncation_at_a_segment_boundary_is_refused(sealed, segments_kept):
    cut = HEADER_SIZE + segments_kept * FULL
    yielded = refuse(sealed[:cut])
    # Segments before the cut are authentic; the one treated as last is not.
    assert b"".join(yielded) == DATA[: (segments_kept - 1) * SEG]


def test_dropping_the_last_segment_is_refused(sealed):
    start, _ = segment(sealed, 4)
    refuse(sealed[:start])


def test_truncation_inside_a_segment_or_header_is_refused(sealed):
    refuse(sealed[:-1])
    refuse(sealed[: HEADER_SIZE + 10])
    refuse(sealed[:HEADER_SIZE])
    refuse(sealed[:5])
    refuse(b"")


def test_swapping_two_segments_is_refused(sealed):
    a0, a1 = segment(sealed, 1)
    b0, b1 = segment(sealed, 2)
    swapped = sealed[:a0] + sealed[b0:b1] + sealed[a0:a1] + sealed[b1:]
    assert len(swapped) == len(sealed)
    assert b"".join(refuse(swapped)) == DATA[:SEG]


def test_duplicating_a_segment_is_refused(sealed):
    a0, a1 = segment(sealed, 1)
    refuse(sealed[:a1] + sealed[a0:a1] + sealed[a1:])


def test_dropping_a_middle_segment_is_refused(sealed):
    a0, a1 = segment(sealed, 2)
    refuse(sealed[:a0] + sealed[a1:])


@pytest.mark.parametrize(
    "offset",
    [
        0,  # magic
        4,  # version
        7,  # segment size
        12,  # nonce prefix
        HEADER_SIZE + 5,  # first segment body
        HEADER_SIZE + SEG + 3,  # first segment tag
        HEADER_SIZE + 2 * FULL + 500,  # a middle segment body
        -1,  # the last segment's tag
        -TAG_SIZE - 1,  # the last segment's body
    ],
)
def test_a_flipped_bit_anywhere_is_refused(sealed, offset):
    damaged = bytearray(sealed)
    damaged[offset] ^= 0x01
    refuse(bytes(damaged))


def test_a_flipped_bit_yields_nothing_from_the_damaged_segment_on(sealed):
    damaged = bytearray(sealed)
    damaged[HEADER_SIZE + 2 * FULL + 10] ^= 0x80
    assert b"".join(refuse(bytes(damaged))) == DATA[: 2 * SEG]


@pytest.mark.parametrize("extra", [b"\x00", os.urandom(TAG_SIZE), os.urandom(FULL), os.urandom(3 * FULL + 5)])
def test_appended_bytes_are_refused(sealed, extra):
    refuse(sealed + extra)


def test_appending_a_valid_segment_of_another_encryption_is_refused(sealed):
    other = encrypt_bytes(DATA, KEY, "file-7", SEG)
    refuse(sealed + other[HEADER_SIZE : HEADER_SIZE + FULL])


def test_another_file_id_is_refused(sealed):
    assert refuse(sealed, file_id="file-8") == []
    assert refuse(sealed, file_id="file-70") == []


def test_another_key_is_refused(sealed):
    assert refuse(sealed, key=bytes(32)) == []


def test_segment_from_another_file_is_refused():
    mine = encrypt_bytes(DATA, KEY, "a", SEG)
    theirs = encrypt_bytes(DATA, KEY, "b", SEG)
    start, end = segment(mine, 1)
    refuse(mine[:start] + theirs[start:end] + mine[end:], file_id="a")


def test_header_with_an_edited_segment_size_is_refused(sealed):
    edited = sealed[:5] + struct.pack(">I", SEG * 2) + sealed[9:]
    refuse(edited)


def test_a_forged_huge_segment_size_is_refused_before_reading(sealed):
    edited = sealed[:5] + struct.pack(">I", 2**31) + sealed[9:]
    refuse(edited)


def test_the_error_is_a_decryption_error():
    assert issubclass(StreamIntegrityError, DecryptionError)


def test_an_unclosed_writer_produces_a_stream_that_never_decrypts():
    sink = io.BytesIO()
    with pytest.raises(RuntimeError), StreamEncryptor(sink, KEY, "f", SEG) as writer:
        writer.write(os.urandom(3 * SEG))
        raise RuntimeError("client went away")
    assert not writer.closed
    refuse(sink.getvalue(), file_id="f")


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        StreamEncryptor(io.BytesIO(), b"short", "f")
    with pytest.raises(ValueError):
        StreamEncryptor(io.BytesIO(), KEY, "f", segment_size=4)
    with pytest.raises(ValueError):
        StreamEncryptor(io.BytesIO(), KEY, "")
    writer = StreamEncryptor(io.BytesIO(), KEY, "f")
    writer.close()
    with pytest.raises(ValueError):
        writer.write(b"late")


# --------------------------------------------------------------------------- memory


class CountingSink:
    def __init__(self):
        self.size = 0

    def write(self, data):
        self.size += len(data)
        return len(data)


def test_encrypting_20_mb_in_1_mb_chunks_runs_in_constant_memory():
    chunk = os.urandom(1024 * 1024)
    sink = CountingSink()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        writer = StreamEncryptor(sink, KEY, "big")
        for _ in range(20):
            writer.write(chunk)
        writer.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size == ciphertext_size(20 * 1024 * 1024)
    assert peak < 3 * 1024 * 1024, peak


def test_decrypting_20_mb_runs_in_constant_memory(tmp_path):
    path = tmp_path / "blob"
    chunk = os.urandom(1024 * 1024)
    with open(path, "wb") as handle, StreamEncryptor(handle, KEY, "big") as writer:
        for _ in range(20):
            writer.write(chunk)
    total = 0
    tracemalloc.start()
    try:
        with open(path, "rb") as handle:
            for piece in decrypt_stream(handle, KEY, "big"):
                total += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 20 * 1024 * 1024
    assert peak < 3 * 1024 * 1024, peak
