"""Search: exact, near and series matches, filters, full text, scoping, pagination, audit, border checks."""

import json

import pytest
from werkzeug.exceptions import Forbidden

from alerts import fulltext
from alerts.indexes import number_any_index
from alerts.models import Alert
from alerts.operations import update_alert, withdraw_alert
from alerts.search import SearchError, check_document, search_alerts, visible_alerts
from portal.audit.sealing import SearchTerm, open_sealed
from portal.extensions import db
from tests.alerts.factories import audit_entries, mark_audit_start, principal, report, td3


@pytest.fixture
def gtm(make_user):
    return make_user(role="liaison_officer", party_code="GTM")


@pytest.fixture
def searcher(make_user):
    return principal(make_user(role="border_officer", party_code="MEX"))


def _matches(result):
    return [(hit.alert.id, hit.match) for hit in result.hits]



@pytest.fixture(autouse=True)
def _audit_start(request):
    if "real_commits" not in request.fixturenames:  # inside the test's rolled-back transaction
        mark_audit_start()

# --- numbers ------------------------------------------------------------------------------------------

def test_exact_hits_come_first_then_near_matches_labelled(gtm, searcher):
    exact = report(gtm, document_number="P0123456")
    near = report(gtm, document_number="PO123456")   # O for 0
    other = report(gtm, document_number="P0123457")
    result = search_alerts(searcher, "p 012-3456")
    assert result.kind == "number"
    assert _matches(result) == [(exact.id, "exact"), (near.id, "near")]
    assert other.id not in [hit.alert.id for hit in result.hits]
    flipped = search_alerts(searcher, "PO123456")
    assert _matches(flipped) == [(near.id, "exact"), (exact.id, "near")]


@pytest.mark.parametrize("typed", ["5B1Z6O", "SB1ZG0", "58126O", "s-b 1 2 6 0"])
def test_every_look_alike_pair_is_a_near_match(gtm, searcher, typed):
    stored = report(gtm, document_number="581260")
    result = search_alerts(searcher, typed)
    expected = "exact" if typed.upper().replace(" ", "").replace("-", "") == "581260" else "near"
    assert _matches(result) == [(stored.id, expected)]


def test_issuing_state_scopes_exact_and_near_matches(make_user, gtm, searcher):
    in_gtm = report(gtm, document_number="X7070707", issuing_state="GTM")
    honduran = make_user(party_code="HND")
    in_hnd = report(honduran, document_number="X7070707", issuing_state="HND")
    near_hnd = report(honduran, document_number="X7O7O7O7", issuing_state="HND")
    anywhere = search_alerts(searcher, "X7070707")
    assert sorted(_matches(anywhere)) == sorted([(in_gtm.id, "exact"), (in_hnd.id, "exact"), (near_hnd.id, "near")])
    assert [hit.match for hit in anywhere.hits] == ["exact", "exact", "near"]
    assert _matches(search_alerts(searcher, "X7070707", {"issuing_state": "GTM"})) == [(in_gtm.id, "exact")]
    assert _matches(search_alerts(searcher, "X7070707", {"issuing_state": "HND"})) == [
        (in_hnd.id, "exact"), (near_hnd.id, "near")]


@pytest.mark.parametrize(("stored_as", "looked_up_as"), [("D", "DEU"), ("DEU", "D"), ("D", "D"), ("DEU", "DEU")])
def test_germany_is_one_state_whether_written_d_or_deu(gtm, searcher, stored_as, looked_up_as):
    """Doc 9303 writes Germany ``D`` (its MRZs), ISO 3166 ``DEU`` (border systems): one must find the other."""
    alert = report(gtm, document_number="C01X00T47", issuing_state=stored_as)
    series = report(gtm, document_number=None, fraud_type="stolen_blank", issuing_state=stored_as,
                    range_start="L7000000", range_end="L7000999")
    assert alert.issuing_state == series.issuing_state == "DEU"
    assert [hit.id for hit in check_document(searcher, "C01X00T47", looked_up_as).hits] == [alert.id]
    assert [(hit.id, hit.match) for hit in check_document(searcher, "L7000500", looked_up_as).hits] == [
        (series.id, "range")]
    assert _matches(search_alerts(searcher, "C01X00T47", {"issuing_state": looked_up_as})) == [(alert.id, "exact")]
    assert _matches(search_alerts(searcher, "L7000500", {"issuing_state": looked_up_as})) == [(series.id, "range")]


