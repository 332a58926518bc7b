"""Fixtures of the documents tests."""

from __future__ import annotations

import pytest
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event


@pytest.fixture
def scratch(app, tmp_path):
    """A SQLite database of its own, migrated by Alembic outside the application's engine."""
    engine = create_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
    # Rows below reference no real alert, document or submission: keep SQLite's foreign keys off.
    event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA foreign_keys=OFF"))
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())

    def migrate(revision: str, *, down: bool = False) -> None:
        # What ``alembic upgrade``/``downgrade`` do, without the application's env.py (bound to its engine).
        def steps(current, _context):
            return script._downgrade_revs(revision, current) if down else script._upgrade_revs(revision, current)

        with engine.begin() as connection, EnvironmentContext(app.extensions["migrate"].migrate.get_config(),
                                                              script, fn=steps) as environment:
            environment.configure(connection=connection, render_as_batch=True)
            with environment.begin_transaction():
                environment.run_migrations()

    yield engine, migrate
    engine.dispose()
