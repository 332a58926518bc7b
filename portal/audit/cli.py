"""The audit chain's commands: ``audit verify`` and ``audit checkpoint`` (``flask --app portal audit ...``).

``create_app()`` adds ``commands`` to the application (``portal.CLI_GROUPS``).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.cli_support import CommandError, cli_command

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


commands = (audit_cli,)
