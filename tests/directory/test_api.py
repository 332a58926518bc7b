"""The directory API (scope ``directory:read``)."""

from __future__ import annotations

import json

import pytest

from auth.tokens import create_token
from portal.extensions import db
from tests.directory.factories import audit_rows, make_entry, network

# --- API ----------------------------------------------------------------------------------------------------

def _bearer(make_user, scopes, role="liaison_officer", party_code="GTM"):
    user = make_user(role=role, party_code=party_code)
    _token, secret = create_token(user, name="directory client", scopes=scopes)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_api_lists_networks_with_their_parties(make_user, client):
    response = client.get("/api/v1/networks", headers=_bearer(make_user, ["directory:read"]))
    assert response.status_code == 200
    by_code = {n["code"]: n for n in response.get_json()["networks"]}
    assert len(by_code) == 7
    assert by_code["TRIPARTITE"]["parties"] == ["RNCOM", "TS"]
    assert by_code["LON-CP"]["name"] == "Liaison Officer Network for Consular Protection"
    assert set(by_code["LON-CP"]) == {"id", "code", "name", "name_es", "parties"}


def test_api_members_of_a_network(make_user, client):
    entry = make_entry("GTM", name="María López", networks=(("LON-CP", "coordinator"),))
    make_entry("MEX", name="Fuera de Red", email="f@sre.gob.mx", networks=(("GENDER", "member"),))
    make_entry("HND", name="Dado de Baja", email="d@hnd.example", networks=(("LON-CP", "member"),), active=False)
    response = client.get(f"/api/v1/networks/{network('LON-CP').id}/members",
                          headers=_bearer(make_user, ["directory:read"], party_code="PAN"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["network"]["code"] == "LON-CP"
    assert [(m["id"], m["name"], m["role"], m["party"]) for m in body["members"]] == [
        (entry.id, "María López", "coordinator", "GTM")]


@pytest.mark.parametrize("path", ["/api/v1/networks", "/api/v1/networks/{id}/members"])
def test_api_needs_the_directory_scope(make_user, client, path):
    url = path.format(id=network("LON-CP").id)
    assert client.get(url).status_code == 401
    response = client.get(url, headers=_bearer(make_user, ["alerts:read"]))
    assert response.status_code == 403
    assert response.get_json()["error"] == "this token lacks the scope directory:read"
    assert json.loads(audit_rows("api.scope.denied")[-1].details) == {"scope": "directory:read"}


def test_api_unknown_network_is_404(make_user, client):
    response = client.get("/api/v1/networks/999999/members", headers=_bearer(make_user, ["directory:read"]))
    assert response.status_code == 404
    assert response.get_json() == {"error": "no such network", "status": 404}
