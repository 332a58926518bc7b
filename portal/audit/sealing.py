"""Sealed search terms: what was searched or checked, kept in the audit where nobody can compare it.

A keyed hash of a searched number is the same each time the number is searched, so whoever reads the log
can search a number themselves and see which border checked it. A sealed value is not: the terms of one
audit entry (one number, or the many of a batch check) are encrypted together with AES-256-GCM under the
key ring's ``audit-seal`` key, with a fresh random nonce each time (``portal.crypto.encrypt_text``), and
stored in the entry's details under ``"sealed"`` as ``<key id>:<base64>``. The chain hash covers that
stored value. Only ``open_sealed`` (an investigator's ``audit find-search``) reads it back; the viewer and
its CSV show ``shown_details``: the word "sealed" instead.

Rotation: the audit is append-only, so sealed values are never re-encrypted. After ``keys rotate`` new
entries are sealed under the new active key; old entries name their key, which stays in the ring (``keys
retire`` refuses a key the audit still uses) so they open as before. ``keys verify`` opens every one.

The core knows no document number format: a feature registers how it normalises the terms it seals
(``register_term_normaliser``), so that an investigator's number is compared as the search compared it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.crypto import DecryptionError, decrypt_text, encrypt_text
from portal.extensions import db
from portal.keyring import KeyRingError

SEALED = "sealed"  # the details key that holds a sealed value
PURPOSE = "audit-seal"
_CONTEXT = "audit_entries.details.sealed"
_NORMALISERS: dict[str, Callable[[str], str]] = {}


@dataclass(frozen=True)
class SearchTerm:
    """One searched term: ``kind`` "number" (a document number, ``state`` its issuing state or None for any
    state) or "text" (the words of a full-text search)."""

    kind: str
    value: str
    state: str | None = None

    def to_json(self) -> list:
        return [self.kind, self.value, self.state]


def seal_search_terms(terms: Iterable[SearchTerm]) -> str:
    """The terms of one audit entry sealed together (one AES-GCM encryption, fresh nonce): put the result
    in the entry's details under ``SEALED``. Two seals of the same terms never look alike."""
    payload = json.dumps([term.to_json() for term in terms], separators=(",", ":"), ensure_ascii=False)
    return encrypt_text(payload, purpose=PURPOSE, context=_CONTEXT)


def open_sealed(stored: str) -> list[SearchTerm]:
    """The terms a sealed value holds. Raises ``portal.crypto.DecryptionError`` for a tampered value,
    ``portal.keyring.KeyRingError`` when its key is no longer in the ring."""
    terms = json.loads(decrypt_text(stored, purpose=PURPOSE, context=_CONTEXT))
    try:
        return [SearchTerm(kind, value, state) for kind, value, state in terms]
    except (TypeError, ValueError) as exc:
        raise ValueError("not a list of sealed search terms") from exc


def sealed_key_id(stored: str) -> str:
    """The key id a sealed value names."""
    return stored.partition(":")[0]


def shown_details(details: str | dict, label: str = SEALED) -> str:
    """An entry's details as the viewer and the CSV show them: a sealed value replaced by ``label``."""
    parsed = json.loads(details) if isinstance(details, str) else dict(details)
    if SEALED not in parsed:
        return details if isinstance(details, str) else json.dumps(parsed, sort_keys=True)
    return json.dumps({**parsed, SEALED: str(label)}, sort_keys=True)


def register_term_normaliser(kind: str, normalise: Callable[[str], str]) -> None:
    """Declare how terms of ``kind`` ("number", "state") are normalised before they are sealed or sought."""
    _NORMALISERS[kind] = normalise


def normalise_term(kind: str, value: str) -> str:
    """``value`` as the feature that seals terms of ``kind`` normalises it (stripped and upper-cased when no
    feature registered one)."""
    normalise = _NORMALISERS.get(kind)
    return normalise(value) if normalise else value.strip().upper()


def sealed_entries(batch: int = 1000) -> Iterator[tuple]:
    """``(entry, sealed value)`` of every chained audit entry that holds sealed terms, oldest first."""
    last = 0
    while True:
        entries = db.session.scalars(select(AuditEntry).where(
            AuditEntry.seq > last, AuditEntry.details.contains(f'"{SEALED}":', autoescape=True))
            .order_by(AuditEntry.seq).limit(batch)).all()
        if not entries:
            return
        for entry in entries:
            stored = json.loads(entry.details).get(SEALED)
            if isinstance(stored, str):
                yield entry, stored
        last = entries[-1].seq


@dataclass(frozen=True)
class FoundSearch:
    """An audit entry whose sealed terms hold the number sought, and the state it was searched in (None:
    any state)."""

    entry: AuditEntry
    state: str | None


def find_searches(number: str, state: str | None = None) -> tuple[list[FoundSearch], int]:
    """Every audited search or check of ``number`` (normalised as the search normalises it), oldest first,
    and how many sealed values could not be opened (tampered, or their key retired).

    With ``state``, searches in that state and searches in any state (which reached it too)."""
    number = normalise_term("number", number)
    state = normalise_term("state", state) if state else None
    found, unopened = [], 0
    for entry, stored in sealed_entries():
        try:
            terms = open_sealed(stored)
        except (DecryptionError, KeyRingError, ValueError):
            unopened += 1
            continue
        for term in terms:
            if term.kind == "number" and term.value == number and (state is None or term.state in (None, state)):
                found.append(FoundSearch(entry, term.state))
                break
    return found, unopened
