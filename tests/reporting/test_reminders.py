"""``reporting remind``: 14 and 3 days before the due date and each week overdue, once each; ``reporting
open`` prints the cycle's id alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage
from portal.reporting.models import ReportingCycle
from portal.reporting.notify import reminder_due
from portal.timeutil import utcnow
from tests.reporting.factories import audit_rows, filled, open_cycle


@pytest.mark.parametrize(("days_to_due", "kind"), [
    (20, None), (14, "due-14"), (10, "due-14"), (3, "due-3"), (0, "due-3"), (-1, None), (-7, "overdue-1"),
    (-13, "overdue-1"), (-14, "overdue-2"), (-29, "overdue-4"),
])
def test_which_reminder_is_owed(days_to_due, kind):
    today = utcnow().date()
    assert reminder_due(today + timedelta(days=days_to_due), today) == kind


def _mails(email) -> int:
    return sum(message.recipient == email for message in db.session.scalars(select(OutboxMessage)))  # encrypted


def test_reminders_reach_the_partys_submitters_once_each(app, app_ctx, make_user):
    today = utcnow().date()
    cycle = open_cycle(due=today + timedelta(days=14))
    filled(cycle, "GTM", submit=True)  # submitted: never reminded
    admin = make_user(role="country_admin", party_code="MEX")
    officer = make_user(role="liaison_officer", party_code="MEX", locale="es")
    border = make_user(role="border_officer", party_code="MEX")
    gtm = make_user(role="country_admin", party_code="GTM")
    runner = app.test_cli_runner()

    def remind(day):
        result = runner.invoke(args=["reporting", "remind", "--date", day.isoformat()])
        assert result.exit_code == 0, result.output
        return result.output

    assert "Reporting reminders: 10 sent." in remind(today)
    assert "Reporting reminders: 0 sent." in remind(today)  # once each
    assert "Reporting reminders: 10 sent." in remind(today + timedelta(days=11))  # 3 days before
    assert "Reporting reminders: 0 sent." in remind(today + timedelta(days=15))  # a day late: not a week yet
    output = remind(today + timedelta(days=21))  # a week overdue
    assert "MEX: overdue-1, 2 user(s) reminded" in output
    assert "Reporting reminders: 0 sent." in remind(today + timedelta(days=22))
    assert "Reporting reminders: 10 sent." in remind(today + timedelta(days=28))  # two weeks overdue
    assert (_mails(admin.email), _mails(officer.email), _mails(border.email), _mails(gtm.email)) == (4, 4, 0, 0)
    spanish = [message for message in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
               if message.recipient == officer.email]
    assert spanish[-1].subject.startswith("Portal CRM: su informe")
    assert "/reporting/cycles/" in spanish[0].body
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == admin.id)) == 4
    entry = audit_rows("reporting.remind")[0]
    assert [link.code for link in entry.objectives] == ["ERX-INF-2"] and "@" not in entry.details


def test_the_open_command_prints_the_id_alone(app, app_ctx):
    runner = app.test_cli_runner()
    due = (utcnow().date() + timedelta(days=60)).isoformat()
    result = runner.invoke(args=["reporting", "open", "policy_changes", "2026-H2", "--due", due])
    assert result.exit_code == 0, result.output
    cycle = db.session.get(ReportingCycle, int(result.output.strip()))
    assert (cycle.template_code, cycle.period, cycle.due_date.isoformat()) == ("policy_changes", "2026-H2", due)
    again = runner.invoke(args=["reporting", "open", "policy_changes", "2026-H2", "--due", due])
    assert again.exit_code == 1 and "already open" in again.output
    assert runner.invoke(args=["reporting", "open", "nonsense", "2026-H2", "--due", due]).exit_code == 1
