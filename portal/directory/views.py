"""Network directory pages: search and lists, entry detail, entry and network maintenance, exports.

Entries, memberships and networks are loaded by ``portal.directory.queries`` (through ``portal.access``:
``get_entry_or_404``, ``search_entries``; ``get_manageable_entry_or_404`` answers 404 for an entry the
principal's party does not keep); every change is one function of ``portal.directory.operations``.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.access import may_change, permission_required
from portal.directory import dashboard as _dashboard_panels  # noqa: F401  (registers the panel)
from portal.directory import export, operations, queries
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
from portal.directory.queries import SearchCriteria
from portal.directory.validation import (
    DirectoryError,
    entry_errors,
    language_name,
    split_list,
    validate_entry_data,
)
from portal.extensions import db
from portal.parties.models import Network, Party
from portal.principal import current_principal

bp = Blueprint("directory", __name__, url_prefix="/directory")

_TRUE = ("1", "y", "on", "true", "yes")


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
    return queries.phone_rule(current_principal(), entries)


def _page_number() -> int:
    return request.args.get("page", 1, type=int)


def _listing_context() -> dict:
    return {"role_labels": ROLE_LABELS, "is_stale": queries.is_stale, "language_name": language_name}


# --- reading ------------------------------------------------------------------------------------------

@bp.get("/")
@permission_required("view_directory")
def index():
    networks = queries.all_networks()
    form = SearchForm(request.args)
    form.set_choices(queries.active_parties(), networks)
    page = queries.read_directory_page(current_principal(), _criteria(), _page_number(),
                                       current_app.config["PAGE_SIZE"])
    return render_template("directory/index.html", form=form, page=page, networks=networks,
                           counts=queries.network_counts(), phones=_phone_rule(page.items),
                           rows=[(None, entry) for entry in page.items],
                           export_args={k: v for k, v in request.args.items() if k != "page"}, **_listing_context())


@bp.get("/networks/<int:network_id>")
@permission_required("view_directory")
def network(network_id):
    principal = current_principal()
    network = queries.get_network_or_404(principal, network_id)
    rows = queries.network_members(principal, network.id)
    page = queries.ListPage(rows, _page_number(), current_app.config["PAGE_SIZE"])
    context = {"network": network, "page": page, "phones": _phone_rule([entry for _m, entry in page.items])}
    if principal.can("manage_networks"):
        context.update(_participation_context(network))
    return render_template("directory/network.html", **context, **_listing_context())


def _participation_context(network: Network) -> dict:
    """What the network maintainers see on a network's page: direct participations and the add form."""
    pinned = queries.pinned_party_ids(network.id)
    taking_part = {party.id for party in network.parties}
    party_form = NetworkPartyForm(formdata=None)
    party_form.set_choices([p for p in queries.active_parties() if p.id not in taking_part or p.id not in pinned])
    return {"pinned": pinned, "party_form": party_form, "action_form": ActionForm(formdata=None),
            "fixed": {p.id for p in network.parties if queries.is_fixed_participant(network, p)}}


@bp.get("/entries/<int:entry_id>")
@permission_required("view_directory")
def entry(entry_id):
    entry = queries.get_entry_or_404(current_principal(), entry_id)
    return render_template("directory/entry.html", **_entry_context(entry))


def _entry_context(entry, membership_form=None) -> dict:
    principal = current_principal()
    context = {"entry": entry, "show_phones": _phone_rule([entry])[entry.id], "action_form": ActionForm(formdata=None),
               "can_manage": may_change(entry, "manage_party_directory", principal),
               "membership_form": None, **_listing_context()}
    if principal.can("manage_networks"):
        if membership_form is None:
            membership_form = MembershipForm(formdata=None)
        membership_form.set_choices([n for n in queries.all_networks() if n.id not in entry.network_ids])
        context["membership_form"] = membership_form
    return context


def _export(kind: str) -> Response:
    body, mimetype = export.read_export(current_principal(), _criteria(), kind)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=rcm-directory.{kind}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/export.csv")
@permission_required("view_directory")
def export_csv():
    return _export("csv")


@bp.post("/export.vcf")
@permission_required("view_directory")
def export_vcf():
    return _export("vcf")


# --- entries (country admins, own party) ------------------------------------------------------------------

def _entry_data(form: EntryForm, party: Party):
    """Validated data, or None after putting each error next to its field."""
    raw = {
        "full_name": form.full_name.data or "",
        "email": form.email.data or "",
        "title": form.title.data or "",
        "institution": form.institution.data or "",
        "phones": re.split(r"[\n,;]+", form.phones.data or ""),
        "languages": split_list(form.languages.data or ""),
        "time_zone": form.time_zone.data,
        "phones_restricted": form.phones_restricted.data,
    }
    errors = entry_errors(party, raw)
    if errors:
        for name, message in errors.items():
            field = getattr(form, name)
            field.errors = list(field.errors) + [str(message)]
        return None
    return validate_entry_data(party, **raw)


@bp.route("/entries/new", methods=["GET", "POST"])
@permission_required("manage_party_directory")
def new_entry():
    form = EntryForm()
    if form.validate_on_submit():
        principal = current_principal()
        data = _entry_data(form, db.session.get(Party, principal.party_id))
        if data is not None:
            entry = operations.create_entry(principal, data)
            flash(_("Directory entry created."), "success")
            return redirect(url_for("directory.entry", entry_id=entry.id))
    return render_template("directory/entry_form.html", form=form, entry=None), 400 if form.is_submitted() else 200


