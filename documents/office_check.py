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
- Fields that fetch or run (``office_dde``, ``office_external``): ``DDE``/``DDEAUTO`` in field codes
  (``w:instrText`` runs, joined per field, and ``w:fldSimple/@w:instr``) of every ``word/*.xml`` part,
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
from defusedxml.ElementTree import ParseError, fromstring
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
        for name in sorted(names):
            if name.endswith(".xml") and name.startswith(("word/", "xl/externalLinks/")):
                _check_fields(self._xml(name))
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
            while piece := entry.read(64 * 1024):
                self.inflated += len(piece)
                if self.inflated > 2 * self.limits.max_unzipped_bytes:
                    raise _zip_bomb()
                if keep:
                    parts.append(piece)
        return b"".join(parts)

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


def _check_fields(part) -> None:
    """DDE and file-loading fields in a WordprocessingML part, ``ddeLink`` in a SpreadsheetML one."""
    if next(part.iter(f"{_SML_NS}ddeLink"), None) is not None:
        raise _dde()
    instructions: list[str] = []
    open_fields: list[tuple[list[str], list[bool]]] = []  # (instruction pieces, [still reading it])
    for element in part.iter():
        if element.tag == f"{_W_NS}fldSimple":
            instructions.append(element.get(f"{_W_NS}instr", ""))
        elif element.tag == f"{_W_NS}fldChar":
            state = element.get(f"{_W_NS}fldCharType")
            if state == "begin":
                open_fields.append(([], [True]))
            elif state == "separate" and open_fields:
                open_fields[-1][1][0] = False  # what follows is the field's last result, not its code
            elif state == "end" and open_fields:
                instructions.append("".join(open_fields.pop()[0]))
        elif element.tag == f"{_W_NS}instrText":
            if open_fields and open_fields[-1][1][0]:
                open_fields[-1][0].append(element.text or "")
            else:
                instructions.append(element.text or "")
    instructions.extend("".join(pieces) for pieces, _reading in open_fields)
    for instruction in instructions:
        if _DDE_FIELD.search(instruction):
            raise _dde()
        if _FETCHING_FIELD.search(instruction):
            raise _external()
