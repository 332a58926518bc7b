"""The reporting section of an objective's page (ERX-INF-2, ERX-COP-3, MPM-1): the cycles of the templates
that serve it, each with its compliance (as the viewer may see it) and its latest consolidated figures."""

from __future__ import annotations

from collections import Counter

from flask import render_template
from flask_babel import get_locale
from markupsafe import Markup

from portal.access import visible
from portal.extensions import db
from portal.reporting import queries
from portal.reporting.consolidation import consolidate
from portal.reporting.models import STATUS_LABELS, ReportingCycle, ReportingTemplate

CYCLES_SHOWN = 4


def objective_section(code: str, principal) -> Markup | None:
    if principal is None or not principal.can("view_reporting"):
        return None
    cycles = list(db.session.scalars(
        visible(ReportingCycle, principal).join(ReportingTemplate, ReportingTemplate.id == ReportingCycle.template_id)
        .where(ReportingTemplate.objective == code)
        .order_by(ReportingCycle.period.desc(), ReportingCycle.id.desc()).limit(CYCLES_SHOWN)))
    if not cycles:
        return None
    items = [{"cycle": cycle, "statuses": Counter(line.status for line in queries.board(principal, cycle)),
              "result": consolidate(principal, cycle)} for cycle in cycles]
    locale = get_locale()
    return Markup(render_template("reporting/_plan_section.html", items=items, statuses=STATUS_LABELS,
                                  lang=locale.language if locale is not None else "en"))
