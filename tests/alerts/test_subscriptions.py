"""Alert subscriptions and the notifications they bring: matching, the access filter, immediate e-mails
and daily digests, what an e-mail may say per TLP, and the subscription pages."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from alerts.models import Alert, AlertDigestItem, AlertSubscription
from alerts.notify import send_digests
from alerts.operations import expire_due_alerts, publish_alert, update_alert, withdraw_alert
from alerts.subscriptions import create_subscription
from alerts.validation import AlertValidationError
from portal.extensions import db
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage
from portal.timeutil import utcnow
from tests.alerts.factories import audit_entries, mark_audit_start, principal, report

NUMBER = "A1234567"  # the document number of every alert here (factories.alert_data)
DESCRIPTION = "Counterfeit passport booklet of good quality."


@pytest.fixture(autouse=True)
def _audit_start(app):
    mark_audit_start()


@pytest.fixture
def author(make_user):
    return make_user(role="liaison_officer", party_code="GTM")


def subscribe(user, delivery="immediate", **criteria):
    return create_subscription(principal(user), {"delivery": delivery, **criteria})


def notes(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def mails(user) -> list[OutboxMessage]:
    return [m for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)) if m.recipient == user.email]


def pending_digest(user) -> list[AlertDigestItem]:
    return list(db.session.scalars(select(AlertDigestItem).where(AlertDigestItem.user_id == user.id,
                                                                 AlertDigestItem.sent_at.is_(None))))


# --- matching -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("criteria", "expected"), [
    ({}, True),
    ({"issuing_state": "GTM"}, True),
    ({"issuing_state": "gtm"}, True),  # codes are normalised to upper case when subscribing
    ({"document_category": "passport"}, True),
    ({"fraud_type": "counterfeit"}, True),
    ({"issuing_state": "GTM", "document_category": "passport", "fraud_type": "counterfeit"}, True),
    ({"issuing_state": "MEX"}, False),
    ({"issuing_state": "D"}, False),
    ({"document_category": "visa"}, False),
    ({"fraud_type": "forgery"}, False),
    ({"issuing_state": "GTM", "document_category": "passport", "fraud_type": "forgery"}, False),
])
def test_a_subscription_matches_when_every_criterion_it_sets_matches(author, make_user, criteria, expected):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader, **criteria)
    alert = report(author)  # published, members-wide GREEN, GTM passport, counterfeit
    assert len(notes(reader)) == int(expected)
    assert len(mails(reader)) == int(expected)
    if expected:
        assert notes(reader)[0].link == f"/alerts/{alert.id}"
        assert notes(reader)[0].kind == "alert.published"


@pytest.mark.parametrize(("subscribed_to", "reported_as"), [("D", "DEU"), ("DEU", "D")])
def test_a_subscription_to_germany_matches_alerts_written_d_or_deu(author, make_user, subscribed_to, reported_as):
    reader = make_user(role="border_officer", party_code="MEX")
    assert subscribe(reader, issuing_state=subscribed_to).issuing_state == "DEU"
    report(author, issuing_state=reported_as)
    assert len(notes(reader)) == 1


def test_several_matching_subscriptions_notify_once_and_immediate_wins(author, make_user):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader, delivery="digest")
    subscribe(reader, delivery="immediate", issuing_state="GTM")
    subscribe(reader, delivery="digest", fraud_type="counterfeit")
    report(author)
    assert len(notes(reader)) == 1
    assert len(mails(reader)) == 1
    assert pending_digest(reader) == []


def test_deactivated_users_are_not_notified(author, make_user):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader)
    reader.active = False
    db.session.commit()
    report(author)
    assert notes(reader) == [] and mails(reader) == []


# --- who may be told: the access model ----------------------------------------------------------------

def test_a_party_only_alert_notifies_nobody_outside_the_party(author, make_user):
    outsiders = [make_user(role=role, party_code=code) for role, code in (
        ("border_officer", "MEX"), ("secretariat_admin", "TS"), ("observer", "MEX"), ("country_admin", "ARG"))]
    for user in outsiders:
        subscribe(user)
    report(author, tlp="AMBER", distribution={"level": "party"})
    for user in outsiders:
        assert notes(user) == [] and mails(user) == []
    assert audit_entries("alert.notify") == []


def test_a_listed_parties_alert_notifies_only_the_listed_parties(author, make_user):
    listed = make_user(role="border_officer", party_code="MEX")
    unlisted = make_user(role="border_officer", party_code="SLV")
    for user in (listed, unlisted):
        subscribe(user)
    report(author, tlp="AMBER", distribution={"level": "parties", "parties": ["MEX"]})
    assert len(notes(listed)) == 1 and len(mails(listed)) == 1
    assert notes(unlisted) == [] and mails(unlisted) == []


@pytest.mark.parametrize(("tlp", "observers_told"), [
    ("CLEAR", True), ("GREEN", True), ("AMBER", False), ("AMBER+STRICT", False), ("RED", False),
])
def test_observers_are_told_only_of_members_wide_clear_or_green_alerts(author, make_user, tlp, observers_told):
    member = make_user(role="border_officer", party_code="MEX")
    observer_role = make_user(role="observer", party_code="MEX")
    observer_country = make_user(role="country_admin", party_code="ARG")
    organisation = make_user(role="liaison_officer", party_code="IOM")
    for user in (member, observer_role, observer_country, organisation):
        subscribe(user)
    report(author, tlp=tlp, distribution={"level": "members"})
    assert len(notes(member)) == 1
    for user in (observer_role, observer_country, organisation):
        assert len(notes(user)) == int(observers_told)
        assert len(mails(user)) == int(observers_told)


def test_the_reporting_party_is_not_told_of_its_own_action(author, make_user):
    colleague = make_user(role="border_officer", party_code="GTM")
    subscribe(colleague)
    subscribe(author)
    alert = report(author)
    withdraw_alert(principal(author), alert, "Reported twice.")
    assert notes(colleague) == [] and notes(author) == []
    assert mails(colleague) == [] and mails(author) == []


def test_a_draft_notifies_nobody_until_it_is_published(author, make_user):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader)
    alert = report(author, status="draft")
    update_alert(principal(author), alert, {"detection_tips": "Look at the laminate edges."})
    assert notes(reader) == [] and mails(reader) == []
    publish_alert(principal(author), alert)
    assert [note.kind for note in notes(reader)] == ["alert.published"]
    assert len(mails(reader)) == 1


def test_revision_and_withdrawal_notify_and_are_labelled(author, make_user):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader)
    alert = report(author)
    update_alert(principal(author), alert, {"detection_tips": "Look at the laminate edges."})
    withdraw_alert(principal(author), alert, "Found to be a genuine document.")
    assert [note.kind for note in notes(reader)] == ["alert.published", "alert.revised", "alert.withdrawn"]
    subjects = [mail.subject for mail in mails(reader)]
    assert [f"Alert {alert.reference} {word}" in subject for subject, word in
            zip(subjects, ("published", "revised", "withdrawn"), strict=True)] == [True, True, True]
    assert "genuine document" not in mails(reader)[2].body  # the withdrawal reason stays on the portal
    entries = audit_entries("alert.notify", object_id=str(alert.id))
    assert [json.loads(entry.details) for entry in entries] == [
        {"event": event, "count": 1, "immediate": 1, "digest": 0} for event in ("published", "revised", "withdrawn")]


def test_expiry_notifies_like_a_withdrawal(author, make_user):
    reader = make_user(role="border_officer", party_code="MEX")
    later = make_user(role="border_officer", party_code="HND")
    subscribe(reader)
    subscribe(later, delivery="digest")
    alert = report(author, review_date=(utcnow() + timedelta(days=1)).date().isoformat())
    assert expire_due_alerts(now=utcnow() + timedelta(days=1)) == [alert]
    assert [note.kind for note in notes(reader)] == ["alert.published", "alert.expired"]
    assert mails(reader)[-1].subject == f"Alert {alert.reference} expired: Passport of GTM, Counterfeit"
    assert NUMBER not in mails(reader)[-1].body
    assert sorted(item.event for item in pending_digest(later)) == ["expired", "published"]
    entries = audit_entries("alert.notify", object_id=str(alert.id))
    assert [json.loads(entry.details) for entry in entries][-1] == {"event": "expired", "count": 2, "immediate": 1,
                                                                      "digest": 1}


def test_a_narrowed_revision_is_not_announced_to_those_who_lost_sight(author, make_user):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader)
    alert = report(author, tlp="AMBER", distribution={"level": "members"})
    update_alert(principal(author), alert, {"distribution": {"level": "party"}})
    assert [note.kind for note in notes(reader)] == ["alert.published"]


# --- what an e-mail may say ---------------------------------------------------------------------------

@pytest.mark.parametrize("tlp", ["CLEAR", "GREEN"])
def test_clear_and_green_emails_carry_category_state_and_fraud_type_but_no_number(app, author, make_user, tlp):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader)
    alert = report(author, tlp=tlp)
    (mail,) = mails(reader)
    assert mail.subject == f"Alert {alert.reference} published: Passport of GTM, Counterfeit"
    assert f"TLP:{tlp}" in mail.body
    for line in ("Document category: Passport", "Issuing state: GTM", "Fraud type: Counterfeit",
                 f"{app.config['BASE_URL']}/alerts/{alert.id}"):
        assert line in mail.body
    for secret in (NUMBER, DESCRIPTION, "La Aurora", "laminate", "facilitator"):
        assert secret not in mail.body and secret not in mail.subject
    assert notes(reader)[0].title == mail.subject


@pytest.mark.parametrize("tlp", ["AMBER", "AMBER+STRICT", "RED"])
def test_amber_and_red_emails_carry_only_reference_tlp_and_link(app, author, make_user, tlp):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader)
    alert = report(author, tlp=tlp, distribution={"level": "parties", "parties": ["MEX"]})
    (mail,) = mails(reader)
    assert mail.subject == f"Alert {alert.reference} published (TLP:{tlp})"
    assert f"TLP:{tlp}" in mail.body and f"{app.config['BASE_URL']}/alerts/{alert.id}" in mail.body
    assert "The content is shown only on the portal, after you sign in." in mail.body
    for content in (NUMBER, DESCRIPTION, "Passport", "passport", "Counterfeit", "counterfeit", "Issuing state",
                    "La Aurora"):
        assert content not in mail.body and content not in mail.subject
    assert notes(reader)[0].title == mail.subject


def test_emails_are_written_in_the_recipients_language(author, make_user):
    reader = make_user(role="border_officer", party_code="MEX", locale="es")
    subscribe(reader)
    alert = report(author, tlp="AMBER")
    (mail,) = mails(reader)
    assert mail.subject == f"Alerta {alert.reference} publicada (TLP:AMBER)"
    assert "Referencia" in mail.body


# --- daily digest -------------------------------------------------------------------------------------

def test_digest_subscribers_get_the_notification_now_and_one_email_a_day(app, author, make_user):
    reader = make_user(role="border_officer", party_code="MEX")
    other = make_user(role="border_officer", party_code="SLV")
    subscribe(reader, delivery="digest")
    subscribe(other, delivery="digest", fraud_type="counterfeit")
    first = report(author)
    second = report(author, document_number="B7654321", tlp="AMBER")
    withdraw_alert(principal(author), first, "Duplicate report.")
    assert [note.kind for note in notes(reader)] == ["alert.published", "alert.published", "alert.withdrawn"]
    assert mails(reader) == []
    assert len(pending_digest(reader)) == 3

    assert send_digests() == (2, 6)
    (mail,) = mails(reader)
    assert mail.subject == "Alert digest: 3 changes"
    assert mail.body.count(f"{app.config['BASE_URL']}/alerts/{first.id}\n") == 2
    assert mail.body.count(f"{app.config['BASE_URL']}/alerts/{second.id}\n") == 1
    assert f"Alert {first.reference} published: Passport of GTM, Counterfeit" in mail.body
    assert f"Alert {first.reference} withdrawn: Passport of GTM, Counterfeit" in mail.body
    assert f"Alert {second.reference} published (TLP:AMBER)" in mail.body
    assert NUMBER not in mail.body and "B7654321" not in mail.body and DESCRIPTION not in mail.body
    assert len(mails(other)) == 1
    assert pending_digest(reader) == []
    assert [json.loads(entry.details) for entry in audit_entries("alert.digest")] == [{"messages": 2, "events": 6, "dropped": 0}]


def test_a_second_digest_run_sends_nothing_again(author, make_user):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader, delivery="digest")
    report(author)
    assert send_digests() == (1, 1)
    assert send_digests() == (0, 0)
    assert len(mails(reader)) == 1
    items = db.session.scalars(select(AlertDigestItem).where(AlertDigestItem.user_id == reader.id)).all()
    assert len(items) == 1 and items[0].sent_at is not None and items[0].digest_run is not None
    report(author, document_number="C1111111")  # a new event goes into the next digest only
    assert send_digests() == (1, 1)
    assert len(mails(reader)) == 2


def test_the_digest_drops_events_on_alerts_the_user_can_no_longer_see(author, make_user):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader, delivery="digest")
    alert = report(author, tlp="AMBER", distribution={"level": "members"})
    update_alert(principal(author), alert, {"distribution": {"level": "party"}})
    assert send_digests() == (0, 0)
    assert mails(reader) == []
    assert pending_digest(reader) == []
    assert [json.loads(entry.details) for entry in audit_entries("alert.digest")] == [{"messages": 0, "events": 0, "dropped": 1}]


def test_the_digest_command_queues_the_emails_and_commits(app, author, make_user):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader, delivery="digest")
    report(author)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["alerts", "digest"])
    assert result.exit_code == 0, result.output
    assert "Alert digests: 1 e-mails queued with 1 events." in result.output
    assert len(mails(reader)) == 1
    again = app.test_cli_runner().invoke(args=["alerts", "digest"])
    assert "Alert digests: 0 e-mails queued with 0 events." in again.output
    (entry,) = audit_entries("alert.digest")
    assert entry.actor_role == "cli"


# --- the operations -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "field"), [
    ({"issuing_state": "ZZZ"}, "issuing_state"),
    ({"issuing_state": "GUATEMALA"}, "issuing_state"),
    ({"document_category": "spaceship"}, "document_category"),
    ({"fraud_type": "magic"}, "fraud_type"),
    ({"fraud_type": ["counterfeit"]}, "fraud_type"),
    ({"delivery": "weekly"}, "delivery"),
])
def test_bad_criteria_are_refused_by_field_and_nothing_is_stored(make_user, data, field):
    user = make_user(role="border_officer", party_code="MEX")
    with pytest.raises(AlertValidationError) as raised:
        create_subscription(principal(user), {"delivery": "immediate", **data})
    assert set(raised.value.errors) == {field}
    assert db.session.scalar(select(func.count(AlertSubscription.id))
                             .where(AlertSubscription.user_id == user.id)) == 0


def test_subscribing_is_audited_and_duplicates_are_refused(make_user):
    user = make_user(role="border_officer", party_code="MEX")
    sub = subscribe(user, issuing_state="GTM", document_category="passport")
    (entry,) = audit_entries("alert.subscribe")
    assert entry.object_id == str(sub.id) and entry.actor_user_id == user.id
    assert json.loads(entry.details) == {"issuing_state": "GTM", "document_category": "passport", "fraud_type": None,
                             "delivery": "immediate"}
    with pytest.raises(AlertValidationError) as raised:
        subscribe(user, delivery="digest", issuing_state="GTM", document_category="passport")
    assert set(raised.value.errors) == {"subscription"}


# --- the pages ----------------------------------------------------------------------------------------

ROLES = (("secretariat_admin", "TS"), ("country_admin", "GTM"), ("liaison_officer", "GTM"),
         ("border_officer", "MEX"), ("observer", "MEX"), ("country_admin", "ARG"))


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for method, url in (("get", "/alerts/subscriptions/"), ("post", "/alerts/subscriptions/"),
                        ("post", "/alerts/subscriptions/1/delete")):
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize(("role", "code"), ROLES)
def test_every_role_holding_search_alerts_manages_its_own_subscriptions(client, make_user, login_as, role, code):
    user = make_user(role=role, party_code=code)
    login_as(user)
    page = client.get("/alerts/subscriptions/")
    assert page.status_code == 200
    assert "You have no subscriptions yet." in page.get_data(as_text=True)
    created = client.post("/alerts/subscriptions/", data={"issuing_state": "gtm", "document_category": "passport",
                                                          "fraud_type": "", "delivery": "digest"})
    assert created.status_code == 302 and created.headers["Location"].endswith("/alerts/subscriptions/")
    (sub,) = db.session.scalars(select(AlertSubscription).where(AlertSubscription.user_id == user.id)).all()
    assert (sub.issuing_state, sub.document_category, sub.fraud_type, sub.delivery) == (
        "GTM", "passport", None, "digest")
    listed = client.get("/alerts/subscriptions/").get_data(as_text=True)
    assert f'id="subscription-{sub.id}"' in listed and "Once a day, in a digest e-mail" in listed
    deleted = client.post(f"/alerts/subscriptions/{sub.id}/delete")
    assert deleted.status_code == 302
    assert db.session.get(AlertSubscription, sub.id) is None
    assert len(audit_entries("alert.unsubscribe", object_id=str(sub.id))) == 1


def test_another_users_subscription_is_not_found(client, make_user, login_as):
    owner = make_user(role="border_officer", party_code="MEX")
    sub = subscribe(owner, issuing_state="GTM")
    db.session.commit()
    for intruder in (make_user(role="border_officer", party_code="MEX"),
                     make_user(role="country_admin", party_code="MEX"),
                     make_user(role="secretariat_admin", party_code="TS")):
        login_as(intruder)
        assert client.post(f"/alerts/subscriptions/{sub.id}/delete").status_code == 404
        assert f'id="subscription-{sub.id}"' not in client.get("/alerts/subscriptions/").get_data(as_text=True)
    assert client.post("/alerts/subscriptions/999999/delete").status_code == 404
    assert db.session.get(AlertSubscription, sub.id) is not None
    denied = audit_entries("alert.unsubscribe", outcome="denied")
    assert len(denied) == 4


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"issuing_state": "ZZZ"}, "issuing_state", "ZZZ is not an ICAO code of a state or organisation."),
    ({"document_category": "spaceship"}, "document_category", "Choose one of the listed values."),
    ({"fraud_type": "magic"}, "fraud_type", "Choose one of the listed values."),
    ({"delivery": "weekly"}, "delivery", "Choose how you want to receive the e-mails."),
])
def test_bad_input_on_the_page_is_shown_next_to_its_field(client, make_user, login_as, data, field, message):
    user = make_user(role="border_officer", party_code="MEX")
    login_as(user)
    response = client.post("/alerts/subscriptions/", data={"delivery": "immediate", **data})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}"' in html and message in html
    assert html.index(f'id="{field}"') < html.index(message)
    assert db.session.scalars(select(AlertSubscription).where(AlertSubscription.user_id == user.id)).all() == []


def test_a_duplicate_on_the_page_is_refused_at_the_top_of_the_form(client, make_user, login_as):
    user = make_user(role="border_officer", party_code="MEX")
    subscribe(user, issuing_state="GTM")
    db.session.commit()
    login_as(user)
    response = client.post("/alerts/subscriptions/", data={"issuing_state": "GTM", "delivery": "digest"})
    assert response.status_code == 400
    assert "You already have a subscription with these criteria." in response.get_data(as_text=True)


def test_the_alert_list_links_to_the_subscriptions(client, make_user, login_as):
    login_as(make_user(role="border_officer", party_code="MEX"))
    assert 'href="/alerts/subscriptions/"' in client.get("/alerts/").get_data(as_text=True)


def test_a_notification_links_to_an_alert_the_reader_can_open(client, author, make_user, login_as):
    reader = make_user(role="border_officer", party_code="MEX")
    subscribe(reader)
    alert = report(author)
    db.session.commit()
    (note,) = notes(reader)
    login_as(reader)
    assert client.get(note.link).status_code == 200
    assert db.session.get(Alert, alert.id).status == "published"
