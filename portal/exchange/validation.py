"""Checking submission input: a new or edited submission (``clean_submission``), a reply's body and
audience (``clean_reply``) and the parties a submission is forwarded to (``clean_forward``).

Every bad field is reported at once in ``SubmissionInvalid.errors`` (one message per field, keyed by the
form field or JSON key) and nothing is written. What depends on the database (the parties the sender may
address, the alerts it can see, the plan's objectives) is checked here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from portal.access import TLP_LEVELS, visible
from portal.distribution import expand_recipients, networks, recipient_ids_by_code
from portal.exchange.models import (
    HANDLING_CODES,
    INFORMATION_ACCURACY,
    KIND_OBJECTIVES,
    KINDS,
    RFI,
    SOURCE_RELIABILITY,
    Submission,
)
from portal.exchange.queries import audience_party_ids
from portal.extensions import db
from portal.parties.models import Party
from portal.plan.data import objective_codes
from portal.plan.registry import objectives_for_action
from portal.principal import Principal
from portal.routing import MAX_DATABASE_INT
from portal.timeutil import utcnow

MAX_TITLE = 200
MAX_SUMMARY = 2000
MAX_BODY = 50000
MAX_RESTRICTIONS = 1000
MAX_REPLY = 20000


class SubmissionInvalid(ValueError):
    """Bad input: ``errors`` maps each bad field to one message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass
class SubmissionData:
    """A submission's checked input, as ``create_submission`` and ``update_submission`` take it."""

    title: str
    kind: str
    summary: str
    body: str
    source_reliability: str
    information_accuracy: str
    handling_code: str
    handling_restrictions: str | None
    tlp: str
    party_ids: list[int]
    network_ids: list[int]
    recipient_ids: list[int]
    alert_ids: list[int]
    objectives: list[str]
    due_date: date | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class ReplyData:
    """A reply's checked input: its text, the parties that will see it (the replying one included) and
    whether that is narrower than the submission's whole audience."""

    body: str
    party_ids: set[int]
    restricted: bool


def coordination_objectives() -> list[str]:
    """The objective codes a submission may be linked to: the Coordination axis of the 2018 plan."""
    return [code for code in objective_codes() if code.startswith("ERX-COO-")]


def default_objectives(kind: str) -> list[str]:
    """The objectives a submission of ``kind`` is linked to when its author names none."""
    return sorted(KIND_OBJECTIVES.get(kind) or objectives_for_action("exchange.create"))


def _text(raw: dict, key: str, maximum: int, errors: dict, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[key] = _("This field is required.")
        return None
    if not isinstance(value, str):
        errors[key] = _("Must be text.")
        return None
    value = value.strip()
    if _unstorable(value):
        errors[key] = _("Contains characters that cannot be stored (NUL or a lone surrogate).")
        return None
    if len(value) > maximum:
        errors[key] = _("At most %(max)d characters.", max=maximum)
        return None
    return value


def _unstorable(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _choice(raw: dict, key: str, choices, errors: dict) -> str | None:
    value = raw.get(key)
    if value in (None, ""):
        errors[key] = _("This field is required.")
        return None
    if not isinstance(value, str) or value not in choices:
        errors[key] = _("Must be one of: %(choices)s.", choices=", ".join(choices))
        return None
    return value


def _string_list(raw: dict, key: str, errors: dict) -> list[str]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) and not _unstorable(item) for item in value):
        errors[key] = _("Must be a list of codes.")
        return []
    return sorted(set(value))


def _party_ids(owner_party_id: int, codes: list[str], key: str, errors: dict) -> list[int]:
    allowed = recipient_ids_by_code(owner_party_id)
    unknown = [code for code in codes if code not in allowed]
    if unknown:
        errors[key] = _("Not a party you can address: %(codes)s.", codes=", ".join(unknown))
        return []
    return sorted(allowed[code] for code in codes)


def _due_date(raw: dict, kind: str | None, errors: dict) -> date | None:
    value = raw.get("due_date")
    if value in (None, ""):
        if kind == RFI:
            errors["due_date"] = _("A request for information needs a due date.")
        return None
    if kind != RFI:
        errors["due_date"] = _("Only a request for information has a due date.")
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            errors["due_date"] = _("Use the form YYYY-MM-DD.")
            return None
    if not isinstance(value, date):
        errors["due_date"] = _("Use the form YYYY-MM-DD.")
        return None
    if value < utcnow().date():
        errors["due_date"] = _("The due date cannot be in the past.")
        return None
    return value


