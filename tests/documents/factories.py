"""Test files (images, PDFs, hostile content), attachments and library documents made through the real
operations, and the checks that an upload left nothing behind."""

from __future__ import annotations

import io
import os
import re
import tempfile

from PIL import Image
from sqlalchemy import func, select

from alerts import attachments
from alerts.attachments import Attachment
from documents import operations
from documents.files import StoredBlobs, store_upload
from documents.models import Document, DocumentVersion
from documents.uploads import ATTACHMENT_KINDS, LIBRARY_KINDS
from portal.extensions import db
from portal.principal import Principal
from tests.alerts.factories import report
from tests.blobs import blob_files  # noqa: F401  (re-exported for the upload tests)


def png_bytes(size=(80, 60), color=(40, 120, 200), text_chunk: str | None = None) -> bytes:
    """A PNG with a gradient (so a watermark changes pixels), optionally with a tEXt metadata chunk."""
    from PIL import PngImagePlugin

    image = Image.new("RGB", size, color)
    for x in range(size[0]):
        image.putpixel((x, size[1] // 2), (x % 256, 0, 0))
    info = None
    if text_chunk:
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", text_chunk)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_gps(size=(64, 48)) -> bytes:
    image = Image.new("RGB", size, (200, 180, 90))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Maker"  # Make
    exif[0x8825] = {1: "N", 2: (14.0, 37.0, 0.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def pdf_bytes(text: str = "Specimen report", extra_objects: str = "", padding: int = 0) -> bytes:
    """A small valid PDF whose page content holds ``text`` in clear (PDFs are stored as uploaded).

    It has a correct cross-reference table: the checks refuse a PDF that qpdf could only open by
    repairing it.
    """
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
    body = (
        "%PDF-1.4\n"
        "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj\n"
        f"4 0 obj << /Length {len(stream)} >>\nstream\n{stream}\nendstream\nendobj\n"
        f"{extra_objects}"
        + ("%" + " " * padding + "\n" if padding else "")
    )
    offsets = {int(match.group(1)): match.start(1) for match in re.finditer(r"(?m)^(\d+) 0 obj", body)}
    size = max(offsets) + 1
    xref = f"xref\n0 {size}\n0000000000 65535 f \n" + "".join(
        f"{offsets[number]:010d} 00000 n \n" if number in offsets else "0000000000 65535 f \n"
        for number in range(1, size)
    )
    trailer = f"trailer << /Size {size} /Root 1 0 R >>\nstartxref\n{len(body)}\n%%EOF\n"
    return (body + xref + trailer).encode("latin-1")


PDF_WITH_JAVASCRIPT = pdf_bytes(extra_objects="5 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj\n")
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 4


def principal(user) -> Principal:
    return Principal.for_user(user)


def gtm_alert(user, **overrides):
    """A published alert reported by ``user`` (GREEN, members-wide unless overridden), committed."""
    alert = report(user, **overrides)
    db.session.commit()
    return alert


def make_attachment(user, alert, data: bytes | None = None, filename: str = "front.png", **fields) -> Attachment:
    """An attachment stored through the real operations (encrypted blob, thumbnail), committed."""
    blobs = StoredBlobs()
    upload = store_upload([data or png_bytes()], filename, allowed=ATTACHMENT_KINDS, blobs=blobs)
    fields.setdefault("side", "front")
    fields.setdefault("light", "visible")
    attachment = attachments.create_attachment(principal(user), alert, upload, **fields)
    db.session.commit()
    return attachment


def make_document(user, data: bytes | None = None, filename: str = "manual.pdf", *, tlp="GREEN", level="members",
                  folder_code="fraud-detection-manual", **fields) -> Document:
    from documents.models import Folder

    folder = db.session.scalar(select(Folder).where(Folder.code == folder_code))
    blobs = StoredBlobs()
    upload = store_upload([data or pdf_bytes()], filename, allowed=LIBRARY_KINDS, blobs=blobs)
    fields.setdefault("title", "Manual on detecting fraudulent documents, 2026 edition")
    fields.setdefault("description", "Chapters on laminates and UV features.")
    document = operations.create_document(principal(user), upload, folder_id=folder.id, tlp=tlp, level=level, **fields)
    db.session.commit()
    return document


def file_rows() -> int:
    return sum(db.session.scalar(select(func.count()).select_from(model)) for model in (Attachment, DocumentVersion))


class PrivateTempDir:
    """Points ``tempfile`` (and so Werkzeug's spooling) at an empty folder, to see whether anything lands."""

    def __init__(self, monkeypatch, tmp_path):
        self.path = tmp_path / "tmp"
        self.path.mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(self.path))

    def files(self) -> list[str]:
        return sorted(os.listdir(self.path))


def multipart(fields: dict | list, files=()) -> tuple[bytes, str]:
    """A multipart/form-data body built in memory, parts in the order given: (body, content type).

    The test client's own encoder spools bodies over 500 KB to a temporary file it never closes.
    """
    boundary = "----rcm-test-boundary-7d1f"
    items = list(fields.items()) if isinstance(fields, dict) else list(fields)
    out = io.BytesIO()
    for name, value in items:
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode())
        out.write(str(value).encode() + b"\r\n")
    for name, filename, data in files:
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                  "Content-Type: application/octet-stream\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def post_multipart(client, url: str, fields, files=(), headers=None):
    body, content_type = multipart(fields, files)
    return client.post(url, data=body, content_type=content_type, headers=headers or {})
