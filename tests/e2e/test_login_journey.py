"""A user signs in with password and TOTP, switches the interface to Spanish, and signs out."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.journeys import next_code

pytestmark = pytest.mark.e2e


def _translated(app, message: str, locale: str) -> str:
    """What the app's compiled catalog makes of ``message`` (the Spanish catalog is filled separately)."""
    with app.test_request_context(), force_locale(locale):
        return gettext(message)


def _submit(page) -> None:
    page.locator("#main form [type=submit]").first.click()


def test_sign_in_with_totp_switch_to_spanish_and_sign_out(live_server, browser_page):
    page = browser_page

    page.goto(live_server.url + "/")

    expect(page).to_have_url(re.compile(r"/auth/login(\?|$)"))
    page.fill("#email", live_server.email)
    page.fill("#password", live_server.password)
    _submit(page)

    expect(page).to_have_url(re.compile(r"/auth/two-factor$"))
    page.fill("#code", next_code(live_server.totp_secret))
    _submit(page)

    heading = page.locator("#dashboard-heading")
    expect(heading).to_have_text("Dashboard")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main")).to_contain_text("Ana Browser")

    expect(page.locator("#language-submit")).to_have_attribute("value", "es")  # one button: the other language
    page.click("#language-submit")

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(heading).to_have_text(_translated(live_server.app, "Dashboard", "es"))
    expect(page.locator("#language-submit")).to_have_attribute("value", "en")
    assert _saved_locale(live_server) == "es"  # remembered for the account, not just this browser

    page.locator("form[action$='/auth/logout'] [type=submit]").click()

    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.locator("#email")).to_be_visible()
    assert _open_sessions(live_server) == 0  # the server-side session was revoked
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/auth/login(\?|$)"))
    assert page.csp_violations == []


def _saved_locale(live_server) -> str | None:
    from auth.models import User
    from portal.extensions import db

    with live_server.app.app_context():
        try:
            return db.session.scalar(select(User.locale).where(User.id == _user_id(live_server)))
        finally:
            db.session.remove()


def _open_sessions(live_server) -> int:
    from auth.models import UserSession
    from portal.extensions import db

    with live_server.app.app_context():
        try:
            return len(db.session.scalars(select(UserSession).where(
                UserSession.user_id == _user_id(live_server), UserSession.revoked_at.is_(None))).all())
        finally:
            db.session.remove()


def _user_id(live_server) -> int:
    from auth.models import User

    return User.find_by_email(live_server.email).id
