"""Forms of the alert pages: search, the alert itself (with the MRZ pre-fill step), withdrawal, and the
bare CSRF forms behind the publish and acknowledge buttons.

The alert form does not repeat the rules of ``alerts.validation``: its fields only carry the input, and
``create_alert`` / ``update_alert`` report every bad field (``AlertValidationError.errors``), which the
view puts next to the field it names. That keeps one set of rules (and messages) for the pages, the API
and imports.
"""

from __future__ import annotations

import pycountry
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    FieldList,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from alerts import vocabulary
from portal.dashboard.periods import iso_week_bounds
from portal.distribution import networks, recipient_parties
from portal.distribution_forms import (
    DISTRIBUTION_CHOICES,
    MultiCheckboxField,
    network_choices,
    party_choices,
    tlp_field,
)
from portal.extensions import db
from portal.parties.models import Party

ROUTE_STOPS = 6  # route slots offered by default; an edited alert with a longer route gets more


def _blank_first(vocab: dict, blank_label) -> list[SelectChoice]:
    return [SelectChoice("", blank_label)] + [SelectChoice(code, label) for code, label in vocab.items()]


def _optional_choice(vocab: dict, blank_label) -> dict:
    """Keyword arguments of a ``SelectField`` that may be left empty (empty by default)."""
    return {"choices": _blank_first(vocab, blank_label), "default": ""}


def _date_input(label, **kwargs) -> StringField:
    """A date typed or picked as YYYY-MM-DD; checked by ``alerts.validation`` with the other fields."""
    return StringField(label, render_kw={"type": "date", "placeholder": _l("YYYY-MM-DD")}, **kwargs)


def _countries() -> list[SelectChoice]:
    return [SelectChoice("", _l("(none)"))] + [
        SelectChoice(country.alpha_3, f"{country.alpha_3} · {country.name}")
        for country in sorted(pycountry.countries, key=lambda c: c.alpha_3)
    ]


def _lang() -> str:
    return "es" if str(get_locale() or "en") == "es" else "en"


class AlertForm(FlaskForm):
    """Every field of an alert record; choices that depend on the database are set by ``set_choices``."""

    # MRZ first: pasting it and pressing "Pre-fill" fills the fields below it.
    mrz = TextAreaField(_l("Machine-readable zone (MRZ)"), render_kw={"rows": 3, "spellcheck": "false",
                                                                      "autocomplete": "off"})
    prefill = SubmitField(_l("Pre-fill from MRZ"))

    # detection
    detecting_unit = StringField(_l("Detecting unit"), validators=[Optional(), Length(max=200)])
    detection_place_kind = SelectField(_l("Kind of place"), **_optional_choice(vocabulary.PLACE_KINDS, _l("(not given)")))
    detection_place = StringField(_l("Place of detection"), validators=[Optional(), Length(max=200)])
    detection_date = _date_input(_l("Date of detection"))
    route = FieldList(SelectField(_l("Country"), choices=[], default=""), label=_l("Route, in travel order"),
                      min_entries=ROUTE_STOPS)
    bearer_nationality = StringField(_l("Bearer's nationality (ICAO code)"), render_kw={"maxlength": 3})

    # document
    document_category = SelectField(_l("Document category"),
                                    **_optional_choice(vocabulary.DOCUMENT_CATEGORIES, _l("(choose)")))
    document_type = SelectField(_l("Document type"), **_optional_choice(vocabulary.DOCUMENT_TYPES, _l("(not given)")))
    issuing_state = StringField(_l("Issuing state or organisation (ICAO code)"), render_kw={"maxlength": 3})
    series = StringField(_l("Series or model"), validators=[Optional(), Length(max=64)])
    document_number = StringField(_l("Document number"), render_kw={"autocomplete": "off"})
    range_start = StringField(_l("First number of the series"), render_kw={"autocomplete": "off"})
    range_end = StringField(_l("Last number of the series"), render_kw={"autocomplete": "off"})
    issue_date = _date_input(_l("Date of issue"))
    expiry_date = _date_input(_l("Date of expiry"))

    # fraud
    fraud_type = SelectField(_l("Fraud type"), **_optional_choice(vocabulary.FRAUD_TYPES, _l("(choose)")))
    forgery_subtype = SelectField(_l("Forgery subtype"),
                                  **_optional_choice(vocabulary.FORGERY_SUBTYPES, _l("(not a forgery)")))
    security_features = MultiCheckboxField(
        _l("Security features compromised"),
        choices=[SelectChoice(code, label) for code, label in vocabulary.SECURITY_FEATURES.items()])
    description = TextAreaField(_l("Description"), render_kw={"rows": 4})
    modus_operandi = TextAreaField(_l("Modus operandi"), render_kw={"rows": 3})
    detection_tips = TextAreaField(_l("Detection tips"), render_kw={"rows": 3})

    # holder
    holder_name = StringField(_l("Holder's name"), render_kw={"autocomplete": "off"})
    holder_birth_date = _date_input(_l("Holder's date of birth"))

    # sharing
    tlp = tlp_field()
    distribution = SelectField(_l("Distribution"), choices=DISTRIBUTION_CHOICES, default="party")
    parties = MultiCheckboxField(_l("Recipient parties"), choices=[])
    network = SelectField(_l("Network"), choices=[], default="")
    review_date = _date_input(_l("Review date"))
    objectives = MultiCheckboxField(_l("Plan objectives"), choices=[])

    save = SubmitField(_l("Save as draft"))
    publish = SubmitField(_l("Publish"))

    def set_choices(self, owner_party_id: int) -> None:
        """Route countries, recipient parties, networks and plan objectives (from the database and plan)."""
        from portal.plan.data import get_objective, objective_codes

        countries = _countries()
        for entry in self.route.entries:
            entry.choices = countries
        self.parties.choices = party_choices(recipient_parties(owner_party_id), "code")
        self.network.choices = network_choices(networks(), "code", blank=True)
        lang = _lang()
        self.objectives.choices = [SelectChoice(code, f"{code} · {get_objective(code).title(lang)}")
                                   for code in objective_codes()]

    def pad_route(self, stops: int) -> None:
        """Offer at least ``stops`` route slots plus two empty ones (before ``set_choices``)."""
        while len(self.route.entries) < max(ROUTE_STOPS, stops + 2):
            self.route.append_entry()

    def fill(self, values: dict) -> None:
        """Put alert values (a snapshot or an MRZ pre-fill) into the fields, as the form shows them."""
        for name, value in values.items():
            if name == "route":
                stops = list(value or [])
                self.pad_route(len(stops))
                for entry, code in zip(self.route.entries, stops + [""] * len(self.route.entries), strict=False):
                    entry.data = code
            elif name == "distribution" and isinstance(value, dict):
                self.distribution.data = value.get("level") or "party"
                self.parties.data = list(value.get("parties") or [])
                self.network.data = value.get("network") or ""
            elif name in self._fields and name not in ("prefill", "save", "publish", "csrf_token"):
                field = self._fields[name]
                field.data = list(value or []) if isinstance(field, SelectMultipleField) else (
                    "" if value is None else str(value))

    def to_data(self, *, status: str | None = None) -> dict:
        """The operation's input: every field, the route in order without gaps, distribution as a dict."""
        data = {name: (self._fields[name].data or "").strip() if isinstance(self._fields[name].data, str)
                else self._fields[name].data
                for name in ("detecting_unit", "detection_place_kind", "detection_place", "detection_date",
                             "bearer_nationality", "document_category", "document_type", "issuing_state", "series",
                             "document_number", "range_start", "range_end", "issue_date", "expiry_date",
                             "fraud_type", "forgery_subtype", "description", "modus_operandi", "detection_tips",
                             "holder_name", "holder_birth_date", "mrz", "review_date", "tlp")}
        data["route"] = [code for code in (entry.data for entry in self.route.entries) if code]
        data["security_features"] = list(self.security_features.data or [])
        data["objectives"] = list(self.objectives.data or [])
        data["distribution"] = {"level": self.distribution.data, "parties": list(self.parties.data or []),
                                "network": self.network.data or None}
        if status is not None:
            data["status"] = status
        return data


