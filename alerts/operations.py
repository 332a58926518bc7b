"""Reporting, revising, publishing, withdrawing, acknowledging and expiring alerts.

Each operation checks the principal, validates everything before writing anything, flushes, keeps a
revision snapshot, and writes its audit entry (``object_type="alert"``; details never carry a document
number, an MRZ or holder data: only the reference, codes and counts). Only users of the reporting party
holding ``report_alert`` (editing) or ``publish_alert`` (publishing, withdrawing) may change an alert; for
anyone else it does not exist (``AlertNotFound``, a 404).
"""

from __future__ import annotations

import json
from datetime import date, datetime

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from werkzeug.exceptions import Forbidden, NotFound

from alerts import vocabulary
from alerts.indexes import NumberRange, number_any_index, number_index, skeleton_index
from alerts.models import Alert, AlertAcknowledgement, AlertRevision
from alerts.mrz import parse_mrz
from alerts.notify import announce, on_status_change
from alerts.references import next_reference
from alerts.validation import AlertValidationError, RecipientLookup, clean, narrative_leaks
from portal.access import (
    RESTRICTED_TLP,
    Marking,
    can_reshare,
    can_reshare_to_network_members,
    get_visible_or_404,
    history_seen_by,
    may_change,
    owns,
    retake_network_audience,
    sees_recipients,
    sent_to_party_ids,
    set_distribution,
    visible,
)
from portal.audit.service import record
from portal.extensions import db
from portal.parties.models import Network, Party
from portal.principal import Principal
from portal.timeutil import utcnow

__all__ = [
    "AlertNotFound",
    "AlertValidationError",
    "acknowledge_alert",
    "acknowledgements",
    "alert_columns",
    "audit_alert",
    "create_alert",
    "creation_details",
    "expire_due_alerts",
    "new_alert_columns",
    "prefill_from_mrz",
    "prepare_new_alert",
    "publication_details",
    "publish_alert",
    "reshare_to_network",
    "revision_row",
    "revisions",
    "snapshot",
    "snapshot_content",
    "update_alert",
    "withdraw_alert",
]

# Fields of an alert as given to create_alert / update_alert, in the order a snapshot lists them.
CONTENT_FIELDS = (
    "detecting_unit", "detection_place_kind", "detection_place", "detection_date", "route", "bearer_nationality",
    "document_category", "document_type", "issuing_state", "series", "document_number", "range_start", "range_end",
    "issue_date", "expiry_date", "fraud_type", "forgery_subtype", "security_features", "description",
    "modus_operandi", "detection_tips", "holder_name", "holder_birth_date", "mrz", "review_date", "objectives",
)
# Output of prefill_from_mrz that describes the MRZ rather than filling a field.
_MRZ_META = ("mrz_format", "mrz_valid", "fraud_indicators")


class AlertNotFound(NotFound):
    """The alert does not exist for this principal (invisible, or not theirs to change): a 404."""


class AlertForbidden(Forbidden):
    """The principal's role does not allow the operation at all (reporting without ``report_alert``)."""


# --- loading ------------------------------------------------------------------------------------------

def _deny(principal, alert_id, action: str, permission: str):
    record(action, outcome="denied", object_type="alert", object_id=alert_id, principal=principal,
           details={"permission": permission})
    return AlertNotFound()


def _own_alert(principal: Principal | None, alert, permission: str, action: str) -> Alert:
    """The alert, if ``principal`` belongs to its reporting party and holds ``permission``; else 404."""
    alert_id = alert.id if isinstance(alert, Alert) else alert
    found = db.session.get(Alert, alert_id) if isinstance(alert_id, int) else None
    if found is None or principal is None or not may_change(found, permission, principal):
        raise _deny(principal, alert_id, action, permission)
    return found


def _require(principal: Principal | None, permission: str, action: str) -> None:
    if principal is None or not principal.can(permission):
        record(action, outcome="denied", object_type="alert", principal=principal, details={"permission": permission})
        raise AlertForbidden()


def read_alert(principal: Principal, alert_id, *, via: str | None = None) -> Alert:
    """The alert ``principal`` opens (404 when invisible, audited as denied), its reading audited; ``via``
    (``api``) names the way in when it is not the pages."""
    alert = get_visible_or_404(Alert, alert_id, principal)
    _audit_view(alert, principal, **({"via": via} if via else {}))
    return alert


