"""Login (password, then a mandatory second factor), logout, account, password and API token pages.

The password step never logs anyone in: it leaves the pending user's id, the time and a single-use
nonce (its digest kept on the account) in the session, valid for five minutes, and sends the browser to
the second factor (enrolment on first login). Only ``operations.complete_login`` starts a session, with
a fresh id, and it spends the nonce: a copy of the cookie replayed later opens nothing. The password
step answers the same for an unknown, a locked and a deactivated account.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from auth import operations, totp
from auth.forms import (
    ChangePasswordForm,
    ConfirmForm,
    EnrolForm,
    LoginForm,
    ProfileForm,
    RegenerateRecoveryCodesForm,
    ResetPasswordForm,
    TokenForm,
    TwoFactorForm,
)
from auth.models import ApiToken
from auth.permissions import TOKEN_SCOPES, permissions_for_role
from auth.tokens import TokenError, create_token, get_own_token_or_404, revoke_token
from portal.access import permission_required
from portal.extensions import db, limiter
from portal.principal import current_principal
from portal.routing import public
from portal.security import is_safe_next
from portal.timeutil import utcnow

bp = Blueprint("auth", __name__, url_prefix="/auth")

_PENDING = "auth_pending"  # {"uid": user id, "at": unix time, "nonce": single-use, "next": safe path or None}
_ENROL_SECRET = "auth_enrol_secret"  # the not-yet-confirmed TOTP secret, encrypted


def _login_rate_limited(request_limit) -> None:
    operations.record_rate_limited(request.endpoint or "")


def _login_limit():
    return limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"],
                         on_breach=_login_rate_limited)


def _safe_next(value: str | None) -> str | None:
    return value if is_safe_next(value) else None


def _after_login_target(next_path: str | None) -> str:
    return next_path if is_safe_next(next_path) else url_for("dashboard.index")


# --- login ---------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@public
@_login_limit()
def login():
    """E-mail and password; on success, on to the second factor."""
    next_path = _safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(_after_login_target(next_path))
    if session.pop("expired", False):
        flash(_("Your session has expired. Please sign in again."), "warning")
    form = LoginForm()
    if form.validate_on_submit():
        result = operations.check_password(form.email.data, form.password.data)
        if result.status == "ok":
            user = result.user
            session.pop(_ENROL_SECRET, None)
            session[_PENDING] = {"uid": user.id, "at": time.time(), "next": next_path,
                                 "nonce": operations.begin_pending_login(user)}
            if user.two_factor_enrolled:
                return redirect(url_for("auth.two_factor"))
            return redirect(url_for("auth.enrol"))
        # One answer for a wrong password and an unknown, locked or deactivated account.
        form.form_errors.append(_("The e-mail address or password is not correct."))
    return render_template("auth/login.html", form=form, next_path=next_path)


def _pending_or_restart():
    """The user waiting for a second factor, or None (the caller sends them back to the login page)."""
    pending = session.get(_PENDING) or {}
    user = operations.pending_user(pending.get("uid"), pending.get("at"), pending.get("nonce"))
    if user is None:
        session.pop(_PENDING, None)
        session.pop(_ENROL_SECRET, None)
    return user, pending.get("next")


def _restart_login():
    flash(_("Please sign in again."), "warning")
    return redirect(url_for("auth.login"))


@bp.route("/two-factor", methods=["GET", "POST"])
@public
@_login_limit()
def two_factor():
    """Second factor: a TOTP code (not replayed) or a single-use recovery code."""
    user, next_path = _pending_or_restart()
    if user is None:
        return _restart_login()
    if not user.two_factor_enrolled:
        return redirect(url_for("auth.enrol"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        method = operations.verify_second_factor(user, form.code.data)
        if method is not None:
            if not operations.complete_login(user, method):
                return _restart_login()
            if method == "recovery_code":
                flash(_("You signed in with a recovery code. %(n)d unused codes remain; generate new ones "
                        "from your account page if you are running low.",
                        n=operations.remaining_recovery_codes(user)), "warning")
            return redirect(_after_login_target(next_path))
        if user.is_locked():
            session.pop(_PENDING, None)
            flash(_("This account is temporarily locked after too many failed attempts. Try again later."),
                  "danger")
            return redirect(url_for("auth.login"))
        form.code.errors.append(_("This code is not valid, or it has already been used."))
    return render_template("auth/two_factor.html", form=form)


@bp.route("/two-factor/enrol", methods=["GET", "POST"])
@public
@_login_limit()
def enrol():
    """First login: scan the QR code, confirm with a code, receive the recovery codes once."""
    user, next_path = _pending_or_restart()
    if user is None:
        return _restart_login()
    if user.two_factor_enrolled:
        return redirect(url_for("auth.two_factor"))
    secret = totp.open_pending_secret(session.get(_ENROL_SECRET, ""), user.id) if session.get(_ENROL_SECRET) else None
    if secret is None:
        secret = totp.new_secret()
        session[_ENROL_SECRET] = totp.seal_pending_secret(secret, user.id)
    form = EnrolForm()
    if form.validate_on_submit():
        codes = operations.confirm_enrolment(user, secret, form.code.data)
        if codes is not None:
            if not operations.complete_login(user, "totp_enrolment"):
                return _restart_login()
            # Rendered in this response only (no-store): the codes are never shown again.
            return render_template("auth/recovery_codes.html", codes=codes,
                                   continue_url=_after_login_target(next_path), first_login=True)
        if user.is_locked():
            session.pop(_PENDING, None)
            session.pop(_ENROL_SECRET, None)
            flash(_("This account is temporarily locked after too many failed attempts. Try again later."),
                  "danger")
            return redirect(url_for("auth.login"))
        form.code.errors.append(_("This code does not match. Check the time on your phone and try again."))
    uri = totp.provisioning_uri(secret, user.email)
    return render_template("auth/enrol.html", form=form, qr=totp.qr_data_uri(uri),
                           secret=totp.format_secret(secret))


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """End the server-side session (the form in the navigation bar carries the CSRF token)."""
    operations.logout(current_user)
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


# --- account -------------------------------------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@permission_required("manage_own_account")
def account():
    """Profile, language preference, active sessions."""
    form = ProfileForm(locale=current_user.locale or session.get("locale") or "en")
    if form.validate_on_submit():
        operations.set_locale(current_user, form.locale.data)
        session["locale"] = form.locale.data
        flash(_("Your preferences have been saved."), "success")
        return redirect(url_for("auth.account"))
    return render_template(
        "auth/account.html",
        form=form,
        user=current_user,
        sessions=operations.active_sessions(current_user),
        current_session_id=operations.current_session_id(),
        recovery_left=operations.remaining_recovery_codes(current_user),
        signout_form=ConfirmForm(),
    )


@bp.post("/sessions/revoke-others")
@permission_required("manage_own_account")
def revoke_other_sessions():
    form = ConfirmForm()
    if form.validate_on_submit():
        count = operations.sign_out_other_sessions(current_user)
        flash(_("Signed out of %(n)d other session(s).", n=count), "success")
    return redirect(url_for("auth.account"))


@bp.route("/recovery-codes", methods=["GET", "POST"])
@permission_required("manage_own_account")
@_login_limit()
def recovery_codes():
    """Replace the recovery codes; requires a current authenticator code."""
    form = RegenerateRecoveryCodesForm()
    if form.validate_on_submit():
        codes = operations.regenerate_recovery_codes(current_user, form.code.data)
        if codes is not None:
            return render_template("auth/recovery_codes.html", codes=codes,
                                   continue_url=url_for("auth.account"), first_login=False)
        form.code.errors.append(_("This code is not valid, or it has already been used."))
    return render_template("auth/regenerate_codes.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@permission_required("manage_own_account")
@_login_limit()
def change_password():
    """Change the password; every other session of the account is signed out."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not operations.verify_current_password(user, form.current_password.data):
            form.current_password.errors.append(_("The current password is not correct."))
        else:
            problems = operations.policy_problems(user, form.new_password.data)
            if problems:
                form.new_password.errors.extend(problems)
            else:
                operations.change_password(user, form.new_password.data)
                flash(_("Your password has been changed. Your other sessions have been signed out."), "success")
                return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
