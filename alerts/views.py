"""Alert pages: search, report (with the MRZ pre-fill step), edit, read, publish, withdraw, mark as seen,
and the revision history with its differences.

Every read goes through ``get_visible_or_404`` / ``alerts.search``; every change through one function of
``alerts.operations``, which validates, writes the revision and the audit entry. A handler here parses the
form, calls that function and renders.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from alerts import dashboard as _dashboard_panels  # noqa: F401  (registers the panels)
from alerts import diff, operations, vocabulary
from alerts import plan_records as _plan_records  # noqa: F401  (registers the objective links)
from alerts.forms import ActionForm, AlertForm, SearchForm, WithdrawForm
from alerts.models import Alert, AlertAcknowledgement
from alerts.mrz import finding_message
from alerts.search import MAX_PER_PAGE, SearchError, clean_filters, search_alerts
from alerts.validation import AlertValidationError
from auth.models import User
from portal.access import (
    RESTRICTED_TLP,
    can_reshare_to_network_members,
    get_changeable_or_404,
    get_visible_or_404,
    owns,
    permission_required,
    sees_recipients,
    unreached_network_members,
)
from portal.extensions import db
from portal.parties.models import Network, Party
from portal.principal import current_principal

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

PER_PAGE = 20
# Operation error keys that are not a field of the alert form: shown at the top of the form.
_FORM_LEVEL_ERRORS = ("status", "alert")


@bp.app_context_processor
def _vocabulary():
    return {"alert_vocabulary": vocabulary, "alert_label": vocabulary.label, "mrz_finding": finding_message}


# --- search -------------------------------------------------------------------------------------------

@dataclass
class _Pages:
    """What the ``pagination`` macro reads, for a ``SearchResult``."""

    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


@bp.get("/")
@permission_required("search_alerts")
def index():
    """One search box (number or MRZ) with filters; without any, the latest alerts the viewer may see."""
    form = SearchForm(request.args)
    form.set_choices()
    if not form.sort.data:
        form.sort.data = "-detection_date"
    result, errors = None, []
    try:
        if form.validate():
            page = request.args.get("page", 1, type=int) or 1
            result = search_alerts(current_principal(), form.q.data, form.filters(), page=max(page, 1),
                                   per_page=min(PER_PAGE, MAX_PER_PAGE), sort=form.sort.data)
        else:
            clean_filters(form.filters())  # so that every bad filter is named at once
    except SearchError as exc:
        for name, message in exc.errors.items():
            target = form._fields.get(name)
            if target is None:
                errors.append(message)
            elif message not in target.errors and not target.errors:
                target.errors = [*target.errors, message]
    status = 200 if result is not None else 422  # a bad filter: named next to it, nothing searched or audited
    pages = _Pages(result.page, result.pages) if result else None
    return render_template("alerts/index.html", form=form, result=result, pages=pages, errors=errors), status


# --- reporting and editing ----------------------------------------------------------------------------

def _apply_errors(form: AlertForm, errors: dict[str, str]) -> list[str]:
    """Put each operation error next to its field; return those that name no field of the form."""
    unmapped = []
    for name, message in errors.items():
        target = form._fields.get(name) if name not in _FORM_LEVEL_ERRORS else None
        if target is None:
            unmapped.append(message)
        elif name == "route":
            form.route.errors = [message]  # FieldList errors are per entry; this one concerns the list
        else:
            target.errors = [*target.errors, message]
    return unmapped


def _prefill(form: AlertForm) -> list[dict]:
    """Fill the form from its MRZ and return the MRZ's fraud indicators (an unreadable MRZ: an error
    next to the MRZ field)."""
    try:
        values = operations.prefill_from_mrz(form.mrz.data or "")
    except AlertValidationError as exc:
        form.mrz.errors = [*form.mrz.errors, *exc.errors.values()]
        return []
    form.fill({key: value for key, value in values.items()
               if key not in ("mrz_format", "mrz_valid", "fraud_indicators")})
    if values["mrz_valid"]:
        flash(_("The MRZ (%(format)s) is valid; its fields have been filled in. Check them and complete the form.",
                format=values["mrz_format"]), "success")
    return values["fraud_indicators"]


def _render_form(form: AlertForm, alert: Alert | None, *, indicators=(), errors=(), status=200):
    return render_template("alerts/form.html", form=form, alert=alert, indicators=list(indicators),
                           errors=list(errors)), status


def _new_form(owner_party_id: int, **kwargs) -> AlertForm:
    form = AlertForm(**kwargs)
    form.pad_route(0)
    form.set_choices(owner_party_id)
    return form


@bp.route("/new", methods=["GET", "POST"])
@permission_required("report_alert")
def new():
    principal = current_principal()
    form = _new_form(principal.party_id)
    if request.method == "GET":
        from portal.plan.registry import objectives_for_action

        form.objectives.data = list(objectives_for_action("alert."))
        return _render_form(form, None)
    if not form.validate():
        return _render_form(form, None, status=400)
    if form.prefill.data:
        indicators = _prefill(form)
        return _render_form(form, None, indicators=indicators, status=400 if form.mrz.errors else 200)
    publish = bool(form.publish.data)
    if publish and not principal.can("publish_alert"):
        abort(403)
    try:
        alert = operations.create_alert(principal, form.to_data(status="published" if publish else "draft"))
    except AlertValidationError as exc:
        return _render_form(form, None, errors=_apply_errors(form, exc.errors), status=400)
    flash(_("Alert %(reference)s published.", reference=alert.reference) if publish
          else _("Alert %(reference)s saved as a draft.", reference=alert.reference), "success")
    return redirect(url_for("alerts.detail", alert_id=alert.id))


def _own_alert_or_404(alert_id: int, permission: str, action: str) -> Alert:
    """An alert the viewer's party reported; any other is not theirs to change and answers 404 (audited
    as ``action`` denied)."""
    return get_changeable_or_404(Alert, alert_id, action=action, permission=permission, object_type="alert")


@bp.route("/<int:alert_id>/edit", methods=["GET", "POST"])
@permission_required("report_alert")
def edit(alert_id: int):
    alert = _own_alert_or_404(alert_id, "report_alert", "alert.update")
    principal = current_principal()
    if alert.status in ("withdrawn", "expired"):
        flash(_("A withdrawn or expired alert can no longer be changed."), "warning")
        return redirect(url_for("alerts.detail", alert_id=alert.id))
    form = AlertForm() if request.method == "POST" else AlertForm(formdata=None)
    current = operations.snapshot(alert)
    if request.method == "GET":
        form.fill({key: value for key, value in current.items()
                   if key not in ("status", "reference", "revision", "mrz_findings", "withdrawal_reason")})
    form.pad_route(len(current["route"]))
    form.set_choices(alert.owner_party_id)
    if request.method == "GET":
        return _render_form(form, alert)
    if not form.validate():
        return _render_form(form, alert, status=400)
    if form.prefill.data:
        indicators = _prefill(form)
        return _render_form(form, alert, indicators=indicators, status=400 if form.mrz.errors else 200)
    publish = bool(form.publish.data) and alert.status == "draft"
    if publish and not principal.can("publish_alert"):
        abort(403)
    try:
        operations.update_alert(principal, alert, form.to_data())
        if publish:
            operations.publish_alert(principal, alert)
    except AlertValidationError as exc:  # raised before anything is written (publish was checked above)
        return _render_form(form, alert, errors=_apply_errors(form, exc.errors), status=400)
    flash(_("Alert %(reference)s published.", reference=alert.reference) if publish
          else _("Alert %(reference)s saved.", reference=alert.reference), "success")
    return redirect(url_for("alerts.detail", alert_id=alert.id))


# --- reading ------------------------------------------------------------------------------------------

def _names(user_ids) -> dict[int, User]:
    ids = {uid for uid in user_ids if uid}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _detail(alert: Alert, *, withdraw_form=None, action_errors=(), status=200):
    principal = current_principal()
    own = owns(alert, principal)
    history = operations.revisions_seen_by(principal, alert)
    authors = _names(row["author_id"] for row in history)
    seen = []
    if own and principal.can("report_alert"):
        seen = operations.acknowledgements(principal, alert)
        authors.update(_names(mark.user_id for mark in seen))
    acknowledged = db.session.scalar(select(AlertAcknowledgement.id).where(
        AlertAcknowledgement.alert_id == alert.id, AlertAcknowledgement.user_id == principal.user_id)) is not None
    can_publish = own and principal.can("publish_alert")
    if withdraw_form is None and can_publish and alert.status == "published":
        withdraw_form = WithdrawForm(formdata=None)
    recipients, network, unreached = [], None, []
    if sees_recipients(alert, principal):
        if alert.distribution_level == "parties":
            recipients = sorted(db.session.scalars(select(Party.code).where(Party.id.in_(alert.recipient_party_ids))))
        network = db.session.get(Network, alert.network_id) if alert.network_id else None
        if alert.distribution_level == "network":
            recipients = _codes(alert.network_audience_ids)
            unreached = _codes(unreached_network_members(alert))
    from portal.plan.data import get_objective

    lang = "es" if str(get_locale() or "en") == "es" else "en"
    objectives = [(code, get_objective(code)) for code in alert.objectives or []]
    return render_template(
        "alerts/detail.html", alert=alert, own=own, history=history, authors=authors, seen=seen,
        acknowledged=acknowledged, can_publish=can_publish, can_edit=own and principal.can("report_alert"),
        can_acknowledge=(not own and alert.status == "published"), withdraw_form=withdraw_form,
        action_form=ActionForm(formdata=None), action_errors=list(action_errors), recipients=recipients,
        network=network, objectives=objectives, lang=lang, restricted=alert.tlp in RESTRICTED_TLP,
        unreached=unreached, can_reshare_network=(can_publish and alert.status == "published" and bool(unreached)
                                                  and can_reshare_to_network_members(alert)),
    ), status


def _codes(party_ids) -> list[str]:
    return sorted(db.session.scalars(select(Party.code).where(Party.id.in_(list(party_ids))))) if party_ids else []


@bp.get("/<int:alert_id>")
@permission_required("search_alerts")
def detail(alert_id: int):
    return _detail(operations.read_alert(current_principal(), alert_id))


@bp.get("/<int:alert_id>/revisions/<int:seq>")
@permission_required("search_alerts")
def revision(alert_id: int, seq: int):
    """What changed in snapshot ``seq`` of the alert, against the one before it."""
    principal = current_principal()
    alert, history = operations.read_revision(principal, alert_id, seq)
    by_seq = {row["seq"]: row for row in history}
    current = by_seq[seq]
    previous = by_seq.get(seq - 1)
    changes = diff.diff_snapshots(operations.as_read_by(previous["data"], alert, principal) if previous else None,
                                  operations.as_read_by(current["data"], alert, principal))
    authors = _names([current["author_id"]])
    return render_template("alerts/revision.html", alert=alert, current=current, previous=previous,
                           changes=changes, authors=authors, last_seq=history[-1]["seq"])


# --- state changes ------------------------------------------------------------------------------------

def _checked_action_form(alert: Alert):
    """A refused CSRF token re-renders the alert with the error (nothing changes)."""
    form = ActionForm()
    if form.validate_on_submit():
        return None
    return _detail(alert, action_errors=[_("The form expired. Please try again.")], status=400)


@bp.post("/<int:alert_id>/publish")
@permission_required("publish_alert")
def publish(alert_id: int):
    alert = _own_alert_or_404(alert_id, "publish_alert", "alert.publish")
    refused = _checked_action_form(alert)
    if refused:
        return refused
    try:
        operations.publish_alert(current_principal(), alert)
    except AlertValidationError as exc:
        return _detail(alert, action_errors=exc.errors.values(), status=400)
    flash(_("Alert %(reference)s published.", reference=alert.reference), "success")
    return redirect(url_for("alerts.detail", alert_id=alert.id))


@bp.post("/<int:alert_id>/withdraw")
@permission_required("publish_alert")
def withdraw(alert_id: int):
    alert = _own_alert_or_404(alert_id, "publish_alert", "alert.withdraw")
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _detail(alert, withdraw_form=form, status=400)
    try:
        operations.withdraw_alert(current_principal(), alert, form.reason.data)
    except AlertValidationError as exc:
        errors = dict(exc.errors)
        if "reason" in errors:
            form.reason.errors = [*form.reason.errors, errors.pop("reason")]
        return _detail(alert, withdraw_form=form, action_errors=errors.values(), status=400)
    flash(_("Alert %(reference)s withdrawn.", reference=alert.reference), "success")
    return redirect(url_for("alerts.detail", alert_id=alert.id))


@bp.post("/<int:alert_id>/reshare-network")
@permission_required("publish_alert")
def reshare_network(alert_id: int):
    """Re-share a network alert with the parties that joined the network since it was sent."""
    alert = _own_alert_or_404(alert_id, "publish_alert", "alert.reshare")
    refused = _checked_action_form(alert)
    if refused:
        return refused
    try:
        reached = operations.reshare_to_network(current_principal(), alert)
    except AlertValidationError as exc:
        return _detail(alert, action_errors=exc.errors.values(), status=400)
    flash(_("Alert %(reference)s re-shared with %(parties)s.", reference=alert.reference,
            parties=", ".join(_codes(reached))), "success")
    return redirect(url_for("alerts.detail", alert_id=alert.id))


@bp.post("/<int:alert_id>/acknowledge")
@permission_required("search_alerts")
def acknowledge(alert_id: int):
    alert = get_visible_or_404(Alert, alert_id)
    refused = _checked_action_form(alert)
    if refused:
        return refused
    try:
        operations.acknowledge_alert(current_principal(), alert)
    except AlertValidationError as exc:
        return _detail(alert, action_errors=exc.errors.values(), status=400)
    flash(_("Marked as seen."), "success")
    return redirect(url_for("alerts.detail", alert_id=alert.id))
