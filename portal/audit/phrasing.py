"""How the audit viewer phrases each audited action, in the reader's language: one registry.

Each action has two phrasings: what was done, in the past tense ("published %(object)s"), and what was
tried, as an infinitive ("publish %(object)s"), for an entry refused or failed ("... tried to publish ...").
``%(object)s`` stands for the record the entry names ("alert GTM-2026-0012"), phrased by its object type
(``register_object_kind``), linked to its page when the reader may see it (``portal.access``).

The core's own actions (accounts, sign-in, tokens, the audit log, keys, access decisions) are registered
here; each feature registers its actions' phrasings in its ``audit_phrasings`` module (named in
``AUDIT_PHRASINGS`` of ``create_app``), so the core never names a feature's actions. An action without a
phrasing reads as a generic sentence naming the action (``phrasing_for`` returns ``None``); a test checks
that every action the code records has one.

Phrasings never carry a detail of the entry: the record is named by its reference or id only, so no
document number, secret or searched term reaches a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Phrasing:
    done: object  # lazy string: what happened ("published %(object)s")
    attempt: object  # lazy string: what was tried ("publish %(object)s")


@dataclass(frozen=True)
class ObjectKind:
    label: object  # lazy string naming one record: "alert %(ref)s"
    endpoint: str | None = None  # the record's page, when it has one
    argument: str | None = None  # the page's URL argument taking the record's id
    ref_detail: str = "reference"  # the detail that names the record (else its id)


# action (or "*" + a suffix shared by a family of actions, such as "*.access") -> its phrasing
PHRASINGS: dict[str, Phrasing] = {}
# object_type as the audit names it -> how a record of that type is named and linked
OBJECT_KINDS: dict[str, ObjectKind] = {}


def register_action_phrasings(phrasings: dict[str, tuple]) -> None:
    """Declare ``{action: (done, attempt)}``; a key ``"*.suffix"`` phrases every action ending so."""
    for action, (done, attempt) in phrasings.items():
        PHRASINGS[action] = Phrasing(done, attempt)


def register_object_kind(object_type: str, label, endpoint: str | None = None, argument: str | None = None,
                         ref_detail: str = "reference") -> None:
    """Declare how an ``object_type`` of the audit is named (``label`` with ``%(ref)s``) and where its page is."""
    OBJECT_KINDS[object_type] = ObjectKind(label, endpoint, argument, ref_detail)


def register_object_page(object_type: str, endpoint: str, argument: str) -> None:
    """Declare the page of an ``object_type`` already named (a feature's page for a core record: accounts)."""
    kind = OBJECT_KINDS[object_type]
    OBJECT_KINDS[object_type] = ObjectKind(kind.label, endpoint, argument, kind.ref_detail)


def phrasing_for(action: str) -> Phrasing | None:
    """The action's phrasing: its own, else that of the longest registered suffix it ends with, else None."""
    if action in PHRASINGS:
        return PHRASINGS[action]
    suffixes = [key for key in PHRASINGS if key.startswith("*") and action.endswith(key[1:])]
    return PHRASINGS[max(suffixes, key=len)] if suffixes else None


register_action_phrasings({
    # access decisions of the one access module (portal.access): a page refused, a record not found or hidden
    "access.denied": (_l("opened a page their role allows"), _l("open a page their role does not allow")),
    "*.access": (_l("opened %(object)s"), _l("open %(object)s, which does not exist or is not theirs to see")),
    # sign-in and one's own account
    "auth.login": (_l("signed in"), _l("sign in")),
    "auth.login.failed": (_l("failed to sign in"), _l("sign in")),
    "auth.login.rate_limited": (_l("was slowed down signing in"), _l("sign in too often")),
    "auth.lockout": (_l("locked %(object)s after repeated failed sign-ins"), _l("lock %(object)s")),
    "auth.logout": (_l("signed out"), _l("sign out")),
    "auth.password.change": (_l("changed their password"), _l("change their password")),
    "auth.password.reset": (_l("set a new password with a reset link"),
                            _l("set a new password using a reset link")),
    "auth.profile.update": (_l("updated their profile"), _l("update their profile")),
    "auth.recovery_codes.regenerate": (_l("generated new recovery codes"), _l("generate new recovery codes")),
    "auth.sessions.revoke_others": (_l("signed out their other sessions"), _l("sign out their other sessions")),
    "auth.two_factor.enrol": (_l("enrolled two-factor authentication"), _l("enrol two-factor authentication")),
    "user.language": (_l("chose the portal's language"), _l("choose the portal's language")),
    # accounts administered
    "user.access": (_l("opened %(object)s"), _l("open %(object)s")),
    "user.create": (_l("created %(object)s"), _l("create %(object)s")),
    "user.deactivate": (_l("deactivated %(object)s"), _l("deactivate %(object)s")),
    "user.reactivate": (_l("reactivated %(object)s"), _l("reactivate %(object)s")),
    "user.role_change": (_l("changed the role of %(object)s"), _l("change the role of %(object)s")),
    "user.password_reset_issued": (_l("sent a password reset link for %(object)s"),
                                   _l("send a password reset link for %(object)s")),
    "user.two_factor_reset": (_l("reset two-factor authentication of %(object)s"),
                              _l("reset two-factor authentication for %(object)s")),
    # API tokens and API requests
    "token.create": (_l("created an API token"), _l("create an API token")),
    "token.revoke": (_l("revoked an API token"), _l("revoke an API token")),
    "api.auth.failed": (_l("called the API with a valid token"), _l("call the API with an unknown or expired token")),
    "api.auth.ip_refused": (_l("called the API from an allowed address"),
                            _l("call the API from an address the token does not allow")),
    "api.scope.denied": (_l("called the API within the token's scopes"),
                         _l("call the API beyond the token's scopes")),
    "api.permission.denied": (_l("called the API within their role"), _l("call the API beyond their role")),
    # the audit log, the key ring, backups, requests
    "audit.export": (_l("exported audit entries"), _l("export audit entries")),
    "audit.find_search": (_l("looked up who searched for a term"), _l("look up who searched for a term")),
    "keys.rotate": (_l("rotated the encryption keys"), _l("rotate the encryption keys")),
    "keys.rotate_index": (_l("recomputed the blind indexes"), _l("recompute the blind indexes")),
    "keys.retire": (_l("retired an encryption key"), _l("retire an encryption key")),
    "system.backup": (_l("made a backup"), _l("make a backup")),
    "request.error": (_l("made a request that failed on the server"), _l("make a request")),
    "request.rate_limited": (_l("was slowed down for too many requests"), _l("make too many requests")),
    "notification.read_all": (_l("marked all their notifications as read"),
                              _l("mark all their notifications as read")),
})

register_object_kind("user", _l("the account of %(ref)s"))
register_object_kind("api_token", _l("API token %(ref)s"))
