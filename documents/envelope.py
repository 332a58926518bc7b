"""Envelope encryption of file data keys.

Every file gets its own random 256-bit data key. The data key is sealed ("wrapped") with AES-256-GCM
under the key-encryption key ``ring.derive("file-key", key_id)`` of the ring's ACTIVE master key, and the
wrapped key and that key id are stored on the file's row. The file's id (and the key id) are the
associated data, so a wrapped key copied onto another row does not unwrap.

Wrapped form (61 bytes): version byte 0x01 | 12-byte nonce | 32-byte sealed key | 16-byte tag.

Rotation: ``rewrap`` unwraps with the old key id and wraps again under the active one. It is
idempotent (a key already under the active id is returned unchanged), so an interrupted rotation is
simply run again; once no row names the old key id, the old master key can leave the ring.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.crypto import DecryptionError
from portal.keyring import KeyRing

from .stream import KEY_SIZE, file_id_bytes

PURPOSE = "file-key"
WRAP_VERSION = 1
WRAPPED_SIZE = 1 + 12 + KEY_SIZE + 16


class KeyUnwrapError(DecryptionError):
    """A wrapped data key failed authentication (other file, other key id, or tampered)."""


class WrappedKey(NamedTuple):
    wrapped: bytes
    key_id: str


def new_data_key() -> bytes:
    return os.urandom(KEY_SIZE)


def _associated_data(key_id: str, file_id: str | int) -> bytes:
    return b"rcm-portal/file-key/v1\x00" + key_id.encode("ascii") + b"\x00" + file_id_bytes(file_id)


def wrap(data_key: bytes, file_id: str | int, ring: KeyRing) -> WrappedKey:
    """Wrap ``data_key`` under the ring's active key; store both fields of the result with the file."""
    if len(data_key) != KEY_SIZE:
        raise ValueError("file data keys are 256-bit")
    key_id = ring.active_id
    nonce = os.urandom(12)
    sealed = AESGCM(ring.derive(PURPOSE, key_id)).encrypt(nonce, data_key, _associated_data(key_id, file_id))
    return WrappedKey(bytes([WRAP_VERSION]) + nonce + sealed, key_id)


def unwrap(wrapped: bytes, key_id: str, file_id: str | int, ring: KeyRing) -> bytes:
    """The file's data key. Raises ``KeyUnwrapError`` (or ``KeyRingError`` for a key id not in the ring)."""
    wrapped = bytes(wrapped)
    if len(wrapped) != WRAPPED_SIZE or wrapped[0] != WRAP_VERSION:
        raise KeyUnwrapError("wrapped file key has an unknown format")
    kek = ring.derive(PURPOSE, key_id)
    try:
        return AESGCM(kek).decrypt(wrapped[1:13], wrapped[13:], _associated_data(key_id, file_id))
    except InvalidTag:
        raise KeyUnwrapError("wrapped file key failed authentication") from None


def rewrap(wrapped: bytes, key_id: str, ring: KeyRing, file_id: str | int) -> WrappedKey:
    """The same data key wrapped under the ring's active key (unchanged when already there)."""
    if key_id == ring.active_id:
        unwrap(wrapped, key_id, file_id, ring)  # still refuse a broken key instead of carrying it along
        return WrappedKey(bytes(wrapped), key_id)
    return wrap(unwrap(wrapped, key_id, file_id, ring), file_id, ring)
