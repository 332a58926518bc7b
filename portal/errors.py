"""Error pages (HTML) and error bodies (JSON under /api/). They never echo input or internals."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from portal.extensions import db


def wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if error.code == 429:
            from portal.audit.service import record

            record("request.rate_limited", outcome="denied", details={"endpoint": request.endpoint or ""})
        if wants_json():
            body = {"error": error.name, "status": error.code}
            if error.code == 429:
                body["message"] = "rate limit exceeded"
            return jsonify(body), error.code
        if error.code == 401:
            from flask import redirect, url_for

            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return render_template("errors/error.html", error=error), error.code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
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
            return jsonify({"error": "Internal Server Error", "status": 500}), 500
        return render_template("errors/error.html", error=None), 500
