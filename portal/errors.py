"""Error pages (HTML) and error bodies (JSON under /api/). They never echo input or internals.

A dependency that is down answers 503 with ``Retry-After``, never a 500: the database (unreachable,
restarting, a connection cut: SQLAlchemy's ``OperationalError`` and its kin, wherever in the request they
surface, the commit included), and the rate-limit store (Redis) on the rate-limited routes, which fail
closed rather than let attempts through uncounted. The page is rendered as for an anonymous visitor, so it
asks the database nothing; the log line names the dependency and the error class only.
"""

from __future__ import annotations

import redis
from flask import Flask, current_app, render_template, request
from limits.errors import StorageError
from sqlalchemy import exc as sql
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from portal.api_errors import api_error
from portal.extensions import db, login_manager

# Seconds a client is told to wait before trying again while a dependency is down.
RETRY_AFTER_SECONDS = 5
_DATABASE_DOWN = (sql.OperationalError, sql.InterfaceError, sql.TimeoutError, sql.DisconnectionError)
_RATE_LIMIT_STORE_DOWN = (StorageError, redis.RedisError)


def unavailable_dependency(error: BaseException | None) -> str | None:
    """``"database"`` or ``"redis"`` when ``error`` (or what caused it) says that dependency is down."""
    for _depth in range(5):
        if error is None:
            return None
        if isinstance(error, _DATABASE_DOWN):
            return "database"
        if isinstance(error, _RATE_LIMIT_STORE_DOWN):
            return "redis"
        error = error.__cause__ or error.__context__
    return None


def unavailable_answer(dependency: str, error: BaseException):
    """The 503 for a request that met ``dependency`` down: nothing it did is kept."""
    current_app.logger.warning("dependency unavailable", extra={"fields": {
        "dependency": dependency, "error": type(error).__name__, "endpoint": request.endpoint or ""}})
    try:
        db.session.rollback()
    except sql.SQLAlchemyError:
        pass  # the connection is gone; the pool replaces it
    login_manager._update_request_context_with_user()  # anonymous: the page must not ask who is signed in
    if wants_json():
        response = api_error(503, "service unavailable", code=f"{dependency}_unavailable")
    else:
        response = current_app.make_response((render_template("errors/error.html", error=ServiceUnavailable()), 503))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _with_allow(response, error: HTTPException):
    """A 405 names the methods the resource supports (RFC 9110 section 15.5.6), on pages and API alike."""
    allow = dict(error.get_headers()).get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        dependency = unavailable_dependency(getattr(error, "original_exception", None))
        if dependency is not None:  # raised after the view (Flask wraps it as a 500)
            return unavailable_answer(dependency, error.original_exception)
        return _with_allow(app.make_response(_error_answer(error)), error)

    def _error_answer(error: HTTPException):
        if error.code == 429:
            from portal.audit.service import record

            record("request.rate_limited", outcome="denied", details={"endpoint": request.endpoint or ""})
        if wants_json():
            extra = {"message": "rate limit exceeded"} if error.code == 429 else {}
            return api_error(error.code, error.name, **extra)
        if error.code == 401:
            from flask import redirect, url_for

            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return render_template("errors/error.html", error=error), error.code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        dependency = unavailable_dependency(error)
        if dependency is not None:
            return unavailable_answer(dependency, error)
        app.logger.exception("unhandled error on %s %s", request.method, request.endpoint)  # never the path
        db.session.rollback()
        try:
            from portal.audit.service import record

            record("request.error", outcome="error", details={"endpoint": request.endpoint or "",
                                                              "exception": type(error).__name__})
            db.session.commit()
        except Exception:  # the database itself may be what failed
            db.session.rollback()
            app.logger.exception("could not audit the error")
        if wants_json():
            return api_error(500, "Internal Server Error")
        return render_template("errors/error.html", error=None), 500
