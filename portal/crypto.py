"""Field encryption (AES-256-GCM) and blind indexes, with keys from the key ring.

A ciphertext is stored as ``<key id>:<base64(nonce || ciphertext)>`` so it names the master key it
needs. Associated data binds a value to where it belongs (table and column), so a ciphertext copied
into another column does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from portal.keyring import current_keyring


class DecryptionError(ValueError):
    """A stored ciphertext failed authentication (tampered, or the wrong key)."""


def encrypt_text(plaintext: str, *, purpose: str = "field", context: str = "") -> str:
    ring = current_keyring()
    key_id = ring.active_id
    nonce = os.urandom(12)
    sealed = AESGCM(ring.derive(purpose, key_id)).encrypt(nonce, plaintext.encode("utf-8"), context.encode())
    return f"{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt_text(stored: str, *, purpose: str = "field", context: str = "") -> str:
    key_id, _, payload = stored.partition(":")
    raw = base64.b64decode(payload)
    try:
        plain = AESGCM(current_keyring().derive(purpose, key_id)).decrypt(raw[:12], raw[12:], context.encode())
    except InvalidTag as exc:
        raise DecryptionError("stored value failed authentication") from exc
    return plain.decode("utf-8")


def blind_index(value: str, *, scope: str = "") -> str:
    """A keyed hash for exact search on an encrypted value, never reversible without the key ring.

    Derived from the ring's dedicated blind-index key (``KeyRing.index_key_id``), not the active key:
    rotating the key-encryption keys leaves every stored index valid (see ``portal.rotation``).
    """
    ring = current_keyring()
    key = ring.derive("blind-index", ring.index_key_id)
    return hmac.new(key, f"{scope}\x1f{value}".encode(), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    """Digest of a high-entropy bearer secret (API tokens, reset links), for lookup by equality."""
    return hashlib.sha256(token.encode()).hexdigest()


class EncryptedText(TypeDecorator):
    """A text column stored encrypted; ``context`` names the column for the associated data."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str, purpose: str = "field"):
        super().__init__()
        self.context = context
        self.purpose = purpose

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encrypt_text(value, purpose=self.purpose, context=self.context)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return decrypt_text(value, purpose=self.purpose, context=self.context)
