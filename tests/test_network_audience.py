"""Network membership never widens what was sent (issue 11, section 2), for every record kind.

TS added GTM and MEX to the TROIKA network; GTM published a RED alert to TROIKA; TS then added USA (or TS
itself); USA read the RED alert, holder included. A distribution to a network now reaches the parties that
were members when the record was sent or published; a later member receives it only when its owner
re-shares it (audited, never RED or AMBER+STRICT); a party leaving the network loses it at once; and each
membership change is audited and told to the network's parties.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from alerts.export import export_chunks, plan_export
from alerts.models import Alert, AlertSubscription
from alerts.operations import revisions, revisions_seen_by, update_alert
from auth.tokens import create_token
from portal.access import audit_entries_about_what_they_see
from portal.audit.models import AuditEntry
from portal.directory.operations import add_party_to_network, remove_party_from_network
from portal.extensions import db
from portal.notices import operations as notice_operations
from portal.notifications.models import Notification
from portal.outbox.models import OutboxMessage
from portal.parties.models import Network, Party
from portal.principal import Principal
from tests.alerts.factories import report
from tests.documents.factories import make_document
from tests.exchange.factories import make_submission

HOLDER = "PACHECO RUIZ, HERMENEGILDO"


def _party(code: str) -> Party:
    return db.session.scalar(select(Party).where(Party.code == code))


@pytest.fixture
def troika(make_user):
    """TROIKA with GTM and MEX, added by the secretariat; ``add`` / ``remove`` change it as TS does."""
    ts = Principal.for_user(make_user(role="secretariat_admin", party_code="TS"))
    network = db.session.scalar(select(Network).where(Network.code == "TROIKA"))

    def add(code):
        add_party_to_network(ts, network, _party(code))
        db.session.commit()

    def remove(code):
        remove_party_from_network(ts, network, _party(code))
        db.session.commit()

    add("GTM")
    add("MEX")
    return SimpleNamespace(network=network, add=add, remove=remove)


@pytest.fixture
def people(make_user):
    made = {code: make_user(role="liaison_officer", party_code=code) for code in ("GTM", "MEX", "USA")}
    made["TS"] = make_user(role="secretariat_admin", party_code="TS")
    for code in ("MEX", "USA", "TS"):
        db.session.add(AlertSubscription(user_id=made[code].id, delivery="immediate"))
    db.session.commit()
    return made


def _bearer(user, scope) -> dict:
    _token, secret = create_token(user, name="border system", scopes=[scope])
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _notified(user, link_part: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.link.contains(link_part)))


def _mails(user, link_part: str) -> int:
    return sum(1 for message in db.session.scalars(select(OutboxMessage))
               if message.recipient == user.email and link_part in message.body)


def _audit_about(principal, object_type: str, object_id: int) -> int:
    """How many actions of other parties on the record ``principal`` learns of (the plan pages' counts)."""
    db.session.commit()
    return db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id),
        AuditEntry.actor_party != principal.party_code, audit_entries_about_what_they_see(principal)))


def _network_alert(people, troika, tlp: str) -> Alert:
    alert = report(people["GTM"], tlp=tlp, holder_name=HOLDER,
                   distribution={"level": "network", "network": "TROIKA"})
    db.session.commit()
    return alert


# --- the scenario, for every record kind ------------------------------------------------------

