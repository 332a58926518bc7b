"""Telling a party when someone outside it makes, re-activates or re-roles one of its accounts.

The secretariat creates country-admin accounts by design, but an account made in a party by someone
outside it reads that party's party-only records. So every such change is told at once to each active
administrator of the party (in-app and by e-mail), who can check it and deactivate the account.
"""

from __future__ import annotations

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from auth.models import User
from portal.extensions import db
from portal.notifications.operations import notify, party_administrators
from portal.outbox.service import queue_email
from portal.principal import Principal
from portal.routing import portal_path, portal_url


def _what(change: str, **values):
    """The sentence that says what was done, rendered later in each reader's language."""
    if change == "created":
        return _l("An account was created in your party by %(party)s: %(name)s (%(role)s).", **values)
    if change == "reactivated":
        return _l("An account of your party was re-activated by %(party)s: %(name)s (%(role)s).", **values)
    return _l("An account of your party was given another role by %(party)s: %(name)s (%(role)s).", **values)


def tell_party_of_outside_change(principal: Principal | None, user: User, change: str) -> None:
    """If ``principal`` is outside ``user``'s party (or a command), tell that party's administrators
    what it did (``change``: ``created``, ``reactivated`` or ``role_changed``)."""
    if principal is not None and principal.party_id == user.party_id:
        return
    what = _what(change, party=principal.party_code if principal is not None else "CLI", name=user.full_name,
                 role=user.role)
    admins = party_administrators(user.party_id, except_user_id=user.id)
    notify(admins, f"admin.outside_{change}", what, portal_path("admin.user_detail", user_id=user.id), None)
    for admin in admins:
        with force_locale(admin.locale or "en"):
            body = "\n\n".join([str(what), gettext("Check the account, and deactivate it if your party did "
                                                   "not ask for it:"),
                                 portal_url("admin.user_detail", user_id=user.id)])
            queue_email(admin.email, gettext("An account of your party was changed from outside it"), body,
                        flush=False)
    db.session.flush()
