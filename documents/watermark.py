"""Visible watermarks on images of AMBER, AMBER+STRICT and RED records.

The viewer's party code, name and the UTC date are drawn across the image in repeated, rotated,
semi-transparent lines, so that a screenshot or a leaked copy names who took it out. The stored file is
never changed: the mark is drawn on the way out, for each viewer, a strip of rows at a time (one rotated
copy of the line pasted where it falls), so a download holds the image once, not a rotated layer larger
than the image beside an RGBA copy of it (which took a worker past 2 GB for a 40-megapixel image).
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFont

from portal.timeutil import utcnow

WATERMARKED_TLP = frozenset({"AMBER", "AMBER+STRICT", "RED"})
_FORMATS = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF"}


def needs_watermark(tlp: str, kind: str) -> bool:
    return tlp in WATERMARKED_TLP and kind in _FORMATS


def watermark_text(party_code: str, name: str) -> str:
    return f"{party_code} · {name} · {utcnow():%Y-%m-%d} UTC"


class WatermarkTooLarge(ValueError):
    """A stored image too large to be watermarked within the memory a download may take (only a file
    stored under larger limits than today's can be: every upload is held to the decode budget)."""


# Rows of pixels marked at a time: the mark is composited strip by strip, so besides the decoded image
# a download holds one strip in RGBA (20,000 px wide: 20 MB), never a second copy of the whole image.
STRIP_ROWS = 256
ANGLE = 30  # degrees, counter-clockwise
MAX_FONT_SIZE = 120


def apply_watermark(data: bytes, kind: str, text: str, *, max_decode_bytes: int = 40 * 1024 * 1024) -> memoryview:
    """The image re-encoded in its own format with ``text`` drawn over it in repeated, rotated lines (the
    input is already checked), as a view of the encoder's buffer (no copy of it is made). Memory: the
    file, its decoded pixels (at most ``max_decode_bytes``, the upload's decode budget, or
    ``WatermarkTooLarge``), one strip and the re-encoded file (``bench/upload_memory.py``)."""
    with Image.open(io.BytesIO(data), formats=[_FORMATS[kind]]) as image:
        width, height = image.size
        if width * height * _PIXEL_BYTES.get(image.mode, 4) > max_decode_bytes:
            raise WatermarkTooLarge(f"{width}x{height} {image.mode}")
        image.load()
        # marked in place (closing the file would free the pixels, hence everything inside ``with``)
        canvas = image if image.mode in _MARKABLE_MODES else image.convert(_markable_mode(image.mode))
        _mark(canvas, text)
        out = io.BytesIO()
        if kind == "jpeg":
            (canvas if canvas.mode in ("L", "RGB", "CMYK") else canvas.convert("RGB")).save(out, "JPEG", quality=90)
        elif kind == "png":
            canvas.save(out, "PNG")
        else:
            canvas.save(out, "TIFF", compression="tiff_deflate")
    return out.getbuffer()


def _mark(canvas: Image.Image, text: str) -> None:
    """Composite the rotated lines of ``text`` onto ``canvas``, ``STRIP_ROWS`` rows at a time."""
    width, height = canvas.size
    stamp, spacing, row_step = _stamp(text, min(width, height))
    for top in range(0, height, STRIP_ROWS):
        box = (0, top, width, min(top + STRIP_ROWS, height))
        strip = canvas.crop(box).convert("RGBA")
        for x, y in _stamp_positions(box, stamp.size, spacing, row_step):
            _composite(strip, stamp, x, y - top)
        canvas.paste(strip if canvas.mode == "RGBA" else strip.convert(canvas.mode), box)


# Modes the strips are pasted back into as they are; any other is marked in the nearest of them.
_MARKABLE_MODES = frozenset({"L", "LA", "RGB", "RGBA", "CMYK"})
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2, "LA": 2}


def _markable_mode(mode: str) -> str:
    if mode in ("PA",) or mode.endswith("A"):
        return "RGBA"
    return "L" if mode in ("1", "I", "F") or mode.startswith("I;") else "RGB"


def _stamp(text: str, short_side: int) -> tuple[Image.Image, int, int]:
    """One rotated copy of the line of text, the distance between copies along a line, and between lines."""
    # At most MAX_FONT_SIZE: the rotated copy of one line grows with the square of the font size (at a
    # 40-megapixel image's 351 px it alone took 136 MB); a larger image gets more lines instead.
    font = ImageFont.load_default(size=min(MAX_FONT_SIZE, max(10, short_side // 18)))
    left, top, right, bottom = font.getbbox(text)
    line_width, line_height = right - left + 40, bottom - top + 10
    tile = Image.new("RGBA", (line_width, line_height), (0, 0, 0, 0))
    # a light fill with a dark outline stays legible on dark and light specimens alike
    ImageDraw.Draw(tile).text((20 - left, 5 - top), text, font=font, fill=(255, 255, 255, 120), stroke_width=1,
                              stroke_fill=(0, 0, 0, 120))
    return tile.rotate(ANGLE, resample=Image.Resampling.BICUBIC, expand=True), line_width, line_height * 3


def _stamp_positions(box, stamp_size, spacing: int, row_step: int):
    """Top-left corners of the stamps that touch ``box``: their centres lie on lines rising at ``ANGLE``,
    ``row_step`` apart, ``spacing`` apart along each line, every other line shifted by half a step."""
    theta = math.radians(ANGLE)
    along, across = (math.cos(theta), -math.sin(theta)), (math.sin(theta), math.cos(theta))
    reach = math.hypot(*stamp_size) / 2
    corners = [(box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])]
    a_values = [x * along[0] + y * along[1] for x, y in corners]
    b_values = [x * across[0] + y * across[1] for x, y in corners]
    for row in range(math.floor((min(b_values) - reach) / row_step), math.ceil((max(b_values) + reach) / row_step) + 1):
        offset = (row % 2) * spacing / 2
        first = math.floor((min(a_values) - reach - offset) / spacing)
        last = math.ceil((max(a_values) + reach - offset) / spacing)
        for column in range(first, last + 1):
            a, b = column * spacing + offset, row * row_step
            centre_x, centre_y = a * along[0] + b * across[0], a * along[1] + b * across[1]
            yield round(centre_x - stamp_size[0] / 2), round(centre_y - stamp_size[1] / 2)


def _composite(strip: Image.Image, stamp: Image.Image, x: int, y: int) -> None:
    """``stamp`` composited onto ``strip`` with its top-left corner at (x, y), clipped to the strip."""
    left, top = max(0, -x), max(0, -y)
    right, bottom = min(stamp.width, strip.width - x), min(stamp.height, strip.height - y)
    if left < right and top < bottom:
        strip.alpha_composite(stamp, dest=(x + left, y + top), source=(left, top, right, bottom))


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