def test_series_of_stolen_blanks(make_user, gtm, searcher):
    series = report(gtm, document_number=None, fraud_type="stolen_blank", range_start="A0012000",
                    range_end="A0012999")
    single = report(gtm, document_number="A0012500")
    inside = search_alerts(searcher, "A0012500")
    assert _matches(inside) == [(single.id, "exact"), (series.id, "range")]
    assert _matches(search_alerts(searcher, "a 0012 000")) == [(series.id, "range")]
    assert _matches(search_alerts(searcher, "A0012999", {"issuing_state": "GTM"})) == [(series.id, "range")]
    assert search_alerts(searcher, "A0013000").hits == [], "outside"
    assert search_alerts(searcher, "B0012500").hits == [], "different prefix"
    assert search_alerts(searcher, "A012500").hits == [], "different digit count"
    assert search_alerts(searcher, "A0012500", {"issuing_state": "MEX"}).hits == [], "different state"
    other_state = report(make_user(party_code="HND"), document_number=None, fraud_type="stolen_blank",
                         issuing_state="HND", range_start="A0012400", range_end="A0012600")
    both = search_alerts(searcher, "A0012450")
    assert sorted(_matches(both)) == sorted([(series.id, "range"), (other_state.id, "range")])


def test_series_stored_with_the_coarse_index_are_still_found(gtm, searcher, make_user):
    """Series reported before block indexes carry the index of state, prefix and digit count only."""
    from alerts.indexes import range_index

    series = report(gtm, document_number=None, fraud_type="stolen_blank", range_start="A0012000",
                    range_end="A0012999")
    series.range_index = range_index("GTM", "A", 7)
    db.session.commit()
    assert _matches(search_alerts(searcher, "A0012500")) == [(series.id, "range")]
    assert [(hit.id, hit.match) for hit in check_document(searcher, "A0012500", "GTM").hits] == [(series.id, "range")]
    assert not check_document(searcher, "A0013000", "GTM").hit


def test_series_across_block_boundaries_are_found_at_both_ends(gtm, searcher):
    series = report(gtm, document_number=None, fraud_type="stolen_blank", range_start="C0012995",
                    range_end="C0013004")
    for number in ("C0012995", "C0012999", "C0013000", "C0013004"):
        assert [(hit.id, hit.match) for hit in check_document(searcher, number, "GTM").hits] == [(series.id, "range")]
    assert not check_document(searcher, "C0013005", "GTM").hit


def test_check_answers_every_series_holding_the_number_and_no_other(gtm, searcher):
    """Several candidate series in one answer: the same block, a wider block, a neighbour that misses."""
    narrow = report(gtm, document_number=None, fraud_type="stolen_blank", range_start="D0012000", range_end="D0012999")
    wide = report(gtm, document_number=None, fraud_type="stolen_blank", range_start="D0010000", range_end="D0019999")
    report(gtm, document_number=None, fraud_type="stolen_blank", range_start="D0012600", range_end="D0012699")
    single = report(gtm, document_number="D0012500")
    hits = check_document(searcher, "D0012500", "GTM").hits
    assert [(hit.id, hit.match) for hit in hits] == [(single.id, "exact"), (narrow.id, "range"), (wide.id, "range")]
    found = _matches(search_alerts(searcher, "D0012500"))
    assert found[0] == (single.id, "exact") and sorted(found[1:]) == sorted([(narrow.id, "range"), (wide.id, "range")])


def test_mrz_query_searches_its_number_and_state(gtm, searcher):
    in_gtm = report(gtm, document_number="K4455667", issuing_state="GTM")
    report(gtm, document_number="K4455667", issuing_state="SLV")
    result = search_alerts(searcher, td3("K4455667", state="GTM"))
    assert result.kind == "mrz" and result.issuing_state == "GTM"
    assert _matches(result) == [(in_gtm.id, "exact")]


