"""A dependency down answers 503 with ``Retry-After``, never a 500 or a stack trace, and service resumes by
itself when it is back (issue 14, section 5): the database (unreachable, restarted), and Redis, where the
rate-limited routes (sign-in, the API) fail closed while the rest of the portal keeps working."""

from __future__ import annotations

import secrets
import socket
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from auth.models import User, UserSession
from auth.tokens import create_token
from portal import create_app
from portal.crypto import token_digest
from portal.errors import RETRY_AFTER_SECONDS
from portal.extensions import db, limiter
from tests.conftest import IsolatedClient

SUITE_SETTINGS = ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "KEYRING_FILE", "INSTANCE_PATH",
                  "RATELIMIT_STORAGE_URI", "WTF_CSRF_ENABLED", "BLOB_STORE", "MAIL_SPOOL_DIR")
LEAKS = ("Traceback", "OperationalError", "psycopg", "sqlite", "127.0.0.1", "Connection refused")


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def outage_app(app, monkeypatch, **overrides):
    """An application like the suite's with ``overrides``; the shared limiter gets its storage back after."""
    monkeypatch.setattr(limiter, "_storage", limiter._storage)
    monkeypatch.setattr(limiter, "_limiter", limiter._limiter)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    monkeypatch.setenv("PORTAL_SECRET_KEY", app.config["SECRET_KEY"])
    settings = {key: app.config[key] for key in SUITE_SETTINGS if key in app.config}
    served = create_app({**settings, **overrides})
    served.test_client_class = IsolatedClient
    return served


def signed_in_cookie(client, user_id: int = 1, sid: str = "a-session-nobody-has") -> None:
    """A session cookie naming a user: loading the user reads the database."""
    with client.session_transaction() as session:
        session["sid"] = sid
        session["_user_id"] = str(user_id)


def assert_unavailable(response, *, api: bool, dependency: str = "database") -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert int(response.headers["Retry-After"]) >= RETRY_AFTER_SECONDS
    body = response.get_data(as_text=True)
    for leak in LEAKS:
        assert leak not in body
    if api:
        assert response.get_json() == {"error": "service unavailable", "status": 503,
                                       "code": f"{dependency}_unavailable"}
    else:
        assert "a service it relies on is not answering" in body and "Nothing was saved" in body


UNREACHABLE = {
    "sqlite-file-cannot-open": "sqlite:////nonexistent-folder-of-the-test/portal.db",
    "postgresql-nothing-listens": f"postgresql+psycopg://postgres@127.0.0.1:{_unused_port()}/portal",
}


@pytest.mark.parametrize("url", UNREACHABLE.values(), ids=UNREACHABLE.keys())
def test_database_unreachable_answers_503_on_every_route_that_needs_it(app, monkeypatch, real_commits, url):
    down = outage_app(app, monkeypatch, SQLALCHEMY_DATABASE_URI=url)
    with down.app_context():
        page = down.test_client()
        signed_in_cookie(page)
        assert_unavailable(page.get("/"), api=False)
        assert_unavailable(page.get("/alerts/"), api=False)
        anonymous = down.test_client()
        assert_unavailable(anonymous.post("/auth/login", data={"email": "a@gtm.example.org", "password": "x" * 20}),
                           api=False)
        assert_unavailable(anonymous.get("/api/v1/alerts", headers={"Authorization": "Bearer rcm_x_y"}), api=True)
        spanish = page.get("/alerts/", headers={"Accept-Language": "es"})
        assert spanish.status_code == 503 and "un servicio del que depende no responde" in spanish.get_data(as_text=True)
        assert anonymous.get("/healthz").status_code == 200  # the process is alive
        ready = anonymous.get("/readyz")
        assert ready.status_code == 503 and "database" in ready.get_json()["down"]


def test_a_commit_the_database_refuses_answers_503_and_keeps_nothing(app, client, monkeypatch, make_user, login_as):
    login_as(make_user(role="liaison_officer"))

    def cut(*args, **kwargs):
        raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection unexpectedly"))

    monkeypatch.setattr(db.session, "commit", cut)
    assert_unavailable(client.get("/"), api=False)


class TcpProxy:
    """A relay in front of PostgreSQL that can be taken down (every connection cut) and brought back on the
    same port: what the portal sees of a database restart."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = _unused_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone would not)
            except OSError:
                pass
            listener.close()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def proxied_postgresql(app, monkeypatch, real_commits):
    """An application whose database connections go through a ``TcpProxy`` (PostgreSQL runs only)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        pytest.skip("a database restart is a PostgreSQL matter (SQLite is a file)")
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    served = outage_app(app, monkeypatch, SQLALCHEMY_DATABASE_URI=proxied)
    try:
        with served.app_context():
            yield served, proxy
            db.session.remove()
            db.engine.dispose()
    finally:
        proxy.stop()


def test_service_resumes_by_itself_when_postgresql_is_back(proxied_postgresql):
    served, proxy = proxied_postgresql
    page, api = served.test_client(), served.test_client()
    signed_in_cookie(page)
    token = {"Authorization": "Bearer rcm_nobody_has-this-token"}
    assert page.get("/").status_code == 302  # the database answered: no such session, sign in
    assert api.get("/api/v1/alerts", headers=token).status_code == 401

    proxy.stop()
    for _ in range(3):
        assert_unavailable(page.get("/"), api=False)
        assert_unavailable(api.get("/api/v1/alerts", headers=token), api=True)

    proxy.start()
    assert page.get("/").status_code == 302
    assert api.get("/api/v1/alerts", headers=token).status_code == 401


def test_a_restart_between_requests_costs_no_request(proxied_postgresql):
    """The pooled connections died with the restart: each is tested before use and replaced (pre-ping)."""
    served, proxy = proxied_postgresql
    clients = [served.test_client() for _ in range(3)]
    for client in clients:
        signed_in_cookie(client)
        assert client.get("/").status_code == 302
    proxy.stop()
    proxy.start()
    assert [client.get("/").status_code for client in clients] == [302, 302, 302]


def test_rate_limited_routes_fail_closed_when_redis_is_down(app, monkeypatch, make_user):
    down = outage_app(app, monkeypatch, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{_unused_port()}/0")
    user = make_user(role="liaison_officer")
    _token, secret = create_token(user, name="border system", scopes=("alerts:read",))
    db.session.commit()
    user_id, credentials = user.id, {"email": user.email, "password": user.password}

    anonymous = down.test_client()
    for _attempt in range(15):  # more than the sign-in limit: none gets through uncounted
        assert_unavailable(anonymous.post("/auth/login", data=credentials),
                           api=False, dependency="redis")
    assert db.session.scalar(select(func.count()).select_from(User)
                             .where(User.id == user_id, User.last_login_at.is_not(None))) == 0
    assert_unavailable(anonymous.get("/api/v1/alerts", headers={"Authorization": f"Bearer {secret}"}),
                       api=True, dependency="redis")

    assert anonymous.get("/auth/login").status_code == 200  # the form itself is not rate limited
    sid = secrets.token_urlsafe(32)
    db.session.add(UserSession(sid_digest=token_digest(sid), user_id=user_id))
    db.session.commit()
    signed_in = down.test_client()
    signed_in_cookie(signed_in, user_id, sid)
    assert signed_in.get("/").status_code == 200
    assert signed_in.get("/alerts/").status_code == 200
    ready = anonymous.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["down"] == ["redis"]
