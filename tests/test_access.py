"""The scoping machinery (portal/access.py), proved on notices: distribution level x TLP x viewer.

Each case checks the same answer three ways: the ``visible()`` query, the detail page (200 or 404) and
the list page. Invisible and nonexistent records answer identically, and refusals are audited.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import func, select

from auth.models import User
from portal.access import (
    DISTRIBUTION_LEVELS,
    TLP_LEVELS,
    DistributionError,
    DistributionRecipient,
    can_export,
    can_reshare,
    set_distribution,
    visible,
)
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.notices.models import Notice
from portal.principal import Principal
from tests.notices.factories import make_network, make_notice, party_id

OWNER = "GTM"
LISTED = "MEX"
NETWORK_PARTIES = ("CRI", "TS", "IOM")  # a member country, the secretariat and an organisation

# viewer -> (role, party code)
VIEWERS = {
    "same_party": ("liaison_officer", OWNER),
    "listed_party": ("liaison_officer", LISTED),
    "unlisted_party": ("liaison_officer", "HND"),
    "network_member": ("border_officer", "CRI"),
    "network_non_member": ("country_admin", "PAN"),
    "observer_role_in_owner_party": ("observer", OWNER),
    "observer_country": ("country_admin", "ARG"),
    "secretariat_admin": ("secretariat_admin", "TS"),
    "organisation_in_network": ("country_admin", "IOM"),
}
OBSERVER_VIEWERS = {"observer_role_in_owner_party", "observer_country", "organisation_in_network"}


def expected_visible(viewer: str, level: str, tlp: str) -> bool:
    """The access rules, written out independently of portal/access.py."""
    if viewer in OBSERVER_VIEWERS:
        return level == "members" and tlp in ("CLEAR", "GREEN")
    if level == "members" or viewer == "same_party":
        return True
    if level == "parties":
        return viewer == "listed_party"
    if level == "network":
        return viewer in ("network_member", "secretariat_admin")
    return False


@pytest.fixture
def matrix_network():
    return make_network("MATRIX", NETWORK_PARTIES)


def _audit_rows(**where):
    stmt = select(AuditEntry)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, key) == value)
    return db.session.scalars(stmt.order_by(AuditEntry.seq)).all()


@pytest.mark.parametrize("viewer", list(VIEWERS))
@pytest.mark.parametrize("tlp", TLP_LEVELS)
@pytest.mark.parametrize("level", DISTRIBUTION_LEVELS)
def test_visibility_matrix(level, tlp, viewer, make_user, login_as, client, matrix_network):
    author = make_user(role="liaison_officer", party_code=OWNER)
    notice = make_notice(author, level=level, tlp=tlp, parties=[LISTED] if level == "parties" else (),
                         network=matrix_network if level == "network" else None,
                         title=f"Matrix {level} {tlp}")
    role, code = VIEWERS[viewer]
    user = make_user(role=role, party_code=code)
    want = expected_visible(viewer, level, tlp)

    principal = Principal.for_user(user)
    assert (db.session.scalar(visible(Notice, principal).where(Notice.id == notice.id)) is not None) is want

    login_as(user)
    detail = client.get(f"/notices/{notice.id}")
    assert detail.status_code == (200 if want else 404)
    listing = client.get("/notices/")
    assert listing.status_code == 200
    assert (f"/notices/{notice.id}\"".encode() in listing.data) is want
    assert (f"Matrix {level} {tlp}".encode() in listing.data) is want
    if want:
        assert f"TLP:{tlp}".encode() in detail.data
        assert f"TLP:{tlp}".encode() in listing.data
        assert len(_audit_rows(action="notice.view", actor_user_id=user.id, object_id=str(notice.id))) == 1
    else:
        denied = _audit_rows(action="notices.access", actor_user_id=user.id, object_id=str(notice.id))
        assert [row.outcome for row in denied] == ["denied"]
        assert _audit_rows(action="notice.view", actor_user_id=user.id) == []


def test_nonexistent_looks_exactly_like_invisible(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code=OWNER)
    hidden = make_notice(author, level="party", tlp="RED", title="Own eyes only")
    viewer = make_user(role="liaison_officer", party_code="HND")
    login_as(viewer)
    missing_id = db.session.scalar(select(func.max(Notice.id))) + 1000
    invisible = client.get(f"/notices/{hidden.id}")
    missing = client.get(f"/notices/{missing_id}")
    assert invisible.status_code == missing.status_code == 404
    # Identical apart from the page's own address (echoed in the language switch's "next" field) and the
    # CSRF token, which is signed with a timestamp and so changes when the clock ticks between the requests.
    def normalised(response, record_id):
        body = response.data.replace(f"/notices/{record_id}".encode(), b"/notices/N")
        return re.sub(rb'name="csrf_token" value="[^"]+"', b'name="csrf_token" value="T"', body)

    assert normalised(invisible, hidden.id) == normalised(missing, missing_id)
    assert b"Own eyes only" not in invisible.data

    def header_names(response):  # the session cookie is refreshed on whichever request comes first
        return sorted(name for name, _ in response.headers.items() if name != "Set-Cookie")

    assert header_names(invisible) == header_names(missing)
    assert invisible.content_type == missing.content_type
    rows = _audit_rows(action="notices.access", actor_user_id=viewer.id)
    assert [(row.object_id, row.outcome, row.actor_party) for row in rows] == [
        (str(hidden.id), "denied", "HND"),
        (str(missing_id), "denied", "HND"),
    ]


def test_missing_permission_is_403_and_audited(make_user, login_as, client):
    border = make_user(role="border_officer", party_code=OWNER)
    login_as(border)
    response = client.get("/notices/new")
    assert response.status_code == 403
    rows = _audit_rows(action="access.denied", actor_user_id=border.id)
    assert len(rows) == 1
    assert rows[0].outcome == "denied"
    assert '"permission": "post_notice"' in rows[0].details


def test_anonymous_cannot_read_a_members_clear_notice(make_user, client):
    author = make_user(role="liaison_officer", party_code=OWNER)
    notice = make_notice(author, level="members", tlp="CLEAR")
    response = client.get(f"/notices/{notice.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert db.session.scalar(visible(Notice, None).where(Notice.id == notice.id)) is None


def test_observer_party_sees_its_own_notices_but_observer_role_does_not(make_user):
    admin = make_user(role="country_admin", party_code="ARG")
    own = make_notice(admin, level="party", tlp="RED")
    observer_in_arg = make_user(role="observer", party_code="ARG")
    assert db.session.scalar(visible(Notice, Principal.for_user(admin)).where(Notice.id == own.id)) is not None
    assert db.session.scalar(visible(Notice, Principal.for_user(observer_in_arg)).where(Notice.id == own.id)) is None
    # ... and the observer country still sees only members-wide CLEAR/GREEN notices of others.
    gtm = make_user(role="liaison_officer", party_code=OWNER)
    amber = make_notice(gtm, level="members", tlp="AMBER")
    assert db.session.scalar(visible(Notice, Principal.for_user(admin)).where(Notice.id == amber.id)) is None


def test_token_principal_uses_the_same_scope(make_user):
    from auth.tokens import create_token

    author = make_user(role="liaison_officer", party_code=OWNER)
    listed = make_notice(author, level="parties", tlp="AMBER", parties=[LISTED])
    mex = make_user(role="liaison_officer", party_code=LISTED)
    hnd = make_user(role="liaison_officer", party_code="HND")
    mex_token, _ = create_token(mex, name="border system", scopes=["alerts:read"])
    hnd_token, _ = create_token(hnd, name="border system", scopes=["alerts:read"])
    assert db.session.scalar(visible(Notice, Principal.for_token(mex_token)).where(Notice.id == listed.id))
    assert db.session.scalar(visible(Notice, Principal.for_token(hnd_token)).where(Notice.id == listed.id)) is None


@pytest.mark.parametrize("tlp,exportable", [("CLEAR", True), ("GREEN", True), ("AMBER", True),
                                            ("AMBER+STRICT", False), ("RED", False)])
def test_can_export(tlp, exportable):
    assert can_export(Notice(tlp=tlp)) is exportable


@pytest.mark.parametrize(
    "tlp,current,new,allowed",
    [
        ("RED", "party", "parties", False),
        ("RED", "party", "members", False),
        ("RED", "parties", "members", False),
        ("RED", "network", "members", False),
        ("RED", "parties", "party", True),
        ("RED", "members", "party", True),
        ("RED", "members", "members", True),
        ("AMBER+STRICT", "party", "network", False),
        ("AMBER+STRICT", "network", "party", True),
        ("AMBER", "party", "members", True),
        ("GREEN", "party", "members", True),
        ("CLEAR", "parties", "members", True),
    ],
)
def test_can_reshare_by_level(tlp, current, new, allowed):
    assert can_reshare(Notice(tlp=tlp, distribution_level=current), new) is allowed


def test_can_reshare_compares_recipients_for_restricted_records(make_user):
    author = make_user(role="liaison_officer", party_code=OWNER)
    red = make_notice(author, level="parties", tlp="RED", parties=["MEX", "HND"])
    assert can_reshare(red, "parties", party_ids=[party_id("MEX")]) is True
    assert can_reshare(red, "parties", party_ids=[party_id("MEX"), party_id("HND")]) is True
    assert can_reshare(red, "parties", party_ids=[party_id("MEX"), party_id("CRI")]) is False
    small = make_network("SMALL", ["MEX"])
    wide = make_network("WIDE", ["MEX", "PAN"])
    assert can_reshare(red, "network", network_id=small.id) is True
    assert can_reshare(red, "network", network_id=wide.id) is False
    in_network = make_notice(author, level="network", tlp="AMBER+STRICT", network=small)
    assert can_reshare(in_network, "network", network_id=wide.id) is False
    assert can_reshare(in_network, "parties", party_ids=[party_id("MEX")]) is True
    assert can_reshare(in_network, "parties", party_ids=[party_id("PAN")]) is False
    green = make_notice(author, level="party", tlp="GREEN")
    assert can_reshare(green, "parties", party_ids=[party_id("PAN")]) is True


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"level": "party", "tlp": "PURPLE"}, "tlp"),
        ({"level": "party", "tlp": "amber"}, "tlp"),
        ({"level": "everyone", "tlp": "AMBER"}, "distribution"),
        ({"level": "parties", "tlp": "AMBER"}, "parties"),
        ({"level": "parties", "tlp": "AMBER", "party_ids": []}, "parties"),
        ({"level": "network", "tlp": "AMBER"}, "network"),
    ],
)
def test_set_distribution_validation(kwargs, field, make_user):
    author = make_user(role="liaison_officer", party_code=OWNER)
    notice = make_notice(author, level="members", tlp="GREEN")
    with pytest.raises(DistributionError) as raised:
        set_distribution(notice, **kwargs)
    assert raised.value.field == field
    db.session.refresh(notice)
    assert (notice.distribution_level, notice.tlp) == ("members", "GREEN")


def test_set_distribution_replaces_recipients_and_clears_network(make_user, matrix_network):
    author = make_user(role="liaison_officer", party_code=OWNER)
    notice = make_notice(author, level="parties", tlp="AMBER", parties=["MEX", "HND"])
    assert sorted(notice.recipient_party_ids) == sorted([party_id("MEX"), party_id("HND")])
    set_distribution(notice, level="parties", tlp="AMBER", party_ids=[party_id("CRI"), party_id("CRI")])
    assert notice.recipient_party_ids == [party_id("CRI")]
    set_distribution(notice, level="network", tlp="RED", network_id=matrix_network.id)
    assert notice.recipient_party_ids == []
    assert (notice.network_id, notice.tlp) == (matrix_network.id, "RED")
    set_distribution(notice, level="members", tlp="RED", network_id=matrix_network.id)
    assert notice.network_id is None
    count = db.session.scalar(select(func.count()).select_from(DistributionRecipient)
                              .where(DistributionRecipient.record_id == notice.id))
    assert count == 0


def test_inactive_user_cannot_see_anything(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code=OWNER)
    notice = make_notice(author, level="members", tlp="CLEAR")
    user = make_user(role="liaison_officer", party_code=OWNER)
    login_as(user)
    user.active = False
    db.session.commit()
    response = client.get(f"/notices/{notice.id}")
    assert response.status_code == 302
    assert db.session.get(User, user.id).active is False


# --- the other scoping rules of visible(): directory records, and records seen through their parent ------


def _with_permissions(user, *permissions) -> Principal:
    """``user``'s principal holding exactly ``permissions`` (the rule is checked apart from the role registry)."""
    return dataclasses.replace(Principal.for_user(user), permissions=frozenset(permissions))


