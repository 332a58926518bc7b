"""ICAO Doc 9303 machine-readable zones: parse, verify, and report fraud indicators.

Written by hand on purpose. The popular Python MRZ packages read a TD1 document number longer than nine
characters wrongly (Doc 9303 part 5, 4.2.4 note j: the check digit position holds ``<`` and the number
continues in the optional data, followed by its own check digit), and an early-warning database for
fraudulent documents cannot afford a parser that calls a genuine card forged or the other way round.

Formats (detected by shape, then by the first character of the document code):

======  =========  =========================================================================
TD1     3 x 30     identity cards (part 5); composite over line 1 [6-30], line 2 [1-7, 9-15, 19-29]
TD2     2 x 36     part 6; composite over line 2 [1-10, 14-20, 22-35]
TD3     2 x 44     passports (part 4); composite over line 2 [1-10, 14-20, 22-43]
MRVA    2 x 44     visas, code ``V`` (part 7); no composite check digit
MRVB    2 x 36     visas, code ``V`` (part 7); no composite check digit
======  =========  =========================================================================

The long-number rule is applied to TD1 and to TD2, whose part 6 carries the same note (the number continues
at the start of the optional data in line 2, positions 29-35). TD3 and visas have no such rule.

Input tolerance (``parse_mrz``): surrounding whitespace, blank lines, CRLF or CR line ends and lower case
are accepted. Spaces typed instead of ``<`` are turned into fillers only when that is unambiguous: exactly
one reading of the pasted lines (with and without trailing spaces) has the shape of a known format.
Anything else (tabs, accented letters, punctuation) is reported, never silently dropped.

Dates. The raw ``YYMMDD`` is kept next to the ISO date. The century is inferred relative to ``today``
(naive UTC by default): a *birth* date is the latest reading not after today (20YY if that date has
passed, else 19YY), so a holder is never older than 100 years and never unborn; an *expiry* date is the
reading whose year falls in the window from 50 years before to 49 years after the current year. Because the
birth rule always places the date in the past, "birth date in the future" cannot arise from a two-digit year;
the impossible combination that can arise, and is reported, is an expiry date not after the birth date.
Doc 9303 allows fillers for an unknown day, or month and day, of birth (``7408<<``, ``74<<<<``, ``<<<<<<``);
such dates are reported as ``None`` without an error. An expiry date of six fillers means "no expiry".

Country codes are ISO 3166-1 alpha-3 (pycountry) plus ICAO's own codes (``D`` for Germany, the British
``GB*`` codes, the United Nations ``UN*``, the stateless and refugee ``XX*``, ``EUE``, ``RKS`` and the
codes of international organisations). ``UTO`` (Utopia) is accepted as well: it is the fictitious state of
the Doc 9303 specimens, which training material and alerts about counterfeits of specimens quote verbatim;
refusing it would flag every textbook example as a forgery.

Every failed check and every impossible value is an ``MrzIssue`` in ``MrzResult.errors``; those that point
at tampering are also listed in ``MrzResult.fraud_indicators``. ``MrzResult.valid`` is true only when the
format was recognised and there are no errors at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import product

import pycountry
from flask import has_request_context
from flask_babel import gettext

from portal.timeutil import utcnow

__all__ = [
    "FORMATS",
    "ICAO_EXTRA_CODES",
    "SPECIMEN_CODES",
    "MrzIssue",
    "MrzResult",
    "canonical_state",
    "check_digit",
    "finding_message",
    "is_valid_icao_code",
    "looks_like_mrz",
    "normalise_document_number",
    "parse_mrz",
]

TD1, TD2, TD3, MRVA, MRVB = "TD1", "TD2", "TD3", "MRVA", "MRVB"
FORMATS = (TD1, TD2, TD3, MRVA, MRVB)
# (number of lines, line length) -> format; visas share the shape of TD2 and TD3 and start with 'V'.
_SHAPES = {(3, 30): TD1, (2, 36): TD2, (2, 44): TD3}
_VISA_OF = {TD2: MRVB, TD3: MRVA}

ICAO_EXTRA_CODES = frozenset({
    "D",                                        # Germany
    "GBD", "GBN", "GBO", "GBP", "GBS",          # British overseas territories citizen, national, ...
    "UNO", "UNA", "UNK",                        # United Nations, its agencies, UNMIK (Kosovo)
    "XXA", "XXB", "XXC", "XXX",                 # stateless, refugee (1951), other refugee, unspecified
    "EUE",                                      # European Union
    "RKS",                                      # Kosovo
    "XOM", "XPO", "XCC", "XES", "XIM", "XDC", "XBA",  # Malta order, Interpol, Caribbean, ECOWAS, ...
})
# Germany is the one state whose Doc 9303 code (``D``, what its documents print) differs from its ISO 3166
# code (``DEU``, what the rest of the portal and most border systems send). Both name the same documents,
# so both must find the same alerts: every code is stored, indexed and looked up in its canonical form.
_STATE_ALIASES = {"D": "DEU"}
SPECIMEN_CODES = frozenset({"UTO"})  # Utopia, the specimen state of Doc 9303 (see the module docstring)

# Codes of issues that point at tampering (as opposed to a paste that is not an MRZ at all).
FRAUD_CODES = frozenset({
    "check_digit", "invalid_character", "invalid_date", "expiry_before_birth", "invalid_country",
    "invalid_sex", "invalid_document_code", "invalid_document_number", "invalid_name",
})

_CHAR_VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_CHAR_VALUES["<"] = 0
_WEIGHTS = (7, 3, 1)
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_PARTIAL_BIRTH = re.compile(r"\d{4}<<|\d{2}<{4}|<{6}")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is used."""
    return message


