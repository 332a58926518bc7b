"""Signed audit checkpoints and their witnesses: a cut-back log is caught by the default ``audit verify``."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import delete, select

from portal.audit import witness
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.keyring import current_keyring
from portal.outbox.models import OutboxMessage
from tests.audit.test_chain import _append, _disable_append_only

OFFICERS = "security.officer@gtm.example.org, oficial.seguridad@slv.example.org"


@pytest.fixture
def witnessed(app, tmp_path, monkeypatch):
    folder = tmp_path / "witness"
    monkeypatch.setitem(app.config, "AUDIT_WITNESS_DIR", str(folder))
    monkeypatch.setitem(app.config, "AUDIT_WITNESS_EMAILS", OFFICERS)
    return folder


def _lines(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / witness.WITNESS_FILE).read_text().splitlines()]


def test_a_checkpoint_is_signed_appended_and_mailed_and_verifies_offline(app_ctx, witnessed, cli, tmp_path):
    seqs = _append(3)
    result = cli("audit", "witness", "--force")
    assert result.exit_code == 0, result.output
    [signed] = _lines(witnessed)
    assert signed["checkpoint"]["seq"] == seqs[-1] and signed["checkpoint"]["queued"] == 0
    assert signed["checkpoint"]["key_id"] == current_keyring().active_id
    mails = [mail for mail in db.session.scalars(select(OutboxMessage)).all()
             if mail.subject == f"Audit checkpoint {seqs[-1]} of the RCM portal"]  # encrypted columns
    assert sorted(mail.recipient for mail in mails) == sorted(item.strip() for item in OFFICERS.split(","))
    assert all(json.dumps(signed, sort_keys=True) in mail.body for mail in mails)

    public = cli("audit", "public-key").output.strip()
    ok = cli("audit", "verify-checkpoint", str(witnessed / witness.WITNESS_FILE), "--public-key", public)
    assert ok.exit_code == 0 and f"Signature OK: entry {seqs[-1]}:" in ok.output
    mailed = tmp_path / "mail.txt"
    mailed.write_text(mails[0].body)
    assert cli("audit", "verify-checkpoint", str(mailed), "--public-key", public).exit_code == 0

    forged = dict(signed, checkpoint={**signed["checkpoint"], "seq": seqs[-1] - 1})
    (tmp_path / "forged.jsonl").write_text(json.dumps(forged) + "\n")
    refused = cli("audit", "verify-checkpoint", str(tmp_path / "forged.jsonl"), "--public-key", public)
    assert refused.exit_code == 1 and "signature does not verify" in refused.output
    other_key = witness.public_key(current_keyring().with_new_key())
    wrong = cli("audit", "verify-checkpoint", str(witnessed / witness.WITNESS_FILE), "--public-key", other_key)
    assert wrong.exit_code == 1


def test_the_witness_file_is_only_appended_to(app_ctx, witnessed, cli):
    _append(1)
    cli("audit", "witness", "--force")
    first = (witnessed / witness.WITNESS_FILE).read_text()
    _append(1)
    cli("audit", "witness", "--force")
    text = (witnessed / witness.WITNESS_FILE).read_text()
    assert text.startswith(first) and len(_lines(witnessed)) == 2


def test_verify_uses_the_latest_witnessed_checkpoint_and_names_deleted_entries(app_ctx, witnessed, cli):
    seqs = _append(4)
    assert cli("audit", "witness", "--force").exit_code == 0
    _append(2)  # more entries after the checkpoint are fine
    ok = cli("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert f"(entry {seqs[-1]}, 0 queued) matches" in ok.output

    _disable_append_only()  # an intruder with the database: drop the triggers, delete the newest entries
    db.session.execute(delete(AuditEntry).where(AuditEntry.seq >= seqs[2]))
    db.session.commit()
    cut = cli("audit", "verify")
    assert cut.exit_code == 1
    assert f"entries {seqs[2]} to {seqs[-1]} are missing: the chain ends at {seqs[1]}" in cut.output
    bare = cli("audit", "verify", "--no-witness")
    assert bare.exit_code == 0  # what the old verify said: the rest of the chain is intact


def test_verify_names_queued_entries_that_vanished(app_ctx, witnessed, cli):
    _append(1)
    state = witness.current_state()
    # a checkpoint taken while two entries waited in the queue; they are gone now (deleted, never chained)
    signed = witness.sign_checkpoint({**state, "queued": state["queued"] + 2}, current_keyring())
    witness._append(witnessed, signed)
    result = cli("audit", "verify")
    assert result.exit_code == 1 and "2 queued entries are missing" in result.output


def test_a_witness_file_line_signed_by_another_key_is_refused(app_ctx, witnessed, cli):
    _append(1)
    signed = witness.sign_checkpoint(witness.current_state(), current_keyring())
    signed["signature"] = witness.sign_checkpoint(
        {**witness.current_state(), "seq": 0}, current_keyring())["signature"]
    witness._append(witnessed, signed)
    result = cli("audit", "verify")
    assert result.exit_code == 1 and "signature does not verify" in result.output


def test_checkpoints_fall_due_every_m_entries_or_n_minutes(app, app_ctx, witnessed, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_ENTRIES", 3)
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_MINUTES", 10)
    _append(1)
    first = witness.checkpoint_if_due()  # none witnessed yet: due
    assert first is not None
    assert witness.checkpoint_if_due() is None  # nothing changed
    _append(2)
    assert witness.checkpoint_if_due() is None  # 2 < 3 entries, within 10 minutes
    _append(1)
    assert witness.checkpoint_if_due()["checkpoint"]["seq"] == first["checkpoint"]["seq"] + 3
    last = witness.latest_witnessed()
    state = {**witness.current_state(), "seq": last["seq"] + 1}
    taken = datetime.fromisoformat(last["created_at"].removesuffix("Z")).timestamp()  # due()'s clock
    assert not witness.due(last, state, taken + 9 * 60)
    assert witness.due(last, state, taken + 10 * 60)


def test_serving_processes_take_due_checkpoints(app, client, witnessed, monkeypatch):
    monkeypatch.setattr(witness, "_LOOK_EVERY", 0.0)
    client.post("/auth/login", data={"email": "nobody@gtm.example.org", "password": "wrong-password"})
    [signed] = _lines(witnessed)
    assert signed["checkpoint"]["seq"] == witness.current_state()["seq"]
