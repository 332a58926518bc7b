"""Only same-site ``next`` targets are followed; every form needs its CSRF token."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.auth.conftest import login_fully, password_step


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "https://evil.example", "/\\evil", "javascript:alert(1)", "http://localhost/",
     "///evil.example", "\\\\evil.example"],
)
def test_open_redirects_refused(client, make_user, target):
    user = make_user()
    response = login_fully(client, user, next_path=quote(target, safe=""))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/auth/account", "/auth/tokens?page=2"])
def test_safe_next_followed_through_the_second_factor(client, make_user, target):
    user = make_user()
    response = login_fully(client, user, next_path=quote(target, safe=""))
    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_login_redirect_carries_next(client):
    response = client.get("/auth/account")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/auth/login?next=")
    page = client.get(location)
    assert re.search(rb'action="/auth/login\?next=/auth/account"', page.data)


def test_unsafe_next_not_put_into_the_form(client):
    page = client.get("/auth/login?next=//evil.example").get_data(as_text=True)
    login_form = re.search(r'<form method="post" action="(/auth/login[^"]*)"', page)
    assert login_form.group(1) == "/auth/login"


def test_signed_in_user_visiting_login_is_redirected_safely(client, make_user, login_as):
    login_as(make_user())
    assert client.get("/auth/login?next=//evil.example").headers["Location"] == "/"
    assert client.get("/auth/login?next=/auth/account").headers["Location"] == "/auth/account"


@pytest.mark.parametrize(
    "url,data",
    [
        ("/auth/login", {"email": "a@b.example", "password": "x"}),
        ("/auth/logout", {}),
        ("/auth/password", {"current_password": "x", "new_password": "y", "confirm": "y"}),
        ("/auth/sessions/revoke-others", {}),
        ("/auth/tokens", {"name": "x", "scopes": "alerts:check", "days": "30"}),
    ],
)
def test_post_without_csrf_token_refused(client, app, make_user, login_as, monkeypatch, url, data):
    login_as(make_user())
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert client.get("/").status_code == 200  # nothing happened: still signed in


def test_login_with_csrf_token_accepted(client, app, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    user = make_user()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/auth/login", data={"email": user.email, "password": user.password, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/two-factor"
    assert password_step(client, user.email, user.password).status_code == 400  # no token: refused
