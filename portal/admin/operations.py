"""Account administration: the functions that create and change accounts, each writing its audit entry.

Who may be administered at all is decided by ``portal.access.manageable_users``; these functions add
the rules about *what* may be done: which roles a principal may grant (never more than the party kind
allows, and ``manage_all_users`` roles only by its holders), that a principal never deactivates or
demotes themselves, and that a secretariat admin, administering another party, creates only that
party's country administrators. Accounts are deactivated, never deleted. Operations only flush; the
request wrapper commits.

Audit details carry ids and roles only: never an e-mail address, a name or a secret.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import abort, current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from auth.models import ROLES, ApiToken, PasswordResetToken, RecoveryCode, User, email_index
from auth.permissions import ROLES_BY_PARTY_KIND, permissions_for_role
from auth.sessions import revoke_sessions
from portal.access import manageable_users
from portal.admin.notify import tell_party_of_outside_change
from portal.audit.service import record
from portal.crypto import token_digest
from portal.extensions import db
from portal.outbox.service import queue_email
from portal.parties.models import Party
from portal.routing import portal_url
from portal.timeutil import utcnow

# The account a secretariat admin creates for another party: the party's own administrator.
PARTY_ADMIN_ROLE = "country_admin"


class AdminError(ValueError):
    """A refused administrative change; ``field`` names the form input it concerns (or ``None``)."""

    def __init__(self, field: str | None, message):
        super().__init__(str(message))
        self.field = field
        self.message = message


def _audit_user(action: str, user: User, *, outcome: str = "ok", **details) -> None:
    record(action, outcome=outcome, object_type="user", object_id=user.id,
           object_party=user.party.code, details=details)


def _actor_id(actor) -> int | None:
    """A ``User`` or a ``Principal`` (or ``None`` from the command line) -> the acting user's id."""
    if actor is None:
        return None
    return getattr(actor, "user_id", None) or getattr(actor, "id", None)


def get_manageable_or_404(principal, user_id: int) -> User:
    """The one loader for an administered account: not manageable (``portal.access.manageable_users``) and
    nonexistent both answer 404, audited as denied."""
    user = db.session.scalar(manageable_users(principal).where(User.id == user_id))
    if user is None:
        record("user.access", outcome="denied", object_type="user", object_id=user_id, principal=principal)
        abort(404)
    return user


def grantable_roles(principal, party: Party) -> tuple[str, ...]:
    """Roles ``principal`` may give to an account of ``party``, in registry order.

    Own party (``manage_party_users``): the roles the party kind allows, without any role that holds
    ``manage_all_users`` unless the principal holds it too. Another party (``manage_all_users``): only
    that party's administrator role.
    """
    allowed = ROLES_BY_PARTY_KIND.get(party.kind, ())
    if party.id == principal.party_id and principal.can("manage_party_users"):
        return tuple(
            role for role in allowed
            if principal.can("manage_all_users") or "manage_all_users" not in permissions_for_role(role)
        )
    if principal.can("manage_all_users"):
        return tuple(role for role in allowed if role == PARTY_ADMIN_ROLE)
    return ()


def creatable_parties(principal) -> list[Party]:
    """Parties the principal may create accounts in: every active party, or their own."""
    if principal.can("manage_all_users"):
        return list(db.session.scalars(select(Party).where(Party.active.is_(True)).order_by(Party.code)))
    if principal.can("manage_party_users"):
        return list(db.session.scalars(select(Party).where(Party.id == principal.party_id)))
    return []


def can_change_role(principal, user: User) -> bool:
    """Role changes are a party's own business: only within the principal's party, never on oneself."""
    return (
        principal.can("manage_party_users")
        and user.party_id == principal.party_id
        and user.id != principal.user_id
        and user.role in grantable_roles(principal, user.party)
    )


def create_user(principal, *, email: str, full_name: str, role: str, party: Party) -> tuple[User, str]:
    """Create an account without a password and e-mail it a set-password link; returns (user, link)."""
    email = (email or "").strip()
    full_name = (full_name or "").strip()
    if not email:
        raise AdminError("email", _l("Enter an e-mail address."))
    if not full_name:
        raise AdminError("full_name", _l("Enter the person's full name."))
    if party not in creatable_parties(principal):
        raise AdminError("party", _l("You cannot create accounts for this party."))
    if role not in ROLES or role not in grantable_roles(principal, party):
        raise AdminError("role", _l("You cannot give this role to an account of this party."))
    if User.find_by_email(email) is not None:
        raise AdminError("email", _l("An account with this e-mail address already exists."))
    user = User(email=email, full_name=full_name, role=role, active=True, party=party)
    user.email_index = email_index(email)
    db.session.add(user)
    db.session.flush()
    _audit_user("user.create", user, user_id=user.id, role=role)
    tell_party_of_outside_change(principal, user, "created")
    link = issue_password_reset(principal, user)
    return user, link


