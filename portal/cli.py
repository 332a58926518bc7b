"""The core's commands: ``setup``, ``demo``, ``users create|list``, ``tokens create``, ``audit
verify|checkpoint``, ``outbox send`` (``flask --app portal <command>``; other tools rely on these names).

The shared helpers (the ``cli`` actor, ``CommandError``, ``cli_command``) are in ``portal.cli_support``;
``create_app()`` adds ``commands`` to the application (``portal.CLI_GROUPS``).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from portal.cli_support import CLI_ACTOR, CommandError, cli_command, table

DEMO_DOMAIN = "demo.rcm.invalid"
# e-mail local part, role, party code, full name
DEMO_ACCOUNTS = (
    ("admin", "secretariat_admin", "TS", "Demo Secretariat Administrator"),
    ("admin", "country_admin", "GTM", "Demo Guatemala Country Administrator"),
    ("liaison", "liaison_officer", "GTM", "Demo Guatemala Liaison Officer"),
    ("border", "border_officer", "GTM", "Demo Guatemala Border Officer"),
    ("admin", "country_admin", "MEX", "Demo Mexico Country Administrator"),
    ("liaison", "liaison_officer", "MEX", "Demo Mexico Liaison Officer"),
    ("border", "border_officer", "MEX", "Demo Mexico Border Officer"),
)


def demo_email(local_part: str, party_code: str) -> str:
    """The e-mail address of a demo account (``liaison@gtm.demo.rcm.invalid``)."""
    return f"{local_part}@{party_code.lower()}.{DEMO_DOMAIN}"


def _audit_user_created(user, **details) -> None:
    from portal.audit.service import record

    record("user.create", object_type="user", object_id=user.id, object_party=user.party.code,
           details={"user_id": user.id, "role": user.role, **details}, principal=CLI_ACTOR)


# --- setup and demo ------------------------------------------------------------------------------


@click.command("setup")
@cli_command
def setup_command():
    """Create the instance folder, create or upgrade the schema, load reference data (idempotent)."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.parties.models import Party
    from portal.parties.seed import load_reference_parties

    for folder in {Path(current_app.instance_path), Path(current_app.config["INSTANCE_PATH"])}:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
    load_reference_parties()
    db.session.commit()
    if db.engine.dialect.name == "sqlite" and db.engine.url.database not in (None, "", ":memory:"):
        os.chmod(db.engine.url.database, 0o600)  # SQLite creates its -wal/-shm files alike
    count = db.session.scalar(select(func.count()).select_from(Party))
    click.echo(f"Database schema is up to date; reference data loaded ({count} parties).")


def _random_password() -> str:
    from auth.passwords import password_problems

    while True:
        password = secrets.token_urlsafe(18)  # 24 characters, 144 bits
        if not password_problems(password):
            return password


@click.command("demo")
@cli_command
def demo_command():
    """Create the demo accounts (once); print their passwords and TOTP secrets this one time."""
    import pyotp
    from sqlalchemy import select

    from auth.models import User, email_index
    from auth.passwords import hash_password
    from portal.extensions import db
    from portal.parties.models import Party
    from portal.timeutil import utcnow

    if current_app.config.get("PORTAL_ENV") == "production":
        raise CommandError("demo accounts are not created when PORTAL_ENV=production")
    parties = {party.code: party for party in db.session.scalars(select(Party))}
    missing = sorted({code for _, _, code, _ in DEMO_ACCOUNTS} - parties.keys())
    if missing:
        raise CommandError(f"unknown parties {', '.join(missing)}: run `flask --app portal setup` first")

    created, existing = [], 0
    for local_part, role, code, name in DEMO_ACCOUNTS:
        email = demo_email(local_part, code)
        if User.find_by_email(email) is not None:
            existing += 1
            continue
        password, secret = _random_password(), pyotp.random_base32()
        now = utcnow()
        user = User(email=email, email_index=email_index(email), full_name=name, role=role,
                    party_id=parties[code].id, active=True, password_hash=hash_password(password),
                    password_changed_at=now, totp_secret=secret, totp_enrolled_at=now)
        db.session.add(user)
        db.session.flush()
        _audit_user_created(user, demo=True)
        uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="RCM Portal")
        created.append((email, role, code, password, secret, uri))
    db.session.commit()

    if not created:
        click.echo("The demo accounts exist already; nothing was changed "
                   "(their passwords and TOTP secrets were printed when they were created).")
        return
    click.echo("Demo accounts created. Passwords and TOTP secrets are shown ONCE; they are not stored "
               "in clear anywhere.\nAdd each TOTP secret (or otpauth URI) to an authenticator app.\n")
    click.echo(table(("E-MAIL", "ROLE", "PARTY", "PASSWORD", "TOTP SECRET", "OTPAUTH URI"), created))
    if existing:
        click.echo(f"\n{existing} other demo account(s) existed already and were left unchanged.")