@bp.route("/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@permission_required("manage_party_directory")
def edit_entry(entry_id):
    entry = queries.get_manageable_entry_or_404(current_principal(), entry_id)
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
            operations.update_entry(current_principal(), entry, data)
            flash(_("Directory entry saved."), "success")
            return redirect(url_for("directory.entry", entry_id=entry.id))
    return render_template("directory/entry_form.html", form=form, entry=entry), 400


@bp.post("/entries/<int:entry_id>/verify")
@permission_required("manage_party_directory")
def verify_entry(entry_id):
    entry = queries.get_manageable_entry_or_404(current_principal(), entry_id)
    if ActionForm().validate_on_submit():
        operations.verify_entry(current_principal(), entry)
        flash(_("Entry marked as verified today."), "success")
    return redirect(url_for("directory.entry", entry_id=entry.id))


@bp.post("/entries/<int:entry_id>/deactivate")
@permission_required("manage_party_directory")
def deactivate_entry(entry_id):
    entry = queries.get_manageable_entry_or_404(current_principal(), entry_id)
    if ActionForm().validate_on_submit():
        operations.deactivate_entry(current_principal(), entry)
        flash(_("Entry deactivated: it no longer appears in the directories."), "success")
    return redirect(url_for("directory.entry", entry_id=entry.id))


# --- memberships and networks (secretariat) --------------------------------------------------------------

@bp.post("/entries/<int:entry_id>/memberships")
@permission_required("manage_networks")
def add_membership(entry_id):
    principal = current_principal()
    entry = queries.get_entry_or_404(principal, entry_id)
    form = MembershipForm()
    form.set_choices([n for n in queries.all_networks() if n.id not in entry.network_ids])
    if form.validate_on_submit():
        try:
            operations.add_membership(principal, entry, db.session.get(Network, form.network.data), form.role.data)
        except DirectoryError as error:
            getattr(form, error.field, form.network).errors.append(str(error.message))
        else:
            flash(_("Membership added."), "success")
            return redirect(url_for("directory.entry", entry_id=entry.id))
    return render_template("directory/entry.html", **_entry_context(entry, form)), 400


@bp.post("/memberships/<int:membership_id>/remove")
@permission_required("manage_networks")
def remove_membership(membership_id):
    membership = queries.get_membership_or_404(current_principal(), membership_id)
    entry_id = membership.entry_id
    if ActionForm().validate_on_submit():
        operations.remove_membership(current_principal(), membership)
        flash(_("Membership removed."), "success")
    return redirect(url_for("directory.entry", entry_id=entry_id))


@bp.route("/networks/new", methods=["GET", "POST"])
@permission_required("manage_networks")
def new_network():
    form = NetworkForm()
    if form.validate_on_submit():
        try:
            network = operations.create_network(current_principal(), code=form.code.data,
                                                 name_en=form.name_en.data, name_es=form.name_es.data)
        except DirectoryError as error:
            getattr(form, error.field).errors.append(str(error.message))
        else:
            flash(_("Network created."), "success")
            return redirect(url_for("directory.network", network_id=network.id))
    return render_template("directory/network_form.html", form=form, network=None), 400 if form.is_submitted() else 200


@bp.route("/networks/<int:network_id>/edit", methods=["GET", "POST"])
@permission_required("manage_networks")
def edit_network(network_id):
    network = queries.get_network_or_404(current_principal(), network_id)
    if request.method == "GET":
        form = RenameNetworkForm(formdata=None, data={"name_en": network.name_en, "name_es": network.name_es})
        return render_template("directory/network_form.html", form=form, network=network)
    form = RenameNetworkForm()
    if form.validate_on_submit():
        operations.rename_network(current_principal(), network, name_en=form.name_en.data, name_es=form.name_es.data)
        flash(_("Network saved."), "success")
        return redirect(url_for("directory.network", network_id=network.id))
    return render_template("directory/network_form.html", form=form, network=network), 400


@bp.post("/networks/<int:network_id>/parties")
@permission_required("manage_networks")
def add_network_party(network_id):
    network = queries.get_network_or_404(current_principal(), network_id)
    form = NetworkPartyForm()
    form.set_choices(queries.active_parties())
    if form.validate_on_submit():
        operations.add_party_to_network(current_principal(), network, db.session.get(Party, form.party.data))
        flash(_("Party added to the network."), "success")
        return redirect(url_for("directory.network", network_id=network.id))
    flash(_("Choose a party from the list."), "error")
    return redirect(url_for("directory.network", network_id=network.id)), 303


@bp.post("/networks/<int:network_id>/parties/<int:party_id>/remove")
@permission_required("manage_networks")
def remove_network_party(network_id, party_id):
    network = queries.get_network_or_404(current_principal(), network_id)
    party = queries.get_party_or_404(party_id)
    if ActionForm().validate_on_submit():
        try:
            operations.remove_party_from_network(current_principal(), network, party)
        except DirectoryError as error:
            flash(str(error.message), "error")
            return redirect(url_for("directory.network", network_id=network.id)), 303
        flash(_("Party removed from the network."), "success")
    return redirect(url_for("directory.network", network_id=network.id))
