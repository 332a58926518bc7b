"""Reporting, validating, revising, publishing, withdrawing, acknowledging and expiring alerts."""

import json
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select, text

from alerts.indexes import number_any_index, number_index, skeleton_index
from alerts.models import Alert, AlertAcknowledgement, AlertReferenceCounter, AlertRevision
from alerts.operations import (
    AlertForbidden,
    AlertNotFound,
    AlertValidationError,
    acknowledge_alert,
    acknowledgements,
    create_alert,
    expire_due_alerts,
    prefill_from_mrz,
    publish_alert,
    revisions,
    update_alert,
    withdraw_alert,
)
from alerts.references import format_reference, next_reference, reserve_sequences
from alerts.validation import add_years, default_review_date
from portal.access import DistributionRecipient
from portal.extensions import db
from portal.timeutil import utcnow
from tests.alerts.factories import alert_data, audit_entries, mark_audit_start, principal, report, td3


def _count(model=Alert):
    return db.session.scalar(select(func.count()).select_from(model))


def _audit_text(entries) -> str:
    return " ".join(entry.details for entry in entries)



@pytest.fixture(autouse=True)
def _audit_start(request):
    if "real_commits" not in request.fixturenames:  # inside the test's rolled-back transaction
        mark_audit_start()

# --- creating -----------------------------------------------------------------------------------------

