"""At the counter: a Mexican border officer pastes a two-line MRZ and sees the hit banner, asks the
reporting party (Guatemala) to confirm the hit; a Guatemalan liaison officer answers; the officer reads it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.alerts.factories import td3
from tests.e2e.journeys import create_user, sign_in, sign_out

pytestmark = pytest.mark.e2e


def _published_alert(live_server, email: str, number: str) -> str:
    """A GREEN members-wide alert reported by ``email``'s account, through the real operation."""
    from auth.models import User, email_index
    from portal.extensions import db
    from tests.alerts.factories import report

    with live_server.app.app_context():
        try:
            user = db.session.scalar(select(User).where(User.email_index == email_index(email)))
            alert = report(user, document_number=number, issuing_state="GTM",
                           detection_tips="The laminate shows no reaction under ultraviolet light.")
            db.session.commit()
            return alert.reference
        finally:
            db.session.remove()


def test_a_pasted_mrz_hits_and_the_reporting_party_confirms(live_server, browser_page):
    page = browser_page
    reporter_secret = create_user(live_server, "rosa.reporter@gtm.example.org", "liaison_officer", "GTM", "Rosa Reporter")
    officer_secret = create_user(live_server, "diego.counter@mex.example.org", "border_officer", "MEX", "Diego Counter")
    reference = _published_alert(live_server, "rosa.reporter@gtm.example.org", "K7700123")

    # The Mexican border officer pastes the passport's two MRZ lines into the search box.
    sign_in(page, live_server, "diego.counter@mex.example.org", officer_secret)
    page.get_by_role("link", name="Alerts", exact=True).click()
    page.fill("#q", td3("K7700123", state="GTM"))
    page.click("#search-submit")
    banner = page.locator("#hit-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("HIT: 1 alert on this document")
    expect(banner).to_contain_text(reference)
    expect(banner).to_contain_text("Exact match")
    expect(banner).to_contain_text("TLP:GREEN")
    expect(banner).to_contain_text("The laminate shows no reaction under ultraviolet light.")
    expect(banner).to_contain_text("Searched: document number K7700123, issuing state GTM.")
    # the banner is red: the danger colour, with white text (to_have_css retries until the stylesheet
    # has applied; a one-shot getComputedStyle can run before it has)
    expect(banner).to_have_css("background-color", "rgb(164, 22, 26)")
    expect(banner).to_have_css("color", "rgb(255, 255, 255)")

    # ... and asks Guatemala to confirm the hit before acting.
    banner.locator("input[name=place]").fill("Ciudad Hidalgo border crossing")
    banner.locator("textarea[name=note]").fill("Holder waiting at the counter.")
    banner.get_by_role("button", name="Ask GTM to confirm this hit").click()
    expect(page.locator(".alert-success")).to_contain_text("Confirmation requested from GTM.")
    expect(page.locator("#confirmation-status")).to_have_text("Pending")
    confirmation_url = page.url
    assert re.search(r"/alerts/confirmations/\d+$", confirmation_url)
    sign_out(page)

    # The Guatemalan liaison officer is told, opens the request and confirms.
    sign_in(page, live_server, "rosa.reporter@gtm.example.org", reporter_secret)
    page.goto(live_server.url + "/notifications/")
    page.get_by_role("link", name=re.compile(r"Hit confirmation requested by MEX")).first.click()
    expect(page).to_have_url(confirmation_url)
    expect(page.locator("#confirmation-facts")).to_contain_text("K7700123")
    expect(page.locator("#confirmation-facts")).to_contain_text("Ciudad Hidalgo border crossing")
    page.get_by_label("Confirmed", exact=True).check()
    page.fill("#note", "Genuine alert: seize the passport.")
    page.click("#answer-submit")
    expect(page.locator("#confirmation-status")).to_have_text("Confirmed")
    sign_out(page)

    # The border officer reads the answer.
    sign_in(page, live_server, "diego.counter@mex.example.org", officer_secret)
    page.goto(confirmation_url)
    expect(page.locator("#confirmation-status")).to_have_text("Confirmed")
    expect(page.locator("#answer-note")).to_have_text("Genuine alert: seize the passport.")
    assert page.csp_violations == []
