"""Forms of the account administration pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from auth.models import ROLES
from auth.permissions import ROLE_LABELS


def role_choices(roles) -> list[SelectChoice]:
    return [SelectChoice(role, ROLE_LABELS.get(role, role)) for role in roles]


def party_choices(parties) -> list[SelectChoice]:
    return [SelectChoice(p.code, f"{p.code} · {p.name}") for p in parties]


class UserFilterForm(FlaskForm):
    """Filters of the accounts list (read from the query string; no CSRF on a GET)."""

    class Meta:
        csrf = False

    party = SelectField(_l("Party"), choices=[], validators=[Optional()])
    role = SelectField(_l("Role"), choices=[], validators=[Optional()])
    active = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any")), SelectChoice("yes", _l("Active")),
                 SelectChoice("no", _l("Deactivated"))],
        validators=[Optional()],
    )

    def __init__(self, *args, parties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.party.choices = [SelectChoice("", _l("All parties"))] + party_choices(parties)
        self.role.choices = [SelectChoice("", _l("All roles"))] + role_choices(ROLES)


class CreateUserForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    party = SelectField(_l("Party"), choices=[], validators=[DataRequired()])
    role = SelectField(_l("Role"), choices=[], validators=[DataRequired()])
    submit = SubmitField(_l("Create account"))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[], validators=[DataRequired()])
    submit = SubmitField(_l("Change role"))


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token (deactivate, reactivate, reset...)."""

    submit = SubmitField(_l("Confirm"))