def _visible_ids(model, principal, ids) -> set[int]:
    return set(db.session.scalars(visible(model, principal).where(model.id.in_(ids)).with_only_columns(model.id)))


@pytest.mark.parametrize(
    "permissions,sees",
    [
        ((), set()),
        (("manage_networks", "manage_party_directory"), set()),  # nothing without view_directory
        (("view_directory",), {"own_active", "other_active"}),
        (("view_directory", "manage_party_directory"), {"own_active", "other_active", "own_inactive"}),
        (("view_directory", "manage_networks"), {"own_active", "other_active", "own_inactive", "other_inactive"}),
    ],
)
def test_directory_entries_are_scoped_by_the_directory_permissions(permissions, sees, make_user):
    from portal.directory.models import DirectoryEntry
    from tests.directory.factories import make_entry

    entries = {
        "own_active": make_entry("GTM", name="Ana Activa", email="ana@example.org"),
        "own_inactive": make_entry("GTM", name="Beto Baja", email="beto@example.org", active=False),
        "other_active": make_entry("MEX", name="Carla Activa", email="carla@example.org"),
        "other_inactive": make_entry("MEX", name="Dario Baja", email="dario@example.org", active=False),
    }
    ids = {entry.id: name for name, entry in entries.items()}
    viewer = _with_permissions(make_user(role="liaison_officer", party_code="GTM"), *permissions)
    assert {ids[i] for i in _visible_ids(DirectoryEntry, viewer, ids)} == sees
    assert _visible_ids(DirectoryEntry, None, ids) == set()


