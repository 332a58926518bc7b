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
@click.option("--no-witness", is_flag=True, help="Do not check against the latest witnessed checkpoint.")
@cli_command
def audit_verify(checkpoint, no_witness):
    """Recompute the whole chain; exit 1 naming the first entry that does not verify, or what is missing
    since the latest witnessed checkpoint (PORTAL_AUDIT_WITNESS_DIR)."""
    from portal.audit import witness
    from portal.audit.service import verify_chain

    witnessed = None
    if not no_witness and not checkpoint:
        try:
            witnessed = witness.latest_witnessed()
        except witness.WitnessError as exc:
            raise CommandError(f"witnessed checkpoint refused: {exc}") from None
        if witnessed is not None:
            missing = witness.missing_since(witnessed, witness.current_state())
            if missing:
                raise CommandError(f"audit log cut back since the witnessed checkpoint: {missing}")
            checkpoint = f"{witnessed['seq']}:{witnessed['hash']}" if witnessed["seq"] else None
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
    if witnessed is not None:
        click.echo(f"Witnessed checkpoint of {witnessed['created_at']} (entry {witnessed['seq']}, "
                   f"{witnessed['queued']} queued) matches.")
    elif checkpoint:
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


@audit_cli.command("witness")
@click.option("--force", is_flag=True, help="Take a checkpoint even when none is due.")
@cli_command
def audit_witness(force):
    """Sign a checkpoint and hand it to the witnesses when one is due (run it every minute)."""
    from portal.audit import witness

    signed = witness.take_checkpoint() if force else witness.checkpoint_if_due()
    if signed is None:
        if not (witness._witness_dir() or witness._witness_emails()):
            raise CommandError("no witness is configured (PORTAL_AUDIT_WITNESS_DIR, PORTAL_AUDIT_WITNESS_EMAILS)")
        click.echo("No checkpoint due.")
        return
    checkpoint = signed["checkpoint"]
    click.echo(f"Checkpoint {checkpoint['seq']}:{checkpoint['hash']} ({checkpoint['queued']} queued) signed "
               f"under {checkpoint['key_id']} and witnessed.")


@audit_cli.command("public-key")
@click.option("--key-id", default=None, help="A key of the ring (default: the active one).")
@cli_command
def audit_public_key(key_id):
    """Print the public key that checkpoints are signed with, to publish to the witnesses."""
    from portal.audit.witness import public_key
    from portal.keyring import KeyRingError, current_keyring

    try:
        click.echo(public_key(current_keyring(), key_id))
    except KeyRingError as exc:
        raise CommandError(str(exc)) from None


@audit_cli.command("verify-checkpoint")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", "key", required=True, help="The portal's published public key (base64).")
def audit_verify_checkpoint(path, key):
    """Check a signed checkpoint offline (a witness file's last line, or a mailed checkpoint)."""
    import json
    from pathlib import Path

    from portal.audit.witness import WitnessError, verify_signed

    lines = [line for line in Path(path).read_text().splitlines() if line.strip().startswith("{")]
    try:
        if not lines:
            raise WitnessError("no signed checkpoint in the file")
        checkpoint = verify_signed(json.loads(lines[-1]), key)
    except (WitnessError, ValueError) as exc:
        click.echo(f"Checkpoint refused: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Signature OK: entry {checkpoint['seq']}:{checkpoint['hash']}, {checkpoint['queued']} queued, "
               f"taken {checkpoint['created_at']} under key {checkpoint['key_id']}.")


commands = (audit_cli,)
