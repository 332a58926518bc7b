"""Language selection: the signed-in user's saved choice, else the session's, else the browser's."""

from __future__ import annotations

from flask import Blueprint, current_app, has_request_context, redirect, request, session, url_for
from flask_login import current_user

from portal.audit.service import record
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


def current_language() -> str:
    """The language of the page being rendered ("en" or "es"), for reference data kept in both."""
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale is not None else "en"


def choose_language(code: str) -> None:
    """Switch to ``code`` for this session and, signed in, remember it for the user (audited, like every
    change of an account's settings)."""
    if code not in current_app.config["LANGUAGES"]:
        return
    session["locale"] = code
    if current_user.is_authenticated and current_user.locale != code:
        current_user.locale = code  # remembered per user
        record("user.language", object_type="user", object_id=current_user.id,
               object_party=current_user.party.code, details={"language": code})


@bp.post("/language")
@public
def switch_language():
    """Switch the interface language (a CSRF-protected form in the navigation bar)."""
    choose_language(request.form.get("language", ""))
    target = request.form.get("next", "")
    return redirect(target if is_safe_next(target) else url_for("dashboard.index"))
