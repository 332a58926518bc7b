"""Batch checks (issue 15, section 1): ``POST /api/v1/alerts/check`` answers each document of a manifest
exactly as ``GET /api/v1/alerts/check`` does, validates every document first and audits once, sealed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from alerts import search
from alerts.indexes import number_any_index
from portal.audit.models import AuditEntry
from portal.audit.sealing import SEALED, SearchTerm, open_sealed
from portal.extensions import db
from tests.alerts.factories import audit_entries, mark_audit_start, report
from tests.alerts.test_api import bearer

URL = "/api/v1/alerts/check"
# Hits, misses, series (range) hits, near matches, invisible alerts, duplicates; with and without a state.
MANIFEST = [
    ("B7000001", "GTM"),      # exact hit
    ("b 700-0001", None),     # the same number, any state, written otherwise
    ("B7000002", "GTM"),      # miss
    ("S0012500", "GTM"),      # in a series of stolen blanks: range hit
    ("S0012500", None),       # series are only found with a state
    ("S0013500", "GTM"),      # just outside the series
    ("B70000O1", "GTM"),      # look-alike of an alert's number: near only
    ("H5550001", "GTM"),      # another party's party-only alert: invisible
    ("D3330001", "GTM"),      # a draft: never a hit
    ("B7000001", "GTM"),      # duplicate of the first
    ("B7000001", "HND"),      # the number in another state
    ("M4440001", "GTM"),      # exact and near at once
    ("ABCDEF", "GTM"),        # no digits: no series
]


@pytest.fixture(autouse=True)
def _audit_start():
    mark_audit_start()


@pytest.fixture
def data(make_user):
    gtm = make_user(role="liaison_officer", party_code="GTM")
    hnd = make_user(role="liaison_officer", party_code="HND")
    report(gtm, document_number="B7000001")
    report(gtm, document_number="B7000001", tlp="AMBER")
    report(gtm, document_number=None, fraud_type="stolen_blank", range_start="S0012000", range_end="S0012999")
    report(hnd, document_number="H5550001", issuing_state="GTM", distribution={"level": "party"}, tlp="AMBER")
    report(gtm, document_number="D3330001", status="draft")
    report(gtm, document_number="M4440001")
    report(gtm, document_number="M444OOO1")
    report(gtm, document_number="ABCDEF")
    return make_user(role="border_officer", party_code="MEX")


def _body(documents, near=False) -> dict:
    body = {"documents": [{"document_number": number, **({"issuing_state": state} if state else {})}
                          for number, state in documents]}
    return {**body, "near": True} if near else body


@pytest.mark.parametrize("near", [False, True])
def test_batch_answers_exactly_what_the_single_check_answers(client, data, near):
    headers = bearer(data, "alerts:check")
    singles = []
    for number, state in MANIFEST:
        query = {"document_number": number, **({"issuing_state": state} if state else {}),
                 **({"near": "true"} if near else {})}
        response = client.get(URL, query_string=query, headers=headers)
        assert response.status_code == 200
        singles.append(response.get_json())
    batch = client.post(URL, json=_body(MANIFEST, near), headers=headers)
    assert batch.status_code == 200, batch.get_json()
    results = batch.get_json()["results"]
    assert [result.pop("index") for result in results] == list(range(len(MANIFEST)))
    assert results == singles
    # the mix is what it claims to be
    hits = [result["hit"] for result in results]
    assert hits == [True, True, False, True, False, False, False, False, False, True, False, True, True]
    assert len(results[0]["alerts"]) == 2 and results[3]["alerts"][0]["match"] == "range"
    if near:
        assert [hit["match"] for hit in results[6]["near"]] == ["near", "near"] and results[11]["near"]
    else:
        assert all("near" not in result for result in results)


def test_one_audit_entry_for_a_batch_sealed(client, data):
    batch = client.post(URL, json=_body(MANIFEST), headers=bearer(data, "alerts:check"))
    assert batch.status_code == 200
    assert not audit_entries("alert.check")
    [entry] = audit_entries("alert.check_batch")
    details = json.loads(entry.details)
    assert details["documents"] == len(MANIFEST) and details["hits"] == 6
    assert open_sealed(details[SEALED]) == [SearchTerm("number", search.normalise_document_number(number), state)
                                            for number, state in MANIFEST]
    for number, _state in MANIFEST:
        assert number not in entry.details and number_any_index(number) not in entry.details


def test_find_search_finds_a_number_inside_a_batch(app, client, data):
    assert client.post(URL, json=_body([("Q1110001", "GTM"), ("Q1110002", None)]),
                       headers=bearer(data, "alerts:check")).status_code == 200
    db.session.commit()
    runner = app.test_cli_runner()
    found = runner.invoke(args=["audit", "find-search", "q111-0002"])
    assert found.exit_code == 0, found.output
    lines = [line for line in found.output.splitlines() if " seq " in line]
    assert len(lines) == 1 and "alert.check_batch" in lines[0] and "state any" in lines[0]
    in_state = runner.invoke(args=["audit", "find-search", "Q1110001", "--state", "GTM"])
    assert [line for line in in_state.output.splitlines() if " seq " in line and "alert.check_batch" in line]


def _audit_head() -> int:
    db.session.commit()
    return db.session.scalar(select(func.max(AuditEntry.seq))) or 0


def test_bad_documents_are_each_named_and_nothing_is_checked(client, data):
    headers = bearer(data, "alerts:check")
    head = _audit_head()
    documents = [("B7000001", "GTM"), ("A#1", "GTM"), ("B7000001", "ZZZ"), ("B7000001", "GTM"), (" - ", "XX1")]
    response = client.post(URL, json=_body(documents), headers=headers)
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert set(fields) == {"documents[1].document_number", "documents[2].issuing_state",
                           "documents[4].document_number", "documents[4].issuing_state"}
    shape = client.post(URL, json={"documents": [{"document_number": "A1"}, {"document_number": 7},
                                                 {"issuing_state": "GTM"}, {"document_number": "A1", "x": 1}]},
                        headers=headers)
    assert shape.status_code == 422
    assert set(shape.get_json()["fields"]) == {"documents[1].document_number", "documents[2].document_number",
                                               "documents[3].x"}
    assert _audit_head() == head, "nothing checked, nothing audited"


@pytest.mark.parametrize("documents", [[], [("A1", None)] * (search.MAX_BATCH + 1)])
def test_empty_and_oversized_manifests_are_refused(client, data, documents):
    headers = bearer(data, "alerts:check")
    head = _audit_head()
    response = client.post(URL, json=_body(documents), headers=headers)
    assert response.status_code == 422 and set(response.get_json()["fields"]) == {"documents"}
    assert _audit_head() == head


def test_the_largest_manifest_is_answered(client, data):
    documents = [(f"B70{index:05d}", "GTM" if index % 2 else None) for index in range(search.MAX_BATCH)]
    response = client.post(URL, json=_body(documents), headers=bearer(data, "alerts:check"))
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == search.MAX_BATCH and [i for i, result in enumerate(results) if result["hit"]] == [1]


def test_not_an_object_is_400(client, data):
    assert client.post(URL, json=[1], headers=bearer(data, "alerts:check")).status_code == 400


def test_scope_and_permission_are_required(client, make_user, data):
    wrong_scope = client.post(URL, json=_body(MANIFEST), headers=bearer(data, "alerts:read"))
    assert wrong_scope.status_code == 403
    assert client.post(URL, json=_body(MANIFEST)).status_code == 401
    observer = make_user(role="observer", party_code="GTM")
    refused = client.post(URL, json=_body(MANIFEST), headers=bearer(observer, "alerts:check"))
    assert refused.status_code == 403
    assert audit_entries("alert.check_batch", outcome="denied")
    assert not audit_entries("alert.check_batch", outcome="ok")


def test_a_manifest_over_several_lookup_chunks_answers_as_single_checks(data):
    """More documents than one lookup statement takes: the chunks put each answer back in its place."""
    from tests.alerts.factories import principal

    border = principal(data)
    # distinct numbers (in the series with GTM, misses without a state) between the mix's documents
    documents = [document for index in range(search.MAX_BATCH // 2) for document in (
        (f"S00{12000 + index:05d}", "GTM" if index % 3 else None), MANIFEST[index % len(MANIFEST)])]
    assert len({pair for pair in documents if pair[1]}) > search._LOOKUP_CHUNK and len(documents) == search.MAX_BATCH
    for near in (False, True):
        batch = search.check_documents(border, documents, near=near)
        assert [result.to_dict() for result in batch] == [
            search.check_document(border, number, state, near=near).to_dict() for number, state in documents]
