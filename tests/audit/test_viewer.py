"""The audit viewer and its CSV export: scope, filters, pagination, validation, and the export's own entry."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.audit.service import record
from portal.extensions import db
from portal.principal import Principal

ROLES = ("secretariat_admin", "country_admin", "liaison_officer", "border_officer", "observer")


def _head() -> int:
    return db.session.scalar(select(func.max(AuditEntry.seq))) or 0


def _rows(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.data.decode())))


def _seed(make_user):
    """Entries acted by GTM, acted by MEX on a GTM object, and purely MEX; returns their object ids."""
    gtm = make_user(role="liaison_officer", party_code="GTM")
    mex = make_user(role="liaison_officer", party_code="MEX")
    record("viewer.gtm_acts", principal=Principal.for_user(gtm), object_type="thing", object_id="gtm-own",
           object_party="GTM", objectives=["MPM-2"])
    record("viewer.mex_on_gtm", principal=Principal.for_user(mex), object_type="thing", object_id="mex-on-gtm",
           object_party="GTM", outcome="denied", objectives=[])
    record("viewer.mex_only", principal=Principal.for_user(mex), object_type="thing", object_id="mex-only",
           object_party="MEX", objectives=["HR-3"])
    db.session.commit()
    return gtm, mex


# route x role x (an entry of the own party / of another party): status, and whether the entry is shown
@pytest.mark.parametrize("relation", ("own", "other"))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ("/audit/", "/audit/export.csv"))
def test_audit_access_matrix(client, make_user, login_as, path, role, relation):
    actor_party = "TS" if role == "secretariat_admin" else "GTM"
    entry_party = actor_party if relation == "own" else "MEX"
    other = make_user(role="liaison_officer", party_code=entry_party)
    record("viewer.matrix", principal=Principal.for_user(other), object_type="thing", object_id="matrix-entry",
           object_party=entry_party, objectives=[])
    db.session.commit()
    login_as(make_user(role=role, party_code=actor_party))
    start = _head()

    send = client.post if path.endswith(".csv") else client.get  # exports are POST (with CSRF)
    response = send(path, query_string={"action": "viewer.matrix"})

    expected_status = 200 if role in ("secretariat_admin", "country_admin") else 403
    assert response.status_code == expected_status
    shown = b"matrix-entry" in response.data
    assert shown == (expected_status == 200 and (role == "secretariat_admin" or relation == "own"))
    new = [(e.action, e.outcome) for e in db.session.scalars(select(AuditEntry).where(AuditEntry.seq > start))]
    if expected_status == 403:
        assert new == [("access.denied", "denied")]
    elif path.endswith(".csv"):
        assert new == [("audit.export", "ok")]
    else:
        assert new == []


def test_anonymous_viewer_goes_to_login(client):
    for path, send in (("/audit/", client.get), ("/audit/export.csv", client.post)):
        response = send(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_country_admin_sees_own_party_as_actor_or_object(client, make_user, login_as):
    _seed(make_user)
    login_as(make_user(role="country_admin", party_code="GTM"))
    rows = _rows(client.post("/audit/export.csv", query_string={"action": "viewer."}))
    assert {r["object_id"] for r in rows} == {"gtm-own", "mex-on-gtm"}


def test_secretariat_sees_everything(client, make_user, login_as):
    _seed(make_user)
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    rows = _rows(client.post("/audit/export.csv", query_string={"action": "viewer."}))
    assert [r["object_id"] for r in rows] == ["mex-only", "mex-on-gtm", "gtm-own"]  # newest first
    page = client.get("/audit/", query_string={"action": "viewer."}).data.decode()
    assert page.index("mex-only") < page.index("mex-on-gtm") < page.index("gtm-own")


def test_filters(client, make_user, login_as):
    _gtm, mex = _seed(make_user)
    login_as(make_user(role="secretariat_admin", party_code="TS"))

    def ids(**query):
        return [r["object_id"] for r in _rows(client.post("/audit/export.csv", query_string=query))]

    assert ids(action="viewer.", actor=mex.id) == ["mex-only", "mex-on-gtm"]
    assert ids(action="viewer.mex") == ["mex-only", "mex-on-gtm"]
    assert ids(action="viewer.", outcome="denied") == ["mex-on-gtm"]
    assert ids(action="viewer.", objective="HR-3") == ["mex-only"]
    assert ids(action="viewer.", objective="mpm-2") == ["gtm-own"]  # codes are matched in upper case
    today = date.today()
    assert ids(action="viewer.", date_from=today.isoformat(), date_to=today.isoformat()) == [
        "mex-only", "mex-on-gtm", "gtm-own"]
    assert ids(action="viewer.", date_from=(today + timedelta(days=1)).isoformat()) == []
    assert ids(action="viewer.", date_to=(today - timedelta(days=1)).isoformat()) == []
    # a prefix is literal ('_' is no wildcard): no action starts with "viewer_", so the filter is refused
    assert client.post("/audit/export.csv", query_string={"action": "viewer_"}).status_code == 422


def test_rows_show_time_actor_ip_action_object_outcome_objectives(client, make_user, login_as):
    gtm, _mex = _seed(make_user)
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    row = next(r for r in _rows(client.post("/audit/export.csv", query_string={"action": "viewer.gtm"})))
    assert (row["actor_party"], row["actor_role"], row["actor_user_id"]) == ("GTM", "liaison_officer", str(gtm.id))
    assert (row["action"], row["object_type"], row["object_party"], row["outcome"], row["objectives"]) == (
        "viewer.gtm_acts", "thing", "GTM", "ok", "MPM-2")
    assert row["time_utc"].endswith("Z")
    page = client.get("/audit/", query_string={"action": "viewer.gtm"}).data.decode()
    # an action without a phrasing reads as the generic sentence, naming the person, the action and the record
    for text in ("Time (UTC)", f"{gtm.full_name} (GTM) performed the action “viewer.gtm_acts” on thing gtm-own",
                 "Liaison officer", f'href="/audit/?actor={gtm.id}"', ">Allowed<",
                 'href="/audit/?objective=MPM-2" title="Security of migration documents">MPM-2</a>'):
        assert text in page
    # the export above was made by a request: its entry carries the client's address
    [export] = _rows(client.post("/audit/export.csv", query_string={"action": "audit.export"}))[:1]
    assert export["ip"] == "127.0.0.1"
    page = client.get("/audit/", query_string={"action": "audit.export"}).data.decode()
    assert "<td>127.0.0.1</td>" in page


def test_pagination_newest_first(client, make_user, login_as):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    for n in range(60):
        record("viewer.page", object_type="thing", object_id=f"n{n:02d}", objectives=[])
    db.session.commit()
    first = client.get("/audit/", query_string={"action": "viewer.page"}).data.decode()
    assert first.count('class="audit-entry"') == 50
    assert "n59" in first and "n10" in first and "n09" not in first
    assert "Page 1 of 2" in first and "60 entries" in first
    second = client.get("/audit/", query_string={"action": "viewer.page", "page": 2}).data.decode()
    assert second.count('class="audit-entry"') == 10
    assert "n09" in second and "n00" in second and "n10" not in second
    beyond = client.get("/audit/", query_string={"action": "viewer.page", "page": 9})
    assert beyond.status_code == 200 and 'class="audit-entry"' not in beyond.data.decode()


@pytest.mark.parametrize("query, field_error", (
    ({"actor": "abc"}, b"Not a valid integer value."),
    ({"actor": "-3"}, b"Number must be"),
    ({"date_from": "2024-13-45"}, b"Not a valid date value."),
    ({"date_from": "2024-05-02", "date_to": "2024-05-01"}, b"The end date is before the start date."),
    ({"outcome": "maybe"}, b"Not a valid choice."),
    ({"action": "x%' OR 1=1 --"}, b"Use lower-case letters, digits, dots and underscores."),
    ({"objective": "MPM 2;"}, b"An objective code looks like MPM-2."),
    ({"page": "0"}, b"Number must be"),
))
def test_invalid_filters_are_form_errors(client, make_user, login_as, query, field_error):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    start = _head()
    response = client.get("/audit/", query_string=query)
    assert response.status_code == 422
    assert field_error in response.data
    export = client.post("/audit/export.csv", query_string=query)
    assert export.status_code == 422
    assert export.mimetype == "text/plain"
    assert _head() == start  # a refused export is not an export


def test_export_is_an_audited_attachment(client, make_user, login_as):
    _seed(make_user)
    admin = make_user(role="country_admin", party_code="GTM")
    login_as(admin)
    start = _head()
    response = client.post("/audit/export.csv", query_string={"action": "viewer.", "outcome": "ok"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="audit-') and disposition.endswith('.csv"')
    assert response.headers["Cache-Control"] == "no-store"
    rows = _rows(response)
    assert list(rows[0].keys())[:4] == ["seq", "time_utc", "actor_party", "actor_role"]
    assert [r["object_id"] for r in rows] == ["gtm-own"]
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > start)).all()
    assert (entry.action, entry.outcome, entry.actor_user_id, entry.actor_party) == (
        "audit.export", "ok", admin.id, "GTM")
    assert json.loads(entry.details) == {"rows": 1, "action": "viewer.", "outcome": "ok"}


def test_export_defuses_spreadsheet_formulas(client, make_user, login_as):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    record("viewer.formula", object_type="thing", object_id="=HYPERLINK(\"http://x\")", objectives=[])
    db.session.commit()
    [row] = _rows(client.post("/audit/export.csv", query_string={"action": "viewer.formula"}))
    assert row["object_id"] == "'=HYPERLINK(\"http://x\")"
