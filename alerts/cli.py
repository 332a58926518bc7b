"""``flask --app portal alerts ...``: the command-line tools of the early-warning database.

One ``alerts`` group that every alerts feature adds its commands to (``alerts import``, ``alerts export``,
``alerts digest``...). ``portal.cli.register_cli`` calls ``register(app)``. Commands run outside any
request: each commits its own work, or rolls back on an error (which also discards its audit entries).
"""

from __future__ import annotations

from flask.cli import AppGroup

alerts_cli = AppGroup("alerts", help="The early-warning database of fraudulent travel documents.")


def register(app) -> None:
    """Add the ``alerts`` group (with every command defined on it) to the application's CLI."""
    import alerts.bulk_cli  # noqa: F401  (defines alerts import / alerts export on the group)

    app.cli.add_command(alerts_cli)
