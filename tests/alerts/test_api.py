"""The border systems' API: scopes, party scoping, validation, the check contract, audit and rate limits."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from alerts.indexes import number_any_index
from alerts.models import Alert, AlertReferenceCounter, AlertRevision
from auth.tokens import create_token
from portal.audit.sealing import SearchTerm, open_sealed
from portal.extensions import db
from tests.alerts.factories import alert_data, audit_entries, mark_audit_start, report, td3

ALL_SCOPES = ("alerts:check", "alerts:read", "alerts:write")
CHECK_KEYS = {"id", "reference", "fraud_type", "status", "issuing_state", "reporting_party", "tlp", "match"}


@pytest.fixture(autouse=True)
def _audit_start():
    mark_audit_start()


def bearer(user, *scopes) -> dict:
    """Headers with a fresh token of ``user`` holding ``scopes``."""
    _token, secret = create_token(user, name="border system", scopes=scopes or ("directory:read",))
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def alert_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Alert.id)))


def api_body(**overrides) -> dict:
    """A valid POST /api/v1/alerts body (``None`` removes a field)."""
    body = alert_data(**{"document_number": "N9876543", **overrides})
    return {key: value for key, value in body.items() if value is not None}


@pytest.fixture
def gtm(make_user):
    return make_user(role="liaison_officer", party_code="GTM")


@pytest.fixture
def published(gtm):
    """A members-wide GREEN published alert reported by GTM (number A1234567)."""
    return report(gtm)


# --- every endpoint x scope ---------------------------------------------------------------------------

ENDPOINTS = {
    "check": ("GET", lambda a: "/api/v1/alerts/check?document_number=A1234567&issuing_state=GTM", None,
              "alerts:check", 200),
    "search": ("GET", lambda a: "/api/v1/alerts?q=A1234567", None, "alerts:read", 200),
    "detail": ("GET", lambda a: f"/api/v1/alerts/{a.id}", None, "alerts:read", 200),
    "create": ("POST", lambda a: "/api/v1/alerts", api_body(), "alerts:write", 201),
    "mrz": ("POST", lambda a: "/api/v1/mrz/validate", {"mrz": td3("L898902C3")}, None, 200),
    "me": ("GET", lambda a: "/api/v1/me", None, None, 200),
}


def _call(client, method, url, body, headers=None):
    if method == "GET":
        return client.get(url, headers=headers or {})
    return client.post(url, json=body, headers=headers or {})


@pytest.mark.parametrize("name", ENDPOINTS)
def test_missing_token_is_401_json(client, published, name):
    method, url, body, _scope, _ok = ENDPOINTS[name]
    response = _call(client, method, url(published), body)
    assert response.status_code == 401
    assert response.get_json() == {"error": "a valid bearer token is required", "status": 401}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = _call(client, method, url(published), body, {"Authorization": "Bearer rcm_00000000_nope"})
    assert response.status_code == 401


@pytest.mark.parametrize("name", [name for name, spec in ENDPOINTS.items() if spec[3]])
def test_wrong_scope_is_403_json(client, make_user, published, name):
    method, url, body, scope, _ok = ENDPOINTS[name]
    others = [other for other in (*ALL_SCOPES, "directory:read") if other != scope]
    before = alert_count()
    response = _call(client, method, url(published), body, bearer(make_user(role="liaison_officer"), *others))
    assert response.status_code == 403
    assert response.get_json() == {"error": f"this token lacks the scope {scope}", "status": 403}
    assert alert_count() == before
    assert [json.loads(entry.details) for entry in audit_entries("api.scope.denied")] == [{"scope": scope}]


@pytest.mark.parametrize("name", ENDPOINTS)
def test_right_scope_succeeds(client, make_user, published, name):
    method, url, body, scope, ok = ENDPOINTS[name]
    headers = bearer(make_user(role="liaison_officer", party_code="MEX"), *([scope] if scope else ["directory:read"]))
    response = _call(client, method, url(published), body, headers)
    assert response.status_code == ok, response.get_json()
    assert response.is_json


@pytest.mark.parametrize("role", ["border_officer", "observer"])
def test_a_scope_beyond_the_owners_role_is_refused(client, make_user, role):
    """A token acts with at most its owner's permissions: the scope alone is not enough."""
    user = make_user(role=role, party_code="GTM")
    response = client.post("/api/v1/alerts", json=api_body(), headers=bearer(user, "alerts:write"))
    assert response.status_code == 403
    assert alert_count() == 0
    assert audit_entries("alert.create", outcome="denied")


