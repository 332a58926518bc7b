"""Benchmark: the floor under issue 3's import target (8c). Prints figures; asserts nothing.

Target (c) is 5,000 alerts/s at 1,000,000 alerts, i.e. 200 us per alert for everything an import writes.
This script measures what PostgreSQL alone needs to store an import's rows in the portal's schema, with no
client at all: rows already in their stored form (encrypted, indexed, HMAC'd - copied from rows the portal
wrote) are inserted with one ``INSERT ... SELECT`` per table, server-side, inside a transaction that is then
rolled back (the database does not grow; the tables are vacuumed afterwards: rolled-back rows stay dead
in them and their indexes until then). Per table it prints the rows per second and, with the rows an
import writes per alert (measured from the database: revisions, audit entries and their objective links
per alert written by earlier ``alerts_bench.py import`` runs), the server's floor in alerts per second.

Every index and the generated full-text column are maintained, as on a real import. What the floor leaves
out is everything on the client side (the checks, encryption, blind indexes, snapshots, audit HMACs) and
the round trips: a real import cannot beat it on one database session.

    DB=postgresql+psycopg://postgres@127.0.0.1:5432/bench_alerts
    .venv/bin/python bench/alerts_bench.py import --folder /tmp/bench-alerts --database-url $DB   # once, first
    .venv/bin/python bench/import_floor.py --database-url $DB --rows 20000
"""

from __future__ import annotations

import argparse
import time

import psycopg

# What an import writes to the log per alert (checks and searches, also "alert.*", are not an import's).
_IMPORT_ACTIONS = "('alert.create', 'alert.publish', 'alert.notify', 'alert.import')"
# Copies get ids (and the chain's seq, the references) shifted out of the way of the rows they copy.
_ID_SHIFT = 100_000_000


def _columns(conn, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND is_generated = 'NEVER' "
        "ORDER BY ordinal_position", (table,)).fetchall()
    return [row[0] for row in rows]


def _copy_sql(conn, table: str, source: str, overrides: dict[str, str]) -> str:
    columns = _columns(conn, table)
    chosen = ", ".join(overrides.get(column, column) for column in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {chosen} FROM {source}"


def _timed(conn, sql: str) -> tuple[int, float]:
    start = time.perf_counter()
    count = conn.execute(sql).rowcount
    return count, time.perf_counter() - start


def _alerts_breakdown(conn, sql: str) -> None:
    """Where the alerts insert's time goes: the same insert with fewer indexes (each run rolled back)."""
    indexes = [row[0] for row in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'alerts' AND indexname LIKE 'ix_%'").fetchall()]
    for label, dropped in (("without the full-text GIN index", ["ix_alerts_search_vector"]),
                           (f"without its {len(indexes)} secondary indexes", indexes)):
        try:
            for name in dropped:
                conn.execute(f"DROP INDEX {name}")
            count, seconds = _timed(conn, sql)
            print(f"alerts insert {label}: {count / seconds:,.0f} rows/s ({seconds / count * 1e6:.0f} us/alert)")
        finally:
            conn.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=20_000, help="alerts to copy (other tables in proportion)")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the alerts insert without its full-text index, then without any "
                             "secondary index (dropped inside a transaction that is rolled back)")
    args = parser.parse_args()
    url = args.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        alerts = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
        imported = conn.execute("SELECT count(DISTINCT alert_id) FROM alert_revisions").fetchone()[0]
        if not imported:
            raise SystemExit("no alert written by the portal yet: run alerts_bench.py import first")
        per_alert = {
            "alert_revisions": conn.execute("SELECT count(*) FROM alert_revisions").fetchone()[0] / imported,
            "audit_entries": conn.execute(
                f"SELECT count(*) FROM audit_entries WHERE action IN {_IMPORT_ACTIONS}").fetchone()[0] / imported,
            "audit_objectives": conn.execute(
                "SELECT count(*) FROM audit_objectives o JOIN audit_entries e ON e.id = o.entry_id "
                f"WHERE e.action IN {_IMPORT_ACTIONS}").fetchone()[0] / imported,
        }
        print(f"{alerts:,} alerts in the table; per alert an import writes {per_alert['alert_revisions']:.2f} "
              f"revisions, {per_alert['audit_entries']:.2f} audit entries, {per_alert['audit_objectives']:.2f} "
              f"objective links (measured over {imported:,} alerts the portal wrote)")
        n = args.rows
        per_alert["alerts"] = 1.0
        conn.execute(f"CREATE TEMP TABLE src_alerts AS SELECT * FROM alerts ORDER BY id DESC LIMIT {n}")
        # The revisions of the copied alerts, pointed at the copies (unique per alert and seq).
        conn.execute("CREATE TEMP TABLE src_revisions AS SELECT r.* FROM alert_revisions r "
                     "JOIN src_alerts a ON a.id = r.alert_id")
        conn.execute(f"CREATE TEMP TABLE src_entries AS SELECT * FROM audit_entries WHERE action IN {_IMPORT_ACTIONS} "
                     f"ORDER BY id DESC "
                     f"LIMIT {round(n * per_alert['audit_entries'])}")
        # The links of the copied entries, so the copies satisfy their foreign key like a real import's.
        conn.execute("CREATE TEMP TABLE src_objectives AS SELECT o.* FROM audit_objectives o "
                     "JOIN src_entries e ON e.id = o.entry_id")
        conn.execute("ANALYZE src_alerts, src_revisions, src_entries, src_objectives")
        conn.commit()
        statements = {  # in an order that satisfies the foreign keys
            "alerts": _copy_sql(conn, "alerts", "src_alerts", {
                "id": f"id + {_ID_SHIFT}", "reference": f"'F' || (id + {_ID_SHIFT})",
                "reference_seq": f"reference_seq + {_ID_SHIFT}"}),
            "alert_revisions": _copy_sql(conn, "alert_revisions", "src_revisions", {
                "id": f"id + {_ID_SHIFT}", "alert_id": f"alert_id + {_ID_SHIFT}"}),
            "audit_entries": _copy_sql(conn, "audit_entries", "src_entries", {
                "id": f"id + {_ID_SHIFT}", "seq": f"seq + {_ID_SHIFT}"}),
            "audit_objectives": _copy_sql(conn, "audit_objectives", "src_objectives", {
                "entry_id": f"entry_id + {_ID_SHIFT}"}),
        }
        total_per_alert = 0.0
        print(f"{'table':<18} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'rows/alert':>10} {'us/alert':>9}")
        try:
            for table, sql in statements.items():
                count, seconds = _timed(conn, sql)
                us_per_alert = seconds / count * per_alert[table] * 1e6
                total_per_alert += us_per_alert
                print(f"{table:<18} {count:>8,} {seconds:>8.2f} {count / seconds:>9,.0f} {per_alert[table]:>10.2f} "
                      f"{us_per_alert:>9.0f}")
        finally:
            conn.rollback()
        if args.breakdown:
            _alerts_breakdown(conn, statements["alerts"])
        # The rolled-back copies are dead rows in the tables and their indexes until vacuumed, and they slow
        # every later search and check of the benchmark (320,000 of them after a few runs): clean up now.
        conn.autocommit = True
        for table in statements:
            conn.execute(f"VACUUM ANALYZE {table}")
        floor = 1e6 / total_per_alert
        print(f"server floor, one session: {total_per_alert:.0f} us per alert = {floor:,.0f} alerts/s "
              f"(target 5,000/s = 200 us per alert: the floor is {floor / 5000:.2f} of the target)")


if __name__ == "__main__":
    main()
