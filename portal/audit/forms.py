"""The audit viewer's filters (read from the query string).

The CSV export records its filters in its own audit entry, so every value is checked against its vocabulary
first (an action some entry has, a code of the plans of action, an outcome, dates, a user id): free text
never reaches the log, and a refused filter is a 422 naming it. A person is named in words (``person``),
matched against the people who acted in the part of the log the reader may read
(``portal.audit.sentences.people_named``); the export records the matched ids, never the name. The numeric
``actor`` still works for links (each sentence's person links to their entries).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import exists, select
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, Regexp, ValidationError

from portal.audit.models import OUTCOMES, AuditEntry
from portal.audit.sentences import people_named
from portal.extensions import db
from portal.plan.data import all_codes
from portal.principal import current_principal

OUTCOME_LABELS = {"ok": _l("Allowed"), "denied": _l("Refused"), "error": _l("Failed")}


class AuditFilterForm(FlaskForm):
    """Filters of the audit viewer and its CSV export. Bad values are form errors, never a 500."""

    class Meta:
        csrf = False

    actor = IntegerField(_l("Actor (user id)"), validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])
    person = StringField(_l("Person (name)"), validators=[Optional(), Length(max=100)],
                         description=_l("Part of a name is enough; accents and capitals do not matter."))
    person_ids: list[int] | None = None  # the people ``person`` named, once validated
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

    def validate_person(self, field):
        if field.data and field.data.strip():
            self.person_ids = people_named(current_principal(), field.data)
            if not self.person_ids:
                raise ValidationError(_l("Nobody of that name acted in the part of the log you may read."))

    def validate_action(self, field):
        if field.data and not db.session.scalar(select(exists().where(
                AuditEntry.action.startswith(field.data, autoescape=True)))):
            raise ValidationError(_l("No audited action starts with this."))

    def validate_objective(self, field):
        if field.data and field.data.upper() not in all_codes():
            raise ValidationError(_l("Not a code of the plans of action."))

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))
