"""Checking the fields of an alert: every bad field is reported at once, and nothing is written.

``clean(data, owner_party_id=...)`` turns the input of a form, the API or an import (strings, lists,
dates or ISO date strings) into the values the model stores, or raises ``AlertValidationError`` whose
``errors`` maps each bad field to a message a person can act on.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pycountry
from flask_babel import gettext as _
from sqlalchemy import select

from alerts import vocabulary
from alerts.indexes import VALID_NUMBER, NumberRange, normalise_document_number
from alerts.mrz import canonical_state, is_valid_icao_code, parse_mrz
from alerts.narratives import narrative_finding
from portal.access import DISTRIBUTION_LEVELS, TLP_LEVELS, DistributionError, validate_distribution
from portal.distribution import recipient_ids_by_code
from portal.extensions import db
from portal.parties.models import Network
from portal.timeutil import utcnow

NARRATIVE_FIELDS = ("description", "modus_operandi", "detection_tips")
MAX_NARRATIVE = 10_000
REVIEW_YEARS = 10


class AlertValidationError(ValueError):
    """Bad alert input; ``errors`` maps every bad field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = dict(errors)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def default_review_date(detection_date: date | None, today: date) -> date:
    """Ten years after detection (or after today, with no detection date). An alert detected more than ten
    years ago gets ten years from today instead: a default already past would expire it on the next daily
    run, and a given review date must be in the future too."""
    review = add_years(detection_date or today, REVIEW_YEARS)
    return review if review > today else add_years(today, REVIEW_YEARS)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == ()


