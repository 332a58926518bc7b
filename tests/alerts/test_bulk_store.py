"""The set-based import stores exactly what ``create_alert`` stores, row for row.

The same rows go through the per-row path (``create_alert`` each) and through ``import_alerts``
(``alerts.bulk_store``); every stored column (secrets decrypted), the revisions, the listed recipients,
the linked objectives, the notifications, e-mails and digest items, the audit entries and the full-text
index are compared, with what necessarily differs (ids, references, timestamps) normalised.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select

from alerts.bulk import import_alerts
from alerts.fulltext import matching
from alerts.models import Alert, AlertDigestItem, AlertReferenceCounter
from alerts.operations import AlertForbidden, create_alert, revisions
from alerts.references import next_reference, reserve_sequences
from alerts.subscriptions import create_subscription
from alerts.validation import AlertValidationError
from portal.access import DistributionRecipient
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage
from tests.alerts.factories import alert_data, audit_entries, mark_audit_start, principal, td3

# Set per alert by the database or the clock: compared by their relations instead.
_VOLATILE = {"id", "reference", "reference_seq", "created_at", "updated_at", "published_at"}


def _rows(tag: str) -> list[dict]:
    """A varied file: drafts and published alerts, every distribution level and TLP, an MRZ (with a failed
    check), a stolen-blank series, holder data, explicit objectives and review date, narratives with a
    word of their own (``tag``) for the full-text index."""
    word = f"zq{tag}word"
    mrz = td3(f"{tag.upper()}00001", surname="GOMEZ", given="ANA")
    bad_mrz = mrz[:-1] + ("0" if mrz[-1] != "0" else "1")  # composite check digit wrong: a finding
    return [
        alert_data(document_number=f"{tag}00001", description=f"Counterfeit booklet {word}."),
        alert_data(document_number=f"{tag}00002", status="draft", tlp="AMBER",
                   distribution={"level": "parties", "parties": ["MEX", "HND"]}),
        alert_data(document_number=f"{tag}00003", tlp="AMBER", distribution={"level": "parties",
                                                                           "parties": ["HND", "MEX"]}),
        alert_data(document_number=f"{tag}00004", tlp="GREEN", distribution={"level": "network",
                                                                           "network": "FOCAL"}),
        alert_data(document_number=f"{tag}00005", tlp="RED", distribution={"level": "party"},
                   description=f"Seen twice {word}."),
        alert_data(document_number=None, fraud_type="stolen_blank", range_start=f"{tag}10000",
                   range_end=f"{tag}10999", holder_name=None, tlp="CLEAR"),
        alert_data(document_number=None, mrz=bad_mrz, issuing_state=None, document_category=None,
                   holder_name=None, objectives=["ERX-INF-4"], review_date="2031-05-01"),
        alert_data(document_number=f"{tag}00008", holder_name="PEREZ, JUAN", holder_birth_date="1985-01-01",
                   fraud_type="forgery", forgery_subtype="photo_substitution", tlp="AMBER+STRICT",
                   modus_operandi=None, detection_tips=f"Tip {word}", route=[], status="draft"),
    ]


def _subscribers(make_user) -> list:
    users = [make_user(role="liaison_officer", party_code="MEX"), make_user(role="border_officer", party_code="HND"),
             make_user(role="liaison_officer", party_code="CRI", locale="es"),
             make_user(role="observer", party_code="MEX"), make_user(role="liaison_officer", party_code="GTM")]
    for n, user in enumerate(users):
        create_subscription(principal(user), {"delivery": "digest" if n % 2 else "immediate"})
    create_subscription(principal(users[2]), {"delivery": "digest", "issuing_state": "GTM"})
    return users


def _replace(text, names: dict[str, str]):
    if text is None:
        return None
    for old, new in names.items():
        text = text.replace(old, new)
    return text


def _stored(alerts: list[Alert]) -> list[dict]:
    """Everything stored about each alert, normalised (its own id and reference replaced by ``#``)."""
    out = []
    for alert in alerts:
        db.session.refresh(alert)
        names = {alert.reference: "REF", f"/alerts/{alert.id}": "/alerts/#"}
        columns = {column.key: getattr(alert, column.key) for column in Alert.__table__.columns
                   if column.key not in _VOLATILE and column.key != "search_vector"}
        assert alert.updated_at == (alert.published_at or alert.created_at)  # published at once: then
        assert (alert.published_at is not None) == (alert.status == "published")
        assert alert.published_at is None or alert.published_at >= alert.created_at
        assert alert.reference == f"{alert.owner_party.code}-{alert.created_at.year}-{alert.reference_seq:06d}"
        history = []
        for entry in revisions(alert):
            assert entry["created_at"] >= alert.created_at
            data = dict(entry["data"], reference="REF")
            history.append({**entry, "created_at": None, "data": data})
        recipients = sorted(db.session.scalars(select(DistributionRecipient.party_id).where(
            DistributionRecipient.record_type == "alerts", DistributionRecipient.record_id == alert.id)))
        notes = sorted((note.user_id, note.kind, _replace(note.title, names), _replace(note.link, names), note.tlp)
                       for note in db.session.scalars(select(Notification).where(
                           Notification.link == f"/alerts/{alert.id}")))
        mails = sorted((mail.recipient, _replace(mail.subject, names), _replace(mail.body, names))
                       for mail in db.session.scalars(select(OutboxMessage))
                       if f"/alerts/{alert.id}\n" in mail.body)
        digest = sorted((item.user_id, item.event) for item in db.session.scalars(
            select(AlertDigestItem).where(AlertDigestItem.alert_id == alert.id)))
        audit = sorted(
            (entry.action, entry.outcome, entry.object_party, entry.actor_user_id, entry.actor_party,
             entry.actor_role, entry.ip, tuple(entry.objective_codes),
             json.dumps({**json.loads(entry.details), **({"reference": "REF"} if "reference" in
                                                           json.loads(entry.details) else {})}, sort_keys=True))
            for entry in audit_entries_for(alert.id))
        out.append({"columns": columns, "revisions": history, "recipients": recipients, "notifications": notes,
                    "emails": mails, "digest": digest, "audit": audit})
    return out


def audit_entries_for(alert_id: int) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "alert",
                                                            AuditEntry.object_id == str(alert_id))))


