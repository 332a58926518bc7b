"""A Guatemalan liaison officer sends a request for information to Mexico; a Mexican liaison officer
acknowledges and answers it; a Panamanian liaison officer sees nothing of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.journeys import create_user, sign_in, sign_out

pytestmark = pytest.mark.e2e


def _stored(live_server, title: str):
    from portal.exchange.models import Submission, SubmissionAcknowledgement, SubmissionReply
    from portal.extensions import db

    with live_server.app.app_context():
        try:
            submission = next(s for s in db.session.scalars(select(Submission)) if s.title == title)
            acks = db.session.scalars(select(SubmissionAcknowledgement)
                                      .where(SubmissionAcknowledgement.submission_id == submission.id)).all()
            replies = db.session.scalars(select(SubmissionReply)
                                         .where(SubmissionReply.submission_id == submission.id)).all()
            return (submission.id, submission.status, submission.kind, [a.party.code for a in acks],
                    [r.body for r in replies])
        finally:
            db.session.remove()


def test_request_for_information_from_gtm_to_mex_unseen_by_pan(live_server, browser_page):
    from portal.timeutil import utcnow

    page = browser_page
    title = "RFI: passports bought in Tapachula"
    gtm = create_user(live_server, "rosa.rfi@gtm.example.org", "liaison_officer", "GTM", "Rosa Sender")
    mex = create_user(live_server, "diego.rfi@mex.example.org", "liaison_officer", "MEX", "Diego Answer")
    pan = create_user(live_server, "pablo.rfi@pan.example.org", "liaison_officer", "PAN", "Pablo Outside")

    # GTM writes and sends the request for information to MEX.
    sign_in(page, live_server, "rosa.rfi@gtm.example.org", gtm)
    page.get_by_role("link", name="Exchange", exact=True).click()
    expect(page.locator("#exchange-heading")).to_have_text("Intelligence exchange")
    page.click("#new-submission")
    page.fill("#title", title)
    page.select_option("#kind", "request_for_information")
    page.fill("#summary", "Do you see Guatemalan passports obtained with false birth certificates?")
    page.fill("#body", "Please check **recent cases** at the Ciudad Hidalgo crossing.")
    page.select_option("#source_reliability", "B")
    page.select_option("#information_accuracy", "2")
    page.select_option("#handling_code", "no_onward")
    page.select_option("#tlp", "AMBER")
    page.check("#parties input[value=MEX]")  # recipients are checkboxes
    page.fill("#due_date", (utcnow().date() + timedelta(days=7)).isoformat())
    page.click("#send-submission")
    expect(page.locator("#submission-status")).to_have_text("Sent")
    expect(page.locator("#submission-recipients")).to_contain_text("MEX")
    expect(page.locator("#no-acknowledgements")).to_be_visible()
    submission_id, status, kind, _acks, _replies = _stored(live_server, title)
    assert (status, kind) == ("sent", "request_for_information")
    detail_url = page.url
    sign_out(page)

    # MEX finds it unread in its inbox, acknowledges it and answers.
    sign_in(page, live_server, "diego.rfi@mex.example.org", mex)
    page.get_by_role("link", name="Exchange", exact=True).click()
    expect(page.locator("#inbox-unread")).to_have_text("1 unread")
    row = page.locator(f"#submission-row-{submission_id}")
    expect(row).to_contain_text("GTM")
    row.get_by_role("link", name=title).click()
    expect(page.locator("#submission-body strong")).to_have_text("recent cases")
    expect(page.locator("#forward-heading")).to_have_count(0)  # no onward dissemination
    page.click("#acknowledge")
    expect(page.locator("#acknowledgements")).to_contain_text("MEX: Diego Answer")
    page.fill("#body", "Yes: **three cases** this month.")
    page.click("#send-reply")
    expect(page.locator("#submission-status")).to_have_text("Answered")
    expect(page.locator(".reply-body strong")).to_have_text("three cases")
    sign_out(page)
    assert _stored(live_server, title)[1:] == ("answered", "request_for_information", ["MEX"],
                                               ["Yes: **three cases** this month."])

    # PAN sees nothing of it: not in its boxes, and the page itself is not found.
    sign_in(page, live_server, "pablo.rfi@pan.example.org", pan)
    page.get_by_role("link", name="Exchange", exact=True).click()
    expect(page.locator("#empty-box")).to_be_visible()
    expect(page.locator("#main")).not_to_contain_text(title)
    page.click("#sent-tab")
    expect(page.locator("#main")).not_to_contain_text(title)
    response = page.goto(detail_url)
    assert response.status == 404
    expect(page.locator("#main")).not_to_contain_text(title)
    sign_out(page)

    # GTM sees who acknowledged and the answer.
    sign_in(page, live_server, "rosa.rfi@gtm.example.org", gtm)
    page.goto(detail_url)
    expect(page.locator("#acknowledgements")).to_contain_text("MEX: Diego Answer")
    expect(page.locator(".reply-body")).to_contain_text("three cases")
    assert page.csp_violations == []
