"""PDFs judged by a real parser: qpdf (through pikepdf) opens the file and resolves every object.

``check_pdf(data, limits)`` raises ``UploadRefused`` or returns; the bytes themselves are stored as they
came. What is refused, and how it is found:

- a file qpdf cannot open without repairing it (``pdf_invalid``), or an encrypted one (``pdf_encrypted``);
- every object of the cross-reference table is resolved, those in object streams included, whatever
  their filters and predictors (qpdf decodes them as a reader does); every dictionary, array and stream
  dictionary is walked, and so is every object of every object stream found in the file, referenced or
  not. An object stream that cannot be decoded is refused (``pdf_uninspectable``);
- the names ``/JS``, ``/JavaScript``, ``/XFA`` (forms that run scripts) and ``/RichMedia`` anywhere, as a
  key or a value (``pdf_javascript``); ``/Launch`` (``pdf_launch``); embedded files: ``/EmbeddedFiles``,
  ``/EmbeddedFile``, ``/EF`` of a file specification, ``/FileAttachment`` annotations, ``/GoToE``
  (``pdf_embedded_file``); additional actions ``/AA`` on anything (``pdf_additional_actions``); 3D,
  movie, sound and screen annotations or renditions (``pdf_media``);
- every action but an internal go-to: a dictionary is an action when its ``/Type`` is ``/Action``, its
  ``/S`` names an action type, or it carries ``/S`` under ``/A``, ``/OpenAction`` or ``/Next``. Only
  ``/GoTo`` to a destination inside the file (a named destination, or an array whose first element is one
  of the file's pages) is kept; ``/URI``, ``/SubmitForm``, ``/ImportData``, ``/GoToR``, ``/Named``, ... and
  any unknown type are refused (``pdf_action``). An ``/OpenAction`` array is checked as a destination;
- the same names and actions in the objects of every other stream that is not pixels, a font, a colour
  profile or metadata (content streams, forms, untyped streams), read with qpdf's own content parser:
  content cannot act by itself, but a name such as ``/JS`` there is refused rather than argued about.

Earlier revisions: qpdf reads a file as its last incremental update left it, so objects an update
superseded (a catalog with a JavaScript ``/OpenAction``, replaced by a clean one) are still in the file but
not in what qpdf resolves. Every earlier revision - the file up to each earlier ``%%EOF`` - that qpdf can
open is judged by the same rules (at most ``_MAX_REVISIONS`` of them; more is refused as uninspectable).

qpdf's decoders are given memory limits (process-wide, set once here) so that no stream inflates past
``_STREAM_MEMORY``; LZW, the one decoder qpdf cannot bound, is refused outside images.
"""

from __future__ import annotations

import io
import re
import warnings

import pikepdf
import pikepdf.settings
from flask_babel import lazy_gettext as _l

from .upload_rules import MB, UploadLimits, UploadRefused

_STREAM_MEMORY = 64 * MB
pikepdf.settings.set_qpdf_limits(
    flate_max_memory=_STREAM_MEMORY,
    png_max_memory=_STREAM_MEMORY,
    tiff_max_memory=_STREAM_MEMORY,
    run_length_max_memory=_STREAM_MEMORY,
    dct_max_memory=_STREAM_MEMORY,
)

_PDF_VERSION = re.compile(rb"%PDF-[12]\.\d")
_EOF_MARKER = re.compile(rb"%%EOF[ \t]*(?:\r\n|\r|\n)?")
# Revisions judged one by one (each a parse of the file up to it); more earlier ones than this is no
# document an office saves, and is refused rather than parsed without end.
_MAX_REVISIONS = 64
_NOT_BLANK = re.compile(rb"[^\r\n\t\f\x00 ]")
# qpdf drops a key whose value is a missing object, so a trailer naming an /Encrypt dictionary that is not
# there looks unencrypted once parsed; such a file says it is encrypted and is refused as one.
_TRAILER_ENCRYPT = re.compile(rb"trailer\s*<<[^>]*/Encrypt\b")

_BLOCKED_NAMES = {
    "/JS": "pdf_javascript",
    "/JavaScript": "pdf_javascript",
    "/XFA": "pdf_javascript",
    "/RichMedia": "pdf_javascript",
    "/RichMediaExecute": "pdf_javascript",
    "/Launch": "pdf_launch",
    "/EmbeddedFile": "pdf_embedded_file",
    "/EmbeddedFiles": "pdf_embedded_file",
    "/EF": "pdf_embedded_file",
    "/FileAttachment": "pdf_embedded_file",
    "/GoToE": "pdf_embedded_file",
    "/AA": "pdf_additional_actions",
    "/3D": "pdf_media",
    "/Movie": "pdf_media",
    "/Sound": "pdf_media",
    "/Screen": "pdf_media",
    "/Rendition": "pdf_media",
}
_ACTION_TYPES = frozenset(
    "/" + name
    for name in ["GoTo", "GoToR", "GoToE", "GoToDp", "Launch", "Thread", "URI", "Sound", "Movie", "Hide", "Named", "SubmitForm", "ResetForm", "ImportData", "JavaScript", "SetOCGState", "Rendition", "Trans", "GoTo3DView", "RichMediaExecute"]
)
_ACTION_KEYS = frozenset({"/A", "/OpenAction", "/Next"})
_IMAGE_FILTERS = frozenset({"/DCTDecode", "/DCT", "/JPXDecode", "/JBIG2Decode", "/CCITTFaxDecode", "/CCF"})
_UNBOUNDED_FILTERS = frozenset({"/LZWDecode", "/LZW"})
_BINARY_SUBTYPES = frozenset({"/Image", "/Type1C", "/CIDFontType0C", "/OpenType"})
_BINARY_MARKERS = ("/Length1", "/Length2", "/Length3", "/FunctionType", "/ShadingType")


