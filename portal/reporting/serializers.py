"""The JSON of cycles, returns and consolidations (the API's bodies, declared in ``api_schemas``)."""

from __future__ import annotations

from portal.access import visible
from portal.extensions import db
from portal.reporting import queries
from portal.reporting.consolidation import Consolidation


def _at(value) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def cycle_json(cycle) -> dict:
    return {"id": cycle.id, "template": cycle.template_code, "template_version": cycle.template.version,
            "title": cycle.template.title_en, "objective": cycle.template.objective, "period": cycle.period,
            "due_date": cycle.due_date.isoformat()}


def cycle_detail_json(principal, cycle) -> dict:
    return {**cycle_json(cycle), "columns": cycle.template.columns, "parties": [
        {"party": line.party_code, "status": line.status, "version": line.version, "saved_at": _at(line.saved_at),
         "submitted_at": _at(line.submitted_at), "accepted_at": _at(line.accepted_at)}
        for line in queries.board(principal, cycle)]}


def return_json(principal, party_return) -> dict:
    own = party_return.owner_party_id == principal.party_id
    return {"cycle": party_return.cycle_id, "party": party_return.owner_party.code,
            "status": party_return.status, "version": party_return.submitted_version, "tlp": party_return.tlp,
            "distribution": party_return.distribution_level,
            "return_reason": party_return.return_reason if own else None,
            "rows": queries.shown_rows(principal, party_return)}


def consolidated_json(result: Consolidation) -> dict:
    body = {"cycle": result.cycle.id, "kind": result.kind, "used": result.basis.used,
            "left_out": result.basis.left_out, "previous_period": result.previous_period}
    if result.kind == "sums":
        body.update(totals=result.totals, previous_totals=result.previous_totals,
                    by={name: [{"key": key, **sums} for key, sums in groups] for name, groups in result.by.items()},
                    shares=[{"party": party, "value": value, "share": share} for party, value, share in result.shares])
    else:
        body["matrix"] = {party: {key: {"value": text, "changed": changed} for key, (text, changed) in cells.items()}
                          for party, cells in result.matrix.items()}
    return body


def document_exists(principal):
    """``id -> bool``: whether ``principal`` may see the library document (a policy change's link)."""
    from documents.models import Document

    def check(document_id: int) -> bool:
        return db.session.scalar(visible(Document, principal).where(Document.id == document_id)) is not None

    return check
