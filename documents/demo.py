"""Demo library documents for ``flask demo``: two short PDFs drawn with fpdf2, in the seeded folders."""

from __future__ import annotations

from fpdf import FPDF
from sqlalchemy import select

from documents.files import StoredBlobs, store_upload
from documents.models import Folder
from documents.operations import create_document
from documents.uploads import LIBRARY_KINDS
from portal.cli_support import register_demo_content
from portal.extensions import db
from portal.principal import Principal

DOCUMENTS = (
    ("fraud-detection-manual", "Checking UV features at the counter",
     "A one-page reminder of what genuine passports show under UV light (demo).", ("MPM-2",)),
    ("legislation-matrix", "Visa requirements matrix, 2026 (demo)",
     "Which member countries require a visa of which nationals: a made-up table for the demo.", ("MPM-1",)),
)


def _pdf(title: str, text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 11)
    pdf.multi_cell(0, 6, text + " This document was generated for the demo portal.")
    return bytes(pdf.output())


def fill(accounts) -> str:
    principal = Principal.for_user(accounts[("GTM", "liaison")])
    folders = {folder.code: folder for folder in db.session.scalars(select(Folder))}
    for code, title, description, objectives in DOCUMENTS:
        upload = store_upload([_pdf(title, description)], f"{code}.pdf", allowed=LIBRARY_KINDS, blobs=StoredBlobs())
        create_document(principal, upload, folder_id=folders[code].id, title=title, description=description,
                        tlp="GREEN", level="members", objectives=objectives)
    return f"{len(DOCUMENTS)} library documents"


register_demo_content("documents", fill, order=40)