def test_observer_cannot_check(client, make_user, published):
    observer = make_user(role="observer", party_code="GTM")
    response = client.get("/api/v1/alerts/check?document_number=A1234567", headers=bearer(observer, "alerts:check"))
    assert response.status_code == 403
    assert audit_entries("alert.check", outcome="denied")


# --- party scoping ------------------------------------------------------------------------------------

def test_another_partys_party_only_alert_is_invisible(client, make_user, gtm):
    hidden = report(gtm, document_number="H5550001", distribution={"level": "party"}, tlp="AMBER")
    reader = bearer(make_user(role="liaison_officer", party_code="HND"), *ALL_SCOPES)
    detail = client.get(f"/api/v1/alerts/{hidden.id}", headers=reader)
    missing = client.get("/api/v1/alerts/999999", headers=reader)
    assert detail.status_code == missing.status_code == 404
    assert detail.get_json() == missing.get_json() == {"error": "Not Found", "status": 404}
    check = client.get("/api/v1/alerts/check?document_number=H5550001&issuing_state=GTM", headers=reader)
    assert check.get_json() == {"hit": False, "alerts": []}
    search = client.get("/api/v1/alerts?q=H5550001", headers=reader).get_json()
    assert search["total"] == 0 and search["results"] == []
    assert audit_entries("alerts.access", outcome="denied", object_id=str(hidden.id))
    # its own party sees it everywhere
    own = bearer(make_user(role="border_officer", party_code="GTM"), "alerts:check", "alerts:read")
    assert client.get(f"/api/v1/alerts/{hidden.id}", headers=own).status_code == 200
    assert client.get("/api/v1/alerts/check?document_number=H5550001", headers=own).get_json()["hit"] is True
    assert client.get("/api/v1/alerts?q=H5550001", headers=own).get_json()["total"] == 1


def test_listed_parties_see_it_and_others_do_not(client, make_user, gtm):
    shared = report(gtm, document_number="L4440001", distribution={"level": "parties", "parties": ["HND"]},
                    tlp="AMBER")
    hnd = bearer(make_user(role="border_officer", party_code="HND"), "alerts:read", "alerts:check")
    slv = bearer(make_user(role="border_officer", party_code="SLV"), "alerts:read", "alerts:check")
    body = client.get(f"/api/v1/alerts/{shared.id}", headers=hnd).get_json()
    assert body["reference"] == shared.reference
    # a recipient does not learn who else received it
    assert body["distribution"] == {"level": "parties", "parties": None, "network": None}
    assert client.get("/api/v1/alerts/check?document_number=L4440001", headers=hnd).get_json()["hit"] is True
    assert client.get(f"/api/v1/alerts/{shared.id}", headers=slv).status_code == 404
    assert client.get("/api/v1/alerts/check?document_number=L4440001", headers=slv).get_json()["hit"] is False


def test_drafts_stay_within_the_reporting_party(client, make_user, gtm):
    draft = report(gtm, document_number="D3330001", status="draft")
    other = bearer(make_user(role="liaison_officer", party_code="MEX"), "alerts:read", "alerts:check")
    assert client.get(f"/api/v1/alerts/{draft.id}", headers=other).status_code == 404
    assert client.get("/api/v1/alerts?q=D3330001", headers=other).get_json()["total"] == 0
    own = bearer(make_user(role="border_officer", party_code="GTM"), "alerts:read", "alerts:check")
    assert client.get(f"/api/v1/alerts/{draft.id}", headers=own).get_json()["status"] == "draft"
    # the check answers on published alerts only, even for the own party
    assert client.get("/api/v1/alerts/check?document_number=D3330001", headers=own).get_json()["hit"] is False


