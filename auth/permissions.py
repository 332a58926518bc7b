"""The permission registry: the one place where roles map to named permissions.

Views and templates ask ``has_permission("publish_alert")``; nothing else in the code compares role
names. API tokens carry scopes, and each scope grants a set of permissions; a token can never do more
than its owner's role allows (the two sets are intersected).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# name -> description shown in the README table and the admin pages
PERMISSIONS: dict[str, object] = {
    "view_dashboard": _l("See the dashboard"),
    "manage_own_account": _l("Change the own password, two-factor and language"),
    "view_plan": _l("Browse the plans of action"),
    "view_notices": _l("Read notices distributed to the party"),
    "post_notice": _l("Post notices"),
    "report_alert": _l("Report fraudulent document alerts"),
    "publish_alert": _l("Publish and withdraw alerts"),
    "search_alerts": _l("Search the alert database"),
    "check_alerts": _l("Check a document number (hit / no hit)"),
    "request_hit_confirmation": _l("Ask the reporting party to confirm a hit"),
    "answer_hit_confirmation": _l("Answer the party's hit confirmation requests"),
    "set_confirmation_response_time": _l("Set the party's response time for hit confirmations"),
    "view_confirmation_statistics": _l("See every party's hit confirmation response times"),
    "exchange_intelligence": _l("Send and answer intelligence submissions"),
    "view_directory": _l("See the network directories"),
    "manage_party_directory": _l("Maintain the party's directory entries"),
    "manage_networks": _l("Maintain networks and memberships"),
    "view_library": _l("Read the document library"),
    "manage_library": _l("Add documents to the library"),
    "manage_own_tokens": _l("Create and revoke personal API tokens"),
    "manage_party_users": _l("Manage the accounts of the own party"),
    "manage_all_users": _l("Create country-admin accounts for every party"),
    "view_party_audit": _l("See the audit log of the own party"),
    "view_all_audit": _l("See the whole audit log"),
    "view_region_overview": _l("See the region at a glance (charts of what the party may see)"),
    "view_reporting": _l("See the reporting cycles and the returns shared with the party"),
    "submit_party_return": _l("Fill in and submit the party's periodic returns"),
    "manage_reporting": _l("Open reporting cycles, accept or send back returns"),
}

# How each role is named on the pages.
ROLE_LABELS: dict[str, object] = {
    "secretariat_admin": _l("Secretariat administrator"),
    "country_admin": _l("Country administrator"),
    "liaison_officer": _l("Liaison officer"),
    "border_officer": _l("Border officer"),
    "observer": _l("Observer"),
}

_EVERYONE = {"view_dashboard", "view_plan", "view_notices", "view_directory", "view_library", "manage_own_account",
             "view_reporting"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "secretariat_admin": frozenset(
        _EVERYONE
        | {
            "post_notice",
            "search_alerts",
            "view_confirmation_statistics",
            "exchange_intelligence",
            "manage_networks",
            "manage_library",
            "manage_party_users",
            "manage_all_users",
            "view_party_audit",
            "view_all_audit",
            "view_region_overview",
            "manage_reporting",
        }
    ),
    "country_admin": frozenset(
        _EVERYONE
        | {
            "post_notice",
            "report_alert",
            "publish_alert",
            "search_alerts",
            "check_alerts",
            "request_hit_confirmation",
            "answer_hit_confirmation",
            "set_confirmation_response_time",
            "exchange_intelligence",
            "manage_party_directory",
            "manage_library",
            "manage_own_tokens",
            "manage_party_users",
            "view_party_audit",
            "submit_party_return",
        }
    ),
    "liaison_officer": frozenset(
        _EVERYONE
        | {
            "post_notice",
            "report_alert",
            "publish_alert",
            "search_alerts",
            "check_alerts",
            "request_hit_confirmation",
            "answer_hit_confirmation",
            "exchange_intelligence",
            "manage_library",
            "manage_own_tokens",
            "submit_party_return",
        }
    ),
    "border_officer": frozenset(_EVERYONE | {"search_alerts", "check_alerts", "request_hit_confirmation",
                                             "manage_own_tokens"}),
    "observer": frozenset(_EVERYONE | {"search_alerts"}),
}

# API token scopes -> the permissions a request authenticated by such a token may use.
TOKEN_SCOPES: dict[str, frozenset[str]] = {
    "alerts:check": frozenset({"check_alerts", "request_hit_confirmation"}),
    "alerts:read": frozenset({"search_alerts"}),
    "alerts:write": frozenset({"report_alert", "publish_alert", "answer_hit_confirmation"}),
    "exchange:read": frozenset({"exchange_intelligence"}),
    "exchange:write": frozenset({"exchange_intelligence"}),
    "directory:read": frozenset({"view_directory"}),
    "library:read": frozenset({"view_library"}),
    "reporting:read": frozenset({"view_reporting"}),
    "reporting:write": frozenset({"view_reporting", "submit_party_return"}),
}

# Roles a party of each kind may hold; the admin pages offer only these.
ROLES_BY_PARTY_KIND: dict[str, tuple[str, ...]] = {
    "secretariat": ("secretariat_admin", "observer"),
    "member": ("country_admin", "liaison_officer", "border_officer", "observer"),
    "observer": ("country_admin", "observer"),
    "organisation": ("country_admin", "observer"),
}


def permissions_for_role(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())


def permissions_for_scopes(scopes) -> frozenset[str]:
    granted: set[str] = set()
    for scope in scopes:
        granted |= TOKEN_SCOPES.get(scope, frozenset())
    return frozenset(granted)


def _check_registry() -> None:
    for role, perms in ROLE_PERMISSIONS.items():
        unknown = perms - PERMISSIONS.keys()
        assert not unknown, f"role {role} names unknown permissions {unknown}"
    for scope, perms in TOKEN_SCOPES.items():
        assert not perms - PERMISSIONS.keys(), f"scope {scope} names unknown permissions"


_check_registry()
