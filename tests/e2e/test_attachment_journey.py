"""A Guatemalan liaison officer attaches a specimen image to a published members-wide alert; a Mexican
border officer opens the alert's files and sees the image (decrypted on the way out, never stored in clear)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.journeys import create_user, sign_in

pytestmark = pytest.mark.e2e


def _published_alert(live_server, email: str) -> tuple[int, str]:
    from auth.models import User
    from portal.extensions import db
    from portal.principal import Principal
    from tests.alerts.factories import alert_data

    with live_server.app.test_request_context():
        try:
            from alerts.operations import create_alert

            user = User.find_by_email(email)
            alert = create_alert(Principal.for_user(user), alert_data(tlp="GREEN", distribution={"level": "members"},
                                                                        status="published"))
            db.session.commit()
            return alert.id, alert.reference
        finally:
            db.session.remove()


def _specimen() -> bytes:
    image = Image.new("RGB", (480, 320), (30, 90, 160))
    for x in range(0, 480, 4):
        image.putpixel((x, 160), (250, 250, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_attach_a_specimen_and_view_it_from_another_party(live_server, browser_page):
    page = browser_page
    reporter_secret = create_user(live_server, "rosa.specimen@gtm.example.org", "liaison_officer", "GTM",
                                   "Rosa Specimen")
    viewer_secret = create_user(live_server, "diego.viewer@mex.example.org", "border_officer", "MEX", "Diego Viewer")
    alert_id, _reference = _published_alert(live_server, "rosa.specimen@gtm.example.org")

    sign_in(page, live_server, "rosa.specimen@gtm.example.org", reporter_secret)
    page.goto(f"{live_server.url}/alerts/{alert_id}/attachments/new")
    page.select_option("#side", "biodata")
    page.select_option("#light", "uv")
    page.fill("#caption", "Biodata page under UV light")
    page.set_input_files("#file", files=[{"name": "biodata-uv.png", "mimeType": "image/png", "buffer": _specimen()}])
    page.click("#upload-attachment")
    expect(page).to_have_url(re.compile(rf"/alerts/{alert_id}/attachments$"))
    thumbnail = page.locator("#attachment-list img.attachment-thumb")
    expect(thumbnail).to_have_count(1)
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") > 0
    page.locator("form[action$='/auth/logout'] [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))

    sign_in(page, live_server, "diego.viewer@mex.example.org", viewer_secret)
    page.goto(f"{live_server.url}/alerts/{alert_id}/attachments")
    page.locator("#attachment-list a").first.click()
    expect(page.locator("#attachment-name")).to_have_text("biodata-uv.png")
    expect(page.locator("#attachment-side")).to_have_text("Biodata page")
    image = page.locator("#attachment-image")
    expect(image).to_be_visible()
    page.wait_for_function("document.querySelector('#attachment-image').complete")
    assert image.evaluate("img => img.naturalWidth") == 480
    assert page.csp_violations == []

    from alerts.attachments import Attachment
    from portal.audit.models import AuditEntry
    from portal.extensions import db

    with live_server.app.app_context():
        try:
            item = db.session.scalar(select(Attachment).where(Attachment.alert_id == alert_id))
            assert (item.side, item.light, item.kind) == ("biodata", "uv", "png")
            views = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "attachment.view",
                                                                AuditEntry.actor_party == "MEX")).all()
            assert len(views) >= 1
        finally:
            db.session.remove()
