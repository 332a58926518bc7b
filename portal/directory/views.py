"""Network directory pages: search and lists, entry detail, entry and network maintenance, exports.

Entries are read only through ``portal.access.visible(DirectoryEntry)`` (via ``operations.get_entry_or_404``
and ``operations.search_entries``); a country admin's own-party loader answers 404 for any other party's entry.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.access import permission_required
from portal.audit.service import record
from portal.directory import export, operations
from portal.directory.forms import (
    ROLE_LABELS,
    ActionForm,
    EntryForm,
    MembershipForm,
    NetworkForm,
    NetworkPartyForm,
    RenameNetworkForm,
    SearchForm,
)
from portal.directory.models import NetworkMembership, NetworkPartyPin
from portal.directory.operations import DirectoryError, SearchCriteria
from portal.extensions import db
from portal.parties.models import Network, Party
from portal.principal import current_principal

bp = Blueprint("directory", __name__, url_prefix="/directory")

MAX_EXPORT = 5000
_TRUE = ("1", "y", "on", "true", "yes")


def _parties() -> list[Party]:
    return list(db.session.scalars(select(Party).where(Party.active.is_(True)).order_by(Party.code)))


def _criteria() -> SearchCriteria:
    args = request.args
    network = args.get("network", "")
    return SearchCriteria(
        name=args.get("q", "")[:200],
        party_code=args.get("party", "")[:8].strip(),
        network_id=int(network) if network.isdigit() else None,
        institution=args.get("institution", "")[:200],
        include_inactive=args.get("inactive", "").lower() in _TRUE,
        stale_only=args.get("stale", "").lower() in _TRUE,
    )


def _phone_rule(entries):
    """entry id -> whether the current viewer may see its phones."""
    principal = current_principal()
    networks = operations.viewer_network_ids(principal)
    return {entry.id: operations.phones_visible(entry, principal, networks) for entry in entries}


def _page_number() -> int:
    return request.args.get("page", 1, type=int)


def _get_network_or_404(network_id: int) -> Network:
    network = db.session.get(Network, network_id)
    if network is None:
        record("networks.access", outcome="denied", object_type="network", object_id=str(network_id))
        abort(404)
    return network


def _listing_context() -> dict:
    return {"role_labels": ROLE_LABELS, "is_stale": operations.is_stale, "language_name": operations.language_name}


# --- reading ------------------------------------------------------------------------------------------

@bp.get("/")
@permission_required("view_directory")
def index():
    networks = operations.all_networks()
    form = SearchForm(request.args)
    form.set_choices(_parties(), networks)
    entries = operations.search_entries(current_principal(), _criteria())
    page = operations.ListPage(entries, _page_number(), current_app.config["PAGE_SIZE"])
    return render_template("directory/index.html", form=form, page=page, networks=networks,
                           counts=operations.network_counts(), phones=_phone_rule(page.items),
                           rows=[(None, entry) for entry in page.items],
                           export_args={k: v for k, v in request.args.items() if k != "page"}, **_listing_context())


@bp.get("/networks/<int:network_id>")
@permission_required("view_directory")
def network(network_id):
    network = _get_network_or_404(network_id)
    rows = operations.network_members(current_principal(), network.id)
    page = operations.ListPage(rows, _page_number(), current_app.config["PAGE_SIZE"])
    context = {"network": network, "page": page, "phones": _phone_rule([entry for _m, entry in page.items])}
    if current_principal().can("manage_networks"):
        pinned = set(db.session.scalars(select(NetworkPartyPin.party_id).where(NetworkPartyPin.network_id == network.id)))
        taking_part = {party.id for party in network.parties}
        party_form = NetworkPartyForm(formdata=None)
        party_form.set_choices([p for p in _parties() if p.id not in taking_part or p.id not in pinned])
        context.update(pinned=pinned, party_form=party_form, action_form=ActionForm(formdata=None),
                       fixed={p.id for p in network.parties if operations.is_fixed_participant(network, p)})
    return render_template("directory/network.html", **context, **_listing_context())


@bp.get("/entries/<int:entry_id>")
@permission_required("view_directory")
def entry(entry_id):
    entry = operations.get_entry_or_404(entry_id, current_principal())
    return render_template("directory/entry.html", **_entry_context(entry))


def _entry_context(entry, membership_form=None) -> dict:
    principal = current_principal()
    context = {"entry": entry, "show_phones": _phone_rule([entry])[entry.id], "action_form": ActionForm(formdata=None),
               "can_manage": principal.can("manage_party_directory") and entry.party_id == principal.party_id,
               "membership_form": None, **_listing_context()}
    if principal.can("manage_networks"):
        if membership_form is None:
            membership_form = MembershipForm(formdata=None)
        membership_form.set_choices([n for n in operations.all_networks() if n.id not in entry.network_ids])
        context["membership_form"] = membership_form
    return context


def _export_rows():
    entries = operations.search_entries(current_principal(), _criteria())[:MAX_EXPORT]
    rule = _phone_rule(entries)
    return [(entry, rule[entry.id]) for entry in entries]


def _export(kind: str, body: str, mimetype: str, count: int, omitted: int) -> Response:
    record("directory.export", object_type="directory_entry",
           details={"format": kind, "count": count, "phones_omitted": omitted, "filters": _criteria().used()})
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=rcm-directory.{kind}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export.csv")
@permission_required("view_directory")
def export_csv():
    rows = _export_rows()
    omitted = sum(1 for entry, shown in rows if not shown and entry.phones)
    return _export("csv", export.to_csv(rows), "text/csv; charset=utf-8", len(rows), omitted)


@bp.get("/export.vcf")
@permission_required("view_directory")
def export_vcf():
    rows = _export_rows()
    omitted = sum(1 for entry, shown in rows if not shown and entry.phones)
    return _export("vcf", export.to_vcards(rows), "text/vcard; charset=utf-8", len(rows), omitted)


# --- entries (country admins, own party) ------------------------------------------------------------------

def _entry_data(form: EntryForm, party: Party):
    """Validated data, or None after putting each error next to its field."""
    raw = {
        "full_name": form.full_name.data or "",
        "email": form.email.data or "",
        "title": form.title.data or "",
        "institution": form.institution.data or "",
        "phones": re.split(r"[\n,;]+", form.phones.data or ""),
        "languages": operations.split_list(form.languages.data or ""),
        "time_zone": form.time_zone.data,
        "phones_restricted": form.phones_restricted.data,
    }
    errors = operations.entry_errors(party, raw)
    if errors:
        for name, message in errors.items():
            field = getattr(form, name)
            field.errors = list(field.errors) + [str(message)]
        return None
    return operations.validate_entry_data(party, **raw)


@bp.route("/entries/new", methods=["GET", "POST"])
@permission_required("manage_party_directory")
def new_entry():
    form = EntryForm()
    if form.validate_on_submit():
        party = db.session.get(Party, current_user.party_id)
        data = _entry_data(form, party)
        if data is not None:
            entry = operations.create_entry(current_user, party, data)
            flash(_("Directory entry created."), "success")
            return redirect(url_for("directory.entry", entry_id=entry.id))
    return render_template("directory/entry_form.html", form=form, entry=None), 400 if form.is_submitted() else 200


@bp.route("/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@permission_required("manage_party_directory")
def edit_entry(entry_id):
    entry = operations.get_manageable_entry_or_404(entry_id, current_principal())
    if request.method == "GET":
        form = EntryForm(formdata=None, data={
            "full_name": entry.full_name, "title": entry.title, "institution": entry.institution,
            "email": entry.email, "phones": "\n".join(entry.phones), "languages": ", ".join(entry.languages or []),
            "time_zone": entry.time_zone or "", "phones_restricted": entry.phones_restricted,
        })
        return render_template("directory/entry_form.html", form=form, entry=entry)
    form = EntryForm()
    if form.validate_on_submit():
        data = _entry_data(form, entry.party)
        if data is not None:
            operations.update_entry(entry, current_user, data)
            flash(_("Directory entry saved."), "success")
            return redirect(url_for("directory.entry", entry_id=entry.id))
    return render_template("directory/entry_form.html", form=form, entry=entry), 400


@bp.post("/entries/<int:entry_id>/verify")
@permission_required("manage_party_directory")
def verify_entry(entry_id):
    entry = operations.get_manageable_entry_or_404(entry_id, current_principal())
    if ActionForm().validate_on_submit():
        operations.verify_entry(entry, current_user)
        flash(_("Entry marked as verified today."), "success")
    return redirect(url_for("directory.entry", entry_id=entry.id))


@bp.post("/entries/<int:entry_id>/deactivate")
@permission_required("manage_party_directory")
def deactivate_entry(entry_id):
    entry = operations.get_manageable_entry_or_404(entry_id, current_principal())
    if ActionForm().validate_on_submit():
        operations.deactivate_entry(entry, current_user)
        flash(_("Entry deactivated: it no longer appears in the directories."), "success")
    return redirect(url_for("directory.entry", entry_id=entry.id))


# --- memberships and networks (secretariat) --------------------------------------------------------------

@bp.post("/entries/<int:entry_id>/memberships")
@permission_required("manage_networks")
def add_membership(entry_id):
    entry = operations.get_entry_or_404(entry_id, current_principal())
    form = MembershipForm()
    form.set_choices([n for n in operations.all_networks() if n.id not in entry.network_ids])
    if form.validate_on_submit():
        try:
            operations.add_membership(entry, db.session.get(Network, form.network.data), form.role.data, current_user)
        except DirectoryError as error:
            getattr(form, error.field, form.network).errors.append(str(error.message))
        else:
            flash(_("Membership added."), "success")
            return redirect(url_for("directory.entry", entry_id=entry.id))
    return render_template("directory/entry.html", **_entry_context(entry, form)), 400


@bp.post("/memberships/<int:membership_id>/remove")
@permission_required("manage_networks")
def remove_membership(membership_id):
    membership = db.session.get(NetworkMembership, membership_id)
    if membership is None:
        record("network_memberships.access", outcome="denied", object_type="network_membership",
               object_id=str(membership_id))
        abort(404)
    entry_id = membership.entry_id
    if ActionForm().validate_on_submit():
        operations.remove_membership(membership, current_user)
        flash(_("Membership removed."), "success")
    return redirect(url_for("directory.entry", entry_id=entry_id))


@bp.route("/networks/new", methods=["GET", "POST"])
@permission_required("manage_networks")
def new_network():
    form = NetworkForm()
    if form.validate_on_submit():
        try:
            network = operations.create_network(current_user, code=form.code.data, name_en=form.name_en.data,
                                                 name_es=form.name_es.data)
        except DirectoryError as error:
            getattr(form, error.field).errors.append(str(error.message))
        else:
            flash(_("Network created."), "success")
            return redirect(url_for("directory.network", network_id=network.id))
    return render_template("directory/network_form.html", form=form, network=None), 400 if form.is_submitted() else 200


@bp.route("/networks/<int:network_id>/edit", methods=["GET", "POST"])
@permission_required("manage_networks")
def edit_network(network_id):
    network = _get_network_or_404(network_id)
    if request.method == "GET":
        form = RenameNetworkForm(formdata=None, data={"name_en": network.name_en, "name_es": network.name_es})
        return render_template("directory/network_form.html", form=form, network=network)
    form = RenameNetworkForm()
    if form.validate_on_submit():
        operations.rename_network(network, current_user, name_en=form.name_en.data, name_es=form.name_es.data)
        flash(_("Network saved."), "success")
        return redirect(url_for("directory.network", network_id=network.id))
    return render_template("directory/network_form.html", form=form, network=network), 400


@bp.post("/networks/<int:network_id>/parties")
@permission_required("manage_networks")
def add_network_party(network_id):
    network = _get_network_or_404(network_id)
    form = NetworkPartyForm()
    form.set_choices(_parties())
    if form.validate_on_submit():
        operations.add_party_to_network(network, db.session.get(Party, form.party.data), current_user)
        flash(_("Party added to the network."), "success")
        return redirect(url_for("directory.network", network_id=network.id))
    flash(_("Choose a party from the list."), "error")
    return redirect(url_for("directory.network", network_id=network.id)), 303


@bp.post("/networks/<int:network_id>/parties/<int:party_id>/remove")
@permission_required("manage_networks")
def remove_network_party(network_id, party_id):
    network = _get_network_or_404(network_id)
    party = db.session.get(Party, party_id)
    if party is None:
        abort(404)
    if ActionForm().validate_on_submit():
        try:
            operations.remove_party_from_network(network, party, current_user)
        except DirectoryError as error:
            flash(str(error.message), "error")
            return redirect(url_for("directory.network", network_id=network.id)), 303
        flash(_("Party removed from the network."), "success")
    return redirect(url_for("directory.network", network_id=network.id))
