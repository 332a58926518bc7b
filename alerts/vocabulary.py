"""The controlled lists of an alert: stable codes (stored, sent by the API) and their translatable labels.

Codes never change once alerts use them (imports, API clients and subscriptions refer to them); labels may.
Each list is an ordered mapping ``code -> label`` so forms offer the choices in a sensible order.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

PLACE_KINDS = {
    "airport": _l("Airport"),
    "land_border": _l("Land border post"),
    "sea_border": _l("Sea border post"),
    "inland": _l("Inland"),
}

DOCUMENT_CATEGORIES = {
    "passport": _l("Passport"),
    "identity_card": _l("Identity card"),
    "visa": _l("Visa"),
    "residence_permit": _l("Residence permit"),
    "refugee_travel_document": _l("Refugee or stateless person's travel document"),
    "civil_status_document": _l("Civil status document"),
    "entry_exit_stamp": _l("Entry or exit stamp"),
    "driving_licence": _l("Driving licence"),
    "other": _l("Other document"),
}

DOCUMENT_TYPES = {
    "ordinary": _l("Ordinary"),
    "diplomatic": _l("Diplomatic"),
    "service": _l("Service or official"),
    "emergency": _l("Emergency"),
    "other": _l("Other"),
}

FRAUD_TYPES = {
    "counterfeit": _l("Counterfeit"),
    "forgery": _l("Forgery"),
    "pseudo_document": _l("Pseudo-document"),
    "fraudulently_obtained": _l("Fraudulently obtained genuine document"),
    "impostor": _l("Impostor or look-alike"),
    "stolen_blank": _l("Stolen blank"),
    "lost_stolen": _l("Lost or stolen"),
    "revoked_invalid": _l("Revoked or invalid"),
}

# Only a forgery (a genuine document altered) has a subtype.
FORGERY_SUBTYPES = {
    "photo_substitution": _l("Photo substitution"),
    "page_substitution": _l("Page substitution"),
    "data_alteration": _l("Data alteration"),
    "fraudulent_visa_stamp": _l("Fraudulent visa or stamp"),
}

# Fraud types that may describe a series of numbers (blank booklets stolen from a printer or a consulate).
RANGE_FRAUD_TYPES = frozenset({"stolen_blank", "lost_stolen"})

SECURITY_FEATURES = {
    "mrz": _l("Machine-readable zone"),
    "biodata_page": _l("Biographical data page"),
    "laminate": _l("Laminate"),
    "uv_features": _l("UV features"),
    "ovd": _l("Optically variable device"),
    "watermark": _l("Watermark"),
    "security_thread": _l("Security thread"),
    "perforation": _l("Perforation"),
    "printing": _l("Printing (intaglio, rainbow, microprinting)"),
    "chip": _l("Chip"),
    "binding": _l("Binding or stitching"),
    "photo": _l("Photograph"),
    "stamp_seal": _l("Stamp or seal"),
    "signature": _l("Signature"),
    "other": _l("Other feature"),
}

STATUSES = {
    "draft": _l("Draft"),
    "published": _l("Published"),
    "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired"),
}
# Shown for a published alert changed after publication (a display state, not a stored status).
REVISED_LABEL = _l("Revised")

SORTS = {
    "-detection_date": _l("Detection date, newest first"),
    "detection_date": _l("Detection date, oldest first"),
    "reference": _l("Reference, ascending"),
    "-reference": _l("Reference, descending"),
}

# The first character of an ICAO document code -> our category (Doc 9303: P passport, V visa; I, A and C
# are the identity-card family of TD1/TD2 documents, which includes most residence cards).
MRZ_CATEGORY = {"P": "passport", "V": "visa", "I": "identity_card", "A": "identity_card", "C": "identity_card"}
# The second character of a passport code, where states follow the common practice (PD, PS, PO).
MRZ_PASSPORT_TYPE = {None: "ordinary", "P": "ordinary", "D": "diplomatic", "S": "service", "O": "service"}


def label(vocabulary: dict, code: str | None) -> str:
    """The label of ``code`` in ``vocabulary`` (the code itself if unknown, empty for ``None``)."""
    if code is None:
        return ""
    return str(vocabulary.get(code, code))
