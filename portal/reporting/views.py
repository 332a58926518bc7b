"""Pages of periodic reporting: the cycles, a cycle's compliance board, a return (its grid, versions and
diffs, the secretariat's decisions) and the consolidated tables.

Every record is read through ``portal.reporting.queries`` (``portal.access``); every change is one call of
``portal.reporting.operations``. The spreadsheet pages are in ``spreadsheet_views``.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.access import permission_required
from portal.principal import current_principal
from portal.reporting import diff, operations, queries
from portal.reporting.charts import consolidation_charts
from portal.reporting.consolidation import consolidate
from portal.reporting.continents import CONTINENTS
from portal.reporting.forms import BLANK_ROWS, ActionForm, OpenCycleForm, SendBackForm, ShareForm, grid_rows
from portal.reporting.models import STATUS_LABELS
from portal.reporting.serializers import document_exists
from portal.reporting.validation import ReturnInvalid

bp = Blueprint("reporting", __name__, url_prefix="/reporting")
VIEW, SUBMIT, MANAGE = "view_reporting", "submit_party_return", "manage_reporting"


def _lang() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def _render(template: str, status: int = 200, **context):
    return render_template(template, lang=_lang(), statuses=STATUS_LABELS, **context), status


@bp.get("/")
@permission_required(VIEW)
def index():
    return _render("reporting/index.html", cycles=queries.cycles(current_principal()), form=OpenCycleForm())


@bp.post("/cycles")
@permission_required(MANAGE)
def open_cycle():
    form = OpenCycleForm()
    if form.validate_on_submit():
        try:
            cycle = operations.open_cycle(current_principal(), form.template.data, form.period.data,
                                          form.due_date.data)
        except operations.ReportingRefused as error:
            getattr(form, error.field or "template").errors.append(error.message)
        else:
            flash(_("Cycle opened: each member country has a return to fill in."), "success")
            return redirect(url_for("reporting.cycle", cycle_id=cycle.id))
    return _render("reporting/index.html", 400, cycles=queries.cycles(current_principal()), form=form)


@bp.get("/cycles/<int:cycle_id>")
@permission_required(VIEW)
def cycle(cycle_id):
    principal = current_principal()
    found = queries.get_cycle_or_404(principal, cycle_id)
    return _render("reporting/cycle.html", cycle=found, board=queries.board(principal, found),
                   own=principal.party_code)


def _return_context(principal, cycle_id, party) -> dict:
    found_cycle = queries.get_cycle_or_404(principal, cycle_id)
    found = queries.get_return_or_404(principal, found_cycle, party)
    return {"cycle": found_cycle, "item": found, "rows": queries.shown_rows(principal, found),
            "versions": queries.versions(found), "may_fill": queries.may_fill(principal, found),
            "action_form": ActionForm(), "send_back_form": SendBackForm(),
            "share_form": ShareForm(sharing="members" if found.distribution_level == "members" else "secretariat",
                                    tlp=found.tlp)}


@bp.get("/cycles/<int:cycle_id>/returns/<party>")
@permission_required(VIEW)
def return_page(cycle_id, party):
    return _render("reporting/return.html", **_return_context(current_principal(), cycle_id, party))


def _grid_context(found, rows, errors=None, places=None) -> dict:
    places = places or list(range(len(rows)))
    cell_errors = {(places[error.row] if error.row is not None and error.row < len(places) else None,
                    error.column): error.message for error in (errors or [])}
    grid = {places[index]: row for index, row in enumerate(rows)}
    count = (max(grid) + 1 if grid else 0) + BLANK_ROWS
    return {"cycle": found.cycle, "item": found, "grid": grid, "row_count": count, "cell_errors": cell_errors,
            "error_count": len(errors or []), "action_form": ActionForm()}


@bp.get("/cycles/<int:cycle_id>/returns/<party>/edit")
@permission_required(SUBMIT)
def edit_return(cycle_id, party):
    principal = current_principal()
    found = queries.get_fillable_or_404(principal, queries.get_cycle_or_404(principal, cycle_id), party)
    return _render("reporting/edit.html", **_grid_context(found, list(found.draft_rows or [])))


@bp.post("/cycles/<int:cycle_id>/returns/<party>/edit")
@permission_required(SUBMIT)
def save_return(cycle_id, party):
    principal = current_principal()
    found = queries.get_fillable_or_404(principal, queries.get_cycle_or_404(principal, cycle_id), party)
    if not ActionForm().validate_on_submit():
        return _render("reporting/edit.html", 400, **_grid_context(found, list(found.draft_rows or [])))
    rows, places = grid_rows(found.template, request.form)
    try:
        operations.save_draft(principal, found, rows, document_exists=document_exists(principal), lang=_lang())
    except ReturnInvalid as error:
        return _render("reporting/edit.html", 400, **_grid_context(found, rows, error.errors, places))
    except operations.ReportingRefused as error:
        flash(error.message, "danger")
        return redirect(url_for("reporting.return_page", cycle_id=cycle_id, party=party))
    flash(_("Draft saved. Submit it when it is complete."), "success")
    return redirect(url_for("reporting.return_page", cycle_id=cycle_id, party=party))


def _fillable(cycle_id, party):
    principal = current_principal()
    return principal, queries.get_fillable_or_404(principal, queries.get_cycle_or_404(principal, cycle_id), party)


def _managed(cycle_id, party):
    principal = current_principal()
    return principal, queries.get_return_or_404(principal, queries.get_cycle_or_404(principal, cycle_id), party)


def _act(principal, found, action, done: str, *args):
    """Run ``action(principal, found, *args)``; flash its outcome and go back to the return's page."""
    try:
        action(principal, found, *args)
    except ReturnInvalid as error:
        flash(_("The return has %(n)s bad cells: correct them before submitting.", n=len(error.errors)), "danger")
    except operations.ReportingRefused as error:
        flash(error.message, "danger")
    else:
        flash(done, "success")
    return redirect(url_for("reporting.return_page", cycle_id=found.cycle_id, party=found.owner_party.code))


