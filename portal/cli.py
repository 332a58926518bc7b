"""The core's commands: ``setup``, ``demo``, ``keys rotate|verify|retire|export|status``, ``backup`` and
``restore`` (``flask --app portal <command>``; other tools rely on these names).

Each package keeps its own commands in its ``cli.py`` (``auth/cli.py``: users and tokens;
``portal/audit/cli.py``, ``portal/outbox/cli.py``, ``alerts/cli.py``, ``documents/cli.py``: ``blobs gc``,
``portal/directory/cli.py``); the shared helpers (the ``cli`` actor, ``CommandError``, ``cli_command``,
``table``, ``progress``) are in ``portal.cli_support``; ``create_app()`` adds every module's ``commands`` to
the application (``portal.CLI_GROUPS``).

The rotation work is ``portal.rotation_work`` over the registry ``portal.rotation``; ``backup`` copies the
blob store the file service registered (``portal.backup.registered_blob_store``).

Rotation while the portal runs: the web processes hold the key ring they loaded at start, so they cannot
read values under a key added after that. Stop the application servers (or put the portal in
maintenance), run ``keys rotate``, start them again. A value written by an old process in between is under
the previous key: ``keys rotate`` notices such leftovers and resumes instead of adding yet another key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from portal.cli_support import CLI_ACTOR, REFERENCE_DATA_LOADERS, CommandError, cli_command, progress, table

# RFC 2606's reserved .example: never delivered, and accepted by the portal's own address checks (the admin
# form, ``users create``), which refuse .invalid; demo accounts of older instances used LEGACY_DEMO_DOMAIN.
DEMO_DOMAIN = "demo.rcm.example"
LEGACY_DEMO_DOMAIN = "demo.rcm.invalid"
# e-mail local part, role, party code, full name
DEMO_ACCOUNTS = (
    ("admin", "secretariat_admin", "TS", "Demo Secretariat Administrator"),
    ("admin", "country_admin", "GTM", "Demo Guatemala Country Administrator"),
    ("liaison", "liaison_officer", "GTM", "Demo Guatemala Liaison Officer"),
    ("border", "border_officer", "GTM", "Demo Guatemala Border Officer"),
    ("admin", "country_admin", "MEX", "Demo Mexico Country Administrator"),
    ("liaison", "liaison_officer", "MEX", "Demo Mexico Liaison Officer"),
    ("border", "border_officer", "MEX", "Demo Mexico Border Officer"),
)


def demo_email(local_part: str, party_code: str, domain: str = DEMO_DOMAIN) -> str:
    """The e-mail address of a demo account (``liaison@gtm.demo.rcm.example``)."""
    return f"{local_part}@{party_code.lower()}.{domain}"


# --- setup and demo ------------------------------------------------------------------------------


@click.command("setup")
@cli_command
def setup_command():
    """Create the instance folder, create or upgrade the schema, load reference data (idempotent)."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.parties.models import Party
    from portal.parties.seed import load_reference_parties

    for folder in {Path(current_app.instance_path), Path(current_app.config["INSTANCE_PATH"])}:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
    load_reference_parties()
    for loader in REFERENCE_DATA_LOADERS:
        loader()
    db.session.commit()
    if db.engine.dialect.name == "sqlite" and db.engine.url.database not in (None, "", ":memory:"):
        os.chmod(db.engine.url.database, 0o600)  # SQLite creates its -wal/-shm files alike
    count = db.session.scalar(select(func.count()).select_from(Party))
    click.echo(f"Database schema is up to date; reference data loaded ({count} parties).")


def _random_password() -> str:
    from auth.passwords import password_problems

    while True:
        password = secrets.token_urlsafe(18)  # 24 characters, 144 bits
        if not password_problems(password):
            return password


