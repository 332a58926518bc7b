"""One transaction per request: success commits once, a crash rolls everything back and is audited."""

from flask import Blueprint, abort
from sqlalchemy import func, select

from portal import create_app
from portal.audit.models import AuditEntry
from portal.audit.service import record
from portal.extensions import db
from portal.parties.models import Network


def _app_with_probe_routes(app, monkeypatch):
    probe = Blueprint("probe", __name__)

    @probe.get("/probe/write-then-crash")
    def write_then_crash():
        db.session.add(Network(code="PROBE-CRASH", name_en="x", name_es="x"))
        record("probe.write")
        db.session.flush()
        raise RuntimeError("boom")

    @probe.get("/probe/write")
    def write():
        db.session.add(Network(code="PROBE-OK", name_en="x", name_es="x"))
        record("probe.write")
        return "ok"

    @probe.get("/probe/denied")
    def denied():
        record("probe.denied", outcome="denied")
        abort(404)

    for view in (write_then_crash, write, denied):
        view.is_public = True
    overrides = {key: app.config[key] for key in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "KEYRING_FILE", "INSTANCE_PATH",
        "RATELIMIT_STORAGE_URI", "WTF_CSRF_ENABLED")}
    # like the session app: never generate secrets in the checkout's instance folder
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    monkeypatch.setenv("PORTAL_SECRET_KEY", app.config["SECRET_KEY"])
    probe_app = create_app(overrides)
    probe_app.register_blueprint(probe)
    return probe_app


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_crash_rolls_back_and_audits_error(app, monkeypatch):
    probe_app = _app_with_probe_routes(app, monkeypatch)
    with probe_app.app_context():
        before = _count(AuditEntry, AuditEntry.action == "probe.write")
        response = probe_app.test_client().get("/probe/write-then-crash")
        assert response.status_code == 500
        assert b"boom" not in response.data  # no internals on error pages
        assert _count(Network, Network.code == "PROBE-CRASH") == 0
        assert _count(AuditEntry, AuditEntry.action == "probe.write") == before
        error = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "request.error").order_by(AuditEntry.seq.desc())
        ).first()
        assert error.outcome == "error" and "RuntimeError" in error.details


def test_success_commits_work_and_audit_together(app, monkeypatch):
    probe_app = _app_with_probe_routes(app, monkeypatch)
    with probe_app.app_context():
        assert probe_app.test_client().get("/probe/write").status_code == 200
        assert _count(Network, Network.code == "PROBE-OK") == 1
        assert _count(AuditEntry, AuditEntry.action == "probe.write") >= 1


def test_refusals_keep_their_denied_audit_entry(app, monkeypatch):
    probe_app = _app_with_probe_routes(app, monkeypatch)
    with probe_app.app_context():
        before = _count(AuditEntry, AuditEntry.action == "probe.denied")
        assert probe_app.test_client().get("/probe/denied").status_code == 404
        assert _count(AuditEntry, AuditEntry.action == "probe.denied") == before + 1
