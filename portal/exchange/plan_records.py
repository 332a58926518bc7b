"""The submissions linked to a plan-of-action objective, for its page (``portal.plan.records``)."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.access import visible
from portal.exchange.models import Submission
from portal.extensions import db
from portal.plan.records import LinkedRecord, objectives_contain, register_objective_records


def linked_submissions(principal, code: str, limit: int) -> tuple[list[LinkedRecord], int]:
    linked = visible(Submission, principal).where(objectives_contain(Submission.objectives, code))
    total = db.session.scalar(select(func.count()).select_from(linked.subquery()))
    submissions = db.session.scalars(linked.order_by(Submission.created_at.desc(), Submission.id.desc())
                                     .limit(limit)).all()
    return [LinkedRecord(submission.reference, submission.title,
                         url_for("exchange.detail", submission_id=submission.id),
                         submission.sent_at or submission.created_at) for submission in submissions], total


register_objective_records("exchange", _l("Intelligence submissions linked to this objective"), linked_submissions)
