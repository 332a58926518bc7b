"""The reporting API: cycles, a party's return (GET/PUT), submit, consolidated; scopes and access."""

from __future__ import annotations

import json

import pytest

from auth.tokens import create_token
from portal.extensions import db
from tests.reporting.factories import FLOW_ROW, audit_rows, filled, open_cycle, party_return


def _bearer(make_user, scopes, role="liaison_officer", party_code="GTM"):
    user = make_user(role=role, party_code=party_code)
    _token, secret = create_token(user, name="statistics system", scopes=scopes)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_a_national_system_fills_in_and_submits(app_ctx, make_user, client):
    cycle = open_cycle()
    headers = _bearer(make_user, ["reporting:read", "reporting:write"])
    url = f"/api/v1/reporting/cycles/{cycle.id}/returns/GTM"
    bad = client.put(url, json={"rows": [FLOW_ROW, {**FLOW_ROW, "nationality": "CHN", "minors": -2, "women": 500},
                                         {"nationality": "USA", "month": "2026-07", "detected": 1}]}, headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["fields"] == {
        "rows[1].minors": "Must be a whole number, 0 or more.",
        "rows[2].nationality": "USA is an RCM member country, not an extra-regional nationality."}
    assert party_return(cycle, "GTM").status == "not_started"  # nothing stored
    good = client.put(url, json={"rows": [FLOW_ROW]}, headers=headers)
    assert good.status_code == 200 and good.get_json()["status"] == "draft"
    assert good.get_json()["rows"][0]["detected"] == 120
    submitted = client.post(url + "/submit", json={}, headers=headers)
    assert (submitted.status_code, submitted.get_json()["version"]) == (200, 1)
    assert client.put(url, json={"rows": []}, headers=headers).status_code == 409
    assert client.post(url + "/submit", json={}, headers=headers).status_code == 409
    assert json.loads(audit_rows("reporting.return.edit")[-1].details)["via"] == "api"


def test_reads_and_the_consolidation(app_ctx, make_user, client):
    cycle = open_cycle()
    filled(cycle, "GTM", submit=True)
    filled(cycle, "PAN")
    ts = _bearer(make_user, ["reporting:read"], role="secretariat_admin", party_code="TS")
    listed = client.get("/api/v1/reporting/cycles", headers=ts).get_json()["cycles"]
    assert [(item["template"], item["period"]) for item in listed] == [("extra_regional_flows", "2026-H2")]
    detail = client.get(f"/api/v1/reporting/cycles/{cycle.id}", headers=ts).get_json()
    # a token's scopes grant no manage_reporting: the secretariat's token sees the statuses it may see
    assert {line["party"]: line["status"] for line in detail["parties"]} == {"GTM": "submitted"}
    assert client.get(f"/api/v1/reporting/cycles/{cycle.id}/returns/PAN", headers=ts).status_code == 404
    consolidated = client.get(f"/api/v1/reporting/cycles/{cycle.id}/consolidated", headers=ts).get_json()
    assert (consolidated["used"], consolidated["left_out"], consolidated["totals"]["detected"]) == (["GTM"], 10, 120)
    mex = _bearer(make_user, ["reporting:read"], party_code="MEX")
    assert client.get(f"/api/v1/reporting/cycles/{cycle.id}/returns/GTM", headers=mex).status_code == 404
    mex_board = client.get(f"/api/v1/reporting/cycles/{cycle.id}", headers=mex).get_json()["parties"]
    assert [line["party"] for line in mex_board] == ["MEX"]
    assert client.get(f"/api/v1/reporting/cycles/{cycle.id}/consolidated", headers=mex).get_json()["used"] == []


@pytest.mark.parametrize(("scopes", "role", "status"), [
    (["reporting:read"], "liaison_officer", 403),  # the read scope does not write
    (["reporting:write"], "border_officer", 403),  # the role lacks submit_party_return
    (["alerts:read"], "liaison_officer", 403),
])
def test_writing_needs_the_scope_and_the_permission(app_ctx, make_user, client, scopes, role, status):
    cycle = open_cycle()
    headers = _bearer(make_user, scopes, role=role)
    response = client.put(f"/api/v1/reporting/cycles/{cycle.id}/returns/GTM", json={"rows": []}, headers=headers)
    assert response.status_code == status
    assert client.put(f"/api/v1/reporting/cycles/{cycle.id}/returns/GTM", json={"rows": []}).status_code == 401


def test_another_partys_return_is_not_found_for_writing(app_ctx, make_user, client):
    cycle = open_cycle()
    headers = _bearer(make_user, ["reporting:write"], party_code="MEX")
    assert client.put(f"/api/v1/reporting/cycles/{cycle.id}/returns/GTM", json={"rows": []},
                      headers=headers).status_code == 404
    assert client.put(f"/api/v1/reporting/cycles/{cycle.id}/returns/GTM", data="x",
                      headers=headers).status_code == 404
    own = f"/api/v1/reporting/cycles/{cycle.id}/returns/MEX"
    assert client.put(own, data="x", headers=headers).status_code == 400
    assert client.put(own, json={"rows": "no"}, headers=headers).status_code == 422
