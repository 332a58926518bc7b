"""Upload checks: the type comes from the content, dangerous content is refused, metadata is stripped.

``inspect_upload(chunks, filename, allowed=..., limits=...)`` reads just enough to recognise the file
(magic bytes), checks the name's extension agrees, and returns a ``CheckedUpload`` whose ``chunks``
iterator yields the bytes to store. Refusals are ``UploadRefused(code, message)``; they can come from
``inspect_upload`` itself or later, while ``chunks`` is consumed (a size limit or a PDF action found
half-way), so callers feed ``chunks`` straight into ``service.encrypt_to_store`` and treat an
``UploadRefused`` from either place the same way (nothing is stored in either case).

Memory and streaming, per type:

- CSV is checked while it streams (constant memory: one line at a time).
- PDF, XLSX and DOCX are held in memory (bounded by the size limit) and judged whole by real parsers,
  ``pdf_check`` (qpdf, through pikepdf) and ``office_check`` (zipfile and defusedxml), which say what they
  refuse and why; a PDF is released only once the whole file has passed. A temporary file would put
  plaintext on disk.
- JPEG, PNG and TIFF are decoded in memory to be re-encoded without their metadata; before any pixel is
  decoded, the headers are checked against ``max_image_pixels`` and ``max_decode_bytes`` (the memory the
  decoded pixels take), which keeps the growth of a worker under 200 MB (``bench/upload_memory.py``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from struct import error as struct_error

from flask_babel import lazy_gettext as _l

from .office_check import check_office
from .pdf_check import check_pdf
from .upload_rules import MB, UploadLimits, UploadRefused, limits_from_config

__all__ = [
    "ATTACHMENT_KINDS",
    "IMAGE_KINDS",
    "KINDS",
    "LIBRARY_KINDS",
    "MB",
    "CheckedUpload",
    "FileKind",
    "UploadLimits",
    "UploadRefused",
    "inspect_upload",
    "iter_file_chunks",
    "limits_from_config",
    "sanitize_display_name",
]

@dataclass(frozen=True)
class FileKind:
    code: str
    mime_type: str
    extensions: tuple[str, ...]  # the first is canonical


KINDS = {
    kind.code: kind
    for kind in (
        FileKind("jpeg", "image/jpeg", (".jpg", ".jpeg", ".jpe")),
        FileKind("png", "image/png", (".png",)),
        FileKind("tiff", "image/tiff", (".tif", ".tiff")),
        FileKind("pdf", "application/pdf", (".pdf",)),
        FileKind("csv", "text/csv", (".csv",)),
        FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
        FileKind(
            "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)
        ),
    )
}
IMAGE_KINDS = frozenset({"jpeg", "png", "tiff"})
ATTACHMENT_KINDS = frozenset({"jpeg", "png", "tiff", "pdf"})
LIBRARY_KINDS = frozenset(KINDS)


@dataclass
class CheckedUpload:
    kind: FileKind
    display_name: str
    chunks: Iterator[bytes]

    @property
    def mime_type(self) -> str:
        return self.kind.mime_type


def iter_file_chunks(stream, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """Chunks read from a binary stream (``request.stream``, a form part), for ``inspect_upload``."""
    while chunk := stream.read(chunk_size):
        yield chunk


# --------------------------------------------------------------------------- names

_UNSAFE_NAME_CHARS = set('"<>:*?|')


def sanitize_display_name(filename: str | None, max_length: int = 150) -> str:
    """A display name: no folders, no control or format characters (bidi overrides), bounded length.

    Letters of every script are kept. The result is for display and Content-Disposition only; storage
    never uses it.
    """
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if char in "\t\n\r\v\f":
            kept.append(" ")
            continue
        if category[0] == "C" or char in _UNSAFE_NAME_CHARS:  # Cc, Cf (U+202E...), Cs, Co, Cn
            continue
        kept.append(" " if category[0] == "Z" else char)
    name = re.sub(r" {2,}", " ", "".join(kept)).strip(" .")
    if len(name) > max_length:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: max_length - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:max_length].rstrip(" .")
    return name


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and stem else ""


# --------------------------------------------------------------------------- sniffing

_HEAD_SIZE = 8192


def _limited(chunks: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise UploadRefused(
                "too_large",
                _l("The file is larger than the limit of %(size)s MB.", size=_format_mb(max_bytes)),
            )
        if chunk:
            yield bytes(chunk)


def _format_mb(size: int) -> str:
    return f"{size / MB:g}"


def _read_head(source: Iterator[bytes]) -> bytes:
    parts, total = [], 0
    for chunk in source:
        parts.append(chunk)
        total += len(chunk)
        if total >= _HEAD_SIZE:
            break
    return b"".join(parts)


def _looks_like_text(head: bytes) -> str | None:
    """The head decoded as UTF-8 if it is text (an incomplete final character allowed), else None."""
    if b"\x00" in head:
        return None
    try:
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n\f" for c in text):
        return None
    return text


_EXECUTABLE_MAGIC = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O fat binary / Java class
    b"\x00asm",  # WebAssembly
)


def _refuse_executable():
    raise UploadRefused("executable", _l("Programs and scripts cannot be uploaded."))


def sniff(head: bytes) -> str:
    """The kind code of the content, or an ``UploadRefused`` naming why it is not acceptable."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if (head.startswith(_EXECUTABLE_MAGIC) and _looks_like_text(head) is None) or head.lstrip(
        b"\xef\xbb\xbf"
    ).startswith(b"#!"):
        _refuse_executable()
    text = _looks_like_text(head)
    if text is not None:
        start = text.lstrip("\ufeff \t\r\n").lower()
        if start.startswith("<"):
            if "<svg" in start:
                raise UploadRefused("svg", _l("SVG images cannot be uploaded; use PNG or JPEG instead."))
            if "<html" in start or "<!doctype html" in start or "<script" in start or "<body" in start:
                raise UploadRefused("html", _l("Web pages (HTML) cannot be uploaded."))
            raise UploadRefused("unsupported_type", _unsupported_message())
        return "csv"
    raise UploadRefused("unsupported_type", _unsupported_message())


