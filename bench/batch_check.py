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
import http.client
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import alerts_bench


def manifests(count: int, size: int, known: int, rng: random.Random) -> list[bytes]:
    """``count`` JSON manifests of ``size`` documents, drawn like ``alerts_bench.check_paths``."""
    bodies = []
    for _ in range(count):
        documents = [dict(parse_qsl(urlsplit(path).query)) for path in alerts_bench.check_paths(size, known, rng)]
        bodies.append(json.dumps({"documents": documents}).encode())
    return bodies


def post_load(port: int, bodies: list[bytes], token: str, clients: int, duration: float) -> dict:
    """``clients`` threads, each with one keep-alive connection, POSTing manifests for ``duration`` s."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.perf_counter() + duration
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def run(offset: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, codes, n = [], {}, offset
        while time.perf_counter() < stop:
            began = time.perf_counter()
            conn.request("POST", "/api/v1/alerts/check", body=bodies[n % len(bodies)], headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - began)
            codes[response.status] = codes.get(response.status, 0) + 1
            n += clients
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, seen in codes.items():
                statuses[code] = statuses.get(code, 0) + seen

    threads = [threading.Thread(target=run, args=(offset,)) for offset in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0.0

    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50": pct(50), "p95": pct(95),
            "p99": pct(99), "mean": statistics.fmean(latencies) * 1000 if latencies else 0.0,
            "statuses": statuses, "client": "python"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default="/tmp/bench-alerts")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 2))
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--duration", type=float, default=10)
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
        post_load(args.port, bodies, token, args.clients, 3)  # warm up
        alerts_bench.python_load(args.port, singles, token, args.clients, 3, 2_000)
        batch = post_load(args.port, bodies, token, args.clients, args.duration)
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