@pytest.mark.parametrize("role, party_code", [("observer", "GTM"), ("country_admin", "ARG"), ("observer", "IOM")])
def test_observers_see_only_members_wide_clear_or_green(client, make_user, gtm, role, party_code):
    green = report(gtm, document_number="G2220001", tlp="GREEN")
    amber = report(gtm, document_number="G2220002", tlp="AMBER")
    network = report(gtm, document_number="G2220003", tlp="GREEN", distribution={"level": "network", "network": "FOCAL"})
    headers = bearer(make_user(role=role, party_code=party_code), "alerts:read")
    assert client.get(f"/api/v1/alerts/{green.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/alerts/{amber.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/alerts/{network.id}", headers=headers).status_code == 404
    found = client.get("/api/v1/alerts?q=G222000", headers=headers).get_json()
    assert [item["id"] for item in found["results"]] == []  # a partial number is words, not a number
    listed = client.get("/api/v1/alerts?issuing_state=GTM&per_page=100", headers=headers).get_json()
    assert {item["id"] for item in listed["results"]} == {green.id}


# --- reading ------------------------------------------------------------------------------------------

def test_detail_is_the_full_record_for_the_reporting_party(client, make_user, gtm):
    alert = report(gtm, distribution={"level": "parties", "parties": ["HND", "MEX"]}, tlp="AMBER",
                   holder_name="PEREZ, JUAN", holder_birth_date="1985-01-01")
    body = client.get(f"/api/v1/alerts/{alert.id}", headers=bearer(gtm, "alerts:read")).get_json()
    assert body["id"] == alert.id and body["reference"] == alert.reference
    assert body["reporting_party"] == "GTM" and body["status"] == "published" and body["display_status"] == "published"
    assert body["distribution"] == {"level": "parties", "parties": ["HND", "MEX"], "network": None}
    assert body["document_number"] == "A1234567" and body["holder_name"] == "PEREZ, JUAN"
    assert body["route"] == ["COL", "PAN", "GTM"] and body["security_features"] == ["laminate", "uv_features"]
    assert body["detection_date"] == "2026-01-15" and body["expiry_date"] == "2030-01-31"
    assert body["tlp"] == "AMBER" and body["revision"] == 1 and body["withdrawn_at"] is None
    views = audit_entries("alert.view", object_id=str(alert.id))
    assert [json.loads(entry.details) for entry in views] == [{"reference": alert.reference, "via": "api"}]


def test_search_reports_pagination_and_match_kinds(client, make_user, gtm):
    exact = report(gtm, document_number="P0123456")
    near = report(gtm, document_number="PO123456")
    series = report(gtm, document_number=None, fraud_type="stolen_blank", range_start="P0123400",
                    range_end="P0123499")
    headers = bearer(make_user(role="border_officer", party_code="MEX"), "alerts:read")
    body = client.get("/api/v1/alerts?q=P0123456&issuing_state=GTM", headers=headers).get_json()
    assert [(item["id"], item["match"]) for item in body["results"]] == [
        (exact.id, "exact"), (near.id, "near"), (series.id, "range")]
    assert {key: body[key] for key in ("kind", "total", "page", "per_page", "pages")} == {
        "kind": "number", "total": 3, "page": 1, "per_page": 20, "pages": 1}
    assert "document_number" not in body["results"][0]  # results carry no encrypted field
    page = client.get("/api/v1/alerts?q=P0123456&issuing_state=GTM&per_page=2&page=2", headers=headers).get_json()
    assert [(item["id"], item["match"]) for item in page["results"]] == [(series.id, "range")]
    assert (page["total"], page["page"], page["per_page"], page["pages"]) == (3, 2, 2, 2)
    words = client.get("/api/v1/alerts?q=laminate%20ultraviolet", headers=headers).get_json()
    assert words["kind"] == "text" and {item["id"] for item in words["results"]} >= {exact.id}


