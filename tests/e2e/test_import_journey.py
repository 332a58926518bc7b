"""A Guatemalan liaison officer imports a CSV of 2,100 alerts in the browser: the dry run says every row is
valid, the confirmed import streams its progress bar batch by batch (no script: strict CSP), then the result;
a Mexican border officer finds one of the imported alerts by its number."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.journeys import create_user, sign_in

pytestmark = pytest.mark.e2e

ROWS = 2_100  # two batches of the set-based import (2,000 a batch): two steps of the progress bar
HEADER = ["document_category", "issuing_state", "document_number", "fraud_type", "description", "tlp", "status",
          "distribution_level", "detection_date", "route", "security_features"]


def _csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for n in range(ROWS):
        writer.writerow(["passport", "GTM", f"E{n:07d}", "counterfeit", "Counterfeit booklet from a print shop.",
                         "GREEN", "published", "members", "2026-02-01", "COL;PAN;GTM", "laminate;uv_features"])
    return out.getvalue().encode()


def test_import_a_csv_with_a_streamed_progress_bar(live_server, browser_page):
    page = browser_page
    importer_secret = create_user(live_server, "ana.import@gtm.example.org", "liaison_officer", "GTM", "Ana Import")
    searcher_secret = create_user(live_server, "luis.search@mex.example.org", "border_officer", "MEX", "Luis Search")

    sign_in(page, live_server, "ana.import@gtm.example.org", importer_secret)
    page.goto(f"{live_server.url}/alerts/bulk/import")
    page.set_input_files("#import-file", files=[{"name": "alerts.csv", "mimeType": "text/csv", "buffer": _csv()}])
    page.click("#import-submit")
    expect(page.locator("#dry-run-ok")).to_be_visible()
    expect(page.locator("#report-counts")).to_contain_text(f"Valid: {ROWS}.")

    page.click("#confirm-submit")
    expect(page.locator("#import-result")).to_be_visible(timeout=60_000)
    expect(page.locator("#import-result")).to_contain_text("2100 alerts were imported.")
    page.wait_for_load_state("load")  # the whole streamed page and its stylesheet
    expect(page.locator("#import-progress > p.import-step")).to_have_count(3)  # 0, then one per stored batch
    latest = page.locator("#import-progress > p.import-step:visible")
    expect(latest).to_have_count(1)  # the stylesheet shows only the latest step
    bar = latest.locator("progress")
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == (str(ROWS), str(ROWS))
    assert page.csp_violations == []
    page.locator("form[action$='/auth/logout'] [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))

    sign_in(page, live_server, "luis.search@mex.example.org", searcher_secret)
    page.goto(f"{live_server.url}/alerts/?q=E0002099")
    expect(page.locator("#results-heading")).to_contain_text("1 alert on this document number")
