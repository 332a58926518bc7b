"""Export: scoping through visible(), RED / AMBER+STRICT left out or refused, headers, audit, round trips."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from alerts.bulk import import_file
from alerts.export import ExportRefused, export_chunks, plan_export
from alerts.models import Alert
from portal.extensions import db
from tests.alerts.factories import audit_entries, mark_audit_start, principal, report, td3


def _export(user, fmt="csv", **kwargs) -> str:
    return "".join(export_chunks(plan_export(principal(user), **kwargs), fmt))


def _references(text: str, fmt: str) -> set[str]:
    if fmt == "json":
        return {item["reference"] for item in json.loads(text)}
    return {row["reference"] for row in csv.DictReader(io.StringIO(text))}


@pytest.fixture
def gtm(make_user):
    return make_user(role="liaison_officer", party_code="GTM")


@pytest.fixture
def alerts(app_ctx, gtm):
    made = {
        "members_green": report(gtm, document_number="X1000001", tlp="GREEN"),
        "members_clear": report(gtm, document_number="X1000002", tlp="CLEAR"),
        "members_amber": report(gtm, document_number="X1000003", tlp="AMBER"),
        "party_only": report(gtm, document_number="X1000004", tlp="AMBER", distribution={"level": "party"}),
        "red": report(gtm, document_number="X1000005", tlp="RED", distribution={"level": "party"}),
        "strict": report(gtm, document_number="X1000006", tlp="AMBER+STRICT", distribution={"level": "party"}),
    }
    db.session.commit()
    return {name: alert.reference for name, alert in made.items()}


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_leaves_out_restricted_alerts_and_says_how_many(alerts, gtm, fmt):
    plan = plan_export(principal(gtm), filters={"reporting_party": "GTM"})
    assert plan.excluded_restricted == 2
    text = "".join(export_chunks(plan, fmt))
    got = _references(text, fmt)
    assert {alerts[n] for n in ("members_green", "members_clear", "members_amber", "party_only")} <= got
    assert alerts["red"] not in got and alerts["strict"] not in got
    assert "X1000001" in text  # decrypted numbers are in the file, for the authorised viewer


def test_every_row_carries_its_tlp(alerts, gtm):
    rows = list(csv.DictReader(io.StringIO(_export(gtm, filters={"reporting_party": "GTM"}))))
    by_reference = {row["reference"]: row for row in rows}
    assert by_reference[alerts["members_clear"]]["tlp"] == "CLEAR"
    assert by_reference[alerts["members_amber"]]["tlp"] == "AMBER"
    assert all(row["tlp"] for row in rows)


@pytest.mark.parametrize("tlp", ["RED", "AMBER+STRICT", "red"])
def test_explicit_request_for_restricted_alerts_is_refused(alerts, gtm, tlp):
    mark_audit_start()
    with pytest.raises(ExportRefused):
        plan_export(principal(gtm), tlp=tlp)
    [entry] = audit_entries("alert.export")
    assert entry.outcome == "denied"


def test_other_partys_party_only_alert_is_absent(alerts, make_user):
    mex = make_user(role="liaison_officer", party_code="MEX")
    got = _references(_export(mex, filters={"reporting_party": "GTM"}), "csv")
    assert alerts["members_green"] in got and alerts["members_amber"] in got
    assert alerts["party_only"] not in got
    # nor are the parties and network of GTM's alerts told to another party
    rows = list(csv.DictReader(io.StringIO(_export(mex, filters={"reporting_party": "GTM"}))))
    assert all(row["distribution_parties"] == "" for row in rows)


@pytest.mark.parametrize(("role", "party_code"), [("observer", "GTM"), ("country_admin", "ARG")])
def test_observers_export_only_members_wide_clear_and_green(alerts, make_user, role, party_code):
    viewer = make_user(role=role, party_code=party_code)
    got = _references(_export(viewer, filters={"reporting_party": "GTM"}), "csv")
    assert got == {alerts["members_green"], alerts["members_clear"]}


def test_export_without_search_permission_is_refused(app_ctx, make_user):
    from dataclasses import replace

    from werkzeug.exceptions import Forbidden

    user = make_user(role="liaison_officer", party_code="GTM")
    nobody = replace(principal(user), permissions=frozenset())
    with pytest.raises(Forbidden):
        plan_export(nobody)


def test_export_filters_and_number_query(alerts, gtm):
    got = _references(_export(gtm, query="X1000003"), "csv")
    assert got == {alerts["members_amber"]}
    got = _references(_export(gtm, "json", filters={"reporting_party": "GTM"}, tlp="CLEAR"), "json")
    assert got == {alerts["members_clear"]}


def test_export_audit_has_counts_and_no_numbers(alerts, gtm):
    mark_audit_start()
    _export(gtm, fmt="json", filters={"reporting_party": "GTM"})
    [entry] = audit_entries("alert.export")
    details = json.loads(entry.details)
    assert details["count"] >= 4 and details["excluded_restricted"] == 2 and details["format"] == "json"
    assert "X100000" not in entry.details


def test_download_headers_and_page(alerts, client, login_as, gtm):
    login_as(gtm)
    mark_audit_start()
    response = client.post("/alerts/bulk/export.csv?reporting_party=GTM")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["X-Alerts-Excluded-Restricted"] == "2"
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert alerts["members_green"] in body and alerts["red"] not in body
    assert len(audit_entries("alert.export")) == 1
    response = client.post("/alerts/bulk/export.json?reporting_party=GTM")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert alerts["members_green"] in {item["reference"] for item in json.loads(response.get_data())}
    page = client.get("/alerts/bulk/export?reporting_party=GTM")
    assert page.status_code == 200 and 'id="export-excluded"' in page.get_data(as_text=True)
    assert client.post("/alerts/bulk/export.csv?tlp=RED").status_code == 403
    assert client.get("/alerts/bulk/export?tlp=AMBER%2BSTRICT").status_code == 403
    assert client.post("/alerts/bulk/export.csv?document_category=spaceship").status_code == 422


@pytest.mark.parametrize(("role", "party_code", "status"), [
    ("liaison_officer", "GTM", 200), ("border_officer", "GTM", 200), ("observer", "GTM", 200),
    ("secretariat_admin", "TS", 200), ("country_admin", "ARG", 200)])
def test_export_pages_access(app_ctx, client, login_as, make_user, role, party_code, status):
    login_as(make_user(role=role, party_code=party_code))
    assert client.get("/alerts/bulk/export").status_code == status
    for url in ("/alerts/bulk/export.csv", "/alerts/bulk/export.json"):
        assert client.post(url).status_code == status


def test_anonymous_export_is_sent_to_login(client):
    assert client.get("/alerts/bulk/export").status_code == 302
    for url in ("/alerts/bulk/export.csv", "/alerts/bulk/export.json"):
        assert client.post(url).status_code == 302


_COMPARED = ("document_category", "document_type", "issuing_state", "series", "document_number", "range_start",
             "range_end", "issue_date", "expiry_date", "fraud_type", "forgery_subtype", "security_features",
             "description", "modus_operandi", "detection_tips", "holder_name", "holder_birth_date", "mrz",
             "route", "bearer_nationality", "detection_date", "detecting_unit", "detection_place",
             "detection_place_kind", "review_date", "objectives", "tlp", "distribution_level", "status")


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_round_trip_into_another_partys_account(app_ctx, make_user, fmt):
    gtm = make_user(role="liaison_officer", party_code="GTM")
    originals = [
        report(gtm, document_number="RT100001", tlp="GREEN", description="=cmd|' /C calc'!A0 looks like a formula"),
        report(gtm, document_number=None, range_start="RT200000", range_end="RT200999", fraud_type="stolen_blank",
               tlp="CLEAR", status="draft"),
        report(gtm, document_number=None, mrz=td3("RT300003", surname="LOPEZ"), fraud_type="forgery",
               forgery_subtype="photo_substitution", security_features=["photo"], tlp="AMBER"),
    ]
    db.session.commit()
    text = _export(gtm, fmt, filters={"reporting_party": "GTM"})
    if fmt == "csv":
        assert "'=cmd" in text  # a spreadsheet does not run it
    mex = make_user(role="liaison_officer", party_code="MEX")
    content = text.encode()
    report_, counts = import_file(principal(mex), lambda: iter([content]), fmt)
    assert report_.ok and counts.imported == len(_references(text, fmt))
    copies = {alert.document_number or alert.range_start: alert for alert in db.session.scalars(
        select(Alert).where(Alert.owner_party_id == mex.party_id))}
    for original in originals:
        copy = copies[original.document_number or original.range_start]
        assert copy.reference.startswith("MEX-")
        for name in _COMPARED:
            assert getattr(copy, name) == getattr(original, name), name
