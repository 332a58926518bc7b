"""Writing, sending, acknowledging, answering, forwarding and closing submissions.

Each operation checks what the acting party may do, changes the data, flushes, writes its audit entry
(``exchange.*``) and its notifications. Input is checked in full by ``clean_submission`` (every bad field
reported at once, nothing written); refusals raise ``ExchangeRefused`` after auditing the attempt as denied.
Notifications and e-mails carry only the reference, kind and TLP of an AMBER or RED submission.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask import has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, not_, or_, select

from auth.models import User
from auth.permissions import permissions_for_role
from portal.access import (
    RESTRICTED_TLP,
    TLP_LEVELS,
    can_reshare,
    get_visible_or_404,
    may_change,
    owns,
    set_distribution,
    visibility_clause,
    visible,
)
from portal.audit.service import record
from portal.distribution import expand_recipients, networks, recipient_ids_by_code
from portal.exchange.models import (
    FORWARDABLE_HANDLING,
    HANDLING_CODES,
    INFORMATION_ACCURACY,
    KIND_OBJECTIVES,
    KINDS,
    RFI,
    SOURCE_RELIABILITY,
    Submission,
    SubmissionAcknowledgement,
    SubmissionAlert,
    SubmissionForward,
    SubmissionNetwork,
    SubmissionRead,
    SubmissionReply,
)
from portal.extensions import db
from portal.notifications.operations import notify, title_for
from portal.outbox.service import queue_email
from portal.parties.models import Network, Party
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
OPEN_STATUSES = ("sent", "acknowledged", "answered")
PERMISSION = "exchange_intelligence"


class SubmissionInvalid(ValueError):
    """Bad input: ``errors`` maps each bad field to one message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(errors))
        self.errors = errors


class ExchangeRefused(Exception):
    """The acting party may not do this (``reason``: not_owner, not_recipient, status, handling_code, tlp,
    already_acknowledged); ``message`` is shown to the user."""

    def __init__(self, reason: str, message: str):
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass
class SubmissionData:
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


# --- lookups ------------------------------------------------------------------------------------------

def coordination_objectives() -> list[str]:
    """The objective codes a submission may be linked to: the Coordination axis of the 2018 plan."""
    return [code for code in objective_codes() if code.startswith("ERX-COO-")]


def default_objectives(kind: str) -> list[str]:
    return sorted(KIND_OBJECTIVES.get(kind) or objectives_for_action("exchange.create"))


def sender_alerts(principal: Principal, limit: int = 200):
    """Alerts the sender may relate to a submission: the ones the sender can see, newest first."""
    from alerts.models import Alert

    return list(db.session.scalars(visible(Alert, principal).order_by(Alert.id.desc()).limit(limit)))


def audience_party_ids(submission: Submission) -> set[int]:
    """The parties that can see ``submission``: the sender's and every recipient."""
    return {submission.owner_party_id, *submission.recipient_party_ids}


def party_codes(party_ids) -> list[str]:
    if not party_ids:
        return []
    return sorted(db.session.scalars(select(Party.code).where(Party.id.in_(list(party_ids)))))


# --- input --------------------------------------------------------------------------------------------

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


# --- notifications ------------------------------------------------------------------------------------

def _link(submission: Submission, external: bool = False) -> str:
    if has_request_context():
        return url_for("exchange.detail", submission_id=submission.id, _external=external)
    return f"/exchange/{submission.id}"


def readers(submission: Submission, party_ids, exclude_user_id: int | None = None) -> list[User]:
    """Active users of ``party_ids`` who hold exchange_intelligence and can see ``submission``."""
    if not party_ids:
        return []
    users = db.session.scalars(select(User).where(User.active.is_(True), User.party_id.in_(list(party_ids)))).all()
    groups: dict[tuple[int, str], list[User]] = defaultdict(list)
    for user in users:
        if user.id != exclude_user_id and PERMISSION in permissions_for_role(user.role):
            groups[(user.party_id, user.role)].append(user)
    chosen: list[User] = []
    for members in groups.values():
        principal = Principal.for_user(members[0])
        if db.session.scalar(visible(Submission, principal).where(Submission.id == submission.id)
                             .with_only_columns(Submission.id)):
            chosen.extend(members)
    return sorted(chosen, key=lambda user: user.id)


def _email_body(submission: Submission, headline: str) -> str:
    lines = [headline, "", _("Reference: %(reference)s", reference=submission.reference),
             _("Kind: %(kind)s", kind=KINDS[submission.kind]), f"TLP:{submission.tlp}",
             _("From: %(party)s", party=submission.owner_party.code)]
    if submission.tlp in ("CLEAR", "GREEN"):
        lines.append(_("Title: %(title)s", title=submission.title))
    else:
        lines.append(_("The content is shown only on the portal, after you sign in."))
    lines += ["", _link(submission, external=True)]
    return "\n".join(lines)


