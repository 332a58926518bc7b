"""Error pages (HTML) and error bodies (JSON under /api/). They never echo input or internals."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from portal.api_errors import api_error
from portal.extensions import db


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