def _submit(principal, found):
    operations.submit(principal, found, document_exists=document_exists(principal))


@bp.post("/cycles/<int:cycle_id>/returns/<party>/submit")
@permission_required(SUBMIT)
def submit_return(cycle_id, party):
    principal, found = _fillable(cycle_id, party)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(principal, found, _submit, _("Return submitted to the secretariat."))


@bp.post("/cycles/<int:cycle_id>/returns/<party>/share")
@permission_required(SUBMIT)
def share_return(cycle_id, party):
    principal, found = _fillable(cycle_id, party)
    form = ShareForm()
    if not form.validate_on_submit():
        context = _return_context(principal, cycle_id, party)
        return _render("reporting/return.html", 400, **{**context, "share_form": form})
    return _act(principal, found, operations.share, _("Sharing saved."), form.sharing.data, form.tlp.data)


@bp.post("/cycles/<int:cycle_id>/returns/<party>/accept")
@permission_required(MANAGE)
def accept_return(cycle_id, party):
    principal, found = _managed(cycle_id, party)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(principal, found, operations.accept, _("Return accepted."))


@bp.post("/cycles/<int:cycle_id>/returns/<party>/send-back")
@permission_required(MANAGE)
def send_back_return(cycle_id, party):
    principal, found = _managed(cycle_id, party)
    form = SendBackForm()
    if not form.validate_on_submit():
        context = _return_context(principal, cycle_id, party)
        return _render("reporting/return.html", 400, **{**context, "send_back_form": form})
    return _act(principal, found, operations.send_back, _("Return sent back to the party."), form.reason.data)


@bp.get("/cycles/<int:cycle_id>/returns/<party>/versions/<int:number>")
@permission_required(VIEW)
def version(cycle_id, party, number):
    context = _return_context(current_principal(), cycle_id, party)
    shown = queries.get_version_or_404(context["item"], number)
    before = queries.get_version_or_404(context["item"], number - 1) if number > 1 else None
    changes = diff.diff_rows(context["item"].template, before.rows if before else [], shown.rows)
    return _render("reporting/version.html", **context, version=shown, previous=before, changes=changes)


@bp.get("/cycles/<int:cycle_id>/consolidated")
@permission_required(VIEW)
def consolidated(cycle_id):
    principal = current_principal()
    found = queries.get_cycle_or_404(principal, cycle_id)
    result = consolidate(principal, found)
    return _render("reporting/consolidated.html", cycle=found, result=result, continents=CONTINENTS,
                   charts=consolidation_charts(principal, result, _lang()))
