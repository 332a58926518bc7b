"""Storing a bulk import's validated alerts set-based: what ``create_alert`` writes, a batch at a time.

``create_alert`` costs ~17 statements per alert (counter, insert, distribution, two revisions with their
``max(seq)``, status update, loads for the audit and the notifications). For a batch of alerts already
checked by ``alerts.operations.prepare_new_alert`` (the operation's own checks), ``store_batch`` writes
the very same rows with a fixed number of statements, whatever the batch size:

- the reference numbers: one block per batch (``alerts.references.reserve_sequences``);
- ``alerts``: one pipelined executemany (``new_alert_columns``, the columns ``create_alert`` inserts; secrets
  encrypted by their ``EncryptedText`` bind, blind indexes by ``alert_columns``), published rows
  published in the same row (``published_at`` = creation time, as a report published at once); the
  full-text index follows by itself (PostgreSQL generated ``search_vector``, SQLite FTS5 insert trigger);
- ``distribution_recipients``: one insert for the listed parties, and the network members a network
  distribution reaches, of every alert of the batch (each network's members read once per batch);
- ``alert_revisions``: one insert with each alert's ``create`` snapshot (and ``publish`` snapshot when
  published), built by ``snapshot_content`` exactly as ``create_alert`` records them;
- the audit entries ``alert.create`` / ``alert.publish`` per alert (pending; ``portal.audit.service``
  chains them at the commit and inserts them with one pipelined executemany);
- the subscribers' notifications of the published alerts (``alerts.notify.announce``: a fixed number of
  queries per batch, with its ``alert.notify`` entries).

Party and network codes (for the snapshots) are read once per import (``Lookups``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select

from alerts.models import Alert, AlertRevision
from alerts.notify import announce
from alerts.operations import (
    audit_alert,
    creation_details,
    new_alert_columns,
    publication_details,
    revision_row,
    snapshot_content,
)
from alerts.references import format_reference, reserve_sequences
from portal.access import DistributionRecipient, audience_rows, network_members
from portal.extensions import db
from portal.parties.models import Network, Party
from portal.principal import Principal
from portal.timeutil import utcnow

_ALERTS = Alert.__table__
_REVISIONS = AlertRevision.__table__
_RECIPIENTS = DistributionRecipient.__table__


@dataclass
class StoredAlert:
    """What the import reports and ``announce`` needs of an alert it stored (no secret)."""

    id: int
    reference: str
    status: str
    tlp: str
    owner_party_id: int
    owner_party: Party
    issuing_state: str
    document_category: str
    fraud_type: str


@dataclass
class Lookups:
    """Codes a snapshot names, read once per import: every party's and network's, and the owner party."""

    party_codes: dict[int, str]
    network_codes: dict[int, str]
    owner: Party

    @classmethod
    def load(cls, principal: Principal) -> Lookups:
        return cls(party_codes=dict(db.session.execute(select(Party.id, Party.code)).all()),
                   network_codes=dict(db.session.execute(select(Network.id, Network.code)).all()),
                   owner=db.session.get(Party, principal.party_id))


def store_batch(principal: Principal, prepared: list[tuple[dict, list[dict]]], lookups: Lookups) -> list[StoredAlert]:
    """Write the alerts of ``prepared`` (``(values, findings)`` pairs from ``prepare_new_alert``), in order,
    as ``create_alert`` would write each; returns them as stored."""
    if not prepared:
        return []
    now = utcnow()
    first = reserve_sequences(principal.party_id, now.year, len(prepared))
    rows = []
    for offset, (values, findings) in enumerate(prepared):
        seq = first + offset
        row = new_alert_columns(principal, values, findings, format_reference(principal.party_code, now.year, seq),
                                seq, now)
        if values["status"] == "published":
            row["status"], row["published_at"] = "published", now
        rows.append(row)
    db.session.execute(insert(_ALERTS), rows)
    # The ids, by the block of numbers just reserved (the unique index on party, year and sequence): no
    # RETURNING, so the driver sends one prepared single-row statement per row (psycopg pipelines them)
    # instead of parsing one statement with 40 parameters per row.
    ids = dict(db.session.execute(
        select(_ALERTS.c.reference, _ALERTS.c.id).where(
            _ALERTS.c.owner_party_id == principal.party_id, _ALERTS.c.reference_year == now.year,
            _ALERTS.c.reference_seq.between(first, first + len(rows) - 1))).all())

    recipients, revisions, stored = [], [], []
    # each network's members now, read once per batch: a network distribution reaches them (access.audience_rows)
    members = {network_id: network_members([network_id]) for network_id in sorted(
        {row["network_id"] for row in rows if row["network_id"] and row["distribution_level"] == "network"})}
    for row, (values, findings) in zip(rows, prepared, strict=True):
        alert_id, level = ids[row["reference"]], values["distribution_level"]
        listed = sorted(set(values["party_ids"])) if level == "parties" else []
        sent_to = audience_rows(_ALERTS.name, alert_id, principal.party_id, level, listed, row["network_id"],
                                members=members.get(row["network_id"]))
        recipients += sent_to
        parties = sorted(lookups.party_codes[party_id] for party_id in listed)
        network = lookups.network_codes.get(row["network_id"]) if row["network_id"] else None
        audience = sorted(lookups.party_codes[item["party_id"]] for item in sent_to
                          if level == "network" and item["party_id"] != principal.party_id)
        fields = {**row, "status": "draft", "withdrawal_reason": None}
        revisions.append(revision_row(alert_id, 1, 1, "create", principal,
                                      snapshot_content(fields, level, parties, network, audience), now))
        audit_alert("alert.create", principal, alert_id=alert_id, reference=row["reference"],
                    party_code=lookups.owner.code, objectives=row["objectives"],
                    details=creation_details(values, row, findings))
        if row["status"] == "published":
            fields["status"] = "published"
            revisions.append(revision_row(alert_id, 2, 1, "publish", principal,
                                          snapshot_content(fields, level, parties, network, audience), now))
            audit_alert("alert.publish", principal, alert_id=alert_id, reference=row["reference"],
                        party_code=lookups.owner.code, objectives=row["objectives"],
                        details=publication_details(values["tlp"], values["distribution_level"]))
        stored.append(StoredAlert(alert_id, row["reference"], row["status"], row["tlp"], principal.party_id,
                                  lookups.owner, row["issuing_state"], row["document_category"], row["fraud_type"]))
    if recipients:
        db.session.execute(insert(_RECIPIENTS), recipients)
    db.session.execute(insert(_REVISIONS), revisions)
    announce([alert for alert in stored if alert.status == "published"], "published")
    return stored