def pdf_refusal(code: str) -> UploadRefused:
    """The refusal of a PDF, with its message."""
    messages = {
        "pdf_javascript": _l(
            "PDF files containing scripts (JavaScript) or dynamic forms cannot be uploaded."
        ),
        "pdf_launch": _l("PDF files that launch other programs cannot be uploaded."),
        "pdf_embedded_file": _l("PDF files with embedded files cannot be uploaded."),
        "pdf_action": _l(
            "PDF files with actions (web links that open by themselves, form submission, links to other "
            "files) cannot be uploaded; only links inside the document are accepted."
        ),
        "pdf_additional_actions": _l(
            "PDF files with actions that run when a page, field or the document is opened cannot be uploaded."
        ),
        "pdf_media": _l("PDF files with embedded media (3D, video, sound) cannot be uploaded."),
        "pdf_encrypted": _l(
            "Password-protected PDF files cannot be checked; remove the password and try again."
        ),
        "pdf_uninspectable": _l("This PDF is built in a way that cannot be checked safely and was refused."),
        "pdf_invalid": _l("The file is damaged or not a valid PDF document."),
    }
    return UploadRefused(code, messages[code])


def check_pdf(data: bytes, limits: UploadLimits) -> None:
    """Refuse (``UploadRefused``) a PDF that is damaged, encrypted or holds active content, in its latest
    revision or in any earlier one; see above."""
    if not _PDF_VERSION.match(data):
        raise pdf_refusal("pdf_invalid")
    _check_revision(data, limits, latest=True)
    ends = earlier_revision_ends(data)
    if len(ends) > _MAX_REVISIONS:
        raise pdf_refusal("pdf_uninspectable")
    for end in ends:
        _check_revision(memoryview(data)[:end], limits, latest=False)


def earlier_revision_ends(data: bytes) -> list[int]:
    """Where each revision before the last ends: after every ``%%EOF`` marker (and its end of line) but
    the file's own last one. An incremental update appends objects, a cross-reference section and a
    trailer to the file as it was, so each such prefix is the file as that earlier revision saved it."""
    ends = []
    for match in _EOF_MARKER.finditer(data):
        if _NOT_BLANK.search(data, match.end()) is not None:
            ends.append(match.end())
            if len(ends) > _MAX_REVISIONS:
                break
    return ends


def _check_revision(data, limits: UploadLimits, *, latest: bool) -> None:
    """Judge one revision. The latest must open as it is; an earlier prefix that qpdf cannot open is no
    revision (a ``%%EOF`` inside a stream, the first part of a linearized file) and is passed over, but one
    that opens is held to every rule: its objects are still in the file, and a reader that rebuilds the
    cross-reference table (a damaged or "repaired" file) would find them."""
    with warnings.catch_warnings():
        # qpdf's remarks on damaged but readable files come as warnings; the verdict is ours.
        warnings.simplefilter("ignore")
        try:
            pdf = pikepdf.open(io.BytesIO(data), attempt_recovery=False)
        except pikepdf.PasswordError:
            raise pdf_refusal("pdf_encrypted") from None
        except (pikepdf.PdfError, ValueError, OverflowError):
            if latest:
                raise pdf_refusal("pdf_invalid") from None
            return
        with pdf:
            if pdf.is_encrypted or "/Encrypt" in pdf.trailer or _TRAILER_ENCRYPT.search(bytes(data[-4096:])):
                raise pdf_refusal("pdf_encrypted")
            try:
                _Inspection(pdf, limits).run()
            except UploadRefused:
                raise
            except (pikepdf.PdfError, RecursionError, ValueError, OverflowError):
                raise pdf_refusal("pdf_uninspectable") from None