def test_directory_entries_follow_the_token_scopes(make_user):
    from auth.tokens import create_token
    from portal.directory.models import DirectoryEntry
    from tests.directory.factories import make_entry

    entry = make_entry("MEX", name="Elena Token", email="elena@example.org")
    user = make_user(role="liaison_officer", party_code="GTM")
    reader, _ = create_token(user, name="directory sync", scopes=["directory:read"])
    other, _ = create_token(user, name="border system", scopes=["alerts:read"])
    assert _visible_ids(DirectoryEntry, Principal.for_token(reader), [entry.id]) == {entry.id}
    assert _visible_ids(DirectoryEntry, Principal.for_token(other), [entry.id]) == set()


@pytest.mark.parametrize("code,role", [("GTM", "liaison_officer"), ("MEX", "liaison_officer"),
                                       ("PAN", "liaison_officer"), ("ARG", "country_admin"), ("TS", "secretariat_admin")])
def test_submission_files_are_seen_exactly_where_their_submission_is(code, role, make_user):
    from portal.exchange.attachments import SubmissionAttachment
    from portal.exchange.models import Submission
    from tests.documents.factories import pdf_bytes
    from tests.exchange.factories import make_submission, make_submission_attachment

    author = make_user(role="liaison_officer", party_code="GTM")
    sent = make_submission(author, parties=["MEX"], tlp="AMBER")
    draft = make_submission(author, send=False, parties=["MEX"], tlp="AMBER")
    files = [make_submission_attachment(author, submission, pdf_bytes(f"file {n}"), f"f{n}.pdf")
             for n, submission in enumerate((sent, sent, draft))]
    viewer = Principal.for_user(make_user(role=role, party_code=code))
    seen_submissions = _visible_ids(Submission, viewer, [sent.id, draft.id])
    expected = {item.id for item in files if item.submission_id in seen_submissions}
    assert _visible_ids(SubmissionAttachment, viewer, [item.id for item in files]) == expected
    assert (code == "GTM") == (draft.id in seen_submissions)  # the draft stays with the sending party
    assert (code in ("GTM", "MEX")) == (sent.id in seen_submissions)


