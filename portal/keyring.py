"""The key ring: versioned master keys in a file outside the database.

Each purpose (audit HMAC, sealed audit search terms, TOTP secrets, field encryption, blind indexes, file keys) gets its own key,
derived with HKDF from a master key, so that a leak of one derived key exposes nothing else. Master
keys carry ids (``k1``, ``k2``...) so that ciphertexts and audit entries name the key they need and
rotation can add a key without breaking what the older one protects.

A running application follows its ring file: ``current_keyring()`` looks at the file's inode, size and
modification time at most once a second (``RELOAD_CHECK_SECONDS``) and reads it again when they changed,
and a ciphertext naming a key id the ring in memory lacks makes it read the file at once. So ``keys
rotate`` (which rewrites the file atomically, by rename) is taken up by every server process with no
restart, and a value rotated under the new key by another host is readable at its first request.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import threading
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, has_app_context

PURPOSES = frozenset({"audit-hmac", "audit-seal", "totp-secret", "field", "blind-index", "file-key", "token-hmac",
                      "audit-checkpoint"})


class KeyRingError(RuntimeError):
    """The key ring file is missing, unreadable or unsafe."""


@dataclass(frozen=True)
class KeyRing:
    """Master keys by id, and the id of the one new material is protected with."""

    keys: dict[str, bytes]
    active_id: str
    path: Path | None = field(default=None, compare=False)
    # The master key blind indexes are derived from. It is separate from ``active_id`` on purpose: a
    # blind index is compared, never decrypted, so it cannot carry a key id, and rotating the
    # key-encryption keys must not change it. Changing it is its own step (``keys rotate --index``),
    # which recomputes every registered blind index. Empty means "the active key" (old ring files).
    index_key_id: str = ""
    # Derived keys, computed once per ring: HKDF on every call cost more than the HMAC or the AES-GCM it
    # keys (every audit entry, encrypted value, blind index and file key asks). They live no longer, and
    # are no more exposed, than the master keys this object already holds.
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.index_key_id:
            object.__setattr__(self, "index_key_id", self.active_id)

    def derive(self, purpose: str, key_id: str | None = None) -> bytes:
        """The 32-byte key for ``purpose`` under master key ``key_id`` (default: the active one)."""
        if purpose not in PURPOSES:
            raise KeyError(f"unknown key purpose {purpose!r}")
        key_id = key_id or self.active_id
        derived = self._derived.get((purpose, key_id))
        if derived is None:
            if key_id not in self.keys:
                fresher = _reloaded_for_missing_key(self, key_id)
                if fresher is None:
                    raise KeyRingError(f"key {key_id!r} is not in the key ring")
                return fresher.derive(purpose, key_id)
            derived = self._derived[(purpose, key_id)] = _hkdf(self.keys[key_id], purpose)
        return derived

    @classmethod
    def generate(cls) -> KeyRing:
        return cls(keys={"k1": secrets.token_bytes(32)}, active_id="k1")

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": 2,
                "active": self.active_id,
                "index_key": self.index_key_id,
                "keys": {kid: base64.b64encode(key).decode() for kid, key in self.keys.items()},
            },
            indent=2,
        )

    def _next_id(self) -> str:
        numbers = [int(kid[1:]) for kid in self.keys if kid[1:].isdigit()]
        return f"k{max(numbers, default=0) + 1}"

    def with_new_key(self) -> KeyRing:
        """A ring with one more master key, made active (rotation); the blind-index key is unchanged."""
        new_id = self._next_id()
        return KeyRing({**self.keys, new_id: secrets.token_bytes(32)}, new_id, self.path, self.index_key_id)

    def with_new_index_key(self) -> KeyRing:
        """A ring with one more master key, used only for blind indexes (``keys rotate --index``)."""
        new_id = self._next_id()
        return KeyRing({**self.keys, new_id: secrets.token_bytes(32)}, self.active_id, self.path, new_id)

    def without_key(self, key_id: str) -> KeyRing:
        """The ring without ``key_id`` (``keys retire``); never the active or the blind-index key."""
        if key_id in (self.active_id, self.index_key_id):
            raise KeyRingError(f"key {key_id!r} is in use by the ring itself (active or blind-index key)")
        if key_id not in self.keys:
            raise KeyRingError(f"key {key_id!r} is not in the key ring")
        keys = {kid: key for kid, key in self.keys.items() if kid != key_id}
        return KeyRing(keys, self.active_id, self.path, self.index_key_id)

    def save(self, path: Path) -> None:
        """Write atomically with mode 0600."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


