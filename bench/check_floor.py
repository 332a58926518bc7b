"""Benchmark: the floor under issue 3's check target (8a). Prints figures; asserts nothing.

Target (a) compares the check API with a bare health endpoint on the same server: ratio >= 0.5. This script
asks how much of the gap any implementation of this design would keep, by serving, beside the portal's own
routes in the same gunicorn server (same workers, threads, hooks and headers as ``alerts_bench.py measure``),
bench-only routes that do a check's irreducible work and nothing else - raw psycopg, one connection per
thread with prepared statements, no ORM, no SQLAlchemy, no access scoping, no decryption:

``lookup``    the bearer token's row by digest, then the published alerts with the number's blind index
              (HMAC of the number and state, as ``alerts.indexes.number_index``), autocommit: two round trips;
``limited``   ``lookup`` plus a per-token fixed-window rate limit in Redis (one pipelined INCR + EXPIRE);
``audited``   ``limited`` in one transaction that also inserts one HMAC'd audit row (a plain table, no chain)
              and commits durably (``synchronous_commit`` as configured): what "every search audited" costs
              at the least.

Then the portal's real ``GET /api/v1/alerts/check``. A health run comes before and after each of them, and
each figure is printed with its ratio to the mean of the two health runs around it, on
the database and folder ``alerts_bench.py setup`` / ``generate`` prepared:

    DB=postgresql+psycopg://postgres@127.0.0.1:5432/bench_alerts
    .venv/bin/python bench/check_floor.py --folder /tmp/bench-alerts --database-url $DB
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AUDIT_TABLE = "bench_floor_audit"
FLOOR_STEPS = ("lookup", "limited", "audited")
_TOKEN_SQL = "SELECT id, user_id, scopes, expires_at, revoked_at FROM api_tokens WHERE token_digest = %s"
_CHECK_SQL = ("SELECT id, reference, fraud_type, status, issuing_state, tlp FROM alerts "
              "WHERE number_index = %s AND status = 'published' LIMIT 50")
_AUDIT_SQL = f"INSERT INTO {AUDIT_TABLE} (token_id, action, details, mac) VALUES (%s, %s, %s, %s)"


def libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def floor_app():
    """The portal app plus the floor routes (gunicorn app factory; settings from the environment)."""
    import psycopg
    import redis
    from flask import abort, jsonify, request

    from alerts.indexes import number_index
    from portal import create_app, public
    from portal.crypto import token_digest
    from portal.keyring import current_keyring

    app = create_app({"RATELIMIT_API": os.environ["BENCH_RATELIMIT"]})
    url = libpq_url(os.environ["PORTAL_DATABASE_URL"])
    limiter_store = redis.Redis.from_url(os.environ["PORTAL_REDIS_URL"])
    local = threading.local()

    def connection():
        if getattr(local, "connection", None) is None:
            local.connection = psycopg.connect(url, autocommit=True, prepare_threshold=0)
        return local.connection

    def look_up(conn):
        header = request.headers.get("Authorization", "")
        token = conn.execute(_TOKEN_SQL, (token_digest(header.partition(" ")[2].strip()),)).fetchone()
        if token is None:
            abort(401)
        number, state = request.args["document_number"], request.args.get("issuing_state", "CRI")
        rows = conn.execute(_CHECK_SQL, (number_index(number, state),)).fetchall()
        return token, rows

    def rate_limit(token_id: int) -> None:
        key = f"floor:{token_id}:{int(time.time() // 60)}"
        pipe = limiter_store.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 120)
        pipe.execute()

    def answer(rows):
        return jsonify({"hit": bool(rows), "alerts": [
            {"id": r[0], "reference": r[1], "fraud_type": r[2], "status": r[3], "issuing_state": r[4], "tlp": r[5]}
            for r in rows]})

    @app.get("/api/v1/floor/lookup")
    @public
    def floor_lookup():
        return answer(look_up(connection())[1])

    @app.get("/api/v1/floor/limited")
    @public
    def floor_limited():
        token, rows = look_up(connection())
        rate_limit(token[0])
        return answer(rows)

    @app.get("/api/v1/floor/audited")
    @public
    def floor_audited():
        conn = connection()
        with conn.transaction():
            token, rows = look_up(conn)
            rate_limit(token[0])
            ring = current_keyring()
            details = json.dumps({"hit": bool(rows), "alerts": [r[0] for r in rows]}, sort_keys=True)
            mac = hmac.new(ring.derive("audit-hmac", ring.active_id), details.encode(), hashlib.sha256).hexdigest()
            conn.execute(_AUDIT_SQL, (token[0], "alert.check", details, mac))
        return answer(rows)

    return app


def main() -> None:
    import alerts_bench as bench
    import psycopg
    from sqlalchemy import func, select

    from alerts.models import Alert
    from portal.extensions import db

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bench.serving_arguments(parser, clients=16, duration=15)
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk")
    parser.add_argument("--max-requests", type=int, default=200_000)
    args = parser.parse_args()

    folder = Path(args.folder)
    token = json.loads((folder / "tokens.json").read_text())["check"]["secret"]
    app = bench.make_app(folder, args.database_url)
    with app.app_context():
        known = db.session.scalar(select(func.count(Alert.id)))
        db.engine.dispose()
    with psycopg.connect(libpq_url(args.database_url), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {AUDIT_TABLE}")
        conn.execute(f"CREATE TABLE {AUDIT_TABLE} (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL "
                     "DEFAULT now(), token_id integer, action text, details text, mac text)")
    checks = bench.check_paths(20_000, known, random.Random(2026))
    os.environ["BENCH_RATELIMIT"] = bench.RATELIMIT_BENCH
    print(f"{known:,} alerts; gunicorn {args.workers} x {args.worker_class} ({args.threads} threads); "
          f"{os.cpu_count()} cores; load average before: {bench._loadavg()}")
    server = bench._serve(args, folder, app_spec="bench.check_floor:floor_app()")
    try:
        runs = [(f"floor {step}", [c.replace("/alerts/check", f"/floor/{step}") for c in checks])
                for step in FLOOR_STEPS]
        runs.append(("portal check", checks))
        # Warm every worker up: connections, prepared statements, the first-request imports.
        bench.python_load(args.port, ["/api/v1/health"], None, 8, 3, 300)
        for _name, paths in runs:
            bench.python_load(args.port, paths, token, 8, 4, 400)
        # Health before and after every run: the host's speed drifts by +-20 % within minutes, so each run
        # is judged against the mean of the health runs on either side of it.
        def health():
            figures = bench._load(args, folder, ["/api/v1/health"], None, args.clients, args.duration,
                                  args.max_requests)
            print(bench._line("health", figures), flush=True)
            return figures["rps"]

        before = health()
        for name, paths in runs:
            figures = bench._load(args, folder, paths, token, args.clients, args.duration, args.max_requests)
            print(bench._line(name, figures), flush=True)
            after = health()
            print(f"    {name}: ratio to the health runs around it {figures['rps'] / ((before + after) / 2):.2f}",
                  flush=True)
            before = after
        print(f"load average after: {bench._loadavg()}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        with psycopg.connect(libpq_url(args.database_url), autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {AUDIT_TABLE}")


if __name__ == "__main__":
    main()