# --- users ---------------------------------------------------------------------------------------

users_cli = AppGroup("users", help="Manage accounts.")


def _read_password() -> str:
    """The new password: prompted twice on a terminal, else one line from stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


@users_cli.command("create")
@click.argument("email")
@click.option("--party", "party_code", required=True, help="Party code, e.g. GTM or TS.")
@click.option("--role", required=True, help="Role, e.g. liaison_officer.")
@click.option("--name", default="", help="Full name (default: the e-mail's local part).")
@cli_command
def users_create(email, party_code, role, name):
    """Create an account; the password is read from stdin (one line). Two-factor is enrolled at first login."""
    from email_validator import EmailNotValidError, validate_email
    from sqlalchemy import select

    from auth.models import ROLES, User, email_index
    from auth.passwords import hash_password, password_problems
    from auth.permissions import ROLES_BY_PARTY_KIND
    from portal.extensions import db
    from portal.parties.models import Party
    from portal.timeutil import utcnow

    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise CommandError(f"invalid e-mail address: {exc}") from None
    party = db.session.scalar(select(Party).where(Party.code == party_code.strip().upper()))
    if party is None or not party.active:
        raise CommandError(f"unknown party {party_code!r}")
    allowed = ROLES_BY_PARTY_KIND.get(party.kind, ())
    if role not in ROLES:
        raise CommandError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role not in allowed:
        raise CommandError(f"role {role} is not allowed for {party.code} (a {party.kind} party); "
                           f"allowed: {', '.join(allowed)}")
    if User.find_by_email(email) is not None:
        raise CommandError("an account with this e-mail address exists already")
    name = name.strip() or email.split("@", 1)[0]
    password = _read_password()
    if not password:
        raise CommandError("no password given on stdin")
    problems = password_problems(password, user_inputs=[email, name, *email.split("@")])
    if problems:
        raise CommandError("password refused: " + " ".join(str(problem) for problem in problems))

    user = User(email=email, email_index=email_index(email), full_name=name, role=role, party_id=party.id,
                active=True, password_hash=hash_password(password), password_changed_at=utcnow())
    db.session.add(user)
    db.session.flush()
    _audit_user_created(user)
    db.session.commit()
    click.echo(f"Created user {user.id} ({role}, {party.code}); two-factor enrolment is required "
               "at the first sign-in.")


@users_cli.command("list")
@click.option("--party", "party_code", default=None, help="Only this party's accounts.")
@cli_command
def users_list(party_code):
    """List accounts (sorted by party and e-mail)."""
    from sqlalchemy import select

    from auth.models import User
    from portal.extensions import db
    from portal.parties.models import Party

    query = select(User).join(Party, User.party_id == Party.id)
    if party_code:
        query = query.where(Party.code == party_code.strip().upper())
    users = sorted(db.session.scalars(query), key=lambda user: (user.party.code, user.email.lower()))
    rows = [(user.id, user.email, user.full_name, user.party.code, user.role,
             "yes" if user.active else "no", "yes" if user.two_factor_enrolled else "no") for user in users]
    click.echo(table(("ID", "E-MAIL", "NAME", "PARTY", "ROLE", "ACTIVE", "2FA"), rows))


# --- API tokens ----------------------------------------------------------------------------------

tokens_cli = AppGroup("tokens", help="Personal API tokens for machine clients.")


@tokens_cli.command("create")
@click.argument("email")
@click.option("--scope", "scopes", multiple=True, required=True, help="A scope, e.g. alerts:check (repeatable).")
@click.option("--name", default="Command-line token", show_default=True, help="A name for the token.")
@click.option("--days", default=90, show_default=True, type=int, help="Days until it expires.")
@click.option("--allow-ip", "allowed_ips", multiple=True, help="Allowed IP address or CIDR range (repeatable).")
@cli_command
def tokens_create(email, scopes, name, days, allowed_ips):
    """Create a token for EMAIL's account and print it alone on stdout (it is shown only once)."""
    from auth.models import User
    from auth.permissions import TOKEN_SCOPES, permissions_for_role, permissions_for_scopes
    from auth.tokens import TokenError, create_token
    from portal.extensions import db

    user = User.find_by_email(email)
    if user is None:
        raise CommandError("no account with this e-mail address")
    if not user.active:
        raise CommandError(f"account {user.id} is deactivated")
    for scope in scopes:
        if scope in TOKEN_SCOPES and not permissions_for_scopes([scope]) & permissions_for_role(user.role):
            raise CommandError(f"scope {scope} grants nothing to a {user.role}")
    try:
        token, secret = create_token(user, name=name, scopes=scopes, days=days, allowed_ips=allowed_ips)
    except TokenError as exc:
        raise CommandError(f"{exc.field}: {exc.message}") from None
    db.session.commit()
    click.echo(f"Created token {token.id} (prefix {token.prefix}) for user {user.id}, scopes "
               f"{' '.join(token.scopes)}, expires {token.expires_at:%Y-%m-%d %H:%M} UTC. "
               "It is shown once:", err=True)
    click.echo(secret)


