"""Every JSON error body of the machine API, built here and nowhere else.

The shapes (declared for the OpenAPI document in ``portal.schemas``):

- a refusal or error: ``{"error": reason, "status": code}``, sometimes with ``message`` or ``code``;
- bad input: ``{"error": "invalid input", "status": 400 or 422, "fields": {field: message}}``, one message
  per bad field. ``InvalidInput`` raised anywhere in an API view answers it (the handler is registered for
  the whole application by the core API blueprint, ``portal.api``), and ``fields_of`` turns a pydantic
  ``ValidationError`` into those fields: the one place where pydantic's error types become messages.
"""

from __future__ import annotations

from flask import Response, jsonify
from flask_babel import gettext as _
from pydantic import ValidationError

INVALID_INPUT = "invalid input"
# Keys a client made up are echoed back cut to this length.
MAX_ECHOED_KEY = 40


def api_error(status: int, error: str, **extra) -> Response:
    """``{"error", "status", **extra}`` with ``status``; a 401 also names the bearer scheme."""
    response = jsonify({"error": error, "status": status, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="rcm-portal"'
    return response


def invalid_response(fields: dict[str, str], status: int = 422, **extra) -> Response:
    """Bad input: one message per field; nothing was stored."""
    return api_error(status, INVALID_INPUT, fields={key: str(value) for key, value in fields.items()},
                          **extra)


def not_json_object(hint: str | None = None) -> InvalidInput:
    """The 400 answer to a body that is not a JSON object."""
    return InvalidInput({"body": hint or _("Send a JSON object (Content-Type: application/json).")}, status=400)


class InvalidInput(ValueError):
    """The request cannot be used; ``status`` is 400 (not a JSON object) or 422 (``fields`` are bad)."""

    def __init__(self, fields: dict[str, str], status: int = 422):
        super().__init__("; ".join(f"{key}: {value}" for key, value in fields.items()))
        self.fields = dict(fields)
        self.status = status

    def response(self) -> Response:
        return invalid_response(self.fields, self.status)


# --- pydantic's errors as the API's messages ---------------------------------------------------------

def _field_name(location: tuple, error_type: str) -> str:
    """``("distribution", "level")`` -> ``distribution.level``; a list position names its list, and the
    item's own field too when it has one: ``("documents", 3, "document_number")`` ->
    ``documents[3].document_number``."""
    parts: list[str] = []
    for position, part in enumerate(location):
        if not isinstance(part, int):
            parts.append(str(part))
        elif parts and position + 1 < len(location) and not isinstance(location[position + 1], int):
            parts[-1] += f"[{part}]"
    if error_type == "extra_forbidden" and parts:
        parts[-1] = parts[-1][:MAX_ECHOED_KEY]
    return ".".join(parts) or "body"


def _message(error: dict, messages: dict[str, object], name: str) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "missing" or (error.get("input", "") is None and kind != "extra_forbidden"):
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind == "string_too_long":
        return _("At most %(limit)d characters.", limit=context["max_length"])
    if kind == "too_long":
        return _("At most %(limit)d items.", limit=context["max_length"])
    if name in messages and len(error["loc"]) == 1:  # the model words its own field's errors
        return str(messages[name])
    if kind.startswith("api_"):  # raised by portal.schemas' validators, already worded
        return error["msg"]
    if kind in ("string_type", "string_too_short", "string_pattern_mismatch"):
        return _("Expected text.")
    if kind in ("bool_type", "bool_parsing"):
        return _("Must be true or false.")
    if kind in ("list_type", "tuple_type"):
        return _("Expected a list.")
    return _("Invalid value.")


def fields_of(error: ValidationError, messages: dict[str, str] | None = None) -> dict[str, str]:
    """One message per bad field of a pydantic ``ValidationError`` (the first error of each field wins).

    ``messages``: a model's own wording of a field's type errors (``ApiModel.type_messages``).
    """
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False):
        name = _field_name(item["loc"], item["type"])
        fields.setdefault(name, _message(item, messages or {}, name))
    return fields
