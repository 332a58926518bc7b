"""The notices panel of the dashboard: the five newest notices the viewer may see."""

from __future__ import annotations

from portal.access import visible
from portal.dashboard.panels import register_panel
from portal.extensions import db
from portal.notices.models import Notice


def recent_notices(principal) -> dict:
    statement = visible(Notice, principal).order_by(Notice.created_at.desc(), Notice.id.desc()).limit(5)
    return {"notices": db.session.scalars(statement).all()}


register_panel("recent_notices", template="notices/_dashboard_panel.html", load=recent_notices,
               permission="view_notices", order=10)
