"""Alert pages: access matrix, search, the form with its MRZ pre-fill and per-field errors, detail,
revisions, and the publish / withdraw / mark-as-seen buttons."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from alerts.models import Alert, AlertAcknowledgement
from alerts.operations import acknowledge_alert, update_alert
from portal.extensions import db
from tests.alerts.factories import audit_entries, mark_audit_start, principal, report, td3

SPECIMEN_MRZ = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n"
                "L898902C36UTO7408122F1204159ZE184226B<<<<<10")


@pytest.fixture(autouse=True)
def _audit_start():
    mark_audit_start()


@pytest.fixture
def gtm(make_user):
    return make_user(role="liaison_officer", party_code="GTM")


def _alert_count() -> int:
    return db.session.scalar(select(func.count(Alert.id)))


def _form(**overrides) -> dict:
    """What a browser posts for a complete alert (route stops as separate selects)."""
    data = {
        "detecting_unit": "Immigration control, terminal 1",
        "detection_place_kind": "airport",
        "detection_place": "La Aurora International Airport",
        "detection_date": "2026-01-15",
        "route-0": "COL", "route-1": "PAN", "route-2": "GTM", "route-3": "", "route-4": "", "route-5": "",
        "bearer_nationality": "COL",
        "document_category": "passport",
        "document_type": "ordinary",
        "issuing_state": "GTM",
        "series": "GTM-P-2019",
        "document_number": "A1234567",
        "range_start": "", "range_end": "",
        "issue_date": "2020-02-01",
        "expiry_date": "2030-01-31",
        "fraud_type": "counterfeit",
        "forgery_subtype": "",
        "security_features": ["laminate", "uv_features"],
        "description": "Counterfeit passport booklet of good quality.",
        "modus_operandi": "Bought from a facilitator during the journey.",
        "detection_tips": "The laminate shows no reaction under ultraviolet light.",
        "holder_name": "", "holder_birth_date": "", "mrz": "",
        "tlp": "GREEN", "distribution": "members", "network": "", "review_date": "",
        "objectives": ["ERX-INF-4"],
        "save": "Save as draft",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _field_errors(html: str, field_id: str) -> list[str]:
    """The error messages shown in the block of the field with ``field_id`` (the ``field`` macro)."""
    start = html.index(f'id="{field_id}"')
    block = html[start: html.find('<div class="mb-3">', start) if '<div class="mb-3">' in html[start:] else None]
    return re.findall(r'<div class="invalid-feedback d-block">([^<]*)</div>', block)


# --- access matrix ------------------------------------------------------------------------------------

VIEWERS = {
    "anonymous": None,
    "own_liaison": ("liaison_officer", "GTM"),
    "own_border": ("border_officer", "GTM"),
    "own_observer": ("observer", "GTM"),
    "other_liaison": ("liaison_officer", "MEX"),
    "other_border": ("border_officer", "MEX"),
    "observer_party_admin": ("country_admin", "ARG"),
    "secretariat": ("secretariat_admin", "TS"),
}

# (page, alert) -> viewer -> exact status. Alerts, all reported by a GTM liaison officer:
#   published: members-wide TLP:GREEN, published; draft: members-wide TLP:GREEN, still a draft;
#   party_only: TLP:AMBER for GTM only, published.
MATRIX = {
    ("detail", "published"): {"anonymous": 302, "own_liaison": 200, "own_border": 200, "own_observer": 200,
                              "other_liaison": 200, "other_border": 200, "observer_party_admin": 200,
                              "secretariat": 200},
    # a draft is seen by its own party only (the GTM observer too: the alert is members-wide GREEN)
    ("detail", "draft"): {"anonymous": 302, "own_liaison": 200, "own_border": 200, "own_observer": 200,
                          "other_liaison": 404, "other_border": 404, "observer_party_admin": 404,
                          "secretariat": 404},
    # observers (role or party) see only members-wide CLEAR/GREEN alerts
    ("detail", "party_only"): {"anonymous": 302, "own_liaison": 200, "own_border": 200, "own_observer": 404,
                               "other_liaison": 404, "other_border": 404, "observer_party_admin": 404,
                               "secretariat": 404},
    ("revision", "published"): {"anonymous": 302, "own_liaison": 200, "own_border": 200, "own_observer": 200,
                                "other_liaison": 200, "other_border": 200, "observer_party_admin": 200,
                                "secretariat": 200},
    ("revision", "draft"): {"anonymous": 302, "own_liaison": 200, "own_border": 200, "own_observer": 200,
                            "other_liaison": 404, "other_border": 404, "observer_party_admin": 404,
                            "secretariat": 404},
    # editing needs report_alert (403 without it) and the reporting party (anyone else: 404)
    ("edit", "published"): {"anonymous": 302, "own_liaison": 200, "own_border": 403, "own_observer": 403,
                            "other_liaison": 404, "other_border": 403, "observer_party_admin": 404,
                            "secretariat": 403},
    ("edit", "draft"): {"anonymous": 302, "own_liaison": 200, "own_border": 403, "own_observer": 403,
                        "other_liaison": 404, "other_border": 403, "observer_party_admin": 404,
                        "secretariat": 403},
    ("new", None): {"anonymous": 302, "own_liaison": 200, "own_border": 403, "own_observer": 403,
                    "other_liaison": 200, "other_border": 403, "observer_party_admin": 200, "secretariat": 403},
    ("index", None): {"anonymous": 302, "own_liaison": 200, "own_border": 200, "own_observer": 200,
                      "other_liaison": 200, "other_border": 200, "observer_party_admin": 200, "secretariat": 200},
}


def _url(page: str, alert: Alert | None) -> str:
    return {"detail": lambda: f"/alerts/{alert.id}", "revision": lambda: f"/alerts/{alert.id}/revisions/1",
            "edit": lambda: f"/alerts/{alert.id}/edit", "new": lambda: "/alerts/new",
            "index": lambda: "/alerts/"}[page]()


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_access_matrix(app, make_user, login_as, gtm, viewer):
    alerts = {
        "published": report(gtm, document_number="M1000001"),
        "draft": report(gtm, document_number="M1000002", status="draft"),
        "party_only": report(gtm, document_number="M1000003", tlp="AMBER", distribution={"level": "party"}),
    }
    db.session.commit()
    the_client = app.test_client()
    if VIEWERS[viewer] is not None:
        role, code = VIEWERS[viewer]
        login_as(make_user(role=role, party_code=code), the_client)
    got = {}
    for (page, which), expected in MATRIX.items():
        response = the_client.get(_url(page, alerts.get(which)))
        got[(page, which)] = response.status_code
        if expected[viewer] == 302:
            assert response.headers["Location"].startswith("/auth/login")
    assert got == {key: expected[viewer] for key, expected in MATRIX.items()}


@pytest.mark.parametrize(("role", "code", "status"), [
    ("border_officer", "GTM", 403),     # no publish_alert
    ("liaison_officer", "MEX", 404),    # another party's draft does not exist for them
    ("country_admin", "GTM", 302),      # the reporting party's country admin may publish
])
def test_publish_button_access(client, make_user, login_as, gtm, role, code, status):
    draft = report(gtm, status="draft")
    login_as(make_user(role=role, party_code=code))
    response = client.post(f"/alerts/{draft.id}/publish")
    assert response.status_code == status
    db.session.refresh(draft)
    assert draft.status == ("published" if status == 302 else "draft")


def test_invisible_alert_view_is_audited_as_denied(client, make_user, login_as, gtm):
    draft = report(gtm, status="draft")
    intruder = make_user(role="liaison_officer", party_code="MEX")
    login_as(intruder)
    assert client.get(f"/alerts/{draft.id}").status_code == 404
    assert [entry.outcome for entry in audit_entries("alerts.access", actor_user_id=intruder.id)] == ["denied"]
    assert audit_entries("alert.view", actor_user_id=intruder.id) == []


# --- detail -------------------------------------------------------------------------------------------

def test_detail_shows_every_field_decrypted_and_is_audited(client, make_user, login_as, gtm):
    alert = report(gtm, holder_name="PEREZ, JUAN", holder_birth_date="1985-01-01", forgery_subtype=None)
    reader = make_user(role="border_officer", party_code="MEX")
    login_as(reader)
    response = client.get(f"/alerts/{alert.id}")
    assert response.status_code == 200
    html = response.data.decode()
    assert html.index('id="alert-tlp"') < html.index('id="alert-heading"')  # the marking comes first
    assert "TLP:GREEN" in html[html.index('id="alert-tlp"'):html.index('id="alert-heading"')]
    assert '<code>A1234567</code>' in html and "PEREZ, JUAN" in html and "1985-01-01" in html
    for text in ("La Aurora International Airport", "Counterfeit", "Laminate", "UV features", "GTM-P-2019",
                 "Bought from a facilitator", "Published", str(alert.review_date)):
        assert text in html
    assert re.search(r"COL →</li>\s*<li[^>]*>PAN →</li>\s*<li[^>]*>GTM</li>", html)
    assert 'href="/plan/ERX-INF-4"' in html
    assert 'id="acknowledge-alert"' in html  # a receiving officer may mark it as seen
    assert 'id="withdraw-alert"' not in html and 'id="edit-alert"' not in html
    rows = audit_entries("alert.view", actor_user_id=reader.id)
    assert [(r.object_id, r.object_party, r.outcome) for r in rows] == [(str(alert.id), "GTM", "ok")]
    assert "A1234567" not in rows[0].details


def test_reporting_party_sees_who_marked_the_alert_as_seen(client, make_user, login_as, gtm):
    alert = report(gtm)
    mex = make_user(role="border_officer", party_code="MEX", name="Marta Lopez")
    acknowledge_alert(principal(mex), alert)
    db.session.commit()
    login_as(gtm)
    html = client.get(f"/alerts/{alert.id}").data.decode()
    table = html[html.index('id="acknowledgements"'):]
    assert "MEX" in table and "Marta Lopez" in table
    assert 'id="acknowledge-alert"' not in html  # the reporter does not acknowledge its own alert
    assert 'id="withdraw-alert"' in html and 'id="edit-alert"' in html


# --- publish, withdraw, mark as seen ------------------------------------------------------------------

def test_publish_a_draft(client, login_as, gtm):
    draft = report(gtm, status="draft")
    login_as(gtm)
    response = client.post(f"/alerts/{draft.id}/publish")
    assert response.status_code == 302 and response.headers["Location"] == f"/alerts/{draft.id}"
    db.session.refresh(draft)
    assert draft.status == "published" and draft.published_at is not None
    assert [e.object_id for e in audit_entries("alert.publish", actor_user_id=gtm.id)] == [str(draft.id)]
    again = client.post(f"/alerts/{draft.id}/publish")
    assert again.status_code == 400
    assert "Only a draft can be published." in again.data.decode()


def test_withdraw_needs_a_reason_and_then_withdraws(client, login_as, gtm):
    alert = report(gtm)
    login_as(gtm)
    refused = client.post(f"/alerts/{alert.id}/withdraw", data={"reason": "  "})
    assert refused.status_code == 400
    assert _field_errors(refused.data.decode(), "reason") == ["Say why the alert is withdrawn."]
    db.session.refresh(alert)
    assert alert.status == "published"
    response = client.post(f"/alerts/{alert.id}/withdraw", data={"reason": "Reported in error: genuine document."})
    assert response.status_code == 302
    db.session.refresh(alert)
    assert alert.status == "withdrawn" and alert.withdrawal_reason == "Reported in error: genuine document."
    assert len(audit_entries("alert.withdraw", actor_user_id=gtm.id)) == 1
    html = client.get(f"/alerts/{alert.id}").data.decode()
    assert "Reported in error: genuine document." in html and 'id="withdraw-alert"' not in html


def test_withdraw_by_another_party_is_not_found(client, make_user, login_as, gtm):
    alert = report(gtm)
    intruder = make_user(role="liaison_officer", party_code="MEX")
    login_as(intruder)
    assert client.post(f"/alerts/{alert.id}/withdraw", data={"reason": "Not ours."}).status_code == 404
    db.session.refresh(alert)
    assert alert.status == "published"
    denied = audit_entries("alert.withdraw", actor_user_id=intruder.id)
    assert [(entry.outcome, entry.object_id) for entry in denied] == [("denied", str(alert.id))]


def test_mark_as_seen(client, make_user, login_as, gtm):
    alert = report(gtm)
    reader = make_user(role="border_officer", party_code="MEX")
    login_as(reader)
    assert client.post(f"/alerts/{alert.id}/acknowledge").status_code == 302
    assert client.post(f"/alerts/{alert.id}/acknowledge").status_code == 302  # once per user
    marks = db.session.scalars(select(AlertAcknowledgement).where(AlertAcknowledgement.alert_id == alert.id)).all()
    assert [(m.user_id, m.party.code) for m in marks] == [(reader.id, "MEX")]
    html = client.get(f"/alerts/{alert.id}").data.decode()
    assert 'id="acknowledged"' in html and 'id="acknowledge-alert"' not in html
    assert len(audit_entries("alert.acknowledge", actor_user_id=reader.id)) == 1


def test_reporter_cannot_mark_own_alert_as_seen(client, login_as, gtm):
    alert = report(gtm)
    login_as(gtm)
    response = client.post(f"/alerts/{alert.id}/acknowledge")
    assert response.status_code == 400
    assert "does not acknowledge its own alert" in response.data.decode()
    assert db.session.scalar(select(func.count(AlertAcknowledgement.id))) == 0


# --- the form -----------------------------------------------------------------------------------------

def test_new_form_offers_every_field_with_default_objectives(client, login_as, gtm):
    login_as(gtm)
    html = client.get("/alerts/new").data.decode()
    for name in ("mrz", "detecting_unit", "detection_place_kind", "detection_place", "detection_date", "route-0",
                 "route-5", "bearer_nationality", "document_category", "document_type", "issuing_state", "series",
                 "document_number", "range_start", "range_end", "issue_date", "expiry_date", "fraud_type",
                 "forgery_subtype", "security_features", "description", "modus_operandi", "detection_tips",
                 "holder_name", "holder_birth_date", "tlp", "distribution", "parties", "network", "review_date",
                 "objectives", "prefill", "save", "publish"):
        assert f'name="{name}"' in html, name
    assert re.search(r'<input checked class="form-check-input" id="objectives-\d+" name="objectives" type="checkbox"'
                     r' value="ERX-INF-4">', html)
    assert 'type="checkbox" value="laminate"' in html


def test_mrz_prefill_fills_the_form_and_stores_nothing(client, login_as, gtm):
    login_as(gtm)
    before = _alert_count()
    response = client.post("/alerts/new", data={"mrz": SPECIMEN_MRZ, "prefill": "Pre-fill from MRZ",
                                                "description": "Typed before the pre-fill."})
    assert response.status_code == 200
    html = response.data.decode()
    assert 'name="document_number" type="text" value="L898902C3"' in html
    assert 'name="issuing_state" type="text" value="UTO"' in html
    assert 'name="holder_name" type="text" value="ERIKSSON, ANNA MARIA"' in html
    assert 'name="holder_birth_date" placeholder="YYYY-MM-DD" type="date" value="1974-08-12"' in html
    assert '<option selected value="passport">' in html
    assert "Typed before the pre-fill." in html  # what the officer typed stays
    assert 'id="mrz-indicators"' not in html  # the specimen passes every check
    assert _alert_count() == before


def test_mrz_prefill_shows_each_fraud_indicator(client, login_as, gtm):
    login_as(gtm)
    tampered = td3("X1234567", state="GTM").replace("X1234567", "X1234568", 1)  # number no longer checks
    response = client.post("/alerts/new", data={"mrz": tampered, "prefill": "Pre-fill from MRZ"})
    assert response.status_code == 200
    html = response.data.decode()
    warnings = html[html.index('id="mrz-indicators"'):]
    assert 'data-code="check_digit"' in warnings
    assert 'name="document_number" type="text" value="X1234568"' in html


def test_prefill_with_something_that_is_no_mrz_says_so_next_to_the_field(client, login_as, gtm):
    login_as(gtm)
    response = client.post("/alerts/new", data={"mrz": "hello", "prefill": "Pre-fill from MRZ"})
    assert response.status_code == 400
    assert _field_errors(response.data.decode(), "mrz")


def test_save_a_draft_then_publish_it_from_the_form(client, login_as, gtm):
    login_as(gtm)
    response = client.post("/alerts/new", data=_form())
    assert response.status_code == 302
    alert = db.session.scalar(select(Alert).where(Alert.owner_party_id == gtm.party_id).order_by(Alert.id.desc()))
    assert response.headers["Location"] == f"/alerts/{alert.id}"
    assert (alert.status, alert.document_number, alert.route, alert.security_features, alert.objectives) == (
        "draft", "A1234567", ["COL", "PAN", "GTM"], ["laminate", "uv_features"], ["ERX-INF-4"])
    assert (alert.tlp, alert.distribution_level) == ("GREEN", "members")
    edited = client.post(f"/alerts/{alert.id}/edit", data=_form(description="Better description.", save=None,
                                                                 publish="Save and publish"))
    assert edited.status_code == 302
    db.session.refresh(alert)
    assert (alert.status, alert.description) == ("published", "Better description.")


def test_publish_straight_from_the_new_form_with_listed_parties(client, login_as, gtm, party):
    login_as(gtm)
    response = client.post("/alerts/new", data=_form(save=None, publish="Publish", distribution="parties",
                                                     parties=["MEX", "HND"], tlp="AMBER"))
    assert response.status_code == 302
    alert = db.session.scalar(select(Alert).order_by(Alert.id.desc()))
    assert alert.status == "published" and alert.distribution_level == "parties"
    assert sorted(alert.recipient_party_ids) == sorted([party("MEX").id, party("HND").id])


def test_border_officer_cannot_publish_from_the_form(client, make_user, login_as):
    login_as(make_user(role="border_officer", party_code="GTM"))
    before = _alert_count()
    assert client.post("/alerts/new", data=_form(save=None, publish="Publish")).status_code == 403
    assert _alert_count() == before


def test_every_bad_field_is_shown_next_to_it_and_nothing_is_stored(client, login_as, gtm):
    login_as(gtm)
    before = _alert_count()
    response = client.post("/alerts/new", data=_form(
        issuing_state="QQQ", description="", fraud_type="forgery", detection_date="15/01/2026",
        expiry_date="2019-01-01", distribution="parties"))
    assert response.status_code == 400
    html = response.data.decode()
    assert _field_errors(html, "issuing_state") == ["QQQ is not an ICAO code of a state or organisation."]
    assert _field_errors(html, "description") == ["This field is required."]
    assert _field_errors(html, "forgery_subtype") == ["Say how the document was forged."]
    assert _field_errors(html, "detection_date") == ["Enter a date as YYYY-MM-DD."]
    assert _field_errors(html, "expiry_date") == ["The date of expiry must be after the date of issue."]
    assert _field_errors(html, "parties")
    assert 'id="form-errors"' in html
    assert _alert_count() == before
    assert audit_entries("alert.create") == []


def test_a_route_stop_that_is_no_country_is_refused_next_to_it(client, login_as, gtm):
    login_as(gtm)
    before = _alert_count()
    response = client.post("/alerts/new", data=_form(**{"route-1": "ZZZ"}))  # only by tampering with the select
    assert response.status_code == 400
    assert _field_errors(response.data.decode(), "route-1") == ["Not a valid choice."]
    assert _alert_count() == before


def test_narrative_quoting_the_number_is_refused_next_to_it(client, login_as, gtm):
    login_as(gtm)
    response = client.post("/alerts/new", data=_form(description="Passport A1234567 was counterfeit."))
    assert response.status_code == 400
    assert _field_errors(response.data.decode(), "description")[0].startswith("Do not write the document number")


def test_edit_form_is_filled_and_a_change_becomes_a_revision_with_a_diff(client, login_as, gtm):
    alert = report(gtm)
    login_as(gtm)
    page = client.get(f"/alerts/{alert.id}/edit").data.decode()
    assert 'name="document_number" type="text" value="A1234567"' in page
    assert '<option selected value="PAN">' in page
    assert 'value="Save a new revision"' in page and 'name="publish"' not in page
    response = client.post(f"/alerts/{alert.id}/edit", data=_form(
        description="Counterfeit passport booklet of poor quality.", tlp="GREEN", save="Save a new revision"))
    assert response.status_code == 302
    db.session.refresh(alert)
    assert alert.revision == 2 and alert.description == "Counterfeit passport booklet of poor quality."
    detail = client.get(f"/alerts/{alert.id}").data.decode()
    assert "Revised" in detail and f'/alerts/{alert.id}/revisions/3' in detail
    diff = client.get(f"/alerts/{alert.id}/revisions/3")
    assert diff.status_code == 200
    html = diff.data.decode()
    assert "<del>good</del><ins>poor</ins>" in html
    assert 'data-field="description"' in html and 'data-field="document_number"' not in html
    assert client.get(f"/alerts/{alert.id}/revisions/9").status_code == 404


def test_withdrawn_alert_can_no_longer_be_edited(client, login_as, gtm):
    alert = report(gtm)
    from alerts.operations import withdraw_alert

    withdraw_alert(principal(gtm), alert, "Duplicate report.")
    db.session.commit()
    login_as(gtm)
    response = client.get(f"/alerts/{alert.id}/edit")
    assert response.status_code == 302 and response.headers["Location"] == f"/alerts/{alert.id}"


# --- search -------------------------------------------------------------------------------------------

def test_search_from_another_party_finds_members_wide_not_party_only(client, make_user, login_as, gtm):
    shared = report(gtm, document_number="K5550001")
    private = report(gtm, document_number="K5550002", distribution={"level": "party"}, tlp="AMBER")
    searcher = make_user(role="border_officer", party_code="MEX")
    login_as(searcher)
    found = client.get("/alerts/?q=K555-0001")
    assert found.status_code == 200
    html = found.data.decode()
    assert shared.reference in html and "exact match" in html and "TLP:GREEN" in html and ">GTM</abbr>" in html
    assert f"/alerts/{shared.id}" in html
    hidden = client.get("/alerts/?q=K5550002").data.decode()
    assert private.reference not in hidden and 'id="no-hit"' in hidden
    listing = client.get("/alerts/").data.decode()
    assert shared.reference in listing and private.reference not in listing
    assert [json.loads(e.details)["kind"] for e in audit_entries("alert.search", actor_user_id=searcher.id)] == [
        "number", "number", "all"]


def test_near_matches_are_labelled_after_exact_hits(client, make_user, login_as, gtm):
    exact = report(gtm, document_number="P0123456")
    near = report(gtm, document_number="PO123456")
    login_as(make_user(role="border_officer", party_code="MEX"))
    html = client.get("/alerts/?q=P0123456").data.decode()
    rows = html[html.index('id="alert-results"'):]
    assert rows.index(exact.reference) < rows.index(near.reference)
    near_row = rows[rows.index('match-row-near'):]
    assert near_row.index("near match (look-alike characters)") < near_row.index(near.reference)
    assert 'match-row-exact' in rows


def test_range_hits_are_labelled(client, make_user, login_as, gtm):
    series = report(gtm, document_number=None, range_start="B100000", range_end="B100999", fraud_type="stolen_blank")
    login_as(make_user(role="border_officer", party_code="MEX"))
    html = client.get("/alerts/?q=B100500&issuing_state=GTM").data.decode()
    assert series.reference in html and "in a reported number range" in html


def test_pasted_mrz_searches_its_number(client, make_user, login_as, gtm):
    alert = report(gtm, document_number="C7654321")
    login_as(make_user(role="border_officer", party_code="MEX"))
    html = client.get("/alerts/", query_string={"q": td3("C7654321", state="GTM")}).data.decode()
    assert alert.reference in html and "exact match" in html


def test_filters_and_sort(client, make_user, login_as, gtm):
    older = report(gtm, document_number="F0000001", detection_date="2025-03-01", fraud_type="counterfeit")
    newer = report(gtm, document_number="F0000002", detection_date="2025-09-01", fraud_type="impostor")
    login_as(make_user(role="border_officer", party_code="MEX"))
    html = client.get("/alerts/?fraud_type=impostor&reporting_party=GTM").data.decode()
    assert newer.reference in html and older.reference not in html
    dated = client.get("/alerts/?detected_from=2025-01-01&detected_to=2025-06-30").data.decode()
    assert older.reference in dated and newer.reference not in dated
    oldest_first = client.get("/alerts/?sort=detection_date&reporting_party=GTM").data.decode()
    assert oldest_first.index(older.reference) < oldest_first.index(newer.reference)
    newest_first = client.get("/alerts/?sort=-detection_date&reporting_party=GTM").data.decode()
    assert newest_first.index(newer.reference) < newest_first.index(older.reference)
    text = client.get("/alerts/?text=facilitator").data.decode()
    assert older.reference in text and newer.reference in text


def test_bad_filters_are_form_errors(client, make_user, login_as):
    searcher = make_user(role="border_officer", party_code="MEX")
    login_as(searcher)
    response = client.get("/alerts/?detected_from=yesterday&issuing_state=QQQ&fraud_type=nonsense")
    assert response.status_code == 422
    html = response.data.decode()
    assert _field_errors(html, "detected_from") == ["Enter a date as YYYY-MM-DD."]
    assert _field_errors(html, "issuing_state") == ["Not an ICAO code of a state or organisation."]
    assert _field_errors(html, "fraud_type") == ["Not a valid choice."]
    assert 'id="alert-results"' not in html


def test_search_is_paginated(app, client, make_user, login_as, gtm, monkeypatch):
    from alerts import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    made = [report(gtm, document_number=f"G000000{n}", detection_date=f"2025-0{n}-01") for n in range(1, 4)]
    login_as(make_user(role="border_officer", party_code="MEX"))
    first = client.get("/alerts/?reporting_party=GTM").data.decode()
    second = client.get("/alerts/?reporting_party=GTM&page=2").data.decode()
    assert made[2].reference in first and made[1].reference in first and made[0].reference not in first
    assert made[0].reference in second and "Page 2 of 2" in second


# --- CSRF ---------------------------------------------------------------------------------------------

def test_forms_carry_a_csrf_token_and_refuse_a_post_without_it(app, client, make_user, login_as, gtm, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    draft = report(gtm, status="draft")
    published = report(gtm, document_number="H2220001")
    login_as(gtm)
    token = re.compile(r'<input id="csrf_token" name="csrf_token" type="hidden" value="[^"]{20,}">')
    assert token.search(client.get("/alerts/new").data.decode())
    assert token.search(client.get(f"/alerts/{draft.id}/edit").data.decode())
    draft_page = client.get(f"/alerts/{draft.id}").data.decode()
    assert token.search(draft_page[draft_page.index(f'action="/alerts/{draft.id}/publish"'):])
    published_page = client.get(f"/alerts/{published.id}").data.decode()
    assert token.search(published_page[published_page.index(f'action="/alerts/{published.id}/withdraw"'):])
    before = _alert_count()
    assert client.post("/alerts/new", data=_form()).status_code == 400
    assert client.post(f"/alerts/{draft.id}/publish").status_code == 400
    assert client.post(f"/alerts/{published.id}/withdraw", data={"reason": "Duplicate."}).status_code == 400
    db.session.refresh(draft)
    db.session.refresh(published)
    assert (_alert_count(), draft.status, published.status) == (before, "draft", "published")
    reader = make_user(role="border_officer", party_code="MEX")
    login_as(reader)
    reader_page = client.get(f"/alerts/{published.id}").data.decode()
    assert token.search(reader_page[reader_page.index(f'action="/alerts/{published.id}/acknowledge"'):])
    assert client.post(f"/alerts/{published.id}/acknowledge").status_code == 400
    assert db.session.scalar(select(func.count(AlertAcknowledgement.id))) == 0


def test_update_of_a_published_alert_by_operations_shows_in_history(client, login_as, gtm):
    alert = report(gtm)
    update_alert(principal(gtm), alert, {"detection_tips": "Check the stitching."})
    db.session.commit()
    login_as(gtm)
    html = client.get(f"/alerts/{alert.id}").data.decode()
    history = html[html.index('id="alert-history"'):]
    assert history.count("<tr>") == 4  # header, create, publish, update
    diff = client.get(f"/alerts/{alert.id}/revisions/3").data.decode()
    assert 'data-field="detection_tips"' in diff and "<del>The laminate shows no reaction under ultraviolet light.</del><ins>Check the stitching.</ins>" in diff


# --- who learns the recipients: the reporting party only (portal.access.sees_recipients) --------------

def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start):html.index(end, html.index(start))]


def test_listed_recipients_are_shown_to_the_reporting_party_only(client, make_user, login_as, gtm):
    alert = report(gtm, distribution={"level": "parties", "parties": ["HND", "MEX"]}, tlp="AMBER")
    update_alert(principal(gtm), alert, {"distribution": {"level": "parties", "parties": ["HND", "MEX", "SLV"]}})
    db.session.commit()
    login_as(gtm)
    page = client.get(f"/alerts/{alert.id}").data.decode()
    assert "HND, MEX, SLV" in _between(page, 'id="alert-distribution"', "</dd>")
    first = client.get(f"/alerts/{alert.id}/revisions/1").data.decode()
    assert "Listed parties: HND, MEX" in first
    changed = client.get(f"/alerts/{alert.id}/revisions/3").data.decode()
    row = _between(changed, 'data-field="distribution"', "</tr>")
    assert "<del>Listed parties: HND, MEX</del>" in row and "<ins>Listed parties: HND, MEX, SLV</ins>" in row

    login_as(make_user(role="border_officer", party_code="HND"))
    page = client.get(f"/alerts/{alert.id}").data.decode()
    assert "Listed parties" in _between(page, 'id="alert-distribution"', "</dd>")
    for revision in (1, 2, 3):
        html = client.get(f"/alerts/{alert.id}/revisions/{revision}").data.decode()
        assert "Listed parties" in html or revision > 1
        for other in ("MEX", "SLV"):
            assert other not in html, (revision, other)
    for other in ("MEX", "SLV"):
        assert other not in page
    # the change of recipients is not even a changed field for a recipient
    changed = client.get(f"/alerts/{alert.id}/revisions/3").data.decode()
    assert 'data-field="distribution"' not in changed


def test_the_network_is_shown_to_the_reporting_party_only(client, make_user, login_as, gtm):
    alert = report(gtm, distribution={"level": "network", "network": "FOCAL"}, tlp="GREEN")
    db.session.commit()
    login_as(gtm)
    page = client.get(f"/alerts/{alert.id}").data.decode()
    assert "FOCAL · RCM focal points" in _between(page, 'id="alert-distribution"', "</dd>")
    assert "Network: FOCAL" in client.get(f"/alerts/{alert.id}/revisions/1").data.decode()

    login_as(make_user(role="border_officer", party_code="MEX"))  # a member of the network
    page = client.get(f"/alerts/{alert.id}").data.decode()
    assert _between(page, 'id="alert-distribution"', "</dd>").split(">", 1)[1].strip() == "Network"
    first = client.get(f"/alerts/{alert.id}/revisions/1").data.decode()
    assert "<ins>Network</ins>" in first
    for html in (page, first):
        assert "FOCAL" not in html and "RCM focal points" not in html


# --- stored MRZ findings, in the reader's language ----------------------------------------------------

def _tampered_alert(user) -> Alert:
    tampered = td3("P7654321", state="SLV").replace("P7654321", "P7654322", 1)  # number and composite fail
    data = {"mrz": tampered, "document_number": None, "issuing_state": None, "bearer_nationality": None,
            "expiry_date": None, "issue_date": None}
    alert = report(user, **data)
    assert {"field": "document_number", "code": "check_digit"} in alert.mrz_findings
    assert {"field": "composite_check_digit", "code": "check_digit"} in alert.mrz_findings
    db.session.commit()
    return alert


@pytest.mark.parametrize("locale, expected", [
    ("en", ["The check digit of the document number does not match the data it protects.",
            ("The check digit of the document number, dates and optional data together does not match the data "
             "it protects.")]),
    ("es", ["El dígito de control del campo «número de documento» no corresponde a los datos que protege.",
            ("El dígito de control del campo «número de documento, fechas y datos opcionales en conjunto» no "
             "corresponde a los datos que protege.")]),
])
def test_stored_mrz_findings_are_sentences_in_the_readers_language(client, make_user, login_as, gtm, locale,
                                                                    expected):
    alert = _tampered_alert(gtm)
    login_as(make_user(role="border_officer", party_code="MEX", locale=locale))
    html = client.get(f"/alerts/{alert.id}").data.decode()
    findings = _between(html, 'id="alert-mrz-findings"', "</ul>")
    assert re.findall(r'<li class="mrz-finding"[^>]*>([^<]*)</li>', findings) == expected
    assert "document_number: check_digit" not in html and "<code>document_number</code>" not in html
    first = client.get(f"/alerts/{alert.id}/revisions/1").data.decode()
    assert " ".join(expected) in _between(first, 'data-field="mrz_findings"', "</tr>")


# --- Spanish ------------------------------------------------------------------------------------------

def test_alert_pages_speak_spanish(client, make_user, login_as, gtm):
    alert = report(gtm, distribution={"level": "parties", "parties": ["HND"]}, tlp="AMBER")
    db.session.commit()
    login_as(make_user(role="liaison_officer", party_code="HND", locale="es"))
    pages = {
        "/alerts/": (["Alertas de documentos fraudulentos", "Reportar una alerta", "Filtros"],
                     ["Fraudulent document alerts", "Report an alert", ">Filters<"]),
        "/alerts/new": (["2. Detección", "4. Fraude", "Guardar como borrador"],
                        ["2. Detection<", "4. Fraud<", "Save as draft"]),
        f"/alerts/{alert.id}": ([f"Alerta {alert.reference}", "Reportada por", "Países y organismos seleccionados",
                                 "Falsificación total", "Marcar como vista", "Historial", "Volver a las alertas"],
                                [f"Alert {alert.reference}", "Reported by", "Listed parties", ">Counterfeit<",
                                 "Mark as seen", ">History<", "Back to the alerts"]),
    }
    for url, (spanish, english) in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.data.decode()
        assert '<html lang="es">' in html
        for text in spanish:
            assert text in html, (url, text)
        for text in english:
            assert text not in html, (url, text)
