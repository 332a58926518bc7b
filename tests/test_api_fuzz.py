"""Fuzzing the machine API from its own OpenAPI document.

``test_no_input_causes_a_server_error``: schemathesis reads ``/api/v1/openapi.json`` through the
application's WSGI interface and generates, for every operation, requests that fit the document (positive)
and requests that break it (negative: wrong types, missing required fields, values out of range), sent with
a real token holding every scope. The only check is ``not_a_server_error``: a 4xx is a fine answer to
garbage, a 5xx never is.

``test_every_check_passes_against_a_served_portal``: schemathesis' own engine (what ``st run --checks all``
runs: examples, coverage, fuzzing and stateful phases) against the portal served over HTTP, with every
check it has: the answers and their bodies conform to the document, schema-valid requests are accepted and
schema-breaking ones refused, 405s carry ``Allow``, a request without the token is refused, and so on. The
one allowance: an operation whose input the server checks beyond what a schema can state (one field
against another, today's date, the records in the database, a file's content) may answer a schema-valid
request 422, and then only naming the fields listed for it in ``BEYOND_THE_SCHEMA``.

The number of examples is bounded so the suite stays fast; ``database=None`` keeps Hypothesis from writing
a folder.
"""

from __future__ import annotations

import json
import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.generation.modes import GenerationMode
from werkzeug.serving import make_server

from auth.permissions import TOKEN_SCOPES
from auth.tokens import create_token
from portal.extensions import db
from tests.alerts.factories import report

MAX_EXAMPLES = 25


@pytest.fixture
def api_token(app, make_user, monkeypatch):
    """A liaison officer's token with every scope, and a rate limit the fuzzer will not reach."""
    monkeypatch.setitem(app.config, "RATELIMIT_API", "100000 per minute")
    monkeypatch.setitem(app.config, "RATELIMIT_API_AUTH_FAILURES", "100000 per minute")
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


# --- every check, against the portal served over HTTP --------------------------------------------------

ALL_CHECKS_MAX_EXAMPLES = 10
# Per operation: the fields whose schema-valid values the server may still refuse, and why no schema states it.
BEYOND_THE_SCHEMA = {
    "createAlert": {
        # dates against today and each other
        "detection_date", "issue_date", "expiry_date", "holder_birth_date", "review_date",
        # a number or a series (and a series only for stolen blanks or lost documents), in the MRZ's terms
        "document_number", "range_start", "range_end", "mrz",
        # a forgery needs its subtype, anything else has none
        "forgery_subtype",
        # narratives must not quote the number or the holder
        "description", "modus_operandi", "detection_tips",
        # recipients that exist in the database, fit the level and the TLP
        "distribution.level", "distribution.parties", "distribution.network", "tlp",
    },
    "createSubmission": {
        # recipients, alerts and objectives the sender may address or see (the database), restrictions for
        # handling `other`, a due date for and only for a request for information and not in the past
        "parties", "networks", "related_alerts", "handling_restrictions", "due_date",
    },
    # a text that has the look of an MRZ must read as one (a zone's shape and check digits are no pattern)
    "searchAlerts": {"q"},
    # the alert in the database: another party's, and still published
    "requestHitConfirmation": {"alert"},
    # the request's state: not answered for good yet; more information is asked for in a note
    "answerHitConfirmation": {"answer", "note"},
    # the file's content: the type is decided from the bytes
    "uploadAttachment": {"file"},
    "uploadSubmissionAttachment": {"file"},
}


@pytest.fixture
def served_portal(app):
    """The application on a local port (one thread: the test's rolled-back connection serves it)."""
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


def _engine_config(api_token: str) -> SchemathesisConfig:
    may_refuse = [{"include-operation-id": operation_id,
                   "checks": {"positive_data_acceptance": {"expected-statuses": [
                       "2xx", "401", "403", "404", "409", "422", "429"]}}}
                  for operation_id in BEYOND_THE_SCHEMA]
    return SchemathesisConfig.from_dict({
        "seed": 20240601,
        "headers": {"Authorization": f"Bearer {api_token}"},
        "checks": {"enabled": True},
        "generation": {"max-examples": ALL_CHECKS_MAX_EXAMPLES, "database": "none"},
        "operations": may_refuse,
    })


def _describe(recorder, case_id: str, problem: str) -> str:
    interaction = recorder.interactions.get(case_id)
    body = interaction.response.content[:600] if interaction and interaction.response else b""
    url = interaction.request.uri if interaction and interaction.request else "?"
    return f"{recorder.label}: {problem}\n  request: {url}\n  answer: {body!r}"


def _refusals_beyond_the_schema(recorder) -> list[str]:
    """A schema-valid request answered 422 must name only fields the schema cannot speak for."""
    problems = []
    for case_id, node in recorder.cases.items():
        case, interaction = node.value, recorder.interactions.get(case_id)
        if (interaction is None or interaction.response is None or interaction.response.status_code != 422
                or case.meta is None or not case.meta.generation.mode.is_positive):
            continue
        allowed = BEYOND_THE_SCHEMA.get(case.operation.definition.raw.get("operationId"), set())
        named = set(json.loads(interaction.response.content).get("fields", {}))
        if not named <= allowed:
            problems.append(_describe(recorder, case_id, f"schema-valid, refused for {sorted(named - allowed)}"))
    return problems


def test_every_check_passes_against_a_served_portal(app, api_token, served_portal):
    schema = schemathesis.openapi.from_url(f"{served_portal}/api/v1/openapi.json",
                                           config=_engine_config(api_token))
    problems, scenarios = [], 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            for case_id, checks in event.recorder.checks.items():
                problems.extend(_describe(event.recorder, case_id, f"{check.name}: {check.failure_info.failure}")
                                for check in checks if check.failure_info is not None)
            problems.extend(_refusals_beyond_the_schema(event.recorder))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            problems.append(f"{getattr(event, 'label', 'engine')}: {getattr(event, 'value', None) or event}")
    assert scenarios >= 15
    assert problems == [], "\n\n".join(dict.fromkeys(problem[:1500] for problem in problems))
