"""``flask --app portal blobs gc [--dry-run]``: the file service's command (see ``documents.gc``)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from documents import demo as _demo  # noqa: F401  (registers the demo library for `flask demo`)
from documents.gc import STALE_AFTER_SECONDS, collect_garbage
from documents.storage import current_blob_store
from portal.audit.service import record
from portal.cli_support import CLI_ACTOR, cli_command
from portal.extensions import db

blobs_cli = AppGroup("blobs", help="The encrypted blob store.")


@blobs_cli.command("gc")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--min-age", type=click.IntRange(min=0), default=STALE_AFTER_SECONDS, show_default=True,
              help="Seconds an unreferenced blob or a temporary file must be old to be removed (0: what a crash "
                   "left, at once, when no upload is under way).")
@cli_command
def blobs_gc(dry_run, min_age):
    """Remove blobs no row references (older than an hour) and stale temporary files."""
    result = collect_garbage(current_blob_store(), dry_run=dry_run, min_age_seconds=min_age)
    for blob_id in result.unreferenced:
        click.echo(f"{'would remove' if dry_run else 'removed'} {blob_id}")
    if dry_run:
        click.echo(f"Dry run: {len(result.unreferenced)} unreferenced blob(s) and {result.temporaries} stale "
                   f"temporary file(s) would be removed; {result.referenced} referenced, "
                   f"{len(result.kept_young)} too recent to judge.")
        return
    record("blobs.gc", object_type="blob_store", details={"removed": len(result.removed),
                                                         "temporaries": result.temporaries}, principal=CLI_ACTOR)
    db.session.commit()
    click.echo(f"Removed {len(result.removed)} unreferenced blob(s) and {result.temporaries} stale temporary "
               f"file(s); {result.referenced} referenced, {len(result.kept_young)} too recent to judge.")


# Added to the application by create_app() (portal.CLI_GROUPS).
commands = (blobs_cli,)
