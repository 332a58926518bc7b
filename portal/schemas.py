"""The building blocks of the machine API's declarations (pydantic v2), and the OpenAPI parts made of them.

Every request body, query string and response body of ``/api/v1`` is a model declared once, beside its
handlers; ``portal.openapi`` generates the document's schemas and parameters from those models, so what the
document states is what the server enforces. The types here state each constraint in the schema and check
it on input with the API's own messages (``portal.api_errors.fields_of``):

- ``text(limit)``: a string of at most ``limit`` characters that can be stored (no NUL, no lone surrogate);
  ``required=True`` also refuses a blank one (the schema says so with a pattern);
- ``choice(values)``: one of a closed vocabulary (an ``enum``);
- ``stated(schema)``: a constraint the schema states but the feature's own validation checks (a code list
  held in the database, a date's meaning), so that the messages stay the feature's;
- ``optional(base)``: a member that is absent or of ``base`` (never null);
- for multipart/form-data bodies, ``FormModel`` (the fields besides the file, read from the form),
  ``form_boolean`` (true/false as a form sends it) and ``file_part`` (the file, for the document only:
  the file service reads it off the stream and decides its type from the content).

What the schema cannot state (one field against another, today's date, the records in the database) stays
with the feature (``alerts.validation``, ``portal.exchange.validation``) and answers 422 naming the field.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Annotated, Any, ClassVar

from flask import request
from flask_babel import gettext as _
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticCustomError

from portal.api_errors import InvalidInput, fields_of, not_json_object
from portal.routing import MAX_DATABASE_INT

REF_TEMPLATE = "#/components/schemas/{model}"
# What str.strip() removes, spelled out (the JSON Schema, Python and Rust regex engines disagree on \s).
_BLANKS = "".join(f"\\u{ord(char):04x}" for char in map(chr, range(sys.maxunicode + 1))
                  if char.isspace() and ord(char) <= 0xFFFF)
STORABLE_PATTERN = "^[^\\u0000]*$"
NON_BLANK_PATTERN = f"^[^\\u0000]*[^\\u0000{_BLANKS}][^\\u0000]*$"


def _storable(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("api_nul", _("Contains a NUL character."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("api_unicode", _("Contains characters that are not valid Unicode.")) from None
    return value


def _non_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("api_required", _("This field is required."))
    return value


def text(limit: int, *, required: bool = False, description: str | None = None, **schema: Any):
    """A storable string of at most ``limit`` characters (not blank when ``required``)."""
    pattern = NON_BLANK_PATTERN if required else STORABLE_PATTERN
    checks = [AfterValidator(_storable), *([AfterValidator(_non_blank)] if required else [])]
    return Annotated[str, Field(max_length=limit, description=description,
                                json_schema_extra={"pattern": pattern, **schema}), *checks]


def choice(values, *, blank_ok: bool = False, description: str | None = None):
    """One of ``values`` (a closed vocabulary), refused with the list of choices; ``blank_ok``: or ``""``,
    which means the same as leaving the field out."""
    allowed = tuple(values)

    def check(value: str) -> str:
        if value not in allowed and not (blank_ok and value == ""):
            raise PydanticCustomError("api_choice", _("Choose one of: %(choices)s.", choices=", ".join(allowed)))
        return value

    enum = [*allowed, ""] if blank_ok else list(allowed)
    return Annotated[str, Field(description=description, json_schema_extra={"enum": enum}), AfterValidator(check)]


def date_text(description: str | None = None):
    """A date as YYYY-MM-DD, or ``""`` for none; the feature checks it (and what it means)."""
    return Annotated[str, Field(max_length=40, description=description,
                                json_schema_extra={"anyOf": [{"format": "date"}, {"maxLength": 0}]}),
                     AfterValidator(_storable)]


def stated(base, description: str | None = None, **schema: Any):
    """``base`` with constraints the schema states and the feature's validation checks (its own messages)."""
    return Annotated[base, Field(description=description, json_schema_extra=schema or None)]


def _digits(value, default: int):
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return default
        if not value.isascii() or not value.isdigit():
            raise PydanticCustomError("api_number", _("Enter a whole number."))
        return int(value)
    return value


def query_integer(minimum: int, maximum: int, default: int, description: str | None = None):
    """A whole number from a query string (ASCII digits) within ``minimum`` .. ``maximum``; blank: ``default``
    (give the field the same default)."""
    return Annotated[int, Field(ge=minimum, le=maximum, description=description),
                     BeforeValidator(partial(_digits, default=default))]


def optional(base, description: str | None = None, **schema: Any):
    """A member that is absent (None in Python) or of ``base``; the schema states ``base`` alone, not null."""

    def state(generated: dict) -> None:
        generated.pop("default", None)
        generated.update(schema)

    return Annotated[base, Field(default=None, description=description, json_schema_extra=state)]


_FORM_TRUE = frozenset({"1", "true", "yes", "on"})
_FORM_FALSE = frozenset({"", "0", "false", "no", "off"})


