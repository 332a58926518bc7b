"""The bodies of the reporting API, declared once (pydantic); the OpenAPI schemas are generated from these.

The request models check the shape (``{"rows": [...]}``, each row an object); ``validation.clean_rows``
checks each cell against the cycle's template, and names each bad one (``rows[3].women``).
"""

from typing import Any

from pydantic import Field

from portal.reporting.models import RETURN_STATUSES
from portal.schemas import ApiModel, ResponseModel


class ReturnRows(ApiModel):
    """A return's cells: one object per row, keyed by the template's dimension and measure names."""

    rows: list[dict[str, Any]] = Field(max_length=2000, description="One object per row, e.g. for the flows "
                                       '{"nationality": "IND", "month": "2026-07", "detected": 120, "women": 30}.')


class SubmitRequest(ApiModel):
    """An empty JSON object (`{}`)."""


class Cycle(ResponseModel):
    id: int
    template: str
    template_version: int
    title: str
    objective: str
    period: str
    due_date: str


class CycleList(ResponseModel):
    cycles: list[Cycle]


class PartyStatus(ResponseModel):
    party: str
    status: str = Field(description="not_started, draft, submitted, accepted, returned, or late.")
    version: int
    saved_at: str | None
    submitted_at: str | None
    accepted_at: str | None


class CycleDetail(Cycle):
    columns: list[dict[str, Any]]
    parties: list[PartyStatus]


class Return(ResponseModel):
    cycle: int
    party: str
    status: str = Field(json_schema_extra={"enum": list(RETURN_STATUSES)})
    version: int = Field(description="The latest submitted version (0: none yet).")
    tlp: str
    distribution: str
    return_reason: str | None
    rows: list[dict[str, Any]] = Field(description="The party's own draft for its own users; for anyone else "
                                       "the latest submitted version.")


class Consolidated(ResponseModel):
    cycle: int
    kind: str
    used: list[str] = Field(description="Parties whose submitted returns are counted (those the viewer may see).")
    left_out: int = Field(description="Returns not counted: not submitted, or not visible to the viewer.")
    totals: dict[str, int] | None = None
    previous_period: str | None = None
    previous_totals: dict[str, int] | None = None
    by: dict[str, list[dict[str, Any]]] | None = None
    shares: list[dict[str, Any]] | None = None
    matrix: dict[str, dict[str, Any]] | None = None


REQUESTS = (ReturnRows, SubmitRequest)
RESPONSES = (CycleList, CycleDetail, Return, Consolidated)
