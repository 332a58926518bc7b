"""Security headers on every response, HSTS only over HTTPS, and the session cookie's flags."""

from __future__ import annotations

import pytest


def _directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.fixture
def signed_in(client, make_user, login_as):
    login_as(make_user(role="liaison_officer", party_code="GTM"))
    return client


@pytest.mark.parametrize("path", ["/", "/notices/", "/notifications/", "/notices/999999"])
def test_pages_carry_the_security_headers(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code in (200, 404)
    csp = _directives(response)
    assert csp["default-src"] == "default-src 'self'"
    assert csp["script-src"] == "script-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


def test_pages_contain_no_inline_script_or_style(signed_in):
    for path in ("/", "/notices/", "/notices/new", "/notifications/"):
        html = signed_in.get(path).data.decode()
        assert "<script>" not in html and "<script type=\"text/javascript\">" not in html
        assert " style=" not in html
        assert " onclick=" not in html and " onload=" not in html


def test_anonymous_redirect_and_api_errors_carry_headers_too(client):
    redirect = client.get("/")
    assert redirect.status_code == 302
    api = client.get("/api/v1/me")
    assert api.status_code == 401
    for response in (redirect, api):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"


def test_static_files_are_cacheable(client):
    response = client.get("/static/portal.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_hsts_when_base_url_is_https(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://portal.example.org")
    response = client.get("/api/v1/health")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_hsts_when_the_request_itself_is_https(client):
    response = client.get("/api/v1/health", base_url="https://localhost")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_no_hsts_over_http(client):
    assert "Strict-Transport-Security" not in client.get("/api/v1/health").headers


def _session_cookie_header(response, app) -> str:
    name = app.config["SESSION_COOKIE_NAME"]
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{name}=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def _set_session(client):
    # The language switch stores the choice in the session, so the response sets the cookie.
    return client.post("/language", data={"language": "es", "next": "/"})


def test_session_cookie_is_httponly_and_samesite_lax(app, client):
    response = _set_session(client)
    assert response.status_code == 302
    cookie = _session_cookie_header(response, app)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "secure" not in attributes  # plain-http development and tests


def test_session_cookie_is_secure_when_configured(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    cookie = _session_cookie_header(_set_session(client), app)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "secure" in attributes and "httponly" in attributes and "samesite=lax" in attributes


def test_https_base_url_makes_the_session_cookie_secure_by_default(monkeypatch):
    from portal.config import load_settings

    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example.org")
    monkeypatch.setenv("PORTAL_SECRET_KEY", "x" * 32)
    assert load_settings()["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("PORTAL_BASE_URL", "http://127.0.0.1:5000")
    assert load_settings()["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/no/such/page", 404),
    ("GET", "/alerts/999999999/no-such-view", 404),
    ("DELETE", "/", 405),
    ("PUT", "/notices/", 405),
])
def test_error_pages_outside_any_endpoint_are_not_stored(signed_in, method, path, status):
    response = signed_in.open(path, method=method)
    assert response.status_code == status
    assert b"Test User" in response.data  # the page shows who is signed in: no cache may keep it
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_missing_static_file_is_not_stored_either(signed_in):
    response = signed_in.get("/static/no-such-file.css")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
