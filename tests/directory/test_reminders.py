"""``directory remind``: staleness reminders, once per party per day."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from portal.directory.models import DirectoryReminder
from portal.extensions import db
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage
from portal.timeutil import utcnow
from tests.directory.factories import audit_rows, make_entry


def test_reminder_is_queued_once_per_party_per_day(app, make_user):
    today = utcnow().date()
    admins = [make_user(role="country_admin", party_code="GTM") for _ in range(2)]
    make_user(role="liaison_officer", party_code="GTM")
    make_user(role="country_admin", party_code="MEX")
    for n in range(3):
        make_entry("GTM", name=f"Persona {n}", email=f"p{n}@minex.gob.gt", verified=today - timedelta(days=190))
    make_entry("GTM", name="Al Día", email="ok@minex.gob.gt", verified=today)
    make_entry("GTM", name="Inactiva", email="x@minex.gob.gt", verified=today - timedelta(days=400), active=False)
    make_entry("MEX", name="Fresca", email="f@sre.gob.mx", verified=today)
    runner = app.test_cli_runner()

    first = runner.invoke(args=["directory", "remind"])
    assert first.exit_code == 0, first.output
    assert "GTM: 3 stale entries, 2 country admin(s) reminded" in first.output
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert sorted(m.recipient for m in messages) == sorted(a.email for a in admins)
    assert all("3 entries of GTM" in m.body and "Persona" not in m.body for m in messages)
    notes = db.session.scalars(select(Notification).where(Notification.kind == "directory.stale")).all()
    assert sorted(n.user_id for n in notes) == sorted(a.id for a in admins)
    assert notes[0].link == "/directory/?party=GTM&stale=1"
    assert db.session.get(DirectoryReminder, (admins[0].party_id, today)).stale_count == 3
    audit = audit_rows("directory.remind")
    assert [(r.object_party, r.actor_role, json.loads(r.details)["stale"]) for r in audit] == [("GTM", "cli", 3)]

    second = runner.invoke(args=["directory", "remind"])
    assert second.exit_code == 0
    assert "0 parties reminded, 1 already reminded today" in second.output
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 2
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "directory.stale")) == 2

    tomorrow = runner.invoke(args=["directory", "remind", "--date", (today + timedelta(days=1)).isoformat()])
    assert "GTM: 3 stale entries" in tomorrow.output
