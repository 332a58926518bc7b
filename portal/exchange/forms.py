"""Forms for writing a submission and for acting on one (acknowledge, reply, forward, close, send)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.distribution_forms import MultiCheckboxField, network_choices, party_choices, tlp_field
from portal.exchange import validation
from portal.exchange.models import HANDLING_CODES, INFORMATION_ACCURACY, KINDS, SOURCE_RELIABILITY


def _choices(mapping) -> list[SelectChoice]:
    return [SelectChoice(key, label) for key, label in mapping.items()]


class SubmissionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=validation.MAX_TITLE)])
    kind = SelectField(_l("Kind"), choices=_choices(KINDS), default="immigration_control")
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=validation.MAX_SUMMARY)])
    body = TextAreaField(_l("Body (Markdown)"), validators=[DataRequired(), Length(max=validation.MAX_BODY)])
    source_reliability = SelectField(_l("Source reliability"), choices=_choices(SOURCE_RELIABILITY), default="X")
    information_accuracy = SelectField(_l("Information accuracy"), choices=_choices(INFORMATION_ACCURACY),
                                       default="4")
    handling_code = SelectField(_l("Handling code"), choices=_choices(HANDLING_CODES), default="crime_only")
    handling_restrictions = TextAreaField(_l("Restrictions stated"),
                                          validators=[Optional(), Length(max=validation.MAX_RESTRICTIONS)])
    tlp = tlp_field()
    parties = MultiCheckboxField(_l("Recipient parties"), choices=[])
    networks = MultiCheckboxField(_l("Recipient networks"), choices=[])
    related_alerts = MultiCheckboxField(_l("Related alerts"), coerce=int, choices=[])
    objectives = MultiCheckboxField(_l("Plan objectives"), choices=[])
    due_date = DateField(_l("Due date (requests for information)"), validators=[Optional()])

    def set_choices(self, parties, networks, alerts, objectives) -> None:
        self.parties.choices = party_choices(parties, "code")
        self.networks.choices = network_choices(networks, "code")
        self.related_alerts.choices = [SelectChoice(a.id, a.reference) for a in alerts]
        self.objectives.choices = [SelectChoice(code, code) for code in objectives]

    def raw(self) -> dict:
        """The input as ``validation.clean_submission`` reads it (the API sends the same keys)."""
        return {
            "title": self.title.data, "kind": self.kind.data, "summary": self.summary.data, "body": self.body.data,
            "source_reliability": self.source_reliability.data,
            "information_accuracy": self.information_accuracy.data, "handling_code": self.handling_code.data,
            "handling_restrictions": self.handling_restrictions.data, "tlp": self.tlp.data,
            "parties": list(self.parties.data or []), "networks": list(self.networks.data or []),
            "related_alerts": list(self.related_alerts.data or []), "objectives": list(self.objectives.data or []),
            "due_date": self.due_date.data,
        }


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token (send, acknowledge, close)."""


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Reply (Markdown)"), validators=[DataRequired(), Length(max=validation.MAX_REPLY)])
    audience = MultiCheckboxField(_l("Only these parties"), choices=[])

    def set_choices(self, parties) -> None:
        self.audience.choices = party_choices(parties, "code")


class ForwardForm(FlaskForm):
    parties = MultiCheckboxField(_l("Forward to"), choices=[])

    def set_choices(self, parties) -> None:
        self.parties.choices = party_choices(parties, "code")