class SearchForm(FlaskForm):
    """The search box and its filters (a GET form: bookmarkable, no CSRF token needed)."""

    class Meta:
        csrf = False

    # A text area: a pasted MRZ keeps its line breaks (the server reads it however it arrives).
    q = TextAreaField(_l("Document number or MRZ"), render_kw={"autocomplete": "off", "spellcheck": "false",
                                                              "rows": 3})
    text = StringField(_l("Words in the description, modus operandi or tips"))
    issuing_state = StringField(_l("Issuing state (ICAO code)"), render_kw={"maxlength": 3})
    document_category = SelectField(_l("Document category"), **_optional_choice(vocabulary.DOCUMENT_CATEGORIES, _l("(any)")))
    fraud_type = SelectField(_l("Fraud type"), **_optional_choice(vocabulary.FRAUD_TYPES, _l("(any)")))
    reporting_party = SelectField(_l("Reporting party"), choices=[], default="")
    detected_from = _date_input(_l("Detected from"))
    detected_to = _date_input(_l("Detected until"))
    status = SelectField(_l("Status"), **_optional_choice({**vocabulary.STATUSES, "revised": vocabulary.REVISED_LABEL},
                                                            _l("(any)")))
    sort = SelectField(_l("Sort by"), choices=[SelectChoice(code, label) for code, label in vocabulary.SORTS.items()],
                       default="-detection_date")

    def set_choices(self) -> None:
        parties = db.session.scalars(select(Party).where(Party.kind != "secretariat").order_by(Party.code))
        self.reporting_party.choices = [SelectChoice("", _l("(any)"))] + [
            SelectChoice(p.code, f"{p.code} · {p.name}") for p in parties]

    def filters(self) -> dict:
        return {name: (self._fields[name].data or "").strip() for name in (
            "issuing_state", "document_category", "fraud_type", "reporting_party", "detected_from", "detected_to",
            "status", "text")}


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason for withdrawal"), render_kw={"rows": 2})
    submit = SubmitField(_l("Withdraw"))


class ActionForm(FlaskForm):
    """A button that changes state (publish, mark as seen): only the CSRF token."""


class BulletinForm(FlaskForm):
    """The weekly bulletin's week and paper (a GET form: bookmarkable, no CSRF token needed)."""

    class Meta:
        csrf = False

    week = StringField(_l("Week"), validators=[InputRequired()], render_kw={"type": "week"},
                       description=_l("An ISO week, such as 2026-W48."))
    paper = RadioField(_l("Paper"), choices=[SelectChoice("a4", "A4"), SelectChoice("letter", _l("US Letter"))], default="a4",
                       validators=[InputRequired()])

    def validate_week(self, field):
        try:
            iso_week_bounds((field.data or "").strip())
        except ValueError as error:
            raise ValidationError(_l("Choose a week, such as 2026-W48.")) from error
        field.data = field.data.strip()