def _unsupported_message():
    return _l("This type of file is not accepted. Accepted: JPEG, PNG, TIFF, PDF, CSV, XLSX and DOCX.")


# --------------------------------------------------------------------------- entry point


def inspect_upload(
    chunks: Iterable[bytes],
    filename: str | None,
    *,
    allowed: Iterable[str] = LIBRARY_KINDS,
    limits: UploadLimits | None = None,
) -> CheckedUpload:
    """Recognise and check an upload; see the module docstring for what is read when."""
    limits = limits or UploadLimits()
    allowed = frozenset(allowed)
    source = _limited(chunks, limits.max_bytes)
    head = _read_head(source)
    if not head:
        raise UploadRefused("empty", _l("The file is empty."))
    display_name = sanitize_display_name(filename, limits.max_name_length)
    try:
        code = sniff(head)
    except UploadRefused as refusal:
        if refusal.code == "unsupported_type" and _extension(display_name) == ".csv":
            raise _csv_invalid() from None
        raise
    if code == "zip":
        data = head + b"".join(source)
        code = check_office(data, limits)
        kind = KINDS[code]
        body: Iterator[bytes] = _slices(data)
    else:
        kind = KINDS[code]
        body = None
    _check_name(display_name, kind)
    if code not in allowed:
        raise UploadRefused(
            "not_allowed_here",
            _l("%(kind)s files cannot be attached here.", kind=kind.extensions[0][1:].upper()),
        )
    if code in IMAGE_KINDS:
        body = _slices(clean_image(head + b"".join(source), code, limits))
    elif code == "pdf":
        body = _checked_pdf(head, source, limits)
    elif code == "csv":
        body = _csv_chunks(head, source, limits)
    if _extension(display_name) == "":
        display_name = (display_name or "document") + kind.extensions[0]
    return CheckedUpload(kind=kind, display_name=display_name, chunks=body)


def _check_name(display_name: str, kind: FileKind) -> None:
    extension = _extension(display_name)
    if extension and extension not in kind.extensions:
        raise UploadRefused(
            "extension_mismatch",
            _l(
                "The file name ends in %(extension)s but the file is a %(kind)s file. "
                "Rename it or upload the right file.",
                extension=extension,
                kind=kind.extensions[0][1:].upper(),
            ),
        )


