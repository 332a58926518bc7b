"""Password hashing (argon2id, parameters from config) and the strength policy (length + zxcvbn)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import gettext as _
from zxcvbn import zxcvbn

# Verifying against this when the account does not exist keeps login timing the same either way.
_DUMMY_PASSWORD = "not-a-real-password-just-for-timing"


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    hasher = _hasher()
    if not stored_hash:
        hasher.hash(_DUMMY_PASSWORD)  # spend the same time as a real check
        return False
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


def password_problems(password: str, user_inputs=()) -> list[str]:
    """Reasons a new password is refused (empty list: acceptable)."""
    cfg = current_app.config
    problems = []
    if len(password) < cfg["PASSWORD_MIN_LENGTH"]:
        problems.append(_("Use at least %(n)d characters.", n=cfg["PASSWORD_MIN_LENGTH"]))
    if len(password) > 256:
        problems.append(_("Use at most 256 characters."))
    if not problems:
        result = zxcvbn(password[:100], user_inputs=[value for value in user_inputs if value])
        if result["score"] < cfg["PASSWORD_MIN_SCORE"]:
            hint = result["feedback"].get("warning") or ""
            problems.append(_("This password is too easy to guess.") + (f" {hint}" if hint else ""))
    return problems