def test_create_published_alert_stores_fields_indexes_and_defaults(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    alert = report(officer, document_number="a-123 4567")
    assert alert.reference == f"GTM-{utcnow().year}-{alert.reference_seq:06d}"
    assert alert.status == "published" and alert.revision == 1 and alert.published_at is not None
    assert alert.owner_party.code == "GTM" and alert.created_by_id == officer.id
    assert alert.document_number == "A1234567"
    assert alert.number_index == number_index("A1234567", "GTM")
    assert alert.number_any_index == number_any_index("A1234567")
    assert alert.skeleton_index == skeleton_index("A1234567")
    assert alert.range_index is None
    assert alert.route == ["COL", "PAN", "GTM"]
    assert alert.detection_date == date(2026, 1, 15)
    assert alert.review_date == date(2036, 1, 15), "default review: detection + 10 years"
    assert alert.objectives == ["ERX-INF-4", "MPM-2"]
    assert (alert.distribution_level, alert.tlp) == ("members", "GREEN")


def test_an_alert_detected_over_ten_years_ago_is_reviewed_ten_years_from_today(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    today = utcnow().date()
    alert = report(officer, detection_date="2012-06-30")
    assert alert.review_date == add_years(today, 10), "detection + 10 years is past: today + 10 years"
    assert expire_due_alerts() == []


@pytest.mark.parametrize(("detected_years_ago", "days", "review_from"), [
    (None, 0, "today"),                  # no detection date
    (3, 0, "detection"),
    (10, -1, "detection"),               # detection + 10 years is tomorrow
    (10, 0, "today"),                    # ... is today: it would expire at once
    (10, 1, "today"),                    # ... was yesterday
    (25, 0, "today"),
])
def test_default_review_date(detected_years_ago, days, review_from):
    today = date(2026, 3, 1)
    detected = None if detected_years_ago is None else date(today.year - detected_years_ago, 3, 1) - timedelta(days=days)
    expected = add_years(detected if review_from == "detection" else today, 10)
    assert default_review_date(detected, today) == expected


def test_create_audits_without_secrets_and_links_the_objectives(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    alert = report(officer, document_number="ZQ998877", holder_name="Quetzal Marker", holder_birth_date="1990-05-05")
    created = audit_entries("alert.create", object_id=str(alert.id))
    published = audit_entries("alert.publish", object_id=str(alert.id))
    assert len(created) == 1 and len(published) == 1
    entry = created[0]
    assert (entry.object_type, entry.object_party, entry.actor_user_id) == ("alert", "GTM", officer.id)
    details = json.loads(entry.details)
    assert details["reference"] == alert.reference and details["status"] == "published"
    assert details["fraud_type"] == "counterfeit" and details["issuing_state"] == "GTM"
    assert sorted(entry.objective_codes) == ["ERX-INF-4", "MPM-2"]
    text = _audit_text(created + published)
    for secret in ("ZQ998877", "Quetzal", "1990-05-05"):
        assert secret not in text


def test_create_draft_and_range_for_stolen_blanks(make_user):
    officer = make_user(role="liaison_officer", party_code="MEX")
    alert = report(officer, status="draft", document_number=None, fraud_type="stolen_blank",
                   range_start="G 0012000", range_end="G0012999", issuing_state="MEX")
    assert alert.status == "draft" and alert.published_at is None
    assert (alert.range_start, alert.range_end) == ("G0012000", "G0012999")
    assert alert.range_index is not None and alert.number_index is None
    assert audit_entries("alert.publish", object_id=str(alert.id)) == []


def test_validation_lists_every_bad_field_and_writes_nothing(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    before = (_count(), _count(AlertRevision), _count(AlertReferenceCounter))
    bad = alert_data(
        document_category="scroll",
        issuing_state="XYZ",
        fraud_type="forgery",            # without a subtype
        detection_date="2999-01-01",
        detection_place_kind="balloon",
        route=["COL", "ATLANTIS"],
        bearer_nationality="QQQ",
        document_type="royal",
        issue_date="2020-13-01",
        expiry_date="not a date",
        security_features=["laminate", "magic"],
        description="",
        tlp="PURPLE",
        distribution={"level": "galaxy"},
        review_date="2000-01-01",
        objectives=["NOPE-1"],
        holder_birth_date="3000-01-01",
        status="approved",
    )
    with pytest.raises(AlertValidationError) as caught:
        create_alert(principal(officer), bad)
    assert set(caught.value.errors) == {
        "document_category", "issuing_state", "forgery_subtype", "detection_date", "detection_place_kind", "route",
        "bearer_nationality", "document_type", "issue_date", "expiry_date", "security_features", "description",
        "tlp", "distribution", "review_date", "objectives", "holder_birth_date", "status",
    }
    assert all(caught.value.errors.values())
    assert (_count(), _count(AlertRevision), _count(AlertReferenceCounter)) == before
    assert audit_entries("alert.create") == []


@pytest.mark.parametrize("overrides, fields", [
    ({"document_number": None}, {"document_number"}),
    ({"range_start": "A100", "range_end": "A200"}, {"document_number", "range_start"}),
    ({"document_number": None, "fraud_type": "stolen_blank", "range_start": "A200", "range_end": "A100"},
     {"range_end"}),
    ({"document_number": None, "fraud_type": "stolen_blank", "range_start": "A100"}, {"range_end"}),
    ({"document_number": "A12#45"}, {"document_number"}),
    ({"fraud_type": "counterfeit", "forgery_subtype": "photo_substitution"}, {"forgery_subtype"}),
    ({"issue_date": "2024-01-01", "expiry_date": "2023-01-01"}, {"expiry_date"}),
    ({"distribution": {"level": "parties", "parties": []}}, {"parties"}),
    ({"distribution": {"level": "parties", "parties": ["MEX", "XXX"]}}, {"parties"}),
    ({"distribution": {"level": "network", "network": "NOPE"}}, {"network"}),
    ({"distribution": {"level": "network", "network": ["CAMINO"]}}, {"network"}),
    ({"distribution": {"level": "network", "network": True}}, {"network"}),
    ({"mrz": "this is not an MRZ"}, {"mrz"}),
])
def test_each_bad_combination_names_its_field(make_user, overrides, fields):
    officer = make_user(role="liaison_officer", party_code="GTM")
    with pytest.raises(AlertValidationError) as caught:
        report(officer, **overrides)
    assert set(caught.value.errors) == fields
    assert _count() == 0


def test_narratives_may_not_quote_the_number_or_the_holder(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    with pytest.raises(AlertValidationError) as caught:
        report(officer, document_number="A1234567", holder_name="Ana Marker",
               description="Passport A 123-4567 was presented.",
               modus_operandi="The bearer said she was  ana marker.")
    assert set(caught.value.errors) == {"description", "modus_operandi"}


def test_without_report_permission_creation_is_forbidden_and_audited(make_user):
    border = make_user(role="border_officer", party_code="GTM")
    with pytest.raises(AlertForbidden):
        report(border)
    assert _count() == 0
    denied = audit_entries("alert.create", outcome="denied")
    assert len(denied) == 1 and denied[0].actor_user_id == border.id


def test_parties_distribution_lists_recipients(make_user, party):
    officer = make_user(role="liaison_officer", party_code="GTM")
    alert = report(officer, distribution={"level": "parties", "parties": ["MEX", "HND"]}, tlp="AMBER")
    assert sorted(alert.recipient_party_ids) == sorted([party("MEX").id, party("HND").id])


# --- MRZ ----------------------------------------------------------------------------------------------

def test_prefill_from_mrz_reads_fields_and_fraud_indicators(app_ctx):
    good = prefill_from_mrz(td3("C01X00T47", state="GTM", surname="GARCIA", given="ANA MARIA", birth="850101",
                                expiry="300101", nationality="HND", sex="F"))
    assert good["document_number"] == "C01X00T47" and good["issuing_state"] == "GTM"
    assert good["bearer_nationality"] == "HND"
    assert good["holder_name"] == "GARCIA, ANA MARIA" and good["holder_birth_date"] == "1985-01-01"
    assert good["expiry_date"] == "2030-01-01"
    assert (good["document_category"], good["document_type"]) == ("passport", "ordinary")
    assert good["mrz_format"] == "TD3" and good["mrz_valid"] is True and good["fraud_indicators"] == []
    tampered = td3("C01X00T47").replace("C01X00T47", "C01X00T48", 1)
    bad = prefill_from_mrz(tampered)
    assert bad["mrz_valid"] is False
    assert {(item["field"], item["code"]) for item in bad["fraud_indicators"]} >= {("document_number", "check_digit")}


def test_prefill_refuses_what_is_not_an_mrz(app_ctx):
    with pytest.raises(AlertValidationError) as caught:
        prefill_from_mrz("hello")
    assert set(caught.value.errors) == {"mrz"}


def test_create_from_mrz_fills_missing_fields_and_keeps_findings(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    tampered = td3("P7654321", state="SLV").replace("P7654321", "P7654322", 1)
    data = alert_data(mrz=tampered)
    for name in ("document_number", "issuing_state", "bearer_nationality", "expiry_date", "issue_date"):
        data.pop(name)
    alert = create_alert(principal(officer), data)
    assert alert.document_number == "P7654322" and alert.issuing_state == "SLV"
    assert alert.holder_name == "PEREZ, JUAN" and alert.holder_birth_date == "1985-01-01"
    assert alert.mrz == tampered
    assert {"field": "document_number", "code": "check_digit"} in alert.mrz_findings
    assert "P7654322" not in _audit_text(audit_entries("alert.create"))


# --- references ---------------------------------------------------------------------------------------

def test_references_count_per_party_and_year(make_user, party):
    gtm, mex = make_user(party_code="GTM"), make_user(party_code="MEX")
    year = utcnow().year
    first, second = report(gtm), report(gtm)
    other = report(mex, issuing_state="MEX")
    assert second.reference_seq == first.reference_seq + 1
    assert second.reference == f"GTM-{year}-{second.reference_seq:06d}"
    assert other.reference == f"MEX-{year}-{other.reference_seq:06d}"
    assert next_reference(party("GTM").id, "GTM", 2091) == ("GTM-2091-000001", 1)
    assert next_reference(party("GTM").id, "GTM", 2091) == ("GTM-2091-000002", 2)


def test_references_are_unique_under_concurrency(app, real_commits):
    """Eight writers take numbers at once, each in its own committed transaction: no duplicates, no gaps.

    Half of them reserve blocks of three (a bulk import's ``reserve_sequences``), half single numbers."""
    year = 2097
    with app.app_context():
        from portal.parties.models import Party

        party_id = db.session.scalar(select(Party.id).where(Party.code == "CRI"))
        db.session.remove()
    taken, failures = [], []
    lock = threading.Lock()

    def writer(block: int):
        try:
            with app.app_context():
                for _ in range(5):
                    if block == 1:
                        references = [next_reference(party_id, "CRI", year)[0]]
                    else:
                        first = reserve_sequences(party_id, year, block)
                        references = [format_reference("CRI", year, seq) for seq in range(first, first + block)]
                    db.session.commit()
                    with lock:
                        taken.extend(references)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - re-reported below: a thread's exception would vanish
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(1 + 2 * (n % 2),)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert sorted(taken) == [f"CRI-{year}-{n:06d}" for n in range(1, 4 * 5 + 4 * 5 * 3 + 1)]
    finally:
        with app.app_context():
            db.session.execute(delete(AlertReferenceCounter).where(AlertReferenceCounter.year == year))
            db.session.commit()
            db.session.remove()


# --- revisions and updates ----------------------------------------------------------------------------

def test_every_change_keeps_an_encrypted_snapshot(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    alert = report(officer, status="draft")
    update_alert(principal(officer), alert, {"description": "Counterfeit booklet, second look."})
    assert alert.revision == 1, "edits of a draft are not revisions of a published alert"
    publish_alert(principal(officer), alert.id)
    update_alert(principal(officer), alert, {"detection_tips": "Check the stitching.", "document_number": "A7654321"})
    assert alert.revision == 2 and alert.is_revised and alert.display_status == "revised"
    history = revisions(alert)
    assert [(item["seq"], item["event"], item["revision"]) for item in history] == [
        (1, "create", 1), (2, "update", 1), (3, "publish", 1), (4, "update", 2)]
    assert history[0]["data"]["document_number"] == "A1234567"
    assert history[-1]["data"]["document_number"] == "A7654321"
    assert history[1]["data"]["description"] == "Counterfeit booklet, second look."
    assert history[-1]["data"]["detection_tips"] == "Check the stitching."
    assert alert.number_index == number_index("A7654321", "GTM")
    raw = db.session.execute(text("SELECT snapshot FROM alert_revisions")).scalars().all()
    assert raw and not any("A1234567" in value or "A7654321" in value for value in raw)
    update = audit_entries("alert.update", object_id=str(alert.id))[-1]
    assert json.loads(update.details)["changed"] == ["detection_tips", "document_number"]
    assert "A7654321" not in update.details


def test_update_validates_and_leaves_the_alert_unchanged(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    alert = report(officer)
    with pytest.raises(AlertValidationError) as caught:
        update_alert(principal(officer), alert, {"issuing_state": "ZZZ", "fraud_type": "magic", "status": "draft"})
    assert set(caught.value.errors) == {"issuing_state", "fraud_type", "status"}
    db.session.refresh(alert)
    assert (alert.issuing_state, alert.fraud_type, alert.revision) == ("GTM", "counterfeit", 1)
    assert len(revisions(alert)) == 2


def test_restricted_alert_is_not_reshared_wider(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    alert = report(officer, tlp="RED", distribution={"level": "parties", "parties": ["MEX"]})
    with pytest.raises(AlertValidationError) as caught:
        update_alert(principal(officer), alert, {"distribution": {"level": "members"}})
    assert set(caught.value.errors) == {"distribution"}
    with pytest.raises(AlertValidationError):
        update_alert(principal(officer), alert, {"distribution": {"level": "parties", "parties": ["MEX", "HND"]}})
    update_alert(principal(officer), alert, {"distribution": {"level": "party"}})
    assert alert.distribution_level == "party"
    assert db.session.scalar(select(func.count()).select_from(DistributionRecipient).where(
        DistributionRecipient.record_type == "alerts", DistributionRecipient.record_id == alert.id)) == 0


@pytest.mark.parametrize("role, code", [
    ("liaison_officer", "MEX"),     # another party, even though the alert is visible to it
    ("border_officer", "GTM"),      # the reporting party, without report_alert
    ("observer", "GTM"),
])
def test_only_the_reporting_party_with_permission_may_change(make_user, role, code):
    alert = report(make_user(role="liaison_officer", party_code="GTM"), status="draft",
                   distribution={"level": "members"})
    other = principal(make_user(role=role, party_code=code))
    for attempt in (lambda: update_alert(other, alert, {"description": "Changed by someone else."}),
                    lambda: publish_alert(other, alert.id),
                    lambda: withdraw_alert(other, alert.id, "not mine")):
        with pytest.raises(AlertNotFound):
            attempt()
    db.session.refresh(alert)
    assert alert.status == "draft" and alert.description == "Counterfeit passport booklet of good quality."
    denied = audit_entries("alert.update", outcome="denied") + audit_entries("alert.publish", outcome="denied")
    assert len(denied) == 2 and all(entry.object_id == str(alert.id) for entry in denied)


def test_unknown_alert_is_not_found(make_user):
    officer = principal(make_user(role="liaison_officer", party_code="GTM"))
    with pytest.raises(AlertNotFound):
        publish_alert(officer, 999999)


# --- publish, withdraw, expire ------------------------------------------------------------------------

def test_publish_rules(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    alert = report(officer, status="draft")
    publish_alert(principal(officer), alert)
    assert alert.status == "published" and alert.published_at is not None
    with pytest.raises(AlertValidationError) as caught:
        publish_alert(principal(officer), alert)
    assert set(caught.value.errors) == {"status"}
    entries = audit_entries("alert.publish", object_id=str(alert.id))
    assert len(entries) == 1 and entries[0].outcome == "ok"


def test_withdraw_needs_a_reason_and_a_published_alert(make_user):
    officer = make_user(role="country_admin", party_code="GTM")
    draft = report(officer, status="draft")
    with pytest.raises(AlertValidationError) as caught:
        withdraw_alert(principal(officer), draft, "  ")
    assert set(caught.value.errors) == {"status", "reason"}
    alert = report(officer)
    with pytest.raises(AlertValidationError) as caught:
        withdraw_alert(principal(officer), alert, "The document A1234567 is genuine.")
    assert set(caught.value.errors) == {"reason"}
    withdraw_alert(principal(officer), alert, "Reported in error: the document is genuine.")
    assert alert.status == "withdrawn" and alert.withdrawn_at is not None
    assert alert.withdrawal_reason == "Reported in error: the document is genuine."
    entry = audit_entries("alert.withdraw", object_id=str(alert.id))[0]
    assert json.loads(entry.details) == {"reference": alert.reference, "reason_length": 43}
    with pytest.raises(AlertValidationError):
        update_alert(principal(officer), alert, {"description": "Too late."})
    assert revisions(alert)[-1]["event"] == "withdraw"


def test_expire_due_alerts(make_user):
    officer = make_user(role="liaison_officer", party_code="GTM")
    due = report(officer, review_date=(utcnow() + timedelta(days=5)).date().isoformat())
    later = report(officer)
    draft = report(officer, status="draft", review_date=(utcnow() + timedelta(days=5)).date().isoformat())
    expired = expire_due_alerts(now=utcnow() + timedelta(days=6))
    assert [alert.id for alert in expired] == [due.id]
    assert due.status == "expired" and due.expired_at is not None
    assert later.status == "published" and draft.status == "draft"
    entry = audit_entries("alert.expire", object_id=str(due.id))[0]
    assert entry.actor_user_id is None and entry.object_party == "GTM"
    assert expire_due_alerts(now=utcnow() + timedelta(days=6)) == []


# --- acknowledgements ---------------------------------------------------------------------------------

def test_acknowledge_once_per_user_by_receiving_parties(make_user):
    reporter = make_user(role="liaison_officer", party_code="GTM")
    alert = report(reporter)
    border = make_user(role="border_officer", party_code="MEX")
    first = acknowledge_alert(principal(border), alert.id)
    again = acknowledge_alert(principal(border), alert.id)
    assert first.id == again.id
    colleague = make_user(role="liaison_officer", party_code="MEX")
    acknowledge_alert(principal(colleague), alert)
    marks = acknowledgements(principal(reporter), alert)
    assert [(mark.user_id, mark.party.code) for mark in marks] == [(border.id, "MEX"), (colleague.id, "MEX")]
    assert len(audit_entries("alert.acknowledge", object_id=str(alert.id))) == 2
    with pytest.raises(AlertNotFound):
        acknowledgements(principal(border), alert)


def test_acknowledge_rules(make_user):
    reporter = make_user(role="liaison_officer", party_code="GTM")
    alert = report(reporter)
    colleague = make_user(role="border_officer", party_code="GTM")
    with pytest.raises(AlertValidationError) as caught:
        acknowledge_alert(principal(colleague), alert)
    assert set(caught.value.errors) == {"alert"}
    hidden = report(reporter, distribution={"level": "party"})
    with pytest.raises(AlertNotFound):
        acknowledge_alert(principal(make_user(role="border_officer", party_code="MEX")), hidden)
    withdrawn = report(reporter)
    withdraw_alert(principal(reporter), withdrawn, "Reported in error.")
    with pytest.raises(AlertValidationError) as caught:
        acknowledge_alert(principal(make_user(role="border_officer", party_code="HND")), withdrawn)
    assert set(caught.value.errors) == {"status"}
    assert _count(AlertAcknowledgement) == 0
