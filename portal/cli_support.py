"""What every command-line module shares: the ``cli`` actor, the error, the command decorator, output helpers.

Command modules (one ``cli.py`` per package: ``portal/cli.py`` for the core's own) import this
module; ``create_app()`` registers their commands (``portal.CLI_GROUPS``). This module imports no command
module, so no command module imports another.

Commands run outside any request, so each commits its own work (or rolls it back on an error, which
also discards the audit entries it queued). Their audit entries have no principal: the actor is the
command line (no user, no party, role ``cli``). Errors are one clear line on stderr and exit status 1;
output meant for other programs (a token, a checkpoint) is printed alone on stdout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

import click
from flask.cli import with_appcontext
from flask_babel import force_locale


@dataclass(frozen=True)
class CommandLineActor:
    """The actor of audit entries written by these commands: nobody signed in, acting as ``cli``."""

    user_id: None = None
    party_code: None = None
    role: str = "cli"
    token_id: None = None


CLI_ACTOR = CommandLineActor()

# Loaders of the features' own reference data (idempotent), run by ``flask setup`` after the parties;
# a feature registers its loader beside its models, so the core names no feature.
REFERENCE_DATA_LOADERS: list = []


def register_reference_data(loader) -> None:
    """Have ``flask setup`` call ``loader()`` (idempotent; it flushes, setup commits)."""
    if loader not in REFERENCE_DATA_LOADERS:
        REFERENCE_DATA_LOADERS.append(loader)


class CommandError(click.ClickException):
    """A refused command: printed as ``Error: <message>`` on stderr, exit status 1."""

    exit_code = 1


def cli_command(func):
    """Decorate a CLI command's body: run it in an app context, in English, committing nothing on an error
    (the command commits its own work, as CLI commands do)."""

    @with_appcontext
    @wraps(func)
    def wrapped(*args, **kwargs):
        from portal.extensions import db

        with force_locale("en"):  # messages from shared code (password policy...) need a locale
            try:
                return func(*args, **kwargs)
            except BaseException:
                db.session.rollback()
                raise

    return wrapped


def table(headers: tuple[str, ...], rows: list[tuple]) -> str:
    """Rows as left-aligned columns under their headers and a line of dashes."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in (headers, tuple("-" * width for width in widths), *rows)]
    return "\n".join(lines)


def progress(label: str, count: int) -> None:
    """One progress line of a long command (``  label: count``)."""
    click.echo(f"  {label}: {count}")


# --- demo content -------------------------------------------------------------------------------------
# ``flask demo`` fills a lived-in portal on its first run; each feature registers what it adds (the core
# never imports a feature). A filler takes ``accounts``: (party code, e-mail local part) -> User, and
# returns a one-line summary for the command's output.
DEMO_CONTENT: dict[str, tuple[int, object]] = {}


def register_demo_content(name: str, fill, *, order: int = 100) -> None:
    DEMO_CONTENT[name] = (order, fill)


def demo_fillers() -> list:
    return [fill for _order, fill in sorted(DEMO_CONTENT.values(), key=lambda item: item[0])]
