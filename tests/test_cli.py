"""The command-line contract (``flask --app portal ...``), through ``app.test_cli_runner()``.

The CLI commits its own work; inside a test those commits are savepoints of the rolled-back
transaction, so each test still leaves nothing behind.
"""

from __future__ import annotations

import email
import os
import re
import stat
from datetime import timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from auth.models import ApiToken, User
from auth.passwords import verify_password
from portal.audit.models import AuditEntry
from portal.cli import DEMO_ACCOUNTS, demo_email
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.outbox.service import queue_email
from portal.parties.models import Party
from portal.timeutil import utcnow
from tests.conftest import STRONG_PASSWORD


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _audit_head_seq() -> int:
    return db.session.scalar(select(func.max(AuditEntry.seq))) or 0


def _entries_after(seq: int) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)).all()


# --- setup ---------------------------------------------------------------------------------------


def test_setup_is_idempotent_and_creates_the_instance_folder(app, cli, real_commits, tmp_path, monkeypatch):
    folder = tmp_path / "fresh-instance"
    monkeypatch.setitem(app.config, "INSTANCE_PATH", str(folder))
    with app.app_context():
        parties_before = _count(Party)

    first = cli("setup")
    second = cli("setup")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "schema is up to date" in second.output
    assert folder.is_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    with app.app_context():
        head = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_current_head()
        assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == head
        assert _count(Party) == parties_before == 20
        assert db.session.scalar(select(Party).where(Party.code == "GTM")).kind == "member"
        if db.engine.dialect.name == "sqlite":
            assert stat.S_IMODE(os.stat(db.engine.url.database).st_mode) == 0o600
        db.session.remove()


# --- demo ----------------------------------------------------------------------------------------


def test_demo_creates_accounts_once_and_prints_their_secrets_once(cli):
    seq = _audit_head_seq()
    users_before = _count(User)

    first = cli("demo", "--accounts-only")

    assert first.exit_code == 0, first.output
    assert _count(User) == users_before + len(DEMO_ACCOUNTS) == users_before + 7
    rows = {line.split()[0]: line.split() for line in first.output.splitlines() if "@" in line.split(" ")[0]}
    for local_part, role, code, _name in DEMO_ACCOUNTS:
        address = demo_email(local_part, code)
        _printed_email, printed_role, printed_party, password, secret, uri = rows[address]
        assert (printed_role, printed_party) == (role, code)
        user = User.find_by_email(address)
        assert user.role == role and user.party.code == code and user.active
        assert user.email_index and user.email == address
        assert verify_password(user.password_hash, password)
        assert user.totp_secret == secret and user.two_factor_enrolled
        assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert "admin@ts.demo.rcm.example" in rows and rows["admin@ts.demo.rcm.example"][1] == "secretariat_admin"
    assert "liaison@gtm.demo.rcm.example" in rows
    created = _entries_after(seq)
    assert [entry.action for entry in created] == ["user.create"] * 7
    assert {(entry.actor_user_id, entry.actor_party, entry.actor_role) for entry in created} == {(None, None, "cli")}
    assert all(password not in entry.details for entry in created for password in [rows[a][3] for a in rows])

    second = cli("demo")

    assert second.exit_code == 0, second.output
    assert "exist already" in second.output
    assert "otpauth://" not in second.output
    assert _count(User) == users_before + 7
    assert [entry.seq for entry in _entries_after(seq)] == [entry.seq for entry in created]


def test_demo_completes_a_partial_set_without_touching_existing_accounts(cli, make_user):
    existing = make_user(role="liaison_officer", party_code="GTM", email="liaison@gtm.demo.rcm.invalid")
    existing_id, old_hash = existing.id, existing.password_hash

    result = cli("demo")

    assert result.exit_code == 0, result.output
    assert "liaison@gtm.demo.rcm.invalid" not in result.output
    assert "1 other demo account(s) existed already" in result.output
    assert db.session.get(User, existing_id).password_hash == old_hash


