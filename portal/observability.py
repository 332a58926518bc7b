"""What an operator sees of a running portal: request ids, structured JSON logs, Prometheus metrics.

- Every request gets an id (``g.request_id``): the caller's ``X-Request-ID`` when it is a plain token of
  8 to 32 letters, digits and dashes (a proxy's id, so one id follows the request through), else a new
  random one. It is sent back in ``X-Request-ID``, written in every log line of the request and in every
  audit entry the request writes (``AuditEntry.request_id``).
- Logs are JSON lines on standard error (``JsonFormatter``): time, level, logger, message, request id and
  the fields a line adds; an exception is logged as its class and frames, never its message. The request line names the endpoint (``alerts.detail``), never the path or the
  query string, which can carry a reset secret, a document number or a name; nor any form field or
  header. Only what this module puts in is logged: a ``fields`` mapping of ids, counts and statuses.
- Metrics (``prometheus_client``): requests by endpoint, method and status, their latency, and, computed
  when scraped, the audit queue depth, the outbox backlog and the values a key rotation has still to move
  (``portal.health`` serves them behind ``PORTAL_METRICS_TOKEN``). Under gunicorn, set
  ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder so every worker's counters are summed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sys
import time
import traceback

from flask import Flask, g, has_request_context, request
from prometheus_client import Counter, Histogram

REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,32}")

REQUESTS = Counter("portal_http_requests_total", "HTTP requests answered, by endpoint, method and status",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("portal_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint",
                    ["endpoint", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))

request_log = logging.getLogger("portal.request")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``record.fields`` (a dict of ids, counts, statuses) is merged in."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and g.get("request_id"):
            line["request_id"] = g.request_id
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["frames"] = _frames(record.exc_info[2])
        return json.dumps(line, default=str, ensure_ascii=False)


class _StandardError(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (gunicorn's, or a test runner's capture)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _frames(tb) -> list[str]:
    """Where an exception went through (file, line, function), without its message: an exception's text
    (a database error's parameters, a parser's complaint) can quote the very values the log must not hold."""
    return [f"{frame.filename}:{frame.lineno} {frame.name}" for frame in traceback.extract_tb(tb)]


def configure_logging(app: Flask, stream=None) -> logging.Handler:
    """JSON lines for the ``portal`` loggers (the app's own and every ``portal.*`` module's)."""
    from flask.logging import default_handler

    logger = logging.getLogger("portal")
    for handler in list(logger.handlers):
        if handler is default_handler or getattr(handler, "portal_json", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream) if stream is not None else _StandardError()
    handler.setFormatter(JsonFormatter())
    handler.portal_json = True
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("PORTAL_LOG_LEVEL", "INFO").upper())
    return handler


def _start() -> None:
    offered = request.headers.get("X-Request-ID", "")
    g.request_id = offered if REQUEST_ID.fullmatch(offered) else secrets.token_hex(16)
    g.request_started = time.perf_counter()


def _finish(response):
    started = g.get("request_started")
    endpoint = request.endpoint or "unmatched"
    status = response.status_code
    if started is not None:
        elapsed = time.perf_counter() - started
        REQUESTS.labels(endpoint, request.method, str(status)).inc()
        LATENCY.labels(endpoint, request.method).observe(elapsed)
        request_log.info("request", extra={"fields": {"endpoint": endpoint, "method": request.method,
                                                      "status": status, "duration_ms": round(elapsed * 1000, 1)}})
    if g.get("request_id"):
        response.headers["X-Request-ID"] = g.request_id
    return response


def init_app(app: Flask) -> None:
    """Request ids, the request log line and the request metrics, for every request."""
    configure_logging(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)  # before anything may log or audit
    app.after_request(_finish)
