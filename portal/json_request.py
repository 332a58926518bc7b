"""The application's request class: a JSON body nested too deeply is bad input (400), not a crash.

Python's JSON decoder recurses once per nesting level, so ``[`` x 100,000 raises ``RecursionError``, which
``get_json(silent=True)`` does not catch (it catches ``ValueError`` only) and which became a 500 on every
JSON route. Catching it here, where every route reads its body, covers them all.
"""

from __future__ import annotations

from flask import Request
from flask_babel import gettext as _

from portal.api_errors import InvalidInput


class PortalRequest(Request):
    """``flask.Request`` whose ``get_json`` answers a too deeply nested body with a 400 ``InvalidInput``."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        """The parsed JSON body, as Flask's; a body nested beyond the decoder's depth is ``InvalidInput``."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise InvalidInput({"body": _("The JSON body is nested too deeply.")}, status=400) from None