_LABELS = {
    "document_number": N_("document number"),
    "birth_date": N_("date of birth"),
    "expiry_date": N_("date of expiry"),
    "personal_number": N_("personal number"),
    "composite": N_("document number, dates and optional data together"),
    "issuing_state": N_("issuing state"),
    "nationality": N_("nationality"),
}


# Messages a live check and a stored finding share (they quote no value read from the MRZ).
_EXPIRY_BEFORE_BIRTH = N_("The date of expiry is not after the date of birth.")
_NAME_CHARACTERS = N_("The name field holds characters other than letters and '<'.")
_NUMBER_NOT_CONTINUED = N_("The document number is marked as longer than nine characters, but the optional data "
                           "does not continue it with a check digit.")

# What a finding stored on an alert means (``finding_message``). An alert keeps each fraud indicator as its
# field and code only, without the values the live check quotes (digits, dates, codes read from the MRZ,
# which stays encrypted), so its reader is told the kind of fault and the field, in the reader's language.
_FINDING_MESSAGES = {
    "check_digit": N_("The check digit of the %(label)s does not match the data it protects."),
    "invalid_character": N_("The MRZ holds characters that an MRZ cannot contain (only A-Z, 0-9 and '<')."),
    "invalid_date": N_("The %(label)s is not a valid calendar date."),
    "expiry_before_birth": _EXPIRY_BEFORE_BIRTH,
    "invalid_country": N_("The %(label)s is not a valid ICAO code."),
    "invalid_sex": N_("The sex is not M, F, X or '<'."),
    "invalid_document_code": N_("The document code is not valid for this MRZ format."),
    "invalid_document_number": _NUMBER_NOT_CONTINUED,
    "invalid_name": _NAME_CHARACTERS,
}


