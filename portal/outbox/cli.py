"""The outbox's command: ``outbox send`` (``flask --app portal outbox send``, run by a scheduled job).

``create_app()`` adds ``commands`` to the application (``portal.CLI_GROUPS``).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.cli_support import cli_command

outbox_cli = AppGroup("outbox", help="The e-mail outbox.")


@outbox_cli.command("send")
@cli_command
def outbox_send():
    """Send the messages that are due (SMTP, or .eml files in the spool folder without a mail server)."""
    from portal.outbox.service import send_due

    sent, failed = send_due()
    click.echo(f"Outbox: {sent} sent, {failed} failed (failed messages are retried later).")


# Added to the application by create_app() (portal.CLI_GROUPS).


commands = (outbox_cli,)