def test_number_search_is_audited_sealed(gtm, searcher):
    """The number is sealed afresh at every search: two searches of one number store different values, and
    nothing in the entry equals a keyed hash of the number (a reader could compute that by searching)."""
    report(gtm, document_number="Q1234567")
    search_alerts(searcher, "Q1234567", {"fraud_type": "counterfeit"})
    search_alerts(searcher, "q 123-4567", {"fraud_type": "counterfeit"})
    first, second = audit_entries("alert.search")[-2:]
    details = json.loads(first.details)
    assert details["results"] == 1 and details["kind"] == "number"
    assert details["filters"] == {"fraud_type": "counterfeit"}
    assert open_sealed(details["sealed"]) == [SearchTerm("number", "Q1234567", None)]
    assert open_sealed(json.loads(second.details)["sealed"]) == [SearchTerm("number", "Q1234567", None)]
    assert details["sealed"] != json.loads(second.details)["sealed"]
    for entry in (first, second):
        assert "Q1234567" not in entry.details and entry.actor_party == "MEX"
        assert number_any_index("Q1234567") not in entry.details
        assert "query_index" not in entry.details


# --- filters, sorting, pages --------------------------------------------------------------------------

def test_filters(make_user, gtm, searcher):
    passport = report(gtm, detection_date="2025-03-01")
    card = report(gtm, document_number="B2222222", document_category="identity_card", fraud_type="forgery",
                  forgery_subtype="photo_substitution", detection_date="2025-06-01", issuing_state="SLV")
    mexican = report(make_user(party_code="MEX"), document_number="C3333333", detection_date="2025-09-01",
                     issuing_state="MEX")
    withdrawn = report(gtm, document_number="D4444444", detection_date="2024-01-01")
    withdraw_alert(principal(gtm), withdrawn, "Reported in error.")
    revised = report(gtm, document_number="E5555555", detection_date="2024-02-01")
    update_alert(principal(gtm), revised, {"detection_tips": "Look at the perforation."})

    def ids(**filters):
        return {hit.alert.id for hit in search_alerts(searcher, None, filters).hits}

    everything = {passport.id, card.id, mexican.id, withdrawn.id, revised.id}
    assert ids() == everything
    assert ids(issuing_state="slv") == {card.id}
    assert ids(document_category="identity_card") == {card.id}
    assert ids(fraud_type="forgery") == {card.id}
    assert ids(reporting_party="MEX") == {mexican.id}
    assert ids(detected_from="2025-01-01", detected_to="2025-07-01") == {passport.id, card.id}
    assert ids(status="withdrawn") == {withdrawn.id}
    assert ids(status="revised") == {revised.id}
    assert ids(status="published") == everything - {withdrawn.id}


def test_bad_filters_are_refused(searcher):
    with pytest.raises(SearchError) as caught:
        search_alerts(searcher, None, {"issuing_state": "QQQ", "fraud_type": "magic", "detected_from": "May",
                                       "colour": "red"}, sort="price", per_page=1000)
    assert set(caught.value.errors) == {"issuing_state", "fraud_type", "detected_from", "filters", "sort", "per_page"}


def test_pagination_and_sorting(gtm, searcher):
    alerts = [report(gtm, document_number=f"N{n}000000", detection_date=f"2025-0{n}-01") for n in range(1, 6)]
    newest = search_alerts(searcher, None, page=1, per_page=2)
    assert newest.total == 5 and newest.pages == 3
    assert [hit.alert.id for hit in newest.hits] == [alerts[4].id, alerts[3].id]
    last = search_alerts(searcher, None, page=3, per_page=2)
    assert [hit.alert.id for hit in last.hits] == [alerts[0].id]
    oldest = search_alerts(searcher, None, sort="detection_date", per_page=5)
    assert [hit.alert.id for hit in oldest.hits] == [alert.id for alert in alerts]
    by_reference = search_alerts(searcher, None, sort="-reference", per_page=5)
    assert [hit.alert.reference for hit in by_reference.hits] == sorted((a.reference for a in alerts), reverse=True)


def test_word_and_filter_counts_stop_at_the_limit(gtm, searcher, monkeypatch):
    """Beyond COUNT_LIMIT matches the count says "more than" and only the first COUNT_LIMIT are paged."""
    import alerts.search

    monkeypatch.setattr(alerts.search, "COUNT_LIMIT", 3)
    alerts_ = [report(gtm, document_number=f"L{n}000000", detection_date=f"2025-0{n}-01",
                      description="Counterfeit laminate.") for n in range(1, 6)]
    for query, filters in ((None, None), ("laminate", None), (None, {"text": "laminate"})):
        first = search_alerts(searcher, query, filters, per_page=2)
        assert (first.total, first.total_exact, first.pages) == (3, False, 2)
        assert [hit.alert.id for hit in first.hits] == [alerts_[4].id, alerts_[3].id]
        assert [hit.alert.id for hit in search_alerts(searcher, query, filters, page=2, per_page=2).hits] == [alerts_[2].id]
        assert search_alerts(searcher, query, filters, page=3, per_page=2).hits == []
    entry = json.loads(audit_entries("alert.search")[-1].details)
    assert entry["results"] == 3 and entry["results_exact"] is False
    exact = search_alerts(searcher, "laminate", {"detected_from": "2025-04-01"})
    assert (exact.total, exact.total_exact) == (2, True)


