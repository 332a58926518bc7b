"""The accounts' commands: ``users create|list`` and ``tokens create`` (``flask --app portal <command>``).

``create_app()`` adds ``commands`` to the application (``portal.CLI_GROUPS``).
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from portal.cli_support import CLI_ACTOR, CommandError, cli_command, table


def audit_account_created(user, **details) -> None:
    """Audit an account made from the command line (``users create``, and the demo accounts)."""
    from portal.audit.service import record

    record("user.create", object_type="user", object_id=user.id, object_party=user.party.code,
           details={"user_id": user.id, "role": user.role, **details}, principal=CLI_ACTOR)


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
    """Create an account; the password is read from stdin (one line). Two-factor is enrolled at first login.
    The party's administrators are told (in the portal and by e-mail) that an account was made from outside."""
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
    audit_account_created(user)
    # A command is outside every party: the party's administrators are told, as when the secretariat
    # creates one of its accounts (issue 11, section 3).
    from portal.admin.notify import tell_party_of_outside_change

    tell_party_of_outside_change(None, user, "created")
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


commands = (users_cli, tokens_cli)
