"""Probes and metrics for the operator: ``/healthz``, ``/readyz``, ``/metrics``.

- ``GET /healthz``: the process answers (no database, no network): a liveness probe.
- ``GET /readyz``: the database answers, Redis answers when it is configured (the rate-limit store), and
  the blob store is reachable; 200 ``{"status": "ready"}``, or 503 naming each dependency that is down
  (only its name: an error text can carry a host name or a credential; the log line has the error class).
  A load balancer sends traffic only to hosts that are ready.
- ``GET /metrics``: Prometheus text, only with ``Authorization: Bearer <PORTAL_METRICS_TOKEN>``; without
  that setting the route answers 404, as if it did not exist.
"""

from __future__ import annotations

import hmac
import logging
import os

from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select, text

from portal.errors import RETRY_AFTER_SECONDS
from portal.routing import public

bp = Blueprint("ops", __name__)
log = logging.getLogger("portal.health")


@bp.get("/healthz")
@public
def healthz():
    """Liveness: the process is up and serving requests."""
    return jsonify(status="alive")


def _database() -> None:
    from portal.extensions import db

    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _redis() -> None:
    import redis

    url = current_app.config.get("RATELIMIT_STORAGE_URI", "")
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def _blob_store() -> None:
    from portal.backup import registered_blob_store

    registered_blob_store().check()


def _checks() -> dict:
    checks = {"database": _database, "blob_store": _blob_store}
    if current_app.config.get("RATELIMIT_STORAGE_URI", "").startswith(("redis://", "rediss://")):
        checks["redis"] = _redis
    return checks


@bp.get("/readyz")
@public
def readyz():
    """Readiness: every dependency a request needs answers; 503 naming those that do not."""
    down = []
    for name, check in _checks().items():
        try:
            check()
        except Exception as error:  # noqa: BLE001 - any failure means not ready; the answer names the dependency only
            log.warning("dependency down", extra={"fields": {"dependency": name, "error": type(error).__name__}})
            down.append(name)
    if down:
        response = jsonify(status="unavailable", down=down)
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return jsonify(status="ready", checked=sorted(_checks()))


class _BacklogCollector:
    """Gauges read from the database when scraped: the audit queue, the outbox, an unfinished rotation."""

    def collect(self):
        from portal.audit.models import AuditQueueEntry
        from portal.extensions import db
        from portal.keyring import current_keyring
        from portal.outbox.models import OutboxMessage
        from portal.rotation_work import pending_work

        figures = (
            ("portal_audit_queue_depth", "Audit entries committed and not yet chained",
             lambda: db.session.scalar(select(func.count()).select_from(AuditQueueEntry))),
            ("portal_outbox_backlog", "Outbox messages waiting to be sent",
             lambda: db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.status == "pending"))),
            ("portal_key_rotation_pending", "Encrypted values and file keys not yet under the active key",
             lambda: pending_work(current_keyring())),
        )
        for name, documentation, count in figures:
            try:
                value = count()
            except Exception as error:  # noqa: BLE001 - a database outage must not break the scrape of the counters
                log.warning("metric unavailable", extra={"fields": {"metric": name, "error": type(error).__name__}})
                db.session.rollback()
                continue
            yield GaugeMetricFamily(name, documentation, value=value)


def _authorised() -> bool:
    token = current_app.config.get("METRICS_TOKEN") or ""
    offered = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())


@bp.get("/metrics")
@public
def metrics():
    """Prometheus metrics, behind ``PORTAL_METRICS_TOKEN`` (404 without it)."""
    if not _authorised():
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    backlog = CollectorRegistry(auto_describe=False)
    backlog.register(_BacklogCollector())
    return Response(generate_latest(counters) + generate_latest(backlog), mimetype=CONTENT_TYPE_LATEST)
