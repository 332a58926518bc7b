"""Time-based one-time passwords (RFC 6238) and single-use recovery codes.

A TOTP code is accepted for the current 30-second step and one step either side (clock drift), and
only for a step later than the last one the account used, so a code seen over a shoulder or replayed
from a log cannot be used a second time. Recovery codes are stored as keyed hashes (HMAC-SHA256 with
the key ring's ``token-hmac`` key): a copy of the database does not reveal them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno

from portal.crypto import decrypt_text, encrypt_text
from portal.keyring import KeyRingError, current_keyring

ISSUER = "RCM Portal"
VALID_WINDOW = 1  # steps accepted either side of the current one
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes are typed from paper


def new_secret() -> str:
    """A fresh 160-bit base32 TOTP secret."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_name: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The URI as an SVG QR code in a ``data:`` URI (the CSP allows ``img-src data:``; no inline script)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def format_secret(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, last_step: int | None, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to, if it is valid and later than ``last_step``; else ``None``."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(_as_datetime(now))
    found = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        # compare every candidate (constant work), keep the match
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def _as_datetime(now: float | None):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(time.time() if now is None else now, UTC)


def looks_like_totp(code: str) -> bool:
    code = (code or "").strip().replace(" ", "")
    return len(code) == 6 and code.isdigit()


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``count`` codes like ``k7m2p-x9qrt`` (50 bits each)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def recovery_digest(code: str, key_id: str | None = None) -> str:
    """Keyed hash of a recovery code (dashes, spaces and case do not matter), under the active key."""
    key = current_keyring().derive("token-hmac", key_id)
    return hmac.new(key, b"recovery-code\x1f" + normalise_recovery_code(code).encode(), hashlib.sha256).hexdigest()


def recovery_digest_candidates(code: str) -> list[str]:
    """The code's hash under every key of the ring, so codes issued before a key rotation still work."""
    ring = current_keyring()
    return [recovery_digest(code, key_id) for key_id in ring.keys]


def seal_pending_secret(secret: str, user_id: int) -> str:
    """Encrypt a not-yet-confirmed secret for the (signed, but readable) session cookie."""
    return encrypt_text(secret, purpose="totp-secret", context=f"enrolment:{user_id}")


def open_pending_secret(sealed: str, user_id: int) -> str | None:
    try:
        return decrypt_text(sealed, purpose="totp-secret", context=f"enrolment:{user_id}")
    except (ValueError, KeyRingError):  # tampered, another user's, or under a retired key: start again
        return None
