"""Benchmark: audit-chain appends per second against plain inserts into a table of the same shape.

Prints figures and the ratio it is judged by (chained / plain); asserts nothing.

    .venv/bin/python bench/audit_append.py                     # SQLite file in a temporary folder
    .venv/bin/python bench/audit_append.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_audit

The PostgreSQL database must exist and is emptied (schema dropped) by the run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

from sqlalchemy import text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--transactions", type=int, default=2000, help="one entry per transaction, like requests")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    warnings.simplefilter("ignore", RuntimeWarning)
    from flask_migrate import upgrade

    from portal import create_app
    from portal.audit.service import record, verify_chain
    from portal.extensions import db
    from portal.keyring import KeyRing

    KeyRing.generate().save(folder / "keyring.json")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "KEYRING_FILE": str(folder / "keyring.json"),
                      "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder)})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(app.extensions["migrate"].directory), revision="heads")
        db.session.execute(text(
            "CREATE TABLE bench_plain (id INTEGER PRIMARY KEY, action VARCHAR(64), details TEXT, created_at TIMESTAMP)"))
        db.session.commit()

        start = time.perf_counter()
        for n in range(args.transactions):
            db.session.execute(text("INSERT INTO bench_plain (id, action, details, created_at) "
                                    "VALUES (:id, 'bench.plain', '{}', CURRENT_TIMESTAMP)"), {"id": n + 1})
            db.session.commit()
        plain = args.transactions / (time.perf_counter() - start)

        start = time.perf_counter()
        for n in range(args.transactions):
            record("bench.chained", details={"n": n})
            db.session.commit()
        chained = args.transactions / (time.perf_counter() - start)

        start = time.perf_counter()
        result = verify_chain()
        verify_rate = result.entries / (time.perf_counter() - start)
        dialect = db.engine.dialect.name
        db.engine.dispose()

    print(f"database: {dialect}, {args.transactions} transactions of one entry each")
    print(f"plain inserts:        {plain:10.0f} /s")
    print(f"chained audit appends:{chained:10.0f} /s")
    print(f"verify:               {verify_rate:10.0f} entries/s (chain ok: {result.ok})")
    print(f"ratio chained/plain:  {chained / plain:10.2f}")


if __name__ == "__main__":
    main()
