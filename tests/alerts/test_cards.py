"""Quick-check cards and weekly bulletins: PDFs whose text is read back, refused like exports, audited."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
from pypdf import PdfReader

from alerts.models import Alert
from portal.dashboard.periods import current_iso_week
from portal.extensions import db
from tests.alerts.factories import audit_entries, mark_audit_start
from tests.documents.factories import gtm_alert, make_attachment, png_bytes


def _text(data: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


@pytest.mark.parametrize(("paper", "width_pt"), [("a4", 595.3), ("letter", 612.0)])
def test_the_card_holds_the_alert_its_images_and_the_viewers_watermark(make_user, login_as, client, paper, width_pt):
    author = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(author, tlp="AMBER", distribution={"level": "members"}, document_number="C7000001",
                      detection_tips="Compare the laminate under UV light.")
    make_attachment(author, alert, side="front", light="visible")
    make_attachment(author, alert, png_bytes(color=(200, 40, 40)), filename="uv.png", side="front", light="uv")
    viewer = make_user(role="border_officer", party_code="MEX", name="Rosa Aguilar")
    login_as(viewer)
    mark_audit_start()
    response = client.get(f"/alerts/{alert.id}/card.pdf" + ("?paper=letter" if paper == "letter" else ""))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text, reader = _text(response.data)
    assert len(reader.pages) == 1
    assert abs(float(reader.pages[0].mediabox.width) - width_pt) < 1
    for expected in (alert.reference, "TLP:AMBER", "C7000001", "Counterfeit", "Laminate", "Front · Visible light",
                     "Front · Ultraviolet (UV)", "Compare the laminate under UV light.", "MEX · Rosa Aguilar"):
        assert expected in text, expected
    images = sum(len(page.images) for page in reader.pages)
    assert images == 3  # two specimens and the QR code
    [entry] = audit_entries("alert.card")
    assert entry.outcome == "ok" and json.loads(entry.details) == {"paper": paper, "images": 2}
    assert "C7000001" not in str(entry.details)


def test_the_cards_qr_code_links_to_the_alert_from_the_base_url(make_user, login_as, client, monkeypatch):
    from alerts import cards
    from portal.routing import portal_url

    encoded = []
    real = cards._qr_png
    monkeypatch.setattr(cards, "_qr_png", lambda url: encoded.append(url) or real(url))
    author = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(author, tlp="GREEN", document_number="C7000002")
    login_as(make_user(role="border_officer", party_code="MEX"))
    _ignored, reader = _text(client.get(f"/alerts/{alert.id}/card.pdf").data)
    with client.application.test_request_context():
        assert encoded == [portal_url("alerts.detail", alert_id=alert.id)]
    assert encoded[0].endswith(f"/alerts/{alert.id}") and encoded[0].startswith("http")
    [qr] = reader.pages[0].images
    assert qr.image.width == qr.image.height  # the QR code is in the page


@pytest.mark.parametrize("tlp", ["RED", "AMBER+STRICT"])
def test_a_card_of_a_restricted_alert_is_refused_and_audited(make_user, login_as, client, tlp):
    author = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(author, tlp=tlp, distribution={"level": "parties", "parties": ["MEX"]})
    login_as(make_user(role="border_officer", party_code="MEX"))
    mark_audit_start()
    assert client.get(f"/alerts/{alert.id}").data.decode().count("card.pdf") == 0
    response = client.get(f"/alerts/{alert.id}/card.pdf")
    assert response.status_code == 403
    [entry] = audit_entries("alert.card")
    assert entry.outcome == "denied"


def test_a_card_of_an_alert_the_viewer_may_not_see_is_not_found(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    alert = gtm_alert(author, distribution={"level": "parties", "parties": ["HND"]})
    login_as(make_user(role="border_officer", party_code="MEX"))
    assert client.get(f"/alerts/{alert.id}/card.pdf").status_code == 404


def test_the_weekly_bulletin_holds_the_weeks_visible_alerts_and_leaves_out_restricted_ones(make_user, login_as,
                                                                                            client):
    author = make_user(role="liaison_officer", party_code="GTM")
    shown = gtm_alert(author, document_number="C8000001")
    hidden = gtm_alert(author, document_number="C8000002", distribution={"level": "parties", "parties": ["HND"]})
    red = gtm_alert(author, document_number="C8000003", tlp="RED", distribution={"level": "parties", "parties": ["MEX"]})
    older = gtm_alert(author, document_number="C8000004")
    db.session.get(Alert, older.id).published_at = datetime(2025, 3, 5, 12, 0)
    db.session.commit()
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    mark_audit_start()
    week = current_iso_week()
    response = client.get(f"/alerts/bulletin?week={week}&paper=letter")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text, reader = _text(response.data)
    assert shown.reference in text and "C8000001" in text
    for absent in (hidden.reference, red.reference, older.reference, "C8000003"):
        assert absent not in text
    assert "1 RED or AMBER+STRICT alerts are not printed" in text
    assert len(reader.pages) == 2  # the summary and one card
    [entry] = audit_entries("alert.bulletin")
    assert json.loads(entry.details) == {"week": week, "paper": "letter", "alerts": 1, "excluded_restricted": 1}


def test_the_bulletin_page_offers_the_current_week_and_names_a_bad_week(make_user, login_as, client):
    login_as(make_user(role="border_officer", party_code="MEX"))
    page = client.get("/alerts/bulletin")
    assert page.status_code == 200 and f'value="{current_iso_week()}"' in page.data.decode()
    bad = client.get("/alerts/bulletin?week=2026-W99&paper=a4")
    assert bad.status_code == 400 and "Choose a week, such as 2026-W48." in bad.data.decode()
