"""The form fields of a distribution, shared by every form that shares a record (notices, library
documents, alerts, submissions): the TLP marking, the level, the recipient parties and the network(s).

Choices are filled by the view from ``portal.distribution`` (``recipient_parties``, ``networks``). A form
keys its parties and networks by id (``DistributionFields``) or by code (the alert and submission forms,
whose operations read codes); ``party_choices`` / ``network_choices`` label them alike.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.access import TLP_LEVELS

DISTRIBUTION_CHOICES = [
    SelectChoice("party", _l("My party only")),
    SelectChoice("parties", _l("Listed parties")),
    SelectChoice("network", _l("A network")),
    SelectChoice("members", _l("All member countries and the secretariat")),
]


def tlp_field() -> SelectField:
    """The TLP marking (AMBER unless chosen)."""
    return SelectField(_l("TLP marking"), choices=[SelectChoice(level, f"TLP:{level}") for level in TLP_LEVELS],
                       default="AMBER")


def party_choices(parties, key: str = "id") -> list[SelectChoice]:
    """``parties`` as choices, keyed by ``key`` (``"id"`` or ``"code"``) and labelled code and name."""
    return [SelectChoice(getattr(party, key), f"{party.code} · {party.name}") for party in parties]


def network_choices(networks, key: str = "id", *, blank: bool = False) -> list[SelectChoice]:
    """``networks`` as choices (``blank``: led by a "(none)" choice for a single optional network)."""
    lead = [SelectChoice("", _l("(none)"))] if blank else []
    return lead + [SelectChoice(getattr(network, key), f"{network.code} · {network.name}") for network in networks]


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DistributionFields(FlaskForm):
    """Distribution level, listed parties and network, by id; choices are filled in by the view."""

    distribution = SelectField(_l("Distribution"), choices=DISTRIBUTION_CHOICES, default="party")
    parties = MultiCheckboxField(_l("Recipient parties"), coerce=int, choices=[])
    network = SelectField(_l("Network"), coerce=_optional_int, choices=[], default=None)

    def set_choices(self, parties, networks) -> None:
        """Offer ``parties`` as recipients and ``networks`` (from ``portal.distribution``)."""
        self.parties.choices = party_choices(parties)
        self.network.choices = network_choices(networks, blank=True)

    def validate_parties(self, field) -> None:
        if self.distribution.data == "parties" and not field.data:
            raise ValidationError(_l("Choose at least one recipient party for a 'listed parties' distribution."))

    def validate_network(self, field) -> None:
        if self.distribution.data == "network" and not field.data:
            raise ValidationError(_l("Choose the network to distribute to."))
