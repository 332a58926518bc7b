"""What the owner of an account learns by mail about sign-in attempts the login page keeps silent on.

The login page answers the same for an unknown, a locked and a deactivated account, so the owner is
told here instead: once per lock, and at most once an hour when someone signs in to a deactivated
account with its password. The mail goes through the outbox, in the owner's language.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale, lazy_gettext

from auth.models import User
from portal.outbox.service import queue_email
from portal.timeutil import utcnow

DEACTIVATED_NOTICE_INTERVAL = timedelta(hours=1)


def _mail_owner(user: User, subject, body) -> None:
    """Queue ``subject`` and ``body`` (lazy strings) to the account's owner, in the owner's language."""
    with force_locale(user.locale or "en"):
        queue_email(user.email, str(subject), str(body))


def mail_lock_notice(user: User, minutes: int) -> None:
    """Tell the owner that the account has just been locked after too many failed attempts."""
    _mail_owner(
        user,
        lazy_gettext("Your RCM Secure Portal account is temporarily locked"),
        lazy_gettext(
            "Your account on the RCM Secure Portal was locked for %(minutes)s minutes after too many failed "
            "sign-in attempts. You can sign in again once the lock expires.\n\nIf these attempts were not "
            "yours, tell your administrator.",
            minutes=minutes,
        ),
    )


def mail_deactivated_notice(user: User) -> bool:
    """Tell the owner of a deactivated account that its password was used; at most once an hour.

    Returns whether a mail was queued.
    """
    now = utcnow()
    if user.sign_in_notice_at is not None and now - user.sign_in_notice_at < DEACTIVATED_NOTICE_INTERVAL:
        return False
    user.sign_in_notice_at = now
    _mail_owner(
        user,
        lazy_gettext("Sign-in attempt on your deactivated RCM Secure Portal account"),
        lazy_gettext(
            "Someone tried to sign in to your account on the RCM Secure Portal with its correct password. "
            "The account has been deactivated and stays so; if you need access again, contact your "
            "administrator.\n\nIf this was not you, tell your administrator at once: someone else knows "
            "your password."
        ),
    )
    return True
