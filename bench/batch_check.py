"""Benchmark: batch checks (issue 15, section 1). Prints figures; asserts nothing.

On a database prepared by ``bench/alerts_bench.py setup`` and ``generate`` (same ``--folder`` and
``--database-url``), serves the portal with gunicorn as ``alerts_bench measure`` does, then in one run:

1. ``--clients`` clients (default 4) POSTing ``/api/v1/alerts/check`` manifests of ``--size`` documents
   (default 300; half hits, half misses, a quarter without a state: the mix of ``alerts_bench``'s checks);
2. the same documents checked one by one (``GET /api/v1/alerts/check``) by the same number of clients.

It prints documents/s, the p50/p99 per request and the ratio batch/single.

    .venv/bin/python bench/batch_check.py --folder /tmp/bench-alerts --database-url $DB
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import alerts_bench

URL = "/api/v1/alerts/check"


def manifests(count: int, size: int, known: int, rng: random.Random) -> list[bytes]:
    """``count`` JSON manifests of ``size`` documents, drawn like ``alerts_bench.check_paths``."""
    bodies = []
    for _ in range(count):
        documents = [dict(parse_qsl(urlsplit(path).query)) for path in alerts_bench.check_paths(size, known, rng)]
        bodies.append(json.dumps({"documents": documents}).encode())
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    alerts_bench.serving_arguments(parser, clients=4, duration=10)
    parser.add_argument("--size", type=int, default=300)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from alerts.models import Alert
    from portal.extensions import db

    folder = Path(args.folder)
    token = json.loads((folder / "tokens.json").read_text())["check"]["secret"]
    app = alerts_bench.make_app(folder, args.database_url)
    with app.app_context():
        known = db.session.scalar(select(func.count(Alert.id)))
        dialect = db.engine.dialect.name
        db.engine.dispose()
    rng = random.Random(2026)
    bodies = manifests(40, args.size, known, rng)
    # The same documents, one request each.
    singles = ["/api/v1/alerts/check?" + "&".join(f"{key}={value}" for key, value in document.items())
               for body in bodies for document in json.loads(body)["documents"]]
    print(f"{known:,} alerts on {dialect}; gunicorn {args.workers} x {args.worker_class} ({args.threads} threads); "
          f"{args.clients} clients; {args.size}-document manifests; load average before: {alerts_bench._loadavg()}")
    server = alerts_bench._serve(args, folder)
    try:
        alerts_bench.python_load(args.port, [URL], token, args.clients, 3, 100, bodies)  # warm up
        alerts_bench.python_load(args.port, singles, token, args.clients, 3, 2_000)
        batch = alerts_bench.python_load(args.port, [URL], token, args.clients, args.duration, 1_000_000, bodies)
        batch_rate = batch["rps"] * args.size
        print(f"batch   {batch_rate:9.0f} documents/s  ({batch['rps']:.1f} manifests/s, p50 {batch['p50']:.1f} ms, "
              f"p99 {batch['p99']:.1f} ms per manifest, {batch['statuses']})", flush=True)
        single = alerts_bench.python_load(args.port, singles, token, args.clients, args.duration, 1_000_000)
        print(f"single  {single['rps']:9.0f} documents/s  (p50 {single['p50']:.1f} ms, p99 {single['p99']:.1f} ms "
              f"per document, {single['statuses']})", flush=True)
        print(f"ratio batch/single: {batch_rate / single['rps']:.1f}   (load average after: "
              f"{alerts_bench._loadavg()})")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
