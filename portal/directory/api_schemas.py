"""The response bodies of the directory API, declared once (pydantic); the OpenAPI schemas are generated
from these classes."""

from typing import Any

from pydantic import Field

from portal.schemas import ResponseModel


class Network(ResponseModel):
    id: int
    code: str
    name: str
    name_es: str | None
    parties: list[str]


class NetworkList(ResponseModel):
    networks: list[Network]


class Member(ResponseModel):
    """A directory entry; `phones` is null when the reader may not see them."""

    id: int
    name: str | None = None
    party: str
    role: str | None = None
    phones: Any = Field(None, json_schema_extra={"type": ["array", "object", "string", "null"]})
    phones_restricted: bool


class NetworkMembers(ResponseModel):
    network: Network
    members: list[Member]


RESPONSES = (NetworkList, NetworkMembers)