def _notify(submission: Submission, users, kind: str, content_title, reference_title) -> None:
    """In-app notification and an e-mail through the outbox, each in the user's language."""
    title = title_for(submission.tlp, content_title=content_title, reference_title=reference_title)
    notify(users, kind, title, _link(submission), submission.tlp)
    for user in users:
        with force_locale(user.locale or "en"):
            subject = str(title)
            queue_email(user.email, subject, _email_body(submission, subject))


def _notify_new(submission: Submission, party_ids, kind: str, actor_id: int) -> None:
    users = readers(submission, party_ids, exclude_user_id=actor_id)
    _notify(submission, users, kind,
            _l("%(reference)s from %(party)s: %(title)s", reference=submission.reference,
               party=submission.owner_party.code, title=submission.title),
            _l("%(reference)s: %(kind)s from %(party)s (TLP:%(tlp)s)", reference=submission.reference,
               kind=KINDS[submission.kind], party=submission.owner_party.code, tlp=submission.tlp))


def _audit(action: str, submission: Submission, *, outcome: str = "ok", **details) -> None:
    record(action, outcome=outcome, object_type="submission", object_id=submission.id,
           object_party=submission.owner_party.code, objectives=list(submission.objectives or ()) or None,
           details={"reference": submission.reference, **details})


def _refuse(action: str, submission: Submission, reason: str, message: str):
    _audit(action, submission, outcome="denied", reason=reason)
    raise ExchangeRefused(reason, message)


# --- workflow -----------------------------------------------------------------------------------------

def create_submission(principal: Principal, data: SubmissionData, *, send: bool) -> Submission:
    """Write a submission for ``principal``'s party (a draft, or sent at once when ``send``)."""
    submission = Submission(
        kind=data.kind, title=data.title, summary=data.summary, body=data.body,
        source_reliability=data.source_reliability, information_accuracy=data.information_accuracy,
        handling_code=data.handling_code, handling_restrictions=data.handling_restrictions,
        due_date=data.due_date, objectives=list(data.objectives), status="draft",
        owner_party_id=principal.party_id, created_by_id=principal.user_id, distribution_level="parties",
        tlp=data.tlp,
    )
    db.session.add(submission)
    db.session.flush()
    set_distribution(submission, level="parties", tlp=data.tlp, party_ids=data.recipient_ids)
    for network_id in data.network_ids:
        db.session.add(SubmissionNetwork(submission_id=submission.id, network_id=network_id))
    for alert_id in data.alert_ids:
        db.session.add(SubmissionAlert(submission_id=submission.id, alert_id=alert_id))
    db.session.flush()
    _audit("exchange.create", submission, kind=data.kind, tlp=data.tlp, recipients=len(data.recipient_ids),
           networks=len(data.network_ids), related_alerts=len(data.alert_ids))
    if send:
        send_submission(principal, submission)
    return submission


def edit_values(submission: Submission) -> dict:
    """The draft's current input, as ``clean_submission`` reads it (codes for parties, networks, objectives).

    A party both named and reached through a chosen network is shown through the network: the recipients
    that saving these values produces are the same.
    """
    network_ids = list(db.session.scalars(
        select(SubmissionNetwork.network_id).where(SubmissionNetwork.submission_id == submission.id)))
    through_networks = set(expand_recipients(submission.owner_party_id, [], network_ids))
    listed = [pid for pid in submission.recipient_party_ids if pid not in through_networks]
    return {
        "title": submission.title, "kind": submission.kind, "summary": submission.summary, "body": submission.body,
        "source_reliability": submission.source_reliability,
        "information_accuracy": submission.information_accuracy, "handling_code": submission.handling_code,
        "handling_restrictions": submission.handling_restrictions, "tlp": submission.tlp,
        "parties": party_codes(listed),
        "networks": sorted(network.code for network in submission_networks(submission)),
        "related_alerts": sorted(db.session.scalars(
            select(SubmissionAlert.alert_id).where(SubmissionAlert.submission_id == submission.id))),
        "objectives": list(submission.objectives or []),
        "due_date": submission.due_date,
    }


def check_editable(principal: Principal, submission: Submission) -> None:
    """Refuse (audited) unless the acting party sent ``submission`` and it is still a draft."""
    if not may_change(submission, PERMISSION, principal):
        _refuse("exchange.update", submission, "not_owner", _("Only the sending party may edit its draft."))
    if submission.status != "draft":
        _refuse("exchange.update", submission, "status",
                _("This submission has already been sent and can no longer be edited."))


