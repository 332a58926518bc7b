"""The audit log viewer and its CSV export.

Rows come only from ``portal.access.visible_audit_entries``: the secretariat reads the whole log, a
country administrator the entries whose actor or object belongs to their party. The page and the
export apply the same filters to the same scope; an export is itself audited.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists

from portal.access import permission_required, visible_audit_entries
from portal.audit.export import export_csv
from portal.audit.forms import OUTCOME_LABELS, AuditFilterForm
from portal.audit.models import AuditEntry, AuditObjective
from portal.audit.sealing import shown_details
from portal.audit.sentences import describe
from portal.extensions import db
from portal.principal import current_principal
from portal.timeutil import utcnow

bp = Blueprint("audit", __name__, url_prefix="/audit")

PER_PAGE = 50


@bp.context_processor
def _labels():
    return {
        "outcome_label": lambda outcome: OUTCOME_LABELS.get(outcome, outcome),
        # sealed search terms are never shown, not even as ciphertext (``portal.audit.sealing``)
        "shown_details": lambda details: shown_details(details, _l("sealed")),
    }


def _filtered(form: AuditFilterForm):
    """The principal's visible entries narrowed by the (validated) filters, newest first."""
    query = visible_audit_entries(current_principal())
    if form.actor.data is not None:
        query = query.where(AuditEntry.actor_user_id == form.actor.data)
    if form.person_ids:
        query = query.where(AuditEntry.actor_user_id.in_(form.person_ids))
    if form.action.data:
        query = query.where(AuditEntry.action.startswith(form.action.data, autoescape=True))
    if form.objective.data:
        query = query.where(exists().where(AuditObjective.entry_id == AuditEntry.id,
                                           AuditObjective.code == form.objective.data.upper()))
    if form.outcome.data:
        query = query.where(AuditEntry.outcome == form.outcome.data)
    if form.date_from.data:
        query = query.where(AuditEntry.created_at >= form.date_from.data)
    if form.date_to.data:
        query = query.where(AuditEntry.created_at < form.date_to.data + timedelta(days=1))
    return query.order_by(AuditEntry.seq.desc())


def _filter_details(form: AuditFilterForm) -> dict:
    """The filters an export used, for its own audit entry (ids and codes only)."""
    values = {
        "actor": form.actor.data,
        "people": form.person_ids or None,  # the ids a name matched: the name itself never reaches the log
        "action": form.action.data or None,
        "objective": form.objective.data.upper() if form.objective.data else None,
        "outcome": form.outcome.data or None,
        "date_from": form.date_from.data.isoformat() if form.date_from.data else None,
        "date_to": form.date_to.data.isoformat() if form.date_to.data else None,
    }
    return {key: value for key, value in values.items() if value is not None}


@bp.get("/")
@permission_required("view_party_audit")
def index():
    form = AuditFilterForm(request.args)
    if not form.validate():  # a refused filter is named next to it; nothing is read or recorded
        return render_template("audit/index.html", form=form, page=None), 422
    page = db.paginate(_filtered(form), page=form.page.data or 1, per_page=PER_PAGE, error_out=False)
    return render_template("audit/index.html", form=form, page=page,
                           sentences=describe(page.items, current_principal()))


@bp.post("/export.csv")
@permission_required("view_party_audit")
def export():
    form = AuditFilterForm(request.args)
    if not form.validate():
        errors = "; ".join(f"{name}: {', '.join(str(e) for e in errs)}" for name, errs in form.errors.items())
        return Response(str(_l("Invalid filters")) + f" ({errors})\n", status=422, mimetype="text/plain")
    text = export_csv(_filtered(form), _filter_details(form), current_principal())
    filename = f"audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
