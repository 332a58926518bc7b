"""The exchange's dashboard panels: requests for information due, and the region's exchange figures.

Both read through ``portal.access.visible`` (the inbox query and ``visible(Submission)``): only what the
viewer's party may see is listed or counted.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.access import visible
from portal.charts import bar_chart, line_chart
from portal.dashboard.panels import register_panel
from portal.dashboard.periods import count_by_month, median_by_month, month_labels, window_start
from portal.exchange.models import RFI, Submission, SubmissionReply
from portal.exchange.queries import box_query
from portal.extensions import db

LISTED = 5


def requests_due(principal) -> dict:
    """Requests for information to the viewer's party that are still to be answered, soonest due first."""
    due = box_query(principal, "inbox").order_by(None).where(
        Submission.kind == RFI, Submission.status.in_(("sent", "acknowledged")))
    count = db.session.scalar(select(func.count()).select_from(due.subquery()))
    listed = db.session.scalars(due.order_by(Submission.due_date.is_(None), Submission.due_date, Submission.id)
                                .limit(LISTED)).all()
    return {"requests": listed, "count": count}


def region_exchange(principal) -> dict:
    """Submissions and replies per month, and the median days from sending to the first answer."""
    labels = month_labels(12)
    start = window_start(labels)
    sent = db.session.execute(
        visible(Submission, principal).with_only_columns(Submission.sent_at, Submission.answered_at)
        .where(Submission.sent_at >= start)).all()
    replies = db.session.scalars(visible(SubmissionReply, principal).with_only_columns(SubmissionReply.created_at)
                                 .where(SubmissionReply.created_at >= start)).all()
    days = [(sent_at, (answered - sent_at).total_seconds() / 86400 if answered else None) for sent_at, answered in sent]
    return {
        "volume": bar_chart("region-exchange-volume", _("Exchange volume per month"), labels,
                            {_("Submissions"): count_by_month((row[0] for row in sent), labels),
                             _("Replies"): count_by_month(replies, labels)}, label_heading=_("Month")),
        "answer_times": line_chart("region-answer-times", _("Median days to answer, by month sent"), labels,
                                   {_("Days"): median_by_month(days, labels)}, label_heading=_("Month")),
        "answered": sum(1 for _sent, value in days if value is not None),
        "total": len(sent),
    }


register_panel("exchange_requests_due", template="exchange/_dashboard_requests.html", load=requests_due,
               permission="exchange_intelligence", order=6)
register_panel("exchange_region", template="exchange/_dashboard_region.html", load=region_exchange,
               permission="view_region_overview", order=31)