def update_submission(principal: Principal, submission: Submission, data: SubmissionData) -> Submission:
    """Replace a draft's content, recipients, related alerts and objectives with ``data`` (from
    ``clean_submission``); audited ``exchange.update`` with the names of the fields that changed."""
    check_editable(principal, submission)
    before = edit_values(submission)
    before_recipients = sorted(submission.recipient_party_ids)
    submission.kind = data.kind
    submission.title = data.title
    submission.summary = data.summary
    submission.body = data.body
    submission.source_reliability = data.source_reliability
    submission.information_accuracy = data.information_accuracy
    submission.handling_code = data.handling_code
    submission.handling_restrictions = data.handling_restrictions
    submission.due_date = data.due_date
    submission.objectives = list(data.objectives)
    set_distribution(submission, level="parties", tlp=data.tlp, party_ids=data.recipient_ids)
    db.session.execute(SubmissionNetwork.__table__.delete().where(SubmissionNetwork.submission_id == submission.id))
    db.session.execute(SubmissionAlert.__table__.delete().where(SubmissionAlert.submission_id == submission.id))
    for network_id in data.network_ids:
        db.session.add(SubmissionNetwork(submission_id=submission.id, network_id=network_id))
    for alert_id in data.alert_ids:
        db.session.add(SubmissionAlert(submission_id=submission.id, alert_id=alert_id))
    db.session.flush()
    after = edit_values(submission)
    changed = sorted(key for key in after if after[key] != before.get(key))
    if sorted(data.recipient_ids) != before_recipients and "parties" not in changed:
        changed = sorted({*changed, "parties"})
    _audit("exchange.update", submission, changed=changed, kind=data.kind, tlp=data.tlp,
           recipients=len(data.recipient_ids), networks=len(data.network_ids), related_alerts=len(data.alert_ids))
    return submission


def send_submission(principal: Principal, submission: Submission) -> Submission:
    """Send a draft: its networks' current parties join the recipients, who are notified."""
    if not owns(submission, principal):
        _refuse("exchange.send", submission, "not_owner", _("Only the sending party may send its draft."))
    if submission.status != "draft":
        _refuse("exchange.send", submission, "status", _("This submission has already been sent."))
    network_ids = list(db.session.scalars(
        select(SubmissionNetwork.network_id).where(SubmissionNetwork.submission_id == submission.id)))
    recipients = expand_recipients(submission.owner_party_id, submission.recipient_party_ids, network_ids)
    set_distribution(submission, level="parties", tlp=submission.tlp, party_ids=recipients)
    submission.status = "sent"
    submission.sent_at = utcnow()
    db.session.flush()
    _audit("exchange.send", submission, kind=submission.kind, tlp=submission.tlp, recipients=len(recipients))
    _notify_new(submission, recipients, "exchange.new", principal.user_id)
    return submission


def acknowledgements(submission: Submission) -> list[SubmissionAcknowledgement]:
    return list(db.session.scalars(select(SubmissionAcknowledgement)
                                   .where(SubmissionAcknowledgement.submission_id == submission.id)
                                   .order_by(SubmissionAcknowledgement.acknowledged_at)))


def _require_recipient(action: str, submission: Submission, principal: Principal) -> None:
    if submission.status not in OPEN_STATUSES:
        _refuse(action, submission, "status", _("This submission is not open."))
    if owns(submission, principal) or principal.party_id not in submission.recipient_party_ids:
        _refuse(action, submission, "not_recipient", _("Only a recipient party can do this."))


def _acknowledge(principal: Principal, submission: Submission) -> SubmissionAcknowledgement:
    ack = SubmissionAcknowledgement(submission_id=submission.id, party_id=principal.party_id, user_id=principal.user_id,
                                    acknowledged_at=utcnow())
    db.session.add(ack)
    db.session.flush()
    acked = {row.party_id for row in acknowledgements(submission)}
    if submission.status == "sent" and set(submission.recipient_party_ids) <= acked:
        submission.status = "acknowledged"
    return ack


def acknowledge(principal: Principal, submission: Submission) -> SubmissionAcknowledgement:
    """The acting recipient party acknowledges receipt (once per party); the sender is notified."""
    _require_recipient("exchange.acknowledge", submission, principal)
    if db.session.get(SubmissionAcknowledgement, (submission.id, principal.party_id)) is not None:
        _refuse("exchange.acknowledge", submission, "already_acknowledged",
                _("Your party has already acknowledged this submission."))
    ack = _acknowledge(principal, submission)
    _audit("exchange.acknowledge", submission, party=principal.party_code)
    sender = db.session.get(User, submission.created_by_id)
    if sender is not None and sender.active:
        notify([sender], "exchange.acknowledged",
               _l("%(reference)s acknowledged by %(party)s", reference=submission.reference,
                  party=principal.party_code), _link(submission), submission.tlp)
    return ack