@pytest.mark.parametrize("query, field", [
    ("page=0", "page"), ("page=abc", "page"), ("per_page=101", "per_page"), ("per_page=-1", "per_page"),
    ("page=99999999999999999999999", "page"), ("status=lost", "status"), ("fraud_type=magic", "fraud_type"),
    ("detected_from=2026-02-30", "detected_from"), ("issuing_state=QQQ", "issuing_state"), ("sort=id", "sort"),
    ("colour=red", "colour"), ("q=a&q=b", "q"), ("reporting_party=G%00T", "reporting_party"),
])
def test_search_refuses_bad_parameters_by_name(client, make_user, query, field):
    headers = bearer(make_user(role="border_officer"), "alerts:read")
    response = client.get(f"/api/v1/alerts?{query}", headers=headers)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid input" and body["status"] == 422 and set(body["fields"]) == {field}


# --- the check contract -------------------------------------------------------------------------------

def test_check_contract_shape(client, make_user, published):
    headers = bearer(make_user(role="border_officer", party_code="MEX"), "alerts:check")
    response = client.get("/api/v1/alerts/check?document_number=a123-4567&issuing_state=gtm", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == {"hit": True, "alerts": [{
        "id": published.id, "reference": published.reference, "fraud_type": "counterfeit", "status": "published",
        "issuing_state": "GTM", "reporting_party": "GTM", "tlp": "GREEN", "match": "exact"}]}
    assert set(response.get_json()["alerts"][0]) == CHECK_KEYS
    miss = client.get("/api/v1/alerts/check?document_number=Z9999999", headers=headers)
    assert miss.status_code == 200 and miss.get_json() == {"hit": False, "alerts": []}
    # another issuing state: no hit
    assert client.get("/api/v1/alerts/check?document_number=A1234567&issuing_state=HND",
                      headers=headers).get_json()["hit"] is False


def test_check_finds_series_of_stolen_blanks(client, make_user, gtm):
    series = report(gtm, document_number=None, fraud_type="stolen_blank", range_start="B100", range_end="B199")
    headers = bearer(make_user(role="border_officer", party_code="MEX"), "alerts:check")
    body = client.get("/api/v1/alerts/check?document_number=B150&issuing_state=GTM", headers=headers).get_json()
    assert body["hit"] is True and [(a["id"], a["match"]) for a in body["alerts"]] == [(series.id, "range")]


@pytest.mark.parametrize("query, fields", [
    ("", {"document_number"}),
    ("issuing_state=GTM", {"document_number"}),
    ("document_number=", {"document_number"}),
    ("document_number=A12%2B34", {"document_number"}),
    ("document_number=" + "9" * 31, {"document_number"}),
    ("document_number=A1234567&issuing_state=QQQ", {"issuing_state"}),
    ("issuing_state=QQQ", {"document_number"}),
    ("document_number=A1&number=2", {"number"}),
    ("document_number=A%00B", {"document_number"}),
])
def test_check_refuses_bad_input_by_name(client, make_user, query, fields):
    response = client.get(f"/api/v1/alerts/check?{query}", headers=bearer(make_user(), "alerts:check"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid input" and set(body["fields"]) == fields


def test_check_and_search_are_audited_without_the_number(client, make_user, published):
    user = make_user(role="border_officer", party_code="MEX")
    headers = bearer(user, "alerts:check", "alerts:read")
    client.get("/api/v1/alerts/check?document_number=A1234567&issuing_state=GTM", headers=headers)
    client.get("/api/v1/alerts?q=A1234567", headers=headers)
    checks, searches = audit_entries("alert.check"), audit_entries("alert.search")
    assert len(checks) == len(searches) == 1
    check = json.loads(checks[0].details)
    assert {key: check[key] for key in ("issuing_state", "results")} == {"issuing_state": "GTM", "results": 1}
    assert open_sealed(check["sealed"]) == [SearchTerm("number", "A1234567", "GTM")]
    search = json.loads(searches[0].details)
    assert open_sealed(search["sealed"]) == [SearchTerm("number", "A1234567", None)]
    assert search["results"] == 1 and search["kind"] == "number"
    for entry in (*checks, *searches):
        assert entry.actor_user_id == user.id and entry.outcome == "ok"
        assert "A1234567" not in entry.details and number_any_index("A1234567") not in entry.details


# --- reporting ----------------------------------------------------------------------------------------

def test_create_stores_the_alert_and_answers_its_location(client, gtm):
    response = client.post("/api/v1/alerts", json=api_body(status="draft"), headers=bearer(gtm, "alerts:write"))
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "reference"} and body["reference"].startswith("GTM-")
    assert response.headers["Location"] == f"/api/v1/alerts/{body['id']}"
    alert = db.session.get(Alert, body["id"])
    assert alert.reference == body["reference"] and alert.status == "draft" and alert.owner_party.code == "GTM"
    assert alert.document_number == "N9876543" and alert.tlp == "GREEN" and alert.distribution_level == "members"
    assert [json.loads(entry.details)["status"] for entry in audit_entries("alert.create", object_id=str(alert.id))] == ["draft"]
    assert audit_entries("alert.publish") == []


def test_create_published_with_parties_and_mrz_prefill(client, gtm):
    body = api_body(document_number=None, issuing_state=None, mrz=td3("X1234567", state="HND"),
                    distribution={"level": "parties", "parties": ["HND", "SLV"]}, tlp="AMBER")
    response = client.post("/api/v1/alerts", json=body, headers=bearer(gtm, "alerts:write"))
    assert response.status_code == 201, response.get_json()
    alert = db.session.get(Alert, response.get_json()["id"])
    assert (alert.status, alert.document_number, alert.issuing_state) == ("published", "X1234567", "HND")
    assert sorted(alert.recipient_party_ids) == sorted(p.id for p in _parties("HND", "SLV"))
    assert audit_entries("alert.publish", object_id=str(alert.id))


def _parties(*codes):
    from portal.parties.models import Party

    return db.session.scalars(select(Party).where(Party.code.in_(codes))).all()


REQUIRED = ("document_category", "issuing_state", "document_number", "fraud_type", "description", "distribution",
            "tlp")


@pytest.mark.parametrize("field", REQUIRED)
def test_each_required_field_missing_is_named(client, gtm, field):
    body = api_body()
    body.pop(field)
    _assert_refused(client, gtm, body, {field})


@pytest.mark.parametrize("changes, fields", [
    ({"document_category": "spaceship"}, {"document_category"}),
    ({"fraud_type": "magic"}, {"fraud_type"}),
    ({"tlp": "PURPLE"}, {"tlp"}),
    ({"status": "withdrawn"}, {"status"}),
    ({"detection_place_kind": "moon"}, {"detection_place_kind"}),
    ({"security_features": ["laminate", "aura"]}, {"security_features"}),
    ({"issuing_state": "QQQ"}, {"issuing_state"}),
    ({"fraud_type": "forgery"}, {"forgery_subtype"}),
    ({"distribution": {"level": "world"}}, {"distribution.level"}),
    ({"distribution": {"level": "parties"}}, {"distribution.parties"}),
    ({"distribution": {"level": "parties", "parties": ["ZZZ"]}}, {"distribution.parties"}),
    ({"distribution": {"level": "parties", "parties": "HND"}}, {"distribution.parties"}),
    ({"distribution": {"level": "parties", "parties": [{"code": "HND"}]}}, {"distribution.parties"}),
    ({"distribution": {"level": "network"}}, {"distribution.network"}),
    ({"distribution": {"level": "network", "network": "NOPE"}}, {"distribution.network"}),
    ({"distribution": {"level": "members", "colour": "red"}}, {"distribution.colour"}),
    ({"distribution": "members"}, {"distribution"}),
    ({"detection_date": "2026-13-01"}, {"detection_date"}),
    ({"detection_date": "2999-01-01"}, {"detection_date"}),
    ({"issue_date": "2020-02-01", "expiry_date": "2019-01-01"}, {"expiry_date"}),
    ({"holder_birth_date": "yesterday"}, {"holder_birth_date"}),
    ({"review_date": "2001-01-01"}, {"review_date"}),
    ({"route": "COL,PAN"}, {"route"}),
    ({"route": ["COL", 7]}, {"route"}),
    ({"description": 12}, {"description"}),
    ({"description": "bad\x00byte"}, {"description"}),
    ({"description": "The number N9876543 was altered."}, {"description"}),
    ({"colour": "red"}, {"colour"}),
    ({"mrz": "not an mrz at all"}, {"mrz"}),
    ({"document_category": "spaceship", "detection_date": "2026-13-01", "distribution": {"level": "parties"},
      "extra": 1, "route": 5},
     {"document_category", "detection_date", "distribution.parties", "extra", "route"}),
])
def test_bad_values_are_named_and_nothing_is_stored(client, gtm, changes, fields):
    _assert_refused(client, gtm, api_body(**changes), fields)


def _assert_refused(client, user, body, fields, status=422):
    response = client.post("/api/v1/alerts", json=body, headers=bearer(user, "alerts:write"))
    assert response.status_code == status, response.get_json()
    payload = response.get_json()
    assert payload["error"] == "invalid input" and payload["status"] == status
    assert set(payload["fields"]) == fields, payload["fields"]
    assert all(isinstance(message, str) and message for message in payload["fields"].values())
    _assert_nothing_stored()


def _assert_nothing_stored():
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Alert.id))) == 0
    assert db.session.scalar(select(func.count(AlertRevision.id))) == 0
    assert db.session.scalar(select(func.count()).select_from(AlertReferenceCounter)) == 0
    assert audit_entries("alert.create") == []


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"),
    ('["a", "list"]', "application/json"),
    ('"text"', "application/json"),
    ("null", "application/json"),
    ("document_category=passport", "application/x-www-form-urlencoded"),
    (json.dumps(alert_data()), "text/plain"),
])
def test_a_body_that_is_not_a_json_object_is_400(client, gtm, data, content_type):
    response = client.post("/api/v1/alerts", data=data, content_type=content_type, headers=bearer(gtm, "alerts:write"))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid input" and set(response.get_json()["fields"]) == {"body"}
    _assert_nothing_stored()


