"""Machine API for the network directories (scope ``directory:read``).

``GET /api/v1/networks`` and ``GET /api/v1/networks/<id>/members``; entries are read through the same
scoping query as the pages, and restricted phones follow the same rule (``phones`` is null).
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.exceptions import NotFound

from auth.tokens import token_required
from portal.api_errors import api_error
from portal.directory import api_schemas, queries
from portal.extensions import csrf
from portal.openapi import contribute, json_content, operation, path_id, ref
from portal.parties.models import Network
from portal.principal import current_principal
from portal.schemas import component_schemas

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
        return api_error(404, "no such network")
    result = queries.read_network_members(principal, network)
    return jsonify({"network": _network_json(network), "members": result})


# --- the description of the routes above, for GET /api/v1/openapi.json -------------------------------

contribute(bp.name, schemas=component_schemas(*api_schemas.RESPONSES),
           tags=[{"name": "directory", "description": "Network directories."}], paths={
    "/api/v1/networks": {"get": operation(
        operation_id="listNetworks", summary="The networks and their parties", scope="directory:read",
        tags=["directory"],
        responses={"200": {"description": "Every network.", "content": json_content(ref("NetworkList"))}},
    )},
    "/api/v1/networks/{network_id}/members": {"get": operation(
        operation_id="networkMembers", summary="The directory entries of a network", scope="directory:read",
        tags=["directory"], parameters=[path_id("network_id")],
        responses={"200": {"description": "The network and its members.",
                           "content": json_content(ref("NetworkMembers"))}},
        errors=(404,),
    )},
})
