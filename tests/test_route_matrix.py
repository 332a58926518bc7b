"""The application-wide route matrix: every endpoint declares who may use it, and says so in its status.

1. Every endpoint is classified: static files, ``@public`` views, API views (``token_required`` sets
   ``required_scope``) or pages with ``permission_required`` (sets ``required_permission``). A new page
   that declares neither fails here, so no page can be reachable by accident.
2. Every GET route is requested anonymously and as each role, and must answer exactly: anonymous ->
   302 to the login page (public pages 200, API 401); a missing permission -> 403; otherwise 200.
   Routes with URL arguments need a builder in ``URL_BUILDERS`` that creates a record every viewer
   with the permission can see; a GET route without one fails the test until it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from werkzeug.routing import FloatConverter, IntegerConverter

from auth.permissions import permissions_for_role
from tests.directory.factories import make_entry
from tests.directory.factories import network as directory_network
from tests.notices.factories import make_notice
from tests.reporting.factories import shared_return

# (role, party) of each signed-in viewer: a party allowed for that role.
ROLE_VIEWERS = (
    ("secretariat_admin", "TS"),
    ("country_admin", "GTM"),
    ("liaison_officer", "GTM"),
    ("border_officer", "GTM"),
    ("observer", "GTM"),
    ("country_admin", "ARG"),  # an observer country's administrator
    ("observer", "ARG"),
)
VIEWERS = (None, *ROLE_VIEWERS)


@dataclass
class RouteContext:
    """What a URL builder may use to create the record its route shows."""

    make_user: Callable
    party: Callable

    def author(self, role="liaison_officer", party_code="GTM"):
        return self.make_user(role=role, party_code=party_code)


def _notice_detail(ctx: RouteContext) -> dict:
    # members-wide and CLEAR: every role that may read notices sees it (observers included)
    return {"notice_id": make_notice(ctx.author(), level="members", tlp="CLEAR").id}


def _alert(ctx: RouteContext) -> dict:
    # published, members-wide and CLEAR: every role that may search alerts sees it (observers included)
    from portal.extensions import db
    from tests.alerts.factories import report

    alert = report(ctx.author(), tlp="CLEAR", distribution={"level": "members"}, status="published")
    db.session.commit()
    return {"alert_id": alert.id}


def _reset_link(ctx: RouteContext) -> dict:
    import secrets
    from datetime import timedelta

    from auth.models import PasswordResetToken
    from portal.crypto import token_digest
    from portal.extensions import db
    from portal.timeutil import utcnow

    secret = secrets.token_urlsafe(32)
    db.session.add(PasswordResetToken(user_id=ctx.author().id, token_digest=token_digest(secret),
                                      expires_at=utcnow() + timedelta(hours=1)))
    db.session.commit()
    return {"token": secret}


def _submission(ctx: RouteContext) -> dict:
    # sent by GTM to the secretariat: GTM (the sender) and TS (a recipient) see it
    from tests.exchange.factories import make_submission

    return {"submission_id": make_submission(ctx.author(), parties=["TS"], tlp="GREEN").id}


def _draft_submission(ctx: RouteContext) -> dict:
    # a draft of GTM (addressed to TS): only GTM sees it; GTM users who exchange intelligence may edit it
    from tests.exchange.factories import make_submission

    return {"submission_id": make_submission(ctx.author(), send=False, parties=["TS"], tlp="GREEN").id}


def _submission_attachment(ctx: RouteContext) -> dict:
    # a file on a GREEN submission sent by GTM to TS: GTM (the sender) and TS (a recipient) see it
    from tests.exchange.factories import make_submission, make_submission_attachment

    author = ctx.author()
    submission = make_submission(author, parties=["TS"], tlp="GREEN")
    return {"submission_id": submission.id, "attachment_id": make_submission_attachment(author, submission).id}


def _alert_report(user):
    from tests.alerts.factories import report

    return report(user)


def _attachment(ctx: RouteContext) -> dict:
    # a file on a published, members-wide CLEAR alert of GTM: every role that may search alerts sees it
    from tests.documents.factories import gtm_alert, make_attachment

    author = ctx.author()
    alert = gtm_alert(author, tlp="CLEAR", distribution={"level": "members"}, status="published")
    return {"alert_id": alert.id, "attachment_id": make_attachment(author, alert).id}


def _library_document(ctx: RouteContext) -> dict:
    # a members-wide CLEAR library document of GTM: every role that may read the library sees it
    from tests.documents.factories import make_document

    return {"document_id": make_document(ctx.author(), tlp="CLEAR", level="members").id}


def _confirmation_asked_by_gtm(ctx: RouteContext) -> dict:
    # GTM asked MEX to confirm a hit on MEX's alert: GTM's holders of the confirmation permissions see it
    from portal.extensions import db
    from tests.alerts.factories import confirmation_request, report

    alert = report(ctx.author("liaison_officer", "MEX"), tlp="CLEAR", distribution={"level": "members"})
    confirmation = confirmation_request(ctx.author("border_officer", "GTM"), alert)
    db.session.commit()
    return {"confirmation_id": confirmation.id}


# endpoint -> builder(ctx) returning the URL values for a record every permitted viewer can see.
URL_BUILDERS: dict[str, Callable[[RouteContext], dict]] = {
    "notices.detail": _notice_detail,
    "plan.detail": lambda ctx: {"code": "ERX-INF-4"},
    "auth.reset": _reset_link,
    # a GTM account: its own country admin and the secretariat may administer it
    "admin.user_detail": lambda ctx: {"user_id": ctx.author("liaison_officer", "GTM").id},
    "alerts.detail": _alert,
    "alert_print.card": _alert,
    "alerts.revision": lambda ctx: {**_alert(ctx), "seq": 1},
    "alerts.edit": _alert,  # reported by a GTM liaison officer: GTM users holding report_alert may edit it
    # an active GTM entry: every viewer sees it; only GTM's country admin may edit it
    "directory.entry": lambda ctx: {"entry_id": make_entry("GTM").id},
    "directory.edit_entry": lambda ctx: {"entry_id": make_entry("GTM").id},
    "directory.network": lambda ctx: {"network_id": directory_network("LON-CP").id},
    "directory.edit_network": lambda ctx: {"network_id": directory_network("LON-CP").id},
    "directory_api.members": lambda ctx: {"network_id": directory_network("LON-CP").id},
    # a members-wide GREEN published alert (the API answers 401 to every browser session anyway)
    "alerts_api.detail": lambda ctx: {"alert_id": _alert_report(ctx.author()).id},
    "exchange.detail": _submission,
    "exchange_api.detail": _submission,
    "exchange.edit": _draft_submission,
    "submission_attachments.new": _draft_submission,
    "submission_attachments.view": _submission_attachment,
    "submission_attachments.thumbnail": _submission_attachment,
    "submission_attachments.download": _submission_attachment,
    "submission_attachments.api_download": _submission_attachment,
    "alert_attachments.attachments": _alert,
    "alert_attachments.new_attachment": _alert,  # reported by GTM: GTM users holding report_alert may attach files
    "alert_attachments.attachment": _attachment,
    "alert_attachments.view_attachment": _attachment,
    "alert_attachments.attachment_thumbnail": _attachment,
    "alert_attachments.download_attachment": _attachment,
    "alert_attachments_api.attachment": lambda ctx: {"attachment_id": _attachment(ctx)["attachment_id"]},
    "documents.document": _library_document,
    "documents.new_version": _library_document,  # GTM's document: only GTM holders of manage_library add versions
    "documents.download_version": lambda ctx: {**_library_document(ctx), "number": 1},
    "alert_confirmations.detail": _confirmation_asked_by_gtm,
    "confirmations_api.confirmation": _confirmation_asked_by_gtm,
    "library_api.document": _library_document,
    "library_api.version": lambda ctx: {**_library_document(ctx), "number": 1},
    # GTM's submitted return, shared with all members as TLP:GREEN: every viewer sees it, GTM's users fill it
    "reporting.cycle": lambda ctx: {"cycle_id": shared_return()["cycle_id"]},
    "reporting.consolidated": lambda ctx: {"cycle_id": shared_return()["cycle_id"]},
    "reporting.return_page": lambda ctx: shared_return(),
    "reporting.edit_return": lambda ctx: shared_return(),
    "reporting.version": lambda ctx: {**shared_return(), "number": 1},
    "reporting_api.cycle": lambda ctx: {"cycle_id": shared_return()["cycle_id"]},
    "reporting_api.consolidated": lambda ctx: {"cycle_id": shared_return()["cycle_id"]},
    "reporting_api.party_return": lambda ctx: shared_return(),
    "reporting_files.upload": lambda ctx: shared_return(),
}

# Exact statuses that differ from the rule above, with the reason: {(endpoint, viewer): status}, where
# viewer is None (anonymous) or a (role, party) pair from ROLE_VIEWERS, or "signed_in" for all of them.
STATUS_OVERRIDES: dict[tuple[str, object], int] = {
    ("auth.login", "signed_in"): 302,  # already signed in: sent on to the dashboard
    # without the metrics token (PORTAL_METRICS_TOKEN) the metrics route does not exist, for anyone
    ("ops.metrics", None): 404,
    ("ops.metrics", "signed_in"): 404,
    # The two-factor steps are public because they come before the login completes; without a login in
    # progress there is nothing to confirm, so both anonymous and signed-in visitors are redirected.
    ("auth.two_factor", None): 302,
    ("auth.two_factor", "signed_in"): 302,
    ("auth.enrol", None): 302,
    ("auth.enrol", "signed_in"): 302,
    # another party's account is not found, exactly like a nonexistent one
    ("admin.user_detail", ("country_admin", "ARG")): 404,
    # an observer country's administrator holds report_alert, but another party's alert is not theirs to
    # edit: not found, exactly like a nonexistent one
    ("alerts.edit", ("country_admin", "ARG")): 404,
    # another party's directory entry is not found for editing, exactly like a nonexistent one
    ("directory.edit_entry", ("country_admin", "ARG")): 404,
    # an observer country's administrator holds exchange_intelligence, but a submission is seen only by its
    # sender and recipients (observer parties are never recipients): not found, like a nonexistent one
    ("exchange.detail", ("country_admin", "ARG")): 404,
    # a draft is seen only by its sending party: the secretariat (an addressee once it is sent) and an
    # observer country's administrator find neither the edit page nor the upload page
    ("exchange.edit", ("secretariat_admin", "TS")): 404,
    ("exchange.edit", ("country_admin", "ARG")): 404,
    ("submission_attachments.new", ("secretariat_admin", "TS")): 404,
    ("submission_attachments.new", ("country_admin", "ARG")): 404,
    # a submission's files are seen by its sender and recipients only (observer parties are never recipients)
    ("submission_attachments.view", ("country_admin", "ARG")): 404,
    ("submission_attachments.thumbnail", ("country_admin", "ARG")): 404,
    ("submission_attachments.download", ("country_admin", "ARG")): 404,
    # another party's alert is not theirs to attach files to: not found, like a nonexistent one
    ("alert_attachments.new_attachment", ("country_admin", "ARG")): 404,
    # another party's library document is not theirs to add versions to: not found, like a nonexistent one
    ("documents.new_version", ("country_admin", "ARG")): 404,
    ("documents.new_version", ("secretariat_admin", "TS")): 404,
    # a hit confirmation is seen by its two parties only: an observer country's administrator holds the
    # permission, but its party neither asked nor reported
    ("alert_confirmations.detail", ("country_admin", "ARG")): 404,
    # an observer country's administrator holds submit_party_return, but GTM's return is not its to fill in
    ("reporting.edit_return", ("country_admin", "ARG")): 404,
    ("reporting_files.upload", ("country_admin", "ARG")): 404,
}


def _is_static(endpoint: str) -> bool:
    return endpoint == "static" or endpoint.endswith(".static")


def _classify(app, rule) -> str | None:
    view = app.view_functions[rule.endpoint]
    if _is_static(rule.endpoint):
        return "static"
    if getattr(view, "is_public", False):
        return "public"
    if rule.rule.startswith("/api/"):
        return "api" if hasattr(view, "required_scope") else None
    if getattr(view, "required_permission", None):
        return "permission"
    return None


def _get_rules(app):
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and not _is_static(rule.endpoint)),
        key=lambda rule: rule.rule,
    )


def _expected(app, rule, viewer) -> int | None:
    for key in ((rule.endpoint, viewer), (rule.endpoint, "signed_in" if viewer else None)):
        if key in STATUS_OVERRIDES:
            return STATUS_OVERRIDES[key]
    kind = _classify(app, rule)
    if kind == "public":
        return 200
    if kind == "api":
        return 401  # the API never accepts a browser session, only bearer tokens
    if viewer is None:
        return 302
    permission = getattr(app.view_functions[rule.endpoint], "required_permission", None)
    if permission is None:
        return None  # unclassified: reported by test_every_endpoint_is_classified
    return 200 if permission in permissions_for_role(viewer[0]) else 403


def test_every_endpoint_is_classified(app):
    unclassified = sorted(
        f"{rule.endpoint} ({rule.rule})" for rule in app.url_map.iter_rules() if _classify(app, rule) is None
    )
    assert unclassified == [], (
        "these endpoints declare no access rule (use @permission_required, @public or token_required): "
        + ", ".join(unclassified)
    )


def test_every_get_route_with_arguments_has_a_builder(app):
    missing = sorted(rule.endpoint for rule in _get_rules(app) if rule.arguments and rule.endpoint not in URL_BUILDERS)
    assert missing == [], "add a URL builder to tests/test_route_matrix.py URL_BUILDERS for: " + ", ".join(missing)


def test_api_routes_declare_a_scope_or_are_public(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            view = app.view_functions[rule.endpoint]
            assert hasattr(view, "required_scope") or getattr(view, "is_public", False), rule.endpoint


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: "anonymous" if v is None else f"{v[0]}@{v[1]}")
def test_get_route_statuses(app, client, make_user, login_as, party, viewer):
    ctx = RouteContext(make_user=make_user, party=party)
    user = make_user(role=viewer[0], party_code=viewer[1]) if viewer else None
    mismatches = []
    for rule in _get_rules(app):
        if rule.arguments and rule.endpoint not in URL_BUILDERS:
            continue  # reported by test_every_get_route_with_arguments_has_a_builder
        values = URL_BUILDERS[rule.endpoint](ctx) if rule.arguments else {}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        the_client = app.test_client()
        if user is not None:
            login_as(user, the_client)
        response = the_client.get(url)
        want = _expected(app, rule, viewer)
        got = response.status_code
        if want is None:
            continue
        if got == want == 302 and viewer is None and not response.headers["Location"].startswith("/auth/login"):
            mismatches.append(f"{rule.endpoint} {url}: redirects to {response.headers['Location']}, not the login page")
        elif got != want:
            mismatches.append(f"{rule.endpoint} {url}: expected {want}, got {got}")
    assert mismatches == [], "\n".join(mismatches)


def _dummy_values(rule) -> dict:
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 1 if isinstance(converter, IntegerConverter | FloatConverter) else "x"  # subclasses too
    return values


def test_anonymous_posts_are_refused_before_the_view(app, client):
    """Every non-public POST route sends an anonymous visitor to the login page (the API answers 401)."""
    mismatches = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or _classify(app, rule) in ("public", "static"):
            continue
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **_dummy_values(rule))
        response = client.post(url)
        want = 401 if rule.rule.startswith("/api/") else 302
        location = response.headers.get("Location", "")
        if response.status_code != want or (want == 302 and not location.startswith("/auth/login")):
            mismatches.append(f"{rule.endpoint} {url}: {response.status_code} {location}")
    assert mismatches == [], "\n".join(mismatches)


# Query strings a GET API route needs to answer at all (without them it reports the missing field: 422).
API_QUERIES = {"alerts_api.check": {"document_number": "A1234567"}}
# API answers that differ from "200 if the owner's role holds what the route's scope grants, else 403",
# with the reason: {(endpoint, (role, party)): status}.
API_STATUS_OVERRIDES: dict[tuple[str, tuple[str, str]], int] = {
    # a submission and its files are seen by their sender and recipients only (observer parties are never
    # recipients): not found, like a nonexistent one
    ("exchange_api.detail", ("country_admin", "ARG")): 404,
    ("submission_attachments.api_download", ("country_admin", "ARG")): 404,
    # a hit confirmation (asked by GTM of MEX) is seen by the members of its two parties who may request or
    # answer one: the secretariat, observers and an observer country are neither party
    **{("confirmations_api.confirmation", viewer): 404 for viewer in (
        ("secretariat_admin", "TS"), ("observer", "GTM"), ("country_admin", "ARG"), ("observer", "ARG"))},
}


def _api_expected(app, rule, viewer) -> int:
    from auth.permissions import permissions_for_scopes

    if (rule.endpoint, viewer) in API_STATUS_OVERRIDES:
        return API_STATUS_OVERRIDES[(rule.endpoint, viewer)]
    view = app.view_functions[rule.endpoint]
    if getattr(view, "is_public", False) or not view.required_scope:
        return 200
    granted = permissions_for_scopes([view.required_scope])
    return 200 if granted <= permissions_for_role(viewer[0]) else 403


@pytest.mark.parametrize("viewer", ROLE_VIEWERS, ids=lambda v: f"{v[0]}@{v[1]}")
def test_api_get_route_statuses(app, make_user, party, viewer):
    """Every GET API route, called with a token holding every scope by each role: the token acts with at
    most its owner's permissions, so a scope the role does not hold answers 403, exactly."""
    from auth.permissions import TOKEN_SCOPES
    from auth.tokens import create_token
    from portal.extensions import db

    ctx = RouteContext(make_user=make_user, party=party)
    _token, secret = create_token(make_user(role=viewer[0], party_code=viewer[1]), name="matrix",
                                  scopes=list(TOKEN_SCOPES))
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    mismatches, called = [], []
    for rule in _get_rules(app):
        if not rule.rule.startswith("/api/") or (rule.arguments and rule.endpoint not in URL_BUILDERS):
            continue
        called.append(rule.endpoint)
        values = {**(URL_BUILDERS[rule.endpoint](ctx) if rule.arguments else {}), **API_QUERIES.get(rule.endpoint, {})}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        got, want = app.test_client().get(url, headers=headers).status_code, _api_expected(app, rule, viewer)
        if got != want:
            mismatches.append(f"{rule.endpoint} {url}: expected {want}, got {got}")
    assert mismatches == [], "\n".join(mismatches)
    assert {"alerts_api.check", "alerts_api.search", "alerts_api.detail", "exchange_api.detail"} <= set(called)