@pytest.mark.parametrize("tlp", ["RED", "AMBER"])
def test_a_later_member_never_reads_an_alert_sent_before_it_joined(tlp, people, troika, client, login_as):
    alert = _network_alert(people, troika, tlp)
    troika.add("USA")
    troika.add("TS")
    update_alert(Principal.for_user(people["GTM"]), alert, {"description": "Counterfeit booklet, revised."})
    db.session.commit()

    for code in ("USA", "TS"):
        user = people[code]
        login_as(user)
        assert client.get(f"/alerts/{alert.id}").status_code == 404
        assert client.get(f"/alerts/{alert.id}/revisions/1").status_code == 404
        listing = client.get("/alerts/?q=Counterfeit")
        assert listing.status_code == 200 and alert.reference.encode() not in listing.data
        headers = _bearer(user, "alerts:read")
        assert client.get(f"/api/v1/alerts/{alert.id}", headers=headers).status_code == 404
        found = client.get("/api/v1/alerts", headers=headers)
        assert found.status_code == 200 and alert.reference not in found.get_data(as_text=True)
        plan = plan_export(Principal.for_user(user), filters={"reporting_party": "GTM"})
        assert plan.excluded_restricted == 0
        assert alert.reference not in "".join(export_chunks(plan, "json"))
        assert _notified(user, f"/alerts/{alert.id}") == 0 and _mails(user, f"/alerts/{alert.id}") == 0
        if code == "USA":  # the secretariat's plan pages count every action (issue 11, section 6)
            assert _audit_about(Principal.for_user(user), "alert", alert.id) == 0

    # MEX, a member when it was sent, reads it all and was told of the revision
    mex = people["MEX"]
    login_as(mex)
    page = client.get(f"/alerts/{alert.id}")
    assert page.status_code == 200 and b"PACHECO" in page.data
    assert client.get(f"/api/v1/alerts/{alert.id}", headers=_bearer(mex, "alerts:read")).status_code == 200
    plan = plan_export(Principal.for_user(mex), filters={"reporting_party": "GTM"})
    if tlp == "RED":
        assert plan.excluded_restricted == 1
    else:
        assert alert.reference in json.dumps(json.loads("".join(export_chunks(plan, "json"))))
    assert _notified(mex, f"/alerts/{alert.id}") >= 1
    assert _audit_about(Principal.for_user(mex), "alert", alert.id) > 0


def test_a_draft_reaches_the_members_of_the_network_when_it_is_published(people, troika, client, login_as):
    from alerts.operations import publish_alert

    draft = report(people["GTM"], tlp="RED", status="draft", distribution={"level": "network", "network": "TROIKA"})
    db.session.commit()
    troika.add("USA")
    publish_alert(Principal.for_user(people["GTM"]), draft)
    db.session.commit()
    login_as(people["USA"])
    assert client.get(f"/alerts/{draft.id}").status_code == 200


def test_a_later_member_never_reads_a_notice_sent_before_it_joined(people, troika, client, login_as):
    notice = notice_operations.create_notice(
        Principal.for_user(people["GTM"]), title="Troika call", body="Holder PACHECO at the border.", tlp="RED",
        level="network", network_id=troika.network.id)
    db.session.commit()
    troika.add("USA")
    for code, status in (("USA", 404), ("MEX", 200)):
        login_as(people[code])
        assert client.get(f"/notices/{notice.id}").status_code == status
        assert (b"Troika call" in client.get("/notices/").data) is (status == 200)
    assert {user.party_id for user in notice_operations.audience(notice)} == {_party("GTM").id, _party("MEX").id}
    assert _notified(people["USA"], f"/notices/{notice.id}") == 0
    assert _audit_about(Principal.for_user(people["USA"]), "notice", notice.id) == 0


def test_a_later_member_never_reads_a_library_document_sent_before_it_joined(people, troika, client, login_as):
    document = make_document(people["GTM"], tlp="RED", level="network", network_id=troika.network.id,
                             title="Troika manual")
    troika.add("USA")
    for code, status in (("USA", 404), ("MEX", 200)):
        login_as(people[code])
        assert client.get(f"/library/documents/{document.id}").status_code == status
        download = client.get(f"/library/documents/{document.id}/versions/1/download")
        assert download.status_code == (404 if status == 404 else 200)
        assert (b"Troika manual" in client.get("/library/").data) is (status == 200)
    assert _audit_about(Principal.for_user(people["USA"]), "library_document", document.id) == 0