# --- MRZ ----------------------------------------------------------------------------------------------

def test_mrz_validate_reports_fields_and_failed_checks(client, gtm):
    headers = bearer(gtm, "alerts:check")
    good = client.post("/api/v1/mrz/validate", json={"mrz": td3("L898902C3", state="UTO")}, headers=headers)
    assert good.status_code == 200
    body = good.get_json()
    assert (body["valid"], body["format"], body["errors"]) == (True, "TD3", [])
    assert body["fields"]["document_number"] == "L898902C3" and body["fields"]["issuing_state"] == "UTO"
    lines = td3("L898902C3").split("\n")
    tampered = lines[0] + "\n" + lines[1][:9] + str((int(lines[1][9]) + 1) % 10) + lines[1][10:]
    bad = client.post("/api/v1/mrz/validate", json={"mrz": tampered}, headers=headers).get_json()
    assert bad["valid"] is False and bad["format"] == "TD3"
    assert "document_number" in {issue["field"] for issue in bad["errors"]}
    assert set(bad["errors"][0]) == {"field", "code", "message"}
    nonsense = client.post("/api/v1/mrz/validate", json={"mrz": "hello"}, headers=headers).get_json()
    assert nonsense["valid"] is False and nonsense["format"] is None and nonsense["errors"]


