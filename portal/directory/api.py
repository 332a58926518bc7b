"""Machine API for the network directories (scope ``directory:read``).

``GET /api/v1/networks`` and ``GET /api/v1/networks/<id>/members``; entries are read through the same
scoping query as the pages, and restricted phones follow the same rule (``phones`` is null).
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.exceptions import NotFound

from auth.tokens import token_required
from portal.access import current_principal
from portal.audit.service import record
from portal.directory import queries
from portal.extensions import csrf
from portal.parties.models import Network

bp = Blueprint("directory_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _network_json(network: Network) -> dict:
    return {"id": network.id, "code": network.code, "name": network.name_en, "name_es": network.name_es,
            "parties": [party.code for party in network.parties]}


@bp.get("/networks")
@token_required("directory:read")
def networks():
    return jsonify({"networks": [_network_json(network) for network in queries.all_networks()]})


@bp.get("/networks/<int:network_id>/members")
@token_required("directory:read")
def members(network_id):
    principal = current_principal()
    try:
        network = queries.get_network_or_404(principal, network_id)  # audits the denial
    except NotFound:
        response = jsonify({"error": "no such network", "status": 404})
        response.status_code = 404
        return response
    rows = queries.network_members(principal, network.id)
    visible_networks = queries.viewer_network_ids(principal)
    result = []
    for membership, entry in rows:
        item = queries.entry_summary(entry, queries.phones_visible(entry, principal, visible_networks))
        item["role"] = membership.role
        result.append(item)
    record("directory.api.members", object_type="network", object_id=network.id, details={"count": len(result)})
    return jsonify({"network": _network_json(network), "members": result})
