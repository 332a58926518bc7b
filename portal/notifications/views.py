"""The current user's notifications: the list behind the bell, and "mark all as read"."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import permission_required
from portal.extensions import db
from portal.notifications import operations

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@permission_required("view_dashboard")  # notifications are part of every user's own dashboard
def index():
    page = db.paginate(
        operations.notifications_for(current_user),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template("notifications/index.html", page=page)


@bp.post("/read-all")
@permission_required("view_dashboard")
def read_all():
    operations.mark_all_read(current_user)
    return redirect(url_for("notifications.index"))
