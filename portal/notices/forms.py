"""Forms for posting a notice and for re-sharing it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from portal.access import TLP_LEVELS

DISTRIBUTION_CHOICES = [
    SelectChoice("party", _l("My party only")),
    SelectChoice("parties", _l("Listed parties")),
    SelectChoice("network", _l("A network")),
    SelectChoice("members", _l("All member countries and the secretariat")),
]


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class DistributionFields(FlaskForm):
    """Distribution level, listed parties and network; choices are filled in by the view."""

    distribution = SelectField(_l("Distribution"), choices=DISTRIBUTION_CHOICES, default="party")
    parties = SelectMultipleField(_l("Recipient parties"), coerce=int, choices=[])
    network = SelectField(_l("Network"), coerce=_optional_int, choices=[], default=None)

    def set_choices(self, parties, networks) -> None:
        self.parties.choices = [SelectChoice(p.id, f"{p.code} · {p.name}") for p in parties]
        self.network.choices = [SelectChoice("", _l("(none)"))] + [
            SelectChoice(n.id, f"{n.code} · {n.name}") for n in networks
        ]

    def validate_parties(self, field) -> None:
        if self.distribution.data == "parties" and not field.data:
            raise ValidationError(_l("Choose at least one recipient party for a 'listed parties' distribution."))

    def validate_network(self, field) -> None:
        if self.distribution.data == "network" and not field.data:
            raise ValidationError(_l("Choose the network to distribute to."))


class NoticeForm(DistributionFields):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=20000)])
    tlp = SelectField(_l("TLP marking"), choices=[SelectChoice(level, f"TLP:{level}") for level in TLP_LEVELS], default="AMBER")


class ShareForm(DistributionFields):
    """Change who a notice is distributed to; its TLP marking stays."""
