"""The audit's commands: ``audit verify``, ``audit checkpoint`` and ``audit find-search`` (``flask --app portal
audit ...``).

``create_app()`` adds ``commands`` to the application (``portal.CLI_GROUPS``).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.cli_support import CLI_ACTOR, CommandError, cli_command

audit_cli = AppGroup("audit", help="Verify the tamper-evident audit chain; find who searched a number.")


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


@audit_cli.command("find-search")
@click.argument("number")
@click.option("--state", default=None, metavar="XXX",
              help="Only searches in this issuing state (and those in any state, which reached it too).")
@cli_command
def audit_find_search(number, state):
    """List who searched or checked NUMBER (sealed in the audit): time, user, party, action, state, outcome.

    For investigators: every sealed entry is opened. The command is audited itself, the number sealed."""
    from sqlalchemy import select

    from auth.models import User
    from portal.audit.sealing import SEALED, SearchTerm, find_searches, normalise_term, seal_search_terms
    from portal.audit.service import record
    from portal.extensions import db

    wanted = normalise_term("number", number)
    if not wanted:
        raise click.BadParameter("give a document number", param_hint="NUMBER")
    state = normalise_term("state", state) if state else None
    found, unopened = find_searches(wanted, state)
    users = {user.id: user for user in db.session.scalars(select(User).where(
        User.id.in_({item.entry.actor_user_id for item in found} - {None})))}
    for item in found:
        entry, user = item.entry, users.get(item.entry.actor_user_id)
        who = f"user {entry.actor_user_id} {user.email}" if user else "anonymous / system"
        token = f" token {entry.actor_token_id}" if entry.actor_token_id else ""
        click.echo(f"{entry.created_at:%Y-%m-%d %H:%M:%S}Z  seq {entry.seq}  {who}{token}  "
                   f"party {entry.actor_party or '-'}  {entry.action}  state {item.state or 'any'}  {entry.outcome}")
    click.echo(f"{len(found)} search(es) of this number found.")
    if unopened:
        click.echo(f"WARNING: {unopened} sealed value(s) could not be opened (key missing or tampered); "
                   "run `keys verify`.", err=True)
    record("audit.find_search", principal=CLI_ACTOR, details={
        SEALED: seal_search_terms([SearchTerm("number", wanted, state)]), "found": len(found),
        "unopened": unopened})
    db.session.commit()


commands = (audit_cli,)
