"""Narratives keep holder data, numbers and MRZ lines out, compared after normalising.

The holder is Hermenegildo Pacheco Ruiz, passport QZ7730099 of Guatemala; every example below passed the
old verbatim check and was stored in clear in the full-text index.
"""

from __future__ import annotations

import pytest

from alerts.narratives import narrative_finding
from alerts.validation import NARRATIVE_FIELDS, AlertValidationError, clean
from tests.alerts.factories import alert_data, td3
from tests.alerts.test_api import alert_count, bearer

HOLDER = "Hermenegildo Pacheco Ruiz"
NUMBER = "QZ7730099"

REFUSED = [
    ("PACHECO RUIZ, Hermenegildo presented the passport.", "name"),
    ("H. Pacheco Ruiz presented the passport.", "name"),
    ("The bearer, Mr pachéco, was nervous.", "name"),
    ("Given name HERMENEGILDO on the data page.", "name"),
    ("Passport QZ.7730099 was presented.", "number"),
    ("Passport QZ773OO99 was presented.", "number"),
    ("Passport qz 773-00 99 was presented.", "number"),
    ("Passport Q2/77300/99 was presented.", "number"),
    ("Data page reads P<GTMLOPEZ<<MARIA<<<<<<<<<<<<<<<<<<<<<<<<<<<< under the laminate.", "mrz"),
    ("Second line L898902C36UTO7408122F1204159ZE184226B<<<<<10 seen.", "mrz"),
    ("Name zone LOPEZ<<MARIA was reprinted.", "mrz"),
    ("It starts P<UTO and then the name.", "mrz"),
    ("A TD1 line IDUTOD231458907<<<<<<<<<<<<<<< was altered.", "mrz"),
]

INNOCENT = [
    "Counterfeit passport booklet of good quality; the bearer said he travelled alone.",
    "Seen on 12 March 2026 at 14:30, flight 1234 from Bogota; 3 passengers, 2 bags.",
    "Issued by Guatemala (GTM), República de Guatemala, on 2020-02-01; expires 2030-01-31.",
    "The laminate shows no reaction under ultraviolet light; page 32 was resewn.",
    "Bought from a facilitator during the journey through Panama and Mexico, for 500 USD.",
    "A price of x < y was quoted; the holder page is cut.",
]


def _data(**overrides) -> dict:
    return alert_data(document_number=NUMBER, holder_name=HOLDER, **overrides)


@pytest.mark.parametrize("field", NARRATIVE_FIELDS)
@pytest.mark.parametrize(("text", "kind"), REFUSED)
def test_holder_data_in_any_narrative_field_is_refused(app_ctx, party, field, text, kind):
    with pytest.raises(AlertValidationError) as caught:
        clean(_data(**{field: text}), owner_party_id=party("GTM").id)
    assert set(caught.value.errors) == {field}
    message = caught.value.errors[field]
    expected = {"name": "holder's name", "number": "document number", "mrz": "machine-readable zone"}[kind]
    assert expected in message and field.replace("_", " ") in message
    for secret in ("Pacheco", "PACHECO", "Ruiz", "Hermenegildo", "7730099", "QZ", "LOPEZ", "<<"):
        assert secret not in message  # never echoed back


@pytest.mark.parametrize("field", NARRATIVE_FIELDS)
@pytest.mark.parametrize("text", INNOCENT)
def test_innocent_narratives_pass(app_ctx, party, field, text):
    values = clean(_data(**{field: text}), owner_party_id=party("GTM").id)
    assert values[field] == text


@pytest.mark.parametrize(("number", "text", "found"), [
    ("A12", "Passport A-12 was presented.", True),
    ("A12", "Passport A 1 2 was presented.", True),
    ("A12", "Seen in 2012 on the A120 road; 12 bags.", False),
    ("7", "Booklet number 7 was used.", True),
    ("7", "Booklet 17 with 70 pages.", False),
    ("X1234567", "ref X1234567B", True),
])
def test_numbers_of_every_length(number, text, found):
    assert (narrative_finding(text, [number], []) == "number") is found


def test_short_name_words_and_particles_are_not_names():
    # tokens under three letters and particles of compound names are ordinary words
    assert narrative_finding("He went to La Paz with Al and del Rio.", [], ["Al De La Cruz Del Valle"]) is None
    assert narrative_finding("Valle was written in.", [], ["Al De La Cruz Del Valle"]) == "name"


def test_names_and_number_of_the_mrz_field_are_holder_data_too(app_ctx, party):
    mrz = td3("QZ7730099", surname="PACHECO<RUIZ", given="HERMENEGILDO")
    data = alert_data(document_number=None, holder_name=None, mrz=mrz, modus_operandi="Mr Ruiz paid cash.",
                      detection_tips="Check QZ 773 0099 against the register.")
    with pytest.raises(AlertValidationError) as caught:
        clean(data, owner_party_id=party("GTM").id)
    assert {"modus_operandi", "detection_tips"} <= set(caught.value.errors)


def test_the_api_refuses_the_same(client, make_user):
    user = make_user(role="liaison_officer", party_code="GTM")
    body = {key: value for key, value in _data(description="H. Pacheco Ruiz, QZ773OO99.").items()
            if value is not None}
    response = client.post("/api/v1/alerts", json=body, headers=bearer(user, "alerts:write"))
    assert response.status_code in (400, 422)
    assert "description" in response.get_data(as_text=True)
    assert "Pacheco" not in response.get_data(as_text=True)
    assert alert_count() == 0