def _form_boolean(value):
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _FORM_TRUE:
        return True
    if word in _FORM_FALSE:
        return False
    raise PydanticCustomError("api_boolean", _("Send true or false."))


def form_boolean(description: str | None = None):
    """A form field's true or false (``true``/``1``/``yes``/``on``, ``false``/``0``/``no``/``off`` or blank, any
    case); anything else refused with the API's message."""
    return Annotated[bool, Field(description=description), BeforeValidator(_form_boolean)]


def file_part(description: str):
    """The file of a multipart/form-data body, as the document states it (never parsed by a model)."""
    return Annotated[str, Field(description=description,
                                json_schema_extra={"contentMediaType": "application/octet-stream"})]


DatabaseId = Annotated[int, Field(ge=1, le=MAX_DATABASE_INT)]
PATH_ID = {"type": "integer", "minimum": 0, "maximum": MAX_DATABASE_INT}


class ApiModel(BaseModel):
    """A request or response body of the machine API: unknown fields refused, no type coercion.

    ``type_messages`` words a field's type errors its own way (by field name, dotted for nested ones).
    """

    model_config = ConfigDict(extra="forbid", strict=True)
    type_messages: ClassVar[dict[str, Any]] = {}

    @classmethod
    def check(cls, data) -> tuple[ApiModel | None, dict[str, str]]:
        """``(model, {})``, or ``(None, one message per bad field)``."""
        try:
            return cls.model_validate(data), {}
        except ValidationError as error:
            return None, fields_of(error, cls.type_messages)

    @classmethod
    def parse(cls, data):
        """The model, or ``InvalidInput`` (422) naming every bad field."""
        model, errors = cls.check(data)
        if errors:
            raise InvalidInput(errors)
        return model

    @classmethod
    def parse_json(cls, body):
        """A JSON request body: 400 when it is not an object, 422 naming every bad field."""
        if not isinstance(body, dict):
            raise not_json_object()
        return cls.parse(body)


class QueryModel(ApiModel):
    """A query string: every parameter once; unknown ones refused (``extra="ignore"`` to let them pass)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    @classmethod
    def from_args(cls, args):
        """The model of a request's ``args``, or ``InvalidInput`` naming each bad parameter."""
        values, errors = {}, {}
        known = set(cls.model_fields)
        for key in args:
            name = str(key)[:40]
            given = args.getlist(key)
            if key not in known and cls.model_config.get("extra") == "ignore":
                continue
            if key not in known:
                errors[name] = _("Unknown parameter.")
            elif len(given) > 1:
                errors[name] = _("Give this parameter once.")
            else:
                values[key] = given[0]
        model, invalid = cls.check(values)
        errors = {**invalid, **errors}
        if errors:
            raise InvalidInput(errors)
        return model


class FormModel(ApiModel):
    """The fields of a multipart/form-data body besides its file (strings, each read once), declared and
    checked like a JSON body. Declare the upload's document model as a subclass adding the ``file_part``."""

    model_config = ConfigDict(extra="forbid", strict=False)

    @classmethod
    def check_form(cls, fields) -> tuple[dict, dict[str, str]]:
        """``(values, {})`` from the form's ``fields`` (a ``MultiDict``, its first value of each key), or
        ``({}, one message per bad field)``: the ``check_fields`` of ``documents.transfer.receive_api_upload``."""
        model, errors = cls.check({key: fields.get(key) for key in fields})
        return (model.model_dump(), {}) if model is not None else ({}, errors)


# --- the OpenAPI parts ---------------------------------------------------------------------------------

class _OpenApiSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema without the titles it derives from Python names (noise in the document)."""

    def field_title_should_be_set(self, schema) -> bool:
        return False

    def generate(self, schema, mode="validation"):
        document = super().generate(schema, mode)
        document.pop("title", None)
        for definition in document.get("$defs", {}).values():
            definition.pop("title", None)
        return document


def component_schemas(*models: type[BaseModel]) -> dict:
    """The component schemas of ``models`` (and of the models they use), by model name."""
    schemas: dict = {}
    for model in models:
        mode = "serialization" if getattr(model, "is_response", False) else "validation"
        schema = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=_OpenApiSchema, mode=mode)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def query_parameters(model: type[QueryModel], descriptions: dict[str, str] | None = None) -> list[dict]:
    """The OpenAPI query parameters of ``model``'s fields."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=_OpenApiSchema)
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema["properties"].items():
        description = field_schema.pop("description", None) or (descriptions or {}).get(name)
        field_schema.pop("default", None) if field_schema.get("default") is None else None
        parameter = {"name": name, "in": "query", "required": name in required, "schema": field_schema}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


class ResponseModel(BaseModel):
    """A response body, declared for the document (the handlers build the same JSON; the all-checks fuzz
    test holds every answer to its declaration). Open to new fields, as a response may grow."""

    is_response: ClassVar[bool] = True


def json_body():
    """The request's JSON, or ``InvalidInput`` (400) when it is not JSON."""
    body = request.get_json(silent=True)
    if body is None:
        raise not_json_object()
    return body