def reply(principal: Principal, submission: Submission, *, body, audience=None) -> SubmissionReply:
    """Add a reply seen by the whole audience of the submission, or by ``audience`` (party codes) within it.

    The replying party is always in its reply's audience; a reply never reaches a party that cannot see
    the submission. A recipient's reply acknowledges the submission for its party and marks it answered.
    """
    if submission.status not in OPEN_STATUSES:
        _refuse("exchange.reply", submission, "status", _("This submission is not open."))
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
    item = SubmissionReply(submission_id=submission.id, body=text, restricted=chosen != whole,
                           owner_party_id=principal.party_id, created_by_id=principal.user_id,
                           distribution_level="parties", tlp=submission.tlp)
    db.session.add(item)
    db.session.flush()
    set_distribution(item, level="parties", tlp=submission.tlp, party_ids=sorted(chosen - {principal.party_id}))
    if not owns(submission, principal):
        if db.session.get(SubmissionAcknowledgement, (submission.id, principal.party_id)) is None:
            _acknowledge(principal, submission)
            _audit("exchange.acknowledge", submission, party=principal.party_code, via="reply")
        if submission.status in ("sent", "acknowledged"):
            submission.status = "answered"
            submission.answered_at = utcnow()
    db.session.flush()
    _audit("exchange.reply", submission, reply_id=item.id, restricted=item.restricted,
           parties=party_codes(chosen))
    users = readers(submission, chosen, exclude_user_id=principal.user_id)
    _notify(submission, users, "exchange.reply",
            _l("Reply from %(party)s on %(reference)s: %(title)s", party=principal.party_code,
               reference=submission.reference, title=submission.title),
            _l("Reply from %(party)s on %(reference)s (TLP:%(tlp)s)", party=principal.party_code,
               reference=submission.reference, tlp=submission.tlp))
    return item


def can_forward(principal: Principal, submission: Submission) -> bool:
    """Whether the acting party may forward at all (before choosing to whom)."""
    if submission.status not in OPEN_STATUSES or submission.tlp in RESTRICTED_TLP:
        return False
    return owns(submission, principal) or submission.handling_code in FORWARDABLE_HANDLING


def forward(principal: Principal, submission: Submission, party_codes_to) -> list[int]:
    """Forward to more parties, where the handling code and TLP allow; recorded and audited.

    The handling code binds the recipients (the sender gives permission, so it does not bind the sending
    party); RED and AMBER+STRICT are never forwarded (``portal.access.can_reshare``). The new parties
    see the submission and the replies written from now on, not the earlier thread.
    """
    if submission.status not in OPEN_STATUSES:
        _refuse("exchange.forward", submission, "status", _("This submission is not open."))
    if not owns(submission, principal) and submission.handling_code not in FORWARDABLE_HANDLING:
        _refuse("exchange.forward", submission, "handling_code",
                _("The handling code forbids onward dissemination without the sender's permission."))
    if submission.tlp in RESTRICTED_TLP:
        _refuse("exchange.forward", submission, "tlp",
                _("A submission marked TLP:%(tlp)s cannot be forwarded.", tlp=submission.tlp))
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
    new_ids = sorted(set(new_ids) - current)
    if not can_reshare(submission, "parties", party_ids=sorted(current | set(new_ids))):
        _refuse("exchange.forward", submission, "tlp",
                _("A submission marked TLP:%(tlp)s cannot be forwarded.", tlp=submission.tlp))
    set_distribution(submission, level="parties", tlp=submission.tlp, party_ids=sorted(current | set(new_ids)))
    for party_id in new_ids:
        db.session.add(SubmissionForward(submission_id=submission.id, from_party_id=principal.party_id,
                                         to_party_id=party_id, forwarded_by_id=principal.user_id,
                                         forwarded_at=utcnow()))
    db.session.flush()
    _audit("exchange.forward", submission, from_party=principal.party_code, to=party_codes(new_ids))
    _notify_new(submission, new_ids, "exchange.forwarded", principal.user_id)
    return new_ids