def test_search_page_says_more_than_the_limit(gtm, make_user, client, login_as, monkeypatch):
    import alerts.search

    monkeypatch.setattr(alerts.search, "COUNT_LIMIT", 2)
    for n in range(3):
        report(gtm, document_number=f"M{n}000000", description="Counterfeit laminate.")
    login_as(make_user(role="border_officer", party_code="MEX"))
    page = client.get("/alerts/?q=laminate").get_data(as_text=True)
    assert "More than 2 alerts match: add words or filters to narrow the search." in page


def test_number_results_are_paginated_after_ranking(gtm, searcher):
    exact = report(gtm, document_number="S0000001")
    near = [report(gtm, document_number="50000001"), report(gtm, document_number="SOOOOOO1")]
    first = search_alerts(searcher, "S0000001", per_page=2)
    second = search_alerts(searcher, "S0000001", page=2, per_page=2)
    assert first.total == 3
    assert first.hits[0].alert.id == exact.id and first.hits[0].match == "exact"
    assert {hit.alert.id for hit in first.hits[1:] + second.hits} == {alert.id for alert in near}
    assert all(hit.match == "near" for hit in first.hits[1:] + second.hits)


# --- full text ----------------------------------------------------------------------------------------

def test_full_text_over_the_narrative_fields(gtm, searcher):
    laminate = report(gtm, document_number="F1000001", description="Altered biodata page.",
                      modus_operandi="Photo substitution under a new laminate.", detection_tips=None)
    stamps = report(gtm, document_number="F1000002", description="Counterfeit entry stamps of Panamá.",
                    modus_operandi=None, detection_tips="The stamp ink fluoresces under UV light.")
    assert search_alerts(searcher, "laminate").alerts == [laminate]
    assert search_alerts(searcher, "LAMINATE photo").alerts == [laminate], "every word, any case"
    assert search_alerts(searcher, "laminate fluoresces").alerts == []
    assert search_alerts(searcher, "fluoresces").alerts == [stamps], "detection tips are searched"
    assert search_alerts(searcher, "panama").alerts == [stamps], "accents are folded"
    assert search_alerts(searcher, "Panamá").alerts == [stamps]
    assert search_alerts(searcher, "substit").alerts == [laminate], "the last word matches as a prefix"
    assert search_alerts(searcher, 'stamp" OR "x').alerts == [], "query syntax cannot be injected"
    combined = search_alerts(searcher, None, {"text": "stamp", "document_category": "passport"})
    assert combined.alerts == [stamps] and combined.kind == "all"
    entry = audit_entries("alert.search")[-1]
    assert "stamp" not in entry.details
    assert open_sealed(json.loads(entry.details)["sealed"]) == [SearchTerm("text", "stamp")]


def test_full_text_follows_updates(gtm, searcher):
    alert = report(gtm, description="Counterfeit booklet.")
    update_alert(principal(gtm), alert, {"description": "Booklet with a forged watermark."})
    assert search_alerts(searcher, "watermark").alerts == [alert]
    assert search_alerts(searcher, "counterfeit").alerts == []


def test_full_text_engine_matches_the_database():
    name = db.session.get_bind().dialect.name
    expected = {"sqlite": fulltext.SqliteFts5, "postgresql": fulltext.PostgresTsvector}[name]
    assert isinstance(fulltext.engine(), expected)
    assert fulltext.words("  Photo-substitution, PÁGINA_2!") == ["photo", "substitution", "pagina", "2"]


# --- scoping ------------------------------------------------------------------------------------------

def test_party_distribution_is_invisible_to_another_party(gtm, searcher, make_user):
    private = report(gtm, document_number="H1111111", distribution={"level": "party"}, tlp="AMBER")
    listed = report(gtm, document_number="H1111111", distribution={"level": "parties", "parties": ["MEX"]})
    assert _matches(search_alerts(searcher, "H1111111")) == [(listed.id, "exact")]
    honduras = principal(make_user(role="border_officer", party_code="HND"))
    assert search_alerts(honduras, "H1111111").hits == []
    assert {hit.alert.id for hit in search_alerts(principal(gtm), "H1111111").hits} == {private.id, listed.id}


