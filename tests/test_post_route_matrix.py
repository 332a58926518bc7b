"""The route matrix for every state-changing route: every POST route x role x party, exact status.

Each page POST route is sent an empty form by an anonymous visitor and by each signed-in viewer of
``ROLE_VIEWERS``, against a record of GTM's (built fresh for each call, so that one viewer's successful
action never changes what the next one meets). Each API POST route is sent an empty JSON body with a
token holding every scope, by each viewer. The answer must be exact:

- anonymous: 302 to the login page (the API: 401);
- a viewer whose role lacks the route's permission: 403, before the view reads anything;
- a viewer with the permission: the route's own answer to an empty submission (``PERMITTED``), unless
  the record is not the viewer's party's to change (``OVERRIDES``: 404 where even its existence is not
  confirmed, 403 where the viewer already sees it).

So the access checks of every writing route are proven to run before its validation, for every role, and
a new POST route fails ``test_every_post_route_is_in_the_matrix`` until its expected answers are stated.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from auth.permissions import TOKEN_SCOPES, permissions_for_role, permissions_for_scopes
from tests.test_route_matrix import ROLE_VIEWERS, URL_BUILDERS, RouteContext


def _gtm_user(ctx: RouteContext) -> dict:
    return {"user_id": ctx.author("liaison_officer", "GTM").id}


def _draft_alert(ctx: RouteContext) -> dict:
    from portal.extensions import db
    from tests.alerts.factories import report

    alert = report(ctx.author(), tlp="CLEAR", distribution={"level": "members"}, status="draft")
    db.session.commit()
    return {"alert_id": alert.id}


def _subscription(ctx: RouteContext) -> dict:
    # nobody's own subscription but its owner's: every other viewer meets a subscription it cannot find
    from alerts.models import AlertSubscription
    from portal.extensions import db

    subscription = AlertSubscription(user_id=ctx.author().id, issuing_state="GTM")
    db.session.add(subscription)
    db.session.commit()
    return {"subscription_id": subscription.id}


def _token(ctx: RouteContext) -> dict:
    # another user's token: never anyone else's to revoke
    from auth.tokens import create_token
    from portal.extensions import db

    token, _secret = create_token(ctx.author(), name="someone else's", scopes=["alerts:check"])
    db.session.commit()
    return {"token_id": token.id}


def _membership(ctx: RouteContext) -> dict:
    # a GTM entry's membership of LON-CP (the factory's default network)
    from tests.directory.factories import make_entry

    return {"membership_id": make_entry("GTM").memberships[0].id}


def _network_party(ctx: RouteContext) -> dict:
    from tests.directory.factories import network as directory_network

    return {"network_id": directory_network("LON-CP").id, "party_id": ctx.party("GTM").id}


def _confirmation_asked_of_gtm(ctx: RouteContext) -> dict:
    # MEX asked GTM to confirm a hit on GTM's alert: GTM answers, MEX (the requester) sees it, nobody else
    from portal.extensions import db
    from tests.alerts.factories import confirmation_request, report

    alert = report(ctx.author(), tlp="CLEAR", distribution={"level": "members"})
    confirmation = confirmation_request(ctx.author("border_officer", "MEX"), alert)
    db.session.commit()
    return {"confirmation_id": confirmation.id}


# endpoint -> builder of the URL values: the GET matrix's builders, and those of POST-only routes.
POST_URL_BUILDERS: dict[str, Callable[[RouteContext], dict]] = {
    **URL_BUILDERS,
    "admin.deactivate": _gtm_user,
    "admin.reactivate": _gtm_user,
    "admin.reset_password": _gtm_user,
    "admin.reset_two_factor": _gtm_user,
    "admin.change_role": _gtm_user,
    "alerts.acknowledge": URL_BUILDERS["alerts.detail"],
    "alerts.publish": _draft_alert,
    "alerts.withdraw": URL_BUILDERS["alerts.detail"],
    "alerts.reshare_network": URL_BUILDERS["alerts.detail"],
    "alert_subscriptions.delete": _subscription,
    "auth.revoke": _token,
    "directory.deactivate_entry": URL_BUILDERS["directory.entry"],
    "directory.verify_entry": URL_BUILDERS["directory.entry"],
    "directory.add_membership": URL_BUILDERS["directory.entry"],
    "directory.remove_membership": _membership,
    "directory.add_network_party": URL_BUILDERS["directory.network"],
    "directory.remove_network_party": _network_party,
    "exchange.acknowledge": URL_BUILDERS["exchange.detail"],
    "exchange.close": URL_BUILDERS["exchange.detail"],
    "exchange.forward": URL_BUILDERS["exchange.detail"],
    "exchange.reply": URL_BUILDERS["exchange.detail"],
    "exchange.send": URL_BUILDERS["exchange.edit"],
    "submission_attachments.remove": URL_BUILDERS["submission_attachments.view"],
    "notices.share": URL_BUILDERS["notices.detail"],
    "notices.reshare_network": URL_BUILDERS["notices.detail"],
    "alerts_api.create": lambda ctx: {},
    "alerts_api.check_batch": lambda ctx: {},
    "alert_attachments_api.upload_attachment": URL_BUILDERS["alerts.detail"],
    "exchange_api.acknowledge": URL_BUILDERS["exchange.detail"],
    "submission_attachments.api_upload": URL_BUILDERS["exchange.edit"],
    "alert_confirmations.request_confirmation": URL_BUILDERS["alerts.detail"],
    "alert_confirmations.answer": _confirmation_asked_of_gtm,
    "confirmations_api.request_hit_confirmation": URL_BUILDERS["alerts.detail"],
    "confirmations_api.answer": _confirmation_asked_of_gtm,
    "reporting.save_return": URL_BUILDERS["reporting.return_page"],
    "reporting.submit_return": URL_BUILDERS["reporting.return_page"],
    "reporting.share_return": URL_BUILDERS["reporting.return_page"],
    "reporting.accept_return": URL_BUILDERS["reporting.return_page"],
    "reporting.send_back_return": URL_BUILDERS["reporting.return_page"],
    "reporting_api.submit": URL_BUILDERS["reporting.return_page"],
    "reporting_files.template": URL_BUILDERS["reporting.return_page"],
    "reporting_files.upload": URL_BUILDERS["reporting.return_page"],
    "reporting_files.consolidated_xlsx": URL_BUILDERS["reporting.cycle"],
    "reporting_files.consolidated_csv": URL_BUILDERS["reporting.cycle"],
    "reporting_files.matrix_pdf": URL_BUILDERS["reporting.cycle"],
}

# What a viewer holding the route's permission gets for an empty submission concerning GTM's record, as
# GTM's own country admin or liaison officer meets it. 400: the form is shown again with its errors (the
# API: 400 for a missing file part, 422 naming the missing fields); 302/303: done, or nothing to do, and
# sent on; 200: a page whose empty submission changes nothing (account forms re-render).
PERMITTED: dict[str, int] = {
    "admin.create_user": 400,
    "admin.change_role": 400,
    "admin.deactivate": 302,
    "admin.reactivate": 302,
    "admin.reset_password": 302,
    "admin.reset_two_factor": 302,
    "alerts.new": 400,
    "alerts.edit": 400,
    "alerts.publish": 302,
    "alerts.withdraw": 400,  # a withdrawal needs its reason
    "alerts.reshare_network": 400,  # only a network alert is re-shared with the network's current members
    "alerts.acknowledge": 400,  # the reporting party does not acknowledge its own alert (see OVERRIDES)
    "alert_attachments.new_attachment": 400,
    "alert_bulk.upload": 400,
    "alert_bulk.export_csv": 200,  # exports are POST with CSRF: the file of what the viewer may export
    "alert_bulk.export_json": 200,
    "audit.export": 200,
    "directory.export_csv": 200,
    "directory.export_vcf": 200,
    "alert_bulk.confirm": 302,  # no upload to confirm: back to the import page
    "alert_bulk.full_report": 302,
    "alert_subscriptions.create": 302,
    "alert_subscriptions.delete": 404,  # another user's subscription is not found, for everyone
    "alerts_api.create": 422,
    "alerts_api.check_batch": 422,  # no documents
    "alerts_api.validate_mrz": 422,
    "alert_attachments_api.upload_attachment": 400,
    "exchange_api.create": 422,
    "exchange_api.acknowledge": 403,  # the sending party does not acknowledge its own submission
    "submission_attachments.api_upload": 400,
    "auth.account": 200,
    "auth.change_password": 200,
    "auth.recovery_codes": 200,
    "auth.revoke_other_sessions": 302,
    "auth.tokens": 200,
    "auth.revoke": 404,  # another user's token is not found, for everyone
    "directory.new_entry": 400,
    "directory.edit_entry": 400,
    "directory.deactivate_entry": 302,
    "directory.verify_entry": 302,
    "directory.add_membership": 400,
    "directory.remove_membership": 302,
    "directory.new_network": 400,
    "directory.edit_network": 400,
    "directory.add_network_party": 303,
    "directory.remove_network_party": 303,
    "exchange.new": 400,
    "exchange.edit": 400,
    "exchange.send": 302,
    "exchange.acknowledge": 403,  # the sending party does not acknowledge its own submission
    "exchange.close": 302,
    "exchange.forward": 400,
    "exchange.reply": 400,
    "submission_attachments.new": 400,
    "submission_attachments.remove": 302,
    "documents.new_document": 400,
    "documents.new_version": 400,
    "notices.new": 400,
    "notices.share": 302,
    "notices.reshare_network": 400,  # only a network notice is re-shared with the network's current members
    "notifications.read_all": 302,
    "alert_confirmations.request_confirmation": 400,  # the place and the number are required
    "alert_confirmations.answer": 400,  # an answer must be chosen
    "alert_confirmations.response_time": 400,
    "confirmations_api.request_hit_confirmation": 422,
    "confirmations_api.answer": 422,
    "reporting.open_cycle": 400,
    "reporting.save_return": 302,  # GTM's return is submitted: nothing to change, back to its page
    "reporting.submit_return": 302,  # already submitted: said on its page
    "reporting.share_return": 400,
    "reporting.accept_return": 302,
    "reporting.send_back_return": 400,  # a reason is needed
    "reporting_api.submit": 409,
    "reporting_files.template": 200,
    "reporting_files.upload": 400,  # no file
    "reporting_files.consolidated_xlsx": 200,
    "reporting_files.consolidated_csv": 200,
    "reporting_files.matrix_pdf": 404,  # the route matrix's cycle is of the flows: a table of sums, no matrix  # GTM's return is already submitted
}

# The GET matrix's viewers, and a member country's officer who is neither the owner nor a recipient.
OTHER_MEMBER = ("liaison_officer", "MEX")
POST_VIEWERS = (*ROLE_VIEWERS, OTHER_MEMBER)
SECRETARIAT = ("secretariat_admin", "TS")
OBSERVER_COUNTRY_ADMIN = ("country_admin", "ARG")

# Answers that differ for a viewer: {(endpoint, (role, party)): status}, grouped by reason.
OVERRIDES: dict[tuple[str, tuple[str, str]], int] = {
    # An observer country's administrator holds the permission, but GTM's record (an account, an alert, a
    # directory entry, a library document) is not its party's to change, and a submission is seen only by
    # its sender and recipients: not found, exactly like a nonexistent one.
    **{(endpoint, OBSERVER_COUNTRY_ADMIN): 404 for endpoint in (
        "admin.deactivate", "admin.reactivate", "admin.reset_password", "admin.reset_two_factor",
        "admin.change_role", "alerts.edit", "alerts.publish", "alerts.withdraw", "alerts.reshare_network",
        "alert_attachments.new_attachment",
        "alert_attachments_api.upload_attachment", "directory.edit_entry", "directory.deactivate_entry",
        "directory.verify_entry", "documents.new_version", "exchange.edit", "exchange.send",
        "exchange.acknowledge", "exchange_api.acknowledge", "exchange.close", "exchange.forward",
        "exchange.reply", "submission_attachments.new", "submission_attachments.remove",
        "submission_attachments.api_upload", "reporting.save_return", "reporting.submit_return",
        "reporting.share_return", "reporting_api.submit", "reporting_files.template",
        "reporting_files.upload")},
    # A notice the observer country's administrator reads (members-wide CLEAR) is not its to re-share:
    # refused, since it already sees the notice.
    ("notices.share", OBSERVER_COUNTRY_ADMIN): 403,
    ("notices.reshare_network", OBSERVER_COUNTRY_ADMIN): 403,
    # Another member country's officer: GTM's alert is not its party's to change, GTM's submission was not
    # sent to it, GTM's library document is not its to version (all not found); the members-wide notice it
    # reads is not its to re-share.
    **{(endpoint, OTHER_MEMBER): 404 for endpoint in (
        "alerts.edit", "alerts.publish", "alerts.withdraw", "alerts.reshare_network",
        "alert_attachments.new_attachment",
        "alert_attachments_api.upload_attachment", "documents.new_version", "exchange.edit", "exchange.send",
        "exchange.acknowledge", "exchange_api.acknowledge", "exchange.close", "exchange.forward",
        "exchange.reply", "submission_attachments.new", "submission_attachments.remove",
        "submission_attachments.api_upload", "reporting.save_return", "reporting.submit_return",
        "reporting.share_return", "reporting_api.submit", "reporting_files.template",
        "reporting_files.upload")},
    ("notices.share", OTHER_MEMBER): 403,
    ("notices.reshare_network", OTHER_MEMBER): 403,
    # MEX asked GTM for the confirmation: it sees the request but only GTM answers it. An observer
    # country's administrator is neither party: not found.
    ("alert_confirmations.answer", OTHER_MEMBER): 403,
    ("alert_confirmations.answer", OBSERVER_COUNTRY_ADMIN): 404,
    ("alerts.acknowledge", OTHER_MEMBER): 302,
    # Other parties acknowledge GTM's alert (it is members-wide), and nothing more is asked of them.
    ("alerts.acknowledge", SECRETARIAT): 302,
    ("alerts.acknowledge", OBSERVER_COUNTRY_ADMIN): 302,
    ("alerts.acknowledge", ("observer", "ARG")): 302,
    # The secretariat is the submission's addressee: it acknowledges it, but may neither close it nor
    # remove its files; a draft, and GTM's library document, are GTM's alone (not found).
    ("exchange.acknowledge", SECRETARIAT): 302,
    ("exchange_api.acknowledge", SECRETARIAT): 200,
    ("exchange.close", SECRETARIAT): 403,
    ("notices.share", SECRETARIAT): 403,
    ("notices.reshare_network", SECRETARIAT): 403,
    **{(endpoint, SECRETARIAT): 404 for endpoint in (
        "exchange.edit", "exchange.send", "submission_attachments.new", "submission_attachments.api_upload",
        "submission_attachments.remove", "documents.new_version")},
}


def _post_rules(app):
    from tests.test_route_matrix import _classify

    return sorted(
        (rule for rule in app.url_map.iter_rules()
         if "POST" in rule.methods and _classify(app, rule) not in ("public", "static")),
        key=lambda rule: rule.rule,
    )


def _required_permissions(app, rule) -> frozenset[str]:
    view = app.view_functions[rule.endpoint]
    if rule.rule.startswith("/api/"):
        return permissions_for_scopes([view.required_scope]) if view.required_scope else frozenset()
    return frozenset({view.required_permission})


def _expected(app, rule, viewer) -> int:
    if (rule.endpoint, viewer) in OVERRIDES:
        return OVERRIDES[(rule.endpoint, viewer)]
    if not _required_permissions(app, rule) <= permissions_for_role(viewer[0]):
        return 403
    return PERMITTED.get(rule.endpoint)  # None: reported by test_every_post_route_is_in_the_matrix


def _url(app, rule, ctx) -> str:
    from flask import url_for

    values = POST_URL_BUILDERS[rule.endpoint](ctx) if rule.arguments else {}
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_every_post_route_is_in_the_matrix(app):
    routes = {rule.endpoint: rule for rule in _post_rules(app)}
    missing = sorted(endpoint for endpoint in routes if endpoint not in PERMITTED)
    unbuilt = sorted(endpoint for endpoint, rule in routes.items()
                     if rule.arguments and endpoint not in POST_URL_BUILDERS)
    assert (missing, unbuilt) == ([], []), "state the expected answers in tests/test_post_route_matrix.py"
    assert set(PERMITTED) <= set(routes), "the matrix names routes that no longer exist"


def test_anonymous_post_statuses(app, make_user, party):
    ctx = RouteContext(make_user=make_user, party=party)
    mismatches = []
    for rule in _post_rules(app):
        response = app.test_client().post(_url(app, rule, ctx))
        want = 401 if rule.rule.startswith("/api/") else 302
        location = response.headers.get("Location", "")
        if response.status_code != want or (want == 302 and not location.startswith("/auth/login")):
            mismatches.append(f"{rule.endpoint}: expected {want}, got {response.status_code} {location}")
    assert mismatches == [], "\n".join(mismatches)


@pytest.mark.parametrize("viewer", POST_VIEWERS, ids=lambda v: f"{v[0]}@{v[1]}")
def test_post_route_statuses(app, make_user, login_as, party, viewer):
    from auth.tokens import create_token
    from portal.extensions import db

    ctx = RouteContext(make_user=make_user, party=party)
    user = make_user(role=viewer[0], party_code=viewer[1])
    _token, secret = create_token(user, name="matrix", scopes=list(TOKEN_SCOPES))
    db.session.commit()
    mismatches = []
    for rule in _post_rules(app):
        url = _url(app, rule, ctx)
        the_client = app.test_client()
        if rule.rule.startswith("/api/"):
            response = the_client.post(url, json={}, headers={"Authorization": f"Bearer {secret}"})
        else:
            login_as(user, the_client)
            response = the_client.post(url, data={})
        want = _expected(app, rule, viewer)
        if want is not None and response.status_code != want:
            mismatches.append(f"{rule.endpoint} {url}: expected {want}, got {response.status_code}")
    assert mismatches == [], "\n".join(mismatches)
