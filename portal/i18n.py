"""Language selection: the signed-in user's saved choice, else the session's, else the browser's."""

from __future__ import annotations

from flask import Blueprint, current_app, has_request_context, redirect, request, session, url_for
from flask_login import current_user

from portal.routing import public
from portal.security import is_safe_next

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and background work speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


@bp.post("/language")
@public
def switch_language():
    """Switch the interface language (a CSRF-protected form in the navigation bar)."""
    code = request.form.get("language", "")
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code  # remembered per user
    target = request.form.get("next", "")
    return redirect(target if is_safe_next(target) else url_for("dashboard.index"))
