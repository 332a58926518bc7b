"""No upload, and no watermarked download of what an upload stored, makes a worker grow by more than 200 MB
(issue 11, section 4). Measured for real: the peak resident size of a new process (``bench/upload_memory.py``),
and the bounds a download holds to whatever the store holds.
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageChops

from bench.upload_memory import BUDGET_MB, measure, png
from documents.watermark import MAX_FONT_SIZE, STRIP_ROWS, apply_watermark
from tests.alerts.factories import audit_entries, mark_audit_start
from tests.documents.factories import make_document, png_bytes

pytestmark = pytest.mark.skipif(not __import__("os").path.exists("/proc/self/clear_refs"),
                                reason="the peak resident size is read from /proc (Linux)")


@pytest.mark.parametrize(("label", "make", "accepted"), [
    ("6300x6300 RGBA, 150 KB (the issue's file)", lambda: png(6300, 6300), False),
    ("6324x6324 grey noise: the pixel limit and the decode budget at once", lambda: png(6324, 6324, "L", noise=True),
     True),
    ("3200x3200 RGBA: the decode budget in colour", lambda: png(3200, 3200), True),
])
def test_the_largest_images_stay_within_the_budget(label, make, accepted):
    outcome, upload, download = measure(make())
    assert (outcome == "accepted") is accepted, outcome
    assert upload < BUDGET_MB and download < BUDGET_MB, (upload, download)
    if accepted:
        assert download > 1  # the download was measured (it decodes the image)


def test_the_mark_is_drawn_strip_by_strip_without_seams():
    """Lines continue across the strips' edges: every row band is marked, the mark is the same wherever a
    strip starts (a 3-strip image equals the same image marked in one go, cut the same way)."""
    source = png_bytes(size=(700, 3 * STRIP_ROWS + 17), color=(30, 60, 90))
    marked = Image.open(io.BytesIO(apply_watermark(source, "png", "GTM · Ana · 2026-12-02 UTC"))).convert("RGB")
    original = Image.open(io.BytesIO(source)).convert("RGB")
    for top in range(0, marked.height, STRIP_ROWS // 2):
        band = (0, top, marked.width, min(top + STRIP_ROWS // 2, marked.height))
        assert ImageChops.difference(marked.crop(band), original.crop(band)).getbbox() is not None, band
    big = png(8000, 300, "RGB")
    assert Image.open(io.BytesIO(apply_watermark(big, "png", "x"))).size == (8000, 300)
    assert MAX_FONT_SIZE <= 120


@pytest.mark.parametrize("limit", ["UPLOAD_MAX_DECODE_BYTES", "UPLOAD_MAX_BYTES"])
def test_an_image_beyond_todays_limits_is_never_sent_unmarked(app, client, make_user, login_as, monkeypatch, limit):
    """A file stored under larger limits than today's: the download is refused (409), never sent without
    the viewer's mark, and nothing is read past the limit."""
    owner = make_user(role="liaison_officer", party_code="GTM")
    doc = make_document(owner, png_bytes(size=(400, 300)), "specimen.png", tlp="AMBER", level="members")
    monkeypatch.setitem(app.config, limit, 100)
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    mark_audit_start()
    response = client.get(f"/library/documents/{doc.id}/versions/1/download")
    assert response.status_code == 409
    assert b"too large to be watermarked" in response.data and not response.data.startswith(b"\x89PNG")
    assert audit_entries("document.download") == []
    monkeypatch.setitem(app.config, limit, 40 * 1024 * 1024)
    served = client.get(f"/library/documents/{doc.id}/versions/1/download")
    assert served.status_code == 200 and served.data.startswith(b"\x89PNG")
    assert json.loads(audit_entries("document.download")[0].details)["watermarked"] is True
