"""Pages of the document library, and the streamed downloads of its versions.

Every read goes through ``visible(Document)``; invisible and nonexistent answer 404. Uploads and downloads
go through ``documents.transfer`` (the body read off the stream, never ``request.form``; see there why).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.access import (
    DistributionError,
    Marking,
    get_changeable_or_404,
    owns,
    permission_required,
)
from portal.distribution import networks, recipient_parties
from portal.extensions import csrf
from portal.principal import current_principal

from . import operations, transfer
from .files import record_refusal
from .forms import DocumentForm, VersionForm
from .models import Document
from .uploads import LIBRARY_KINDS

bp = Blueprint("documents", __name__)


def _lang() -> str:
    return str(get_locale() or "en")[:2]


def _document_form(formdata=None, **kwargs) -> DocumentForm:
    from portal.plan.data import get_objective, objective_codes

    form = DocumentForm(formdata=formdata, **kwargs)
    form.set_choices(recipient_parties(current_principal().party_id), networks())
    form.folder.choices = [(folder.id, folder.name(_lang())) for folder in operations.folders()]
    form.objectives.choices = [(code, f"{code} · {get_objective(code).title(_lang())}") for code in objective_codes()]
    return form


_LIBRARY_FIELDS = {"folder": "folder", "title": "title", "tags": "tags", "objectives": "objectives", "note": "note",
                   "tlp": "tlp", "distribution": "distribution", "parties": "parties", "network": "network"}


def _apply_library_error(form, field: str, message: str) -> None:
    target = getattr(form, _LIBRARY_FIELDS.get(field, ""), None) or form.file
    target.errors = [*target.errors, message]


@bp.get("/library/")
@permission_required("view_library")
def library():
    """The documents the principal sees, by folder and tag."""
    folder_id = request.args.get("folder", type=int)
    tag = (request.args.get("tag") or "").strip()
    documents, counts = operations.read_library(current_principal(), folder_id, tag)
    return render_template("documents/library.html", folders=operations.folders(), documents=documents,
                           counts=counts, folder_id=folder_id, tag=tag, lang=_lang())


@bp.route("/library/documents/new", methods=["GET", "POST"])
@permission_required("manage_library")
def new_document():
    """The form for a new document with its first version, and the upload."""
    return transfer.upload_page(
        lambda fields: _document_form(fields, folder=request.args.get("folder", type=int)),
        _render_document_form, allowed=LIBRARY_KINDS,
        record_refusal=lambda refusal: record_refusal(refusal, target="library_document",
                                                      object_type="library_document"),
        save=_create_document)


def _create_document(received: transfer.ReceivedForm):
    form = received.form
    try:
        document = operations.create_document(
            current_principal(), received.upload, folder_id=form.folder.data, title=form.title.data,
            description=form.description.data, tlp=form.tlp.data, level=form.distribution.data,
            party_ids=form.parties.data, network_id=form.network.data, tags=form.tags.data,
            objectives=form.objectives.data, note=form.note.data)
    except (operations.LibraryError, DistributionError) as error:
        _apply_library_error(form, error.field, _("This value is not valid."))
        received.blobs.discard()
        return _render_document_form(form, 400)
    flash(_("Document added to the library."), "success")
    return redirect(url_for("documents.document", document_id=document.id))


def _render_document_form(form, status=200):
    return render_template("documents/new_document.html", form=form), status


@bp.get("/library/documents/<int:document_id>")
@permission_required("view_library")
def document(document_id: int):
    """A document's page with its versions (the read is audited)."""
    principal = current_principal()
    doc = operations.read_document(principal, document_id)
    from portal.plan.data import get_objective

    objectives = [(code, get_objective(code)) for code in doc.objectives]
    return render_template("documents/document.html", doc=doc, versions=operations.versions_seen_by(principal, doc),
                           objectives=objectives, lang=_lang(),
                           is_owner=owns(doc))


def _own_document_or_404(document_id: int) -> Document:
    """A library document of the viewer's party; another party's answers 404 (audited as an upload denied)."""
    return get_changeable_or_404(Document, document_id, action="document.upload", object_type="library_document",
                                 details={"target": "library_version"})


@bp.route("/library/documents/<int:document_id>/versions/new", methods=["GET", "POST"])
@permission_required("manage_library")
def new_version(document_id: int):
    """The form for a new version (the owning party only), and the upload."""
    doc = _own_document_or_404(document_id)
    return transfer.upload_page(
        lambda fields: _version_form(doc, fields),
        lambda form, status: _render_version_form(doc, form, status),
        allowed=LIBRARY_KINDS,
        record_refusal=lambda refusal: record_refusal(
            refusal, target="library_version", object_type="library_document", object_id=doc.id,
            object_party=doc.owner_party.code),
        save=lambda received: _add_version(doc, received))


def _version_form(doc: Document, formdata=None) -> VersionForm:
    """The new-version form, its marking fields set to the document's current marking."""
    marking = operations.current_marking(doc)
    form = VersionForm(formdata=formdata, tlp=marking.tlp, distribution=marking.level,
                       parties=list(marking.party_ids), network=marking.network_id)
    form.set_choices(recipient_parties(doc.owner_party_id), networks())
    return form


def _add_version(doc: Document, received: transfer.ReceivedForm):
    form = received.form
    marking = Marking(form.distribution.data, form.tlp.data, tuple(form.parties.data or ()), form.network.data)
    try:
        operations.add_version(current_principal(), doc, received.upload, note=form.note.data, marking=marking)
    except operations.LibraryError as error:
        wider = isinstance(error, operations.WiderReshareRefused)
        _apply_library_error(form, error.field, error.message if wider else _("This value is not valid."))
        received.blobs.discard()
        return _render_version_form(doc, form, 400)
    flash(_("New version uploaded."), "success")
    return redirect(url_for("documents.document", document_id=doc.id))


def _render_version_form(doc, form, status=200):
    return render_template("documents/new_version.html", doc=doc, form=form), status


@bp.get("/library/documents/<int:document_id>/versions/<int:number>/download")
@permission_required("view_library")
def download_version(document_id: int, number: int):
    """One version's file, watermarked when the document's TLP asks (the download is audited)."""
    principal = current_principal()
    doc, version = operations.version_to_download(principal, document_id, number)
    return transfer.send_file(version, tlp=doc.tlp, principal=principal, record_view=lambda watermarked: (
        operations.record_download(principal, doc, version, watermarked)))


# Upload routes read the body themselves and check the CSRF token when its part arrives; Flask-WTF's
# global check would read request.form first, which spools the file to a temporary file in clear.
for _view in (new_document, new_version):
    csrf.exempt(_view)