def issue_password_reset(principal, user: User) -> str:
    """Issue a single-use set-password link (valid ``RESET_LINK_HOURS``), e-mail it and return it.

    Only the link's digest is stored; earlier unused links of the same user stop working. ``principal`` is
    the administrator issuing it (``None`` from the command line).
    """
    now = utcnow()
    _expire_reset_links(user, now)
    secret = secrets.token_urlsafe(32)
    reset = PasswordResetToken(
        user_id=user.id,
        token_digest=token_digest(secret),
        issued_by_id=_actor_id(principal),
        created_at=now,
        expires_at=now + timedelta(hours=current_app.config["RESET_LINK_HOURS"]),
    )
    db.session.add(reset)
    db.session.flush()
    link = portal_url("auth.reset", token=secret)
    hours = current_app.config["RESET_LINK_HOURS"]
    with force_locale(user.locale or "en"):
        subject = gettext("Set your password for the RCM Secure Portal")
        body = gettext(
            "An administrator has issued a link for you to set your password on the RCM Secure Portal.\n\n"
            "%(link)s\n\nThe link works once and expires in %(hours)s hour(s). If you did not expect it, "
            "tell your administrator.",
            link=link,
            hours=hours,
        )
    queue_email(user.email, subject, body)
    _audit_user("user.password_reset_issued", user, user_id=user.id, reset_id=reset.id)
    return link


def _expire_reset_links(user: User, now) -> None:
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None),
               PasswordResetToken.expires_at > now)
        .values(expires_at=now)
    )


def reset_two_factor(principal, user: User) -> None:
    """Forget the user's TOTP secret and recovery codes and end their sessions: they re-enrol at login."""
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    sessions = revoke_sessions(user)
    db.session.flush()
    _audit_user("user.two_factor_reset", user, user_id=user.id, sessions_revoked=sessions)


def deactivate_user(principal, user: User) -> None:
    """Deactivate an account: it can no longer sign in, its sessions, API tokens and links end."""
    if user.id == principal.user_id:
        _audit_user("user.deactivate", user, outcome="denied", user_id=user.id, reason="self")
        raise AdminError(None, _l("You cannot deactivate your own account."))
    if not user.active:
        return
    now = utcnow()
    user.active = False
    user.deactivated_at = now
    sessions = revoke_sessions(user)
    tokens = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    _expire_reset_links(user, now)
    db.session.flush()
    _audit_user("user.deactivate", user, user_id=user.id, sessions_revoked=sessions, api_tokens_revoked=tokens)


def reactivate_user(principal, user: User) -> None:
    """Let a deactivated account sign in again (its revoked sessions and tokens stay revoked)."""
    if user.active:
        return
    user.active = True
    user.deactivated_at = None
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    _audit_user("user.reactivate", user, user_id=user.id)
    tell_party_of_outside_change(principal, user, "reactivated")


def change_role(principal, user: User, new_role: str) -> None:
    """Give ``user`` another role of their party; refused on oneself and outside the principal's party."""
    if user.id == principal.user_id:
        _audit_user("user.role_change", user, outcome="denied", user_id=user.id, reason="self")
        raise AdminError("role", _l("You cannot change your own role."))
    if not can_change_role(principal, user) or new_role not in grantable_roles(principal, user.party):
        _audit_user("user.role_change", user, outcome="denied", user_id=user.id, new_role=str(new_role)[:32])
        raise AdminError("role", _l("You cannot give this role to this account."))
    if new_role == user.role:
        return
    old_role = user.role
    user.role = new_role  # takes effect at the user's next request: permissions are read per request
    db.session.flush()
    _audit_user("user.role_change", user, user_id=user.id, old_role=old_role, new_role=new_role)
    tell_party_of_outside_change(principal, user, "role_changed")


def accounts_created_from_outside(principal) -> list[User]:
    """The accounts of ``principal``'s party that someone outside it created (another party, or the command
    line), as the audit log records them: what a country administrator must be able to check."""
    from portal.audit.models import AuditEntry

    created = select(AuditEntry.object_id).where(
        AuditEntry.action == "user.create", AuditEntry.outcome == "ok", AuditEntry.object_type == "user",
        AuditEntry.object_party == principal.party_code,
        or_(AuditEntry.actor_party.is_(None), AuditEntry.actor_party != principal.party_code))
    ids = {int(value) for value in db.session.scalars(created) if value and value.isdigit()}
    users = db.session.scalars(manageable_users(principal).where(User.id.in_(ids))).all() if ids else []
    return sorted(users, key=lambda user: (user.full_name.casefold(), user.id))  # names are encrypted
