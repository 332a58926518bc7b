"""Changing the directories: entries re-indexed, and who takes part in a network (NetworkParty)."""

from __future__ import annotations

import json

from sqlalchemy import select

from portal.directory import operations, queries
from portal.directory.models import DirectoryEntry
from portal.directory.validation import validate_entry_data
from portal.extensions import db
from portal.parties.models import NetworkParty
from portal.principal import Principal
from tests.directory.factories import audit_rows, make_entry, network, taking_part


def test_renaming_replaces_the_name_tokens(make_user):
    entry = make_entry("GTM", name="María López")
    admin = make_user(role="country_admin", party_code="GTM")
    data = validate_entry_data(entry.party, full_name="María Gómez", email=entry.email)
    operations.update_entry(Principal.for_user(admin), entry, data)
    db.session.commit()
    principal = Principal.for_user(make_user(role="liaison_officer", party_code="MEX"))
    assert queries.search_entries(principal, queries.SearchCriteria(name="lopez")) == []
    assert queries.search_entries(principal, queries.SearchCriteria(name="gomez")) == [entry]


# --- taking part in networks (NetworkParty) --------------------------------------------------------------

def test_participation_follows_active_member_entries(make_user, party):
    secretariat = Principal.for_user(make_user(role="secretariat_admin", party_code="TS"))
    admin = Principal.for_user(make_user(role="country_admin", party_code="PAN"))
    gender = network("GENDER")
    pan = party("PAN").id
    db.session.execute(NetworkParty.__table__.delete().where(NetworkParty.network_id == gender.id))
    first = make_entry("PAN", name="Uno", email="1@pan.example", networks=())
    second = make_entry("PAN", name="Dos", email="2@pan.example", networks=())
    assert not taking_part("GENDER", pan)

    membership = operations.add_membership(secretariat, first, gender, "coordinator")
    assert taking_part("GENDER", pan)
    operations.add_membership(secretariat, second, gender, "alternate")
    operations.remove_membership(secretariat, membership)
    assert taking_part("GENDER", pan)  # the alternate still takes part
    operations.deactivate_entry(admin, second)
    assert not taking_part("GENDER", pan)  # no active member entry left
    db.session.commit()
    rows = [(json.loads(r.details)["taking_part"], r.object_party) for r in audit_rows("network.party.sync")]
    assert rows == [(True, "PAN"), (False, "PAN")]


def test_a_party_added_directly_stays_without_entries(make_user, login_as, client, party):
    troika = network("TROIKA")
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    response = client.post(f"/directory/networks/{troika.id}/parties", data={"party": party("CRI").id})
    assert response.status_code == 302
    assert taking_part("TROIKA", party("CRI").id)
    assert [r.object_party for r in audit_rows("network.party.add")] == ["CRI"]

    entry = make_entry("CRI", name="Tercera", email="t@cri.example", networks=(("TROIKA", "member"),))
    operations.remove_membership(None, entry.memberships[0])
    assert taking_part("TROIKA", party("CRI").id)  # pinned

    response = client.post(f"/directory/networks/{troika.id}/parties/{party('CRI').id}/remove")
    assert response.status_code == 302
    assert not taking_part("TROIKA", party("CRI").id)
    assert [r.object_party for r in audit_rows("network.party.remove")] == ["CRI"]


def test_direct_removal_is_refused_while_entries_remain_and_for_defining_parties(make_user, login_as, client, party):
    troika, tripartite = network("TROIKA"), network("TRIPARTITE")
    secretariat = make_user(role="secretariat_admin", party_code="TS")
    operations.add_party_to_network(Principal.for_user(secretariat), troika, party("HND"))
    make_entry("HND", name="Cuarto", email="c@hnd.example", networks=(("TROIKA", "member"),))
    login_as(secretariat)
    response = client.post(f"/directory/networks/{troika.id}/parties/{party('HND').id}/remove")
    assert response.status_code == 303
    assert taking_part("TROIKA", party("HND").id)
    for code in ("RNCOM", "TS"):
        response = client.post(f"/directory/networks/{tripartite.id}/parties/{party(code).id}/remove")
        assert response.status_code == 303
        assert taking_part("TRIPARTITE", party(code).id)
    assert audit_rows("network.party.remove") == []


def test_tripartite_parties_stay_when_their_entries_leave(make_user, party):
    secretariat = Principal.for_user(make_user(role="secretariat_admin", party_code="TS"))
    entry = make_entry("TS", name="Secre Taria", email="s@ts.example", networks=(("TRIPARTITE", "coordinator"),))
    operations.remove_membership(secretariat, entry.memberships[0])
    assert taking_part("TRIPARTITE", party("TS").id)


def test_network_distribution_reaches_the_members_it_was_sent_to(make_user, party):
    """A record distributed to a network reaches the parties taking part when it was sent: a party whose
    entry joins the network later does not receive it, and one that took part loses it when it stops."""
    from portal.access import visible
    from portal.notices.models import Notice
    from tests.notices.factories import make_notice

    gender = network("GENDER")
    db.session.execute(NetworkParty.__table__.delete().where(NetworkParty.network_id == gender.id))
    secretariat = Principal.for_user(make_user(role="secretariat_admin", party_code="TS"))
    make_entry("HND", name="Hondu Uno", email="h@hnd.example", networks=(("GENDER", "member"),))
    author = make_user(role="liaison_officer", party_code="GTM")
    notice = make_notice(author, level="network", network=gender, tlp="AMBER")

    def sees(code):
        reader = Principal.for_user(make_user(role="liaison_officer", party_code=code))
        return db.session.scalar(visible(Notice, reader).where(Notice.id == notice.id)) is not None

    assert sees("HND") and not sees("NIC")
    make_entry("NIC", name="Nica Uno", email="n@nic.example", networks=(("GENDER", "member"),))
    assert taking_part("GENDER", party("NIC").id)
    assert not sees("NIC")
    hnd_entry = db.session.scalar(select(DirectoryEntry).where(DirectoryEntry.party_id == party("HND").id))
    operations.remove_membership(secretariat, hnd_entry.memberships[0])
    assert not taking_part("GENDER", party("HND").id)
    assert not sees("HND")
