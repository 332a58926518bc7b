"""The audit log as sentences in the reader's language, and people found by name.

"María López (GTM) published alert GTM-2026-0012": who (the person's name and party), what (the action's
phrasing, ``portal.audit.phrasing``), which record (named by its kind and reference, linked to its page
only when the reader may see it: ``portal.access.visible_audited_ids``) and the outcome ("tried to ..., and
was refused"). A sentence takes nothing from an entry's details but the record's reference (or a network's
code), so no document number, secret or searched term reaches it.

Names are encrypted at rest (``auth.models.User.full_name``), so a person is found by name in Python, over
the people who acted in the part of the log the reader may read (``people_named``).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select

from auth.models import User
from portal.access import visible_audit_entries, visible_audited_ids
from portal.audit.models import AuditEntry
from portal.audit.phrasing import OBJECT_KINDS, phrasing_for
from portal.extensions import db

# Of the people a reader's log names, at most this many are matched by name in one filter.
MAX_PEOPLE = 50


@dataclass(frozen=True)
class Sentence:
    html: Markup  # the record linked where the reader may see it
    text: str  # the same, plain (the CSV export)


def _details(entry: AuditEntry) -> dict:
    try:
        value = json.loads(entry.details or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _who(entry: AuditEntry, users: dict[int, User]) -> str:
    if entry.actor_user_id is None:
        return _("Someone not signed in") if entry.ip else _("The system")
    user = users.get(entry.actor_user_id)
    name = user.full_name if user is not None else _("user %(id)s", id=entry.actor_user_id)
    if entry.actor_token_id:
        return _("%(name)s (%(party)s, through an API token)", name=name, party=entry.actor_party or "-")
    return _("%(name)s (%(party)s)", name=name, party=entry.actor_party or "-")


def _object(entry: AuditEntry, users: dict[int, User], linked: dict[str, set[str]]) -> Markup:
    """The record the entry names ("alert GTM-2026-0012"), linked where the reader may see it."""
    if not entry.object_type:
        return escape(_("a record"))
    kind = OBJECT_KINDS.get(entry.object_type)
    ref = entry.object_id or ""
    if entry.object_type == "user" and ref.isdigit() and int(ref) in users:
        ref = users[int(ref)].full_name
    elif kind is not None and isinstance(_details(entry).get(kind.ref_detail), str):
        ref = _details(entry)[kind.ref_detail]
    if not ref:
        return escape(_("a record"))
    if kind is not None:
        label = escape(str(kind.label)) % {"ref": ref}
    else:
        label = escape(_("%(kind)s %(ref)s", kind=entry.object_type.replace("_", " "), ref=ref))
    if entry.object_party and entry.object_party != entry.actor_party:
        label = label + escape(f" ({entry.object_party})")
    if kind is not None and kind.endpoint and entry.object_id in linked.get(entry.object_type, ()):
        return Markup('<a href="%s">%s</a>') % (url_for(kind.endpoint, **{kind.argument: int(entry.object_id)}), label)
    return label


def _what(entry: AuditEntry, record: Markup) -> Markup:
    phrasing = phrasing_for(entry.action)
    done = entry.outcome == "ok"
    if phrasing is not None:
        template = str(phrasing.done if done else phrasing.attempt)
    elif entry.object_id:
        template = _("performed the action “%(action)s” on %(object)s") if done else \
            _("perform the action “%(action)s” on %(object)s")
    else:
        template = _("performed the action “%(action)s”") if done else _("perform the action “%(action)s”")
    return escape(template) % {"object": record, "action": entry.action}


def _sentence(entry: AuditEntry, users: dict[int, User], linked: dict[str, set[str]]) -> Sentence:
    what = _what(entry, _object(entry, users, linked))
    if entry.outcome == "ok":
        template = _("%(who)s %(what)s")
    elif entry.outcome == "denied":
        template = _("%(who)s tried to %(what)s, and was refused")
    else:
        template = _("%(who)s tried to %(what)s, and it failed")
    html = escape(template) % {"who": _who(entry, users), "what": what}
    return Sentence(html=html, text=html.striptags())


def describe(entries, principal, *, links: bool = True) -> dict[int, Sentence]:
    """Each entry's sentence (by entry id), in the current language, for ``principal`` reading them; with
    ``links``, the records ``principal`` may see link to their pages."""
    entries = list(entries)
    user_ids = {e.actor_user_id for e in entries if e.actor_user_id} | {
        int(e.object_id) for e in entries if e.object_type == "user" and (e.object_id or "").isdigit()}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(sorted(user_ids))))} \
        if user_ids else {}
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        kind = OBJECT_KINDS.get(entry.object_type or "")
        if links and kind is not None and kind.endpoint and (entry.object_id or "").isdigit():
            wanted.setdefault(entry.object_type, set()).add(entry.object_id)
    linked = {object_type: visible_audited_ids(principal, object_type, ids) for object_type, ids in wanted.items()}
    return {entry.id: _sentence(entry, users, linked) for entry in entries}


def folded(text: str) -> str:
    """``text`` for matching names: without accents, case-folded, single-spaced."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def people_named(principal, text: str) -> list[int]:
    """Ids of the people who acted in the log ``principal`` may read whose name holds every word of ``text``
    (accents and case aside), at most ``MAX_PEOPLE``."""
    words = folded(text).split()
    if not words:
        return []
    scope = visible_audit_entries(principal).where(AuditEntry.actor_user_id.is_not(None)).subquery()
    actors = select(scope.c.actor_user_id).distinct()
    matched = [user.id for user in db.session.scalars(select(User).where(User.id.in_(actors)).order_by(User.id))
               if all(word in folded(user.full_name) for word in words)]
    return matched[:MAX_PEOPLE]
