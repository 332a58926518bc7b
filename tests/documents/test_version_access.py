"""A library document's versions obey the markings they were published under (issue 11, section 1).

GTM uploads a document AMBER to its own party (v1), then a second version GREEN to all members (v2): the
document is now GREEN, but v1 was never shared with anyone outside GTM. Another party or an observer sees
the document and v2, never v1: not on the page, not as a download, not in the version list.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, select, text

from documents import operations
from documents.files import StoredBlobs, store_upload
from documents.models import Document
from documents.uploads import LIBRARY_KINDS
from portal.access import Marking, visibility_clause
from portal.extensions import db
from portal.parties.models import Network, Party
from portal.principal import Principal
from tests.alerts.factories import audit_entries, mark_audit_start
from tests.alerts.test_revision_access import MARKINGS, VIEWERS
from tests.documents.factories import blob_files, file_rows, make_document, pdf_bytes, post_multipart


def _upload(data: bytes, name: str):
    return store_upload([data], name, allowed=LIBRARY_KINDS, blobs=StoredBlobs())


def _amber_then_green(client, login_as, owner):
    """v1 AMBER to GTM alone (holding a name), v2 GREEN to all members, the second through the page."""
    doc = make_document(owner, pdf_bytes("PACHECO RUIZ v1"), "holder-v1.pdf", tlp="AMBER", level="party")
    login_as(owner)
    response = post_multipart(client, f"/library/documents/{doc.id}/versions/new",
                              {"tlp": "GREEN", "distribution": "members", "note": "public edition"},
                              [("file", "public-v2.pdf", pdf_bytes("public v2"))])
    assert response.status_code == 302, response.get_data(as_text=True)
    return doc


@pytest.mark.parametrize("reader", [("liaison_officer", "MEX"), ("liaison_officer", "IOM"), ("observer", "GTM")],
                         ids=lambda r: f"{r[0]}@{r[1]}")
def test_a_reader_outside_the_first_marking_sees_v2_never_v1(client, make_user, login_as, reader):
    owner = make_user(role="liaison_officer", party_code="GTM")
    doc = _amber_then_green(client, login_as, owner)
    db.session.refresh(doc)
    assert (doc.tlp, doc.distribution_level) == ("GREEN", "members")
    versions = {row.number: row for row in operations.versions_of(doc)}
    assert versions[1].marking == Marking("party", "AMBER", (), None)
    assert versions[2].marking == Marking("members", "GREEN", (), None)

    login_as(make_user(role=reader[0], party_code=reader[1]))
    assert doc.id in [int(href.split("/")[3]) for href in _document_links(client.get("/library/").get_data(as_text=True))]
    page = client.get(f"/library/documents/{doc.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "public-v2.pdf" in text and "holder-v1.pdf" not in text
    assert f"/library/documents/{doc.id}/versions/1/download" not in text
    assert client.get(f"/library/documents/{doc.id}/versions/1/download").status_code == 404
    assert client.get(f"/library/documents/{doc.id}/versions/2/download").data == pdf_bytes("public v2")


def _bearer(user) -> dict:
    from auth.tokens import create_token

    _row, secret = create_token(user, name="library client", scopes=["library:read"])
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("reader", [("liaison_officer", "MEX"), ("liaison_officer", "IOM"), ("observer", "GTM")],
                         ids=lambda r: f"{r[0]}@{r[1]}")
def test_the_api_gives_a_reader_outside_the_first_marking_v2_never_v1(client, make_user, login_as, reader):
    owner = make_user(role="liaison_officer", party_code="GTM")
    doc = _amber_then_green(client, login_as, owner)
    headers = _bearer(make_user(role=reader[0], party_code=reader[1]))
    mark_audit_start()
    listing = client.get("/api/v1/library/documents", headers=headers).get_json()["documents"]
    assert doc.id in [item["id"] for item in listing] and all("versions" not in item for item in listing)
    body = client.get(f"/api/v1/library/documents/{doc.id}", headers=headers).get_json()
    assert (body["tlp"], body["distribution_level"]) == ("GREEN", "members")
    assert [(v["number"], v["tlp"], v["display_name"]) for v in body["versions"]] == [(2, "GREEN", "public-v2.pdf")]
    assert client.get(f"/api/v1/library/documents/{doc.id}/versions/1", headers=headers).status_code == 404
    served = client.get(f"/api/v1/library/documents/{doc.id}/versions/2", headers=headers)
    assert served.status_code == 200 and served.data == pdf_bytes("public v2")
    assert [json.loads(entry.details)["version"] for entry in audit_entries("document.download")] == [2]
    assert len(audit_entries("document.view", object_id=str(doc.id))) == 1
    owner_body = client.get(f"/api/v1/library/documents/{doc.id}", headers=_bearer(owner)).get_json()
    assert [v["number"] for v in owner_body["versions"]] == [2, 1]


def test_the_api_hides_a_document_and_its_versions_from_those_outside_its_marking(client, make_user):
    owner = make_user(role="liaison_officer", party_code="GTM")
    doc = make_document(owner, tlp="AMBER", level="party")
    headers = _bearer(make_user(role="liaison_officer", party_code="MEX"))
    assert doc.id not in [item["id"] for item in
                          client.get("/api/v1/library/documents", headers=headers).get_json()["documents"]]
    for url in (f"/api/v1/library/documents/{doc.id}", f"/api/v1/library/documents/{doc.id}/versions/1",
                "/api/v1/library/documents/999999"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404 and response.get_json()["status"] == 404


def _document_links(page: str) -> list[str]:
    import re

    return re.findall(r'href="(/library/documents/\d+)"', page)


def test_the_owner_party_keeps_every_version(client, make_user, login_as):
    owner = make_user(role="liaison_officer", party_code="GTM")
    doc = _amber_then_green(client, login_as, owner)
    login_as(make_user(role="country_admin", party_code="GTM"))
    text = client.get(f"/library/documents/{doc.id}").get_data(as_text=True)
    assert "public-v2.pdf" in text and "holder-v1.pdf" in text
    assert client.get(f"/library/documents/{doc.id}/versions/1/download").data == pdf_bytes("PACHECO RUIZ v1")


def test_narrowing_hides_the_new_version_from_the_old_audience(client, make_user, login_as):
    """GREEN to all (v1), then AMBER to GTM alone (v2): MEX no longer sees the document at all."""
    owner = make_user(role="liaison_officer", party_code="GTM")
    doc = make_document(owner, tlp="GREEN", level="members")
    operations.add_version(Principal.for_user(owner), doc, _upload(pdf_bytes("v2"), "v2.pdf"),
                           marking=Marking("party", "AMBER"))
    db.session.commit()
    login_as(make_user(role="liaison_officer", party_code="MEX"))
    assert client.get(f"/library/documents/{doc.id}").status_code == 404
    assert client.get(f"/library/documents/{doc.id}/versions/1/download").status_code == 404


def test_a_restricted_document_is_never_re_marked_wider(client, make_user, login_as):
    owner = make_user(role="liaison_officer", party_code="GTM")
    doc = make_document(owner, tlp="RED", level="party")
    login_as(owner)
    rows, blobs = file_rows(), blob_files()
    response = post_multipart(client, f"/library/documents/{doc.id}/versions/new",
                              {"tlp": "RED", "distribution": "members"}, [("file", "v2.pdf", pdf_bytes("v2"))])
    assert response.status_code == 400
    assert "cannot be shared more widely" in response.get_data(as_text=True)
    db.session.refresh(doc)
    assert doc.distribution_level == "party" and file_rows() == rows and blob_files() == blobs


def test_the_upload_audits_a_re_marking(client, make_user, login_as):
    mark_audit_start()
    owner = make_user(role="liaison_officer", party_code="GTM")
    doc = _amber_then_green(client, login_as, owner)
    details = [json.loads(entry.details) for entry in audit_entries("document.upload", object_id=str(doc.id))]
    assert details[0] == {"version": 1, "kind": "pdf", "size": details[0]["size"]}
    assert details[1] == {"version": 2, "kind": "pdf", "size": details[1]["size"], "level": "members",
                          "tlp": "GREEN", "recipients": 0, "remarked": True}


# The access matrix, extended to versions: for every marking a first version had and every viewer, the
# viewer reads that version after the document was re-marked GREEN to all members exactly when the SQL
# scoping clause let it see the document under the first marking (and it sees the document now). The
# viewers and markings are the alerts' revision matrix's.


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: f"{v[0]}@{v[1]}")
def test_the_version_rule_agrees_with_the_scoping_clause(make_user, viewer):
    author = make_user(role="liaison_officer", party_code="GTM")
    mex = db.session.scalar(select(Party).where(Party.code == "MEX"))
    network = db.session.scalar(select(Network).order_by(Network.id))
    reader = Principal.for_user(make_user(role=viewer[0], party_code=viewer[1]))

    def sees(doc) -> bool:
        return db.session.scalar(select(Document.id).where(Document.id == doc.id,
                                                           visibility_clause(Document, reader))) is not None

    disagreements = []
    for level, tlp in MARKINGS:
        doc = make_document(author, b"a,b\n1,2\n", "v1.csv", tlp=tlp, level=level,
                            party_ids=[mex.id] if level == "parties" else (),
                            network_id=network.id if level == "network" else None)
        saw_first = sees(doc)
        operations.add_version(Principal.for_user(author), doc, _upload(b"a,b\n3,4\n", "v2.csv"),
                               marking=Marking("members", "GREEN") if tlp not in ("RED", "AMBER+STRICT")
                               else Marking(level, tlp, tuple([mex.id] if level == "parties" else ()),
                                            network.id if level == "network" else None))
        seen = {row.number for row in operations.versions_seen_by(reader, doc)} if sees(doc) else set()
        expected = ({1} if saw_first else set()) | ({2} if sees(doc) else set())
        if seen != expected:
            disagreements.append((level, tlp, sorted(seen), sorted(expected)))
    assert disagreements == []


def test_migration_0017_gives_existing_versions_their_documents_marking(scratch):
    engine, migrate = scratch
    migrate("0015")
    documents = [(1, "AMBER", "parties", None), (2, "GREEN", "network", 3), (3, "RED", "party", None)]
    with engine.begin() as connection:
        for document_id, tlp, level, network_id in documents:
            connection.execute(text(
                "INSERT INTO library_documents (id, folder_id, title, description, tags, objectives, created_at, "
                "updated_at, owner_party_id, distribution_level, network_id, tlp) VALUES (:id, 1, 'k1:t', 'k1:d', "
                "'[]', '[]', '2026-12-01', '2026-12-01', 5, :level, :network, :tlp)"),
                {"id": document_id, "level": level, "network": network_id, "tlp": tlp})
            for number in (1, 2):
                n = document_id * 10 + number
                connection.execute(text(
                    "INSERT INTO library_document_versions (id, document_id, number, file_uid, blob_id, wrapped_key, "
                    "key_id, size, kind, display_name, created_at) VALUES (:n, :d, :number, :uid, :blob, :key, "
                    "'k1', 10, 'pdf', 'k1:n', '2026-12-01')"),
                    {"n": n, "d": document_id, "number": number, "uid": f"{n:032x}", "blob": f"{n + 500:032x}",
                     "key": b"wrapped"})
        for party_id in (7, 9):
            connection.execute(text("INSERT INTO distribution_recipients (record_type, record_id, party_id) "
                                    "VALUES ('library_documents', 1, :party)"), {"party": party_id})

    migrate("0017")

    with engine.connect() as connection:
        rows = connection.execute(text("SELECT document_id, number, distribution_level, tlp, network_id, party_ids "
                                       "FROM library_document_versions ORDER BY id")).all()
    assert [(d, n, level, tlp, network, json.loads(parties)) for d, n, level, tlp, network, parties in rows] == [
        (1, 1, "parties", "AMBER", None, [7, 9]), (1, 2, "parties", "AMBER", None, [7, 9]),
        # the audience migration 0016 froze for the network document: its owner (network 3 has no members here)
        (2, 1, "network", "GREEN", 3, [5]), (2, 2, "network", "GREEN", 3, [5]),
        (3, 1, "party", "RED", None, []), (3, 2, "party", "RED", None, [])]
    columns = {column["name"]: column for column in inspect(engine).get_columns("library_document_versions")}
    assert not columns["tlp"]["nullable"] and not columns["distribution_level"]["nullable"]

    migrate("0015", down=True)

    assert not {"tlp", "distribution_level", "network_id", "party_ids"} & {
        column["name"] for column in inspect(engine).get_columns("library_document_versions")}
