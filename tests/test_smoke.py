"""The application boots on the test database and serves its core pages."""


def test_health(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_dashboard_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_dashboard_for_signed_in_user(client, make_user, login_as):
    user = make_user(role="liaison_officer", party_code="GTM")
    login_as(user)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Dashboard" in response.data
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
