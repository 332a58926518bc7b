"""Hit confirmation pages: ask from the hit banner, the party's requests, one request and its answer, the
party's response time (country administrators) and every party's response times (the secretariat).

The rules live in ``alerts.confirmation_operations``; its errors are shown next to the field they name.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice

from alerts import confirmation_operations as operations
from alerts.confirmation_notify import ANSWER_LABELS
from alerts.confirmations import ANSWERS, MAX_NOTE, MAX_PLACE, response_minutes
from alerts.models import Alert
from portal.access import get_visible_or_404, may_change, permission_required
from portal.extensions import db
from portal.principal import current_principal
from portal.timeutil import utcnow

bp = Blueprint("alert_confirmations", __name__)


class ConfirmationRequestForm(FlaskForm):
    """The hit banner's button: the number searched travels with it; place and note are typed."""

    document_number = HiddenField()
    place = StringField(_l("Where you are checking the document"), render_kw={"maxlength": MAX_PLACE})
    note = TextAreaField(_l("Note for the reporting party (optional)"), render_kw={"rows": 2, "maxlength": MAX_NOTE})
    submit = SubmitField(_l("Ask the reporting party to confirm this hit"))


class AnswerForm(FlaskForm):
    answer = RadioField(_l("Answer"), validate_choice=False,
                        choices=[SelectChoice(code, ANSWER_LABELS[code]) for code in ANSWERS])
    note = TextAreaField(_l("Note for the requesting party"), render_kw={"rows": 3, "maxlength": MAX_NOTE})
    submit = SubmitField(_l("Send the answer"))


class ResponseTimeForm(FlaskForm):
    minutes = StringField(_l("Minutes to answer a hit confirmation request"), render_kw={"inputmode": "numeric"})
    submit = SubmitField(_l("Save"))

    def minutes_value(self):
        """The number typed (an ``int`` when it is one; the operation refuses anything else)."""
        raw = (self.minutes.data or "").strip()
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else raw


@bp.app_context_processor
def _confirmation_helpers():
    def may_request_confirmation(alert) -> bool:
        """Whether the hit banner offers to ask this alert's reporting party for a confirmation."""
        principal = current_principal()
        return principal is not None and operations.may_request(principal, alert)

    return {"may_request_confirmation": may_request_confirmation}


def _errors_into(form: FlaskForm, errors: dict) -> list[str]:
    """Put each error next to its field; return those no field shows."""
    unmapped = []
    for name, message in errors.items():
        target = form._fields.get(name)
        if target is None or isinstance(target, HiddenField):
            unmapped.append(message)
        else:
            target.errors = [*target.errors, message]
    return unmapped


@bp.post("/alerts/<int:alert_id>/confirmations")
@permission_required("request_hit_confirmation")
def request_confirmation(alert_id: int):
    """Ask the reporting party to confirm a hit (the form of the hit banner); the request's page on success."""
    principal = current_principal()
    form = ConfirmationRequestForm()
    errors = {} if form.validate_on_submit() else {"csrf": _("The form expired. Please try again.")}
    if not errors:
        try:
            confirmation = operations.request_confirmation(
                principal, alert_id, document_number=form.document_number.data, place=form.place.data,
                note=form.note.data)
        except operations.ConfirmationError as exc:
            errors = exc.errors
        else:
            flash(_("Confirmation requested from %(party)s.", party=confirmation.reporting_party.code), "success")
            return redirect(url_for("alert_confirmations.detail", confirmation_id=confirmation.id))
    alert = get_visible_or_404(Alert, alert_id, principal, object_type="alert")
    unmapped = _errors_into(form, errors)
    return render_template("alerts/confirmation_new.html", alert=alert, form=form, errors=unmapped), 400


@bp.get("/alerts/confirmations")
@permission_required("request_hit_confirmation")
def index():
    """The party's requests: those it must answer (overdue highlighted), and those it asked."""
    lists = operations.confirmation_lists(current_principal())
    references = operations.alert_references(lists.to_answer + lists.requested)
    return render_template("alerts/confirmations.html", lists=lists, references=references, now=utcnow(),
                           labels=ANSWER_LABELS)


def _detail(confirmation, form: AnswerForm | None = None, errors=(), status: int = 200):
    alert = db.session.get(Alert, confirmation.alert_id)
    may_answer = may_change(confirmation, "answer_hit_confirmation") and confirmation.is_open
    return render_template("alerts/confirmation.html", confirmation=confirmation, alert=alert,
                           match=operations.number_match(alert, confirmation.document_number),
                           form=(form or AnswerForm()) if may_answer else None, errors=list(errors),
                           labels=ANSWER_LABELS, now=utcnow()), status


@bp.get("/alerts/confirmations/<int:confirmation_id>")
@permission_required("request_hit_confirmation")
def detail(confirmation_id: int):
    """One request, for its two parties (404 for everyone else); the answer form for the reporting party."""
    return _detail(operations.read_confirmation(current_principal(), confirmation_id))


@bp.post("/alerts/confirmations/<int:confirmation_id>/answer")
@permission_required("answer_hit_confirmation")
def answer(confirmation_id: int):
    """The reporting party's answer; the requester is told."""
    form = AnswerForm()
    if not form.validate_on_submit():
        confirmation = operations.read_confirmation(current_principal(), confirmation_id)
        return _detail(confirmation, form, [_("The form expired. Please try again.")], status=400)
    try:
        operations.answer_confirmation(current_principal(), confirmation_id, answer=form.answer.data,
                                       note=form.note.data)
    except operations.ConfirmationError as exc:
        confirmation = operations.read_confirmation(current_principal(), confirmation_id)
        return _detail(confirmation, form, _errors_into(form, exc.errors), status=400)
    flash(_("Answer sent."), "success")
    return redirect(url_for("alert_confirmations.detail", confirmation_id=confirmation_id))


@bp.route("/alerts/confirmations/response-time", methods=["GET", "POST"])
@permission_required("set_confirmation_response_time")
def response_time():
    """The party's response time for hit confirmation requests."""
    principal = current_principal()
    form = ResponseTimeForm()
    if request.method == "GET":
        form.minutes.data = str(response_minutes(principal.party_id))
        return render_template("alerts/confirmation_response_time.html", form=form, errors=[])
    errors = [] if form.validate_on_submit() else [_("The form expired. Please try again.")]
    if not errors:
        try:
            operations.set_response_time(principal, form.minutes_value())
        except operations.ConfirmationError as exc:
            errors = _errors_into(form, exc.errors)
        else:
            flash(_("Response time saved."), "success")
            return redirect(url_for("alert_confirmations.response_time"))
    return render_template("alerts/confirmation_response_time.html", form=form, errors=errors), 400


@bp.get("/alerts/confirmations/response-times")
@permission_required("view_confirmation_statistics")
def statistics():
    """Every party's response times (median, share answered in time), without any content."""
    return render_template("alerts/confirmation_statistics.html",
                           figures=operations.response_figures(current_principal()))
