"""Machine API v1 (core): health and identity. Feature packages add their own /api/v1 routes.

``InvalidInput`` raised by any API view (``portal.schemas`` parsing a body or query string) answers the
one bad-input body of ``portal.api_errors``; this blueprint registers that handler for the application.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from auth.tokens import token_required
from portal.api_errors import InvalidInput
from portal.extensions import csrf
from portal.openapi import build_document
from portal.principal import current_principal
from portal.routing import public

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.app_errorhandler(InvalidInput)
def _invalid_input(error: InvalidInput):
    return error.response()


@bp.get("/health")
@public
def health():
    """Liveness probe; also the baseline of the API benchmarks."""
    return jsonify({"status": "ok"})


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 document of every /api/v1 route (``portal.openapi``)."""
    return jsonify(build_document(current_app))


@bp.get("/me")
@token_required()
def whoami():
    principal = current_principal()
    return jsonify(
        {
            "user_id": principal.user_id,
            "party": principal.party_code,
            "role": principal.role,
            "scopes": list(principal.scopes),
        }
    )
