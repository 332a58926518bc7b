"""Directory input: every field checked next to it, phones normalised with the party's region."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.directory.models import DirectoryEntry
from portal.directory.validation import DirectoryError, clean_phones, party_region
from portal.extensions import db

VALID = {"full_name": "Ana Pérez", "email": "ana.perez@minex.gob.gt", "phones": "2411 1111",
         "languages": "es", "time_zone": "America/Guatemala"}


# --- validation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("full_name", "  ", "Enter the person"),
    ("email", "ana.perez@", "Enter a valid e-mail address."),
    ("phones", "12", "12 is not a valid phone number"),
    ("phones", "call me", "call me is not a phone number."),
    ("languages", "es, xx", "xx is not an ISO 639-1 language code"),
    ("languages", "spa", "spa is not an ISO 639-1 language code"),
    ("time_zone", "Guatemala/City", "Enter an IANA time zone"),
])
def test_bad_input_is_refused_next_to_its_field(make_user, login_as, client, field, value, message):
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = client.post("/directory/entries/new", data={**VALID, field: value})
    assert response.status_code == 400
    html = response.data.decode()
    assert message in html
    # the message sits right after the offending input, which is marked invalid
    tag = re.search(rf'<(?:input|textarea)[^>]*id="{field}"[^>]*>', html).group(0)
    assert "is-invalid" in tag
    assert html.rindex(message) > html.index(tag)  # next to the field (and in the summary above)
    assert db.session.scalar(select(func.count(DirectoryEntry.id))) == 0


def test_several_bad_fields_are_all_reported(make_user, login_as, client):
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = client.post("/directory/entries/new",
                           data={**VALID, "email": "nope", "phones": "12", "languages": "zz", "time_zone": "Mars/Base"})
    html = response.data.decode()
    assert response.status_code == 400
    assert html.count("invalid-feedback") == 4


def test_phones_are_normalised_with_the_party_region(make_user, login_as, client):
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = client.post("/directory/entries/new",
                           data={**VALID, "phones": "2411 1111\n+52 55 5555 1234, 2411-1111"})
    assert response.status_code == 302
    entry = db.session.scalar(select(DirectoryEntry))
    assert entry.phones == ["+50224111111", "+525555551234"]  # E.164, duplicate dropped


def test_national_numbers_need_a_country_code_for_a_non_country_party(make_user):
    from portal.parties.models import Party

    secretariat = db.session.scalar(select(Party).where(Party.code == "TS"))
    with pytest.raises(DirectoryError) as refused:
        clean_phones(["2411 1111"], party_region(secretariat))
    assert refused.value.field == "phones"
    assert clean_phones(["+502 2411 1111"], None) == ["+50224111111"]
