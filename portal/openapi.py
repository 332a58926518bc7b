"""The OpenAPI 3.1 document of the machine API (``GET /api/v1/openapi.json``), assembled from parts.

Each API blueprint describes its own routes next to them: it calls ``contribute(bp.name, paths=...,
schemas=component_schemas(...))`` at import time, the schemas generated from the pydantic models that
declare its bodies and query strings (``portal.schemas``), and ``build_document(app)`` merges the parts of the blueprints the
application registered, in registration order. The core's own routes (health, me, this document) are
described here. ``tests/test_openapi.py`` compares the document with ``app.url_map``, so a route without a
description (or a description without a route) fails the suite.

``operation()`` builds one operation object with the house conventions: bearer security with its scope,
and the 401, 403 and 429 answers every authenticated route gives; ``error_responses()`` the 4xx bodies.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Annotated, Literal

from flask import Flask
from pydantic import Field

from portal.schemas import PATH_ID, ResponseModel, component_schemas

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"


@dataclass
class Contribution:
    """What one blueprint adds: path items (full paths, ``/api/v1/...``) and component schemas."""

    paths: dict = field(default_factory=dict)
    schemas: dict = field(default_factory=dict)
    tags: list = field(default_factory=list)


_CONTRIBUTIONS: dict[str, Contribution] = {}


def contribute(blueprint: str, *, paths: dict, schemas: dict | None = None, tags: list | None = None) -> None:
    """Register the description of ``blueprint``'s routes (called once, at import of its module)."""
    _CONTRIBUTIONS[blueprint] = Contribution(paths=paths, schemas=schemas or {}, tags=tags or [])


def ref(name: str) -> dict:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def request_body(model: type) -> dict:
    """A required JSON request body declared by ``model``."""
    return {"required": True, "content": json_content(ref(model.__name__))}


def path_id(name: str) -> dict:
    """A path parameter holding a record id (the database's integer range)."""
    return {"name": name, "in": "path", "required": True, "schema": dict(PATH_ID)}


def error_response(description: str, schema: str = "Error") -> dict:
    return {"description": description, "content": json_content(ref(schema))}


def error_responses(*codes: int) -> dict:
    """The standard answers for ``codes`` (400, 401, 403, 404, 422, 429)."""
    standard = {
        400: error_response("The body is not a JSON object.", "InvalidInput"),
        401: error_response("No valid bearer token (missing, unknown, expired or revoked)."),
        403: error_response("The token lacks the scope, its owner the permission, or the address is refused."),
        404: error_response("No such record, or not one the token's owner may see: both look the same."),
        422: error_response("One or more fields are invalid: one message per field.", "InvalidInput"),
        429: error_response("Too many requests with this token (per-token rate limit)."),
    }
    return {str(code): standard[code] for code in codes}


def operation(*, operation_id: str, summary: str, scope: str | None | bool, responses: dict,
              description: str = "", parameters: list | None = None, request_body: dict | None = None,
              tags: list | None = None, errors: tuple[int, ...] = ()) -> dict:
    """One operation. ``scope``: a scope name, ``None`` for any valid token, ``False`` for a public route."""
    spec: dict = {"operationId": operation_id, "summary": summary}
    if description:
        spec["description"] = description
    if tags:
        spec["tags"] = tags
    if parameters:
        spec["parameters"] = parameters
    if request_body:
        spec["requestBody"] = request_body
    answers = dict(responses)
    if scope is False:
        spec["security"] = []
    else:
        spec["security"] = [{"bearerToken": [scope] if scope else []}]
        if scope:
            spec["x-required-scope"] = scope
        answers.update(error_responses(401, 403, 429))
    answers.update(error_responses(*errors))
    spec["responses"] = dict(sorted(answers.items()))
    return spec


# --- the core's routes --------------------------------------------------------------------------------

class Error(ResponseModel):
    """Every refusal and error under /api/: a short machine-readable reason and the status."""

    error: str
    status: Annotated[int, Field(ge=400, le=599)]
    message: str | None = None
    code: str | None = None


class InvalidInput(ResponseModel):
    """Bad input: one message per bad field (the distribution's parts as `distribution.level`,
    `distribution.parties`, `distribution.network`). Nothing is stored."""

    error: Literal["invalid input"]
    status: Literal[400, 422]
    fields: dict[str, str]


class Health(ResponseModel):
    status: Literal["ok"]


class Me(ResponseModel):
    user_id: int
    party: str = Field(description="The code of the token owner's party.")
    role: str
    scopes: list[str]


_CORE_PATHS = {
    "/api/v1/health": {"get": operation(
        operation_id="health", summary="Liveness probe", scope=False, tags=["core"],
        responses={"200": {"description": "The service answers.", "content": json_content(ref("Health"))}},
    )},
    "/api/v1/me": {"get": operation(
        operation_id="me", summary="The token's owner, party, role and scopes", scope=None, tags=["core"],
        description="Any valid token.",
        responses={"200": {"description": "Who the token acts for.", "content": json_content(ref("Me"))}},
    )},
    "/api/v1/openapi.json": {"get": operation(
        operation_id="openapi", summary="This document (OpenAPI 3.1)", scope=False, tags=["core"],
        responses={"200": {"description": "The OpenAPI document of every /api/v1 route.",
                           "content": json_content({"type": "object"})}},
    )},
}

contribute("api", paths=_CORE_PATHS, schemas=component_schemas(Error, InvalidInput, Health, Me),
           tags=[{"name": "core", "description": "Health, identity and this document."}])


# --- the document -------------------------------------------------------------------------------------

def build_document(app: Flask) -> dict:
    """The OpenAPI document of the routes ``app`` serves, from the contributions of its blueprints.

    Raises ``ValueError`` when two blueprints describe the same path or the same schema differently.
    """
    paths: dict = {}
    schemas: dict = {}
    tags: list = []
    for name in app.blueprints:
        part = _CONTRIBUTIONS.get(name)
        if part is None:
            continue
        for path, item in part.paths.items():
            if path in paths:
                raise ValueError(f"OpenAPI path {path} is described twice (blueprint {name})")
            paths[path] = deepcopy(item)
        for schema_name, schema in part.schemas.items():
            if schema_name in schemas and schemas[schema_name] != schema:
                raise ValueError(f"OpenAPI schema {schema_name} is defined twice (blueprint {name})")
            schemas[schema_name] = deepcopy(schema)
        tags.extend(deepcopy(part.tags))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "RCM secure portal: machine API",
            "version": API_VERSION,
            "summary": "Border systems check documents against the early-warning database of the "
                       "Regional Conference on Migration, and report and read alerts.",
            "description": "JSON over HTTPS. Authenticate with a personal API token "
                           "(`Authorization: Bearer rcm_...`), created on the account's token page; each "
                           "token carries scopes, and acts with at most its owner's permissions. Requests "
                           "are rate limited per token (429). A record the token's owner may not see "
                           "answers 404, exactly like one that does not exist. Every refusal is audited.",
        },
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token. Scopes: alerts:check (hit / no hit), alerts:read "
                                   "(search and read alerts), alerts:write (report alerts), "
                                   "directory:read, exchange:read, exchange:write, library:read, reporting:read (cycles, "
                                   "returns, consolidation), reporting:write (fill in and submit the party's "
                                   "returns).",
                }
            },
        },
        "security": [{"bearerToken": []}],
    }