def _slices(data: bytes, size: int = MB) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield bytes(view[start : start + size])


# --------------------------------------------------------------------------- images


def _image_invalid():
    return UploadRefused("image_invalid", _l("The image is damaged or not a valid image file."))


def _image_too_large(limits: UploadLimits):
    return UploadRefused(
        "image_too_large",
        _l(
            "The image is too large (at most %(pixels)s megapixels and %(side)s pixels on a side).",
            pixels=f"{limits.max_image_pixels / 1_000_000:g}",
            side=limits.max_image_dimension,
        ),
    )


def clean_image(data: bytes, code: str, limits: UploadLimits) -> bytes:
    """Verify an image with Pillow and re-encode its pixels, dropping EXIF, GPS, XMP, comments and ICC.

    An embedded colour profile is applied (converted to sRGB) before it is dropped, and the EXIF
    orientation is applied to the pixels, so the image looks the same without them. Resolution (DPI) is
    kept: it is needed to measure a specimen and says nothing about who made it.
    """
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
    expected = {"jpeg": ("JPEG", "MPO"), "png": ("PNG",), "tiff": ("TIFF",)}[code]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "TIFF"]) as probe:
                if probe.format not in expected:
                    raise _image_invalid()
                _check_dimensions(probe.size, limits)
                frames = getattr(probe, "n_frames", 1)
                if frames > limits.max_image_frames:
                    raise _image_too_large(limits)
                _check_decode_budget(probe, frames if code == "tiff" else 1, limits)
                probe.verify()
            with Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "TIFF"]) as image:
                if code != "tiff":
                    frames = 1
                cleaned = []
                for index in range(frames):
                    image.seek(index)
                    _check_dimensions(image.size, limits)
                    image.load()
                    cleaned.append(_clean_frame(image, ImageOps))
                dpi = _safe_dpi(image.info.get("dpi"))
                quantization = getattr(image, "quantization", None) if code == "jpeg" else None
                subsampling = -1
                if code == "jpeg":
                    from PIL import JpegImagePlugin

                    subsampling = JpegImagePlugin.get_sampling(image)
        except UploadRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _image_too_large(limits) from None
        except (OSError, ValueError, SyntaxError, EOFError, struct_error, MemoryError):
            raise _image_invalid() from None
    out = io.BytesIO()
    options = {"dpi": dpi} if dpi else {}
    if code == "jpeg":
        first = cleaned[0]
        if first.mode not in ("L", "RGB", "CMYK"):
            first = first.convert("RGB")
        if quantization and first.mode == image.mode:
            options["qtables"] = quantization
            if subsampling != -1:
                options["subsampling"] = subsampling
        else:
            options["quality"] = 95
        first.save(out, "JPEG", **options)
    elif code == "png":
        cleaned[0].save(out, "PNG", **options)
    else:
        cleaned[0].save(
            out,
            "TIFF",
            compression="tiff_lzw",
            save_all=len(cleaned) > 1,
            append_images=cleaned[1:],
            **options,
        )
    return out.getvalue()


def _check_dimensions(size: tuple[int, int], limits: UploadLimits) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise _image_invalid()
    if (
        width > limits.max_image_dimension
        or height > limits.max_image_dimension
        or width * height > limits.max_image_pixels
    ):
        raise _image_too_large(limits)


