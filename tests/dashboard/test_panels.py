"""The dashboard renders the panels that features register, each scoped to what the viewer may see."""

from __future__ import annotations

from tests.notices.factories import make_notice


def test_the_notices_panel_lists_only_notices_the_viewer_may_see(make_user, login_as, client):
    author = make_user(role="liaison_officer", party_code="GTM")
    make_notice(author, level="members", tlp="GREEN", title="Circular for every member")
    make_notice(author, level="party", tlp="AMBER", title="GTM internal note")
    login_as(make_user(role="border_officer", party_code="MEX"))
    html = client.get("/").data.decode()
    assert "Recent notices" in html
    assert "Circular for every member" in html
    assert "GTM internal note" not in html


def test_the_notices_panel_is_not_shown_without_the_permission(make_user, login_as, client, monkeypatch):
    from portal.dashboard import panels

    panel = panels._PANELS["recent_notices"]
    monkeypatch.setitem(panels._PANELS, "recent_notices", panel.__class__(
        panel.name, panel.template, panel.load, permission="manage_all_users", order=panel.order))
    make_notice(make_user(role="liaison_officer", party_code="GTM"), level="members", tlp="GREEN",
                title="Circular for every member")
    login_as(make_user(role="border_officer", party_code="MEX"))
    html = client.get("/").data.decode()
    assert "Recent notices" not in html and "Circular for every member" not in html
