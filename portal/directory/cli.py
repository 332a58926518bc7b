"""``flask --app portal directory remind``: staleness reminders to the country admins (once a day)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.cli_support import CLI_ACTOR, cli_command
from portal.directory import demo as _demo  # noqa: F401  (registers the demo entries for `flask demo`)

directory_cli = AppGroup("directory", help="The network directories.")


@directory_cli.command("remind")
@click.option("--date", "day", default=None, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Count staleness as of this day (default: today, UTC).")
@cli_command
def remind(day):
    """Queue an e-mail and a notification to each country admin of every party with entries not verified
    for 6 months. Idempotent per day: a party reminded today is not reminded again."""
    from portal.directory.reminders import send_reminders
    from portal.extensions import db

    sent, skipped = send_reminders(CLI_ACTOR, day.date() if day else None)
    db.session.commit()
    for item in sent:
        click.echo(f"{item.party_code}: {item.stale} stale entries, {item.recipients} country admin(s) reminded")
    click.echo(f"Directory reminders: {len(sent)} parties reminded, {skipped} already reminded today.")


commands = (directory_cli,)