# Bytes a pixel takes once Pillow has decoded it: one for bilevel, grey and palette images, two for
# 16-bit grey, four for every other mode (RGB is held in four bytes, like RGBA). Palette images count
# four because the checks convert them to RGB(A).
_PIXEL_BYTES = {"1": 1, "L": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


def _decoded_bytes(image) -> int:
    width, height = image.size
    return width * height * _PIXEL_BYTES.get(image.mode, 4)


def _check_decode_budget(probe, frames: int, limits: UploadLimits) -> None:
    """Refuse, from the headers alone, an image whose decoded pixels (every frame) exceed the budget.

    The pixel limit alone lets a small file of many pixels through (6300 x 6300 RGBA is 159 MB decoded
    from a 154 KB PNG); the budget bounds what the checks and the thumbnail hold in memory.
    """
    total = 0
    for index in range(frames):
        if frames > 1:
            probe.seek(index)
            _check_dimensions(probe.size, limits)
        total += _decoded_bytes(probe)
    if frames > 1:
        probe.seek(0)
    if total > limits.max_decode_bytes:
        budget_pixels = limits.max_decode_bytes // 4
        raise UploadRefused(
            "image_too_large",
            _l(
                "The image is too large to be checked safely: decoded, it would take %(size)s MB of memory, "
                "more than the limit of %(limit)s MB. Reduce it (to about %(megapixels)s megapixels in "
                "colour) and upload it again.",
                size=f"{total / MB:.0f}",
                limit=f"{limits.max_decode_bytes / MB:.0f}",
                megapixels=f"{budget_pixels / 1_000_000:.0f}",
            ),
        )


def _safe_dpi(dpi) -> tuple[float, float] | None:
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError):
        return None
    if 0 < x <= 100_000 and 0 < y <= 100_000:
        return (x, y)
    return None


def _clean_frame(image, ImageOps):
    """A new image holding only the pixels of the current frame (no info dict, no EXIF, no ICC).

    At most one copy of the pixels is made besides the decoded frame: a transform (orientation, palette,
    colour profile) makes that copy, or else a plain ``copy()`` does (a plain ``Image``, which carries
    none of the file plugin's tags).
    """
    from PIL import ImageCms

    orientation = image.getexif().get(0x0112)
    frame = ImageOps.exif_transpose(image) if orientation not in (None, 1) else image
    icc = frame.info.get("icc_profile")
    if frame.mode in ("P", "PA"):
        has_alpha = frame.mode == "PA" or "transparency" in frame.info
        frame = frame.convert("RGBA" if has_alpha else "RGB")
    if icc and frame.mode in ("RGB", "CMYK"):
        try:
            frame = ImageCms.profileToProfile(
                frame,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            frame = frame.convert("RGB") if frame.mode == "CMYK" else frame
    if frame is image:
        frame = image.copy()
    frame.info = {}
    return frame


# --------------------------------------------------------------------------- PDF


def _checked_pdf(head: bytes, source: Iterator[bytes], limits: UploadLimits) -> Iterator[bytes]:
    """The PDF's bytes, released only once the whole file has been judged by ``pdf_check``.

    The file is held in memory (bounded by the size limit): a PDF is read from its end (the
    cross-reference table), and writing it to a temporary file would put plaintext on disk.
    """
    data = head + b"".join(source)
    check_pdf(data, limits)
    yield from _slices(data)


# --------------------------------------------------------------------------- CSV

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")


def _csv_invalid(detail=None):
    return UploadRefused(
        "csv_invalid",
        detail or _l("The file is not a valid CSV file in UTF-8 (check the encoding and the quotes)."),
    )


def _csv_chunks(head: bytes, source: Iterator[bytes], limits: UploadLimits) -> Iterator[bytes]:
    """Validate while streaming: strict UTF-8, no NUL, strict CSV quoting; at most one line held."""
    released: list[bytes] = []
    decoder = codecs.getincrementaldecoder("utf-8")("strict")

    def lines() -> Iterator[str]:
        pending = ""
        for raw in _prepend(head, source):
            released.append(raw)
            if b"\x00" in raw:
                raise _csv_invalid()
            try:
                pending += decoder.decode(raw)
            except UnicodeDecodeError:
                raise _csv_invalid() from None
            end = 0
            for match in _LINE.finditer(pending):
                # A lone "\r" at the very end may be the first half of "\r\n".
                if match.end() == len(pending) and pending.endswith("\r"):
                    break
                if match.end() - match.start() > limits.max_csv_line_chars:
                    raise _csv_invalid(_l("A line of the CSV file is too long."))
                yield match.group()
                end = match.end()
            pending = pending[end:]
            if len(pending) > limits.max_csv_line_chars:
                raise _csv_invalid(_l("A line of the CSV file is too long."))
        try:
            pending += decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _csv_invalid() from None
        if pending:
            yield pending

    reader = csv.reader(lines(), strict=True)
    try:
        for _row in reader:
            if released:
                yield from released
                released.clear()
    except csv.Error:
        raise _csv_invalid() from None
    yield from released


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest
