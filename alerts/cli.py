"""``flask --app portal alerts ...``: the command-line tools of the early-warning database.

One ``alerts`` group that every alerts feature adds its commands to (``alerts import``, ``alerts export``,
``alerts digest``, ``alerts expire``...). ``portal.cli.register_cli`` calls ``register(app)``. Commands run
outside any request: each commits its own work, or rolls back on an error (which also discards its audit
entries).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from alerts.operations import expire_due_alerts
from portal.cli import CLI_ACTOR, cli_command
from portal.extensions import db

alerts_cli = AppGroup("alerts", help="The early-warning database of fraudulent travel documents.")


@alerts_cli.command("expire")
@cli_command
def expire_command() -> None:
    """Expire the published alerts whose review date has come (run once a day; a second run changes
    nothing). Each is audited and its subscribers are told, as for a withdrawal."""
    expired = expire_due_alerts(principal=CLI_ACTOR)
    db.session.commit()
    # A count only: what expired is in the audit log, and cron mails this line to whoever runs the job.
    click.echo(f"Alerts expired: {len(expired)}.")


def register(app) -> None:
    """Add the ``alerts`` group (with every command defined on it) to the application's CLI."""
    import alerts.bulk_cli  # noqa: F401  (defines alerts import / alerts export on the group)

    app.cli.add_command(alerts_cli)
