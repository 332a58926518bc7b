"""A Guatemalan liaison officer sends a request for information to Mexico; a Mexican liaison officer
acknowledges and answers it; a Panamanian liaison officer sees nothing of it."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

pytestmark = pytest.mark.e2e

PASSWORD = "Quetzal-volcano-Antigua-2024!"


def _create_user(live_server, email: str, role: str, party_code: str, name: str) -> str:
    """An enrolled account on the live server; returns its TOTP secret."""
    from auth.models import User, email_index
    from auth.passwords import hash_password
    from portal.extensions import db
    from portal.parties.models import Party
    from portal.timeutil import utcnow

    secret = pyotp.random_base32()
    with live_server.app.app_context():
        try:
            party = db.session.scalar(select(Party).where(Party.code == party_code))
            db.session.add(User(email=email, email_index=email_index(email), full_name=name, party_id=party.id,
                                role=role, active=True, password_hash=hash_password(PASSWORD),
                                password_changed_at=utcnow(), totp_secret=secret, totp_enrolled_at=utcnow()))
            db.session.commit()
        finally:
            db.session.remove()
    return secret


def _sign_in(page, live_server, email: str, secret: str) -> None:
    page.goto(live_server.url + "/auth/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("#main form [type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/auth/two-factor$"))
    page.fill("#code", pyotp.TOTP(secret).now())
    page.locator("#main form [type=submit]").first.click()
    expect(page.locator("#dashboard-heading")).to_be_visible()


def _sign_out(page) -> None:
    page.locator("form[action$='/auth/logout'] [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))


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
    gtm = _create_user(live_server, "rosa.rfi@gtm.example.org", "liaison_officer", "GTM", "Rosa Sender")
    mex = _create_user(live_server, "diego.rfi@mex.example.org", "liaison_officer", "MEX", "Diego Answer")
    pan = _create_user(live_server, "pablo.rfi@pan.example.org", "liaison_officer", "PAN", "Pablo Outside")

    # GTM writes and sends the request for information to MEX.
    _sign_in(page, live_server, "rosa.rfi@gtm.example.org", gtm)
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
    page.select_option("#parties", ["MEX"])
    page.fill("#due_date", (utcnow().date() + timedelta(days=7)).isoformat())
    page.click("#send-submission")
    expect(page.locator("#submission-status")).to_have_text("Sent")
    expect(page.locator("#submission-recipients")).to_contain_text("MEX")
    expect(page.locator("#no-acknowledgements")).to_be_visible()
    submission_id, status, kind, _acks, _replies = _stored(live_server, title)
    assert (status, kind) == ("sent", "request_for_information")
    detail_url = page.url
    _sign_out(page)

    # MEX finds it unread in its inbox, acknowledges it and answers.
    _sign_in(page, live_server, "diego.rfi@mex.example.org", mex)
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
    _sign_out(page)
    assert _stored(live_server, title)[1:] == ("answered", "request_for_information", ["MEX"],
                                               ["Yes: **three cases** this month."])

    # PAN sees nothing of it: not in its boxes, and the page itself is not found.
    _sign_in(page, live_server, "pablo.rfi@pan.example.org", pan)
    page.get_by_role("link", name="Exchange", exact=True).click()
    expect(page.locator("#empty-box")).to_be_visible()
    expect(page.locator("#main")).not_to_contain_text(title)
    page.click("#sent-tab")
    expect(page.locator("#main")).not_to_contain_text(title)
    response = page.goto(detail_url)
    assert response.status == 404
    expect(page.locator("#main")).not_to_contain_text(title)
    _sign_out(page)

    # GTM sees who acknowledged and the answer.
    _sign_in(page, live_server, "rosa.rfi@gtm.example.org", gtm)
    page.goto(detail_url)
    expect(page.locator("#acknowledgements")).to_contain_text("MEX: Diego Answer")
    expect(page.locator(".reply-body")).to_contain_text("three cases")
    assert page.csp_violations == []
