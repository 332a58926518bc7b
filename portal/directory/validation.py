"""Checking and normalising directory input: names, e-mails, phones (E.164), languages, time zones, roles
and network codes. Every check raises ``DirectoryError`` naming the form field or JSON key it refuses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import available_timezones

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from portal.directory.indexes import normalise_name
from portal.directory.models import MEMBERSHIP_ROLES
from portal.parties.models import Party

MAX_PHONES = 5
MAX_LANGUAGES = 10
NETWORK_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")


class DirectoryError(ValueError):
    """Refused input; ``field`` names the form field or JSON key, ``message`` says why (translatable)."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self.message = message


def party_region(party: Party | None) -> str | None:
    """The ISO 3166 alpha-2 region of a country party (default region for national phone numbers)."""
    if party is None or party.kind not in ("member", "observer"):
        return None
    country = pycountry.countries.get(alpha_3=party.code)
    return country.alpha_2 if country else None


def clean_name(value: str) -> str:
    """The name with its whitespace collapsed; refused when empty or longer than 200 characters."""
    name = " ".join((value or "").split())
    if not normalise_name(name):
        raise DirectoryError("full_name", _l("Enter the person's name."))
    if len(name) > 200:
        raise DirectoryError("full_name", _l("At most 200 characters."))
    return name


def clean_email(value: str) -> str:
    """The normalised address (deliverability is not checked)."""
    try:
        return validate_email((value or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise DirectoryError("email", _l("Enter a valid e-mail address.")) from exc


def clean_phones(values, region: str | None) -> list[str]:
    """Parse each number (national numbers in ``region``), refuse invalid ones; return E.164, deduplicated."""
    numbers: list[str] = []
    for raw in values:
        raw = raw.strip()
        if not raw:
            continue
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException as exc:
            raise DirectoryError("phones", _l("%(number)s is not a phone number.", number=raw[:40])) from exc
        if not phonenumbers.is_valid_number(parsed):
            raise DirectoryError("phones", _l("%(number)s is not a valid phone number (write it with its "
                                              "country code, e.g. +502 2411 1111).", number=raw[:40]))
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in numbers:
            numbers.append(e164)
    if len(numbers) > MAX_PHONES:
        raise DirectoryError("phones", _l("At most %(n)s phone numbers.", n=MAX_PHONES))
    return numbers


def split_list(text: str) -> list[str]:
    """The items of a comma-, semicolon- or space-separated list."""
    return [part.strip() for part in re.split(r"[,;\s]+", text or "") if part.strip()]


def clean_languages(codes) -> list[str]:
    """ISO 639-1 codes, lower-cased and deduplicated."""
    cleaned: list[str] = []
    for code in codes:
        code = code.strip().lower()
        if len(code) != 2 or pycountry.languages.get(alpha_2=code) is None:
            raise DirectoryError("languages", _l("%(code)s is not an ISO 639-1 language code (e.g. es, en, fr).",
                                                 code=code[:12]))
        if code not in cleaned:
            cleaned.append(code)
    if len(cleaned) > MAX_LANGUAGES:
        raise DirectoryError("languages", _l("At most %(n)s languages.", n=MAX_LANGUAGES))
    return cleaned


def clean_time_zone(value: str | None) -> str | None:
    """An IANA time zone name, or None when left empty."""
    value = (value or "").strip()
    if not value:
        return None
    if value not in available_timezones():
        raise DirectoryError("time_zone", _l("Enter an IANA time zone, e.g. America/Guatemala."))
    return value


def clean_role(role: str) -> str:
    """A membership role from ``MEMBERSHIP_ROLES``."""
    if role not in MEMBERSHIP_ROLES:
        raise DirectoryError("role", _l("Choose a role from the list."))
    return role


def clean_network_code(code: str) -> str:
    """A new network's code, upper-cased: 2 to 32 capital letters, digits or dashes, starting with a letter."""
    code = (code or "").strip().upper()
    if not NETWORK_CODE.match(code):
        raise DirectoryError("code", _l("Use 2 to 32 capital letters, digits or dashes, starting with a letter."))
    return code


def language_name(code: str) -> str:
    """The English name of an ISO 639-1 code (the code itself when unknown)."""
    language = pycountry.languages.get(alpha_2=code)
    return language.name if language else code


@dataclass
class EntryData:
    """Validated entry fields, as the form or another caller hands them over."""

    full_name: str
    email: str
    title: str = ""
    institution: str = ""
    phones: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    time_zone: str | None = None
    phones_restricted: bool = False


def entry_errors(party: Party, raw: dict) -> dict[str, object]:
    """Every field error of raw entry input at once (field name -> message), for the form."""
    errors: dict[str, object] = {}
    checks = {
        "full_name": lambda: clean_name(raw.get("full_name", "")),
        "email": lambda: clean_email(raw.get("email", "")),
        "phones": lambda: clean_phones(raw.get("phones", ()), party_region(party)),
        "languages": lambda: clean_languages(raw.get("languages", ())),
        "time_zone": lambda: clean_time_zone(raw.get("time_zone")),
    }
    for check in checks.values():
        try:
            check()
        except DirectoryError as error:
            errors[error.field] = error.message
    return errors


def validate_entry_data(party: Party, *, full_name: str, email: str, title: str = "", institution: str = "",
                        phones=(), languages=(), time_zone: str | None = None,
                        phones_restricted: bool = False) -> EntryData:
    """Check and normalise raw entry input; raises ``DirectoryError`` naming the first bad field."""
    return EntryData(
        full_name=clean_name(full_name),
        email=clean_email(email),
        title=(title or "").strip()[:200],
        institution=(institution or "").strip()[:200],
        phones=clean_phones(phones, party_region(party)),
        languages=clean_languages(languages),
        time_zone=clean_time_zone(time_zone),
        phones_restricted=bool(phones_restricted),
    )
