"""One transaction per request: operations only flush; this wrapper commits once, or rolls back.

A response below 500 commits (a refused request still commits its 'denied' audit entry); a 500 rolls
back everything the request wrote, and the error handler then records the error in a fresh transaction.
"""

from __future__ import annotations

from flask import Flask

from portal.extensions import db


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit_or_rollback(response):
        if response.status_code >= 500:
            db.session.rollback()
        else:
            db.session.commit()  # a failure here propagates and becomes a 500 with a rollback
        return response