def test_a_later_member_never_reads_a_submission_sent_before_it_joined(people, troika, client, login_as):
    submission = make_submission(people["GTM"], parties=[], networks=["TROIKA"], tlp="RED",
                                 title="Troika intelligence")
    troika.add("USA")
    for code, status in (("USA", 404), ("MEX", 200)):
        user = people[code]
        login_as(user)
        assert client.get(f"/exchange/{submission.id}").status_code == status
        assert (b"Troika intelligence" in client.get("/exchange/").data) is (status == 200)
        api = client.get(f"/api/v1/submissions/{submission.id}", headers=_bearer(user, "exchange:read"))
        assert api.status_code == status
    assert _notified(people["USA"], f"/exchange/{submission.id}") == 0


# --- leaving a network loses access at once -----------------------------------------------------------

def test_leaving_the_network_loses_every_kind_of_record_at_once(people, troika, client, login_as):
    gtm = people["GTM"]
    alert = _network_alert(people, troika, "AMBER")
    notice = notice_operations.create_notice(Principal.for_user(gtm), title="Call", body="Meet.", tlp="AMBER",
                                             level="network", network_id=troika.network.id)
    db.session.commit()
    document = make_document(gtm, tlp="AMBER", level="network", network_id=troika.network.id)
    through = make_submission(gtm, parties=[], networks=["TROIKA"], tlp="AMBER")
    named = make_submission(gtm, parties=["MEX"], networks=["TROIKA"], tlp="AMBER")
    pages = (f"/alerts/{alert.id}", f"/notices/{notice.id}", f"/library/documents/{document.id}",
             f"/exchange/{through.id}")
    login_as(people["MEX"])
    assert [client.get(url).status_code for url in pages] == [200] * 4
    troika.remove("MEX")
    assert [client.get(url).status_code for url in pages] == [404] * 4
    assert client.get(f"/alerts/{alert.id}/revisions/1").status_code == 404
    # a party named as a recipient keeps what was sent to it by name
    assert client.get(f"/exchange/{named.id}").status_code == 200
    assert _party("MEX").id not in through.recipient_party_ids


# --- the owner's re-share -------------------------------------------------------------------------------

def test_a_re_share_reaches_the_new_member_and_tells_it(people, troika, client, login_as):
    alert = _network_alert(people, troika, "GREEN")
    update_alert(Principal.for_user(people["GTM"]), alert, {"description": "Counterfeit booklet, revised."})
    db.session.commit()
    troika.add("USA")
    mex_told = _notified(people["MEX"], f"/alerts/{alert.id}")
    login_as(people["GTM"])
    detail = client.get(f"/alerts/{alert.id}")
    assert b'id="reshare-network"' in detail.data and b"USA" in detail.data
    assert client.post(f"/alerts/{alert.id}/reshare-network").status_code == 302
    db.session.commit()

    login_as(people["USA"])
    assert client.get(f"/alerts/{alert.id}").status_code == 200
    assert _notified(people["USA"], f"/alerts/{alert.id}") == 1 and _mails(people["USA"], f"/alerts/{alert.id}") == 1
    assert _notified(people["MEX"], f"/alerts/{alert.id}") == mex_told  # nobody is told twice
    history = revisions(alert)
    assert [row["event"] for row in revisions_seen_by(Principal.for_user(people["USA"]), alert)] == ["reshare"]
    for row in history[:-1]:  # the snapshots sent before USA joined stay with their audience
        assert client.get(f"/alerts/{alert.id}/revisions/{row['seq']}").status_code == 404
    assert client.get(f"/alerts/{alert.id}/revisions/{history[-1]['seq']}").status_code == 200
    assert revisions_seen_by(Principal.for_user(people["MEX"]), alert) == history
    # the reporting party's diff names whom the re-share reached; another reader learns the level alone
    last = f"/alerts/{alert.id}/revisions/{history[-1]['seq']}"
    login_as(people["GTM"])
    assert b"TROIKA (MEX, USA)" in client.get(last).data
    login_as(people["MEX"])
    assert b"(MEX, USA)" not in client.get(last).data
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.reshare",
                                                           AuditEntry.object_id == str(alert.id))).all()
    assert entry.outcome == "ok" and json.loads(entry.details)["reached"] == 1


