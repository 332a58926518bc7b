"""Shared steps of the browser journeys: enrolled accounts, signing in and out.

The portal refuses a TOTP code whose time step was already used (replay protection), and a journey
signs the same person in twice within seconds; ``next_code`` therefore never hands out a step twice for
the same secret, moving to the next step (the server accepts one step of clock drift) or waiting for it.
"""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import expect
from sqlalchemy import select

PASSWORD = "Quetzal-volcano-Antigua-2024!"
_last_step: dict[str, int] = {}


def next_code(secret: str) -> str:
    """A TOTP code for a time step not used before with ``secret`` in this test run."""
    totp = pyotp.TOTP(secret)
    while True:
        current = int(time.time()) // totp.interval
        step = max(current, _last_step.get(secret, -1) + 1)
        if step <= current + 1:  # within the server's tolerance of one step ahead
            _last_step[secret] = step
            return totp.at(step * totp.interval)
        time.sleep(1)


def create_user(live_server, email: str, role: str, party_code: str, name: str) -> str:
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


def sign_in(page, live_server, email: str, secret: str, password: str = PASSWORD) -> None:
    page.goto(live_server.url + "/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("#main form [type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/auth/two-factor$"))
    page.fill("#code", next_code(secret))
    page.locator("#main form [type=submit]").first.click()
    expect(page.locator("#dashboard-heading")).to_be_visible()


def sign_out(page) -> None:
    page.locator("form[action$='/auth/logout'] [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