@_login_limit()
def reset(token: str):
    """An administrator's single-use reset link: choose a new password."""
    row = operations.usable_reset_token(token)
    if row is None:
        return render_template("auth/reset_invalid.html"), 410
    form = ResetPasswordForm()
    if form.validate_on_submit():
        problems = operations.policy_problems(row.user, form.new_password.data)
        if problems:
            form.new_password.errors.extend(problems)
        else:
            operations.reset_password(row, form.new_password.data)
            if current_user.is_authenticated:
                operations.logout(current_user)
            flash(_("Your password has been set. Sign in with it now."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


# --- personal API tokens -------------------------------------------------------------------------


def _scope_choices(user) -> list[tuple[str, str]]:
    allowed = permissions_for_role(user.role)
    return [SelectChoice(scope, scope) for scope, perms in TOKEN_SCOPES.items() if perms <= allowed]


def _own_token_or_404(token_id: int) -> ApiToken:
    return get_own_token_or_404(current_principal(), token_id)


_TOKEN_FIELD_MESSAGES = {
    "name": lambda: _("A token needs a name of 1 to 100 characters."),
    "scopes": lambda: _("Choose at least one of the offered scopes."),
    "days": lambda: _("Choose between 1 and 365 days."),
    "allowed_ips": lambda: _("Each line must be an IP address or a CIDR range."),
}


@bp.route("/tokens", methods=["GET", "POST"])
@permission_required("manage_own_tokens")
def tokens():
    """List the user's own tokens and create one; the secret is shown once, on the response."""
    form = TokenForm()
    form.scopes.choices = _scope_choices(current_user)
    if form.validate_on_submit():
        try:
            token, secret = create_token(current_user, name=form.name.data, scopes=form.scopes.data,
                                         days=form.days.data, allowed_ips=form.ip_lines())
        except TokenError as exc:
            describe = _TOKEN_FIELD_MESSAGES.get(exc.field)
            getattr(form, exc.field, form.name).errors.append(describe() if describe else exc.message)
        else:
            return render_template("auth/token_created.html", token=token, secret=secret)
    own = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)).all()
    own = sorted(own, key=lambda t: t.created_at, reverse=True)
    return render_template("auth/tokens.html", form=form, tokens=own, now=utcnow(), revoke_form=ConfirmForm())


@bp.post("/tokens/<int:token_id>/revoke")
@permission_required("manage_own_tokens")
def revoke(token_id: int):
    token = _own_token_or_404(token_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        revoke_token(token)
        flash(_("The token “%(name)s” has been revoked.", name=token.name), "success")
    return redirect(url_for("auth.tokens"))
