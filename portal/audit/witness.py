"""Signed audit checkpoints, kept by witnesses outside the database, so that the head cannot be rolled back.

Whoever can write the database can drop the triggers and delete the newest entries (or queued ones), and
the remaining chain still verifies. A checkpoint fixes what existed: the head ``seq:hash`` and how many
entries waited in the queue. It is signed with Ed25519 under a key derived from the key ring (purpose
``audit-checkpoint`` of the active master key; ``audit public-key`` prints the public half, to publish),
and written to the witnesses:

- ``PORTAL_AUDIT_WITNESS_DIR``: ``checkpoints.jsonl`` there, one signed checkpoint per line, opened in
  append mode only (mount it from another machine, or make it append-only with ``chattr +a``);
- ``PORTAL_AUDIT_WITNESS_EMAILS``: each address (the member countries' security officers) is mailed the
  signed checkpoint through the outbox.

Checkpoints are taken every ``PORTAL_AUDIT_CHECKPOINT_MINUTES`` minutes or ``PORTAL_AUDIT_CHECKPOINT_ENTRIES``
entries, whichever comes first: by ``audit witness`` (run it every minute) and, between runs, by the
serving processes themselves (``init_app``: at most one look per ``_LOOK_EVERY`` seconds per process).
Every host and process takes them under one database lock (``portal.database.lock_audit_checkpoints``),
reading the latest witnessed checkpoint and the state under it, so two checkpointers at the same moment
never append conflicting or out-of-order checkpoints; with several hosts, ``PORTAL_AUDIT_WITNESS_DIR`` is
one folder they all mount.

``audit verify`` checks the chain against the latest witnessed checkpoint: the entry at its ``seq`` must
carry its hash, and the chain plus the queue must hold at least as many entries as it witnessed (queued
entries only ever move into the chain); otherwise it names what is missing. ``audit verify-checkpoint``
checks a signed checkpoint offline against the published public key.
"""

from __future__ import annotations

import base64
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import func, select

from portal.keyring import KeyRing, current_keyring
from portal.timeutil import utcnow

FORMAT = 1
WITNESS_FILE = "checkpoints.jsonl"
PURPOSE = "audit-checkpoint"
_LOOK_EVERY = 30.0


class WitnessError(ValueError):
    """A signed checkpoint that is malformed or whose signature does not verify."""


def _signing_key(ring: KeyRing, key_id: str | None = None) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(ring.derive(PURPOSE, key_id or ring.active_id))


def public_key(ring: KeyRing, key_id: str | None = None) -> str:
    """The checkpoint-signing public key of ``key_id`` (default: the active key), base64 of its 32 bytes."""
    raw = _signing_key(ring, key_id).public_key().public_bytes_raw()
    return base64.b64encode(raw).decode()


def _canonical(checkpoint: dict) -> bytes:
    return json.dumps(checkpoint, sort_keys=True, separators=(",", ":")).encode()


def current_state() -> dict:
    """The head and the queue as they are now (what a checkpoint fixes)."""
    from portal.audit.models import AuditEntry, AuditQueueEntry
    from portal.audit.service import GENESIS_HASH
    from portal.extensions import db

    head = db.session.execute(select(AuditEntry.seq, AuditEntry.entry_hash)
                              .order_by(AuditEntry.seq.desc()).limit(1)).first()
    queued = db.session.scalar(select(func.count()).select_from(AuditQueueEntry)) or 0
    seq, entry_hash = (head.seq, head.entry_hash) if head else (0, GENESIS_HASH)
    return {"seq": seq, "hash": entry_hash, "queued": queued}


def sign_checkpoint(state: dict, ring: KeyRing) -> dict:
    checkpoint = {"format": FORMAT, "portal": current_app.config.get("BASE_URL", ""), "key_id": ring.active_id,
                  "created_at": utcnow().isoformat(timespec="seconds") + "Z", **state}
    signature = _signing_key(ring).sign(_canonical(checkpoint))
    return {"checkpoint": checkpoint, "signature": base64.b64encode(signature).decode()}


def verify_signed(signed: dict, public_key_b64: str) -> dict:
    """The checkpoint of ``signed`` when its signature verifies under the public key; else ``WitnessError``."""
    try:
        checkpoint, signature = signed["checkpoint"], base64.b64decode(signed["signature"], validate=True)
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        if checkpoint.get("format") != FORMAT or not isinstance(checkpoint.get("seq"), int):
            raise WitnessError("not a signed audit checkpoint of a known format")
        key.verify(signature, _canonical(checkpoint))
    except InvalidSignature:
        raise WitnessError("the signature does not verify under this public key") from None
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, WitnessError):
            raise
        raise WitnessError("not a signed audit checkpoint") from None
    return checkpoint


def _witness_dir() -> Path | None:
    folder = current_app.config.get("AUDIT_WITNESS_DIR") or ""
    return Path(folder) if folder else None


def _witness_emails() -> list[str]:
    return [item.strip() for item in (current_app.config.get("AUDIT_WITNESS_EMAILS") or "").split(",") if item.strip()]


