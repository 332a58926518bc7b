"""Notices: list, read, post and re-share. Every read goes through ``visible()`` / ``get_visible_or_404()``."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.access import (
    RESTRICTED_TLP,
    DistributionError,
    can_reshare_to_network_members,
    get_changeable_or_404,
    owns,
    permission_required,
    unreached_network_members,
)
from portal.distribution import networks, recipient_parties
from portal.extensions import db
from portal.notices import dashboard as _dashboard_panel  # noqa: F401  (registers the panel)
from portal.notices import operations
from portal.notices.forms import ActionForm, NoticeForm, ShareForm
from portal.notices.models import Notice
from portal.parties.models import Network, Party
from portal.principal import current_principal

bp = Blueprint("notices", __name__, url_prefix="/notices")


def _distribution_form(form_class, owner_party_id: int, **kwargs):
    form = form_class(**kwargs)
    form.set_choices(recipient_parties(owner_party_id), networks())
    return form


def _apply_distribution_error(form, error: DistributionError) -> None:
    field = getattr(form, error.field, None) or form.distribution
    messages = {
        "tlp": _("Choose a TLP marking from the list."),
        "distribution": _("Choose a distribution from the list."),
        "parties": _("Choose recipient parties from the list."),
        "network": _("Choose a network from the list."),
    }
    field.errors = list(field.errors) + [messages.get(error.field, _("This value is not valid."))]


@bp.get("/")
@permission_required("view_notices")
def index():
    page = operations.read_notices(current_principal(), request.args.get("page", 1, type=int),
                                   current_app.config["PAGE_SIZE"])
    return render_template("notices/index.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@permission_required("post_notice")
def new():
    form = _distribution_form(NoticeForm, current_principal().party_id)
    if form.validate_on_submit():
        try:
            notice = operations.create_notice(
                current_principal(), title=form.title.data, body=form.body.data, tlp=form.tlp.data,
                level=form.distribution.data, party_ids=form.parties.data, network_id=form.network.data,
            )
        except DistributionError as error:
            _apply_distribution_error(form, error)
        else:
            flash(_("Notice posted."), "success")
            return redirect(url_for("notices.detail", notice_id=notice.id))
    status = 400 if form.is_submitted() else 200
    return render_template("notices/new.html", form=form), status


def _detail_context(notice: Notice, share_form=None) -> dict:
    recipients = []
    if notice.distribution_level == "parties":
        ids = notice.recipient_party_ids
        recipients = sorted(db.session.get(Party, pid).code for pid in ids)
    network = db.session.get(Network, notice.network_id) if notice.network_id else None
    may_share = owns(notice) and current_principal().can("post_notice")
    if share_form is None and may_share:
        share_form = _distribution_form(
            ShareForm, notice.owner_party_id, formdata=None, distribution=notice.distribution_level,
            parties=notice.recipient_party_ids, network=notice.network_id,
        )
    unreached = sorted(db.session.get(Party, pid).code for pid in unreached_network_members(notice)) \
        if may_share and can_reshare_to_network_members(notice) else []
    return {"notice": notice, "recipients": recipients, "network": network, "share_form": share_form,
            "restricted": notice.tlp in RESTRICTED_TLP, "unreached": unreached,
            "network_form": ActionForm(formdata=None) if unreached else None}


@bp.get("/<int:notice_id>")
@permission_required("view_notices")
def detail(notice_id):
    notice = operations.read_notice(current_principal(), notice_id)
    return render_template("notices/detail.html", **_detail_context(notice))


@bp.post("/<int:notice_id>/share")
@permission_required("post_notice")
def share(notice_id):
    notice = get_changeable_or_404(Notice, notice_id, action="notice.share", denied_status=403, object_type="notice")
    form = _distribution_form(ShareForm, notice.owner_party_id)
    if form.validate_on_submit():
        try:
            operations.reshare_notice(current_principal(), notice, level=form.distribution.data,
                                      party_ids=form.parties.data, network_id=form.network.data)
        except operations.ReshareRefused:
            form.distribution.errors = list(form.distribution.errors) + [_(
                "A notice marked TLP:%(tlp)s cannot be shared wider than it already is. "
                "You may only narrow its distribution.", tlp=notice.tlp)]
        except DistributionError as error:
            _apply_distribution_error(form, error)
        else:
            flash(_("Distribution updated."), "success")
            return redirect(url_for("notices.detail", notice_id=notice.id))
    return render_template("notices/detail.html", **_detail_context(notice, form)), 400


_NETWORK_REFUSALS = {
    "tlp": _l("A RED or AMBER+STRICT notice is never re-shared wider than it was sent."),
    "level": _l("Only a notice distributed to a network can be re-shared with its current members."),
    "none": _l("Every current member of the network already receives this notice."),
}


@bp.post("/<int:notice_id>/reshare-network")
@permission_required("post_notice")
def reshare_network(notice_id):
    """Send a network notice to the parties that joined the network since it was posted."""
    notice = get_changeable_or_404(Notice, notice_id, action="notice.share", denied_status=403, object_type="notice")
    if not ActionForm().validate_on_submit():
        return render_template("notices/detail.html", **_detail_context(notice)), 400
    try:
        operations.reshare_notice_to_network(current_principal(), notice)
    except operations.ReshareRefused as refused:
        flash(str(_NETWORK_REFUSALS[refused.reason]), "danger")
        return render_template("notices/detail.html", **_detail_context(notice)), 400
    flash(_("Notice sent to the network's new members."), "success")
    return redirect(url_for("notices.detail", notice_id=notice.id))
