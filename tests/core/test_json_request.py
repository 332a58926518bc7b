"""A JSON body nested too deeply is a 400 with the API's error body on every JSON route, never a 500.

The routes come from the application's url_map (every POST and PUT under /api/); those whose OpenAPI
operation declares a JSON request body must answer 400 naming the body, the others (file uploads) must
not fail either.
"""

from __future__ import annotations

import re

import pytest

from auth.permissions import TOKEN_SCOPES
from auth.tokens import create_token
from portal.extensions import db
from tests.alerts.factories import confirmation_request, report
from tests.exchange.factories import make_submission

DEEP = "[" * 100_000


def _json_write_routes(app) -> list[tuple[str, str, str]]:
    # Read from the suite's application (building one at import time would write a development key into
    # the checkout's instance folder, and warn).
    return sorted(
        (method, rule.rule, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"})
    )


@pytest.fixture
def records(make_user):
    """A liaison officer of GTM with a token of every scope, an alert of its own, a submission to it and a
    hit confirmation asked of it."""
    officer = make_user(role="liaison_officer", party_code="GTM")
    alert = report(officer)
    submission = make_submission(make_user(role="liaison_officer", party_code="MEX"), parties=["GTM"])
    confirmation = confirmation_request(make_user(role="border_officer", party_code="MEX"), alert)
    db.session.commit()
    _token, secret = create_token(officer, name="nesting", scopes=list(TOKEN_SCOPES))
    db.session.commit()
    from tests.reporting.factories import open_cycle

    return {"token": secret, "alert_id": alert.id, "submission_id": submission.id,
            "confirmation_id": confirmation.id, "cycle_id": open_cycle().id}


def _declares_json_body(client, method: str, rule: str) -> bool:
    spec = client.get("/api/v1/openapi.json").get_json()
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
    operation = spec["paths"][path][method.lower()]
    return "application/json" in operation.get("requestBody", {}).get("content", {})


def test_every_api_write_route_is_listed(app):
    routes = _json_write_routes(app)
    assert ("POST", "/api/v1/alerts", "alerts_api.create") in routes
    assert ("POST", "/api/v1/submissions", "exchange_api.create") in routes


def test_deeply_nested_json_is_a_400(app, client, records):
    problems = []
    for method, rule, _endpoint in _json_write_routes(app):
        url = rule
        for name in ("alert_id", "submission_id", "confirmation_id", "cycle_id"):
            url = url.replace(f"<int:{name}>", str(records[name]))
        url = url.replace("<party>", "GTM")
        response = client.open(url, method=method, data=DEEP, content_type="application/json",
                               headers={"Authorization": f"Bearer {records['token']}"})
        if response.status_code >= 500:
            problems.append(f"{method} {rule}: {response.status_code} {response.data[:200]!r}")
        elif _declares_json_body(client, method, rule) and (
                response.status_code != 400
                or response.get_json() != {"error": "invalid input", "status": 400,
                                           "fields": {"body": "The JSON body is nested too deeply."}}
                or response.headers["Cache-Control"] != "no-store"):
            problems.append(f"{method} {rule}: {response.status_code} {response.get_json()}")
    assert problems == []
