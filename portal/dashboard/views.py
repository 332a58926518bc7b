"""Dashboard: who you are, what was recently shared with your party, what needs attention."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from portal.access import permission_required
from portal.dashboard.panels import panels_for
from portal.extensions import db
from portal.notifications.operations import notifications_for
from portal.principal import current_principal

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@permission_required("view_dashboard")
def index():
    unread = db.session.scalars(notifications_for(current_user, unread_only=True).limit(5)).all()
    return render_template("dashboard/index.html", user=current_user, panels=panels_for(current_principal()),
                           unread_notes=unread)