def _(message: str, **variables) -> str:
    """Translate in a request (the reader's language); plain English elsewhere (CLI imports, workers, tests)."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


def check_digit(value: str) -> str:
    """The Doc 9303 check digit of ``value``: weights 7, 3, 1 repeated, A-Z = 10-35, ``<`` = 0, modulo 10.

    Raises ``ValueError`` for a character outside ``A-Z0-9<`` (lower case included: MRZs are upper case).
    """
    total = 0
    for index, char in enumerate(value):
        try:
            total += _CHAR_VALUES[char] * _WEIGHTS[index % 3]
        except KeyError:
            raise ValueError(f"character {char!r} is not allowed in a machine-readable zone") from None
    return str(total % 10)


_DROPPED = str.maketrans("", "", _DASHES + "<")


def normalise_document_number(value: str) -> str:
    """A document number as compared and indexed: upper case, without whitespace, dashes or ``<`` fillers.

    (``str.split()`` splits on exactly the characters ``str.isspace()`` accepts; C loops, not Python
    ones: the import checks every narrative with it.)
    """
    return "".join(value.upper().translate(_DROPPED).split())


@cache
def _icao_codes() -> frozenset[str]:
    return frozenset(country.alpha_3 for country in pycountry.countries) | ICAO_EXTRA_CODES | SPECIMEN_CODES


def canonical_state(code: str) -> str:
    """The one form of an issuing state or nationality code that the portal stores and indexes (``D`` ->
    ``DEU``); any other code unchanged."""
    return _STATE_ALIASES.get(code, code)


def is_valid_icao_code(code: str) -> bool:
    """Whether ``code`` (fillers stripped: ``D``, ``GTM``) names a state or organisation in Doc 9303 terms."""
    return code in _icao_codes()


def finding_message(finding: dict) -> str:
    """A fraud indicator stored on an alert (``{"field": ..., "code": ...}``) as a sentence in the reader's
    language (plain English outside a request)."""
    code, field_name = finding.get("code"), str(finding.get("field") or "")
    message = _FINDING_MESSAGES.get(code)
    if message is None:
        return _("The MRZ fails a check (%(code)s).", code=code)
    if "%(label)s" not in message:
        return _(message)
    label = _LABELS.get(field_name.removesuffix("_check_digit"))
    return _(message, label=_(label) if label else field_name)


@dataclass(frozen=True)
class MrzIssue:
    """One failed check or impossible value: the field it concerns, a stable code, a readable message."""

    field: str
    code: str
    message: str

    @property
    def is_fraud_indicator(self) -> bool:
        return self.code in FRAUD_CODES

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class MrzResult:
    """What ``parse_mrz`` found. ``fields`` holds strings (or ``None``) keyed as listed in ``parse_mrz``."""

    format: str | None
    fields: dict[str, str | None] = field(default_factory=dict)
    errors: list[MrzIssue] = field(default_factory=list)
    lines: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.format is not None and not self.errors

    @property
    def fraud_indicators(self) -> list[MrzIssue]:
        return [issue for issue in self.errors if issue.is_fraud_indicator]

    @property
    def text(self) -> str:
        """The normalised MRZ, one line per row (what should be stored, encrypted, as the raw MRZ)."""
        return "\n".join(self.lines)

    def to_dict(self) -> dict:
        """The body of ``POST /api/v1/mrz/validate``."""
        return {
            "valid": self.valid,
            "format": self.format,
            "fields": dict(self.fields),
            "errors": [issue.to_dict() for issue in self.errors],
        }


def looks_like_mrz(text: str) -> bool:
    """Whether a pasted text has the shape of an MRZ (so a search box can tell it from a document number)."""
    lines, _issues = _normalise(text)
    return lines is not None and _detect(lines) is not None


def parse_mrz(text: str, *, today: date | None = None) -> MrzResult:
    """Parse and verify a pasted MRZ (2 or 3 lines). Never raises for a string; problems are in ``errors``.

    ``fields`` (strings, or ``None`` when absent or unknown), for every format: ``document_code`` (``P``,
    ``ID``, ``V``...), ``document_type`` (its second character, or ``None``), ``issuing_state``, ``surname``,
    ``given_names``, ``document_number`` (complete, also when longer than nine characters),
    ``document_number_check_digit``, ``nationality``, ``birth_date`` (ISO), ``birth_date_raw`` (YYMMDD),
    ``birth_date_check_digit``, ``sex`` (``M``, ``F``, ``X`` or ``<``), ``expiry_date``,
    ``expiry_date_raw``, ``expiry_date_check_digit``. Then TD1: ``optional_data_1``, ``optional_data_2``,
    ``composite_check_digit``; TD2: ``optional_data``, ``composite_check_digit``; TD3: ``personal_number``,
    ``personal_number_check_digit``, ``composite_check_digit``; MRVA and MRVB: ``optional_data``.
    """
    if not isinstance(text, str):
        raise TypeError("parse_mrz() expects the MRZ as a string")
    lines, issues = _normalise(text)
    if lines is None:
        return MrzResult(format=None, errors=issues)
    fmt = _detect(lines)
    if fmt is None:
        return MrzResult(format=None, errors=[_unknown_shape(lines)], lines=tuple(lines))
    parser = _Parser(fmt, lines, today or utcnow().date())
    parser.run()
    return MrzResult(format=fmt, fields=parser.fields, errors=parser.errors, lines=tuple(lines))


# --- input --------------------------------------------------------------------------------------------

def _normalise(text: str) -> tuple[list[str] | None, list[MrzIssue]]:
    """The pasted text as MRZ lines, or ``None`` and the reason when it cannot be read unambiguously."""
    raw_lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()]
    if not raw_lines:
        return None, [MrzIssue("mrz", "empty", _("The MRZ is empty."))]
    stripped = [line.strip().translate(_ASCII_UPPER) for line in raw_lines]
    if len(stripped) > 3 or (not any(" " in line for line in stripped) and _shape_of(stripped) is not None):
        return stripped, []  # (no MRZ has more than three lines: not worth reading spaces in a long paste)
    # Spaces typed for fillers: inside a line, or at its end (which the plain strip above removed).
    readings = []
    for line in raw_lines:
        inner = line.strip().translate(_ASCII_UPPER).replace(" ", "<")
        with_tail = line.lstrip().rstrip("\t\n\x0b\x0c").translate(_ASCII_UPPER).replace(" ", "<")
        readings.append(dict.fromkeys((inner, with_tail)))
    candidates = {combo for combo in product(*readings) if _shape_of(combo) is not None}
    if len(candidates) == 1:
        return list(candidates.pop()), []
    if candidates:
        return None, [MrzIssue("mrz", "ambiguous_spaces", _(
            "The spaces in the MRZ can be read as '<' fillers in more than one way. Type each filler as '<'."))]
    if any(" " in line for line in stripped):
        return None, [MrzIssue("mrz", "ambiguous_spaces", _(
            "The MRZ contains spaces that cannot be read as '<' fillers (line lengths seen: %(lengths)s). "
            "Type each filler as '<'.", lengths=_lengths(stripped)))]
    return stripped, []  # not an MRZ shape: the caller reports the lengths seen


def _shape_of(lines) -> str | None:
    lengths = {len(line) for line in lines}
    if len(lengths) != 1:
        return None
    return _SHAPES.get((len(lines), lengths.pop()))


def _detect(lines: list[str]) -> str | None:
    fmt = _shape_of(lines)
    if fmt in _VISA_OF and lines[0].startswith("V"):
        return _VISA_OF[fmt]
    return fmt


def _lengths(lines) -> str:
    shown = ", ".join(str(len(line)) for line in lines[:5])
    return shown + (", ..." if len(lines) > 5 else "")


def _unknown_shape(lines: list[str]) -> MrzIssue:
    return MrzIssue("mrz", "unknown_format", _(
        "Unrecognised MRZ shape: line lengths seen %(lengths)s. Expected 3 lines of 30 characters (TD1), "
        "2 lines of 36 (TD2, MRV-B) or 2 lines of 44 (TD3, MRV-A).", lengths=_lengths(lines)))


def _safe_check_digit(value: str) -> str | None:
    try:
        return check_digit(value)
    except ValueError:
        return None


def _strip_fillers(value: str) -> str | None:
    value = value.strip("<")
    return value or None


# --- the parser ---------------------------------------------------------------------------------------

class _Parser:
    """Reads one MRZ of a known format into ``fields`` and ``errors``."""

    def __init__(self, fmt: str, lines: list[str], today: date):
        self.fmt, self.lines, self.today = fmt, lines, today
        self.fields: dict[str, str | None] = {}
        self.errors: list[MrzIssue] = []
        self._birth: date | None = None
        self._expiry: date | None = None

    def error(self, field_name: str, code: str, message: str) -> None:
        self.errors.append(MrzIssue(field_name, code, message))

    def run(self) -> None:
        self._characters()
        getattr(self, f"_{self.fmt.lower()}")()
        if self._birth and self._expiry and self._expiry <= self._birth:
            self.error("expiry_date", "expiry_before_birth", _(_EXPIRY_BEFORE_BIRTH))

    # layouts: 0-based slices of Doc 9303's 1-based positions

    def _td1(self) -> None:
        upper, middle, lower = self.lines
        self._code(upper[0:2], allowed="ACI")
        self._country("issuing_state", upper[2:5])
        optional_1 = self._document_number(upper[5:14], upper[14], upper[15:30])
        self.fields["optional_data_1"] = optional_1
        self._dates_sex_nationality(middle[0:6], middle[6], middle[7], middle[8:14], middle[14], middle[15:18])
        self.fields["optional_data_2"] = _strip_fillers(middle[18:29])
        self._composite(upper[5:30] + middle[0:7] + middle[8:15] + middle[18:29], middle[29])
        self._names(lower)

    def _td2(self) -> None:
        upper, lower = self.lines
        self._header(upper, allowed="ACI")
        optional = self._document_number(lower[0:9], lower[9], lower[28:35])
        self._dates_sex_nationality(lower[13:19], lower[19], lower[20], lower[21:27], lower[27], lower[10:13])
        self.fields["optional_data"] = optional
        self._composite(lower[0:10] + lower[13:20] + lower[21:35], lower[35])

    def _td3(self) -> None:
        upper, lower = self.lines
        self._header(upper, allowed="P")
        self._document_number(lower[0:9], lower[9])
        self._dates_sex_nationality(lower[13:19], lower[19], lower[20], lower[21:27], lower[27], lower[10:13])
        self._personal_number(lower[28:42], lower[42])
        self._composite(lower[0:10] + lower[13:20] + lower[21:43], lower[43])

    def _mrva(self) -> None:
        self._visa(optional_end=44)

    def _mrvb(self) -> None:
        self._visa(optional_end=36)

    def _visa(self, optional_end: int) -> None:
        upper, lower = self.lines
        self._header(upper, allowed="V")
        self._document_number(lower[0:9], lower[9])
        self._dates_sex_nationality(lower[13:19], lower[19], lower[20], lower[21:27], lower[27], lower[10:13])
        self.fields["optional_data"] = _strip_fillers(lower[28:optional_end])

    # fields

    def _characters(self) -> None:
        for number, line in enumerate(self.lines, start=1):
            bad = [(position, char) for position, char in enumerate(line, start=1) if char not in _CHAR_VALUES]
            if bad:
                shown = ", ".join(f"{position} ({char!r})" for position, char in bad[:10])
                self.error("mrz", "invalid_character", _(
                    "Line %(line)d holds characters that an MRZ cannot contain (only A-Z, 0-9 and '<'): "
                    "position %(positions)s.", line=number, positions=shown))

    def _header(self, upper: str, allowed: str) -> None:
        self._code(upper[0:2], allowed)
        self._country("issuing_state", upper[2:5])
        self._names(upper[5:])

    def _code(self, code: str, allowed: str) -> None:
        self.fields["document_code"] = _strip_fillers(code)
        self.fields["document_type"] = code[1] if code[1] != "<" else None
        if code[0] not in allowed or not (code[1] == "<" or "A" <= code[1] <= "Z"):
            self.error("document_code", "invalid_document_code", _(
                "The document code %(code)s is not valid for a %(format)s document (it must start with %(allowed)s).",
                code=code, format=self.fmt, allowed=" / ".join(allowed)))

    def _country(self, name: str, raw: str) -> None:
        code = _strip_fillers(raw)
        self.fields[name] = code
        if code is None or not is_valid_icao_code(code):
            self.error(name, "invalid_country", _(
                "%(code)s is not a valid ICAO code for the %(label)s.", code=raw, label=_(_LABELS[name])))

    def _names(self, raw: str) -> None:
        name = raw.rstrip("<")
        primary, _sep, secondary = name.partition("<<")
        self.fields["surname"] = " ".join(primary.replace("<", " ").split()) or None
        self.fields["given_names"] = " ".join(secondary.replace("<", " ").split()) or None
        if any(char.isdigit() for char in raw):  # other stray characters are reported once, as characters
            self.error("surname", "invalid_name", _(_NAME_CHARACTERS))

    def _document_number(self, principal: str, digit: str, optional: str | None = None) -> str | None:
        """Read the number (and, for TD1 and TD2, its continuation); return what is left of the optional data."""
        number, rest = principal, optional
        if optional is not None and digit == "<" and not principal.endswith("<"):
            continuation = optional.split("<", 1)[0]
            if len(continuation) < 2:
                self.fields["document_number"] = principal
                self.fields["document_number_check_digit"] = None
                self.error("document_number", "invalid_document_number", _(_NUMBER_NOT_CONTINUED))
                return _strip_fillers(optional)
            number, digit = principal + continuation[:-1], continuation[-1]
            rest = optional[len(continuation) + 1:]
        self.fields["document_number"] = number.rstrip("<") or None
        self.fields["document_number_check_digit"] = digit
        self._verify("document_number", number, digit)
        return _strip_fillers(rest) if rest is not None else None

    def _dates_sex_nationality(self, birth, birth_digit, sex, expiry, expiry_digit, nationality) -> None:
        self._country("nationality", nationality)
        self.fields["birth_date"] = self._iso(self._read_birth(birth))
        self.fields["birth_date_raw"] = birth
        self.fields["birth_date_check_digit"] = birth_digit
        self._verify("birth_date", birth, birth_digit)
        self.fields["sex"] = sex
        if sex not in "MFX<":
            self.error("sex", "invalid_sex", _("%(sex)s is not a valid sex (M, F, X or '<').", sex=sex))
        self.fields["expiry_date"] = self._iso(self._read_expiry(expiry))
        self.fields["expiry_date_raw"] = expiry
        self.fields["expiry_date_check_digit"] = expiry_digit
        self._verify("expiry_date", expiry, expiry_digit)

    def _personal_number(self, raw: str, digit: str) -> None:
        self.fields["personal_number"] = _strip_fillers(raw)
        self.fields["personal_number_check_digit"] = digit
        if set(raw) == {"<"} and digit in "<0":
            return  # unused field: its check digit may be '<' or 0 (Doc 9303 part 4)
        self._verify("personal_number", raw, digit)

    def _composite(self, data: str, digit: str) -> None:
        self.fields["composite_check_digit"] = digit
        self._verify("composite", data, digit, field_name="composite_check_digit")

    def _verify(self, label: str, data: str, digit: str, field_name: str | None = None) -> None:
        expected = _safe_check_digit(data)
        if expected is None:
            message = _("The check digit of the %(label)s cannot be verified: the field holds characters that "
                        "an MRZ cannot contain.", label=_(_LABELS[label]))
        elif digit != expected:
            message = _("The check digit of the %(label)s is %(found)s but the data gives %(expected)s.",
                        label=_(_LABELS[label]), found=digit, expected=expected)
        else:
            return
        self.error(field_name or label, "check_digit", message)

    # dates

    @staticmethod
    def _iso(value: date | None) -> str | None:
        return value.isoformat() if value else None

    def _read_birth(self, raw: str) -> date | None:
        if "<" in raw and _PARTIAL_BIRTH.fullmatch(raw):
            month = raw[2:4]
            if month.isdigit() and not 1 <= int(month) <= 12:
                self._bad_date("birth_date", raw)
            return None  # partly unknown, as Doc 9303 allows
        parts = self._date_parts("birth_date", raw)
        if parts is None:
            return None
        yy, month, day = parts
        year = 2000 + yy if (2000 + yy, month, day) <= (self.today.year, self.today.month, self.today.day) else 1900 + yy
        self._birth = self._make_date("birth_date", raw, year, month, day)
        return self._birth

    def _read_expiry(self, raw: str) -> date | None:
        if raw == "<<<<<<":
            return None  # no expiry date
        parts = self._date_parts("expiry_date", raw)
        if parts is None:
            return None
        yy, month, day = parts
        low = self.today.year - 50
        year = next(century + yy for century in (1900, 2000, 2100, 2200) if low <= century + yy < low + 100)
        self._expiry = self._make_date("expiry_date", raw, year, month, day)
        return self._expiry

    def _date_parts(self, name: str, raw: str) -> tuple[int, int, int] | None:
        if not (raw.isascii() and raw.isdigit()):
            self._bad_date(name, raw)
            return None
        return int(raw[0:2]), int(raw[2:4]), int(raw[4:6])

    def _make_date(self, name: str, raw: str, year: int, month: int, day: int) -> date | None:
        try:
            return date(year, month, day)
        except ValueError:
            self._bad_date(name, raw)
            return None

    def _bad_date(self, name: str, raw: str) -> None:
        self.error(name, "invalid_date", _(
            "%(raw)s is not a valid calendar date (YYMMDD) for the %(label)s.", raw=raw, label=_(_LABELS[name])))