def close(principal: Principal, submission: Submission) -> Submission:
    """The sending party closes the exchange: no more acknowledgements, replies or forwards."""
    if not owns(submission, principal):
        _refuse("exchange.close", submission, "not_owner", _("Only the sending party may close it."))
    if submission.status not in OPEN_STATUSES:
        _refuse("exchange.close", submission, "status", _("This submission is not open."))
    submission.status = "closed"
    submission.closed_at = utcnow()
    submission.closed_by_id = principal.user_id
    db.session.flush()
    _audit("exchange.close", submission)
    return submission


def mark_read(principal: Principal, submission: Submission) -> None:
    """Mark the thread of ``submission`` read, now, for ``principal``'s user."""
    mark = db.session.get(SubmissionRead, (submission.id, principal.user_id))
    if mark is None:
        db.session.add(SubmissionRead(submission_id=submission.id, user_id=principal.user_id, read_at=utcnow()))
    else:
        mark.read_at = utcnow()
    db.session.flush()


def view(principal: Principal, submission: Submission, *, via: str = "web") -> None:
    """Audit a read of the submission and mark its thread read for ``principal``'s user."""
    _audit("exchange.view", submission, via=via)
    mark_read(principal, submission)


def read_submission(principal: Principal, submission_id, *, via: str = "web") -> Submission:
    """The submission ``principal`` opens (404 when invisible, audited as denied), its reading audited and
    its thread marked read (``view``)."""
    submission = get_visible_or_404(Submission, submission_id, principal)
    view(principal, submission, via=via)
    return submission


# --- reading ------------------------------------------------------------------------------------------

def thread(principal: Principal, submission: Submission) -> list[SubmissionReply]:
    """The replies ``principal`` may see, oldest first."""
    return list(db.session.scalars(
        visible(SubmissionReply, principal).where(SubmissionReply.submission_id == submission.id)
        .order_by(SubmissionReply.created_at, SubmissionReply.id)))


def related_alerts(principal: Principal, submission: Submission):
    """The related alerts that ``principal`` may see (a recipient may not see every alert the sender can)."""
    from alerts.models import Alert

    return list(db.session.scalars(
        visible(Alert, principal).join(SubmissionAlert, SubmissionAlert.alert_id == Alert.id)
        .where(SubmissionAlert.submission_id == submission.id).order_by(Alert.id)))


def forwards(submission: Submission) -> list[SubmissionForward]:
    return list(db.session.scalars(select(SubmissionForward).where(SubmissionForward.submission_id == submission.id)
                                   .order_by(SubmissionForward.forwarded_at, SubmissionForward.id)))


def submission_networks(submission: Submission) -> list[Network]:
    return list(db.session.scalars(select(Network).join(SubmissionNetwork, SubmissionNetwork.network_id == Network.id)
                                   .where(SubmissionNetwork.submission_id == submission.id).order_by(Network.code)))


def box_query(principal: Principal, box: str):
    """``inbox``: sent to the principal's party; ``sent``: written by it (drafts included)."""
    stmt = visible(Submission, principal)
    if box == "inbox":
        return (stmt.where(Submission.owner_party_id != principal.party_id, Submission.status != "draft")
                .order_by(Submission.sent_at.desc(), Submission.id.desc()))
    return stmt.where(Submission.owner_party_id == principal.party_id).order_by(
        Submission.created_at.desc(), Submission.id.desc())


def unread_clause(principal: Principal):
    """Received and never opened by this user, or a reply it may see arrived from someone else since it
    last read the thread (for the sender's own submissions, only the replies count)."""
    read_at = (select(SubmissionRead.read_at)
               .where(SubmissionRead.submission_id == Submission.id, SubmissionRead.user_id == principal.user_id)
               .scalar_subquery())
    newer_reply = exists().where(
        SubmissionReply.submission_id == Submission.id,
        SubmissionReply.created_by_id != principal.user_id,
        or_(read_at.is_(None), SubmissionReply.created_at > read_at),
        visibility_clause(SubmissionReply, principal),
    )
    never_read = not_(exists().where(SubmissionRead.submission_id == Submission.id,
                                     SubmissionRead.user_id == principal.user_id))
    received = Submission.owner_party_id != principal.party_id
    return and_(Submission.status != "draft", or_(and_(received, never_read), newer_reply))


def unread_ids(principal: Principal, ids) -> set[int]:
    if not ids:
        return set()
    return set(db.session.scalars(select(Submission.id).where(Submission.id.in_(list(ids)), unread_clause(principal))))


def unread_count(principal: Principal, box: str) -> int:
    stmt = box_query(principal, box).where(unread_clause(principal)).order_by(None)
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))


def overdue_count(principal: Principal) -> int:
    stmt = box_query(principal, "inbox").where(
        Submission.kind == RFI, Submission.status.in_(("sent", "acknowledged")),
        Submission.due_date < utcnow().date()).order_by(None)
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))