@pytest.mark.parametrize("body, status, fields", [
    ({}, 422, {"mrz"}),
    ({"mrz": ""}, 422, {"mrz"}),
    ({"mrz": 12}, 422, {"mrz"}),
    ({"mrz": "P<" * 200}, 422, {"mrz"}),
    ({"mrz": "x", "other": 1}, 422, {"other"}),
    (["mrz"], 400, {"body"}),
])
def test_mrz_validate_refuses_bad_input(client, gtm, body, status, fields):
    response = client.post("/api/v1/mrz/validate", json=body, headers=bearer(gtm, "alerts:read"))
    assert response.status_code == status and set(response.get_json()["fields"]) == fields


# --- rate limit ---------------------------------------------------------------------------------------

def test_refused_tokens_are_limited_per_address(app, client, make_user, published, monkeypatch):
    """Made-up tokens can't each get a fresh allowance: refusals count per client address."""
    monkeypatch.setitem(app.config, "RATELIMIT_API_AUTH_FAILURES", "3 per minute")
    valid = bearer(make_user(role="border_officer", party_code="MEX"), "alerts:check")
    url = "/api/v1/alerts/check?document_number=A1234567"
    assert [client.get(url, headers=valid).status_code for _ in range(5)] == [200] * 5  # successes don't count
    made_up = [{"Authorization": f"Bearer rcm_{n:08x}_{'x' * 43}"} for n in range(4)]
    assert [client.get(url, headers=headers).status_code for headers in made_up] == [401, 401, 401, 429]
    assert client.get(url, headers=valid).status_code == 429  # the address waits out the window
    assert client.get(url, headers=valid, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert len(audit_entries("api.auth.failed", outcome="denied")) == 3


def test_the_rate_limit_is_per_token_and_answers_429_json(app, client, make_user, published, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API", "3 per minute")
    user = make_user(role="border_officer", party_code="MEX")
    first, second = bearer(user, "alerts:check"), bearer(user, "alerts:check")
    url = "/api/v1/alerts/check?document_number=A1234567"
    assert [client.get(url, headers=first).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(url, headers=first)
    assert refused.status_code == 429 and refused.is_json
    assert refused.get_json() == {"error": "Too Many Requests", "status": 429, "message": "rate limit exceeded"}
    assert client.get(url, headers=second).status_code == 200  # another token has its own budget
    assert audit_entries("request.rate_limited", outcome="denied")
    assert len(audit_entries("alert.check")) == 4


# --- the counter: pasted MRZs and look-alike numbers (issue 12) ----------------------------------------

@pytest.mark.parametrize("form", ["lines", "spaces", "second line", "stray spaces"])
def test_search_reads_a_pasted_mrz_however_it_arrives(client, make_user, gtm, form):
    alert = report(gtm, document_number="K1234567")
    zone = td3("K1234567")
    q = {"lines": zone, "spaces": zone.replace("\n", " "), "second line": zone.split("\n")[1],
         "stray spaces": " " + zone[:20] + " " + zone[20:].replace("\n", "  ") + " "}[form]
    headers = bearer(make_user(role="border_officer", party_code="MEX"), "alerts:read")
    body = client.get("/api/v1/alerts", query_string={"q": q}, headers=headers).get_json()
    assert body["kind"] == "mrz" and body["mrz_errors"] == []
    assert [(item["id"], item["match"]) for item in body["results"]] == [(alert.id, "exact")]


def test_search_refuses_an_mrz_it_cannot_read_naming_q(client, make_user, gtm):
    report(gtm, document_number="K1234567", description="Perez Juan")
    headers = bearer(make_user(role="border_officer", party_code="MEX"), "alerts:read")
    response = client.get("/api/v1/alerts", query_string={"q": td3("K1234567").split("\n")[0]}, headers=headers)
    assert response.status_code == 422
    assert "names" in response.get_json()["fields"]["q"]


def test_check_lists_look_alikes_apart_only_when_asked(client, make_user, gtm):
    exact = report(gtm, document_number="P0123456")
    near = report(gtm, document_number="PO123456")
    elsewhere = report(gtm, document_number="P0I23456", issuing_state="HND")
    headers = bearer(make_user(role="border_officer", party_code="MEX"), "alerts:check")
    plain = client.get("/api/v1/alerts/check?document_number=P0123456", headers=headers).get_json()
    assert "near" not in plain and [item["id"] for item in plain["alerts"]] == [exact.id]
    body = client.get("/api/v1/alerts/check?document_number=P0123456&near=true", headers=headers).get_json()
    assert body["hit"] is True and [item["id"] for item in body["alerts"]] == [exact.id]
    assert [(item["id"], item["match"]) for item in body["near"]] == [(near.id, "near"), (elsewhere.id, "near")]
    in_state = client.get("/api/v1/alerts/check?document_number=P0123456&issuing_state=GTM&near=true",
                          headers=headers).get_json()
    assert [item["id"] for item in in_state["near"]] == [near.id]
    only_near = client.get("/api/v1/alerts/check?document_number=PO12345G&near=true", headers=headers).get_json()
    assert only_near["hit"] is False and only_near["alerts"] == []  # a look-alike is never a hit
    assert {item["id"] for item in only_near["near"]} == {exact.id, near.id, elsewhere.id}
    refused = client.get("/api/v1/alerts/check?document_number=P0123456&near=yes", headers=headers)
    assert refused.status_code == 422 and "near" in refused.get_json()["fields"]
