"""Every link in mail, notifications and exports comes from ``PORTAL_BASE_URL``, never from a request.

A request with ``Host: evil.example`` used to put ``http://evil.example/exchange/<id>`` into the e-mail that
told the recipients of a new submission.
"""

from __future__ import annotations

from portal.routing import portal_path, portal_url
from tests.exchange.factories import mails_of, submission_input


def test_links_are_built_from_the_base_url(app, app_ctx, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://portal.rcm.example/secure")
    assert portal_path("exchange.detail", submission_id=7) == "/exchange/7"
    assert portal_url("exchange.detail", submission_id=7) == "https://portal.rcm.example/secure/exchange/7"
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert portal_url("alerts.detail", alert_id=3) == "https://portal.rcm.example/secure/alerts/3"


def test_a_mailed_link_ignores_the_requests_host(app, client, make_user, monkeypatch):
    from auth.tokens import create_token
    from portal.extensions import db

    monkeypatch.setitem(app.config, "BASE_URL", "https://portal.rcm.example")
    reader = make_user(role="liaison_officer", party_code="MEX")
    _token, secret = create_token(make_user(role="liaison_officer", party_code="GTM"), name="t",
                                  scopes=["exchange:write"])
    db.session.commit()
    response = client.post("/api/v1/submissions", json=submission_input(),
                           headers={"Host": "evil.example", "Authorization": f"Bearer {secret}"})
    assert response.status_code == 201
    [mail] = mails_of(reader)
    assert "https://portal.rcm.example/exchange/" in mail.body
    assert "evil.example" not in mail.body
