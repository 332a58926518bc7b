"""Spreadsheets both ways: the XLSX template round trip (download, fill with openpyxl, upload, stored), the
dry run naming each bad cell by sheet, row and column, CSV, and the consolidated exports."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from portal.extensions import db
from tests.reporting.factories import FLOW_ROW, filled, open_cycle, party_return


def _upload(client, url, data: bytes, name: str, dry_run: bool):
    form = {"csrf_token": "x", "file": (io.BytesIO(data), name)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post(url, data=form, content_type="multipart/form-data")


def _xlsx(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_round_trip(app_ctx, make_user, login_as):
    cycle = open_cycle()
    client = login_as(make_user(role="liaison_officer", party_code="GTM"))
    base = f"/reporting/cycles/{cycle.id}/returns/GTM"
    download = client.post(base + "/template.xlsx")
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(download.data))
    sheet = book["return"]
    names = [cell.value for cell in sheet[1]]
    assert names[:3] == ["nationality", "month", "detection_point"] and sheet["A2"].value == "Nationality"
    assert "IND" in [cell.value for cell in book["lists"]["A"]] and "GTM" not in [c.value for c in book["lists"]["A"]]
    assert sheet.data_validations.dataValidation  # validation lists on the cells
    sheet.append([FLOW_ROW.get(name) for name in names])
    sheet.append(["CMR", "2026-08", "sea", 7, 9, 0, 0, 0, 0, "@Tapachula - Ciudad Hidalgo"])
    checked = _upload(client, base + "/upload", _xlsx(book), "flows.xlsx", dry_run=True)
    page = checked.get_data(as_text=True)
    assert checked.status_code == 400
    assert "Sheet return, row 4, column E (women): Cannot be more than 7" in page
    assert party_return(cycle, "GTM").status == "not_started"
    sheet["E4"] = 2
    assert "The file is good: 2 rows" in _upload(client, base + "/upload", _xlsx(book), "flows.xlsx",
                                                 dry_run=True).get_data(as_text=True)
    assert party_return(cycle, "GTM").status == "not_started"  # a dry run stores nothing
    imported = _upload(client, base + "/upload", _xlsx(book), "flows.xlsx", dry_run=False)
    assert imported.status_code == 302
    stored = party_return(cycle, "GTM").draft_rows
    assert [(row["nationality"], row["detected"], row["women"]) for row in stored] == [("IND", 120, 30), ("CMR", 7, 2)]
    assert stored[1]["main_routes"] == "@Tapachula - Ciudad Hidalgo"
    again = load_workbook(io.BytesIO(client.post(base + "/template.xlsx").data))["return"]
    assert again["J4"].value == "'@Tapachula - Ciudad Hidalgo"  # a party's text never runs as a formula


def test_csv_upload_and_refusals(app_ctx, make_user, login_as):
    cycle = open_cycle("smuggling_legislation")
    client = login_as(make_user(role="country_admin", party_code="GTM"))
    url = f"/reporting/cycles/{cycle.id}/returns/GTM/upload"
    good = b"topic,status,legal_reference,date,notes\nprotocol_ratification,yes,Decreto 2004,2004-09-22,\n"
    assert _upload(client, url, good, "matrix.csv", dry_run=False).status_code == 302
    assert party_return(cycle, "GTM").draft_rows[0]["status"] == "yes"
    bad = b"topic,status,colour\nprotocol_ratification,maybe,red\n"
    page = _upload(client, url, bad, "matrix.csv", dry_run=False).get_data(as_text=True)
    assert "Sheet CSV, row 1, column C (colour): Unknown column." in page
    assert _upload(client, url, b"MZ\x90\x00binary", "matrix.xlsx", dry_run=True).status_code == 400
    assert party_return(cycle, "GTM").draft_rows[0]["status"] == "yes"  # all or nothing
    other = login_as(make_user(role="country_admin", party_code="MEX"), client)
    assert _upload(other, url, good, "matrix.csv", dry_run=False).status_code == 404


def test_consolidated_exports(app_ctx, make_user, login_as):
    cycle = open_cycle()
    filled(cycle, "GTM", submit=True)
    db.session.commit()
    client = login_as(make_user(role="secretariat_admin", party_code="TS"))
    xlsx = client.post(f"/reporting/cycles/{cycle.id}/consolidated.xlsx")
    book = load_workbook(io.BytesIO(xlsx.data))
    assert {"basis", "totals", "by_nationality", "by_continent", "by_month", "shares"} <= set(book.sheetnames)
    assert [cell.value for cell in book["by_nationality"][2]][:2] == ["IND", 120]
    text = client.post(f"/reporting/cycles/{cycle.id}/consolidated.csv").get_data(as_text=True)
    assert "# totals" in text and "Migrants detected,120" in text


def test_the_matrix_prints_as_pdf(app_ctx, make_user, login_as):
    rows = [{"topic": "protocol_ratification", "status": "no"}]
    filled(open_cycle("smuggling_legislation", "2026-H1"), "GTM", rows, submit=True)
    now = open_cycle("smuggling_legislation", "2026-H2")
    filled(now, "GTM", [{"topic": "protocol_ratification", "status": "yes", "notes": "Ratificación"}], submit=True)
    client = login_as(make_user(role="secretariat_admin", party_code="TS"))
    response = client.post(f"/reporting/cycles/{now.id}/matrix.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith("attachment")
    flows = open_cycle()
    assert client.post(f"/reporting/cycles/{flows.id}/matrix.pdf").status_code == 404
