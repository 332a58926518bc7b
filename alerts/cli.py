"""``flask --app portal alerts ...``: the command-line tools of the early-warning database.

One ``alerts`` group: ``alerts expire`` and ``alerts digest`` (the daily jobs), ``alerts confirmations-overdue``
(every few minutes), ``alerts import FILE --as EMAIL
[--dry-run]`` and ``alerts export --as EMAIL``. ``create_app()`` adds ``commands`` to the application
(``portal.CLI_GROUPS``). Commands run outside any request: each commits its own work, or rolls back on an
error (which also discards its audit entries).

Import and export act as the named user (their role's permissions, their party's scope), are audited like
the web pages, and commit their own work. ``import`` checks the whole file first; a file with any bad row is
refused whole, every bad row printed with its line number. The real run shows a progress bar.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from alerts import demo as _demo  # noqa: F401  (registers the demo alerts for `flask demo`)
from alerts.bulk import (
    FORMATS,
    ImportFileError,
    ImportRefused,
    RowProblem,
    dry_run,
    guess_format,
    import_file,
)
from alerts.confirmation_operations import remind_overdue
from alerts.export import EXPORT_FORMATS, ExportRefused, export_chunks, plan_export
from alerts.notify import send_digests
from alerts.operations import AlertForbidden, expire_due_alerts
from alerts.search import FILTER_KEYS, SearchError
from alerts.validation import AlertValidationError
from portal.cli_support import CLI_ACTOR, cli_command
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


@alerts_cli.command("confirmations-overdue")
@cli_command
def confirmations_overdue_command() -> None:
    """Re-notify the reporting parties of overdue hit confirmation requests (run every few minutes: each
    request is re-notified once when it falls due, then once per further response-time period)."""
    reminded = remind_overdue(principal=CLI_ACTOR)
    db.session.commit()
    click.echo(f"Overdue hit confirmations re-notified: {reminded}.")


@alerts_cli.command("digest")
@cli_command
def digest_command() -> None:
    """Queue today's digest e-mails (run once a day; a second run sends nothing new)."""
    emails, events = send_digests(principal=CLI_ACTOR)
    db.session.commit()
    click.echo(f"Alert digests: {emails} e-mails queued with {events} events.")


# --- import and export ---------------------------------------------------------------------------------

CHUNK = 64 * 1024


def _principal(email: str):
    from auth.models import User
    from portal.principal import Principal

    user = User.find_by_email(email)
    if user is None or not user.active:
        raise click.ClickException(f"no active user with the e-mail {email}")
    return Principal.for_user(user)


def _chunks(path: Path):
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _print_problem(problem: RowProblem) -> None:
    for name, message in problem.errors.items():
        click.echo(f"line {problem.line}: {name}: {message}", err=True)


def _print_file_error(error: ImportFileError | None) -> None:
    if error is not None:
        where = f"line {error.line}: " if error.line else ""
        click.echo(f"{where}{error.message}", err=True)


@alerts_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "email", required=True, help="E-mail of the importing user (their party reports the alerts).")
@click.option("--dry-run", is_flag=True, help="Check every row and report the bad ones; store nothing.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: from the file name.")
def import_command(file: Path, email: str, dry_run: bool, fmt: str | None) -> None:
    """Import alerts from a CSV or JSON file (the API's format), all or nothing."""
    principal = _principal(email)
    with file.open("rb") as handle:
        fmt = fmt or guess_format(file.name, handle.read(16))
    if fmt is None:
        raise click.ClickException("name the file .csv or .json, or give --format")
    try:
        if dry_run:
            report = _dry_run(principal, file, fmt)
            db.session.commit()  # the audit entry of the dry run, nothing else
            _print_file_error(report.file_error)
            click.echo(f"Dry run: {report.rows} rows, {report.valid} valid, {report.invalid} bad. Nothing was stored.")
            if not report.ok:
                sys.exit(1)
            return
        with click.progressbar(length=1, label="Checking every row", file=sys.stderr) as bar:
            done = [0]

            def sized(report) -> None:
                bar.length = max(report.valid, 1)
                bar.label = "Importing"

            def progress(count: int) -> None:
                bar.update(count - done[0])
                done[0] = count

            _report, counts = import_file(principal, lambda: _chunks(file), fmt, progress=progress, on_checked=sized)
        db.session.commit()
    except ImportRefused as refused:
        db.session.commit()  # the refusal's audit entry only
        for problem in refused.report.problems:
            _print_problem(problem)
        _print_file_error(refused.report.file_error)
        raise click.ClickException(
            f"refused: {refused.report.invalid} bad rows of {refused.report.rows} (run with --dry-run for the "
            "report); nothing was stored") from None
    except AlertForbidden:
        db.session.commit()
        raise click.ClickException(f"{email} may not report alerts") from None
    except AlertValidationError as error:
        db.session.rollback()
        raise click.ClickException(f"row {getattr(error, 'item', '?')} refused; nothing was stored") from None
    click.echo(f"Imported {counts.imported} alerts ({counts.published} published, {counts.drafts} drafts): "
               f"{counts.first_reference} to {counts.last_reference}.")


def _dry_run(principal, file: Path, fmt: str):
    return dry_run(principal, _chunks(file), fmt, on_problem=_print_problem)


@alerts_cli.command("export")
@click.option("--as", "email", required=True, help="E-mail of the user whose view of the alerts is exported.")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
@click.option("--query", "-q", default="", help="A document number, an MRZ or words, as in the search box.")
@click.option("--tlp", default=None, help="Only this TLP (RED and AMBER+STRICT are refused).")
@click.option("--filter", "filters", multiple=True, metavar="NAME=VALUE",
              help=f"A search filter ({', '.join(FILTER_KEYS)}); repeatable.")
def export_command(email: str, fmt: str, output: Path | None, query: str, tlp: str | None, filters) -> None:
    """Export the alerts the user can see (RED and AMBER+STRICT are left out) as CSV or JSON."""
    principal = _principal(email)
    parsed = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.ClickException(f"--filter {item}: expected NAME=VALUE")
        parsed[name.strip()] = value.strip()
    try:
        plan = plan_export(principal, query, parsed, tlp)
    except ExportRefused as refused:
        db.session.commit()
        raise click.ClickException(f"{refused.tlp} alerts are never exported") from None
    except SearchError as error:
        raise click.ClickException("; ".join(f"{key}: {value}" for key, value in error.errors.items())) from None
    chunks = export_chunks(plan, fmt)
    if output is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
    else:
        with output.open("w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
    db.session.commit()
    click.echo(f"Exported {plan.count} alerts; {plan.excluded_restricted} RED or AMBER+STRICT alerts were left out.",
               err=True)


# Added to the application by create_app() (portal.CLI_GROUPS).
commands = (alerts_cli,)
