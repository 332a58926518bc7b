"""XLSX and DOCX judged by parsing the package: zip directory, content types, every relationship, fields.

``check_office(data, limits)`` returns ``"xlsx"`` or ``"docx"`` or raises ``UploadRefused``. The package
is read with ``zipfile`` and every XML part it reads with ``defusedxml`` (no DTD, so no entity expansion).

- The zip is bounded before anything is inflated (entries, declared sizes, ratios) and again while it is
  read (the bytes actually inflated), and every entry must inflate with a matching CRC (``zip_bomb``,
  ``office_invalid``).
- Macros and embedded programs (``office_macros``): macro-enabled content types, ``vbaProject`` parts
  and relationships, OLE objects and ActiveX controls - any part under ``embeddings/`` or ``activeX/``,
  their content types and relationship types. Embedded packages (a chart's workbook) live under
  ``embeddings/`` too and are refused with them: they would need the same checks, recursively.
- External relationships (``office_external``): every relationship of every ``_rels/*.rels`` part with
  ``TargetMode="External"`` or an absolute target (remote templates, linked OLE objects, frames,
  sub-documents, linked images, data connections), and the relationship types that fetch content
  whatever their mode (attached template, sub-document, external workbook link, data connections). One
  exception, deliberately: a plain hyperlink. It is a link the reader may click (Office asks first); it
  loads nothing when the file is opened, so it is not active content.
- Fields that fetch or run (``office_dde``, ``office_external``): ``DDE``/``DDEAUTO`` in field codes of
  every XML part of a DOCX, wherever it lies (document, headers, footers, footnotes, comments, glossary),
  read as a stream of elements the way Word assembles them (``_FieldCodes``: ``w:fldChar`` begin,
  instruction, separate, end, the instruction split across runs and paragraphs, fields nested in fields,
  ``w:fldSimple``, deleted instructions); a field whose kind a nested field would compute is refused too;
  ``ddeLink`` in a workbook's external links; ``INCLUDETEXT``, ``INCLUDEPICTURE``, ``LINK`` and
  ``IMPORT`` fields, which load other files.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring, iterparse
from flask_babel import lazy_gettext as _l

from .upload_rules import MB, UploadLimits, UploadRefused

_OFFICE_MAIN = {
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "xl/workbook.xml",
    ),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        "word/document.xml",
    ),
}
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_SML_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

_MACRO_PART = re.compile(
    r"(^|/)(vbaProject\.bin|vbaData\.xml|activeX\d*\.bin|oleObject\d*\.bin)$|(^|/)(embeddings|activeX)/",
    re.IGNORECASE,
)
_MACRO_CONTENT = re.compile(r"macroEnabled|vbaProject|activeX|oleObject|embeddedObject", re.IGNORECASE)
# The last segment of a relationship type URI, for both the transitional and the strict namespaces.
_EMBEDDING_RELATIONSHIPS = frozenset(
    {"vbaProject", "oleObject", "activeXControl", "activeXControlBinary", "control", "package", "wordVbaData"}
)
_FETCHING_RELATIONSHIPS = frozenset(
    {"attachedTemplate", "subDocument", "externalLink", "externalLinkPath", "connections", "queryTable"}
)
_HYPERLINK = "hyperlink"
_ABSOLUTE_TARGET = re.compile(r"^([a-z][a-z0-9+.-]*:|//|\\\\)", re.IGNORECASE)
_DDE_FIELD = re.compile(r"\bDDE(AUTO)?\b", re.IGNORECASE)
_FETCHING_FIELD = re.compile(r"^\W*(INCLUDETEXT|INCLUDEPICTURE|LINK|IMPORT)\b", re.IGNORECASE)


def office_invalid() -> UploadRefused:
    """The refusal of a package that is not a readable XLSX or DOCX."""
    return UploadRefused("office_invalid", _l("The file is damaged or not a valid XLSX or DOCX document."))


def _zip_bomb():
    return UploadRefused(
        "zip_bomb", _l("The document expands to an unreasonable size when opened and was refused.")
    )


def _macros():
    return UploadRefused(
        "office_macros",
        _l(
            "Documents with macros or embedded programs cannot be uploaded. Save it as .xlsx or .docx without macros."
        ),
    )


def _external():
    return UploadRefused(
        "office_external",
        _l(
            "Documents that load content from elsewhere when opened (remote templates, linked objects, "
            "frames, sub-documents, external data) cannot be uploaded."
        ),
    )


def _dde():
    return UploadRefused(
        "office_dde", _l("Documents with DDE fields, which can run commands when opened, cannot be uploaded.")
    )


def check_office(data: bytes, limits: UploadLimits) -> str:
    """'xlsx' or 'docx' for a well-formed OOXML package without active or external content."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise office_invalid() from None
    with archive:
        try:
            return _Package(archive, len(data), limits).check()
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError):
            raise office_invalid() from None


