"""``backup PATH`` / ``restore PATH``: the database and the blob store, with a manifest of hashes.

Layout of a backup folder (0700, files 0600)::

    manifest.json        format, created_at, schema revision, database kind, key ids in use, and every
                         other file with its size and SHA-256
    database.sqlite3     SQLite: a consistent copy made with the online backup API
    database.pgdump      PostgreSQL: ``pg_dump --format=custom`` (one transaction snapshot)
    blobs/<xx>/<id>      the blob store's files, still encrypted

The database is copied first, the blobs second: blobs are written once under fresh random ids, so every
blob a row of the snapshot references exists when the blobs are copied (``blobs gc`` keeps unreferenced
blobs for an hour, and a blob written after the snapshot is merely unreferenced in the copy).

The key ring is NOT in the backup, on purpose: a backup (files, database) alone reveals nothing. Without
the ring it is also useless, so export the ring separately (``keys export``) and keep it elsewhere.

Restore verifies the manifest before touching anything, and only restores into an EMPTY instance: an
SQLite file that does not exist or has no tables, a PostgreSQL database without tables, an empty blob store.

The blob store is passed in: the file service (``documents``) registers the application's store with
``register_blob_store`` in ``create_app()``; any store that lists, reads and imports blobs
(``BackupBlobStore``: the local folder and the S3 store) is copied blob by blob, streamed, and restored
with the same ids. The core never imports the file service.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from flask import Flask, current_app
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from portal.timeutil import utcnow

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
KEYRING_WARNING = (
    "The key ring is NOT part of this backup. Without it the backup cannot be read: export it with "
    "`flask --app portal keys export PATH` and keep that file apart from the backups (it decrypts everything)."
)


class BackupError(RuntimeError):
    """The backup or restore was refused; the message says why."""


@runtime_checkable
class BackupBlobStore(Protocol):
    """What a backup copies out of a blob store and a restore puts back (``documents.storage.BlobStore``)."""

    location: str

    def iter_ids(self) -> Iterator[str]: ...

    def open(self, blob_id: str) -> BinaryIO: ...

    def import_blob(self, blob_id: str, source: Path) -> None: ...


def register_blob_store(app: Flask, provider: Callable[[], object]) -> None:
    """Name the function that gives the application's blob store (the file service calls this)."""
    app.extensions["backup.blob_store"] = provider


def registered_blob_store():
    """The application's blob store, from the provider registered with ``register_blob_store``."""
    provider = current_app.extensions.get("backup.blob_store")
    if provider is None:
        raise BackupError("no blob store is registered with the application")
    return provider()


