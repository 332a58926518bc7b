"""Reading an MRZ pasted into a search box, however it arrives.

``alerts.mrz.parse_mrz`` reads an MRZ whose lines are separated by line breaks. A search box loses them:
a one-line input turns each line break into a space, a PDF or an e-mail adds stray spaces inside a line,
and an officer often pastes only the second line of a passport (the one with the number). A false no-hit
is the worst answer the portal can give, so ``read_pasted_mrz`` recovers the zone:

1. the lines as they came (``parse_mrz``, with its own tolerance for spaces typed as fillers);
2. every whitespace removed, when what is left has the length of a whole zone (90 = TD1 3 x 30,
   72 = TD2 / MRV-B 2 x 36, 88 = TD3 / MRV-A 2 x 44): cut into its lines and parsed;
3. one line alone (30, 36 or 44 characters), read with the layout of the line that carries the document
   number: TD1's first line (code, issuing state, number), TD2's and TD3's second line (number, check
   digit, nationality, dates; its composite check digit too, which covers only that line). A line of
   names alone holds no number, and is said so.

A text with ``<`` fillers in more than 30 characters, or a run of 28 or more characters without a space,
that none of these reads, is reported (``MrzResult.errors``: the line lengths seen, which check digit or field failed) instead of
being searched as words.
"""

from __future__ import annotations

from alerts.mrz import (
    _EXPIRY_BEFORE_BIRTH,
    MrzIssue,
    MrzResult,
    _,
    _Parser,
    is_valid_icao_code,
    looks_like_mrz,
    parse_mrz,
)
from portal.timeutil import utcnow

# Total length of a whole zone -> its line length.
_ZONES = {90: 30, 72: 36, 88: 44}
_LINE_LAYOUTS = {30: "TD1", 36: "TD2", 44: "TD3"}
_VISA_LAYOUTS = {"TD2": "MRVB", "TD3": "MRVA"}
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
LONG_RUN = 28  # no word of a narrative is this long; a document number is at most 30 (and read as such first)


def _compact(text: str) -> str:
    return "".join(text.split()).translate(_ASCII_UPPER)


def looks_pasted(text: str) -> bool:
    """Whether ``text`` looks like (part of) an MRZ rather than a document number or words: a run of 28
    characters or more without a space, or ``<`` fillers in more than a number's 30 characters (a number
    copied with its fillers, ``ABC123<<<``, stays a number)."""
    return any(len(run) >= LONG_RUN for run in text.split()) or ("<" in text and len(_compact(text)) > 30)


def read_pasted_mrz(text: str) -> MrzResult | None:
    """The pasted MRZ (``fields`` and ``errors`` as ``parse_mrz`` gives them), or ``None`` when ``text``
    is not a pasted MRZ at all (a document number or words)."""
    if looks_like_mrz(text):
        return parse_mrz(text)
    compact = _compact(text)
    if len(compact) in _ZONES:
        size = _ZONES[len(compact)]
        return parse_mrz("\n".join(compact[start:start + size] for start in range(0, len(compact), size)))
    if len(compact) in _LINE_LAYOUTS:
        line = read_single_line(compact)
        if line is not None:
            return line
    if not looks_pasted(text):
        return None
    if len([line for line in text.splitlines() if line.strip()]) > 1:
        return parse_mrz(text)  # its lines as they came: the lengths seen, or the spaces it cannot read
    return MrzResult(format=None, errors=[MrzIssue("mrz", "unknown_format", _(
        "This looks like a machine-readable zone but cannot be read: %(count)d characters without spaces "
        "(lines seen: %(lengths)s). Paste the whole zone (3 lines of 30 characters, or 2 of 36 or 44), or "
        "the line with the document number.", count=len(compact),
        lengths=", ".join(str(len(_compact(line))) for line in text.splitlines() if line.strip()) or "0"))])


def read_single_line(line: str) -> MrzResult | None:
    """One MRZ line alone: the line with the number read and verified, a line of names refused as such,
    ``None`` when it is neither (a long document number, say)."""
    layout = _LINE_LAYOUTS[len(line)]
    if _is_names_line(line, layout):
        return MrzResult(format=layout, errors=[MrzIssue("mrz", "no_document_number", _(
            "This MRZ line holds only the document code, the issuing state and the names: paste the line "
            "with the document number as well."))], lines=(line,))
    if layout == "TD1":
        if not _is_td1_first_line(line):
            return None
        parser = _LineParser("TD1", [line], utcnow().date())
        parser.td1_first()
        return MrzResult(format="TD1", fields=parser.fields, errors=parser.errors, lines=(line,))
    if not _is_number_line(line):
        return None
    best = None
    for fmt in (layout, _VISA_LAYOUTS[layout]):
        parser = _LineParser(fmt, [line], utcnow().date())
        parser.number_line()
        result = MrzResult(format=fmt, fields=parser.fields, errors=parser.errors, lines=(line,))
        if not result.errors:
            return result
        best = best or result
    return best


def _is_names_line(line: str, layout: str) -> bool:
    """The line of a TD2 or TD3 with the code, state and names (no digit anywhere), or TD1's third."""
    if any(char.isdigit() for char in line):
        return False
    return layout == "TD1" or (line[0] in "PVACI" and is_valid_icao_code(line[2:5].strip("<")))


def _is_td1_first_line(line: str) -> bool:
    return line[0] in "ACI" and is_valid_icao_code(line[2:5].strip("<"))


def _is_number_line(line: str) -> bool:
    """Digits where the second line of a TD2 or TD3 has its check digits (birth date, expiry date)."""
    return line[19].isdigit() and line[27].isdigit() and line[20] in "MFX<"


class _LineParser(_Parser):
    """``alerts.mrz``'s reader, over one line: the fields and checks that line holds by itself."""

    def td1_first(self) -> None:
        (upper,) = self.lines
        self._characters()
        self._code(upper[0:2], allowed="ACI")
        self._country("issuing_state", upper[2:5])
        self.fields["optional_data_1"] = self._document_number(upper[5:14], upper[14], upper[15:30])

    def number_line(self) -> None:
        (lower,) = self.lines
        self._characters()
        self.fields["issuing_state"] = None  # on the other line
        if self.fmt == "TD2":
            self.fields["optional_data"] = self._document_number(lower[0:9], lower[9], lower[28:35])
        else:
            self._document_number(lower[0:9], lower[9])
        self._dates_sex_nationality(lower[13:19], lower[19], lower[20], lower[21:27], lower[27], lower[10:13])
        if self.fmt == "TD2":
            self._composite(lower[0:10] + lower[13:20] + lower[21:35], lower[35])
        elif self.fmt == "TD3":
            self._personal_number(lower[28:42], lower[42])
            self._composite(lower[0:10] + lower[13:20] + lower[21:43], lower[43])
        else:
            end = 44 if self.fmt == "MRVA" else 36
            self.fields["optional_data"] = lower[28:end].strip("<") or None
        if self._birth and self._expiry and self._expiry <= self._birth:
            self.error("expiry_date", "expiry_before_birth", _(_EXPIRY_BEFORE_BIRTH))
