"""Recipients are chosen with checkboxes, never with a Ctrl-click multi-select."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/alerts/new", "/notices/new", "/exchange/new", "/library/documents/new"])
def test_recipient_parties_are_checkboxes(client, make_user, login_as, path):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    html = client.get(path).data.decode()
    assert "<select multiple" not in html and "multiple" not in html.split("<main", 1)[1].split("</main>")[0]
    assert 'type="checkbox"' in html and 'name="parties"' in html
    assert "Ctrl" not in html
