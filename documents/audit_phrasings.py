"""How the audit viewer phrases the audited actions of the library and the file service, and names their records
(``portal.audit.phrasing``): imported by ``create_app`` (``AUDIT_PHRASINGS``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.phrasing import register_action_phrasings, register_object_kind

register_action_phrasings({
    "document.create": (_l("added %(object)s to the library"), _l("add %(object)s to the library")),
    "document.download": (_l("downloaded %(object)s"), _l("download %(object)s")),
    "document.upload": (_l("uploaded a file to %(object)s"), _l("upload a file to %(object)s")),
    "document.view": (_l("opened %(object)s"), _l("open %(object)s")),
    "library.list": (_l("browsed the library"), _l("browse the library")),
    "blobs.gc": (_l("removed stored files no record uses"), _l("remove stored files no record uses")),
})
register_object_kind("library_document", _l("library document %(ref)s"), "documents.document", "document_id")