def read_revision(principal: Principal, alert_id, seq: int) -> tuple[Alert, list[dict]]:
    """The alert ``principal`` opens at snapshot ``seq``, with its whole history (``revisions``); 404 when
    the alert is invisible or has no such snapshot. The reading is audited with the snapshot's number."""
    alert = get_visible_or_404(Alert, alert_id, principal)
    history = revisions_seen_by(principal, alert)
    if seq not in {row["seq"] for row in history}:
        abort(404)  # no such snapshot, or one marked for others: alike
    _audit_view(alert, principal, revision_seq=seq)
    return alert, history


def _audit_view(alert: Alert, principal: Principal, **details) -> None:
    record("alert.view", object_type="alert", object_id=alert.id, object_party=alert.owner_party.code,
           principal=principal, details={"reference": alert.reference, **details})


# --- MRZ ----------------------------------------------------------------------------------------------

def prefill_from_mrz(mrz_text: str) -> dict:
    """Alert fields read from a pasted MRZ, plus what the MRZ itself gives away.

    Returns the fields (``document_number``, ``issuing_state``, ``bearer_nationality``, ``expiry_date``,
    ``holder_birth_date``, ``holder_name``, ``document_category``, ``document_type``, ``mrz``: the
    normalised text) that the MRZ holds, and ``mrz_format``, ``mrz_valid`` and ``fraud_indicators`` (each
    failed check or impossible value: ``{"field", "code", "message"}``). Raises ``AlertValidationError``
    on ``mrz`` when the text is not an MRZ at all.
    """
    result = parse_mrz(mrz_text or "")
    if result.format is None:
        message = result.errors[0].message if result.errors else _("This is not a machine-readable zone.")
        raise AlertValidationError({"mrz": message})
    fields = result.fields
    code = fields.get("document_code") or ""
    category = vocabulary.MRZ_CATEGORY.get(code[:1])
    surname, given = fields.get("surname"), fields.get("given_names")
    prefill = {
        "mrz": result.text,
        "document_number": fields.get("document_number"),
        "issuing_state": fields.get("issuing_state"),
        "bearer_nationality": fields.get("nationality"),
        "expiry_date": fields.get("expiry_date"),
        "holder_birth_date": fields.get("birth_date"),
        "holder_name": ", ".join(part for part in (surname, given) if part) or None,
        "document_category": category,
        "document_type": vocabulary.MRZ_PASSPORT_TYPE.get(fields.get("document_type")) if category == "passport" else None,
    }
    prefill = {key: value for key, value in prefill.items() if value is not None}
    prefill.update({
        "mrz_format": result.format,
        "mrz_valid": result.valid,
        "fraud_indicators": [issue.to_dict() for issue in result.fraud_indicators],
    })
    return prefill


def _with_mrz(data: dict) -> tuple[dict, list[dict]]:
    """``data`` completed from its MRZ (given fields win), and the MRZ's findings as field/code pairs."""
    mrz_text = data.get("mrz")
    if not mrz_text or not str(mrz_text).strip():
        return data, []
    try:
        prefill = prefill_from_mrz(str(mrz_text))
    except AlertValidationError:
        return data, []  # clean() reports the bad MRZ together with every other bad field
    findings = [{"field": item["field"], "code": item["code"]} for item in prefill["fraud_indicators"]]
    merged = {key: value for key, value in prefill.items() if key not in _MRZ_META}
    merged.update({key: value for key, value in data.items() if value not in (None, "", [], ())})
    return merged, findings


def validate_alert(data: dict, owner_party_id: int, **kwargs) -> tuple[dict, list[dict]]:
    """Check ``data`` exactly as creating or updating an alert does, writing nothing: the data completed
    from its MRZ, cleaned (``alerts.validation.clean``), with the MRZ's findings. Raises
    ``AlertValidationError`` naming every bad field at once (an unreadable MRZ included)."""
    data, findings = _with_mrz(dict(data))
    errors = {}
    try:
        values = clean(data, owner_party_id=owner_party_id, **kwargs)
    except AlertValidationError as exc:
        errors = exc.errors
    if isinstance(data.get("mrz"), str) and data["mrz"].strip() and parse_mrz(data["mrz"]).format is None:
        errors.setdefault("mrz", _("This is not a machine-readable zone."))
    if errors:
        raise AlertValidationError(errors)
    if values["mrz"]:
        values["mrz"] = parse_mrz(values["mrz"]).text
    return values, findings