def test_demo_is_refused_in_production(app, cli, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_ENV", "production")
    users_before = _count(User)

    result = cli("demo")

    assert result.exit_code == 1
    assert "PORTAL_ENV=production" in result.output
    assert _count(User) == users_before


# --- users create / list -------------------------------------------------------------------------


def test_users_create_reads_the_password_from_stdin(cli):
    seq = _audit_head_seq()

    result = cli("users", "create", "New.Officer@GTM.example.org", "--party", "gtm", "--role", "liaison_officer",
                 "--name", "Nueva Oficial", stdin=STRONG_PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    user = User.find_by_email("new.officer@gtm.example.org")
    assert user is not None
    assert (user.role, user.party.code, user.full_name, user.active) == ("liaison_officer", "GTM", "Nueva Oficial", True)
    assert verify_password(user.password_hash, STRONG_PASSWORD)
    assert user.password_changed_at is not None
    assert not user.two_factor_enrolled  # enrolled at the first sign-in
    assert STRONG_PASSWORD not in result.output
    [entry] = _entries_after(seq)
    assert (entry.action, entry.object_type, entry.object_id, entry.object_party) == (
        "user.create", "user", str(user.id), "GTM")
    assert (entry.actor_user_id, entry.actor_role) == (None, "cli")
    assert "example.org" not in entry.details and STRONG_PASSWORD not in entry.details


def test_users_create_tells_the_partys_administrators(cli, make_user):
    """A command is outside every party: the account it makes is told to the party's administrators."""
    from portal.notifications.models import Notification

    mex_admin = make_user(role="country_admin", party_code="MEX")
    mex_officer = make_user(role="liaison_officer", party_code="MEX")

    result = cli("users", "create", "shadow@sre.gob.mx", "--party", "MEX", "--role", "country_admin",
                 "--name", "Shadow Admin", stdin=STRONG_PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    shadow = User.find_by_email("shadow@sre.gob.mx")
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == mex_admin.id)).all()
    assert note.kind == "admin.outside_created" and "CLI" in note.title and "Shadow Admin" in note.title
    assert note.link == f"/admin/users/{shadow.id}"
    mails = [m for m in db.session.scalars(select(OutboxMessage)) if "outside" in m.subject]
    assert [m.recipient for m in mails] == [mex_admin.email]
    assert f"/admin/users/{shadow.id}" in mails[0].body
    assert db.session.scalars(select(Notification).where(Notification.user_id.in_([mex_officer.id, shadow.id]))
                              ).all() == []


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--party", "GTM", "--role", "liaison_officer"), "short\n", "password refused"),
        (("--party", "GTM", "--role", "liaison_officer"), "password12345\n", "too easy to guess"),
        (("--party", "GTM", "--role", "liaison_officer"), "", "no password"),
        (("--party", "GTM", "--role", "secretariat_admin"), STRONG_PASSWORD, "not allowed for GTM"),
        (("--party", "TS", "--role", "liaison_officer"), STRONG_PASSWORD, "not allowed for TS"),
        (("--party", "IOM", "--role", "border_officer"), STRONG_PASSWORD, "not allowed for IOM"),
        (("--party", "GTM", "--role", "wizard"), STRONG_PASSWORD, "unknown role"),
        (("--party", "XXX", "--role", "liaison_officer"), STRONG_PASSWORD, "unknown party"),
    ],
)
def test_users_create_refuses_bad_input(cli, args, stdin, message):
    users_before, seq = _count(User), _audit_head_seq()

    result = cli("users", "create", "someone@gtm.example.org", *args, stdin=stdin)

    assert result.exit_code == 1
    assert message in result.output
    assert result.stdout == ""
    assert _count(User) == users_before
    assert _audit_head_seq() == seq


def test_users_create_refuses_an_invalid_email(cli):
    result = cli("users", "create", "not-an-address", "--party", "GTM", "--role", "liaison_officer",
                 stdin=STRONG_PASSWORD)
    assert result.exit_code == 1
    assert "invalid e-mail address" in result.output


def test_users_create_refuses_a_duplicate_email(cli, make_user):
    make_user(email="taken@gtm.example.org")
    users_before = _count(User)

    result = cli("users", "create", "TAKEN@gtm.example.org", "--party", "GTM", "--role", "border_officer",
                 stdin=STRONG_PASSWORD + "\n")

    assert result.exit_code == 1
    assert "exists already" in result.output
    assert _count(User) == users_before


def test_users_list_shows_accounts_of_a_party(cli, make_user):
    make_user(role="border_officer", party_code="MEX", email="listed@mex.example.org")
    make_user(role="border_officer", party_code="GTM", email="other@gtm.example.org")

    result = cli("users", "list", "--party", "MEX")

    assert result.exit_code == 0
    assert "listed@mex.example.org" in result.output
    assert "other@gtm.example.org" not in result.output


