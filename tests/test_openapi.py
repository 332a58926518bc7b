"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document describing exactly the /api/v1 routes served."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from portal import openapi

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def _operations(document):
    for path, item in document["paths"].items():
        for method, spec in item.items():
            if method in METHODS:
                yield path, method, spec


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method.lower(), rule


def test_it_is_public_and_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    errors = [f"{'/'.join(map(str, error.instance_path))}: {error.message}"
              for error in OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert errors == []


def test_every_schema_is_valid_json_schema_2020_12(document):
    schemas = dict(document["components"]["schemas"])
    for path, method, spec in _operations(document):
        for parameter in spec.get("parameters", []):
            schemas[f"{method} {path} {parameter['name']}"] = parameter["schema"]
    for name, schema in schemas.items():
        assert jsonschema_rs.meta.is_valid({"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}), name


def test_every_reference_resolves(document):
    text = str(document)
    names = set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text))
    assert names and names <= set(document["components"]["schemas"])


def test_it_lists_exactly_the_api_routes_of_the_url_map(app, document):
    served = {(path, method) for path, method, _rule in _api_rules(app)}
    described = {(path, method) for path, method, _spec in _operations(document)}
    assert served - described == set(), "routes without a description in the OpenAPI document"
    assert described - served == set(), "descriptions of routes that do not exist"
    assert {"/api/v1/health", "/api/v1/me", "/api/v1/openapi.json", "/api/v1/alerts", "/api/v1/alerts/check",
            "/api/v1/alerts/{alert_id}", "/api/v1/mrz/validate"} <= set(document["paths"])


def test_security_follows_each_views_scope(app, document):
    assert document["components"]["securitySchemes"]["bearerToken"] == {
        **document["components"]["securitySchemes"]["bearerToken"], "type": "http", "scheme": "bearer"}
    specs = {(path, method): spec for path, method, spec in _operations(document)}
    for path, method, rule in _api_rules(app):
        view = app.view_functions[rule.endpoint]
        spec = specs[(path, method)]
        if getattr(view, "is_public", False):
            assert spec["security"] == [], path
            continue
        scope = view.required_scope
        assert spec["security"] == [{"bearerToken": [scope] if scope else []}], path
        assert {"401", "403", "429"} <= set(spec["responses"]), path
        assert spec.get("x-required-scope") == (scope or None), path


def _resolve(document, schema: dict) -> dict:
    name = schema.get("$ref", "").removeprefix("#/components/schemas/")
    return document["components"]["schemas"][name] if name else schema


def test_operations_describe_their_bodies_and_errors(document):
    for path, method, spec in _operations(document):
        where = f"{method.upper()} {path}"
        assert spec["operationId"] and spec["summary"], where
        success = [code for code in spec["responses"] if code.startswith("2")]
        assert len(success) == 1, where
        assert all("schema" in media for media in spec["responses"][success[0]]["content"].values()), where
        for code, response in spec["responses"].items():
            if code[0] != "4":
                continue
            schema = _resolve(document, response["content"]["application/json"]["schema"])
            assert {"error", "status"} <= set(schema["required"]), f"{where} {code}"
            if code == "422":  # bad input names each bad field (docs/CONVENTIONS.md, rule 5)
                assert "fields" in schema["properties"], f"{where} {code}"
        if method == "post":
            assert spec["requestBody"]["required"] is True and "422" in spec["responses"], where
    for path, method in (("/api/v1/alerts", "post"), ("/api/v1/mrz/validate", "post")):
        responses = document["paths"][path][method]["responses"]
        assert {responses[code]["content"]["application/json"]["schema"]["$ref"] for code in ("400", "422")} == {
            "#/components/schemas/InvalidInput"}
    alert_input = document["components"]["schemas"]["AlertInput"]
    assert set(alert_input["required"]) >= {"document_category", "issuing_state", "fraud_type", "description",
                                            "distribution", "tlp"}
    assert alert_input["additionalProperties"] is False
    assert set(document["components"]["schemas"]["CheckAlert"]["required"]) == {
        "id", "reference", "fraud_type", "status", "issuing_state", "reporting_party", "tlp", "match"}


def test_documented_scopes_are_the_registry(document):
    from auth.permissions import TOKEN_SCOPES

    description = document["components"]["securitySchemes"]["bearerToken"]["description"]
    assert all(scope in description for scope in TOKEN_SCOPES)


def test_two_blueprints_describing_one_path_is_an_error(app, monkeypatch):
    monkeypatch.setitem(openapi._CONTRIBUTIONS, "alerts_api", openapi.Contribution(
        paths={"/api/v1/health": {"get": {}}}))
    with pytest.raises(ValueError, match="/api/v1/health"):
        openapi.build_document(app)


def _validator(document, name: str):
    return jsonschema_rs.validator_for({**document["components"]["schemas"][name],
                                        "components": document["components"]})


def _query_schema(document, path: str, name: str) -> dict:
    return next(parameter["schema"] for parameter in document["paths"][path]["get"]["parameters"]
                if parameter["name"] == name)


def test_the_schemas_state_what_the_server_refuses(document):
    """Requests the server refuses are schema-invalid (found by schemathesis with every check)."""
    assert not jsonschema_rs.is_valid(_query_schema(document, "/api/v1/alerts/check", "issuing_state"), "0" * 500)
    assert not jsonschema_rs.is_valid(_query_schema(document, "/api/v1/submissions", "page"), 28474024)
    assert not jsonschema_rs.is_valid(_query_schema(document, "/api/v1/alerts", "fraud_type"), "no such type")
    mrz = _validator(document, "MrzRequest")
    assert not mrz.is_valid({"mrz": ""}) and not mrz.is_valid({"mrz": " \n "}) and mrz.is_valid({"mrz": "P<UTO"})
    alert = _validator(document, "AlertInput")
    valid = {"document_category": "passport", "issuing_state": "GTM", "fraud_type": "counterfeit",
             "description": "A counterfeit.", "distribution": {"level": "members"}, "tlp": "GREEN"}
    assert alert.is_valid(valid)
    for name in ("document_category", "issuing_state", "fraud_type", "description", "distribution", "tlp"):
        assert not alert.is_valid({**valid, name: None}), name
    assert not alert.is_valid({**valid, "description": "x\x00"})
    assert not alert.is_valid({**valid, "detecting_unit": "x" * 201})


def test_405_answers_name_the_allowed_methods(client):
    for path in ("/api/v1/alerts", "/api/v1/health", "/auth/login"):
        response = client.delete(path)
        assert response.status_code == 405 and response.headers["Allow"], path
    assert set(client.put("/api/v1/alerts").headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert client.delete("/api/v1/alerts").get_json() == {"error": "Method Not Allowed", "status": 405}
