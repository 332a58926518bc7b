"""Where SQLite and PostgreSQL differ, this small adapter hides it; everything else is one code path."""

from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

# Seconds to wait for a PostgreSQL connection before the request answers 503 (portal.errors).
CONNECT_TIMEOUT_SECONDS = 5

# Arbitrary constant naming the PostgreSQL advisory lock that serialises audit-chain appends.
AUDIT_CHAIN_LOCK = 0x52434D41  # "RCMA"
# ... and the one that serialises audit checkpoints (portal.audit.witness), across every host.
AUDIT_CHECKPOINT_LOCK = 0x52434D43  # "RCMC"


def engine_options(uri: str) -> dict:
    """The engine's options for PostgreSQL: ``pool_pre_ping`` tests a pooled connection before handing it
    out, so after a database restart the dead ones are replaced and service resumes by itself, without a
    failed request; a bounded connect timeout, so a request during an outage answers 503 within seconds.
    SQLite is a file: nothing to reconnect to."""
    if not uri.startswith("postgresql"):
        return {}
    return {"pool_pre_ping": True, "connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS}}


def configure_engine(engine: Engine) -> None:
    """Give SQLite foreign keys, WAL, a busy timeout and write-locking transactions.

    pysqlite opens transactions lazily and never for SAVEPOINT; taking over BEGIN ourselves (the recipe
    from SQLAlchemy's SQLite dialect documentation) makes savepoints work and lets us BEGIN IMMEDIATE,
    so two requests never both read the audit head and then race to append after it.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def try_lock_audit_chain(connection) -> bool:
    """Take the audit-chain lock if it is free (held until the end of the transaction); never wait.

    On SQLite the transaction already holds the database's write lock (BEGIN IMMEDIATE), so the chain is
    always free to it.
    """
    if connection.dialect.name == "postgresql":
        return bool(connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                       {"key": AUDIT_CHAIN_LOCK}).scalar())
    return True


def commits_can_overlap_chain_lock(connection) -> bool:
    """Can another transaction commit (and so queue audit entries) while this one holds the chain lock?

    PostgreSQL: yes, the advisory lock only guards the chain. SQLite: no, the chain lock is the database's
    write lock, held from BEGIN IMMEDIATE to COMMIT, so no transaction ever finds the chain busy.
    """
    return connection.dialect.name == "postgresql"


def lock_audit_checkpoints(connection) -> None:
    """Wait for the audit-checkpoint lock, held until the end of ``connection``'s transaction.

    One checkpointer at a time, whichever host or process it runs in, so that two never both read the same
    latest witnessed checkpoint and append conflicting ones. PostgreSQL: an advisory transaction lock
    (waited for: a checkpoint is outside every request's transaction). SQLite: the transaction already holds
    the database's write lock (BEGIN IMMEDIATE, taken when ``connection`` began), which serialises
    checkpointers as well as writers.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHECKPOINT_LOCK})
