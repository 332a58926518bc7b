"""CSV and vCard 4.0 (RFC 6350) exports of directory entries.

``read_export`` searches what the principal may see, renders it and audits the export; the renderings take,
per entry, whether the viewer may see its phones (restricted phones are omitted, not blanked into a
misleading empty value: the CSV says ``restricted``, the vCard has no TEL line).
"""

from __future__ import annotations

import csv
import io

from portal.audit.service import record
from portal.directory.models import DirectoryEntry
from portal.directory.queries import ENTRY, SearchCriteria, is_stale, phone_rule, search_entries

MAX_EXPORT = 5000

CSV_HEADER = ("name", "title", "institution", "party", "email", "phones", "languages", "time_zone",
              "networks", "last_verified", "stale")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """Neutralise free text a spreadsheet would run as a formula."""
    return "'" + value if value and value.startswith(_FORMULA_START) else value


def to_csv(rows: list[tuple[DirectoryEntry, bool]]) -> str:
    """``rows`` are (entry, phones visible to the viewer)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for entry, show_phones in rows:
        phones = " ".join(entry.phones) if show_phones else ("restricted" if entry.phones else "")
        writer.writerow((
            _cell(entry.full_name), _cell(entry.title), _cell(entry.institution), entry.party.code, entry.email,
            phones, " ".join(entry.languages or []), entry.time_zone or "",
            " ".join(f"{m.network.code}:{m.role}" for m in entry.memberships),
            entry.last_verified_on.isoformat() if entry.last_verified_on else "",
            "yes" if is_stale(entry) else "no",
        ))
    return out.getvalue()


def _escape(value: str) -> str:
    """vCard text value escaping (RFC 6350 section 3.4)."""
    return (value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 sequence (RFC 6350 section 3.2)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts, current, limit = [], b"", 75
    for char in line:
        piece = char.encode("utf-8")
        if len(current) + len(piece) > limit:
            parts.append(current.decode("utf-8"))
            current, limit = b"", 74  # continuation lines start with a space
        current += piece
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def vcard(entry: DirectoryEntry, show_phones: bool) -> str:
    """One vCard 4.0, its lines folded."""
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"FN:{_escape(entry.full_name)}", "KIND:individual"]
    if entry.title:
        lines.append(f"TITLE:{_escape(entry.title)}")
    if entry.institution:
        lines.append(f"ORG:{_escape(entry.institution)}")
    lines.append(f"EMAIL;TYPE=work:{_escape(entry.email)}")
    if show_phones:
        for number in entry.phones:
            lines.append(f"TEL;VALUE=uri;TYPE=work,voice:tel:{number}")
    for n, code in enumerate(entry.languages or [], start=1):
        lines.append(f"LANG;PREF={n}:{code}")
    if entry.time_zone:
        lines.append(f"TZ;VALUE=text:{_escape(entry.time_zone)}")
    networks = ", ".join(f"{m.network.code} ({m.role})" for m in entry.memberships)
    note = f"{entry.party.code}" + (f" - {networks}" if networks else "")
    lines.append(f"NOTE:{_escape(note)}")
    if entry.last_verified_on:
        lines.append(f"REV:{entry.last_verified_on.strftime('%Y%m%d')}T000000Z")
    lines.append(f"UID:urn:rcm-portal:directory:{entry.id}")
    lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines)


def to_vcards(rows: list[tuple[DirectoryEntry, bool]]) -> str:
    """``rows`` are (entry, phones visible to the viewer)."""
    return "".join(vcard(entry, show_phones) for entry, show_phones in rows)


def _export_rows(principal, criteria: SearchCriteria) -> list[tuple[DirectoryEntry, bool]]:
    """(entry, phones visible to the principal) of the first ``MAX_EXPORT`` matching entries."""
    entries = search_entries(principal, criteria)[:MAX_EXPORT]
    rule = phone_rule(principal, entries)
    return [(entry, rule[entry.id]) for entry in entries]


_FORMATS = {"csv": (to_csv, "text/csv; charset=utf-8"), "vcf": (to_vcards, "text/vcard; charset=utf-8")}


def read_export(principal, criteria: SearchCriteria, kind: str) -> tuple[str, str]:
    """The entries matching ``criteria`` rendered as ``kind`` (``csv`` or ``vcf``) and its mimetype; audited
    as ``directory.export`` with counts and the filters used, never a name."""
    render, mimetype = _FORMATS[kind]
    rows = _export_rows(principal, criteria)
    omitted = sum(1 for entry, shown in rows if not shown and entry.phones)
    body = render(rows)
    record("directory.export", object_type=ENTRY, principal=principal,
           details={"format": kind, "count": len(rows), "phones_omitted": omitted, "filters": criteria.used()})
    return body, mimetype