# --- writing ------------------------------------------------------------------------------------------

def alert_columns(values: dict) -> dict:
    """An alert's stored content for validated ``values``: its fields and the blind indexes over them."""
    columns = {name: values[name] for name in CONTENT_FIELDS}
    state, number = values["issuing_state"], values["document_number"]
    columns["number_index"] = number_index(number, state) if number else None
    columns["number_any_index"] = number_any_index(number) if number else None
    columns["skeleton_index"] = skeleton_index(number) if number else None
    series = NumberRange.parse(values["range_start"], values["range_end"]) if values["range_start"] else None
    columns["range_index"] = series.index(state) if series else None
    return columns


def new_alert_columns(principal: Principal, values: dict, findings: list[dict], reference: str, seq: int,
                      now: datetime) -> dict:
    """Every column of a new alert (a draft at revision 1) of ``principal``'s party: what ``create_alert``
    inserts, and what a bulk import inserts (``alerts.bulk_store``) before publishing it in the same row."""
    return {
        "reference": reference, "reference_year": now.year, "reference_seq": seq,
        "owner_party_id": principal.party_id, "created_by_id": principal.user_id, "created_at": now,
        "updated_at": now, "status": "draft", "revision": 1, "published_at": None,
        "distribution_level": values["distribution_level"], "tlp": values["tlp"],
        "network_id": values["network_id"] if values["distribution_level"] == "network" else None,
        "mrz_findings": findings, **alert_columns(values),
    }


def _apply(alert: Alert, values: dict) -> list[str]:
    """Copy validated values onto the alert and recompute its blind indexes; the fields that changed."""
    changed = []
    for name, value in alert_columns(values).items():
        if name not in CONTENT_FIELDS:
            setattr(alert, name, value)
        elif getattr(alert, name, None) != value:
            changed.append(name)
            setattr(alert, name, value)
    return changed


def _iso(value):
    return value.isoformat() if isinstance(value, date | datetime) else value


# What a snapshot reads from an alert, besides its distribution.
SNAPSHOT_FIELDS = CONTENT_FIELDS + ("reference", "status", "revision", "tlp", "mrz_findings", "withdrawal_reason")


def snapshot_content(fields, level: str, parties: list[str], network: str | None,
                     audience: list[str] | None = None) -> dict:
    """A revision's content from an alert's ``fields`` (a mapping over ``SNAPSHOT_FIELDS``) and its
    distribution (``parties``: the listed recipients' codes, sorted; ``network``: its code; ``audience``: the
    codes of the parties a network distribution was sent to, sorted, so that the revision is seen only by
    them, ``portal.access.sees_under_marking``)."""
    content = {name: _iso(fields[name]) for name in CONTENT_FIELDS}
    distribution = {"level": level, "parties": parties, "network": network}
    if level == "network":
        distribution["audience"] = list(audience or [])
    content.update({
        "reference": fields["reference"],
        "status": fields["status"],
        "revision": fields["revision"],
        "tlp": fields["tlp"],
        "distribution": distribution,
        "mrz_findings": list(fields["mrz_findings"] or []),
        "withdrawal_reason": fields["withdrawal_reason"],
    })
    return content


def snapshot(alert: Alert) -> dict:
    """Every field of the alert (secrets included, in clear) as JSON-ready values: a revision's content."""
    network = db.session.get(Network, alert.network_id) if alert.network_id else None
    parties = [] if alert.distribution_level != "parties" else sorted(
        db.session.scalars(select(Party.code).where(Party.id.in_(alert.recipient_party_ids)))
    )
    audience = [] if alert.distribution_level != "network" else sorted(db.session.scalars(
        select(Party.code).where(Party.id.in_(sent_to_party_ids(alert)), Party.id != alert.owner_party_id)))
    return snapshot_content({name: getattr(alert, name) for name in SNAPSHOT_FIELDS}, alert.distribution_level,
                            parties, network.code if network else None, audience)


