"""Fuzzing the machine API from its own OpenAPI document: no input may cause a server error.

Schemathesis reads ``/api/v1/openapi.json`` through the application's WSGI interface and generates, for
every operation, requests that fit the document (positive) and requests that break it (negative: wrong
types, missing required fields, values out of range), sent with a real token holding every scope. The
only check is ``not_a_server_error``: a 4xx is a fine answer to garbage, a 5xx never is. The number of
examples is bounded so the suite stays fast; ``database=None`` keeps Hypothesis from writing a folder.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from auth.permissions import TOKEN_SCOPES
from auth.tokens import create_token
from portal.extensions import db
from tests.alerts.factories import report

MAX_EXAMPLES = 25


@pytest.fixture
def api_token(app, make_user, monkeypatch):
    """A liaison officer's token with every scope, and a rate limit the fuzzer will not reach."""
    monkeypatch.setitem(app.config, "RATELIMIT_API", "100000 per minute")
    user = make_user(role="liaison_officer", party_code="GTM")
    report(user)  # so that reads and searches have something to find
    db.session.commit()
    _token, secret = create_token(user, name="fuzzer", scopes=list(TOKEN_SCOPES))
    db.session.commit()
    return secret


def _fuzz(operation, mode: GenerationMode, headers: dict) -> set[int]:
    """Run the operation's examples; the statuses it answered."""
    statuses: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
        statuses.add(response.status_code)

    run()
    return statuses


def _has_input(operation) -> bool:
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_input_causes_a_server_error(app, api_token, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    headers = {"Authorization": f"Bearer {api_token}"}
    statuses, failures = {}, []
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not _has_input(operation):
            continue  # nothing to break: no parameter, no body
        try:
            statuses[operation.label] = _fuzz(operation, mode, headers)
        except (AssertionError, BaseExceptionGroup) as exc:  # one broken operation must not hide the others
            failures.append(f"{operation.label}:\n{str(exc)[:2000]}")
    assert failures == [], "server errors:\n\n" + "\n\n".join(failures)
    assert {"POST /api/v1/alerts", "GET /api/v1/alerts/check", "POST /api/v1/mrz/validate"} <= set(statuses)
    if mode == GenerationMode.POSITIVE:  # the token works: valid requests get answers, not only refusals
        answered = {label for label, seen in statuses.items() if any(200 <= status < 300 for status in seen)}
        assert {"GET /api/v1/health", "GET /api/v1/me", "GET /api/v1/alerts/check", "GET /api/v1/alerts",
                "POST /api/v1/mrz/validate"} <= answered, statuses
