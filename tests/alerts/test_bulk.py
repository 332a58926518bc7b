"""Bulk import: dry run (every bad row, nothing stored), real run (all or nothing), web pages and CLI."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from alerts.bulk import ImportRefused, dry_run, import_alerts, import_file
from alerts.cli import alerts_cli
from alerts.models import Alert, AlertReferenceCounter
from portal.extensions import db
from tests.alerts.factories import alert_data, audit_entries, mark_audit_start, principal

CSV_HEADER = ["document_category", "issuing_state", "document_number", "fraud_type", "description", "tlp",
              "status", "distribution_level", "distribution_parties", "detection_date", "route",
              "security_features"]


def _csv(rows: list[list[str]], header=CSV_HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _good(number="B7654321") -> list[str]:
    return ["passport", "GTM", number, "counterfeit", "Counterfeit booklet seen at the airport.", "GREEN",
            "published", "members", "", "2026-01-10", "COL;PAN;GTM", "laminate;uv_features"]


def _stored() -> tuple[int, int]:
    return (db.session.scalar(select(func.count(Alert.id))),
            db.session.scalar(select(func.coalesce(func.sum(AlertReferenceCounter.last_value), 0))) or 0)


def _counters() -> int:
    return db.session.scalar(select(func.count()).select_from(AlertReferenceCounter)) or 0


@pytest.fixture
def officer(make_user):
    return make_user(role="liaison_officer", party_code="GTM")


def test_csv_dry_run_reports_every_bad_row_and_stores_nothing(app_ctx, officer):
    bad_state = _good("C1111111"); bad_state[1] = "QQQ"
    bad_category = _good("C2222222"); bad_category[0] = "spaceship"
    no_number = _good(""); no_number[2] = ""
    bad_date = _good("C3333333"); bad_date[9] = "15/01/2026"
    bad_distribution = _good("C4444444"); bad_distribution[7] = "parties"; bad_distribution[8] = "ZZZ"
    content = _csv([_good(), bad_state, bad_category, no_number, bad_date, bad_distribution, _good("C5555555")])
    content += b'passport,GTM,"C666"6,counterfeit,x,GREEN,draft,members,,,,\n'  # a stray quote
    content += b"passport,GTM,C7777777,counterfeit,x,GREEN\n"  # too few values
    before, counters = _stored(), _counters()
    mark_audit_start()

    report = dry_run(principal(officer), [content[:50], content[50:]], "csv")

    assert (report.rows, report.valid, report.invalid) == (9, 2, 7)
    by_line = {problem.line: problem.errors for problem in report.problems}
    assert set(by_line) == {3, 4, 5, 6, 7, 9, 10}
    assert list(by_line[3]) == ["issuing_state"]
    assert list(by_line[4]) == ["document_category"]
    assert list(by_line[5]) == ["document_number"]
    assert list(by_line[6]) == ["detection_date"]
    assert list(by_line[7]) == ["distribution_parties"]
    assert list(by_line[9]) == ["line"] and "CSV" in by_line[9]["line"]
    assert list(by_line[10]) == ["line"] and "6 values" in by_line[10]["line"]
    assert _stored() == before and _counters() == counters
    [entry] = audit_entries("alert.import")
    details = json.loads(entry.details)
    assert details == {"dry_run": True, "format": "csv", "rows": 9, "valid": 2, "invalid": 7, "file_error": False}
    assert "B7654321" not in entry.details


def test_json_dry_run_reports_bad_items_and_malformed_json(app_ctx, officer):
    items = [alert_data(document_number="D1000001"), alert_data(document_number=None, issuing_state="QQQ"),
             "not an object", alert_data(document_number="D1000002", distribution={"level": "everyone"})]
    text = "[\n" + ",\n".join(json.dumps(item) for item in items) + "\n]\n"
    before = _stored()
    report = dry_run(principal(officer), [text.encode()], "json")
    assert (report.rows, report.valid, report.invalid) == (4, 1, 3)
    by_line = {problem.line: problem.errors for problem in report.problems}
    assert set(by_line[3]) == {"document_number", "issuing_state"}
    assert list(by_line[4]) == ["item"]
    assert list(by_line[5]) == ["distribution.level"]

    broken = "[\n" + json.dumps(alert_data(document_number="D1000003")) + ",\n{\"tlp\": GREEN}\n]"
    report = dry_run(principal(officer), [broken.encode()], "json")
    assert report.file_error is not None and report.file_error.line == 3
    assert (report.rows, report.valid) == (1, 1) and not report.ok
    assert _stored() == before


def test_real_run_imports_every_row_in_batches(app_ctx, officer):
    rows = [_good(f"E{n:07d}") for n in range(5)]
    rows[1][6] = "draft"
    content = _csv(rows)
    before, _ = _stored()
    seen = []
    mark_audit_start()
    report, counts = import_file(principal(officer), lambda: iter([content]), "csv", progress=seen.append,
                                 batch_size=2)
    assert report.ok and (counts.imported, counts.published, counts.drafts) == (5, 4, 1)
    assert seen == [2, 4, 5]
    assert _stored()[0] == before + 5
    imported = db.session.scalars(select(Alert).where(Alert.reference >= counts.first_reference,
                                                      Alert.reference <= counts.last_reference,
                                                      Alert.owner_party_id == officer.party_id)).all()
    assert sorted(alert.document_number for alert in imported) == [f"E{n:07d}" for n in range(5)]
    assert all(alert.route == ["COL", "PAN", "GTM"] for alert in imported)
    entries = audit_entries("alert.import")
    details = json.loads(entries[-1].details)
    assert details["imported"] == 5 and details["published"] == 4 and details["dry_run"] is False
    assert len(audit_entries("alert.create")) == 5
    assert all("E000000" not in entry.details for entry in entries)


def test_real_run_refuses_a_file_with_any_bad_row(app_ctx, officer):
    bad = _good("F2000000"); bad[3] = "nonsense"
    content = _csv([_good("F1000000"), bad])
    before, counters = _stored(), _counters()
    mark_audit_start()
    with pytest.raises(ImportRefused) as refused:
        import_file(principal(officer), lambda: iter([content]), "csv")
    assert refused.value.report.invalid == 1 and refused.value.report.problems[0].line == 3
    assert _stored() == before and _counters() == counters
    [entry] = audit_entries("alert.import")
    assert entry.outcome == "denied" and json.loads(entry.details)["invalid"] == 1


def test_import_alerts_rolls_back_everything_when_a_row_fails(app_ctx, officer):
    before, counters = _stored(), _counters()
    mark_audit_start()
    rows = [alert_data(document_number="G1000001"), alert_data(document_number="G1000002", fraud_type="bad")]
    from alerts.validation import AlertValidationError

    with pytest.raises(AlertValidationError) as error:
        import_alerts(principal(officer), rows)
    assert error.value.item == 2
    assert _stored() == before and _counters() == counters
    assert audit_entries("alert.create") == []


def test_published_rows_need_the_publish_permission(app_ctx, officer):
    from dataclasses import replace

    reporter_only = replace(principal(officer), permissions=principal(officer).permissions - {"publish_alert"})
    draft = _good("M2000000"); draft[6] = "draft"
    report = dry_run(reporter_only, [_csv([_good("M1000000"), draft])], "csv")
    assert (report.valid, report.invalid) == (1, 1)
    assert list(report.problems[0].errors) == ["status"] and report.problems[0].line == 2


def test_border_officer_may_not_import(app_ctx, make_user):
    from alerts.operations import AlertForbidden

    user = make_user(role="border_officer", party_code="GTM")
    mark_audit_start()
    with pytest.raises(AlertForbidden):
        dry_run(principal(user), [_csv([_good()])], "csv")
    [entry] = audit_entries("alert.import")
    assert entry.outcome == "denied"


# --- web pages ---------------------------------------------------------------------------------------

def _upload(client, content: bytes, name: str):
    return client.post("/alerts/bulk/import", data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_web_dry_run_shows_the_bad_rows(app_ctx, client, login_as, officer):
    login_as(officer)
    bad = _good("H2000000"); bad[1] = "QQQ"
    before = _stored()
    response = _upload(client, _csv([_good("H1000000"), bad]), "alerts.csv")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="bad-rows"' in page and "issuing_state" in page and 'id="confirm-import"' not in page
    assert _stored() == before


def test_web_dry_run_beyond_the_listed_rows_offers_every_bad_row_as_csv(app_ctx, client, login_as, officer,
                                                                        make_user, monkeypatch):
    from alerts import bulk
    from documents.storage import current_blob_store

    monkeypatch.setattr(bulk, "MAX_REPORTED_ROWS", 2)
    login_as(officer)
    bad_rows = []
    for n in range(5):
        row = _good(f"H30000{n:02d}"); row[1] = "QQQ"
        bad_rows.append(row)
    bad_rows[4][1] = "=QQ"  # a formula-looking value, quoted back in the message
    blobs_before = set(current_blob_store().iter_ids())
    page = _upload(client, _csv([_good("H3100000"), *bad_rows]), "alerts.csv").get_data(as_text=True)
    assert page.count('class="bad-row"') == 2 and "3 more bad rows are not listed." in page
    assert 'id="full-report"' in page and 'id="confirm-import"' not in page
    token = page.split('name="pending" type="hidden" value="')[1].split('"')[0]
    mark_audit_start()
    response = client.post("/alerts/bulk/import/report.csv", data={"pending": token})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=import-problems.csv"
    assert response.headers["Cache-Control"] == "no-store"
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0] == ["line", "item", "field", "problem"]
    assert [line[0] for line in lines[1:] if line[2] == "issuing_state"] == ["3", "4", "5", "6", "7"]
    assert lines[-1][3].startswith("'=QQ ")  # a spreadsheet shows it as text, never runs it
    assert [json.loads(entry.details) for entry in audit_entries("alert.import")] == [
        {"dry_run": True, "format": "csv", "rows": 6, "valid": 1, "invalid": 5, "file_error": False}]
    # the upload is this user's only, and nothing was stored
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    refused = client.post("/alerts/bulk/import/report.csv", data={"pending": token})
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/alerts/bulk/import")
    assert len(set(current_blob_store().iter_ids()) - blobs_before) == 1  # kept for the report (gc after an hour)


def test_web_dry_run_with_every_bad_row_listed_keeps_no_upload(app_ctx, client, login_as, officer):
    from documents.storage import current_blob_store

    login_as(officer)
    bad = _good("H4000000"); bad[1] = "QQQ"
    blobs_before = set(current_blob_store().iter_ids())
    page = _upload(client, _csv([bad]), "alerts.csv").get_data(as_text=True)
    assert 'class="bad-row"' in page and 'id="full-report"' not in page
    assert set(current_blob_store().iter_ids()) == blobs_before


def test_web_import_confirm_then_import(app_ctx, app, client, login_as, officer):
    from documents.storage import current_blob_store

    login_as(officer)
    content = json.dumps([alert_data(document_number="J1000001"), alert_data(document_number="J1000002")]).encode()
    before, _ = _stored()
    blobs_before = set(current_blob_store().iter_ids())
    response = _upload(client, content, "alerts.json")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="dry-run-ok"' in page
    new_blobs = set(current_blob_store().iter_ids()) - blobs_before
    assert len(new_blobs) == 1
    [blob] = new_blobs
    with current_blob_store().open(blob) as handle:
        assert b"J1000001" not in handle.read()  # stored encrypted
    token = page.split('name="pending" type="hidden" value="')[1].split('"')[0]
    assert _stored()[0] == before
    response = client.post("/alerts/bulk/import/confirm", data={"pending": token, "submit": "1"})
    assert response.status_code == 200
    assert 'id="import-result"' in response.get_data(as_text=True)
    assert _stored()[0] == before + 2
    assert set(current_blob_store().iter_ids()) == blobs_before  # the upload is deleted


def _confirm_token(client, content: bytes, name: str) -> str:
    page = _upload(client, content, name).get_data(as_text=True)
    return page.split('name="pending" type="hidden" value="')[1].split('"')[0]


def test_web_import_streams_a_progress_bar_per_batch(app_ctx, client, login_as, officer, monkeypatch):
    import functools
    import re

    from alerts import bulk
    from documents.storage import current_blob_store

    monkeypatch.setattr(bulk, "import_batches", functools.partial(bulk.import_batches, batch_size=2))
    login_as(officer)
    rows = [alert_data(document_number=f"P100000{n}") for n in range(5)]
    blobs_before = set(current_blob_store().iter_ids())
    token = _confirm_token(client, json.dumps(rows).encode(), "alerts.json")
    before, _ = _stored()
    response = client.post("/alerts/bulk/import/confirm", data={"pending": token, "submit": "1"})
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    steps = [int(value) for value in re.findall(r'<progress max="5" value="(\d+)">', page)]
    assert steps == [0, 2, 4, 5]
    assert page.index('id="import-progress"') < page.index('id="import-result"') < page.index("</html>")
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None and "style=" not in page  # strict CSP
    assert _stored()[0] == before + 5
    assert set(current_blob_store().iter_ids()) == blobs_before


def test_web_import_failing_while_streaming_stores_nothing(app_ctx, client, login_as, officer, monkeypatch):
    from alerts import bulk
    from alerts.validation import AlertValidationError
    from documents.storage import current_blob_store

    login_as(officer)
    rows = [alert_data(document_number=f"Q100000{n}") for n in range(3)]
    blobs_before = set(current_blob_store().iter_ids())
    token = _confirm_token(client, json.dumps(rows).encode(), "alerts.json")
    prepare, calls = bulk.prepare_new_alert, []

    def refuse_the_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise AlertValidationError({"issuing_state": "changed since the check"})
        return prepare(*args)

    monkeypatch.setattr(bulk, "prepare_new_alert", refuse_the_third)
    before, counters = _stored(), _counters()
    mark_audit_start()
    response = client.post("/alerts/bulk/import/confirm", data={"pending": token, "submit": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="import-failed"' in page and 'id="import-result"' not in page
    assert "Row 3 " in page
    assert _stored() == before and _counters() == counters
    assert audit_entries("alert.create") == [] and audit_entries("alert.import") == []
    assert set(current_blob_store().iter_ids()) == blobs_before


def test_web_confirm_token_of_another_user_is_refused(app_ctx, client, login_as, officer, make_user):
    login_as(officer)
    page = _upload(client, json.dumps([alert_data(document_number="K1000001")]).encode(), "a.json").get_data(
        as_text=True)
    token = page.split('name="pending" type="hidden" value="')[1].split('"')[0]
    other = make_user(role="liaison_officer", party_code="GTM")
    other_client = login_as(other, client.application.test_client())
    before = _stored()
    response = other_client.post("/alerts/bulk/import/confirm", data={"pending": token, "submit": "1"})
    assert response.status_code == 302 and _stored() == before


def test_web_upload_of_another_type_is_refused(app_ctx, client, login_as, officer):
    login_as(officer)
    response = _upload(client, b"%PDF-1.4", "alerts.pdf")
    assert response.status_code == 400


@pytest.mark.parametrize(("role", "party_code", "status"), [
    ("liaison_officer", "GTM", 200), ("country_admin", "GTM", 200), ("country_admin", "ARG", 200),
    ("border_officer", "GTM", 403), ("observer", "GTM", 403), ("secretariat_admin", "TS", 403)])
def test_import_page_access(app_ctx, client, login_as, make_user, role, party_code, status):
    login_as(make_user(role=role, party_code=party_code))
    assert client.get("/alerts/bulk/import").status_code == status
    assert client.post("/alerts/bulk/import/confirm", data={"pending": "x"}).status_code == (
        302 if status == 200 else 403)


def test_anonymous_is_sent_to_login(client):
    assert client.get("/alerts/bulk/import").status_code == 302
    assert client.post("/alerts/bulk/import").status_code == 302


# --- command line ------------------------------------------------------------------------------------

def test_cli_dry_run_and_import(app_ctx, app, officer, tmp_path):
    bad = _good("L2000000"); bad[0] = "spaceship"
    path = tmp_path / "bad.csv"
    path.write_bytes(_csv([_good("L1000000"), bad]))
    runner = app.test_cli_runner()
    before = _stored()
    result = runner.invoke(args=["alerts", "import", str(path), "--as", officer.email, "--dry-run"])
    assert result.exit_code == 1
    assert "line 3: document_category" in result.output and "L1000000" not in result.output
    result = runner.invoke(args=["alerts", "import", str(path), "--as", officer.email])
    assert result.exit_code == 1 and "refused" in result.output
    assert _stored() == before
    good = tmp_path / "good.csv"
    good.write_bytes(_csv([_good("L3000000"), _good("L4000000")]))
    result = runner.invoke(args=["alerts", "import", str(good), "--as", officer.email])
    assert result.exit_code == 0, result.output
    assert "Imported 2 alerts" in result.output
    assert _stored()[0] == before[0] + 2
    assert "import" in alerts_cli.commands and "export" in alerts_cli.commands


def test_json_nested_too_deeply_is_a_file_error_not_a_crash(app_ctx, officer):
    before = _stored()
    report = dry_run(principal(officer), [("[" * 100_000).encode()], "json")
    assert report.file_error is not None and "nested too deeply" in str(report.file_error)
    assert not report.ok and _stored() == before