def as_read_by(content: dict, alert: Alert, principal: Principal) -> dict:
    """A snapshot of ``alert`` (``snapshot`` or a revision's data) as ``principal`` may read it: its
    distribution's parties and network are left out (``None``) unless ``portal.access.sees_recipients``."""
    distribution = content.get("distribution")
    if distribution is None or sees_recipients(alert, principal):
        return content
    return {**content, "distribution": {"level": distribution.get("level"), "parties": None, "network": None}}


def revision_row(alert_id: int, seq: int, revision: int, event: str, principal: Principal | None,
                 content: dict, created_at: datetime) -> dict:
    """The ``alert_revisions`` row of one snapshot (``snapshot`` in clear: the column type encrypts it)."""
    return {"alert_id": alert_id, "seq": seq, "revision": revision, "event": event,
            "author_id": principal.user_id if principal else None, "created_at": created_at,
            "snapshot": json.dumps(content, sort_keys=True, ensure_ascii=False)}


def _keep_revision(alert: Alert, event: str, principal: Principal | None) -> AlertRevision:
    seq = (db.session.scalar(select(func.max(AlertRevision.seq)).where(AlertRevision.alert_id == alert.id)) or 0) + 1
    revision = AlertRevision(**revision_row(alert.id, seq, alert.revision, event, principal, snapshot(alert),
                                            utcnow()))
    db.session.add(revision)
    db.session.flush()
    return revision


def revisions(alert: Alert) -> list[dict]:
    """The alert's snapshots, oldest first: ``{"seq", "revision", "event", "author_id", "created_at", "data"}``."""
    rows = db.session.scalars(
        select(AlertRevision).where(AlertRevision.alert_id == alert.id).order_by(AlertRevision.seq)
    )
    return [{"seq": row.seq, "revision": row.revision, "event": row.event, "author_id": row.author_id,
             "created_at": row.created_at, "data": json.loads(row.snapshot)} for row in rows]


def revisions_seen_by(principal: Principal, alert: Alert) -> list[dict]:
    """The snapshots of ``alert`` (``revisions``) that ``principal`` may read: each under its own marking as
    well as the alert's current one (``portal.access.sees_under_marking``). An alert once AMBER to one party
    and now GREEN to all keeps its AMBER past to itself. (The snapshot an alert is created with counts as
    marked, whatever its status: it is the content the alert was shared with.) A network distribution counts
    with the audience it was sent to; a snapshot from before audiences were kept counts with the alert's
    current audience of that network, or with none."""
    history = revisions(alert)
    codes = {code for row in history for key in ("parties", "audience")
             for code in (row["data"].get("distribution") or {}).get(key) or ()}
    networks = {(row["data"].get("distribution") or {}).get("network") for row in history} - {None}
    party_ids = dict(db.session.execute(select(Party.code, Party.id).where(Party.code.in_(codes))).all())
    network_ids = dict(db.session.execute(select(Network.code, Network.id).where(Network.code.in_(networks)))
                       .all())
    kept_audience = sent_to_party_ids(alert) if alert.distribution_level == "network" else []

    def marking(row: dict) -> Marking:
        content = row["data"]
        distribution = content.get("distribution") or {}
        level, network_id = distribution.get("level", "party"), network_ids.get(distribution.get("network"))
        listed = [party_ids[code] for code in distribution.get("parties") or () if code in party_ids]
        if level == "network":
            listed = ([party_ids[code] for code in distribution["audience"] if code in party_ids]
                      if "audience" in distribution else kept_audience if network_id == alert.network_id else [])
        return Marking(level=level, tlp=content.get("tlp", "RED"), party_ids=tuple(listed), network_id=network_id)

    return history_seen_by(principal, alert.owner_party_id, history, marking)


def audit_alert(action: str, principal, *, alert_id: int, reference: str, party_code: str, objectives,
                details: dict | None = None) -> None:
    """Queue the audit entry of an operation on one alert (details: codes and counts, never a secret)."""
    record(action, object_type="alert", object_id=alert_id, object_party=party_code, principal=principal,
           objectives=list(objectives or []) or None, details={"reference": reference, **(details or {})})


def _audit(action: str, alert: Alert, principal, details: dict | None = None) -> None:
    audit_alert(action, principal, alert_id=alert.id, reference=alert.reference, party_code=alert.owner_party.code,
                objectives=alert.objectives, details=details)


