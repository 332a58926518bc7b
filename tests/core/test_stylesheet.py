"""The portal's own stylesheet and header: readable contrast, a visible focus ring, the current page marked."""

from __future__ import annotations

import re

from portal.config import REPO_ROOT

CSS = (REPO_ROOT / "portal" / "static" / "portal.css").read_text()


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one: str, other: str) -> float:
    high, low = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_warning_outline_button_reads_on_white():
    rule = re.search(r"\.btn-outline-warning \{([^}]*)\}", CSS).group(1)
    colour = re.search(r"--bs-btn-color: (#[0-9a-f]{6})", rule).group(1)
    assert _contrast(colour, "#ffffff") >= 4.5


def test_the_menus_focus_ring_stands_out_on_the_dark_header():
    header = re.search(r"\.portal-header \{ background: (#[0-9a-f]{6})", CSS).group(1)
    ring = re.search(r"\.portal-header a:focus-visible[^{]*\{\s*outline: 3px solid (#[0-9a-f]{6})", CSS).group(1)
    assert _contrast(ring, header) >= 3


def test_the_header_marks_the_current_page_and_offers_one_language_button(client, make_user, login_as):
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    html = client.get("/alerts/").data.decode()
    current = re.findall(r'<a class="portal-menu-link active" href="([^"]+)"\s+aria-current="page">', html)
    assert current == ["/alerts/", "/alerts/"]  # the wide menu and the phone's <details> menu
    assert html.count('name="language"') == 1 and 'value="es"' in html
    assert '<details class="portal-menu-toggle">' in html
