"""Pages of the plans of action: both plans at a glance, and one objective or topic with what the portal did.

"What the portal did" is an aggregate of the audit log (counts per action and outcome, and the latest
date), never who did it: the plan pages are open to every signed-in user, the audit details are not.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.access import audit_entries_about_what_they_see, permission_required
from portal.audit.models import AuditEntry, AuditObjective
from portal.charts import line_chart
from portal.dashboard.periods import count_by_month, month_labels, window_start
from portal.extensions import db
from portal.i18n import current_language
from portal.plan import data
from portal.plan.records import records_for
from portal.plan.sections import objective_sections
from portal.principal import current_principal

bp = Blueprint("plan", __name__, url_prefix="/plan")


def audit_summary(codes, principal) -> dict:
    """Counts of audited actions linked to any of ``codes`` that ``principal`` may learn of, per action and
    outcome, with latest dates (``portal.access.audit_entries_about_what_they_see``).

    An entry linked to two of the codes counts once. Only the action name, outcome, count and date
    leave the audit log: no actor, party, object or detail.
    """
    codes = sorted(set(codes))
    linked = select(AuditObjective.entry_id).where(AuditObjective.code.in_(codes))
    rows = db.session.execute(
        select(AuditEntry.action, AuditEntry.outcome, func.count(AuditEntry.id), func.max(AuditEntry.created_at))
        .where(AuditEntry.id.in_(linked), audit_entries_about_what_they_see(principal))
        .group_by(AuditEntry.action, AuditEntry.outcome)
        .order_by(AuditEntry.action, AuditEntry.outcome)
    ).all()
    by_action = [
        {"action": action, "outcome": outcome, "count": count, "latest": latest}
        for action, outcome, count, latest in rows
    ]
    return {
        "rows": by_action,
        "total": sum(row["count"] for row in by_action),
        "latest": max((row["latest"] for row in by_action), default=None),
    }


def activity_chart(codes, principal):
    """The audited actions linked to ``codes`` that ``principal`` may learn of, per month over a year."""
    labels = month_labels(12)
    linked = select(AuditObjective.entry_id).where(AuditObjective.code.in_(sorted(set(codes))))
    dates = db.session.scalars(
        select(AuditEntry.created_at).where(AuditEntry.id.in_(linked), audit_entries_about_what_they_see(principal),
                                            AuditEntry.created_at >= window_start(labels))).all()
    return line_chart("objective-activity", _("Activity over the last twelve months"), labels,
                      {_("Audited actions"): count_by_month(dates, labels)}, label_heading=_("Month"))


def _render(template: str, **context):
    return render_template(template, lang=current_language(), bodies=data.bodies(), **context)


@bp.get("/")
@permission_required("view_plan")
def index():
    """Both plans with their topics or axes and objectives."""
    return _render("plan/index.html", plans=data.plans())


@bp.get("/<code>")
@permission_required("view_plan")
def detail(code: str):
    """An objective or a topic; a deeper code (action, activity, schedule) opens its objective there."""
    node = data.find(code)
    if node is None:
        abort(404)
    if isinstance(node, data.Plan):
        return redirect(url_for("plan.index", _anchor=node.code))
    plan = {p.code: p for p in data.plans()}
    if isinstance(node, data.Topic):
        summary = audit_summary((o.code for o in node.objectives), current_principal())
        return _render("plan/topic.html", topic=node, plan=plan[node.plan_code], summary=summary)
    if not isinstance(node, data.Objective):
        return redirect(url_for("plan.detail", code=data.objective_for(code), _anchor=code))
    topic, principal = data.get_topic(node.topic_code), current_principal()
    return _render("plan/objective.html", objective=node, topic=topic, plan=plan[node.plan_code],
                   summary=audit_summary([node.code], principal), activity=activity_chart([node.code], principal),
                   records=records_for(principal, node.code), sections=objective_sections(node.code, principal))
