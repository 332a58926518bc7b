"""A reporting cycle in the browser: the secretariat opens it, a Guatemalan liaison officer downloads the
XLSX template, fills it in (openpyxl), uploads it and submits; Mexico is late and reminded; the secretariat
accepts Guatemala's return and sees the consolidated chart."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.journeys import create_user, sign_in, sign_out

pytestmark = pytest.mark.e2e


def _fill(template: bytes) -> bytes:
    book = load_workbook(io.BytesIO(template))
    sheet = book["return"]
    names = [cell.value for cell in sheet[1]]
    for row in ({"nationality": "IND", "month": "2026-07", "detection_point": "air", "detected": 120, "women": 30},
                {"nationality": "CMR", "month": "2026-08", "detection_point": "land", "detected": 45, "minors": 6}):
        sheet.append([row.get(name) for name in names])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cycle_overdue_by_a_week(live_server, cycle_id: int) -> None:
    """Time passes: the cycle's due date is now a week ago."""
    from portal.extensions import db
    from portal.reporting.models import ReportingCycle
    from portal.timeutil import utcnow

    with live_server.app.app_context():
        try:
            db.session.get(ReportingCycle, cycle_id).due_date = utcnow().date() - timedelta(days=7)
            db.session.commit()
        finally:
            db.session.remove()


def test_a_reporting_cycle_from_opening_to_the_consolidated_chart(live_server, browser_page):
    page = browser_page
    ts_secret = create_user(live_server, "tere.ts@ts.example.org", "secretariat_admin", "TS", "Tere Secretaría")
    gtm_secret = create_user(live_server, "gabi.report@gtm.example.org", "liaison_officer", "GTM", "Gabi Reporte")
    create_user(live_server, "memo.report@mex.example.org", "country_admin", "MEX", "Memo Reporte")

    sign_in(page, live_server, "tere.ts@ts.example.org", ts_secret)
    page.click("text=Reporting")
    page.select_option("#template", "extra_regional_flows")
    page.fill("#period", "2026-H2")
    page.fill("#due_date", "2099-12-31")
    page.click("#open-cycle")
    expect(page.locator("#board-MEX")).to_contain_text("Not started")
    cycle_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    sign_out(page)

    sign_in(page, live_server, "gabi.report@gtm.example.org", gtm_secret)
    page.goto(f"{live_server.url}/reporting/cycles/{cycle_id}/returns/GTM")
    with page.expect_download() as download:
        page.click("#download-template")
    filled = _fill(Path(download.value.path()).read_bytes())
    page.click("#upload-return")
    page.uncheck("#dry_run")
    page.set_input_files("#file", files=[{"name": "flujos.xlsx", "buffer": filled,
                                          "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    page.click("#upload-sheet")
    expect(page.locator("#return-rows")).to_contain_text("CMR")
    page.click("#submit-return")
    expect(page.locator("#return-status")).to_contain_text("Submitted")
    sign_out(page)

    _cycle_overdue_by_a_week(live_server, cycle_id)
    reminded = live_server.app.test_cli_runner().invoke(args=["reporting", "remind"])
    assert reminded.exit_code == 0, reminded.output
    # MEX's users of the other journeys (the live server is shared) are reminded too: at least Memo.
    assert re.search(r"MEX: overdue-1, [1-9]\d* user\(s\) reminded", reminded.output), reminded.output
    assert "GTM:" not in reminded.output

    sign_in(page, live_server, "tere.ts@ts.example.org", ts_secret)
    page.goto(f"{live_server.url}/reporting/cycles/{cycle_id}")
    expect(page.locator("#board-MEX")).to_contain_text("Late")
    page.click("#board-GTM a")
    page.click("#accept-return")
    expect(page.locator("#return-status")).to_contain_text("Accepted")
    page.goto(f"{live_server.url}/reporting/cycles/{cycle_id}/consolidated")
    expect(page.locator("#basis")).to_contain_text("GTM")
    expect(page.locator("#reporting-top-nationalities svg")).to_be_visible()
    expect(page.locator("#totals")).to_contain_text("165")
    assert page.csp_violations == []