# --- tokens create -------------------------------------------------------------------------------


def test_tokens_create_prints_only_the_token_and_it_works(cli, client, make_user):
    user = make_user(role="border_officer", party_code="GTM")

    result = cli("tokens", "create", user.email, "--scope", "alerts:check", "--scope", "alerts:read",
                 "--name", "Border system", "--days", "30", "--allow-ip", "127.0.0.0/8")

    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"rcm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}\n", result.stdout)
    secret = result.stdout.strip()
    assert secret not in result.stderr
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert (token.name, token.scopes, token.allowed_ips) == ("Border system", ["alerts:check", "alerts:read"],
                                                             ["127.0.0.0/8"])
    assert secret not in token.token_digest
    assert 29 <= (token.expires_at - token.created_at).days <= 30

    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 200
    assert response.get_json() == {"user_id": user.id, "party": "GTM", "role": "border_officer",
                                   "scopes": ["alerts:check", "alerts:read"]}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "token.create",
                                                       AuditEntry.object_id == str(token.id)))
    assert entry is not None and secret not in entry.details


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scope", "alerts:fly"), "unknown scope"),
        (("--scope", "alerts:check", "--days", "0"), "days"),
        (("--scope", "alerts:check", "--days", "400"), "days"),
        (("--scope", "alerts:check", "--allow-ip", "not-an-ip"), "not an IP address"),
        (("--scope", "alerts:check", "--name", ""), "name"),
        (("--scope", "alerts:write"), "grants nothing to a border_officer"),
    ],
)
def test_tokens_create_refuses_bad_input(cli, make_user, args, message):
    user = make_user(role="border_officer", party_code="GTM")

    result = cli("tokens", "create", user.email, *args)

    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id)) is None


def test_tokens_create_refuses_unknown_and_deactivated_accounts(cli, make_user):
    inactive = make_user(active=False)

    unknown = cli("tokens", "create", "nobody@gtm.example.org", "--scope", "alerts:check")
    deactivated = cli("tokens", "create", inactive.email, "--scope", "alerts:check")

    assert (unknown.exit_code, unknown.stdout) == (1, "")
    assert "no account" in unknown.stderr
    assert (deactivated.exit_code, deactivated.stdout) == (1, "")
    assert "deactivated" in deactivated.stderr


def test_tokens_create_requires_a_scope(cli, make_user):
    user = make_user()
    result = cli("tokens", "create", user.email)
    assert result.exit_code == 2
    assert result.stdout == ""


# --- audit verify / checkpoint -------------------------------------------------------------------


def _make_audited_entry(cli, make_user) -> int:
    user = make_user(role="border_officer", party_code="GTM")
    assert cli("tokens", "create", user.email, "--scope", "alerts:check").exit_code == 0
    return _audit_head_seq()


def test_audit_checkpoint_prints_the_head(cli, make_user):
    seq = _make_audited_entry(cli, make_user)

    result = cli("audit", "checkpoint")

    assert result.exit_code == 0
    assert re.fullmatch(r"\d+:[0-9a-f]{64}\n", result.stdout)
    head = db.session.scalar(select(AuditEntry).where(AuditEntry.seq == seq))
    assert result.stdout == f"{seq}:{head.entry_hash}\n"


def test_audit_verify_accepts_an_intact_chain_and_its_checkpoint(cli, make_user):
    seq = _make_audited_entry(cli, make_user)
    published = cli("audit", "checkpoint").stdout.strip()

    result = cli("audit", "verify")
    with_checkpoint = cli("audit", "verify", "--checkpoint", published)

    assert result.exit_code == 0, result.output
    assert f"{seq} entries verified" in result.output
    assert f"head {published}" in result.output
    assert with_checkpoint.exit_code == 0, with_checkpoint.output
    assert "matches" in with_checkpoint.output


def test_audit_verify_refuses_a_checkpoint_that_differs_or_is_missing(cli, make_user):
    seq = _make_audited_entry(cli, make_user)

    forged = cli("audit", "verify", "--checkpoint", f"{seq}:{'0' * 64}")
    beyond = cli("audit", "verify", "--checkpoint", f"{seq + 5}:{'a' * 64}")
    malformed = cli("audit", "verify", "--checkpoint", "yesterday")

    assert forged.exit_code == 1
    assert f"seq {seq}" in forged.stderr and "published checkpoint" in forged.stderr
    assert beyond.exit_code == 1
    assert "truncated" in beyond.stderr
    assert malformed.exit_code == 2