def test_drafts_are_seen_only_by_their_party(gtm, searcher):
    draft = report(gtm, document_number="J1111111", status="draft", distribution={"level": "members"})
    assert search_alerts(searcher, "J1111111").hits == []
    assert search_alerts(searcher, None).hits == []
    assert db.session.scalar(visible_alerts(searcher).where(Alert.id == draft.id)) is None
    assert _matches(search_alerts(principal(gtm), "J1111111")) == [(draft.id, "exact")]


@pytest.mark.parametrize("role, code", [("observer", "MEX"), ("country_admin", "ARG"), ("observer", "IOM")])
def test_observers_see_only_members_wide_clear_and_green(make_user, gtm, role, code):
    green = report(gtm, document_number="M1000001", tlp="GREEN", distribution={"level": "members"})
    clear = report(gtm, document_number="M1000002", tlp="CLEAR", distribution={"level": "members"})
    report(gtm, document_number="M1000003", tlp="AMBER", distribution={"level": "members"})
    report(gtm, document_number="M1000004", tlp="GREEN", distribution={"level": "parties", "parties": ["MEX"]})
    observer = principal(make_user(role=role, party_code=code))
    assert {alert.id for alert in search_alerts(observer, None).alerts} == {green.id, clear.id}


def test_search_needs_the_permission(make_user):
    admin = principal(make_user(role="secretariat_admin", party_code="TS"))
    search_alerts(admin, None)  # the secretariat searches
    nobody = principal(make_user(role="observer", party_code="MEX"))
    object.__setattr__(nobody, "permissions", frozenset())
    with pytest.raises(Forbidden):
        search_alerts(nobody, "A1")
    assert audit_entries("alert.search", outcome="denied")[-1].actor_user_id == nobody.user_id


# --- border checks ------------------------------------------------------------------------------------

def test_check_document_hit_and_no_hit(make_user, gtm, searcher):
    alert = report(gtm, document_number="T9876543")
    report(gtm, document_number="T9876543", status="draft")
    withdrawn = report(gtm, document_number="T9876543")
    withdraw_alert(principal(gtm), withdrawn, "Reported in error.")
    result = check_document(searcher, "t 987-6543", "gtm")
    assert result.hit and result.alert_ids == [alert.id]
    body = result.to_dict()
    assert body == {"hit": True, "alerts": [{"id": alert.id, "reference": alert.reference,
                                             "fraud_type": "counterfeit", "status": "published",
                                             "issuing_state": "GTM", "reporting_party": "GTM", "tlp": "GREEN",
                                             "match": "exact"}]}
    assert check_document(searcher, "T9876543").alert_ids == [alert.id], "without a state: any state"
    assert not check_document(searcher, "T9876543", "MEX").hit
    assert not check_document(searcher, "T98765430", "GTM").hit
    assert not check_document(searcher, "T9876S43", "GTM").hit, "no near matches in a check"
    entry = audit_entries("alert.check")[-1]
    assert open_sealed(json.loads(entry.details)["sealed"]) == [SearchTerm("number", "T9876S43", "GTM")]
    assert "T9876S43" not in entry.details and number_any_index("T9876S43") not in entry.details


def test_check_document_finds_series_and_respects_scoping(make_user, gtm, searcher):
    series = report(gtm, document_number=None, fraud_type="stolen_blank", range_start="V100", range_end="V199")
    hidden = report(gtm, document_number="W5555555", distribution={"level": "party"})
    assert [(hit.id, hit.match) for hit in check_document(searcher, "V150", "GTM").hits] == [(series.id, "range")]
    assert not check_document(searcher, "W5555555", "GTM").hit
    assert check_document(principal(gtm), "W5555555", "GTM").alert_ids == [hidden.id]


def test_check_document_refuses_bad_input_and_missing_permission(make_user, searcher):
    with pytest.raises(SearchError) as caught:
        check_document(searcher, "A#1", "ZZZ")
    assert set(caught.value.errors) == {"document_number", "issuing_state"}
    observer = principal(make_user(role="observer", party_code="MEX"))
    with pytest.raises(Forbidden):
        check_document(observer, "A1", "GTM")
    assert audit_entries("alert.check", outcome="denied")[-1].actor_user_id == observer.user_id
