"""The user's own alert subscriptions: list them, add one, delete one.

Every handler needs ``search_alerts``; the rules (valid codes, no duplicates, ownership) live in
``alerts.subscriptions``, whose errors are shown next to the field they name.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice

from alerts import subscriptions, vocabulary
from alerts.forms import ActionForm
from alerts.validation import AlertValidationError
from portal.access import permission_required
from portal.principal import current_principal

bp = Blueprint("alert_subscriptions", __name__, url_prefix="/alerts/subscriptions")


def _any_first(vocab: dict) -> list[SelectChoice]:
    return [SelectChoice("", _l("(any)"))] + [SelectChoice(code, label) for code, label in vocab.items()]


class SubscriptionForm(FlaskForm):
    """The criteria (each empty: any) and the delivery; checked by ``alerts.subscriptions``."""

    issuing_state = StringField(_l("Issuing state or organisation (ICAO code)"), render_kw={"maxlength": 3})
    document_category = SelectField(_l("Document category"), choices=_any_first(vocabulary.DOCUMENT_CATEGORIES),
                                    default="", validate_choice=False)
    fraud_type = SelectField(_l("Fraud type"), choices=_any_first(vocabulary.FRAUD_TYPES), default="",
                             validate_choice=False)
    delivery = SelectField(_l("E-mail delivery"), default="immediate", validate_choice=False,
                           choices=[SelectChoice(code, label) for code, label in subscriptions.DELIVERIES.items()])
    submit = SubmitField(_l("Subscribe"))

    def to_data(self) -> dict:
        return {name: self._fields[name].data for name in (*subscriptions.CRITERIA, "delivery")}


def _render(form: SubscriptionForm, errors=(), status: int = 200):
    principal = current_principal()
    return render_template("alerts/subscriptions.html", form=form, errors=list(errors), delete_form=ActionForm(),
                           subscriptions=subscriptions.subscriptions_of(principal.user_id),
                           deliveries=subscriptions.DELIVERIES), status


@bp.get("/")
@permission_required("search_alerts")
def index():
    return _render(SubscriptionForm())


@bp.post("/")
@permission_required("search_alerts")
def create():
    form = SubscriptionForm()
    if not form.validate_on_submit():
        return _render(form, status=400)
    try:
        subscriptions.create_subscription(current_principal(), form.to_data())
    except AlertValidationError as exc:
        unmapped = []
        for name, message in exc.errors.items():
            target = form._fields.get(name)
            if target is None:
                unmapped.append(message)
            else:
                target.errors = [*target.errors, message]
        return _render(form, unmapped, status=400)
    flash(_("Subscription saved."), "success")
    return redirect(url_for("alert_subscriptions.index"))


@bp.post("/<int:subscription_id>/delete")
@permission_required("search_alerts")
def delete(subscription_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        return _render(SubscriptionForm(formdata=None), [_("The form expired. Please try again.")], status=400)
    subscriptions.delete_subscription(current_principal(), subscription_id)
    flash(_("Subscription deleted."), "success")
    return redirect(url_for("alert_subscriptions.index"))
