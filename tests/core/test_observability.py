"""``/healthz``, ``/readyz``, ``/metrics``, request ids and the JSON request log."""

from __future__ import annotations

import io
import json
import logging

import pytest
from sqlalchemy import select

from documents.storage import LocalBlobStore
from portal import observability
from portal.audit.models import AuditEntry
from portal.extensions import db
from tests.conftest import STRONG_PASSWORD

TOKEN = "metrics-token-for-the-test-0123456789"


def test_healthz_answers_without_the_database(client, monkeypatch):
    monkeypatch.setattr("portal.health._database", lambda: (_ for _ in ()).throw(RuntimeError("down")))
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "alive"}


def test_readyz_checks_every_configured_dependency(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    expected = {"database", "blob_store"}
    if app.config["RATELIMIT_STORAGE_URI"].startswith("redis://"):
        expected.add("redis")
    assert response.get_json() == {"status": "ready", "checked": sorted(expected)}


def test_readyz_names_what_is_down(app, client, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the blob folder should be")
    monkeypatch.setitem(app.extensions, "blob_store", LocalBlobStore(blocker / "blobs"))
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:1/0")  # nothing listens

    response = client.get("/readyz")

    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json() == {"status": "unavailable", "down": ["blob_store", "redis"]}
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_readyz_names_the_database_when_it_does_not_answer(app, client, monkeypatch):
    def refuse(*args, **kwargs):
        from sqlalchemy.exc import OperationalError

        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(db.session, "execute", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["down"] == ["database"]


def test_metrics_need_the_token(app, client, monkeypatch):
    assert client.get("/metrics").status_code == 404  # no token configured: no metrics route
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404

    client.get("/healthz")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200 and response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert 'portal_http_requests_total{endpoint="ops.healthz",method="GET",status="200"}' in body
    assert 'portal_http_request_duration_seconds_bucket{endpoint="ops.healthz"' in body
    for gauge in ("portal_audit_queue_depth", "portal_outbox_backlog", "portal_key_rotation_pending"):
        assert f"\n{gauge} " in body


def test_every_answer_carries_a_request_id_and_a_safe_offered_one_is_kept(client):
    fresh = client.get("/healthz").headers["X-Request-ID"]
    assert observability.REQUEST_ID.fullmatch(fresh) and fresh != client.get("/healthz").headers["X-Request-ID"]
    assert client.get("/healthz", headers={"X-Request-ID": "lb-4f2a9c01"}).headers["X-Request-ID"] == "lb-4f2a9c01"
    forged = client.get("/healthz", headers={"X-Request-ID": 'x"} {"level":"fake'}).headers["X-Request-ID"]
    assert observability.REQUEST_ID.fullmatch(forged) and "fake" not in forged


def test_the_audit_entry_carries_the_request_id(client):
    response = client.post("/auth/login", data={"email": "nobody@gtm.example.org", "password": "wrong-password"})
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.login.failed")
                              .order_by(AuditEntry.seq.desc()).limit(1))
    assert entry is not None and entry.request_id == response.headers["X-Request-ID"]


@pytest.fixture
def log_output(app):
    """The JSON log lines written while the test runs."""
    stream = io.StringIO()
    observability.configure_logging(app, stream)
    try:
        yield stream
    finally:
        observability.configure_logging(app)


def test_logs_are_json_lines_without_secrets_document_numbers_or_names(client, make_user, login_as, log_output):
    user = make_user(role="liaison_officer", name="Marta Restrepo Villalobos", email="marta.restrepo@gtm.example.org")
    reset_secret = "Zq8resetSecretThatMustNotBeLogged"
    client.post("/auth/login", data={"email": user.email, "password": "Wrong-" + STRONG_PASSWORD})
    client.get(f"/auth/reset/{reset_secret}")
    login_as(user)
    client.get("/alerts/?q=G98765432&text=Marta+Restrepo")
    client.get("/auth/account")
    logging.getLogger("portal.health").warning("probe line")  # a line outside a request is JSON too

    output = log_output.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    requests = [line for line in lines if line["message"] == "request"]
    assert [line["endpoint"] for line in requests] == ["auth.login", "auth.reset", "alerts.index",
                                                      "auth.account"]
    assert all(len(line["request_id"]) == 32 and line["status"] for line in requests)
    assert lines[-1]["message"] == "probe line" and "request_id" not in lines[-1]
    for secret in (reset_secret, "G98765432", "Marta", "Restrepo", user.email, STRONG_PASSWORD, "/auth/reset"):
        assert secret not in output


def test_an_exception_is_logged_without_its_message(app, log_output):
    with app.test_request_context("/alerts/?q=G98765432"):
        observability._start()
        try:
            raise ValueError("value G98765432 of Marta Restrepo")
        except ValueError:
            logging.getLogger("portal").exception("unhandled error")
    [line] = [json.loads(text) for text in log_output.getvalue().splitlines()]
    assert line["error"] == "ValueError" and line["frames"] and "request_id" in line
    assert "G98765432" not in log_output.getvalue() and "Marta" not in log_output.getvalue()
