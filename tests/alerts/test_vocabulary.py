"""The alert's controlled lists (document categories, fraud types, forgery subtypes, security features,
place kinds) hold exactly the items the alerts issue names, and the API accepts every one of them.

The codes are the stored and exchanged values (``alerts/vocabulary.py``); each is tied here to the issue's
wording through its English label, so renaming a code or dropping an item fails a test.
"""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from alerts import vocabulary
from alerts.models import Alert
from portal.extensions import db
from tests.alerts.test_api import api_body, bearer

# The issue's items, in its order, as code -> English label.
DOCUMENT_CATEGORIES = {
    "passport": "Passport",
    "identity_card": "Identity card",
    "visa": "Visa",
    "residence_permit": "Residence permit",
    "refugee_travel_document": "Refugee or stateless person's travel document",
    "civil_status_document": "Civil status document",
    "entry_exit_stamp": "Entry or exit stamp",
    "driving_licence": "Driving licence",
    "other": "Other document",
}
FRAUD_TYPES = {
    "counterfeit": "Counterfeit",
    "forgery": "Forgery",
    "pseudo_document": "Pseudo-document",
    "fraudulently_obtained": "Fraudulently obtained genuine document",
    "impostor": "Impostor or look-alike",
    "stolen_blank": "Stolen blank",
    "lost_stolen": "Lost or stolen",
    "revoked_invalid": "Revoked or invalid",
}
FORGERY_SUBTYPES = {
    "photo_substitution": "Photo substitution",
    "page_substitution": "Page substitution",
    "data_alteration": "Data alteration",
    "fraudulent_visa_stamp": "Fraudulent visa or stamp",
}
SECURITY_FEATURES = {
    "mrz": "Machine-readable zone",
    "biodata_page": "Biographical data page",
    "laminate": "Laminate",
    "uv_features": "UV features",
    "ovd": "Optically variable device",
    "watermark": "Watermark",
    "perforation": "Perforation",
    "printing": "Printing (intaglio, rainbow, microprinting)",
    "chip": "Chip",
    "binding": "Binding or stitching",
    "photo": "Photograph",
}
# Features the vocabulary offers beyond the issue's list (stored codes never go away once used): named
# here so that the list stays exact either way.
EXTRA_SECURITY_FEATURES = {
    "security_thread": "Security thread",
    "stamp_seal": "Stamp or seal",
    "signature": "Signature",
    "other": "Other feature",
}
PLACE_KINDS = {
    "airport": "Airport",
    "land_border": "Land border post",
    "sea_border": "Sea border post",
    "inland": "Inland",
}


def _english(mapping: dict) -> dict[str, str]:
    with force_locale("en"):
        return {code: str(label) for code, label in mapping.items()}


@pytest.mark.parametrize(("name", "expected"), [
    ("DOCUMENT_CATEGORIES", DOCUMENT_CATEGORIES),
    ("FRAUD_TYPES", FRAUD_TYPES),
    ("FORGERY_SUBTYPES", FORGERY_SUBTYPES),
    ("SECURITY_FEATURES", {**SECURITY_FEATURES, **EXTRA_SECURITY_FEATURES}),
    ("PLACE_KINDS", PLACE_KINDS),
])
def test_each_controlled_list_holds_exactly_the_issues_items(app_ctx, name, expected):
    assert _english(getattr(vocabulary, name)) == expected


def test_only_stolen_blanks_and_lost_or_stolen_documents_are_reported_as_series():
    assert vocabulary.RANGE_FRAUD_TYPES == {"stolen_blank", "lost_stolen"}


# --- the API accepts every item ---------------------------------------------------------------------

def _accepted(changes: dict) -> list[tuple[str, dict]]:
    return [(f"{field}={value}", {field: value, **extra}) for field, value, extra in changes]


CASES = _accepted(
    [("fraud_type", code, {"forgery_subtype": "data_alteration"} if code == "forgery" else {})
     for code in vocabulary.FRAUD_TYPES]
    + [("forgery_subtype", code, {"fraud_type": "forgery"}) for code in vocabulary.FORGERY_SUBTYPES]
    + [("document_category", code, {}) for code in vocabulary.DOCUMENT_CATEGORIES]
    + [("security_features", [code], {}) for code in vocabulary.SECURITY_FEATURES]
    + [("detection_place_kind", code, {}) for code in vocabulary.PLACE_KINDS]
)


@pytest.fixture
def write_headers(make_user):
    return bearer(make_user(role="liaison_officer", party_code="GTM"), "alerts:write")


@pytest.mark.parametrize("changes", [changes for _name, changes in CASES], ids=[name for name, _ in CASES])
def test_the_api_accepts_every_item(client, write_headers, changes):
    response = client.post("/api/v1/alerts", json=api_body(status="draft", **changes), headers=write_headers)
    assert response.status_code == 201, response.get_json()
    alert = db.session.get(Alert, response.get_json()["id"])
    for field, value in changes.items():
        assert getattr(alert, field) == value