def creation_details(values: dict, columns: dict, findings: list[dict]) -> dict:
    """The details of an ``alert.create`` entry."""
    return {"status": values["status"], "tlp": values["tlp"], "level": values["distribution_level"],
            "recipients": len(values["party_ids"]), "category": values["document_category"],
            "fraud_type": values["fraud_type"], "issuing_state": values["issuing_state"],
            "series": columns["range_index"] is not None, "fraud_indicators": len(findings)}


def publication_details(tlp: str, level: str) -> dict:
    """The details of an ``alert.publish`` entry."""
    return {"tlp": tlp, "level": level}


def _publish(alert: Alert, principal) -> None:
    """Publish ``alert`` now (it counts as updated then), keep its revision, audit it and tell the subscribers:
    the one path for an alert published when reported and for a draft published later. A network distribution
    reaches the network's members at publication (``portal.access.retake_network_audience``)."""
    retake_network_audience(alert)
    alert.status = "published"
    alert.published_at = alert.updated_at = utcnow()
    db.session.flush()
    _keep_revision(alert, "publish", principal)
    _audit("alert.publish", alert, principal, publication_details(alert.tlp, alert.distribution_level))
    on_status_change(alert, "published")


def prepare_new_alert(principal: Principal, data: dict,
                      lookup: RecipientLookup | None = None) -> tuple[dict, list[dict]]:
    """``create_alert``'s checks, nothing written: the validated values and the MRZ's findings.

    Raises ``AlertForbidden`` (no ``report_alert``; ``published`` without ``publish_alert``) or
    ``AlertValidationError`` (every bad field). An import passes one ``lookup`` for all its rows.
    """
    _require(principal, "report_alert", "alert.create")
    values, findings = validate_alert(data, principal.party_id, lookup=lookup)
    if values["status"] == "published":
        _require(principal, "publish_alert", "alert.publish")
    return values, findings


def create_alert(principal: Principal, data: dict) -> Alert:
    """Report an alert for ``principal``'s party, as a draft or (with ``publish_alert``) published.

    ``data`` holds the fields (see ``CONTENT_FIELDS``), ``status``, ``tlp`` and ``distribution``
    (``{"level", "parties": [codes], "network": code}``). An ``mrz`` fills the fields it holds that
    ``data`` leaves empty. Raises ``AlertValidationError`` (every bad field, nothing written) or
    ``AlertForbidden``. A bulk import writes the same rows set-based (``alerts.bulk_store``).
    """
    values, findings = prepare_new_alert(principal, data)
    now = utcnow()
    reference, seq = next_reference(principal.party_id, principal.party_code, now.year)
    columns = new_alert_columns(principal, values, findings, reference, seq, now)
    alert = Alert(**columns)
    db.session.add(alert)
    db.session.flush()
    set_distribution(alert, level=values["distribution_level"], tlp=values["tlp"], party_ids=values["party_ids"],
                     network_id=values["network_id"])
    db.session.flush()
    _keep_revision(alert, "create", principal)
    _audit("alert.create", alert, principal, creation_details(values, columns, findings))
    if values["status"] == "published":
        _publish(alert, principal)
    return alert


