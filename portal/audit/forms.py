"""The audit viewer's filters (read from the query string)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, Regexp, ValidationError

from portal.audit.models import OUTCOMES

OUTCOME_LABELS = {"ok": _l("OK"), "denied": _l("Denied"), "error": _l("Error")}


class AuditFilterForm(FlaskForm):
    """Filters of the audit viewer and its CSV export. Bad values are form errors, never a 500."""

    class Meta:
        csrf = False

    actor = IntegerField(_l("Actor (user id)"), validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])
    action = StringField(
        _l("Action starts with"),
        validators=[Optional(), Length(max=64),
                    Regexp(r"^[a-z0-9_.]+$", message=_l("Use lower-case letters, digits, dots and underscores."))],
    )
    objective = StringField(
        _l("Plan objective code"),
        validators=[Optional(), Length(max=32),
                    Regexp(r"^[A-Za-z0-9-]+$", message=_l("An objective code looks like MPM-2."))],
    )
    outcome = SelectField(
        _l("Outcome"), choices=[SelectChoice("", _l("Any"))] + [SelectChoice(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        validators=[Optional()],
    )
    date_from = DateField(_l("From (UTC)"), validators=[Optional()])
    date_to = DateField(_l("To (UTC, inclusive)"), validators=[Optional()])
    page = IntegerField(_l("Page"), validators=[Optional(), NumberRange(min=1, max=100000)])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))
