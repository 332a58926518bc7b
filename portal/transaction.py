"""One transaction per request: operations only flush; this wrapper commits once, or rolls back.

A response below 500 commits (a refused request still commits its 'denied' audit entry); a 500 rolls
back everything the request wrote, and the error handler then records the error in a fresh transaction.
A commit that fails because the database went away answers 503 with ``Retry-After`` (``portal.errors``).
"""

from __future__ import annotations

from flask import Flask

from portal.errors import unavailable_answer, unavailable_dependency
from portal.extensions import db


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit_or_rollback(response):
        if response.status_code >= 500:
            db.session.rollback()
            return response
        try:
            db.session.commit()  # any other failure here propagates and becomes a 500 with a rollback
        except Exception as error:
            dependency = unavailable_dependency(error)
            if dependency is None:
                raise
            return unavailable_answer(dependency, error)
        return response
