"""A Guatemalan liaison officer reports an alert by pasting an MRZ and publishes it to every member; a
Mexican border officer signs in and finds it by the document number."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.journeys import create_user, sign_in, sign_out

pytestmark = pytest.mark.e2e

SPECIMEN_MRZ = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n"
                "L898902C36UTO7408122F1204159ZE184226B<<<<<10")


def _stored_alert(live_server, reference: str):
    from alerts.models import Alert
    from portal.extensions import db

    with live_server.app.app_context():
        try:
            alert = db.session.scalar(select(Alert).where(Alert.reference == reference))
            return (alert.status, alert.distribution_level, alert.tlp, alert.document_number, alert.issuing_state,
                    alert.route, alert.security_features)
        finally:
            db.session.remove()


def test_report_from_mrz_publish_and_find_from_another_country(live_server, browser_page):
    page = browser_page
    reporter_secret = create_user(live_server, "lucia.reporter@gtm.example.org", "liaison_officer", "GTM",
                                   "Lucia Reporter")
    searcher_secret = create_user(live_server, "mateo.border@mex.example.org", "border_officer", "MEX",
                                   "Mateo Border")

    # The Guatemalan liaison officer reports the alert.
    sign_in(page, live_server, "lucia.reporter@gtm.example.org", reporter_secret)
    page.get_by_role("link", name="Alerts", exact=True).click()
    expect(page.locator("#alerts-heading")).to_have_text("Fraudulent document alerts")
    page.click("#new-alert")
    page.fill("#mrz", SPECIMEN_MRZ)
    page.click("#prefill")
    expect(page.locator("#document_number")).to_have_value("L898902C3")
    expect(page.locator("#issuing_state")).to_have_value("UTO")
    expect(page.locator("#holder_name")).to_have_value("ERIKSSON, ANNA MARIA")
    expect(page.locator("#document_category")).to_have_value("passport")

    page.fill("#detecting_unit", "Immigration control, terminal 1")
    page.select_option("#detection_place_kind", "airport")
    page.fill("#detection_place", "La Aurora International Airport")
    page.fill("#detection_date", "2026-01-15")
    page.select_option("#route-0", "COL")
    page.select_option("#route-1", "PAN")
    page.select_option("#route-2", "GTM")
    page.select_option("#fraud_type", "counterfeit")
    page.check("input[name=security_features][value=laminate]")
    page.check("input[name=security_features][value=uv_features]")
    page.fill("#description", "Counterfeit of the specimen passport; good print quality.")
    page.fill("#detection_tips", "The laminate shows no reaction under ultraviolet light.")
    page.select_option("#tlp", "GREEN")
    page.select_option("#distribution", "members")
    page.click("#publish")

    expect(page).to_have_url(re.compile(r"/alerts/\d+$"))
    expect(page.locator("#alert-status")).to_have_text("Published")
    expect(page.locator("#alert-document-number")).to_have_text("L898902C3")
    reference = re.search(r"GTM-\d{4}-\d{6}", page.locator("#alert-heading").inner_text()).group(0)
    assert _stored_alert(live_server, reference) == (
        "published", "members", "GREEN", "L898902C3", "UTO", ["COL", "PAN", "GTM"], ["laminate", "uv_features"])
    sign_out(page)

    # A Mexican border officer finds it by the document number, typed as printed on the booklet.
    sign_in(page, live_server, "mateo.border@mex.example.org", searcher_secret)
    page.get_by_role("link", name="Alerts", exact=True).click()
    page.fill("#q", "L898902 C3")
    page.click("#search-submit")
    results = page.locator("#alert-results")
    expect(results).to_contain_text(reference)
    expect(results).to_contain_text("exact match")
    expect(results).to_contain_text("TLP:GREEN")
    expect(page.locator("#hit-banner")).to_contain_text(reference)  # and the banner names it too
    results.get_by_role("link", name=reference).click()
    expect(page.locator("#alert-document-number")).to_have_text("L898902C3")
    expect(page.locator("#alert-route")).to_contain_text("PAN")
    page.click("#acknowledge-alert")
    expect(page.locator("#acknowledged")).to_be_visible()
    assert page.csp_violations == []
