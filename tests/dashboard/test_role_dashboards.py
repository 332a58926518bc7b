"""Each role's first screen: what that person needs next, with charts, from what the viewer may see."""

from __future__ import annotations

import re
from datetime import date

from alerts.operations import acknowledge_alert
from alerts.subscriptions import create_subscription
from portal.extensions import db
from portal.principal import Principal
from tests.alerts.factories import report
from tests.directory.factories import make_entry
from tests.exchange.factories import make_submission


def _page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.data.decode()


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start: html.index("</section>", start)]


def test_the_border_officer_sees_the_check_box_first_and_new_alerts_with_a_chart(make_user, login_as, client):
    gtm = make_user(role="liaison_officer", party_code="GTM")
    report(gtm, document_number="B1000001", issuing_state="GTM")
    report(gtm, document_number="B1000002", issuing_state="HND", distribution={"level": "parties", "parties": ["HND"]})
    login_as(make_user(role="border_officer", party_code="MEX"))
    html = _page(client)
    headings = re.findall(r'<h2 class="h5" id="([^"]+)"', html)
    assert headings[0] == "dashboard-check-heading"
    assert 'action="/alerts/"' in _section(html, "dashboard-check-heading")
    assert "Report an alert" not in html and "dashboard-region-heading" not in html
    new = _section(html, "dashboard-new-heading")
    assert new.count("/alerts/") >= 2 and "1 alert" in new  # the HND-only alert is neither listed nor counted
    assert 'id="alerts-shared"' in new and "<svg" in new and '<table class="rcm-chart-table">' in new


def test_new_alerts_matching_a_subscription_come_first(make_user, login_as, client):
    gtm = make_user(role="liaison_officer", party_code="GTM")
    officer = make_user(role="border_officer", party_code="MEX")
    create_subscription(Principal.for_user(officer), {"issuing_state": "SLV", "delivery": "immediate"})
    older = report(gtm, document_number="B2000001", issuing_state="SLV")
    newer = report(gtm, document_number="B2000002", issuing_state="GTM")
    db.session.commit()
    login_as(officer)
    new = _section(_page(client), "dashboard-new-heading")
    assert new.index(older.reference) < new.index(newer.reference)
    assert new.count("Matches your subscriptions") == 1


def test_the_liaison_officer_sees_reporting_drafts_and_acknowledgements_owed(make_user, login_as, client):
    officer = make_user(role="liaison_officer", party_code="MEX")
    draft = report(officer, document_number="B3000001", status="draft")
    other_draft = report(make_user(role="liaison_officer", party_code="GTM"), document_number="B3000002", status="draft")
    owed = report(make_user(role="liaison_officer", party_code="GTM"), document_number="B3000003")
    done = report(make_user(role="liaison_officer", party_code="GTM"), document_number="B3000004")
    acknowledge_alert(Principal.for_user(officer), done)
    db.session.commit()
    login_as(officer)
    html = _page(client)
    headings = re.findall(r'<h2 class="h5" id="([^"]+)"', html)
    assert headings[:2] == ["dashboard-reporting-heading", "dashboard-owed-heading"]
    reporting = _section(html, "dashboard-reporting-heading")
    assert "Report an alert" in reporting and draft.reference in reporting and "1 draft" in reporting
    assert other_draft.reference not in html
    acknowledgements = _section(html, "dashboard-owed-heading")
    assert owed.reference in acknowledgements and done.reference not in acknowledgements


def test_requests_for_information_due_are_listed_soonest_first_and_overdue_marked(make_user, login_as, client):
    gtm = make_user(role="liaison_officer", party_code="GTM")
    late = make_submission(gtm, kind="request_for_information", title="Late request", due_date="2099-01-04")
    soon = make_submission(gtm, kind="request_for_information", title="Soon request", due_date="2099-01-05")
    make_submission(gtm, kind="request_for_information", title="Not for MEX", parties=["HND"], due_date="2099-01-01")
    late.due_date = date(2026, 1, 5)  # past its due date: sending refuses a date in the past
    db.session.commit()
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    requests = _section(_page(client), "dashboard-requests-heading")
    assert requests.index(late.reference) < requests.index(soon.reference)
    assert "Not for MEX" not in requests and "2 requests" in requests
    assert requests.count("Overdue") == 1


def test_the_country_admin_sees_accounts_by_role_outside_creations_and_stale_entries(make_user, login_as, client):
    admin = make_user(role="country_admin", party_code="HND")
    make_user(role="border_officer", party_code="HND")
    make_user(role="border_officer", party_code="GTM")
    stale = make_entry("HND", name="Ana Stale", email="ana.stale@sre.gob.hn", verified=date(2020, 1, 1))
    make_entry("HND", name="Beto Fresh", email="beto.fresh@sre.gob.hn")
    make_entry("GTM", name="Carla Other", email="carla.other@minex.gob.gt", verified=date(2020, 1, 1))
    db.session.commit()
    login_as(admin)
    html = _page(client)
    accounts = _section(html, "dashboard-accounts-heading")
    assert "2 active of 2 accounts you administer." in accounts
    assert 'id="accounts-by-role"' in accounts and "<svg" in accounts
    table = accounts[accounts.index('<table class="rcm-chart-table">'):]
    assert "Border officer" in table and "Country administrator" in table and "Liaison officer" not in table
    entries = _section(html, "dashboard-stale-heading")
    assert f"/directory/entries/{stale.id}" in entries and "Beto Fresh" not in entries and "Carla Other" not in entries
    assert "1 entry of your party was not verified" in entries


def test_the_secretariat_sees_the_region_from_what_it_may_see(make_user, login_as, client):
    gtm = make_user(role="liaison_officer", party_code="GTM")
    report(gtm, document_number="B4000001", fraud_type="counterfeit", issuing_state="GTM", route=["COL", "PAN"])
    report(gtm, document_number="B4000003", fraud_type="forgery", forgery_subtype="page_substitution",
           issuing_state="HND", route=["ECU", "GTM"])
    report(gtm, document_number="B4000004", fraud_type="counterfeit", issuing_state="CRI",
           distribution={"level": "parties", "parties": ["MEX"]})  # not shared with the secretariat
    make_submission(gtm, parties=["MEX"], tlp="GREEN")
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    html = _page(client)
    region = _section(html, "dashboard-region-heading")
    assert "From 2 alerts published in the last twelve months" in region
    for key in ("region-fraud-types", "region-states", "region-routes"):
        assert f'id="{key}"' in region and f'id="{key}-svg"' in region
    assert "COL → PAN → GTM" in region and "ECU → GTM" in region
    assert "CRI" not in region
    exchange = _section(html, "dashboard-region-exchange-heading")
    assert 'id="region-exchange-volume"' in exchange and 'id="region-answer-times"' in exchange


def test_a_chart_on_the_dashboard_passes_the_content_security_policy(make_user, login_as, client):
    gtm = make_user(role="liaison_officer", party_code="GTM")
    report(gtm, document_number="B5000001", route=["COL"])
    make_submission(gtm, parties=["MEX"], tlp="GREEN")
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    response = client.get("/")
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.data.decode()
    charts = re.findall(r"<svg.*?</svg>", html, re.DOTALL)
    assert len(charts) >= 5
    assert not [svg for svg in charts if "style=" in svg or "<style" in svg or "<script" in svg]
