"""Audit entries written by both hosts (and by this process, as a third) form one unbroken chain: each
entry carries the request id of the host request that wrote it, ``audit verify`` checks the whole chain
against the latest witnessed checkpoint, and the checkpoints the hosts took while serving form one ordered
sequence in the shared witness file (``portal.audit.witness``, taken under one database lock).

The file's name puts it last in ``make test-hosts``, so the chain it verifies holds every other test's
entries too."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import requests
from sqlalchemy import select

from tests.multihost.conftest import TIMEOUT


def test_entries_from_both_hosts_form_one_verified_chain(hosts, portal, account, token, cli):
    from portal.audit.models import AuditEntry
    from portal.extensions import db

    checker = token(account("border_officer", "GTM"), "alerts:check")
    sent = {}
    for round_ in range(3):
        for name, host in zip("AB", hosts, strict=True):
            request_id = f"host{name}-{round_}-{secrets.token_hex(6)}"
            response = requests.get(f"{host}/api/v1/alerts/check", headers={**checker, "X-Request-ID": request_id},
                                    params={"document_number": "Z7654321", "issuing_state": "GTM"}, timeout=TIMEOUT)
            assert response.status_code == 200 and response.headers["X-Request-ID"] == request_id
            sent[request_id] = host
    with portal.app_context():
        try:
            written = dict(db.session.execute(select(AuditEntry.request_id, AuditEntry.seq)
                                              .where(AuditEntry.request_id.in_(sent))).all())
        finally:
            db.session.remove()
    assert set(written) == set(sent)  # every request's entry, the queued ones chained since

    verified = cli("audit", "verify")
    assert verified.exit_code == 0 and "Audit chain OK" in verified.output, verified.output
    head = int(verified.output.split("head ", 1)[1].split(":", 1)[0])
    assert max(written.values()) <= head


def test_the_witness_file_is_one_ordered_sequence(hosts, cli):
    taken = cli("audit", "witness", "--force")
    assert taken.exit_code == 0, taken.output
    path = Path(os.environ["PORTAL_AUDIT_WITNESS_DIR"]) / "checkpoints.jsonl"
    lines = [json.loads(line)["checkpoint"] for line in path.read_text().splitlines()]
    seqs, totals = [line["seq"] for line in lines], [line["seq"] + line["queued"] for line in lines]
    assert seqs == sorted(seqs) and totals == sorted(totals), lines
    verified = cli("audit", "verify")
    assert verified.exit_code == 0 and "Witnessed checkpoint" in verified.output, verified.output
