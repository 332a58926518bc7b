"""Writing, sending, acknowledging, answering, forwarding and closing submissions.

Each operation takes the acting principal first, checks what its party may do, changes the data, flushes
(never commits: the request or the command commits once), writes its audit entry (``exchange.*``, through
``queries.audit_submission``) and its notifications (``portal.exchange.notify``). Input is checked first by
``portal.exchange.validation`` (every bad field reported at once, nothing written); refusals raise
``ExchangeRefused`` after auditing the attempt as denied. The attachments' operations are in
``portal.exchange.attachments``.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from portal.access import RESTRICTED_TLP, add_recipients, can_reshare, may_change, owns, set_distribution
from portal.exchange.models import (
    FORWARDABLE_HANDLING,
    OPEN_STATUSES,
    PERMISSION,
    Submission,
    SubmissionAcknowledgement,
    SubmissionAlert,
    SubmissionForward,
    SubmissionNetwork,
    SubmissionReply,
)
from portal.exchange.notify import notify_acknowledged, notify_new, notify_reply
from portal.exchange.queries import acknowledgements, audit_submission, edit_values, party_codes
from portal.exchange.validation import SubmissionData, clean_forward, clean_reply
from portal.extensions import db
from portal.principal import Principal
from portal.timeutil import utcnow


class ExchangeRefused(Exception):
    """The acting party may not do this (``reason``: not_owner, not_recipient, status, handling_code, tlp,
    already_acknowledged); ``message`` is shown to the user."""

    def __init__(self, reason: str, message: str):
        super().__init__(reason)
        self.reason = reason
        self.message = message


def _refuse(action: str, submission: Submission, reason: str, message: str):
    audit_submission(action, submission, outcome="denied", reason=reason)
    raise ExchangeRefused(reason, message)


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
    set_distribution(submission, level="parties", tlp=data.tlp, party_ids=data.party_ids,
                     through_networks=data.network_ids)
    for network_id in data.network_ids:
        db.session.add(SubmissionNetwork(submission_id=submission.id, network_id=network_id))
    for alert_id in data.alert_ids:
        db.session.add(SubmissionAlert(submission_id=submission.id, alert_id=alert_id))
    db.session.flush()
    audit_submission("exchange.create", submission, kind=data.kind, tlp=data.tlp,
                     recipients=len(data.recipient_ids), networks=len(data.network_ids),
                     related_alerts=len(data.alert_ids))
    if send:
        send_submission(principal, submission)
    return submission


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
    set_distribution(submission, level="parties", tlp=data.tlp, party_ids=data.party_ids,
                     through_networks=data.network_ids)
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
    audit_submission("exchange.update", submission, changed=changed, kind=data.kind, tlp=data.tlp,
                     recipients=len(data.recipient_ids), networks=len(data.network_ids),
                     related_alerts=len(data.alert_ids))
    return submission


def send_submission(principal: Principal, submission: Submission) -> Submission:
    """Send a draft: its networks' current parties join the recipients, who are notified. They are reached
    through their network (``portal.access.set_distribution``): a party that leaves it no longer sees the
    submission, and one that joins it later never does."""
    if not owns(submission, principal):
        _refuse("exchange.send", submission, "not_owner", _("Only the sending party may send its draft."))
    if submission.status != "draft":
        _refuse("exchange.send", submission, "status", _("This submission has already been sent."))
    network_ids = list(db.session.scalars(
        select(SubmissionNetwork.network_id).where(SubmissionNetwork.submission_id == submission.id)))
    set_distribution(submission, level="parties", tlp=submission.tlp, party_ids=submission.listed_party_ids,
                     through_networks=network_ids)
    recipients = submission.recipient_party_ids
    submission.status = "sent"
    submission.sent_at = utcnow()
    db.session.flush()
    audit_submission("exchange.send", submission, kind=submission.kind, tlp=submission.tlp,
                     recipients=len(recipients))
    notify_new(submission, recipients, "exchange.new", principal.user_id)
    return submission


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
    audit_submission("exchange.acknowledge", submission, party=principal.party_code)
    notify_acknowledged(submission, principal)
    return ack


def reply(principal: Principal, submission: Submission, *, body, audience=None) -> SubmissionReply:
    """Add a reply seen by the whole audience of the submission, or by ``audience`` (party codes) within it.

    The replying party is always in its reply's audience; a reply never reaches a party that cannot see
    the submission. A recipient's reply acknowledges the submission for its party and marks it answered.
    """
    if submission.status not in OPEN_STATUSES:
        _refuse("exchange.reply", submission, "status", _("This submission is not open."))
    data = clean_reply(principal, submission, body, audience)
    item = SubmissionReply(submission_id=submission.id, body=data.body, restricted=data.restricted,
                           owner_party_id=principal.party_id, created_by_id=principal.user_id,
                           distribution_level="parties", tlp=submission.tlp)
    db.session.add(item)
    db.session.flush()
    set_distribution(item, level="parties", tlp=submission.tlp,
                     party_ids=sorted(data.party_ids - {principal.party_id}))
    if not owns(submission, principal):
        if db.session.get(SubmissionAcknowledgement, (submission.id, principal.party_id)) is None:
            _acknowledge(principal, submission)
            audit_submission("exchange.acknowledge", submission, party=principal.party_code, via="reply")
        if submission.status in ("sent", "acknowledged"):
            submission.status = "answered"
            submission.answered_at = utcnow()
    db.session.flush()
    audit_submission("exchange.reply", submission, reply_id=item.id, restricted=item.restricted,
                     parties=party_codes(data.party_ids))
    notify_reply(submission, principal, data.party_ids)
    return item


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
    current = set(submission.recipient_party_ids)
    new_ids = clean_forward(submission, party_codes_to)
    if not can_reshare(submission, "parties", party_ids=sorted(current | set(new_ids))):
        _refuse("exchange.forward", submission, "tlp",
                _("A submission marked TLP:%(tlp)s cannot be forwarded.", tlp=submission.tlp))
    add_recipients(submission, new_ids)
    for party_id in new_ids:
        db.session.add(SubmissionForward(submission_id=submission.id, from_party_id=principal.party_id,
                                         to_party_id=party_id, forwarded_by_id=principal.user_id,
                                         forwarded_at=utcnow()))
    db.session.flush()
    audit_submission("exchange.forward", submission, from_party=principal.party_code, to=party_codes(new_ids))
    notify_new(submission, new_ids, "exchange.forwarded", principal.user_id)
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
    audit_submission("exchange.close", submission)
    return submission
