"""Account administration pages: list, create, and change the accounts a principal may manage.

Every account is loaded through ``portal.access.manageable_users``: an account of another party is
simply not found (404, audited as denied). The changes themselves are ``portal.admin.operations``.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from wtforms.fields.choices import SelectChoice

from auth.models import ROLES, User
from portal.access import manageable_users, permission_required
from portal.admin import dashboard as _dashboard_panels  # noqa: F401  (registers the panel)
from portal.admin import operations
from portal.admin.forms import (
    ConfirmForm,
    CreateUserForm,
    RoleForm,
    UserFilterForm,
    party_choices,
    role_choices,
)
from portal.extensions import db
from portal.parties.models import Party
from portal.principal import current_principal

bp = Blueprint("admin", __name__, url_prefix="/admin")

PARTY_KIND_LABELS = {
    "member": _l("Member country"),
    "observer": _l("Observer country"),
    "secretariat": _l("Technical Secretariat"),
    "organisation": _l("International organisation"),
}


@bp.context_processor
def _labels():
    return {
        "party_kind_label": lambda kind: PARTY_KIND_LABELS.get(kind, kind),
    }


def _manageable_or_404(user_id: int) -> User:
    return operations.get_manageable_or_404(current_principal(), user_id)


@bp.get("/users")
@permission_required("manage_party_users")
def users():
    principal = current_principal()
    all_parties = principal.can("manage_all_users")
    parties = db.session.scalars(select(Party).order_by(Party.code)).all() if all_parties else []
    form = UserFilterForm(request.args, parties=parties)
    if not all_parties:
        del form.party
    query = manageable_users(principal)
    status = 200
    if form.validate():
        if all_parties and form.party.data:
            query = query.join(Party, User.party_id == Party.id).where(Party.code == form.party.data)
        if form.role.data:
            query = query.where(User.role == form.role.data)
        if form.active.data:
            query = query.where(User.active.is_(form.active.data == "yes"))
        accounts = db.session.scalars(query).all()
    else:
        accounts, status = [], 400
    # names are encrypted columns: the database cannot sort them
    accounts.sort(key=lambda u: (u.party.code, u.full_name.casefold(), u.id))
    from_outside = [] if all_parties else operations.accounts_created_from_outside(principal)
    return render_template("admin/users.html", form=form, accounts=accounts, all_parties=all_parties,
                           from_outside=from_outside), status


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("manage_party_users")
def create_user():
    principal = current_principal()
    form = CreateUserForm()
    parties = operations.creatable_parties(principal)
    roles = {role for party in parties for role in operations.grantable_roles(principal, party)}
    form.role.choices = role_choices(role for role in ROLES if role in roles)
    if principal.can("manage_all_users"):
        form.party.choices = [SelectChoice("", _("Choose a party")), *party_choices(parties)]  # no silent default
    else:
        del form.party
    if form.validate_on_submit():
        code = form.party.data if "party" in form else principal.party_code
        party = next((p for p in parties if p.code == code), None)
        try:
            if party is None:
                raise operations.AdminError("party", _("You cannot create accounts for this party."))
            user, _link = operations.create_user(
                principal, email=form.email.data, full_name=form.full_name.data, role=form.role.data, party=party
            )
        except operations.AdminError as error:
            getattr(form, error.field or "role").errors.append(error.message)
        else:
            flash(_("Account created. A link to set the password has been e-mailed to the new user."), "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    status = 400 if form.errors else 200
    return render_template("admin/create_user.html", form=form), status


@bp.get("/users/<int:user_id>")
@permission_required("manage_party_users")
def user_detail(user_id: int):
    return _render_detail(_manageable_or_404(user_id))


def _render_detail(user: User, *, error=None, status: int = 200):
    """The account page; ``error`` explains a refused change (rendered with ``status`` 403)."""
    principal = current_principal()
    role_form = None
    if operations.can_change_role(principal, user):
        role_form = RoleForm(formdata=None, data={"role": user.role})
        role_form.role.choices = role_choices(operations.grantable_roles(principal, user.party))
    return render_template("admin/user_detail.html", account=user, role_form=role_form, error=error,
                           confirm=ConfirmForm(formdata=None), is_self=user.id == principal.user_id), status


def _confirmed_action(user_id: int, action, success_message: str):
    """Shared POST handler of the one-button actions: load, check CSRF, run the operation, redirect.

    A refused change (on oneself) answers 403 with the reason on the account page.
    """
    user = _manageable_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        action(user)
    except operations.AdminError as error:
        return _render_detail(user, error=error.message, status=403)
    flash(success_message, "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/deactivate")
@permission_required("manage_party_users")
def deactivate(user_id: int):
    return _confirmed_action(user_id, lambda u: operations.deactivate_user(current_principal(), u),
                             _("The account has been deactivated; its sessions and API tokens are revoked."))


@bp.post("/users/<int:user_id>/reactivate")
@permission_required("manage_party_users")
def reactivate(user_id: int):
    return _confirmed_action(user_id, lambda u: operations.reactivate_user(current_principal(), u),
                             _("The account has been reactivated."))


@bp.post("/users/<int:user_id>/reset-password")
@permission_required("manage_party_users")
def reset_password(user_id: int):
    return _confirmed_action(user_id, lambda u: operations.issue_password_reset(current_principal(), u),
                             _("A single-use link to set a new password has been e-mailed to the user."))


@bp.post("/users/<int:user_id>/reset-two-factor")
@permission_required("manage_party_users")
def reset_two_factor(user_id: int):
    return _confirmed_action(user_id, lambda u: operations.reset_two_factor(current_principal(), u),
                             _("Two-factor authentication has been reset; the user enrols again at next sign-in."))


@bp.post("/users/<int:user_id>/role")
@permission_required("manage_party_users")
def change_role(user_id: int):
    principal = current_principal()
    user = _manageable_or_404(user_id)
    form = RoleForm()
    form.role.choices = role_choices(ROLES)
    if not form.validate_on_submit():
        abort(400)
    try:
        operations.change_role(principal, user, form.role.data)
    except operations.AdminError as error:
        return _render_detail(user, error=error.message, status=403)
    flash(_("The role has been changed."), "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.get("/parties")
@permission_required("manage_all_users")
def parties():
    counts = {
        party_id: (total, active)
        for party_id, total, active in db.session.execute(
            select(User.party_id, func.count(User.id), func.sum(case((User.active.is_(True), 1), else_=0)))
            .group_by(User.party_id)
        )
    }
    rows = [(party, *counts.get(party.id, (0, 0))) for party in
            db.session.scalars(select(Party).order_by(Party.kind, Party.code))]
    return render_template("admin/parties.html", rows=rows)
