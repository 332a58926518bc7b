"""Account forms that help: no silent default party, and the demo's own addresses accepted."""

from __future__ import annotations

import re

from auth.models import User
from portal.cli import DEMO_ACCOUNTS, demo_email
from tests.directory.factories import make_entry


def test_the_party_list_has_no_silent_default(client, make_user, login_as):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    html = client.get("/admin/users/new").data.decode()
    select = re.search(r'<select[^>]*id="party".*?</select>', html, re.DOTALL).group(0)
    first = re.search(r"<option[^>]*>([^<]*)</option>", select)
    assert first.group(0).startswith('<option selected value=""') or 'value=""' in first.group(0)
    assert first.group(1) == "Choose a party"
    response = client.post("/admin/users/new", data={"email": "no.party@minex.gob.gt", "full_name": "No Party",
                                                      "role": "country_admin", "party": ""})
    assert response.status_code in (200, 400)
    assert User.find_by_email("no.party@minex.gob.gt") is None


def test_an_address_like_the_demo_accounts_is_accepted(client, make_user, login_as):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    address = demo_email("liaison2", "GTM")
    response = client.post("/admin/users/new", data={"email": address, "full_name": "Second Demo Liaison",
                                                      "role": "country_admin", "party": "GTM"})
    assert response.status_code == 302
    assert User.find_by_email(address).party.code == "GTM"


def test_every_demo_address_passes_the_portals_address_check():
    from email_validator import validate_email

    for local_part, _role, code, _name in DEMO_ACCOUNTS:
        validate_email(demo_email(local_part, code), check_deliverability=False)


def test_the_directory_says_1_entry_found(client, make_user, login_as):
    make_entry("HND", name="Única Persona", email="unica@sre.gob.hn")
    login_as(make_user(role="liaison_officer", party_code="HND"))
    html = client.get("/directory/?party=HND").data.decode()
    assert "1 entry found." in html and "1 entries found" not in html


def test_a_form_marks_required_fields_and_opens_with_an_error_summary(client, make_user, login_as):
    login_as(make_user(role="country_admin", party_code="GTM"))
    blank = client.get("/admin/users/new").data.decode()
    assert re.search(r'<label class="form-label" for="email">E-mail address<span class="required-mark"', blank)
    assert "Fields marked * are required." in blank and "error-summary" not in blank
    html = client.post("/admin/users/new", data={"email": "", "full_name": "", "role": "liaison_officer"}).data.decode()
    summary = re.search(r'<div class="alert alert-danger error-summary" role="alert".*?</div>', html, re.DOTALL).group(0)
    assert "There are 2 problems with this form:" in summary
    assert '<a href="#email">E-mail address:' in summary and '<a href="#full_name">Full name:' in summary
    assert re.search(r'<input[^>]*aria-describedby="email-error"[^>]*aria-invalid="true"|'
                     r'<input[^>]*aria-invalid="true"[^>]*aria-describedby="email-error"', html)
    assert 'id="email-error"' in html
