"""The desk in a browser: each role's dashboard draws its charts, every role's pages fit 1366 px in both languages,
a search result fits a 390 px phone, and the quick-check card downloads with its reference and TLP."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.journeys import create_user, sign_in, sign_out

pytestmark = pytest.mark.e2e

ROLES = (("border_officer", "MEX"), ("liaison_officer", "GTM"), ("country_admin", "HND"), ("secretariat_admin", "TS"))


@pytest.fixture(scope="module")
def desk(live_server):
    """One account per role, and a published GREEN alert of GTM shared with every member."""
    from alerts.operations import create_alert
    from auth.models import User
    from portal.extensions import db
    from portal.principal import Principal
    from tests.alerts.factories import alert_data

    secrets = {role: create_user(live_server, f"desk.{role}@{party.lower()}.example.org", role, party,
                                 f"Desk {role.replace('_', ' ').title()}") for role, party in ROLES}
    with live_server.app.app_context():
        try:
            author = User.find_by_email(_email("liaison_officer"))
            alert = create_alert(Principal.for_user(author), alert_data(document_number="E2E90001", tlp="GREEN"))
            db.session.commit()
            reference, alert_id = alert.reference, alert.id
        finally:
            db.session.remove()
    return {"secrets": secrets, "reference": reference, "alert_id": alert_id}


def _email(role: str) -> str:
    return f"desk.{role}@{dict(ROLES)[role].lower()}.example.org"


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize(("role", "chart"), [("border_officer", "alerts-shared"), ("liaison_officer", "alerts-shared"),
                                             ("country_admin", "accounts-by-role"), ("secretariat_admin", "region-states")])
def test_each_roles_dashboard_draws_its_charts(live_server, browser_page, desk, role, chart):
    page = browser_page
    sign_in(page, live_server, _email(role), desk["secrets"][role])
    figure = page.locator(f"figure#{chart}")
    expect(figure.locator("svg")).to_be_visible()
    assert figure.locator("table.rcm-chart-table tbody tr").count() >= 1
    box = figure.locator("svg").bounding_box()
    assert box["width"] > 150 and box["height"] > 60
    assert page.csp_violations == []
    sign_out(page)


# Every role in auth/permissions.py (ROLE_LABELS), at a party that may hold it, with its dashboard and the main
# pages of its work: each must fit a 1366 px screen in both languages, and a 390 px phone without sideways scroll.
FIT_ROLES = {
    "border_officer": ("MEX", ("/", "/alerts/", "/alerts/{alert_id}", "/alerts/confirmations")),
    "liaison_officer": ("GTM", ("/", "/alerts/new", "/exchange/", "/directory/")),
    "country_admin": ("HND", ("/", "/admin/users", "/audit/", "/directory/")),
    "secretariat_admin": ("TS", ("/", "/alerts/", "/plan/ERX-INF-4", "/audit/")),
    "observer": ("ARG", ("/", "/alerts/", "/plan/", "/library/")),
}


def test_every_role_in_the_permission_registry_is_checked_for_fit(live_server):
    from auth.permissions import ROLE_LABELS

    assert set(FIT_ROLES) == set(ROLE_LABELS)


@pytest.fixture(scope="module")
def fit_accounts(live_server):
    """One account per role and language (a language choice is kept per account)."""
    return {(role, lang): create_user(live_server, _fit_email(role, lang), role, party, f"Fit {role} {lang}")
            for role, (party, _paths) in FIT_ROLES.items() for lang in ("en", "es")}


def _fit_email(role: str, lang: str) -> str:
    return f"fit.{role.replace('_', '-')}.{lang}@{FIT_ROLES[role][0].lower()}.example.org"


@pytest.mark.parametrize("lang", ("en", "es"))
@pytest.mark.parametrize("role", tuple(FIT_ROLES))
def test_every_roles_pages_fit_1366_pixels_and_a_390_pixel_phone(live_server, chromium_browser, desk, fit_accounts,
                                                                 role, lang):
    context = chromium_browser.new_context(locale="es-ES" if lang == "es" else "en-US",
                                           viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, live_server, _fit_email(role, lang), fit_accounts[(role, lang)])
        if page.locator("html").get_attribute("lang") != lang:
            page.click("#language-submit")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        paths = [path.format(alert_id=desk["alert_id"]) for path in FIT_ROLES[role][1]]
        for path in paths:
            assert page.goto(live_server.url + path).status == 200, path  # the role's own page, not a refusal
            expect(page.locator("#main")).to_be_visible()
            assert _page_width(page) <= 1366, (path, _page_width(page))
        expect(page.locator(".portal-nav-wide a[aria-current=page]")).to_have_count(1)
        page.set_viewport_size({"width": 390, "height": 844})
        for path in paths:
            page.goto(live_server.url + path)
            assert _page_width(page) <= 390, (path, _page_width(page))
    finally:
        context.close()


def test_a_search_result_on_a_390_pixel_phone_does_not_scroll_sideways(live_server, chromium_browser, desk):
    context = chromium_browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, _email("border_officer"), desk["secrets"]["border_officer"])
        assert _page_width(page) <= 390
        page.goto(live_server.url + "/alerts/?q=E2E90001")
        expect(page.locator("#alert-results")).to_contain_text(desk["reference"])
        assert _page_width(page) <= 390
        expect(page.locator(".portal-nav-wide")).to_be_hidden()
        page.locator(".portal-menu-toggle summary").click()
        expect(page.locator(".portal-nav-narrow a[aria-current=page]")).to_be_visible()
    finally:
        context.close()


def test_the_quick_check_card_downloads_with_its_reference_and_tlp(live_server, browser_page, desk):
    page = browser_page
    sign_in(page, live_server, _email("border_officer"), desk["secrets"]["border_officer"])
    page.goto(f"{live_server.url}/alerts/{desk['alert_id']}")
    with page.expect_download() as download_info:
        page.click("#card-a4")
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)
    assert desk["reference"] in text and "TLP:GREEN" in text
    sign_out(page)
