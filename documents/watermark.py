"""Visible watermarks on images of AMBER, AMBER+STRICT and RED records.

The viewer's party code, name and the UTC date are drawn across the image in repeated, rotated,
semi-transparent lines, so that a screenshot or a leaked copy names who took it out. The stored file is
never changed: the mark is drawn on the way out, for each viewer.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from portal.timeutil import utcnow

WATERMARKED_TLP = frozenset({"AMBER", "AMBER+STRICT", "RED"})
_FORMATS = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF"}


def needs_watermark(tlp: str, kind: str) -> bool:
    return tlp in WATERMARKED_TLP and kind in _FORMATS


def watermark_text(party_code: str, name: str) -> str:
    return f"{party_code} · {name} · {utcnow():%Y-%m-%d} UTC"


def apply_watermark(data: bytes, kind: str, text: str) -> bytes:
    """The image re-encoded in its own format with ``text`` drawn over it (the input is already checked)."""
    with Image.open(io.BytesIO(data), formats=[_FORMATS[kind]]) as image:
        image.load()
        base = image.convert("RGBA")
    width, height = base.size
    font = ImageFont.load_default(size=max(10, min(width, height) // 18))
    left, top, right, bottom = font.getbbox(text)
    line_width, line_height = right - left + 40, bottom - top + 10
    # Draw on a larger transparent layer, rotate it, and crop the middle: the lines cover every corner.
    diagonal = int((width**2 + height**2) ** 0.5) + line_width
    layer = Image.new("RGBA", (diagonal, diagonal), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    step_y = line_height * 3
    for row, y in enumerate(range(0, diagonal, step_y)):
        offset = (row % 2) * (line_width // 2)
        for x in range(-line_width + offset, diagonal, line_width):
            # a light fill with a dark outline stays legible on dark and light specimens alike
            draw.text((x, y), text, font=font, fill=(255, 255, 255, 120), stroke_width=1, stroke_fill=(0, 0, 0, 120))
    layer = layer.rotate(30, resample=Image.Resampling.BICUBIC)
    x0, y0 = (diagonal - width) // 2, (diagonal - height) // 2
    marked = Image.alpha_composite(base, layer.crop((x0, y0, x0 + width, y0 + height)))
    out = io.BytesIO()
    if kind == "jpeg":
        marked.convert("RGB").save(out, "JPEG", quality=90)
    elif kind == "png":
        marked.save(out, "PNG")
    else:
        marked.convert("RGB").save(out, "TIFF", compression="tiff_deflate")
    return out.getvalue()


def make_thumbnail(data: bytes, kind: str, max_side: int = 320) -> bytes:
    """A small JPEG of the (already cleaned) image, for lists and the alert page."""
    with Image.open(io.BytesIO(data), formats=[_FORMATS[kind]]) as image:
        # Reduce first, convert the small result: one decoded copy of the image at most (the upload
        # memory budget of documents/uploads.py counts on it).
        image.thumbnail((max_side, max_side))
        thumb = image.convert("RGB")
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()