def update_alert(principal: Principal, alert, data: dict) -> Alert:
    """Change an alert's fields (only those in ``data``); a published alert gets a new revision number.

    Status changes go through ``publish_alert`` and ``withdraw_alert``. A RED or AMBER+STRICT alert may not
    be re-shared wider than it is.
    """
    alert = _own_alert(principal, alert, "report_alert", "alert.update")
    current = snapshot(alert)
    errors = {}
    if alert.status in ("withdrawn", "expired"):
        errors["status"] = _("A withdrawn or expired alert can no longer be changed.")
    if "status" in data and data["status"] != alert.status:
        errors["status"] = _("Publish or withdraw the alert to change its status.")
    merged = {**{name: current[name] for name in CONTENT_FIELDS}, "tlp": current["tlp"],
              "distribution": current["distribution"], "status": alert.status}
    if "review_date" not in data:
        merged.pop("review_date")
    merged.update({key: value for key, value in data.items() if key != "status"})
    if data.get("mrz") and data["mrz"] != current["mrz"]:
        # A new MRZ refills the fields it holds, unless this change sets them itself.
        for name in prefill_keys():
            if name not in data:
                merged.pop(name, None)
    try:
        values, findings = validate_alert(merged, alert.owner_party_id, statuses=(alert.status,))
    except AlertValidationError as exc:
        raise AlertValidationError({**exc.errors, **errors}) from None
    if "review_date" not in data:
        values["review_date"] = alert.review_date
    if not can_reshare(alert, values["distribution_level"], party_ids=values["party_ids"],
                       network_id=values["network_id"]):
        errors["distribution"] = _("A RED or AMBER+STRICT alert cannot be shared more widely than it is.")
    if errors:
        raise AlertValidationError(errors)
    changed = _apply(alert, values)
    if values["mrz"] != current["mrz"]:
        alert.mrz_findings = findings
    sharing = (values["distribution_level"], values["tlp"], values["party_ids"], values["network_id"])
    if sharing != (alert.distribution_level, alert.tlp, sorted(alert.recipient_party_ids), alert.network_id):
        changed.append("distribution")
        set_distribution(alert, level=values["distribution_level"], tlp=values["tlp"], party_ids=values["party_ids"],
                         network_id=values["network_id"])
    if not changed:
        return alert
    if alert.status == "published":
        alert.revision += 1
    alert.updated_at = utcnow()
    db.session.flush()
    _keep_revision(alert, "update", principal)
    _audit("alert.update", alert, principal, {"revision": alert.revision, "changed": sorted(changed),
                                               "tlp": alert.tlp, "level": alert.distribution_level})
    on_status_change(alert, "revised")
    return alert


def prefill_keys() -> tuple[str, ...]:
    """The fields an MRZ can fill."""
    return ("document_number", "issuing_state", "bearer_nationality", "expiry_date", "holder_birth_date",
            "holder_name", "document_category", "document_type")


def publish_alert(principal: Principal, alert) -> Alert:
    """Publish a draft: from now on its distribution sees it."""
    alert = _own_alert(principal, alert, "publish_alert", "alert.publish")
    if alert.status != "draft":
        raise AlertValidationError({"status": _("Only a draft can be published.")})
    _publish(alert, principal)
    return alert


def reshare_to_network(principal: Principal, alert) -> list[int]:
    """Re-share a published alert distributed to a network with the network's current members: the parties
    that joined it since the alert was sent (or last re-shared) receive it, and their subscribers are told
    as at a publication; returns their ids. Only the reporting party (``publish_alert``) may, and never for a
    RED or AMBER+STRICT alert (refused and audited as denied). The alert keeps a ``reshare`` revision,
    which the new parties see (not the earlier ones, sent without them)."""
    alert = _own_alert(principal, alert, "publish_alert", "alert.reshare")
    if not can_reshare_to_network_members(alert):
        reason = "tlp" if alert.tlp in RESTRICTED_TLP else "level"
        _audit_denied("alert.reshare", alert, principal, {"reason": reason, "tlp": alert.tlp})
        raise AlertValidationError({"distribution": _(
            "A RED or AMBER+STRICT alert is never re-shared wider than it was sent.") if reason == "tlp" else _(
            "Only an alert distributed to a network can be re-shared with its current members.")})
    if alert.status != "published":
        raise AlertValidationError({"status": _("Only a published alert can be re-shared.")})
    reached = retake_network_audience(alert)
    if not reached:
        raise AlertValidationError({"distribution": _(
            "Every current member of the network already receives this alert.")})
    db.session.flush()
    _keep_revision(alert, "reshare", principal)
    network = db.session.get(Network, alert.network_id)
    _audit("alert.reshare", alert, principal, {"network": network.code, "tlp": alert.tlp, "reached": len(reached)})
    on_status_change(alert, "published", parties=reached)
    return reached


def _audit_denied(action: str, alert: Alert, principal, details: dict) -> None:
    record(action, outcome="denied", object_type="alert", object_id=alert.id, object_party=alert.owner_party.code,
           principal=principal, details={"reference": alert.reference, **details})


