"""A raw copy of the database holds no document number, holder name or MRZ of an alert in clear.

The alerts are created through the real operations and committed (no per-test rollback), so the bytes
on disk, or what pg_dump sees, include the alert rows, their revision snapshots and the full-text index.
The rows are removed afterwards.
"""

import pytest
from sqlalchemy import delete, select

from alerts.models import Alert, AlertReferenceCounter, AlertRevision
from alerts.operations import create_alert, update_alert
from auth.models import User, email_index
from auth.passwords import hash_password
from portal.audit.service import discard_pending_entries
from portal.extensions import db
from portal.parties.models import Party
from portal.principal import Principal
from portal.timeutil import utcnow
from tests.alerts.factories import alert_data, td3
from tests.core.test_dump_scan import database_bytes

NUMBER = "QZ7031986"
RANGE_START, RANGE_END = "KW5550100", "KW5550999"
SURNAME, GIVEN = "XOCHIQUETZAL", "ABELARDINA"
HOLDER = f"{SURNAME}, {GIVEN}"
MRZ = td3(NUMBER, state="GTM", surname=SURNAME, given=GIVEN, birth="790322", expiry="310101")


@pytest.fixture
def committed_alerts(app, real_commits):
    with app.app_context():
        party_id = db.session.scalar(select(Party.id).where(Party.code == "GTM"))
        user = User(email="alert.scan@minex.gob.gt", email_index=email_index("alert.scan@minex.gob.gt"),
                    full_name="Alert Scanner", party_id=party_id, role="liaison_officer",
                    password_hash=hash_password("x" * 20), totp_enrolled_at=utcnow())
        db.session.add(user)
        db.session.commit()
        reporter = Principal.for_user(user)
        data = alert_data(mrz=MRZ, holder_name=None, document_number=None, issuing_state=None,
                          detection_tips="Bearer travelled alone.")
        for name in ("document_number", "issuing_state", "holder_name", "expiry_date", "issue_date"):
            data.pop(name)
        alert = create_alert(reporter, data)
        update_alert(reporter, alert, {"detection_tips": "Bearer travelled alone; check the laminate edges."})
        series = create_alert(reporter, alert_data(document_number=None, fraud_type="stolen_blank",
                                                   range_start=RANGE_START, range_end=RANGE_END))
        # The audit log is append-only: entries committed here would stay forever and skew the counts
        # other tests make (plan pages). Their details are checked for secrets in test_operations.
        assert discard_pending_entries() > 0
        db.session.commit()
        assert alert.document_number == NUMBER and alert.holder_name == HOLDER
        ids, user_id = [alert.id, series.id], user.id
        db.session.remove()
    yield
    with app.app_context():
        from portal.access import DistributionRecipient

        db.session.execute(delete(AlertRevision).where(AlertRevision.alert_id.in_(ids)))
        db.session.execute(delete(DistributionRecipient).where(DistributionRecipient.record_type == "alerts",
                                                               DistributionRecipient.record_id.in_(ids)))
        db.session.execute(delete(Alert).where(Alert.id.in_(ids)))
        db.session.execute(delete(AlertReferenceCounter).where(AlertReferenceCounter.party_id == party_id))
        db.session.execute(delete(User).where(User.id == user_id))
        db.session.commit()
        db.session.remove()


def test_raw_database_contains_no_alert_secret_in_clear(app, committed_alerts):
    raw = database_bytes(app)
    assert b"check the laminate edges" in raw, "control: narratives are stored in clear and must be seen"
    needles = [NUMBER, RANGE_START, RANGE_END, SURNAME, GIVEN, "1979-03-22", *MRZ.split("\n")]
    for needle in needles:
        assert needle.encode() not in raw, f"{needle!r} found in clear"
        assert needle.lower().encode() not in raw.lower()
