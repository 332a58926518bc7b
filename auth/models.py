"""Accounts and their credentials. Personal data and secrets are stored encrypted or hashed."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import EncryptedText, blind_index
from portal.extensions import db
from portal.parties.models import Party
from portal.timeutil import utcnow

ROLES = ("secretariat_admin", "country_admin", "liaison_officer", "border_officer", "observer")


def email_index(email: str) -> str:
    """Blind index of a normalised e-mail address: logins look users up without a clear column."""
    return blind_index(email.strip().lower(), scope="user-email")


class User(UserMixin, db.Model):
    """A person with an account. Deactivated, never deleted."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(EncryptedText("users.email"))
    email_index: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(EncryptedText("users.full_name"))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText("users.totp_secret", purpose="totp-secret"))
    totp_enrolled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]
    # The digest of the nonce the password step put in that browser's session: the second factor is
    # accepted only with it, once (cleared at login and at a lock), so a replayed cookie opens nothing.
    pending_login_digest: Mapped[str | None] = mapped_column(String(64))
    # When the owner of this deactivated account was last told by mail that someone tried to sign in.
    sign_in_notice_at: Mapped[datetime | None]

    party: Mapped[Party] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return self.active

    @property
    def two_factor_enrolled(self) -> bool:
        return self.totp_enrolled_at is not None

    def is_locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    @classmethod
    def find_by_email(cls, email: str) -> User | None:
        return db.session.scalar(select(cls).where(cls.email_index == email_index(email)))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}@{self.party_id}>"


class UserSession(db.Model):
    """A server-side login session; the browser holds only its random id (stored here as a digest)."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """A single-use two-factor recovery code, stored as a keyed hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class PasswordResetToken(db.Model):
    """A single-use link an administrator issues; only its digest is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ApiToken(db.Model):
    """A personal API token for a machine client (a border system). Shown once, stored as a digest."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    allowed_ips: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


# Key rotation (``portal.rotation``): what this module encrypts and indexes under the key ring.
from portal.rotation import register_blind_index, register_encrypted_column

register_encrypted_column(User, "email", "full_name", "totp_secret")
register_blind_index(User, lambda user: {"email_index": email_index(user.email)}, name="users.email_index")
