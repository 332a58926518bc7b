"""Migration 0010 drops the plaintext digests of stored files and keeps everything else of their rows."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from portal.extensions import db

FILE_TABLES = ("attachments", "library_document_versions", "submission_attachments")
DIGESTS = {"sha256", "thumb_sha256"}


def test_the_migrated_schema_has_no_plaintext_digest():
    inspector = inspect(db.session.connection())
    for table in FILE_TABLES:
        columns = {column["name"] for column in inspector.get_columns(table)}
        assert not columns & DIGESTS, table
        assert {"blob_id", "wrapped_key", "key_id", "size", "thumb_blob_id", "thumb_size"} <= columns


def _row(table: str, n: int) -> dict:
    row = {"id": n, "file_uid": f"{n:032x}", "blob_id": f"{n + 100:032x}", "wrapped_key": b"wrapped",
           "key_id": "k1", "size": 1000 + n, "kind": "png", "display_name": "k1:name",
           "thumb_blob_id": f"{n + 200:032x}", "thumb_wrapped_key": b"thumb", "thumb_key_id": "k1",
           "thumb_size": 10 + n, "created_at": "2026-11-23 12:00:00"}
    row.update({"attachments": {"alert_id": 1, "side": "front", "light": "uv", "is_genuine_reference": 0},
                "library_document_versions": {"document_id": 1, "number": n},
                "submission_attachments": {"submission_id": 1}}[table])
    return row


def _insert(connection, table: str, row: dict) -> None:
    names = ", ".join(row)
    connection.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + k for k in row)})"), row)


def _constraints(inspector, table: str) -> dict:
    def names(items) -> list:
        return sorted((item["name"], tuple(item.get("column_names") or item.get("constrained_columns")))
                      for item in items)

    return {"unique": names(inspector.get_unique_constraints(table)), "indexes": names(inspector.get_indexes(table)),
            "foreign keys": names(inspector.get_foreign_keys(table)),
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"]}


def test_upgrade_keeps_rows_constraints_and_indexes_and_downgrade_restores_the_columns(scratch):
    engine, migrate = scratch
    migrate("0009")
    with engine.begin() as connection:
        for table in FILE_TABLES:
            _insert(connection, table, {**_row(table, 1), "sha256": "a" * 64, "thumb_sha256": "b" * 64})
    before = {table: _constraints(inspect(engine), table) for table in FILE_TABLES}

    migrate("0010")

    inspector = inspect(engine)
    for table in FILE_TABLES:
        assert not {column["name"] for column in inspector.get_columns(table)} & DIGESTS
        assert _constraints(inspector, table) == before[table]
        with engine.connect() as connection:
            stored = connection.execute(text(f"SELECT * FROM {table}")).mappings().one()
        expected = _row(table, 1)
        assert {key: stored[key] for key in expected} == expected
    with engine.begin() as connection, pytest.raises(Exception, match="UNIQUE"):
        _insert(connection, "attachments", {**_row("attachments", 2), "blob_id": _row("attachments", 1)["blob_id"]})

    migrate("0009", down=True)

    inspector = inspect(engine)
    for table in FILE_TABLES:
        columns = {column["name"]: column for column in inspector.get_columns(table)}
        assert DIGESTS <= set(columns) and all(columns[name]["nullable"] for name in DIGESTS)
        with engine.connect() as connection:
            stored = connection.execute(text(f"SELECT * FROM {table}")).mappings().one()
        assert stored["sha256"] is None and stored["size"] == 1001