class _Package:
    def __init__(self, archive: zipfile.ZipFile, size: int, limits: UploadLimits):
        self.archive = archive
        self.size = size
        self.limits = limits
        self.inflated = 0

    def check(self) -> str:
        names = self._check_directory()
        if "[Content_Types].xml" not in names:
            raise office_invalid()
        types = self._xml("[Content_Types].xml")
        overrides = {
            element.get("PartName", "").lstrip("/"): element.get("ContentType", "")
            for element in types.iter(f"{_CT_NS}Override")
        }
        defaults = [element.get("ContentType", "") for element in types.iter(f"{_CT_NS}Default")]
        if any(_MACRO_CONTENT.search(value) for value in [*overrides.values(), *defaults]):
            raise _macros()
        code = next(
            (code for code, (ctype, part) in _OFFICE_MAIN.items() if overrides.get(part) == ctype and part in names),
            None,
        )
        if code is None:
            raise office_invalid()
        defaults_by_extension = {
            element.get("Extension", "").lower(): element.get("ContentType", "")
            for element in types.iter(f"{_CT_NS}Default")
        }
        for name in sorted(names):
            content_type = overrides.get(name) or defaults_by_extension.get(name.rpartition(".")[2].lower(), "")
            if _holds_fields(code, name, content_type):
                self._check_fields(name)
        for name in sorted(names):
            if name.endswith(".rels") and posixpath.basename(posixpath.dirname(name)) == "_rels":
                _check_relationships(self._xml(name))
        self._xml(_OFFICE_MAIN[code][1])
        for name in names:  # every entry must inflate to its declared size with a matching CRC
            self._read(name, keep=False)
        return code

    def _check_directory(self) -> set[str]:
        entries = self.archive.infolist()
        if len(entries) > self.limits.max_zip_entries:
            raise _zip_bomb()
        total = 0
        for info in entries:
            total += info.file_size
            if info.file_size > MB and info.file_size > self.limits.max_zip_ratio * max(info.compress_size, 1):
                raise _zip_bomb()
            if info.flag_bits & 0x1:  # encrypted entry: cannot be inspected
                raise office_invalid()
            if _MACRO_PART.search(info.filename):
                raise _macros()
        if total > self.limits.max_unzipped_bytes or (
            total > 10 * MB and total > self.limits.max_zip_ratio * max(self.size, 1)
        ):
            raise _zip_bomb()
        return {info.filename for info in entries}

    def _read(self, name: str, keep: bool = True) -> bytes:
        """An entry's bytes; every byte inflated counts against the package's limit, whatever it declared."""
        parts = []
        with self.archive.open(name) as entry:
            while piece := self._counted(entry.read(64 * 1024)):
                if keep:
                    parts.append(piece)
        return b"".join(parts)

    def _counted(self, piece: bytes) -> bytes:
        self.inflated += len(piece)
        if self.inflated > 2 * self.limits.max_unzipped_bytes:
            raise _zip_bomb()
        return piece

    def _check_fields(self, name: str) -> None:
        """Read one XML part as a stream of elements (memory bounded by its deepest element, not its size)
        and judge its fields (``_FieldCodes``) and DDE links."""
        fields = _FieldCodes()
        with self.archive.open(name) as entry:
            source = _CountingReader(entry, self._counted)
            try:
                for event, element in iterparse(source, events=("start", "end"), forbid_dtd=True,
                                                forbid_entities=True, forbid_external=True):
                    fields.feed(event, element)
                    if event == "end":
                        element.clear()
            except UploadRefused:
                raise
            except (ParseError, DefusedXmlException, ValueError):
                raise office_invalid() from None
        fields.close()

    def _xml(self, name: str):
        try:
            return fromstring(self._read(name), forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except (ParseError, DefusedXmlException, ValueError):
            raise office_invalid() from None


def _check_relationships(relationships) -> None:
    for relationship in relationships.iter(f"{_REL_NS}Relationship"):
        kind = relationship.get("Type", "").rstrip("/").rsplit("/", 1)[-1]
        external = relationship.get("TargetMode", "").strip().lower() == "external" or bool(
            _ABSOLUTE_TARGET.match(relationship.get("Target", "").strip())
        )
        if kind in _FETCHING_RELATIONSHIPS or (external and kind != _HYPERLINK):
            raise _external()
        if kind in _EMBEDDING_RELATIONSHIPS:
            raise _macros()


def _holds_fields(code: str, name: str, content_type: str) -> bool:
    """Whether a part is read for fields: in a DOCX every XML part, wherever it lies (Word follows the
    relationships, so a header may sit outside ``word/``); in an XLSX its external links."""
    if name == "[Content_Types].xml" or name.endswith(".rels"):
        return False
    if code == "docx":
        return "xml" in content_type.lower() or name.lower().endswith(".xml")
    return name.startswith("xl/externalLinks/") or content_type.endswith("externalLink+xml")


class _CountingReader:
    """A zip entry read through the package's inflation count (``_Package._counted``)."""

    def __init__(self, entry, count):
        self.entry = entry
        self.count = count

    def read(self, size: int = -1) -> bytes:
        return self.count(self.entry.read(64 * 1024 if size is None or size < 0 else min(size, 64 * 1024)))


class _Field:
    """One complex field (``w:fldChar`` begin ... end) while it is read: its instruction pieces."""

    def __init__(self):
        self.pieces: list[str] = []
        self.reading = True  # until ``separate``: what follows is the field's last result, not its code


class _FieldCodes:
    """Field codes of a WordprocessingML part, as Word assembles them: ``w:instrText`` (and
    ``w:delInstrText``, a deleted instruction that rejecting the revision restores) joined per field
    across runs and paragraphs, fields nested in fields, ``w:fldSimple/@w:instr``; and ``ddeLink`` of a
    SpreadsheetML external link. A field whose own kind would be computed by a nested field (its code
    starting with another field) is refused like DDE: what it becomes is known only once Word runs it."""

    _INSTRUCTIONS = frozenset({f"{_W_NS}instrText", f"{_W_NS}delInstrText"})

    def __init__(self):
        self.open: list[_Field] = []

    def feed(self, event: str, element) -> None:
        tag = element.tag
        if event == "start":
            if tag == f"{_SML_NS}ddeLink":
                raise _dde()
            if tag == f"{_W_NS}fldSimple":
                self._nested()
                _check_instruction(element.get(f"{_W_NS}instr", ""))
            elif tag == f"{_W_NS}fldChar":
                self._fld_char(element.get(f"{_W_NS}fldCharType"))
        elif tag in self._INSTRUCTIONS:
            if self.open and self.open[-1].reading:
                self.open[-1].pieces.append(element.text or "")
            else:
                _check_instruction(element.text or "")

    def _fld_char(self, state: str | None) -> None:
        if state == "begin":
            self._nested()
            self.open.append(_Field())
        elif state == "separate" and self.open:
            self.open[-1].reading = False
        elif state == "end" and self.open:
            _check_instruction("".join(self.open.pop().pieces))

    def _nested(self) -> None:
        """A field starting inside the code of the field around it, before that code named its kind."""
        if self.open and self.open[-1].reading and not "".join(self.open[-1].pieces).strip():
            raise _dde()

    def close(self) -> None:
        for field in self.open:  # a field never ended is still judged by what it says
            _check_instruction("".join(field.pieces))


def _check_instruction(instruction: str) -> None:
    if _DDE_FIELD.search(instruction):
        raise _dde()
    if _FETCHING_FIELD.search(instruction):
        raise _external()