# --- audit ---------------------------------------------------------------------------------------

audit_cli = AppGroup("audit", help="Verify the tamper-evident audit chain.")


@audit_cli.command("verify")
@click.option("--checkpoint", default=None, metavar="SEQ:HASH",
              help="A head published earlier by `audit checkpoint`; the entry must still carry it.")
@cli_command
def audit_verify(checkpoint):
    """Recompute the whole chain; exit 1 naming the first entry that does not verify."""
    from portal.audit.service import verify_chain

    try:
        result = verify_chain(checkpoint)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--checkpoint") from None
    if not result.ok:
        where = f"entry seq {result.bad_seq}" if result.bad_seq is not None else "the queue"
        raise CommandError(f"audit chain broken at {where}: {result.reason} "
                           f"({result.entries} entries verified before it)")
    click.echo(f"Audit chain OK: {result.entries} entries verified; head {result.head_seq}:{result.head_hash}")
    if result.queued:
        click.echo(f"{result.queued} committed entries wait in the queue (each MAC verified); "
                   "the next committing transaction chains them.")
    if checkpoint:
        click.echo(f"Checkpoint {checkpoint.strip()} matches.")


@audit_cli.command("checkpoint")
@cli_command
def audit_checkpoint():
    """Print the current head as SEQ:HASH, to publish out of band."""
    from portal.audit.service import checkpoint

    click.echo(checkpoint())


# --- outbox --------------------------------------------------------------------------------------

outbox_cli = AppGroup("outbox", help="The e-mail outbox.")


@outbox_cli.command("send")
@cli_command
def outbox_send():
    """Send the messages that are due (SMTP, or .eml files in the spool folder without a mail server)."""
    from portal.outbox.service import send_due

    sent, failed = send_due()
    click.echo(f"Outbox: {sent} sent, {failed} failed (failed messages are retried later).")


# Added to the application by create_app() (portal.CLI_GROUPS).
commands = (setup_command, demo_command, users_cli, tokens_cli, audit_cli, outbox_cli)