def _imported(first: str, last: str, party_id: int) -> list[Alert]:
    return list(db.session.scalars(select(Alert).where(
        Alert.owner_party_id == party_id, Alert.reference >= first, Alert.reference <= last).order_by(Alert.id)))


def test_set_based_import_stores_what_create_alert_stores(app_ctx, make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    subscribers = _subscribers(make_user)
    mark_audit_start()
    rows = _rows("w")
    one_by_one = [create_alert(principal(officer), dict(row)) for row in rows]
    db.session.commit()  # the audit entries are written at the commit
    counts = import_alerts(principal(officer), [dict(row) for row in rows], batch_size=3)
    db.session.commit()
    imported = _imported(counts.first_reference, counts.last_reference, officer.party_id)

    assert (counts.imported, counts.published, counts.drafts) == (8, 6, 2)
    assert [alert.reference_seq for alert in imported] == list(
        range(one_by_one[-1].reference_seq + 1, one_by_one[-1].reference_seq + 9))
    expected, got = _stored(one_by_one), _stored(imported)
    for number, (want, have) in enumerate(zip(expected, got, strict=True), 1):
        assert have == want, f"row {number}"
    # The comparison is not vacuous: every kind of row was written.
    assert any(item["recipients"] for item in got) and any(item["notifications"] for item in got)
    assert any(item["emails"] for item in got) and any(item["digest"] for item in got)
    assert any(item["columns"]["mrz_findings"] for item in got)
    assert any(item["columns"]["range_index"] for item in got)
    assert {len(item["revisions"]) for item in got} == {1, 2}
    assert subscribers[4].id not in {note[0] for item in got for note in item["notifications"]}
    # The full-text index follows the set-based inserts (SQLite: FTS5 triggers; PostgreSQL: generated).
    found = set(db.session.scalars(select(Alert.id).where(matching("zqwword"))))
    assert found == {one_by_one[0].id, one_by_one[4].id, one_by_one[7].id,
                     imported[0].id, imported[4].id, imported[7].id}
    [entry] = audit_entries("alert.import")
    assert json.loads(entry.details)["imported"] == 8


def _year() -> int:
    from portal.timeutil import utcnow

    return utcnow().year


def test_a_bad_row_in_a_later_batch_rolls_back_the_stored_batches(app_ctx, make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    rows = [alert_data(document_number=f"V{n:07d}") for n in range(7)]
    rows[5]["issuing_state"] = "QQQ"
    before = db.session.scalar(select(Alert.id).order_by(Alert.id.desc()).limit(1))
    counter = db.session.get(AlertReferenceCounter, (officer.party_id, _year()))
    last = counter.last_value if counter else 0
    mark_audit_start()
    with pytest.raises(AlertValidationError) as error:
        import_alerts(principal(officer), rows, batch_size=2)
    assert error.value.item == 6 and "issuing_state" in error.value.errors
    db.session.commit()
    assert db.session.scalar(select(Alert.id).order_by(Alert.id.desc()).limit(1)) == before
    counter = db.session.get(AlertReferenceCounter, (officer.party_id, _year()))
    assert (counter.last_value if counter else 0) == last
    assert audit_entries("alert.create") == [] and audit_entries("alert.import") == []


def test_a_published_row_without_the_publish_permission_is_refused(app_ctx, make_user):
    from dataclasses import replace

    officer = make_user(role="liaison_officer", party_code="GTM")
    reporter_only = replace(principal(officer), permissions=principal(officer).permissions - {"publish_alert"})
    rows = [alert_data(document_number="U1000001", status="draft"), alert_data(document_number="U1000002")]
    with pytest.raises(AlertForbidden) as error:
        import_alerts(reporter_only, rows)
    assert error.value.item == 2
    counts = import_alerts(reporter_only, rows[:1])
    assert (counts.imported, counts.drafts) == (1, 1)


def test_reserve_sequences_takes_a_block_and_single_numbers_follow_it(app_ctx, party):
    gtm = party("GTM").id
    assert reserve_sequences(gtm, 2093, 1000) == 1
    assert reserve_sequences(gtm, 2093, 5) == 1001
    assert next_reference(gtm, "GTM", 2093) == ("GTM-2093-001006", 1006)
    with pytest.raises(ValueError):
        reserve_sequences(gtm, 2093, 0)
    db.session.execute(delete(AlertReferenceCounter).where(AlertReferenceCounter.year == 2093))

