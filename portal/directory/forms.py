"""Forms of the network directories: entries, memberships, networks, participations and search."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.directory.models import MEMBERSHIP_ROLES

ROLE_LABELS = {
    "coordinator": _l("Coordinator"),
    "member": _l("Member"),
    "alternate": _l("Alternate"),
}


class EntryForm(FlaskForm):
    """A directory entry. The values are checked by ``validation.validate_entry_data`` in the view, so
    the same rules hold for every caller; its errors are shown next to the field they name."""

    full_name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter the person's name.")),
                                                    Length(max=200)])
    title = StringField(_l("Title or position"), validators=[Optional(), Length(max=200)])
    institution = StringField(_l("Institution"), validators=[Optional(), Length(max=200)])
    email = StringField(_l("E-mail"), validators=[DataRequired(message=_l("Enter a valid e-mail address.")),
                                                  Length(max=254)])
    phones = TextAreaField(_l("Phone numbers"), validators=[Optional(), Length(max=500)])
    languages = StringField(_l("Languages"), validators=[Optional(), Length(max=100)])
    time_zone = StringField(_l("Time zone"), validators=[Optional(), Length(max=64)])
    phones_restricted = BooleanField(_l("Show the phone numbers only to the parties of this person's networks"))


class ActionForm(FlaskForm):
    """A button that changes data (verify, deactivate, remove): only the CSRF token."""


class MembershipForm(FlaskForm):
    network = SelectField(_l("Network"), coerce=int, choices=[])
    role = SelectField(_l("Role"), choices=[SelectChoice(role, ROLE_LABELS[role]) for role in MEMBERSHIP_ROLES],
                       default="member")

    def set_choices(self, networks) -> None:
        self.network.choices = [SelectChoice(n.id, f"{n.code} · {n.name}") for n in networks]


class NetworkForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_es = StringField(_l("Name in Spanish"), validators=[DataRequired(), Length(max=200)])


class RenameNetworkForm(FlaskForm):
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_es = StringField(_l("Name in Spanish"), validators=[DataRequired(), Length(max=200)])


class NetworkPartyForm(FlaskForm):
    party = SelectField(_l("Party"), coerce=int, choices=[])

    def set_choices(self, parties) -> None:
        self.party.choices = [SelectChoice(p.id, f"{p.code} · {p.name}") for p in parties]


class SearchForm(FlaskForm):
    """The GET search form (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    party = SelectField(_l("Party"), choices=[], validate_choice=False)
    network = SelectField(_l("Network"), choices=[], validate_choice=False)
    institution = StringField(_l("Institution"), validators=[Optional(), Length(max=200)])
    stale = BooleanField(_l("Not verified recently"))
    inactive = BooleanField(_l("Include deactivated entries"))

    def set_choices(self, parties, networks) -> None:
        self.party.choices = [SelectChoice("", _l("(any)"))] + [SelectChoice(p.code, f"{p.code} · {p.name}")
                                                                 for p in parties]
        self.network.choices = [SelectChoice("", _l("(any)"))] + [SelectChoice(str(n.id), f"{n.code} · {n.name}")
                                                                   for n in networks]
