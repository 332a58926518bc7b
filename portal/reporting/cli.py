"""``flask --app portal reporting open TEMPLATE PERIOD --due YYYY-MM-DD`` (prints the cycle's id alone) and
``reporting remind`` (the due and overdue reminders; run it daily)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.cli_support import CLI_ACTOR, CommandError, cli_command

reporting_cli = AppGroup("reporting", help="Periodic reporting: cycles and reminders.")


@reporting_cli.command("open")
@click.argument("template")
@click.argument("period")
@click.option("--due", "due", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="The due date.")
@cli_command
def open_command(template, period, due):
    """Open a cycle of TEMPLATE (extra_regional_flows, policy_changes, smuggling_legislation) for PERIOD
    (such as 2026-H2): every member country gets a return. Prints the cycle's id alone."""
    from portal.extensions import db
    from portal.reporting.operations import ReportingRefused, open_cycle

    try:
        cycle = open_cycle(CLI_ACTOR, template, period, due.date())
    except ReportingRefused as error:
        raise CommandError(f"{error.field or error.reason}: {error.message}") from None
    db.session.commit()
    click.echo(cycle.id)


@reporting_cli.command("remind")
@click.option("--date", "day", default=None, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Remind as of this day (default: today, UTC).")
@cli_command
def remind(day):
    """Queue the reminders owed today: 14 and 3 days before a cycle's due date, and every week overdue, to
    the country admins and liaison officers of each party whose return is not submitted. Each once."""
    from portal.extensions import db
    from portal.reporting.notify import send_reminders

    sent = send_reminders(CLI_ACTOR, day.date() if day else None)
    db.session.commit()
    for item in sent:
        click.echo(f"cycle {item.cycle_id} {item.party_code}: {item.kind}, {item.recipients} user(s) reminded")
    click.echo(f"Reporting reminders: {len(sent)} sent.")


commands = (reporting_cli,)