class _Checker:
    def __init__(self, data: dict):
        self.data = data
        self.errors: dict[str, str] = {}
        self.today = utcnow().date()

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def text(self, name: str, limit: int, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if _blank(value):
            if required:
                self.fail(name, _("This field is required."))
            return None
        if not isinstance(value, str):
            self.fail(name, _("Expected text."))
            return None
        value = value.strip()
        if len(value) > limit:
            self.fail(name, _("At most %(limit)d characters.", limit=limit))
            return None
        return value

    def choice(self, name: str, choices: dict, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if _blank(value):
            if required:
                self.fail(name, _("This field is required."))
            return None
        if value not in choices:
            self.fail(name, _("Choose one of: %(choices)s.", choices=", ".join(choices)))
            return None
        return value

    def icao(self, name: str, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if _blank(value):
            if required:
                self.fail(name, _("This field is required."))
            return None
        code = str(value).strip().upper().strip("<")
        if not is_valid_icao_code(code):
            self.fail(name, _("%(code)s is not an ICAO code of a state or organisation.", code=str(value)[:8]))
            return None
        return canonical_state(code)

    def day(self, name: str, *, not_future: bool = False) -> date | None:
        value = self.data.get(name)
        if _blank(value):
            return None
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            try:
                value = date.fromisoformat(str(value).strip())
            except ValueError:
                self.fail(name, _("Enter a date as YYYY-MM-DD."))
                return None
        if not_future and value > self.today:
            self.fail(name, _("This date is in the future."))
            return None
        return value

    def code_list(self, name: str, valid) -> list[str]:
        value = self.data.get(name)
        if _blank(value):
            return []
        items = re.split(r"[\s,;]+", value.strip()) if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            self.fail(name, _("Expected a list."))
            return []
        cleaned = [str(item).strip().upper() if name == "route" else str(item).strip() for item in items if str(item).strip()]
        bad = [item for item in cleaned if not valid(item)]
        if bad:
            self.fail(name, _("Not recognised: %(values)s.", values=", ".join(bad[:5])[:80]))
            return []
        return cleaned


def _is_route_country(code: str) -> bool:
    return pycountry.countries.get(alpha_3=code) is not None


def _is_objective(code: str) -> bool:
    from portal.plan.data import get_objective

    return get_objective(code) is not None


def _document_number(check: _Checker, name: str) -> str | None:
    value = check.data.get(name)
    if _blank(value):
        return None
    number = normalise_document_number(str(value))
    if not VALID_NUMBER.match(number):
        check.fail(name, _("A document number holds 1 to 30 letters and digits (spaces and dashes are ignored)."))
        return None
    return number


class RecipientLookup:
    """The parties a distribution may list and the networks it may name, read from the database once per
    lookup: ``clean`` makes one per call; an import passes one for the whole file (same answers, without
    two queries per row)."""

    def __init__(self):
        self._eligible: dict[int, dict[str, int]] = {}
        self._networks: dict[object, int | None] = {}

    def eligible(self, owner_party_id: int) -> dict[str, int]:
        """Code -> id of the active member and secretariat parties other than the owner."""
        if owner_party_id not in self._eligible:
            self._eligible[owner_party_id] = recipient_ids_by_code(owner_party_id)
        return self._eligible[owner_party_id]

    def network_id(self, network) -> int | None:
        """The id of the network named by code (a string) or given by id (an integer); ``None`` when there
        is none, or for any other value (a list or an object sent in JSON names no network)."""
        if isinstance(network, bool) or not isinstance(network, str | int):
            return None
        key = (type(network), network)
        if key not in self._networks:
            column = Network.code if isinstance(network, str) else Network.id
            self._networks[key] = db.session.scalar(select(Network.id).where(column == network))
        return self._networks[key]


def _distribution(check: _Checker, owner_party_id: int,
                  lookup: RecipientLookup) -> tuple[str | None, list[int], int | None]:
    raw = check.data.get("distribution")
    if isinstance(raw, dict):
        level, parties, network = raw.get("level"), raw.get("parties") or [], raw.get("network")
    else:
        level, parties, network = raw, check.data.get("parties") or [], check.data.get("network")
    tlp = check.data.get("tlp")
    if level not in DISTRIBUTION_LEVELS:
        check.fail("distribution", _("Choose who receives the alert (%(levels)s).", levels=", ".join(DISTRIBUTION_LEVELS)))
        level = None
    if tlp not in TLP_LEVELS:
        check.fail("tlp", _("Choose a TLP marking (%(levels)s).", levels=", ".join(TLP_LEVELS)))
    if not isinstance(parties, list | tuple):
        check.fail("parties", _("Expected a list of parties."))
        parties = []
    party_ids: list[int] = []
    if level == "parties" and parties:
        eligible = lookup.eligible(owner_party_id)
        by_id = {pid: pid for pid in eligible.values()}
        unknown = [str(item) for item in parties if eligible.get(item, by_id.get(item)) is None]
        if unknown:
            check.fail("parties", _("Not a party that can receive alerts: %(codes)s.", codes=", ".join(unknown[:5])[:80]))
        party_ids = sorted({eligible.get(item, by_id.get(item)) for item in parties} - {None})
    network_id = None
    if level == "network" and not _blank(network):
        found = lookup.network_id(network)
        if found is None:
            check.fail("network", _("Unknown network."))
        network_id = found
    if level and tlp in TLP_LEVELS and "parties" not in check.errors and "network" not in check.errors:
        try:
            validate_distribution(level, tlp, party_ids, network_id)
        except DistributionError as exc:
            check.fail(exc.field, _("Invalid value: %(message)s.", message=exc.message))
    return (level if isinstance(level, str) else None), party_ids, network_id


def narrative_leaks(narrative: str | None, secrets: list[str], names: list[str]) -> bool:
    """Whether a narrative holds holder data, a document number or an MRZ line (``alerts.narratives``)."""
    return narrative_finding(narrative, secrets, names) is not None


def _narrative_labels() -> dict[str, str]:
    return {"description": _("description"), "modus_operandi": _("modus operandi"),
            "detection_tips": _("detection tips")}


def _narrative_refusal(field: str, finding: str) -> str:
    """The message for a narrative field holding ``finding`` data (what kind, never the value itself)."""
    label = _narrative_labels()[field]
    if finding == "number":
        return _("Do not write the document number in the %(field)s, not even with separators or look-alike "
                 "characters: this text is stored in clear for full-text search.", field=label)
    if finding == "name":
        return _("Do not write the holder's name in the %(field)s, not even one of the names: this text is "
                 "stored in clear for full-text search.", field=label)
    return _("Do not copy a machine-readable zone (MRZ) line into the %(field)s: this text is stored in clear "
             "for full-text search.", field=label)


def _holder_data(values: dict, secrets: list[str]) -> tuple[list[str], list[str]]:
    """The numbers and names a narrative may not hold: the alert's, and those its MRZ field carries."""
    numbers, names = list(secrets), [values["holder_name"]]
    if values.get("mrz"):
        fields = parse_mrz(values["mrz"]).fields
        numbers.append(fields.get("document_number"))
        names += [fields.get("surname"), fields.get("given_names")]
    return [number for number in numbers if number], [name for name in names if name]


def clean(data: dict, *, owner_party_id: int, statuses=("draft", "published"),
          lookup: RecipientLookup | None = None) -> dict:
    """Validated model values for ``data``; raises ``AlertValidationError`` listing every bad field.

    ``lookup`` answers the distribution's questions to the database (one per call by default).
    """
    check = _Checker(data)
    values: dict = {}
    values["detecting_unit"] = check.text("detecting_unit", 200)
    values["detection_place_kind"] = check.choice("detection_place_kind", vocabulary.PLACE_KINDS)
    values["detection_place"] = check.text("detection_place", 200)
    values["detection_date"] = check.day("detection_date", not_future=True)
    values["route"] = check.code_list("route", _is_route_country)
    values["bearer_nationality"] = check.icao("bearer_nationality")

    values["document_category"] = check.choice("document_category", vocabulary.DOCUMENT_CATEGORIES, required=True)
    values["document_type"] = check.choice("document_type", vocabulary.DOCUMENT_TYPES)
    values["issuing_state"] = check.icao("issuing_state", required=True)
    values["series"] = check.text("series", 64)
    values["issue_date"] = check.day("issue_date", not_future=True)
    values["expiry_date"] = check.day("expiry_date")
    if values["issue_date"] and values["expiry_date"] and values["expiry_date"] <= values["issue_date"]:
        check.fail("expiry_date", _("The date of expiry must be after the date of issue."))

    values["fraud_type"] = check.choice("fraud_type", vocabulary.FRAUD_TYPES, required=True)
    values["forgery_subtype"] = check.choice("forgery_subtype", vocabulary.FORGERY_SUBTYPES)
    if values["fraud_type"] == "forgery" and not values["forgery_subtype"] and "forgery_subtype" not in check.errors:
        check.fail("forgery_subtype", _("Say how the document was forged."))
    if values["fraud_type"] not in (None, "forgery") and values["forgery_subtype"]:
        check.fail("forgery_subtype", _("Only a forgery has a subtype."))
    values["security_features"] = check.code_list("security_features", vocabulary.SECURITY_FEATURES.__contains__)

    number = _document_number(check, "document_number")
    start, end = _document_number(check, "range_start"), _document_number(check, "range_end")
    values["document_number"], values["range_start"], values["range_end"] = number, start, end
    has_range = not (_blank(data.get("range_start")) and _blank(data.get("range_end")))
    if has_range and number:
        check.fail("document_number", _("Give either a document number or a series of numbers, not both."))
    elif not has_range and not number and "document_number" not in check.errors:
        check.fail("document_number", _("Give the document number, or the first and last numbers of a series."))
    if has_range:
        if values["fraud_type"] and values["fraud_type"] not in vocabulary.RANGE_FRAUD_TYPES:
            check.fail("range_start", _("A series of numbers is only reported for stolen blanks or lost or stolen documents."))
        elif start and end and NumberRange.parse(start, end) is None:
            check.fail("range_end", _("The last number must have the same letters and as many digits as the "
                                      "first, and not be lower."))
        elif not start or not end:
            for name, bound in (("range_start", start), ("range_end", end)):
                if not bound and name not in check.errors:
                    check.fail(name, _("Give both the first and the last number of the series."))

    values["description"] = check.text("description", MAX_NARRATIVE, required=True)
    values["modus_operandi"] = check.text("modus_operandi", MAX_NARRATIVE)
    values["detection_tips"] = check.text("detection_tips", MAX_NARRATIVE)

    values["holder_name"] = check.text("holder_name", 200)
    birth = check.day("holder_birth_date", not_future=True)
    values["holder_birth_date"] = birth.isoformat() if birth else None
    values["mrz"] = check.text("mrz", 200)

    numbers, names = _holder_data(values, [value for value in (number, start, end) if value])
    for name in NARRATIVE_FIELDS:
        finding = narrative_finding(values[name], numbers, names)
        if finding and name not in check.errors:
            check.fail(name, _narrative_refusal(name, finding))

    values["status"] = check.choice("status", {status: status for status in statuses}) or statuses[0]
    values["tlp"] = data.get("tlp")
    values["distribution_level"], values["party_ids"], values["network_id"] = _distribution(check, owner_party_id, lookup or RecipientLookup())

    values["review_date"] = check.day("review_date")
    if values["review_date"] and values["review_date"] <= check.today:
        check.fail("review_date", _("The review date must be in the future."))
    if not values["review_date"] and "review_date" not in check.errors:
        values["review_date"] = default_review_date(values["detection_date"], check.today)
    if "objectives" in data and not _blank(data.get("objectives")):
        values["objectives"] = check.code_list("objectives", _is_objective)
    else:
        from portal.plan.registry import objectives_for_action

        values["objectives"] = list(objectives_for_action("alert."))

    if check.errors:
        raise AlertValidationError(check.errors)
    return values
