"""A readable difference between two revision snapshots of an alert (``alerts.operations.snapshot``).

Each changed field becomes a ``FieldChange`` with its label, the old and new values as a reader sees them
(vocabulary labels, lists joined, the distribution in words, MRZ findings as sentences) and, for free
text, a word-by-word list of segments marked ``equal``, ``delete`` or ``insert`` that the template shows
with ``<del>`` and ``<ins>``.
Nothing here is rendered as markup: the template escapes every segment.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from alerts import vocabulary
from alerts.mrz import finding_message

# Snapshot keys in the order a reader expects them, with their labels.
FIELD_LABELS: dict[str, object] = {
    "status": _l("Status"),
    "tlp": _l("TLP marking"),
    "distribution": _l("Distribution"),
    "review_date": _l("Review date"),
    "withdrawal_reason": _l("Reason for withdrawal"),
    "detecting_unit": _l("Detecting unit"),
    "detection_place_kind": _l("Kind of place"),
    "detection_place": _l("Place of detection"),
    "detection_date": _l("Date of detection"),
    "route": _l("Route"),
    "bearer_nationality": _l("Bearer's nationality"),
    "document_category": _l("Document category"),
    "document_type": _l("Document type"),
    "issuing_state": _l("Issuing state or organisation"),
    "series": _l("Series or model"),
    "document_number": _l("Document number"),
    "range_start": _l("First number of the series"),
    "range_end": _l("Last number of the series"),
    "issue_date": _l("Date of issue"),
    "expiry_date": _l("Date of expiry"),
    "fraud_type": _l("Fraud type"),
    "forgery_subtype": _l("Forgery subtype"),
    "security_features": _l("Security features compromised"),
    "description": _l("Description"),
    "modus_operandi": _l("Modus operandi"),
    "detection_tips": _l("Detection tips"),
    "holder_name": _l("Holder's name"),
    "holder_birth_date": _l("Holder's date of birth"),
    "mrz": _l("Machine-readable zone (MRZ)"),
    "mrz_findings": _l("MRZ fraud indicators"),
    "objectives": _l("Plan objectives"),
}
# Free text compared word by word; everything else is shown as old value -> new value.
TEXT_FIELDS = frozenset({"description", "modus_operandi", "detection_tips", "withdrawal_reason"})
_VOCABULARIES = {
    "status": vocabulary.STATUSES,
    "detection_place_kind": vocabulary.PLACE_KINDS,
    "document_category": vocabulary.DOCUMENT_CATEGORIES,
    "document_type": vocabulary.DOCUMENT_TYPES,
    "fraud_type": vocabulary.FRAUD_TYPES,
    "forgery_subtype": vocabulary.FORGERY_SUBTYPES,
}
_LEVELS = {
    "party": _l("Own party only"),
    "parties": _l("Listed parties"),
    "network": _l("Network"),
    "members": _l("All members"),
}
_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Segment:
    op: str  # "equal", "delete" or "insert"
    text: str


@dataclass
class FieldChange:
    name: str
    label: str
    old: str
    new: str
    segments: list[Segment] = field(default_factory=list)  # free text only

    @property
    def kind(self) -> str:
        if not self.old:
            return "added"
        if not self.new:
            return "removed"
        return "changed"


def display(name: str, value) -> str:
    """A snapshot value as a reader sees it (empty string for no value)."""
    if value in (None, "", [], {}):
        return ""
    if name in _VOCABULARIES:
        return vocabulary.label(_VOCABULARIES[name], value)
    if name == "security_features":  # a set: shown (and compared) in one order, whatever order was stored
        return ", ".join(sorted(vocabulary.label(vocabulary.SECURITY_FEATURES, code) for code in value))
    if name == "objectives":  # a set as well
        return ", ".join(sorted(str(code) for code in value))
    if name == "route":
        return " → ".join(value)
    if name == "mrz_findings":
        return " ".join(finding_message(item) for item in value)
    if name == "distribution":
        level = str(_LEVELS.get(value.get("level"), value.get("level")))
        if value.get("level") == "parties" and value.get("parties"):
            return f"{level}: {', '.join(sorted(value['parties']))}"
        if value.get("level") == "network" and value.get("network"):
            # the parties it was sent to, for the reporting party (``as_read_by`` leaves them out for others)
            audience = f" ({', '.join(value['audience'])})" if value.get("audience") else ""
            return f"{level}: {value['network']}{audience}"
        return level
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def word_diff(old: str, new: str) -> list[Segment]:
    """``old`` -> ``new`` as word segments (whitespace kept, so the text reads as written)."""
    before, after = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    if matcher.ratio() < 0.5:  # mostly rewritten: word-by-word islands would only be noise
        return [Segment("delete", old), Segment("insert", new)]
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(Segment("equal", "".join(before[i1:i2])))
            continue
        if op in ("delete", "replace"):
            segments.append(Segment("delete", "".join(before[i1:i2])))
        if op in ("insert", "replace"):
            segments.append(Segment("insert", "".join(after[j1:j2])))
    return segments


def diff_snapshots(old: dict | None, new: dict) -> list[FieldChange]:
    """The fields that differ between two snapshots, in ``FIELD_LABELS`` order (``old=None``: everything
    ``new`` holds, as added)."""
    old = old or {}
    changes = []
    for name, label in FIELD_LABELS.items():
        before, after = display(name, old.get(name)), display(name, new.get(name))
        if before == after:
            continue
        segments = word_diff(before, after) if name in TEXT_FIELDS and before and after else []
        changes.append(FieldChange(name=name, label=str(label), old=before, new=after, segments=segments))
    return changes
