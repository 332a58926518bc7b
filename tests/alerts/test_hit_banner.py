"""The search page answers a number or MRZ search unmistakably: a hit banner (exact and series matches), a
look-alike banner (never a hit), or a no-hit saying what was searched; and the box is a text area."""

import re

import pytest

from tests.alerts.factories import report, td3
from tests.alerts.test_mrz_paste import td1, td2
from tests.documents.factories import make_attachment, png_bytes


@pytest.fixture
def gtm(make_user):
    return make_user(role="liaison_officer", party_code="GTM")


@pytest.fixture
def officer(make_user, login_as):
    user = make_user(role="border_officer", party_code="MEX")
    login_as(user)
    return user


def _section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</section>", start)]


def test_the_search_box_is_a_text_area_that_keeps_the_lines(client, officer):
    html = client.get("/alerts/").data.decode()
    assert re.search(r'<textarea[^>]*name="q"', html)


def test_a_hit_shows_the_banner_with_everything_the_officer_needs(client, gtm, officer):
    alert = report(gtm, document_number="K1234567", tlp="AMBER", fraud_type="counterfeit",
                   detection_tips="The laminate shows no reaction under ultraviolet light.")
    genuine = make_attachment(gtm, alert, png_bytes(), "genuine.png", is_genuine_reference=True)
    specimen = make_attachment(gtm, alert, png_bytes(color=(200, 10, 10)), "front-uv.png", side="front", light="uv")
    html = client.get("/alerts/", query_string={"q": td3("K1234567")}).data.decode()
    banner = _section(html, "hit-banner")
    assert 'class="hit-banner hit-banner-danger" role="alert"' in html
    assert "HIT: 1 alert on this document" in banner
    assert alert.reference in banner and "Counterfeit" in banner and "TLP:AMBER" in banner
    assert "GTM · Guatemala" in banner and "Exact match" in banner
    assert "The laminate shows no reaction under ultraviolet light." in banner
    assert f"/alerts/{alert.id}/attachments/{specimen.id}/view" in banner  # the false document, not the genuine one
    assert f"/attachments/{genuine.id}/view" not in banner
    assert 'id="hit-next-steps"' in banner and "Keep the document" in banner
    assert "Searched: document number K1234567, issuing state GTM." in banner
    form = banner[banner.index(f'id="confirm-{alert.id}"'):]
    assert 'name="csrf_token"' in form and 'name="document_number" value="K1234567"' in form
    assert f'action="/alerts/{alert.id}/confirmations"' in banner
    assert client.get(f"/alerts/{alert.id}/attachments/{specimen.id}/view").status_code == 200


def test_series_and_look_alike_matches_are_labelled_and_a_look_alike_is_no_hit(client, gtm, officer):
    series = report(gtm, document_number=None, range_start="B100000", range_end="B100999", fraud_type="stolen_blank")
    html = client.get("/alerts/?q=B100500&issuing_state=GTM").data.decode()
    assert series.reference in _section(html, "hit-banner")
    assert "Range match: the number lies in a reported series of stolen blanks." in html
    near = report(gtm, document_number="PO123456")
    html = client.get("/alerts/?q=P0123456").data.decode()
    assert 'id="hit-banner"' not in html  # only a look-alike: no hit
    banner = _section(html, "near-banner")
    assert near.reference in banner and "not a hit" in banner and "Near match: a look-alike number" in banner
    assert f'id="confirm-{near.id}"' not in banner


def test_a_no_hit_says_what_was_searched_and_where(client, gtm, officer):
    report(gtm, document_number="K5550002", distribution={"level": "party"}, tlp="AMBER")
    html = client.get("/alerts/", query_string={"q": td2("K5550002")}).data.decode()
    no_hit = _section(html, "no-hit")
    assert "No hit" in no_hit and "Searched: document number K5550002, issuing state GTM." in no_hit
    assert "Only the alerts shared with your party (MEX) were searched" in no_hit
    anywhere = _section(client.get("/alerts/?q=K555-0003").data.decode(), "no-hit")
    assert "Searched: document number K5550003, in every issuing state." in anywhere


def test_the_reporting_party_is_not_offered_to_confirm_its_own_alert(client, gtm, login_as):
    alert = report(gtm, document_number="K1234567")
    login_as(gtm)
    html = client.get("/alerts/?q=K1234567").data.decode()
    assert 'id="hit-banner"' in html and f'id="confirm-{alert.id}"' not in html


@pytest.mark.parametrize("paste", [
    lambda: td3("K1234567").replace("\n", " "),
    lambda: td3("K1234567").split("\n")[1],
    lambda: td1("K1234567").replace("\n", "  "),
])
def test_the_page_finds_the_alert_from_a_paste_that_lost_its_line_breaks(client, gtm, officer, paste):
    alert = report(gtm, document_number="K1234567")
    response = client.get("/alerts/", query_string={"q": paste()})
    assert response.status_code == 200
    assert alert.reference in _section(response.data.decode(), "hit-banner")


def test_an_unreadable_mrz_is_a_form_error_naming_the_problem(client, gtm, officer):
    report(gtm, description="Juan Perez", document_number="K1234567")
    response = client.get("/alerts/", query_string={"q": td3("K1234567").split("\n")[0]})
    assert response.status_code == 422
    html = response.data.decode()
    assert "only the document code, the issuing state and the names" in html and 'id="alert-results"' not in html
