"""A record's history obeys the markings it had (issue 11, section 1), for alerts.

GTM created an alert AMBER to all members with a holder name, then edited it to GREEN and removed the
holder: an observer (IOM) opened ``/alerts/<id>/revisions/1`` and read the old holder on a page labelled
GREEN. A snapshot is now seen only by those who could see the alert under that snapshot's own marking as
well as under the current one.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from alerts.models import Alert
from alerts.operations import revisions, revisions_seen_by, update_alert
from portal.access import sees_under_marking, sent_to_party_ids, visibility_clause
from portal.extensions import db
from portal.parties.models import Network, NetworkParty, Party
from portal.principal import Principal
from tests.alerts.factories import principal, report


def _downgraded_alert(author):
    alert = report(author, tlp="AMBER", distribution={"level": "members"}, holder_name="PACHECO RUIZ, HERMENEGILDO")
    db.session.commit()
    update_alert(principal(author), alert, {"tlp": "GREEN", "holder_name": ""})
    db.session.commit()
    return alert


def test_an_observer_never_reads_the_amber_past_of_a_green_alert(client, make_user, login_as):
    author = make_user(role="liaison_officer", party_code="GTM")
    alert = _downgraded_alert(author)
    observer = make_user(role="liaison_officer", party_code="IOM")
    login_as(observer)
    assert client.get(f"/alerts/{alert.id}").status_code == 200
    assert client.get(f"/alerts/{alert.id}/revisions/1").status_code == 404
    page = client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "PACHECO" not in page
    history = revisions(alert)
    assert [row["seq"] for row in revisions_seen_by(principal(observer), alert)] == [history[-1]["seq"]]
    # a member country saw the AMBER alert already: it keeps the whole history
    assert revisions_seen_by(principal(make_user(role="liaison_officer", party_code="MEX")), alert) == history


def test_widening_a_distribution_does_not_reveal_the_earlier_revisions(client, make_user, login_as):
    author = make_user(role="liaison_officer", party_code="GTM")
    alert = report(author, tlp="AMBER", distribution={"level": "party"})
    db.session.commit()
    update_alert(principal(author), alert, {"distribution": {"level": "members"}})
    db.session.commit()
    history = revisions(alert)
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    assert client.get(f"/alerts/{alert.id}").status_code == 200
    for row in history[:-1]:  # every snapshot from when the alert was GTM's alone
        assert client.get(f"/alerts/{alert.id}/revisions/{row['seq']}").status_code == 404
    assert client.get(f"/alerts/{alert.id}/revisions/{history[-1]['seq']}").status_code == 200
    assert revisions_seen_by(principal(author), alert) == history


# The snapshot rule and the SQL scoping clause give the same answer for every marking and viewer.
VIEWERS = (("liaison_officer", "GTM"), ("liaison_officer", "MEX"), ("liaison_officer", "CRI"),
           ("observer", "GTM"), ("country_admin", "ARG"), ("liaison_officer", "IOM"),
           ("secretariat_admin", "TS"))
MARKINGS = list(itertools.product(("party", "parties", "network", "members"),
                                  ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")))


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: f"{v[0]}@{v[1]}")
def test_the_snapshot_rule_agrees_with_the_scoping_clause(make_user, viewer):
    author = make_user(role="liaison_officer", party_code="GTM")
    mex = db.session.scalar(select(Party).where(Party.code == "MEX"))
    network = db.session.scalar(select(Network).order_by(Network.id))
    members = set(db.session.scalars(select(NetworkParty.party_id).where(NetworkParty.network_id == network.id)))
    reader = Principal.for_user(make_user(role=viewer[0], party_code=viewer[1]))
    disagreements = []
    for level, tlp in MARKINGS:
        alert = report(author, tlp=tlp, distribution={
            "level": level, **({"parties": ["MEX"]} if level == "parties" else {}),
            **({"network": network.code} if level == "network" else {})})
        in_sql = db.session.scalar(select(Alert.id).where(Alert.id == alert.id,
                                                          visibility_clause(Alert, reader))) is not None
        in_python = sees_under_marking(reader, owner_party_id=alert.owner_party_id, level=level, tlp=tlp,
                                       party_ids={"parties": [mex.id], "network": sent_to_party_ids(alert)}.get(
                                           level, ()),
                                       network_id=network.id if level == "network" else None)
        if in_sql != in_python:
            disagreements.append((level, tlp, in_sql, in_python, reader.party_id in members))
    assert disagreements == []