@click.command("demo")
@click.option("--accounts-only", is_flag=True, help="Create the demo accounts but no demo content.")
@cli_command
def demo_command(accounts_only: bool = False):
    """Create the demo accounts (once) and, with them, demo content (alerts, images, an exchange thread);
    print the passwords and TOTP secrets this one time."""
    import pyotp
    from sqlalchemy import select

    from auth.cli import audit_account_created
    from auth.models import User, email_index
    from auth.passwords import hash_password
    from portal.extensions import db
    from portal.parties.models import Party
    from portal.timeutil import utcnow

    if current_app.config.get("PORTAL_ENV") == "production":
        raise CommandError("demo accounts are not created when PORTAL_ENV=production")
    parties = {party.code: party for party in db.session.scalars(select(Party))}
    missing = sorted({code for _, _, code, _ in DEMO_ACCOUNTS} - parties.keys())
    if missing:
        raise CommandError(f"unknown parties {', '.join(missing)}: run `flask --app portal setup` first")

    created, existing, accounts = [], 0, {}
    for local_part, role, code, name in DEMO_ACCOUNTS:
        email = demo_email(local_part, code)
        if User.find_by_email(email) is not None or User.find_by_email(demo_email(local_part, code, LEGACY_DEMO_DOMAIN)):
            existing += 1
            continue
        password, secret = _random_password(), pyotp.random_base32()
        now = utcnow()
        user = User(email=email, email_index=email_index(email), full_name=name, role=role,
                    party_id=parties[code].id, active=True, password_hash=hash_password(password),
                    password_changed_at=now, totp_secret=secret, totp_enrolled_at=now)
        db.session.add(user)
        db.session.flush()
        audit_account_created(user, demo=True)
        uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="RCM Portal")
        created.append((email, role, code, password, secret, uri))
        accounts[(code, local_part)] = user
    db.session.commit()
    filled = [] if accounts_only or len(accounts) < len(DEMO_ACCOUNTS) else _fill_demo_content(accounts)

    if not created:
        click.echo("The demo accounts exist already; nothing was changed "
                   "(their passwords and TOTP secrets were printed when they were created).")
        return
    click.echo("Demo accounts created. Passwords and TOTP secrets are shown ONCE; they are not stored "
               "in clear anywhere.\nAdd each TOTP secret (or otpauth URI) to an authenticator app.\n")
    click.echo(table(("E-MAIL", "ROLE", "PARTY", "PASSWORD", "TOTP SECRET", "OTPAUTH URI"), created))
    if existing:
        click.echo(f"\n{existing} other demo account(s) existed already and were left unchanged.")
    for line in filled:
        click.echo(f"Demo content: {line}.")


def _fill_demo_content(accounts) -> list[str]:
    """The registered demo content (``portal.cli_support.register_demo_content``), in one transaction."""
    from portal.cli_support import demo_fillers
    from portal.extensions import db

    summaries = [fill(accounts) for fill in demo_fillers()]
    db.session.commit()
    return summaries


# --- keys, backup and restore -------------------------------------------------------------------

keys_cli = AppGroup("keys", help="The key ring: rotation, verification, export.")


def _ring_path() -> Path:
    from portal.keyring import current_keyring

    ring = current_keyring()
    return Path(ring.path or current_app.config["KEYRING_FILE"])


def _install(ring) -> None:
    """Save the ring (atomic, 0600) and use it for the rest of this command."""
    from dataclasses import replace

    from portal.keyring import install_keyring

    path = _ring_path()
    ring.save(path)
    install_keyring(current_app, replace(ring, path=path))


def _warn_unregistered() -> None:
    from portal.rotation import unregistered_encrypted_columns

    missing = unregistered_encrypted_columns()
    if missing:
        click.echo("WARNING: these encrypted columns are not registered with portal.rotation and were left "
                   "under their current key: " + ", ".join(missing), err=True)


def _report_problems(problems, what: str) -> None:
    if not problems:
        return
    for problem in problems:
        click.echo(f"CORRUPTED {problem}", err=True)
    raise CommandError(f"{len(problems)} item(s) could not be {what}; they were left unchanged (see above)")


@keys_cli.command("rotate")
@click.option("--index", "index_key", is_flag=True,
              help="Rotate the blind-index key instead, and recompute every registered blind index.")