def _allow_audit_updates() -> None:
    """Lift the append-only trigger inside this test's transaction (rolled back with it)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
    else:
        db.session.execute(text("DROP TRIGGER audit_entries_no_update"))


def test_audit_verify_names_the_first_tampered_entry(cli, make_user):
    seq = _make_audited_entry(cli, make_user)
    _make_audited_entry(cli, make_user)
    _allow_audit_updates()
    db.session.execute(text("UPDATE audit_entries SET object_party = 'MEX' WHERE seq = :seq"), {"seq": seq})
    db.session.commit()

    result = cli("audit", "verify")

    assert result.exit_code == 1
    assert f"audit chain broken at entry seq {seq}: entry content does not match its hash" in result.stderr
    assert "Audit chain OK" not in result.output


def test_audit_verify_detects_a_rewritten_link(cli, make_user):
    seq = _make_audited_entry(cli, make_user)
    _allow_audit_updates()
    db.session.execute(text("UPDATE audit_entries SET prev_hash = :fake WHERE seq = :seq"),
                       {"seq": seq, "fake": "f" * 64})
    db.session.commit()

    result = cli("audit", "verify")

    assert result.exit_code == 1
    assert f"seq {seq}: broken link" in result.stderr


def test_the_append_only_trigger_is_in_place(make_user, cli):
    seq = _make_audited_entry(cli, make_user)
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(text("UPDATE audit_entries SET action = 'x' WHERE seq = :seq"), {"seq": seq})


# --- outbox send ---------------------------------------------------------------------------------


def test_outbox_send_writes_due_messages_to_the_spool(app, cli, tmp_path, monkeypatch):
    spool = tmp_path / "mail"
    monkeypatch.setitem(app.config, "MAIL_SPOOL_DIR", str(spool))
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    message_id = queue_email("officer@gtm.example.org", "Your account", "Welcome to the portal.").id
    db.session.commit()

    result = cli("outbox", "send")

    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output
    [written] = list(spool.iterdir())
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600
    parsed = email.message_from_bytes(written.read_bytes())
    assert (parsed["To"], parsed["Subject"]) == ("officer@gtm.example.org", "Your account")
    message = db.session.get(OutboxMessage, message_id)
    assert message.status == "sent" and message.sent_at is not None

    again = cli("outbox", "send")

    assert "0 sent, 0 failed" in again.output
    assert len(list(spool.iterdir())) == 1


# --- alerts expire -------------------------------------------------------------------------------


def test_alerts_expire_expires_due_alerts_once_and_prints_a_count(cli, make_user):
    from tests.alerts.factories import report

    officer = make_user(role="liaison_officer", party_code="GTM")
    today = utcnow().date()
    due = report(officer, document_number="E1234567", review_date=(today + timedelta(days=1)).isoformat())
    not_yet = report(officer, document_number="E7654321", review_date=(today + timedelta(days=1)).isoformat())
    due.review_date = today - timedelta(days=1)  # time has passed (a report's review date must be in the future)
    db.session.commit()
    seq = _audit_head_seq()

    result = cli("alerts", "expire")

    assert result.exit_code == 0, result.output
    assert result.stdout == "Alerts expired: 1.\n"
    assert (due.status, not_yet.status) == ("expired", "published")
    assert due.expired_at is not None and not_yet.expired_at is None
    expiries = [entry for entry in _entries_after(seq) if entry.action == "alert.expire"]
    assert [(entry.object_id, entry.actor_role, entry.actor_user_id) for entry in expiries] == [
        (str(due.id), "cli", None)]

    again = cli("alerts", "expire")

    assert again.exit_code == 0, again.output
    assert again.stdout == "Alerts expired: 0.\n"
    assert [entry for entry in _entries_after(seq) if entry.action == "alert.expire"] == expiries
    assert not_yet.status == "published"


def test_register_cli_names_the_contract(app):
    names = set(app.cli.list_commands(None))
    assert {"setup", "demo", "users", "tokens", "audit", "outbox", "alerts"} <= names
    assert {"keys", "backup", "restore", "blobs", "directory"} <= names


def test_each_command_module_in_cli_groups_adds_its_commands(app):
    """The commands come from the modules named in ``portal.CLI_GROUPS``, like the blueprints; the alerts
    group holds its daily jobs and the bulk commands."""
    from importlib import import_module

    from portal import CLI_GROUPS

    registered = {name: app.cli.get_command(None, name) for name in app.cli.list_commands(None)}
    for module in CLI_GROUPS:
        for command in import_module(module).commands:
            assert registered[command.name] is command
    alerts = registered["alerts"]
    assert set(alerts.list_commands(None)) == {"confirmations-overdue", "digest", "expire", "export", "import"}
    assert set(registered["blobs"].list_commands(None)) == {"gc"}


def _queue_entry(action: str, mac: str | None = None) -> None:
    """A committed entry waiting in the audit queue (as when the chain was busy), MAC'd unless ``mac``."""
    from portal.audit.models import AuditQueueEntry
    from portal.audit.service import queue_mac
    from portal.keyring import current_keyring
    from portal.timeutil import utcnow

    ring = current_keyring()
    fields = {"created_at": utcnow(), "actor_user_id": None, "actor_party": None, "actor_role": None,
              "actor_token_id": None, "ip": None, "action": action, "object_type": None, "object_id": None,
              "object_party": None, "outcome": "ok", "details": {}}
    mac = mac or queue_mac(ring.derive("audit-hmac", ring.active_id), fields, [])
    db.session.add(AuditQueueEntry(**{**fields, "details": "{}"}, objectives="[]", key_id=ring.active_id,
                                   entry_mac=mac))
    db.session.flush()


