"""What views and URL rules share: the public-view mark and the largest id a URL may carry.

Kept apart from the application factory (``portal/__init__.py``) so that blueprints and operations can
import it without importing the factory that imports them.
"""

from __future__ import annotations

from flask import current_app
from werkzeug.routing import IntegerConverter

MAX_DATABASE_INT = 2**31 - 1  # the primary keys are PostgreSQL INTEGER columns


def public(view):
    """Mark a view as reachable without signing in (login, password reset, language switch)."""
    view.is_public = True
    return view


def embeddable(view):
    """Mark a view whose answer a page of the portal may embed (an ``<img>`` of a record's own file): the
    Fetch Metadata check lets sub-resource requests reach it, and refuses them on every other view."""
    view.is_embeddable = True
    return view


def portal_path(endpoint: str, **values) -> str:
    """The path of ``endpoint`` inside the portal, built from the URL map alone: the same inside a request,
    in a command or in a queued job, and never from a request's ``Host`` header."""
    return current_app.url_map.bind("portal.invalid").build(endpoint, values)


def portal_url(endpoint: str, **values) -> str:
    """The absolute link to ``endpoint`` for e-mails, notifications and exports: ``PORTAL_BASE_URL`` and the
    path, never the request's host (``Host: evil.example`` must not reach a mailed link)."""
    return current_app.config["BASE_URL"] + portal_path(endpoint, **values)


def digits_at_most(limit: int) -> str:
    """A regular expression matching exactly the decimal numbers 0..``limit`` (no leading zeros)."""
    text = str(limit)
    if len(text) == 1:
        return f"[0-{limit}]"
    alternatives = [r"\d"] + [rf"[1-9]\d{{{width - 1}}}" for width in range(2, len(text))]
    for position, digit in enumerate(text):
        rest = len(text) - position - 1
        low = "1" if position == 0 and len(text) > 1 else "0"
        if int(digit) > int(low):
            alternatives.append(f"{text[:position]}[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    alternatives.append(text)
    return "(?:" + "|".join(alternatives) + ")"


class DatabaseIntConverter(IntegerConverter):
    """``<int:...>`` up to the largest database integer: a larger id is not found (404), not a 500.

    The bound is in the regular expression, not only in ``max``: a number past it must not match the rule
    at all. Werkzeug checks a rule's method before its converters, so with the bound in ``max`` alone a
    ``PUT`` to ``/cycles/2147483648/returns/GTM`` met the ``GET`` rule of that path first and answered 405."""

    regex = digits_at_most(MAX_DATABASE_INT)

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_DATABASE_INT)
        super().__init__(map, *args, **kwargs)