def _append(folder: Path, signed: dict) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / WITNESS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(signed, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _mail(addresses: list[str], signed: dict, public: str) -> None:
    from flask_babel import gettext

    from portal.outbox.service import queue_email

    checkpoint = signed["checkpoint"]
    subject = gettext("Audit checkpoint %(seq)s of the RCM portal", seq=checkpoint["seq"])
    body = gettext("Keep this signed audit checkpoint. It lets you prove later that no audit entry up to it "
                   "was removed: `flask --app portal audit verify-checkpoint FILE --public-key KEY` checks "
                   "it offline, with the portal's published public key (%(key)s).", key=public)
    for address in addresses:
        queue_email(address, subject, f"{body}\n\n{json.dumps(signed, sort_keys=True)}\n")


@contextmanager
def _checkpoint_lock():
    """The one checkpointer of every host and process (``portal.database.lock_audit_checkpoints``), until
    the session commits (the mailed checkpoints with it) or rolls back."""
    from portal.database import lock_audit_checkpoints
    from portal.extensions import db

    lock_audit_checkpoints(db.session.connection())
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def _sign_and_witness(folder: Path | None, addresses: list[str], state: dict) -> dict:
    ring = current_keyring()
    signed = sign_checkpoint(state, ring)
    if folder is not None:
        _append(folder, signed)
    if addresses:
        _mail(addresses, signed, public_key(ring))
    return signed


def take_checkpoint() -> dict | None:
    """Sign the current state and hand it to every configured witness; None when none is configured."""
    folder, addresses = _witness_dir(), _witness_emails()
    if folder is None and not addresses:
        return None
    with _checkpoint_lock():
        return _sign_and_witness(folder, addresses, current_state())


def witnessed_checkpoints(folder: Path) -> list[dict]:
    """Every line of the witness file (oldest first), each as the signed record it holds."""
    path = folder / WITNESS_FILE
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            records.append(json.loads(line))
        except ValueError:
            raise WitnessError(f"{path}: line {number} is not a signed checkpoint") from None
    return records


def latest_witnessed() -> dict | None:
    """The latest checkpoint of the witness file, its signature checked under its own key id."""
    folder = _witness_dir()
    if folder is None:
        return None
    records = witnessed_checkpoints(folder)
    if not records:
        return None
    signed = records[-1]
    key_id = (signed.get("checkpoint") or {}).get("key_id")
    ring = current_keyring()
    if key_id not in ring.keys:
        raise WitnessError(f"the latest witnessed checkpoint is signed under key {key_id!r}, not in the key ring")
    return verify_signed(signed, public_key(ring, key_id))


def missing_since(checkpoint: dict, state: dict) -> str | None:
    """What the database lost since ``checkpoint``, in words (None: nothing)."""
    witnessed, now = checkpoint["seq"] + checkpoint["queued"], state["seq"] + state["queued"]
    if state["seq"] < checkpoint["seq"]:
        return (f"entries {state['seq'] + 1} to {checkpoint['seq']} are missing: the chain ends at {state['seq']}, "
                f"the checkpoint of {checkpoint['created_at']} witnessed {checkpoint['seq']}")
    if now < witnessed:
        return (f"{witnessed - now} queued entr{'y is' if witnessed - now == 1 else 'ies are'} missing: the "
                f"checkpoint of {checkpoint['created_at']} witnessed {checkpoint['queued']} queued after entry "
                f"{checkpoint['seq']}; the chain and queue now hold {now} in all")
    return None


def due(last: dict | None, state: dict, now: float) -> bool:
    """Whether a new checkpoint is due after ``last`` (the latest witnessed one)."""
    if last is None:
        return state["seq"] > 0 or state["queued"] > 0
    if (state["seq"], state["queued"]) == (last["seq"], last["queued"]):
        return False
    minutes = current_app.config["AUDIT_CHECKPOINT_MINUTES"] * 60
    entries = current_app.config["AUDIT_CHECKPOINT_ENTRIES"]
    from datetime import datetime

    taken = datetime.fromisoformat(last["created_at"].removesuffix("Z")).timestamp()
    return now - taken >= minutes or state["seq"] + state["queued"] - last["seq"] - last["queued"] >= entries


def checkpoint_if_due() -> dict | None:
    """Take a checkpoint when one is due (``audit witness`` and the serving processes).

    The latest witnessed checkpoint is read under the checkpoint lock: a second host that was due at the
    same moment finds the first one's checkpoint and takes none."""
    folder, addresses = _witness_dir(), _witness_emails()
    if folder is None and not addresses:
        return None
    from datetime import UTC, datetime

    with _checkpoint_lock():
        last = latest_witnessed() if folder is not None else None
        state = current_state()
        if not due(last, state, datetime.now(UTC).replace(tzinfo=None).timestamp()):
            return None
        return _sign_and_witness(folder, addresses, state)


def init_app(app) -> None:
    """Serving processes take due checkpoints too, looking at most once per ``_LOOK_EVERY`` seconds."""
    looked = {"at": time.monotonic()}

    @app.teardown_request
    def _maybe_checkpoint(error=None):
        if error is not None or not (app.config.get("AUDIT_WITNESS_DIR") or app.config.get("AUDIT_WITNESS_EMAILS")):
            return
        now = time.monotonic()
        if now - looked["at"] < _LOOK_EVERY:
            return
        looked["at"] = now
        try:
            checkpoint_if_due()
        except Exception:  # a witness that fails must not fail the request; `audit witness` reports it
            app.logger.exception("audit checkpoint failed")
