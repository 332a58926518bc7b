"""Machine API v1 (core): health and identity. Feature packages add their own /api/v1 routes."""

from __future__ import annotations

from flask import Blueprint, jsonify

from auth.tokens import token_required
from portal import public
from portal.access import current_principal
from portal.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.get("/health")
@public
def health():
    """Liveness probe; also the baseline of the API benchmarks."""
    return jsonify({"status": "ok"})


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