@click.option("--resume", is_flag=True, help="Finish an interrupted rotation without adding a key.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@cli_command
def keys_rotate(index_key, resume, batch_size):
    """Add a key and move every registered encrypted value and wrapped file key under it (batch commits)."""
    from portal.audit.service import record
    from portal.extensions import db
    from portal.keyring import current_keyring
    from portal.rotation_work import (
        Report,
        pending_work,
        reencrypt_columns,
        reindex_blind_indexes,
        rewrap_file_keys,
    )

    ring = current_keyring()
    report = Report()
    if index_key:
        if not resume:
            ring = ring.with_new_index_key()
            _install(ring)
            click.echo(f"Added blind-index key {ring.index_key_id} to {_ring_path()} (old keys kept). "
                       "Searches match again once every index is recomputed:")
        else:
            click.echo(f"Recomputing blind indexes under index key {ring.index_key_id}:")
        reindex_blind_indexes(batch_size=batch_size, progress=progress, report=report)
        record("keys.rotate_index", object_type="keyring", object_id=ring.index_key_id,
               details={"rows": report.total, "failed": len(report.problems)}, principal=CLI_ACTOR)
        db.session.commit()
        click.echo(f"Blind indexes: {report.total} rows recomputed under {ring.index_key_id}.")
        _report_problems(report.problems, "reindexed")
        return

    pending = pending_work(ring)
    if resume or pending:
        if not pending:
            click.echo(f"Nothing to resume: every registered value is under {ring.active_id}.")
            _warn_unregistered()
            return
        click.echo(f"Resuming: {pending} value(s) or file key(s) are not yet under the active key "
                   f"{ring.active_id}; no new key is added.")
    else:
        ring = ring.with_new_key()
        _install(ring)
        click.echo(f"Added key {ring.active_id} to {_ring_path()} and made it active (old keys kept).")
    click.echo("Re-encrypting columns:")
    reencrypt_columns(ring, batch_size=batch_size, progress=progress, report=report)
    values = report.total
    click.echo("Re-wrapping file keys:")
    rewrap_file_keys(ring, batch_size=batch_size, progress=progress, report=report)
    file_keys = report.total - values
    record("keys.rotate", object_type="keyring", object_id=ring.active_id,
           details={"values": values, "file_keys": file_keys, "failed": len(report.problems), "resumed": bool(pending)},
           principal=CLI_ACTOR)
    db.session.commit()
    click.echo(f"Rotation to {ring.active_id}: {values} encrypted value(s) and {file_keys} file key(s) moved. "
               "Running servers read the new key ring within a second, with no restart.")
    _warn_unregistered()
    _report_problems(report.problems, "re-encrypted")


@keys_cli.command("verify")
@click.option("--no-blobs", is_flag=True, help="Check the encrypted columns only.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@cli_command
def keys_verify(no_blobs, batch_size):
    """Decrypt every registered value and blob; list each corrupted item and exit 1 if there is any."""
    from portal.keyring import current_keyring
    from portal.rotation_work import verify_all

    report = verify_all(current_keyring(), batch_size=batch_size, blobs=not no_blobs)
    for label, count in report.checked.items():
        click.echo(f"  {label}: {count} checked")
    _warn_unregistered()
    if report.problems:
        for problem in report.problems:
            click.echo(f"CORRUPTED {problem}", err=True)
        raise CommandError(f"{len(report.problems)} corrupted item(s) found")
    click.echo(f"Key ring verification OK: {sum(report.checked.values())} item(s) decrypted and checked.")


@keys_cli.command("status")
@cli_command
def keys_status():
    """The keys of the ring and what still uses each one."""
    from portal.keyring import current_keyring
    from portal.rotation_work import key_usage

    ring = current_keyring()
    usage = key_usage(ring)
    for key_id in ring.keys:
        roles = [name for name, flag in (("active", key_id == ring.active_id),
                                         ("blind-index", key_id == ring.index_key_id)) if flag]
        used = usage.get(key_id, {})
        click.echo(f"{key_id}{' (' + ', '.join(roles) + ')' if roles else ''}: "
                   + (", ".join(f"{label} {count}" for label, count in sorted(used.items())) or "unused"))
    unknown = sorted(set(usage) - set(ring.keys))
    if unknown:
        click.echo(f"WARNING: data names key ids missing from the ring: {', '.join(unknown)}", err=True)


@keys_cli.command("retire")
@click.argument("key_id")
@cli_command
def keys_retire(key_id):
    """Remove KEY_ID from the ring, only when nothing uses it any more (values, file keys, audit chain)."""
    from portal.audit.service import record
    from portal.extensions import db
    from portal.keyring import KeyRingError, current_keyring
    from portal.rotation import unregistered_encrypted_columns
    from portal.rotation_work import key_usage

    ring = current_keyring()
    missing = unregistered_encrypted_columns()
    if missing:
        raise CommandError("unregistered encrypted columns may still use this key: " + ", ".join(missing))
    used = key_usage(ring).get(key_id)
    if used:
        raise CommandError(f"key {key_id} is still used by: "
                           + ", ".join(f"{label} ({count})" for label, count in sorted(used.items())))
    try:
        smaller = ring.without_key(key_id)
    except KeyRingError as exc:
        raise CommandError(str(exc)) from None
    record("keys.retire", object_type="keyring", object_id=key_id, principal=CLI_ACTOR)
    db.session.commit()
    _install(smaller)
    click.echo(f"Key {key_id} removed from {_ring_path()}. Recovery codes issued under it no longer work.")


@keys_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@cli_command
def keys_export(path):
    """Write the key ring to PATH (mode 0600) to keep apart from the backups."""
    from portal.keyring import current_keyring

    if path.exists():
        raise CommandError(f"{path} exists already; choose a new file")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(current_keyring().to_json())
        handle.flush()
        os.fsync(handle.fileno())
    click.echo(f"Key ring exported to {path} (mode 0600).")
    click.echo("WARNING: this file decrypts every record, file and backup of the portal. Keep it offline, "
               "apart from the backups, and never in the same place.", err=True)


@click.command("backup")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@cli_command
def backup_command(path):
    """Snapshot the database and the blob store into the new folder PATH, with a manifest of hashes."""
    from portal.audit.service import record
    from portal.backup import KEYRING_WARNING, BackupError, create_backup, registered_blob_store
    from portal.extensions import db
    from portal.keyring import current_keyring
    from portal.rotation_work import key_usage

    key_ids = sorted(set(key_usage()) | {current_keyring().index_key_id})
    db.session.rollback()  # no transaction of ours open while the snapshot is taken
    try:
        result = create_backup(path, db.engine, registered_blob_store(), key_ids)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    record("system.backup", object_type="backup", details={"files": len(result.manifest["files"]),
                                                          "blobs": result.blob_count}, principal=CLI_ACTOR)
    db.session.commit()
    click.echo(f"Backup written to {path}: {result.manifest['database_kind']} database at revision "
               f"{result.manifest['schema_revision']}, {result.blob_count} blob(s), manifest.json.")
    click.echo(f"WARNING: {KEYRING_WARNING} Keys needed: {', '.join(key_ids)}.", err=True)


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@cli_command
def restore_command(path):
    """Restore the backup in PATH into an EMPTY database and blob store (verifies the manifest first)."""
    from portal.backup import KEYRING_WARNING, BackupError, registered_blob_store, restore_backup
    from portal.extensions import db
    from portal.keyring import current_keyring

    db.session.remove()
    db.engine.dispose()
    try:
        manifest = restore_backup(path, db.engine, registered_blob_store())
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    db.engine.dispose()
    blobs = sum(1 for item in manifest["files"] if item["path"].startswith("blobs/"))
    click.echo(f"Restored the {manifest['database_kind']} database (revision {manifest['schema_revision']}, "
               f"backup of {manifest['created_at']}) and {blobs} blob(s). Run `flask --app portal setup` "
               "if this code has newer migrations.")
    missing = sorted(set(manifest.get("key_ids", [])) - set(current_keyring().keys))
    if missing:
        click.echo(f"WARNING: the key ring lacks key(s) {', '.join(missing)} that the restored data uses: "
                   "install the exported key ring (PORTAL_KEYRING_FILE).", err=True)
    else:
        click.echo(KEYRING_WARNING, err=True)


# Added to the application by create_app() (portal.CLI_GROUPS).
commands = (setup_command, demo_command, keys_cli, backup_command, restore_command)