@pytest.mark.parametrize("code,role", [("GTM", "liaison_officer"), ("MEX", "liaison_officer"),
                                       ("ARG", "country_admin"), ("TS", "secretariat_admin")])
def test_alert_attachments_are_seen_exactly_where_their_alert_is(code, role, make_user):
    from alerts.attachments import Attachment
    from alerts.models import Alert
    from tests.documents.factories import gtm_alert, make_attachment

    author = make_user(role="liaison_officer", party_code="GTM")
    published = gtm_alert(author, tlp="AMBER")
    draft = gtm_alert(author, status="draft", document_number="X1234567")
    restricted = gtm_alert(author, tlp="RED", distribution={"level": "party"}, document_number="Y1234567")
    files = [make_attachment(author, alert) for alert in (published, draft, restricted)]
    viewer = Principal.for_user(make_user(role=role, party_code=code))
    seen_alerts = _visible_ids(Alert, viewer, [published.id, draft.id, restricted.id])
    expected = {item.id for item in files if item.alert_id in seen_alerts}
    assert _visible_ids(Attachment, viewer, [item.id for item in files]) == expected
    assert (code == "GTM") == (seen_alerts == {published.id, draft.id, restricted.id})
    assert _visible_ids(Attachment, None, [item.id for item in files]) == set()


