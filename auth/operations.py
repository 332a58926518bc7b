"""What the login and account pages change, and the audit entries that say so.

Views parse input and render; these functions change the accounts and write the audit. They only
flush: the request wrapper commits once. Audit entries name the user by id (the object), never by
e-mail, and never carry a password, code or secret.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from auth import notify, totp
from auth.models import PasswordResetToken, RecoveryCode, User, UserSession
from auth.passwords import hash_password, needs_rehash, password_problems, verify_password
from auth.sessions import current_session_row, revoke_sessions, session_expired, start_session
from portal.audit.service import record
from portal.crypto import token_digest
from portal.extensions import db
from portal.principal import Principal
from portal.timeutil import utcnow

PENDING_LOGIN_MINUTES = 5


def _audit_user(action: str, user: User, *, outcome: str = "ok", details: dict | None = None,
                as_actor: bool = False) -> None:
    record(
        action,
        outcome=outcome,
        object_type="user",
        object_id=user.id,
        object_party=user.party.code,
        details=details,
        principal=Principal.for_user(user) if as_actor else None,
    )


# --- password step -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PasswordCheck:
    """Outcome of the password step: ``ok``, ``invalid``, ``locked`` or ``inactive``."""

    status: str
    user: User | None = None


def record_rate_limited(endpoint: str) -> None:
    """Audit a login request refused by the rate limit (``endpoint``: the login step it hit)."""
    record("auth.login.rate_limited", outcome="denied", details={"endpoint": endpoint})


def check_password(email: str, password: str) -> PasswordCheck:
    """Verify e-mail and password, counting failures towards the lockout.

    Every path hashes a password once (a dummy one for an unknown or locked account), and the caller
    shows one message for every status but ``ok``: the page never tells an unknown, a locked and a
    deactivated account apart. The owner learns more by mail (``auth.notify``).
    """
    user = User.find_by_email(email)
    if user is None:
        verify_password(None, password)
        record("auth.login.failed", outcome="denied", details={"reason": "unknown_account", "stage": "password"})
        return PasswordCheck("invalid")
    if user.is_locked():
        verify_password(None, password)  # same cost; a locked account is not even checked
        _audit_user("auth.login.failed", user, outcome="denied", details={"reason": "locked", "stage": "password"})
        return PasswordCheck("locked", user)
    correct = verify_password(user.password_hash, password)
    if not user.active:
        # Not counted towards a lock: the account cannot sign in anyway, and a lock would mail its owner.
        _audit_user("auth.login.failed", user, outcome="denied", details={"reason": "inactive", "stage": "password"})
        if correct:
            notify.mail_deactivated_notice(user)
        return PasswordCheck("inactive", user)
    if not correct:
        locked = register_failure(user, stage="password")
        return PasswordCheck("locked" if locked else "invalid", user)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)  # argon2 parameters were raised since
    return PasswordCheck("ok", user)


def register_failure(user: User, *, stage: str) -> bool:
    """Count a failed password or second-factor attempt; lock the account at the threshold.

    Returns True when this failure locked the account.
    """
    cfg = current_app.config
    # Atomic increment: concurrent failures (a parallel guessing run) are all counted.
    db.session.flush()
    db.session.execute(
        update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user, attribute_names=["failed_logins"])
    _audit_user("auth.login.failed", user, outcome="denied",
                details={"reason": "bad_credentials", "stage": stage, "failures": user.failed_logins})
    if user.failed_logins >= cfg["LOCKOUT_THRESHOLD"]:
        user.locked_until = utcnow() + timedelta(minutes=cfg["LOCKOUT_MINUTES"])
        user.failed_logins = 0  # a fresh count once the lock expires
        user.pending_login_digest = None  # a login waiting for its second factor ends here
        _audit_user("auth.lockout", user, outcome="denied",
                    details={"stage": stage, "minutes": cfg["LOCKOUT_MINUTES"]})
        notify.mail_lock_notice(user, cfg["LOCKOUT_MINUTES"])
        return True
    db.session.flush()
    return False


def begin_pending_login(user: User) -> str:
    """After the password step: a fresh nonce for this browser's session, its digest kept on the account.

    Only the session holding the newest nonce can pass the second factor, once (``complete_login``
    claims it); a new password step, a lock and the login itself end the previous one.
    """
    nonce = secrets.token_urlsafe(32)
    user.pending_login_digest = token_digest(nonce)
    return nonce


def pending_user(user_id, started_at: float | None, nonce=None) -> User | None:
    """The user of a login waiting for its second factor, if still valid.

    Valid means: 5 minutes at most, the account active and unlocked, and ``nonce`` the one the
    password step gave this session and not yet used.
    """
    if not isinstance(user_id, int) or not isinstance(started_at, int | float) or not isinstance(nonce, str):
        return None
    age = time.time() - started_at
    if age < 0 or age > PENDING_LOGIN_MINUTES * 60:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.is_locked():
        return None
    if not user.pending_login_digest or not hmac.compare_digest(user.pending_login_digest, token_digest(nonce)):
        return None
    return user


def _claim_pending_login(user: User) -> bool:
    """Spend the pending login's nonce, atomically: of two requests replaying one cookie, one wins."""
    digest = user.pending_login_digest
    if not digest:
        return False
    db.session.flush()
    claimed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.pending_login_digest == digest)
        .values(pending_login_digest=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(user, attribute_names=["pending_login_digest"])
    return claimed == 1


# --- second factor -------------------------------------------------------------------------------


def verify_second_factor(user: User, code: str) -> str | None:
    """Check a TOTP code (not replayed) or an unused recovery code; returns the method used, or None.

    A failure counts towards the lockout.
    """
    if totp.looks_like_totp(code):
        step = totp.matching_step(user.totp_secret, code, user.totp_last_step) if user.totp_secret else None
        if step is not None and _claim_totp_step(user, step):
            return "totp"
    else:
        recovery = _unused_recovery_code(user, code)
        if recovery is not None and _claim_recovery_code(recovery):
            return "recovery_code"
    register_failure(user, stage="second_factor")
    return None


def _claim_totp_step(user: User, step: int) -> bool:
    """Record ``step`` as used, atomically: of two concurrent requests with one code, one wins."""
    db.session.flush()
    claimed = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(user, attribute_names=["totp_last_step"])
    return claimed == 1


def _claim_recovery_code(row: RecoveryCode) -> bool:
    """Mark a recovery code used, atomically (single use even under concurrent requests)."""
    db.session.flush()
    claimed = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(row, attribute_names=["used_at"])
    return claimed == 1


def _unused_recovery_code(user: User, code: str) -> RecoveryCode | None:
    if not totp.normalise_recovery_code(code):
        return None
    candidates = totp.recovery_digest_candidates(code)
    rows = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    match = None
    for row in rows:
        for digest in candidates:
            if hmac.compare_digest(row.code_digest, digest):
                match = row
    return match


def remaining_recovery_codes(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    codes = totp.new_recovery_codes()
    db.session.add_all(RecoveryCode(user_id=user.id, code_digest=totp.recovery_digest(code)) for code in codes)
    db.session.flush()
    return codes


def confirm_enrolment(user: User, secret: str, code: str) -> list[str] | None:
    """Store the confirmed TOTP secret (encrypted column) and issue recovery codes, returned once.

    Returns None when the code does not match the new secret (counted towards the lockout).
    """
    step = totp.matching_step(secret, code, None)
    if step is None:
        register_failure(user, stage="enrolment")
        return None
    user.totp_secret = secret
    user.totp_enrolled_at = utcnow()
    user.totp_last_step = step
    codes = _replace_recovery_codes(user)
    _audit_user("auth.two_factor.enrol", user, as_actor=True)
    return codes


def regenerate_recovery_codes(user: User, code: str) -> list[str] | None:
    """New recovery codes (the old unused ones stop working), after a current TOTP code."""
    step = totp.matching_step(user.totp_secret, code, user.totp_last_step) if user.totp_secret else None
    if step is None or not _claim_totp_step(user, step):
        record("auth.recovery_codes.regenerate", outcome="denied", object_type="user", object_id=user.id,
               object_party=user.party.code)
        return None
    codes = _replace_recovery_codes(user)
    record("auth.recovery_codes.regenerate", object_type="user", object_id=user.id, object_party=user.party.code)
    return codes


def complete_login(user: User, method: str) -> bool:
    """Both factors passed: spend the pending login, clear the failure count, start a fresh session.

    Returns False (and signs nobody in) when the pending login was already spent by another request.
    """
    if not _claim_pending_login(user):
        _audit_user("auth.login.failed", user, outcome="denied", details={"reason": "pending_spent", "stage": "second_factor"})
        return False
    user.failed_logins = 0
    user.locked_until = None
    start_session(user)
    _audit_user("auth.login", user, details={"method": method}, as_actor=True)
    return True


def logout(user) -> None:
    from auth.sessions import end_session

    if user is not None and getattr(user, "is_authenticated", False):
        _audit_user("auth.logout", user)
    end_session()


# --- account -------------------------------------------------------------------------------------


def set_locale(user: User, locale: str) -> None:
    if user.locale != locale:
        user.locale = locale
        record("auth.profile.update", object_type="user", object_id=user.id, object_party=user.party.code,
               details={"fields": ["locale"]})


def active_sessions(user: User) -> list[UserSession]:
    """The user's live sessions, newest first (expired ones are not listed)."""
    now = utcnow()
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ).all()
    return sorted((row for row in rows if not session_expired(row, now)), key=lambda r: r.last_seen_at,
                  reverse=True)


def sign_out_other_sessions(user: User) -> int:
    count = revoke_sessions(user, keep_current=True)
    record("auth.sessions.revoke_others", object_type="user", object_id=user.id, object_party=user.party.code,
           details={"revoked": count})
    return count


def current_session_id() -> int | None:
    row = current_session_row()
    return row.id if row is not None else None


def policy_problems(user: User, password: str) -> list[str]:
    return password_problems(password, user_inputs=[user.email, *user.full_name.split(), user.full_name])


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None


def verify_current_password(user: User, password: str) -> bool:
    ok = verify_password(user.password_hash, password)
    if not ok:
        record("auth.password.change", outcome="denied", object_type="user", object_id=user.id,
               object_party=user.party.code, details={"reason": "wrong_current_password"})
    return ok


def change_password(user: User, new_password: str) -> int:
    """Set the new password and revoke every other session of the user; returns how many."""
    _set_password(user, new_password)
    revoked = revoke_sessions(user, keep_current=True)
    record("auth.password.change", object_type="user", object_id=user.id, object_party=user.party.code,
           details={"sessions_revoked": revoked})
    return revoked


# --- password reset links ------------------------------------------------------------------------


def usable_reset_token(secret: str) -> PasswordResetToken | None:
    """The reset link's row if it is unused, unexpired and its account active; refusals are audited."""
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_digest == token_digest(secret or ""))
    )
    reason = None
    if row is None:
        reason = "unknown"
    elif row.used_at is not None:
        reason = "used"
    elif row.expires_at <= utcnow():
        reason = "expired"
    elif not row.user.active:
        reason = "inactive"
    if reason is not None:
        record("auth.password.reset", outcome="denied", object_type="password_reset",
               object_id=row.id if row else None, object_party=row.user.party.code if row else None,
               details={"reason": reason})
        return None
    return row


def reset_password(row: PasswordResetToken, new_password: str) -> None:
    """Use the link once: new password, every outstanding link of the user spent, every session revoked."""
    user = row.user
    now = utcnow()
    _set_password(user, new_password)
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    revoked = revoke_sessions(user)
    record("auth.password.reset", object_type="user", object_id=user.id, object_party=user.party.code,
           details={"reset_id": row.id, "sessions_revoked": revoked})
