"""Template globals: permission checks, TLP styling, languages, unread notification count."""

from __future__ import annotations

from flask import Flask, g
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import func, select

from auth.permissions import ROLE_LABELS
from portal.access import TLP_LEVELS
from portal.i18n import current_language
from portal.plan.data import get_objective
from portal.principal import has_permission

TLP_CSS = {
    "CLEAR": "tlp-clear",
    "GREEN": "tlp-green",
    "AMBER": "tlp-amber",
    "AMBER+STRICT": "tlp-amber-strict",
    "RED": "tlp-red",
}


def _unread_notifications() -> int:
    if not current_user.is_authenticated:
        return 0
    if "unread_notifications" not in g:
        from portal.extensions import db
        from portal.notifications.models import Notification

        g.unread_notifications = db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == current_user.id, Notification.read_at.is_(None)
            )
        )
    return g.unread_notifications


def objective_title(code: str) -> str:
    """A plan objective's title in the reader's language (a code the plans do not hold: the code itself)."""
    objective = get_objective(code)
    return objective.title(current_language()) if objective is not None else code


def init_app(app: Flask) -> None:
    # Globals too, not only context: macros imported without context (``{% from "_macros.html" import
    # tlp_badge %}``) see only the environment's globals.
    app.jinja_env.globals.update(tlp_css=TLP_CSS, tlp_levels=TLP_LEVELS)

    @app.context_processor
    def _globals():
        return {
            "can": has_permission,
            "role_label": lambda role: ROLE_LABELS.get(role, role) if role else "",
            "tlp_css": TLP_CSS,
            "tlp_levels": TLP_LEVELS,
            "current_locale": str(get_locale() or "en"),
            "unread_notifications": _unread_notifications,
            "objective_title": objective_title,
        }