# --- network distributions over time: membership changes after the record was sent -----------------------

# history -> (steps before the notice is sent, steps after it), and whether the viewer then sees it. A
# network distribution reaches the parties taking part when it is sent; a later member only through the
# owner's re-share (never RED or AMBER+STRICT); a party that leaves loses it at once (and, having been sent
# it, sees it again if it comes back).
NETWORK_HISTORIES = {
    "never_member": ((), (), False),
    "member_when_sent": (("join",), (), True),
    "joined_after": ((), ("join",), False),
    "left_after": (("join",), ("leave",), False),
    "left_and_rejoined": (("join",), ("leave", "join"), True),
    "joined_after_and_reshared": ((), ("join", "reshare"), "unless_restricted"),
    "left_then_reshared": (("join",), ("leave", "reshare"), False),
}


@pytest.mark.parametrize("viewer_code", ["CRI", "TS"])
@pytest.mark.parametrize("tlp", ["AMBER", "RED"])
@pytest.mark.parametrize("history", list(NETWORK_HISTORIES))
def test_network_visibility_over_membership_changes(history, tlp, viewer_code, make_user, login_as, client):
    from portal.access import RESTRICTED_TLP, sees_under_marking, sent_to_party_ids
    from portal.notices.operations import ReshareRefused, reshare_notice_to_network
    from portal.parties.models import NetworkParty

    network = make_network("TIMELINE", ["MEX"])
    author = make_user(role="liaison_officer", party_code=OWNER)
    viewer = make_user(role="liaison_officer" if viewer_code != "TS" else "secretariat_admin", party_code=viewer_code)
    before, after, want = NETWORK_HISTORIES[history]

    def step(name, notice=None):
        key = (network.id, party_id(viewer_code))
        if name == "join":
            db.session.add(NetworkParty(network_id=network.id, party_id=key[1]))
        elif name == "leave":
            db.session.delete(db.session.get(NetworkParty, key))
        else:
            try:
                reshare_notice_to_network(Principal.for_user(author), notice)
            except ReshareRefused:
                pass
        db.session.commit()

    for name in before:
        step(name)
    notice = make_notice(author, level="network", tlp=tlp, network=network, title="Timeline notice")
    for name in after:
        step(name, notice)
    if want == "unless_restricted":
        want = tlp not in RESTRICTED_TLP

    principal = Principal.for_user(viewer)
    in_sql = db.session.scalar(visible(Notice, principal).where(Notice.id == notice.id)) is not None
    in_python = sees_under_marking(principal, owner_party_id=notice.owner_party_id, level="network", tlp=tlp,
                                   party_ids=sent_to_party_ids(notice), network_id=network.id)
    assert (in_sql, in_python) == (want, want)
    login_as(viewer)
    assert client.get(f"/notices/{notice.id}").status_code == (200 if want else 404)
    assert (b"Timeline notice" in client.get("/notices/").data) is want
    # the party that was a member throughout keeps it whatever happened to the viewer
    assert db.session.scalar(visible(Notice, Principal.for_user(make_user(role="liaison_officer", party_code="MEX")))
                             .where(Notice.id == notice.id)) is not None