def clean_submission(principal: Principal, raw: dict) -> SubmissionData:
    """Check every field of ``raw`` (codes for parties, networks and objectives; ids for alerts).

    Raises ``SubmissionInvalid`` with one message per bad field.
    """
    from alerts.models import Alert

    errors: dict[str, str] = {}
    title = _text(raw, "title", MAX_TITLE, errors)
    kind = _choice(raw, "kind", tuple(KINDS), errors)
    summary = _text(raw, "summary", MAX_SUMMARY, errors)
    body = _text(raw, "body", MAX_BODY, errors)
    reliability = _choice(raw, "source_reliability", tuple(SOURCE_RELIABILITY), errors)
    accuracy = _choice(raw, "information_accuracy", tuple(INFORMATION_ACCURACY), errors)
    handling = _choice(raw, "handling_code", tuple(HANDLING_CODES), errors)
    restrictions = _text(raw, "handling_restrictions", MAX_RESTRICTIONS, errors, required=handling == "other")
    if handling == "other" and "handling_restrictions" in errors and raw.get("handling_restrictions") in (None, ""):
        errors["handling_restrictions"] = _("State the restrictions that apply.")
    tlp = _choice(raw, "tlp", TLP_LEVELS, errors)

    party_ids = _party_ids(principal.party_id, _string_list(raw, "parties", errors), "parties", errors)
    network_codes = _string_list(raw, "networks", errors)
    known_networks = {network.code: network.id for network in networks()}
    unknown = [code for code in network_codes if code not in known_networks]
    if unknown:
        errors["networks"] = _("Unknown network: %(codes)s.", codes=", ".join(unknown))
    network_ids = sorted(known_networks[code] for code in network_codes if code in known_networks)
    recipient_ids = expand_recipients(principal.party_id, party_ids, network_ids)
    if "parties" not in errors and "networks" not in errors:
        if not party_ids and not network_ids:
            errors["parties"] = _("Choose at least one recipient party or network.")
        elif not recipient_ids:
            errors["networks"] = _("These networks have no other member party to send to.")

    alert_ids = raw.get("related_alerts") or []
    if not isinstance(alert_ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_DATABASE_INT for i in alert_ids):
        errors["related_alerts"] = _("Must be a list of alert ids.")
        alert_ids = []
    alert_ids = sorted(set(alert_ids))
    if alert_ids:
        seen = set(db.session.scalars(visible(Alert, principal).where(Alert.id.in_(alert_ids))
                                      .with_only_columns(Alert.id)))
        if seen != set(alert_ids):
            errors["related_alerts"] = _("Relate only alerts you can see.")

    objectives = _string_list(raw, "objectives", errors)
    allowed_objectives = set(objective_codes())
    if any(code not in allowed_objectives for code in objectives):
        errors["objectives"] = _("Unknown plan objective.")
    if not objectives and kind:
        objectives = default_objectives(kind)
    due = _due_date(raw, kind, errors)
    if errors:
        raise SubmissionInvalid(errors)
    return SubmissionData(title=title, kind=kind, summary=summary, body=body, source_reliability=reliability,
                          information_accuracy=accuracy, handling_code=handling,
                          handling_restrictions=restrictions if handling == "other" else None, tlp=tlp,
                          party_ids=party_ids, network_ids=network_ids, recipient_ids=recipient_ids,
                          alert_ids=alert_ids, objectives=objectives, due_date=due)


def clean_reply(principal: Principal, submission: Submission, body, audience) -> ReplyData:
    """Check a reply's ``body`` and its ``audience`` (party codes, or none for the whole audience).

    The replying party is always in the audience; a narrower audience names at least one other party, and
    only parties that already see the submission. Raises ``SubmissionInvalid``.
    """
    errors: dict[str, str] = {}
    text = _text({"body": body}, "body", MAX_REPLY, errors)
    whole = audience_party_ids(submission)
    chosen = set(whole)
    if audience:
        if not isinstance(audience, list) or not all(isinstance(code, str) and not _unstorable(code)
                                                     for code in audience):
            errors["audience"] = _("Must be a list of party codes.")
        else:
            ids = dict(db.session.execute(select(Party.code, Party.id).where(Party.code.in_(audience))).all())
            chosen = {ids[code] for code in audience if code in ids} | {principal.party_id}
            if len(ids) != len(set(audience)) or not chosen <= whole:
                errors["audience"] = _("A reply can only go to parties that already see the submission.")
            elif chosen == {principal.party_id}:
                errors["audience"] = _("Choose at least one other party.")
    if errors:
        raise SubmissionInvalid(errors)
    return ReplyData(body=text, party_ids=chosen, restricted=chosen != whole)


def clean_forward(submission: Submission, party_codes_to) -> list[int]:
    """The ids of the parties ``party_codes_to`` names that do not receive ``submission`` yet.

    Each must be a party the sender may address, and at least one must be new. Raises ``SubmissionInvalid``.
    """
    errors: dict[str, str] = {}
    codes = _string_list({"parties": party_codes_to}, "parties", errors)
    if not errors and not codes:
        errors["parties"] = _("Choose at least one party to forward to.")
    new_ids = _party_ids(submission.owner_party_id, codes, "parties", errors) if codes and not errors else []
    current = set(submission.recipient_party_ids)
    if new_ids and set(new_ids) <= current:
        errors["parties"] = _("These parties already receive this submission.")
    if errors:
        raise SubmissionInvalid(errors)
    return sorted(set(new_ids) - current)
