"""Dashboard: who you are, what was recently shared with your party, what needs attention."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from portal.access import permission_required, visible
from portal.extensions import db
from portal.notices.models import Notice
from portal.notifications.operations import notifications_for
from portal.principal import current_principal

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@permission_required("view_dashboard")
def index():
    notices = []
    if current_principal().can("view_notices"):
        notices = db.session.scalars(
            visible(Notice).order_by(Notice.created_at.desc(), Notice.id.desc()).limit(5)
        ).all()
    unread = db.session.scalars(notifications_for(current_user, unread_only=True).limit(5)).all()
    return render_template("dashboard/index.html", user=current_user, notices=notices, unread_notes=unread)
