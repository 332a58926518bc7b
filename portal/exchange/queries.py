"""Reading submissions: the boxes and their unread and overdue counts, a submission's thread,
acknowledgements, forwards, networks and related alerts, the values of a draft, and the loader that opens
one (``read_submission``: its read audited, its thread marked read).

Every read of submissions and replies goes through ``portal.access.visible`` / ``get_visible_or_404`` (a
party that is not a recipient gets 404, audited), so views never call ``record()``.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, not_, or_, select

from portal.access import RESTRICTED_TLP, get_visible_or_404, owns, visibility_clause, visible
from portal.audit.service import record, record_listing
from portal.exchange.models import (
    FORWARDABLE_HANDLING,
    OPEN_STATUSES,
    RFI,
    Submission,
    SubmissionAcknowledgement,
    SubmissionAlert,
    SubmissionForward,
    SubmissionNetwork,
    SubmissionRead,
    SubmissionReply,
)
from portal.extensions import db
from portal.parties.models import Network, Party
from portal.principal import Principal
from portal.timeutil import utcnow


def audit_submission(action: str, submission: Submission, *, outcome: str = "ok", **details) -> None:
    """Write the audit entry of ``action`` on ``submission`` (its reference, party and objectives; never
    its content): the one form every ``exchange.*`` entry on a submission takes."""
    record(action, outcome=outcome, object_type="submission", object_id=submission.id,
           object_party=submission.owner_party.code, objectives=list(submission.objectives or ()) or None,
           details={"reference": submission.reference, **details})


# --- lookups ------------------------------------------------------------------------------------------

def sender_alerts(principal: Principal, limit: int = 200):
    """Alerts the sender may relate to a submission: the ones the sender can see, newest first."""
    from alerts.models import Alert

    return list(db.session.scalars(visible(Alert, principal).order_by(Alert.id.desc()).limit(limit)))


def audience_party_ids(submission: Submission) -> set[int]:
    """The parties that can see ``submission``: the sender's and every recipient."""
    return {submission.owner_party_id, *submission.recipient_party_ids}


def party_codes(party_ids) -> list[str]:
    """The codes of ``party_ids``, sorted."""
    if not party_ids:
        return []
    return sorted(db.session.scalars(select(Party.code).where(Party.id.in_(list(party_ids)))))


def can_forward(principal: Principal, submission: Submission) -> bool:
    """Whether the acting party may forward at all (before choosing to whom)."""
    if submission.status not in OPEN_STATUSES or submission.tlp in RESTRICTED_TLP:
        return False
    return owns(submission, principal) or submission.handling_code in FORWARDABLE_HANDLING


# --- one submission -----------------------------------------------------------------------------------

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
    audit_submission("exchange.view", submission, via=via)
    mark_read(principal, submission)


def read_box(principal: Principal, box: str, page: int, per_page: int, *, via: str = "web"):
    """One page of the party's inbox or sent box, its reading audited like a detail page's (which
    submissions it listed)."""
    result = db.paginate(box_query(principal, box), page=page, per_page=per_page, error_out=False)
    record_listing("exchange.list", object_type="submission", ids=[item.id for item in result.items],
                   principal=principal, box=box, page=result.page, via=via)
    return result


def read_submission(principal: Principal, submission_id, *, via: str = "web") -> Submission:
    """The submission ``principal`` opens (404 when invisible, audited as denied), its reading audited and
    its thread marked read (``view``)."""
    submission = get_visible_or_404(Submission, submission_id, principal)
    view(principal, submission, via=via)
    return submission


def acknowledgements(submission: Submission, principal: Principal | None = None) -> list[SubmissionAcknowledgement]:
    """The acknowledgements of ``submission``, oldest first: every party's, or, given a ``principal`` of a
    party that did not send it, only that party's own (who acknowledged is the sender's business)."""
    statement = select(SubmissionAcknowledgement).where(SubmissionAcknowledgement.submission_id == submission.id)
    if principal is not None and not owns(submission, principal):
        statement = statement.where(SubmissionAcknowledgement.party_id == principal.party_id)
    return list(db.session.scalars(statement.order_by(SubmissionAcknowledgement.acknowledged_at)))


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


def forwards(principal: Principal, submission: Submission) -> list[SubmissionForward]:
    """The forwards of ``submission`` that ``principal`` may see, oldest first: all of them for the sending
    party, a recipient's own party's forwards otherwise."""
    statement = select(SubmissionForward).where(SubmissionForward.submission_id == submission.id)
    if not owns(submission, principal):
        statement = statement.where(SubmissionForward.from_party_id == principal.party_id)
    return list(db.session.scalars(statement.order_by(SubmissionForward.forwarded_at, SubmissionForward.id)))


def submission_networks(submission: Submission) -> list[Network]:
    """The networks ``submission`` was addressed to, by code."""
    return list(db.session.scalars(select(Network).join(SubmissionNetwork, SubmissionNetwork.network_id == Network.id)
                                   .where(SubmissionNetwork.submission_id == submission.id).order_by(Network.code)))


def edit_values(submission: Submission) -> dict:
    """The draft's current input, as ``clean_submission`` reads it (codes for parties, networks, objectives).

    The parties are those named (``listed_party_ids``), not those reached through a chosen network.
    """
    listed = submission.listed_party_ids
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


# --- the boxes ----------------------------------------------------------------------------------------

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
    """Which of the submissions ``ids`` are unread for ``principal`` (``unread_clause``)."""
    if not ids:
        return set()
    return set(db.session.scalars(select(Submission.id).where(Submission.id.in_(list(ids)), unread_clause(principal))))


def unread_count(principal: Principal, box: str) -> int:
    """How many submissions of ``box`` are unread for ``principal``."""
    stmt = box_query(principal, box).where(unread_clause(principal)).order_by(None)
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))


def overdue_count(principal: Principal) -> int:
    """How many requests for information in ``principal``'s inbox are past their due date, unanswered."""
    stmt = box_query(principal, "inbox").where(
        Submission.kind == RFI, Submission.status.in_(("sent", "acknowledged")),
        Submission.due_date < utcnow().date()).order_by(None)
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))