@pytest.mark.parametrize("tlp", ["RED", "AMBER+STRICT"])
def test_a_restricted_alert_is_never_re_shared_to_a_later_member(tlp, people, troika, client, login_as):
    alert = _network_alert(people, troika, tlp)
    troika.add("USA")
    login_as(people["GTM"])
    assert b'id="reshare-network"' not in client.get(f"/alerts/{alert.id}").data
    assert client.post(f"/alerts/{alert.id}/reshare-network").status_code == 400
    db.session.commit()
    denied = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.reshare",
                                                         AuditEntry.object_id == str(alert.id))).all()
    assert [(row.outcome, json.loads(row.details)["reason"]) for row in denied] == [("denied", "tlp")]
    login_as(people["MEX"])  # not the owner: not found
    assert client.post(f"/alerts/{alert.id}/reshare-network").status_code == 404
    login_as(people["USA"])
    assert client.get(f"/alerts/{alert.id}").status_code == 404


def test_editing_a_network_alert_or_notice_keeps_the_audience_it_was_sent_to(people, troika, client, login_as):
    gtm = Principal.for_user(people["GTM"])
    alert = _network_alert(people, troika, "GREEN")
    notice = notice_operations.create_notice(gtm, title="Call", body="Meet.", tlp="GREEN", level="network",
                                             network_id=troika.network.id)
    db.session.commit()
    troika.add("USA")
    update_alert(gtm, alert, {"tlp": "AMBER", "distribution": {"level": "network", "network": "TROIKA"}})
    notice_operations.reshare_notice(gtm, notice, level="network", network_id=troika.network.id)
    db.session.commit()
    login_as(people["USA"])
    assert client.get(f"/alerts/{alert.id}").status_code == 404
    assert client.get(f"/notices/{notice.id}").status_code == 404


def test_a_notice_re_share_reaches_the_new_member_only_when_allowed(people, troika, client, login_as):
    gtm = Principal.for_user(people["GTM"])
    green = notice_operations.create_notice(gtm, title="Open call", body="Meet.", tlp="GREEN", level="network",
                                            network_id=troika.network.id)
    red = notice_operations.create_notice(gtm, title="Closed call", body="Meet.", tlp="RED", level="network",
                                          network_id=troika.network.id)
    db.session.commit()
    troika.add("USA")
    login_as(people["GTM"])
    assert client.post(f"/notices/{red.id}/reshare-network").status_code == 400
    assert client.post(f"/notices/{green.id}/reshare-network").status_code == 302
    db.session.commit()
    login_as(people["USA"])
    assert client.get(f"/notices/{green.id}").status_code == 200
    assert client.get(f"/notices/{red.id}").status_code == 404
    assert _notified(people["USA"], f"/notices/{green.id}") == 1


# --- membership changes are audited and told ------------------------------------------------------------

def test_a_membership_change_is_audited_and_told_to_the_network_parties(make_user, troika):
    admins = {code: make_user(role="country_admin", party_code=code) for code in ("GTM", "MEX", "USA", "PAN")}
    officer = make_user(role="liaison_officer", party_code="MEX")
    db.session.commit()
    troika.add("USA")
    link = f"/directory/networks/{troika.network.id}"
    assert [_notified(admins[code], link) for code in ("GTM", "MEX", "USA", "PAN")] == [1, 1, 1, 0]
    assert _notified(officer, link) == 0
    assert [_mails(admins[code], link) for code in ("GTM", "MEX", "USA", "PAN")] == [1, 1, 1, 0]
    troika.remove("MEX")
    assert [_notified(admins[code], link) for code in ("GTM", "MEX", "USA", "PAN")] == [2, 2, 2, 0]
    left = db.session.scalar(select(Notification).where(Notification.user_id == admins["MEX"].id)
                             .order_by(Notification.id.desc()))
    assert left.kind == "network.party_left" and "MEX" in left.title
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "network.party.sync", AuditEntry.object_id == str(troika.network.id))
        .order_by(AuditEntry.seq)).all()
    assert [(row.object_party, json.loads(row.details)["taking_part"]) for row in entries][-2:] == [
        ("USA", True), ("MEX", False)]