class _Inspection:
    """One walk over every object of an open PDF, each indirect object visited once."""

    def __init__(self, pdf: pikepdf.Pdf, limits: UploadLimits):
        self.pdf = pdf
        self.limits = limits
        self.seen: set[tuple[int, int]] = set()
        self.decoded = 0
        self.containers: set[int] = set()  # object streams the cross-reference table points into
        self.detached = False  # walking objects read from a stream's bytes, whose references are lost

    def run(self) -> None:
        self._refuse_unbounded_object_streams()
        self._walk(self.pdf.trailer)
        for obj in self.pdf.objects:
            self._walk(obj)
        open_action = self.pdf.Root.get("/OpenAction")
        if isinstance(open_action, pikepdf.Array):
            self._check_destination(open_action)

    def _refuse_unbounded_object_streams(self) -> None:
        # Before any compressed object is resolved (which makes qpdf decode its object stream).
        self.containers = {
            entry.obj_stream_number for entry in self.pdf.get_xref_table().values() if entry.type == 2
        }
        for number in self.containers:
            stream = self.pdf.get_object((number, 0))
            if isinstance(stream, pikepdf.Stream) and _filters(stream) & _UNBOUNDED_FILTERS:
                raise pdf_refusal("pdf_uninspectable")

    def _walk(self, root, key: str | None = None) -> None:
        pending = [(root, key)]
        while pending:
            obj, key = pending.pop()
            if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)) and obj.is_indirect:
                if obj.objgen in self.seen:
                    continue
                self.seen.add(obj.objgen)
            if isinstance(obj, pikepdf.Name):
                _check_name(str(obj))
            elif isinstance(obj, pikepdf.Array):
                pending.extend((item, None) for item in obj)
            elif isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                self._check_dictionary(obj, key)
                for name, value in obj.items():
                    _check_name(name)
                    pending.append((value, name))
                if isinstance(obj, pikepdf.Stream):
                    self._check_stream_content(obj)

    def _check_dictionary(self, dictionary, key: str | None) -> None:
        kind = dictionary.get("/S")
        is_action = dictionary.get("/Type") == pikepdf.Name.Action or (
            isinstance(kind, pikepdf.Name) and str(kind) in _ACTION_TYPES
        )
        if not (is_action or (key in _ACTION_KEYS and kind is not None)):
            return
        if kind != pikepdf.Name.GoTo:
            raise pdf_refusal(_BLOCKED_NAMES.get(str(kind), "pdf_action"))
        self._check_destination(dictionary.get("/D"))

    def _check_destination(self, destination) -> None:
        """Accept a named destination or an explicit one on a page of this file; refuse anything else."""
        if isinstance(destination, (pikepdf.Name, pikepdf.String)):
            return
        if isinstance(destination, pikepdf.Array) and len(destination) > 0:
            page = destination[0]
            if isinstance(page, pikepdf.Dictionary) and page.is_indirect and page.get("/Type") == pikepdf.Name.Page:
                return
            if self.detached and isinstance(page, int):  # "3 0 R" read without its file: "3", "0", "R"
                return
        raise pdf_refusal("pdf_action")

    def _check_stream_content(self, stream: pikepdf.Stream) -> None:
        filters = _filters(stream)
        if stream.get("/Type") == pikepdf.Name.ObjStm:
            if filters & _UNBOUNDED_FILTERS:
                raise pdf_refusal("pdf_uninspectable")
            self._count(len(stream.read_bytes()))  # raises if it cannot be decoded: refused
            if stream.objgen[0] not in self.containers:  # qpdf resolved those of the others already
                self._parse_objects(stream)
            return
        if filters & (_IMAGE_FILTERS | _UNBOUNDED_FILTERS) or _is_binary_data(stream):
            return
        try:
            self._parse_objects(stream)
        except pikepdf.PdfError:
            pass  # content no decoder can read is drawn by no reader either

    def _parse_objects(self, stream: pikepdf.Stream) -> None:
        found = _Collector()
        # qpdf's content-stream parser (QPDFObjectHandle::parseContentStream): it reads any stream's
        # decoded bytes as a sequence of PDF objects, operands that end the stream included.
        pikepdf.Object._parse_stream(stream, found)
        self.detached = True
        try:
            for obj in found.objects:
                self._walk(obj)
        finally:
            self.detached = False

    def _count(self, size: int) -> None:
        self.decoded += size
        if self.decoded > self.limits.max_pdf_inflated_bytes:
            raise pdf_refusal("pdf_uninspectable")


class _Collector(pikepdf.StreamParser):
    def __init__(self):
        super().__init__()
        self.objects = []

    def handle_object(self, obj, offset, length):
        if not isinstance(obj, pikepdf.Operator):
            self.objects.append(obj)

    def handle_eof(self):
        pass


def _check_name(name: str) -> None:
    code = _BLOCKED_NAMES.get(name)
    if code:
        raise pdf_refusal(code)


def _filters(stream: pikepdf.Stream) -> set[str]:
    value = stream.get("/Filter")
    if isinstance(value, pikepdf.Name):
        return {str(value)}
    if isinstance(value, pikepdf.Array):
        return {str(item) for item in value if isinstance(item, pikepdf.Name)}
    return set()


def _is_binary_data(stream: pikepdf.Stream) -> bool:
    """Pixels, font programs, functions, colour profiles and XML metadata: not PDF objects."""
    if str(stream.get("/Subtype", "")) in _BINARY_SUBTYPES or stream.get("/Type") == pikepdf.Name.Metadata:
        return True
    if stream.get("/Type") == pikepdf.Name.XRef:
        return True
    return any(marker in stream for marker in _BINARY_MARKERS) or ("/N" in stream and "/Type" not in stream)
