"""Sealed search terms (issue 11, section 6): numbers searched or checked are sealed in the audit, never
comparable; the viewer and its CSV show "sealed"; ``audit find-search`` opens them for investigators and is
audited itself; rotating the key ring keeps old entries openable and ``keys verify`` opens them all."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import func, select

from alerts.indexes import number_any_index, number_index
from alerts.search import check_document, search_alerts
from portal.audit.models import AuditEntry
from portal.audit.sealing import SEALED, SearchTerm, open_sealed, seal_search_terms, shown_details
from portal.crypto import blind_index
from portal.extensions import db
from portal.keyring import current_keyring
from portal.principal import Principal
from tests.alerts.factories import report


def _head() -> int:
    return db.session.scalar(select(func.max(AuditEntry.seq))) or 0


def _after(seq: int, action: str | None = None) -> list[AuditEntry]:
    db.session.commit()
    statement = select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)
    if action:
        statement = statement.where(AuditEntry.action == action)
    return list(db.session.scalars(statement))


def _comparable_forms(number: str, state: str = "GTM") -> list[str]:
    """What a reader of the log could compute from a number to recognise it: the number, its hashes."""
    return [number, number_any_index(number), number_index(number, state), blind_index(number)]


def test_the_same_terms_are_never_sealed_alike(app_ctx):
    terms = [SearchTerm("number", "QZ7730001", "GTM"), SearchTerm("number", "A1", None)]
    first, second = seal_search_terms(terms), seal_search_terms(terms)
    assert first != second and first.startswith(f"{current_keyring().active_id}:")
    assert open_sealed(first) == open_sealed(second) == terms
    assert "QZ7730001" not in first


def test_two_checks_of_one_number_store_different_values(make_user):
    border = Principal.for_user(make_user(role="border_officer", party_code="MEX"))
    start = _head()
    check_document(border, "QZ7730001", "GTM")
    check_document(border, "qz 773-0001", "GTM")
    first, second = _after(start, "alert.check")
    assert json.loads(first.details)[SEALED] != json.loads(second.details)[SEALED]
    for entry in (first, second):
        assert not any(form in entry.details for form in _comparable_forms("QZ7730001"))
        assert open_sealed(json.loads(entry.details)[SEALED]) == [SearchTerm("number", "QZ7730001", "GTM")]


def test_the_viewer_and_its_csv_show_no_comparable_value(client, make_user, login_as):
    border = Principal.for_user(make_user(role="border_officer", party_code="GTM"))
    start = _head()
    search_alerts(border, "QZ7730002")
    check_document(border, "QZ7730002", "GTM")
    stored = [json.loads(entry.details)[SEALED] for entry in _after(start) if entry.action.startswith("alert.")]
    assert len(stored) == 2
    login_as(make_user(role="secretariat_admin", party_code="TS"))

    page = client.get("/audit/", query_string={"action": "alert."})
    export = client.post("/audit/export.csv", query_string={"action": "alert."})

    assert page.status_code == 200 and export.status_code == 200
    rows = [row for row in csv.DictReader(io.StringIO(export.data.decode())) if int(row["seq"]) > start]
    assert [row["action"] for row in rows] == ["alert.check", "alert.search"]  # newest first
    assert [json.loads(row["details"])[SEALED] for row in rows] == ["sealed", "sealed"]
    for text in (page.data.decode(), export.data.decode()):
        for value in [*stored, *(part.partition(":")[2] for part in stored), *_comparable_forms("QZ7730002")]:
            assert value not in text
    assert "&#34;sealed&#34;: &#34;sealed&#34;" in page.data.decode()


def test_shown_details_leave_other_entries_as_stored():
    assert shown_details('{"count": 2}') == '{"count": 2}'
    assert shown_details({"sealed": "k1:abc", "results": 0}, "sellado") == '{"results": 0, "sealed": "sellado"}'


def test_find_search_lists_who_searched_a_number_by_state_and_is_audited(cli, make_user):
    gtm_owner = make_user(role="liaison_officer", party_code="GTM")
    report(gtm_owner, document_number="QZ7730003", issuing_state="GTM")
    mex = make_user(role="border_officer", party_code="MEX", email="mex.border@mex.example.org")
    slv = make_user(role="border_officer", party_code="SLV", email="slv.border@slv.example.org")
    search_alerts(Principal.for_user(mex), "QZ7730003", {"issuing_state": "GTM"})
    check_document(Principal.for_user(slv), "QZ7730003", "MEX")
    check_document(Principal.for_user(slv), "QZ7730003")  # any state
    search_alerts(Principal.for_user(mex), "QZ7730099")  # another number
    db.session.commit()
    start = _head()

    everything = cli("audit", "find-search", "qz 773-0003")
    in_gtm = cli("audit", "find-search", "QZ7730003", "--state", "gtm")

    assert everything.exit_code == 0, everything.output
    lines = [line for line in everything.output.splitlines() if " seq " in line]
    assert len(lines) == 3 and "3 search(es) of this number found." in everything.output
    assert f"user {mex.id} mex.border@mex.example.org" in lines[0] and "party MEX" in lines[0]
    assert "alert.search" in lines[0] and "state GTM" in lines[0] and lines[0].endswith(" ok")
    assert "party SLV" in lines[1] and "alert.check" in lines[1] and "state MEX" in lines[1]
    assert "state any" in lines[2]
    assert in_gtm.exit_code == 0, in_gtm.output
    found = [line for line in in_gtm.output.splitlines() if " seq " in line]
    # the GTM search, the any-state check, and the investigation just before (a search in any state)
    assert [("state GTM" in line, "state any" in line) for line in found] == [(True, False), (False, True),
                                                                                   (False, True)]
    assert "audit.find_search" in found[2] and "anonymous / system" in found[2]

    audited = _after(start, "audit.find_search")
    assert len(audited) == 2
    assert [json.loads(entry.details)["found"] for entry in audited] == [3, 3]
    assert open_sealed(json.loads(audited[1].details)[SEALED]) == [SearchTerm("number", "QZ7730003", "GTM")]
    for entry in audited:
        assert entry.actor_role == "cli"
        assert not any(form in entry.details for form in _comparable_forms("QZ7730003"))
    # an investigation is itself a search of the number: the next one lists it
    again = cli("audit", "find-search", "QZ7730003")
    assert "5 search(es) of this number found." in again.output and "audit.find_search" in again.output


def test_find_search_refuses_an_empty_number(cli):
    result = cli("audit", "find-search", " - ")
    assert result.exit_code != 0 and "document number" in result.output


def test_rotation_keeps_sealed_entries_openable_and_verified(cli, ring_file, make_user):
    border = Principal.for_user(make_user(role="border_officer", party_code="GTM"))
    check_document(border, "QZ7730004", "GTM")
    db.session.commit()

    assert cli("keys", "rotate").exit_code == 0
    check_document(border, "QZ7730004", "GTM")
    db.session.commit()
    stored = [json.loads(entry.details)[SEALED] for entry in _after(0, "alert.check")
              if "QZ7730004" in str(open_sealed(json.loads(entry.details)[SEALED]))]
    assert [value.partition(":")[0] for value in stored] == ["k1", "k2"]

    found = cli("audit", "find-search", "QZ7730004")
    verified = cli("keys", "verify", "--no-blobs")
    status = cli("keys", "status")
    retire = cli("keys", "retire", "k1")

    assert "2 search(es) of this number found." in found.output
    assert verified.exit_code == 0, verified.output
    sealed_count = next(line for line in verified.output.splitlines() if "sealed search terms" in line)
    assert int(sealed_count.rsplit(":", 1)[1].split()[0]) >= 3  # the two checks and the find-search
    assert "k2 (active" in status.output and "audit_entries (sealed search terms)" in status.output
    assert retire.exit_code == 1 and "sealed search terms" in retire.output