@lru_cache(maxsize=256)
def _hkdf(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"rcm-portal:" + purpose.encode()).derive(
        master
    )


def load_keyring(path: str | Path, generate: bool) -> KeyRing:
    """Read the ring; in development create it on first use, with a warning."""
    path = Path(path)
    if not path.exists():
        if not generate:
            raise KeyRingError(f"PORTAL_KEYRING_FILE {path} does not exist")
        ring = KeyRing.generate()
        ring.save(path)
        warnings.warn(
            f"generated a development key ring in {path}; production must set PORTAL_KEYRING_FILE",
            RuntimeWarning,
            stacklevel=2,
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyRingError(f"key ring {path} has mode {mode:o}; it must not be wider than 0600")
    try:
        data = json.loads(path.read_text())
        keys = {kid: base64.b64decode(value) for kid, value in data["keys"].items()}
        active = data["active"]
        # Format 1 files have no "index_key": blind indexes were derived from the active key then.
        index_key = data.get("index_key") or active
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyRingError(f"key ring {path} is not a valid key ring file") from exc
    if active not in keys or index_key not in keys or any(len(key) != 32 for key in keys.values()):
        raise KeyRingError(f"key ring {path} is inconsistent (active or index key missing, or wrong key length)")
    return KeyRing(keys=keys, active_id=active, path=path, index_key_id=index_key)


# How often a serving process looks at its ring file (one stat call).
RELOAD_CHECK_SECONDS = 1.0
_reload_lock = threading.Lock()


def _file_stamp(path: Path) -> tuple | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


class _RingWatch:
    """What the application last read from its ring file, and when it last looked."""

    def __init__(self, path: Path | None, stamp: tuple | None):
        self.path, self.stamp, self.checked = path, stamp, time.monotonic()


def install_keyring(app, ring: KeyRing) -> None:
    """Make ``ring`` the application's, as read from ``ring.path`` now (start-up, ``keys rotate``)."""
    app.extensions["keyring"] = ring
    app.extensions["keyring.watch"] = _RingWatch(ring.path, _file_stamp(ring.path) if ring.path else None)


def refresh_keyring(app, *, force: bool = False) -> KeyRing:
    """The application's ring, read again from its file when the file changed (checked at most once per
    ``RELOAD_CHECK_SECONDS`` unless ``force``). A file that cannot be read keeps the ring in memory."""
    ring = app.extensions["keyring"]
    watch = app.extensions.get("keyring.watch")
    if watch is None or ring.path is None:
        return ring
    now = time.monotonic()
    if not force and now - watch.checked < RELOAD_CHECK_SECONDS:
        return ring
    with _reload_lock:
        ring = app.extensions["keyring"]
        watch.checked = now
        stamp = _file_stamp(ring.path)
        if watch.path != ring.path:  # a ring installed in memory (tests, commands): follow its file from now
            watch.path, watch.stamp = ring.path, stamp
            return ring
        if stamp is None or stamp == watch.stamp:
            return ring
        try:
            fresh = load_keyring(ring.path, generate=False)
        except KeyRingError:
            return ring  # a half-edited or unsafe file: keep serving with what we have, look again later
        app.extensions["keyring"] = fresh
        watch.stamp = stamp
        return fresh


def _reloaded_for_missing_key(ring: KeyRing, key_id: str) -> KeyRing | None:
    """The application's ring re-read at once, when ``ring`` is it and a ciphertext names ``key_id``."""
    if not has_app_context() or current_app.extensions.get("keyring") is not ring:
        return None
    fresh = refresh_keyring(current_app, force=True)
    return fresh if key_id in fresh.keys else None


def current_keyring() -> KeyRing:
    """The ring of the running application (re-read when its file changed; see the module)."""
    return refresh_keyring(current_app)