@dataclass
class BackupResult:
    """The folder written and its manifest."""

    path: Path
    manifest: dict

    @property
    def blob_count(self) -> int:
        return sum(1 for item in self.manifest["files"] if item["path"].startswith("blobs/"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _private_folder(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _pg_environment(engine: Engine) -> tuple[list[str], dict]:
    """Connection arguments for pg_dump/pg_restore; the password goes through the environment."""
    url = engine.url
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432),
            "--username", url.username or "postgres", "--no-password"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _schema_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not sa_inspect(connection).has_table("alembic_version"):
            return None
        heads = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        return ",".join(sorted(heads)) or None


def _backup_store(store) -> BackupBlobStore:
    if not isinstance(store, BackupBlobStore):
        raise BackupError("this blob store cannot be backed up (it does not list, read and import blobs)")
    return store


def _copy_blob(store: BackupBlobStore, blob_id: str, destination: Path) -> bool:
    """Stream one blob into ``destination`` (0600); False when it was deleted since it was listed."""
    try:
        source = store.open(blob_id)
    except LookupError:  # the store's BlobNotFound: gc removed an unreferenced blob meanwhile
        return False
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source, os.fdopen(fd, "wb") as handle:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            handle.write(chunk)
    return True


def create_backup(path: str | os.PathLike, engine: Engine, store, key_ids: list[str]) -> BackupResult:
    """Write a backup of the database and of ``store`` into ``path`` (a new or empty folder)."""
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty folder")
    blobs = _backup_store(store)
    _private_folder(target)
    kind = engine.dialect.name
    if kind == "sqlite":
        source_file = engine.url.database
        if not source_file or source_file == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        database_file = target / SQLITE_FILE
        _sqlite_copy(Path(source_file), database_file)
    elif kind == "postgresql":
        database_file = target / PG_FILE
        args, env = _pg_environment(engine)
        _run(["pg_dump", *args, "--format=custom", "--no-owner", "--no-privileges",
              "--file", str(database_file), engine.url.database], env)
        os.chmod(database_file, 0o600)
    else:
        raise BackupError(f"no backup method for a {kind} database")
    revision = _schema_revision(engine)

    files = [{"path": database_file.name, "size": database_file.stat().st_size, "sha256": _sha256(database_file)}]
    blobs_root = target / "blobs"
    for blob_id in blobs.iter_ids():
        destination = blobs_root / blob_id[:2] / blob_id
        _private_folder(destination.parent)
        if not _copy_blob(blobs, blob_id, destination):
            continue
        files.append({"path": f"blobs/{blob_id[:2]}/{blob_id}", "size": destination.stat().st_size,
                      "sha256": _sha256(destination)})
    manifest = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(timespec="seconds") + "Z",
        "schema_revision": revision,
        "database_kind": kind,
        "database_file": database_file.name,
        "key_ids": sorted(key_ids),
        "files": files,
    }
    manifest_path = target / MANIFEST
    fd = os.open(manifest_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(manifest, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    return BackupResult(target, manifest)


def _sqlite_copy(source: Path, destination: Path) -> None:
    """The online backup API: a consistent copy even while the portal writes (WAL included)."""
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(destination)
    try:
        with dst:
            src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _run(command: list[str], env: dict) -> None:
    try:
        completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools are needed)") from None
    if completed.returncode != 0:
        raise BackupError(f"{command[0]} failed: {completed.stderr.strip()}")


def read_manifest(path: str | os.PathLike) -> dict:
    """The backup's manifest, after checking every file it lists (size and SHA-256) and nothing else."""
    folder = Path(path)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{folder} has no {MANIFEST}: not a backup") from None
    except ValueError:
        raise BackupError(f"{folder / MANIFEST} is not valid JSON") from None
    if manifest.get("format") != FORMAT or manifest.get("database_kind") not in ("sqlite", "postgresql"):
        raise BackupError("unknown backup format")
    listed = set()
    for item in manifest.get("files", []):
        relative = item["path"]
        candidate = (folder / relative).resolve()
        if folder.resolve() not in candidate.parents:
            raise BackupError(f"manifest names a file outside the backup: {relative}")
        if not candidate.is_file():
            raise BackupError(f"{relative} is listed in the manifest but missing")
        if candidate.stat().st_size != item["size"] or _sha256(candidate) != item["sha256"]:
            raise BackupError(f"{relative} does not match the manifest (size or SHA-256): corrupted backup")
        listed.add(relative)
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - {MANIFEST}
    if present - listed:
        raise BackupError(f"files not in the manifest: {', '.join(sorted(present - listed)[:5])}")
    if manifest.get("database_file") not in listed:
        raise BackupError("the manifest lists no database file")
    return manifest


def restore_backup(path: str | os.PathLike, engine: Engine, store) -> dict:
    """Restore a verified backup into an empty database and an empty blob store; returns the manifest."""
    folder = Path(path)
    manifest = read_manifest(folder)
    blobs = _backup_store(store)
    kind = engine.dialect.name
    if manifest["database_kind"] != kind:
        raise BackupError(f"this is a {manifest['database_kind']} backup; the configured database is {kind}")
    if next(iter(blobs.iter_ids()), None) is not None:
        raise BackupError(f"the blob store {blobs.location} is not empty; restore only into an empty instance")
    database_file = folder / manifest["database_file"]
    if kind == "sqlite":
        target = engine.url.database
        if not target or target == ":memory:":
            raise BackupError("restore needs an SQLite database file")
        _restore_sqlite(database_file, Path(target))
    else:
        with engine.connect() as connection:
            tables = sa_inspect(connection).get_table_names()
        engine.dispose()
        if tables:
            raise BackupError(f"database {engine.url.database} is not empty ({len(tables)} tables); "
                              "restore only into an empty database")
        args, env = _pg_environment(engine)
        _run(["pg_restore", *args, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              "--dbname", engine.url.database, str(database_file)], env)
    for item in (item for item in manifest["files"] if item["path"].startswith("blobs/")):
        try:
            blobs.import_blob(Path(item["path"]).name, folder / item["path"])
        except ValueError:  # the store's InvalidBlobId
            raise BackupError(f"not a blob id: {item['path']}") from None
    return manifest


def _restore_sqlite(source: Path, target: Path) -> None:
    if target.exists() and target.stat().st_size > 0:
        probe = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        try:
            count = probe.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        finally:
            probe.close()
        if count:
            raise BackupError(f"database {target} is not empty ({count} tables); restore only into an empty database")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not target.exists():
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(target, 0o600)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def database_display(url: str) -> str:
    """The database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)
