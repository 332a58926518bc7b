"""Exchange pages: inbox and sent box, writing, reading a thread, and the workflow buttons.

Every read goes through ``get_visible_or_404`` / ``visible`` (a party that is not a recipient gets 404,
audited); every change is one call to ``portal.exchange.operations``, every read one of
``portal.exchange.queries``.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from auth.models import User
from portal.access import RESTRICTED_TLP, get_visible_or_404, owns, permission_required
from portal.distribution import networks, recipient_parties
from portal.exchange import dashboard as _dashboard_panels  # noqa: F401  (registers the panels)
from portal.exchange import demo as _demo  # noqa: F401  (registers the demo thread for `flask demo`)
from portal.exchange import operations, queries, validation
from portal.exchange import plan_records as _plan_records  # noqa: F401  (registers the objective links)
from portal.exchange.forms import ActionForm, ForwardForm, ReplyForm, SubmissionForm
from portal.exchange.markdown import render
from portal.exchange.models import (
    HANDLING_CODES,
    INFORMATION_ACCURACY,
    KINDS,
    SOURCE_RELIABILITY,
    STATUSES,
    Submission,
)
from portal.extensions import db
from portal.parties.models import Party
from portal.principal import current_principal
from portal.timeutil import utcnow

bp = Blueprint("exchange", __name__, url_prefix="/exchange")
PERMISSION = "exchange_intelligence"
# Refusals that are about the request's moment rather than the actor: 409 Conflict; the others 403.
_CONFLICTS = frozenset({"status", "already_acknowledged"})


def _apply_errors(form, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        target = getattr(form, name, None)
        if target is None:
            target = form.body if hasattr(form, "body") else form.parties
        target.errors = list(target.errors) + [message]


@bp.app_context_processor
def _exchange_helpers():
    return {"exchange_kinds": KINDS, "exchange_statuses": STATUSES}


def _box(box: str):
    principal = current_principal()
    page = queries.read_box(principal, box, request.args.get("page", 1, type=int), current_app.config["PAGE_SIZE"])
    unread = queries.unread_ids(principal, [item.id for item in page.items])
    counts = {"inbox": queries.unread_count(principal, "inbox"), "sent": queries.unread_count(principal, "sent")}
    return render_template("exchange/index.html", page=page, box=box, unread_submissions=unread, counts=counts,
                           overdue=queries.overdue_count(principal), today=utcnow().date())


@bp.get("/")
@permission_required(PERMISSION)
def index():
    return _box("inbox")


@bp.get("/sent")
@permission_required(PERMISSION)
def sent():
    return _box("sent")


def _submission_form(**kwargs) -> SubmissionForm:
    principal = current_principal()
    form = SubmissionForm(**kwargs)
    form.set_choices(recipient_parties(principal.party_id), networks(),
                     queries.sender_alerts(principal), validation.coordination_objectives())
    return form


@bp.route("/new", methods=["GET", "POST"])
@permission_required(PERMISSION)
def new():
    form = _submission_form()
    if form.validate_on_submit():
        principal = current_principal()
        try:
            data = validation.clean_submission(principal, form.raw())
        except validation.SubmissionInvalid as error:
            _apply_errors(form, error.errors)
        else:
            send = request.form.get("action") != "draft"
            submission = operations.create_submission(principal, data, send=send)
            flash(_("Submission sent.") if send else _("Draft saved."), "success")
            return redirect(url_for("exchange.detail", submission_id=submission.id))
    status = 400 if form.is_submitted() else 200
    return render_template("exchange/new.html", form=form), status


@bp.route("/<int:submission_id>/edit", methods=["GET", "POST"])
@permission_required(PERMISSION)
def edit(submission_id):
    """The sending party edits its draft; anyone else who sees it gets 404, and a sent one a refusal."""
    submission = _load(submission_id)
    principal = current_principal()
    try:
        operations.check_editable(principal, submission)
    except operations.ExchangeRefused as error:
        if error.reason == "not_owner":
            abort(404)
        return _refused(submission, error)
    if request.method == "GET":
        form = _submission_form(data=queries.edit_values(submission))
        return render_template("exchange/edit.html", form=form, submission=submission)
    form = _submission_form()
    if form.validate_on_submit():
        try:
            data = validation.clean_submission(principal, form.raw())
        except validation.SubmissionInvalid as error:
            _apply_errors(form, error.errors)
        else:
            operations.update_submission(principal, submission, data)
            send = request.form.get("action") == "send"
            if send:
                operations.send_submission(principal, submission)
            flash(_("Submission sent.") if send else _("Draft saved."), "success")
            return redirect(url_for("exchange.detail", submission_id=submission.id))
    return render_template("exchange/edit.html", form=form, submission=submission), 400


def _user_names(user_ids) -> dict[int, str]:
    if not user_ids:
        return {}
    return {user.id: user.full_name for user in db.session.scalars(select(User).where(User.id.in_(list(user_ids))))}


def _detail(submission: Submission, *, reply_form=None, forward_form=None, refusal=None, status=200):
    principal = current_principal()
    is_sender = owns(submission, principal)
    recipient_ids = submission.recipient_party_ids
    parties = {party.id: party for party in db.session.scalars(select(Party).where(
        Party.id.in_([submission.owner_party_id, *recipient_ids])))}
    acks = queries.acknowledgements(submission, principal)
    forwards = queries.forwards(principal, submission)
    names = _user_names({ack.user_id for ack in acks} | {item.forwarded_by_id for item in forwards})
    audience = [parties[pid] for pid in sorted(parties, key=lambda pid: parties[pid].code)]
    is_open = submission.is_open
    if reply_form is None and is_open:
        reply_form = ReplyForm(formdata=None)
    if reply_form is not None:
        reply_form.set_choices([party for party in audience if party.id != principal.party_id])
    if forward_form is None and queries.can_forward(principal, submission):
        forward_form = ForwardForm(formdata=None)
    if forward_form is not None:
        audience_ids = set(parties)
        forward_form.set_choices([party for party in recipient_parties(submission.owner_party_id)
                                  if party.id not in audience_ids])
    thread = queries.thread(principal, submission)
    context = {
        "submission": submission, "body_html": render(submission.body, submission.id), "is_sender": is_sender,
        "recipients": sorted(parties[pid].code for pid in recipient_ids if pid in parties),
        "networks": queries.submission_networks(submission), "acks": acks, "names": names,
        "acked_parties": {ack.party_id for ack in acks}, "forwards": forwards,
        "thread": [(item, render(item.body, submission.id), queries.party_codes(
            [item.owner_party_id, *item.recipient_party_ids]) if item.restricted else None) for item in thread],
        "alerts": queries.related_alerts(principal, submission),
        "can_acknowledge": (not is_sender and is_open and principal.party_id in recipient_ids
                            and not any(ack.party_id == principal.party_id for ack in acks)),
        "reply_form": reply_form if is_open else None, "forward_form": forward_form,
        "action_form": ActionForm(formdata=None), "refusal": refusal,
        "restricted": submission.tlp in RESTRICTED_TLP, "overdue": submission.is_overdue(),
        "kinds": KINDS, "reliability": SOURCE_RELIABILITY, "accuracy": INFORMATION_ACCURACY,
        "handling": HANDLING_CODES,
    }
    return render_template("exchange/detail.html", **context), status


def _load(submission_id: int) -> Submission:
    return get_visible_or_404(Submission, submission_id)


@bp.get("/<int:submission_id>")
@permission_required(PERMISSION)
def detail(submission_id):
    return _detail(queries.read_submission(current_principal(), submission_id))


def _refused(submission: Submission, error: operations.ExchangeRefused):
    return _detail(submission, refusal=error.message, status=409 if error.reason in _CONFLICTS else 403)


@bp.post("/<int:submission_id>/send")
@permission_required(PERMISSION)
def send(submission_id):
    submission = _load(submission_id)
    if not ActionForm().validate_on_submit():
        return _detail(submission, status=400)
    try:
        operations.send_submission(current_principal(), submission)
    except operations.ExchangeRefused as error:
        return _refused(submission, error)
    flash(_("Submission sent."), "success")
    return redirect(url_for("exchange.detail", submission_id=submission.id))


@bp.post("/<int:submission_id>/acknowledge")
@permission_required(PERMISSION)
def acknowledge(submission_id):
    submission = _load(submission_id)
    if not ActionForm().validate_on_submit():
        return _detail(submission, status=400)
    try:
        operations.acknowledge(current_principal(), submission)
    except operations.ExchangeRefused as error:
        return _refused(submission, error)
    flash(_("Receipt acknowledged."), "success")
    return redirect(url_for("exchange.detail", submission_id=submission.id))


@bp.post("/<int:submission_id>/reply")
@permission_required(PERMISSION)
def reply(submission_id):
    submission = _load(submission_id)
    form = ReplyForm()
    form.audience.choices = [(code, code) for code in queries.party_codes(
        queries.audience_party_ids(submission))]
    if form.validate_on_submit():
        try:
            operations.reply(current_principal(), submission, body=form.body.data,
                             audience=list(form.audience.data or []))
        except operations.ExchangeRefused as error:
            return _refused(submission, error)
        except validation.SubmissionInvalid as error:
            _apply_errors(form, error.errors)
        else:
            flash(_("Reply sent."), "success")
            return redirect(url_for("exchange.detail", submission_id=submission.id))
    return _detail(submission, reply_form=form, status=400)


@bp.post("/<int:submission_id>/forward")
@permission_required(PERMISSION)
def forward(submission_id):
    submission = _load(submission_id)
    form = ForwardForm()
    form.parties.choices = [(party.code, party.code) for party in recipient_parties(submission.owner_party_id)]
    if form.validate_on_submit():
        try:
            operations.forward(current_principal(), submission, list(form.parties.data or []))
        except operations.ExchangeRefused as error:
            return _refused(submission, error)
        except validation.SubmissionInvalid as error:
            _apply_errors(form, error.errors)
        else:
            flash(_("Submission forwarded."), "success")
            return redirect(url_for("exchange.detail", submission_id=submission.id))
    return _detail(submission, forward_form=form, status=400)


@bp.post("/<int:submission_id>/close")
@permission_required(PERMISSION)
def close(submission_id):
    submission = _load(submission_id)
    if not ActionForm().validate_on_submit():
        return _detail(submission, status=400)
    try:
        operations.close(current_principal(), submission)
    except operations.ExchangeRefused as error:
        return _refused(submission, error)
    flash(_("Submission closed."), "success")
    return redirect(url_for("exchange.detail", submission_id=submission.id))