def test_audit_verify_reports_queued_entries(cli, make_user):
    _make_audited_entry(cli, make_user)
    _queue_entry("test.cli.queued")

    result = cli("audit", "verify")

    assert result.exit_code == 0, result.output
    assert "1 committed entries wait in the queue" in result.output


def test_audit_verify_refuses_a_tampered_queued_entry(cli, make_user):
    _make_audited_entry(cli, make_user)
    _queue_entry("test.cli.forged", mac="0" * 64)

    result = cli("audit", "verify")

    assert result.exit_code == 1
    assert "audit chain broken at the queue: queued entry" in result.stderr
    assert "does not match its MAC" in result.stderr


def test_demo_fills_a_lived_in_portal_on_its_first_run(cli):
    from alerts.attachments import Attachment
    from alerts.models import Alert, AlertAcknowledgement, AlertRevision
    from portal.exchange.models import RFI, Submission, SubmissionReply

    counts = {model: _count(model) for model in (Alert, Attachment, AlertAcknowledgement, Submission, SubmissionReply)}
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert "Demo content: 7 alerts (one draft, one revised) with 12 specimen images." in result.output
    assert _count(Alert) == counts[Alert] + 7 and _count(Attachment) == counts[Attachment] + 12
    assert _count(AlertAcknowledgement) == counts[AlertAcknowledgement] + 3
    assert _count(Submission) == counts[Submission] + 2 and _count(SubmissionReply) == counts[SubmissionReply] + 1
    demo_alerts = db.session.scalars(select(Alert).order_by(Alert.id.desc()).limit(7)).all()
    assert {alert.fraud_type for alert in demo_alerts} >= {"counterfeit", "forgery", "impostor", "fraudulently_obtained"}
    revised = [alert for alert in demo_alerts if alert.revision > 1]
    assert len(revised) == 1
    assert db.session.scalar(select(func.count()).select_from(AlertRevision)
                             .where(AlertRevision.alert_id == revised[0].id)) >= 2
    uv = db.session.scalars(select(Attachment).where(Attachment.light == "uv")).all()
    assert len(uv) >= 6
    rfi = db.session.scalars(select(Submission).where(Submission.kind == RFI).order_by(Submission.id.desc())).first()
    assert rfi.status == "sent" and rfi.due_date is not None

    assert "Demo content: 4 directory entries in 5 networks." in result.output
    assert "Demo content: 2 library documents." in result.output
    again = cli("demo")
    assert "Demo content" not in again.output and _count(Alert) == counts[Alert] + 7


def test_demo_accounts_only_adds_no_content(cli):
    from alerts.models import Alert

    before = _count(Alert)
    result = cli("demo", "--accounts-only")
    assert result.exit_code == 0, result.output
    assert "Demo content" not in result.output and _count(Alert) == before