def withdraw_alert(principal: Principal, alert, reason: str) -> Alert:
    """Withdraw a published alert, saying why (the reason is shown to every reader, so no secrets)."""
    alert = _own_alert(principal, alert, "publish_alert", "alert.withdraw")
    errors = {}
    if alert.status != "published":
        errors["status"] = _("Only a published alert can be withdrawn.")
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        errors["reason"] = _("Say why the alert is withdrawn.")
    elif len(reason) > 1000:
        errors["reason"] = _("At most %(limit)d characters.", limit=1000)
    elif _reason_leaks(alert, reason):
        errors["reason"] = _("Do not write the document number or the holder's name here.")
    if errors:
        raise AlertValidationError(errors)
    alert.status = "withdrawn"
    alert.withdrawn_at = alert.updated_at = utcnow()
    alert.withdrawal_reason = reason
    db.session.flush()
    _keep_revision(alert, "withdraw", principal)
    _audit("alert.withdraw", alert, principal, {"reason_length": len(reason)})
    on_status_change(alert, "withdrawn")
    return alert


def _reason_leaks(alert: Alert, reason: str) -> bool:
    secrets = [value for value in (alert.document_number, alert.range_start, alert.range_end) if value]
    return narrative_leaks(reason, secrets, [alert.holder_name])


def acknowledge_alert(principal: Principal, alert) -> AlertAcknowledgement:
    """Mark a published alert as seen by ``principal`` (once per user; not by the reporting party)."""
    alert_id = alert.id if isinstance(alert, Alert) else alert
    found = None
    if principal is not None and isinstance(alert_id, int) and (
            principal.can("search_alerts") or principal.can("check_alerts")):
        found = db.session.scalar(visible(Alert, principal).where(Alert.id == alert_id))
    if found is None:
        raise _deny(principal, alert_id, "alert.acknowledge", "search_alerts")
    if owns(found, principal):
        raise AlertValidationError({"alert": _("The reporting party does not acknowledge its own alert.")})
    if found.status != "published":
        raise AlertValidationError({"status": _("Only a published alert can be acknowledged.")})
    existing = db.session.scalar(select(AlertAcknowledgement).where(
        AlertAcknowledgement.alert_id == found.id, AlertAcknowledgement.user_id == principal.user_id))
    if existing is not None:
        return existing
    mark = AlertAcknowledgement(alert_id=found.id, party_id=principal.party_id, user_id=principal.user_id,
                                created_at=utcnow())
    db.session.add(mark)
    db.session.flush()
    _audit("alert.acknowledge", found, principal)
    return mark


def acknowledgements(principal: Principal, alert) -> list[AlertAcknowledgement]:
    """Who has marked the alert as seen, oldest first: for the reporting party only (others: 404)."""
    alert = _own_alert(principal, alert, "report_alert", "alert.acknowledgements")
    return list(db.session.scalars(
        select(AlertAcknowledgement).where(AlertAcknowledgement.alert_id == alert.id)
        .order_by(AlertAcknowledgement.created_at, AlertAcknowledgement.id)
    ))


def expire_due_alerts(principal=None, now: datetime | None = None) -> list[Alert]:
    """Expire every published alert whose review date has come: keep its revision, audit it and tell its
    subscribers, as a withdrawal does. A scheduled job (``flask --app portal alerts expire``, daily);
    ``principal`` is the actor its audit entries name (the command line passes ``CLI_ACTOR``).

    Returns the alerts this call expired; a second call the same day finds none.
    """
    now = now or utcnow()
    due = db.session.scalars(
        select(Alert).where(Alert.status == "published", Alert.review_date <= now.date()).order_by(Alert.id)
    ).all()
    expired = []
    for alert in due:
        # Claimed with a conditional UPDATE, so that an alert withdrawn meanwhile, or expired by an
        # overlapping run (cron and one started by hand), is not expired, audited or announced again: on
        # PostgreSQL the later UPDATE waits for the earlier commit and then matches nothing; SQLite lets
        # one writer in at a time.
        claimed = db.session.execute(
            update(Alert).where(Alert.id == alert.id, Alert.status == "published")
            .values(status="expired", expired_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        db.session.refresh(alert)  # the values written, not a guess at them
        _keep_revision(alert, "expire", principal)
        _audit("alert.expire", alert, principal, {"review_date": alert.review_date.isoformat()})
        expired.append(alert)
    # One batch for all of them (a fixed number of queries, as for a bulk import's publications).
    announce(expired, "expired")
    return expired
