"""Telling subscribers about published, revised, withdrawn and expired alerts, at once or in a daily digest.

``on_status_change(alert, event)`` is called by ``alerts.operations`` after it has changed the alert. It
finds the active users whose subscription matches the alert and who may see it *now*, through the one
access rule (``visible(Alert, Principal.for_user(user))``; a subscription never widens what its user sees),
leaving out the reporting party (it did this itself). Each gets an in-app notification linking to the
alert, and an e-mail through the outbox: at once for an ``immediate`` subscription, else a pending item
that ``send_digests()`` (``flask --app portal alerts digest``, once a day) gathers into one e-mail per user.

What a message may say depends on the TLP: for CLEAR and GREEN, the document category, issuing state and
fraud type; for AMBER, AMBER+STRICT and RED, only the reference, the TLP and a link. No message ever holds
a document number, a name, a narrative or a withdrawal reason. Each batch is audited with counts only.
"""

from __future__ import annotations

import secrets
from collections import defaultdict

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from alerts import vocabulary
from alerts.models import Alert, AlertDigestItem, AlertSubscription
from auth.models import User
from portal.access import visible
from portal.audit.service import record
from portal.extensions import db
from portal.notifications.operations import CONTENT_TLP, notify, title_for
from portal.outbox.service import queue_email
from portal.principal import Principal
from portal.routing import portal_path, portal_url
from portal.timeutil import utcnow

EVENTS = ("published", "revised", "withdrawn", "expired")
PERMISSION = "search_alerts"


# --- who is told -------------------------------------------------------------------------------------

def _visible_ids(alert_ids: list[int], principal: Principal) -> set[int]:
    if not principal.can(PERMISSION):
        return set()
    return set(db.session.scalars(
        visible(Alert, principal).where(Alert.id.in_(alert_ids)).with_only_columns(Alert.id)))


def recipients_of(alerts: list, parties=None) -> dict[int, list[tuple[User, str]]]:
    """For each alert (by id), ``(user, delivery)`` of each active user outside its reporting party with a
    matching subscription who may see it (and, given ``parties``, belongs to one of those party ids);
    ``immediate`` wins over ``digest`` when several subscriptions match. A fixed number of queries for any
    number of alerts: the candidate subscriptions at once, then one access check per (party, role) of the
    candidates, over all the alerts at once."""
    if not alerts:
        return {}

    def criterion(column, values):
        return or_(column.is_(None), column.in_(sorted(values)))

    rows = db.session.execute(
        select(User, AlertSubscription).join(AlertSubscription, AlertSubscription.user_id == User.id)
        .where(User.active.is_(True), *(() if parties is None else (User.party_id.in_(sorted(parties)),)),
               criterion(AlertSubscription.issuing_state, {alert.issuing_state for alert in alerts}),
               criterion(AlertSubscription.document_category, {alert.document_category for alert in alerts}),
               criterion(AlertSubscription.fraud_type, {alert.fraud_type for alert in alerts}))
    ).all()
    users: dict[int, User] = {}
    by_state: dict[str | None, list[tuple[User, AlertSubscription]]] = defaultdict(list)
    for user, subscription in rows:
        users[user.id] = user
        by_state[subscription.issuing_state].append((user, subscription))
    # alert id -> user id -> delivery
    delivery: dict[int, dict[int, str]] = {alert.id: {} for alert in alerts}
    for alert in alerts:
        chosen = delivery[alert.id]
        for user, subscription in by_state[None] + by_state[alert.issuing_state]:
            if user.party_id != alert.owner_party_id and subscription.matches(alert) \
                    and chosen.get(user.id) != "immediate":
                chosen[user.id] = subscription.delivery
    # What a user may see depends only on their party and role: one access check per pair.
    groups: dict[tuple[int, str], set[int]] = defaultdict(set)
    members: dict[tuple[int, str], User] = {}
    for alert_id, chosen in delivery.items():
        for user_id in chosen:
            group = (users[user_id].party_id, users[user_id].role)
            groups[group].add(alert_id)
            members.setdefault(group, users[user_id])
    seen = {group: _visible_ids(sorted(alert_ids), Principal.for_user(members[group]))
            for group, alert_ids in groups.items()}
    return {alert_id: [(users[user_id], how) for user_id, how in sorted(chosen.items())
                       if alert_id in seen[(users[user_id].party_id, users[user_id].role)]]
            for alert_id, chosen in delivery.items()}


def recipients(alert: Alert) -> list[tuple[User, str]]:
    """``(user, delivery)`` for each active user outside the reporting party with a matching subscription
    who may see the alert; ``immediate`` wins over ``digest`` when several subscriptions match."""
    return recipients_of([alert])[alert.id]


# --- what they are told ------------------------------------------------------------------------------

def alert_path(alert_id: int) -> str:
    """The alert's page, for in-app notifications."""
    return portal_path("alerts.detail", alert_id=alert_id)


def alert_url(alert_id: int) -> str:
    """An absolute link for e-mails (also from the command line, where there is no request)."""
    return portal_url("alerts.detail", alert_id=alert_id)


def _content(alert: Alert) -> dict:
    return {"reference": alert.reference, "tlp": alert.tlp,
            "category": vocabulary.DOCUMENT_CATEGORIES.get(alert.document_category, alert.document_category),
            "state": alert.issuing_state,
            "fraud": vocabulary.FRAUD_TYPES.get(alert.fraud_type, alert.fraud_type)}


def headline(alert: Alert, event: str):
    """The notification title and e-mail subject (a lazy string): content only for CLEAR and GREEN."""
    values = _content(alert)
    if event == "published":
        content = _l("Alert %(reference)s published: %(category)s of %(state)s, %(fraud)s", **values)
        reference = _l("Alert %(reference)s published (TLP:%(tlp)s)", **values)
    elif event == "revised":
        content = _l("Alert %(reference)s revised: %(category)s of %(state)s, %(fraud)s", **values)
        reference = _l("Alert %(reference)s revised (TLP:%(tlp)s)", **values)
    elif event == "withdrawn":
        content = _l("Alert %(reference)s withdrawn: %(category)s of %(state)s, %(fraud)s", **values)
        reference = _l("Alert %(reference)s withdrawn (TLP:%(tlp)s)", **values)
    else:
        content = _l("Alert %(reference)s expired: %(category)s of %(state)s, %(fraud)s", **values)
        reference = _l("Alert %(reference)s expired (TLP:%(tlp)s)", **values)
    return title_for(alert.tlp, content_title=content, reference_title=reference)


def _details(alert: Alert) -> list[str]:
    """The lines an e-mail may carry about the alert itself, by TLP."""
    lines = [_("Reference: %(reference)s", reference=alert.reference), f"TLP:{alert.tlp}"]
    if alert.tlp in CONTENT_TLP:
        values = _content(alert)
        lines += [_("Document category: %(category)s", category=values["category"]),
                  _("Issuing state: %(state)s", state=values["state"]),
                  _("Fraud type: %(fraud)s", fraud=values["fraud"])]
    else:
        lines.append(_("The content is shown only on the portal, after you sign in."))
    return lines


def _footer() -> list[str]:
    return ["", _("You receive this because of your alert subscriptions: %(link)s",
                  link=portal_url("alert_subscriptions.index"))]


def email_body(alert: Alert, event: str) -> str:
    """One alert's e-mail, in the current locale."""
    return "\n".join([str(headline(alert, event)), "", *_details(alert), "", alert_url(alert.id), *_footer()])


def digest_body(entries: list[tuple[AlertDigestItem, Alert]]) -> str:
    """One user's digest, in the current locale: each event, its alert's lines and link."""
    lines = [ngettext("%(num)d change to alerts matching your subscriptions:",
                      "%(num)d changes to alerts matching your subscriptions:", len(entries)), ""]
    for item, alert in entries:
        lines += [f"* {headline(alert, item.event)}", *(f"  {line}" for line in _details(alert)),
                  f"  {alert_url(alert.id)}", ""]
    return "\n".join(lines[:-1] + _footer())


# --- sending -----------------------------------------------------------------------------------------

def on_status_change(alert: Alert, event: str, parties=None) -> int:
    """Notify the subscribers of ``alert`` of ``event`` (published, revised, withdrawn, expired); returns how many
    users were notified. A revision notifies only while the alert is published (drafts are private).
    ``parties``: only the subscribers of these party ids (those a re-share has just reached)."""
    return announce([alert], event, parties)[alert.id]


def announce(alerts: list, event: str, parties=None) -> dict[int, int]:
    """``on_status_change`` for many alerts at once (a bulk import's published alerts): the same
    notifications, e-mails, digest items and ``alert.notify`` entries, with a fixed number of queries
    (``recipients_of``) and one flush. Returns how many users were notified, by alert id.

    An alert is an ``Alert`` or any object with its ``id``, ``reference``, ``status``, ``tlp``,
    ``owner_party_id``, ``owner_party``, ``issuing_state``, ``document_category`` and ``fraud_type``.
    """
    if event not in EVENTS:
        raise ValueError(f"event must be one of {EVENTS}")
    counts = dict.fromkeys((alert.id for alert in alerts), 0)
    if event == "revised":
        alerts = [alert for alert in alerts if alert.status == "published"]
    chosen_by_alert = recipients_of(alerts, parties)
    now = utcnow()
    told = []
    for alert in alerts:
        chosen = chosen_by_alert[alert.id]
        if not chosen:
            continue
        title = headline(alert, event)
        notify([user for user, _how in chosen], f"alert.{event}", title, alert_path(alert.id), alert.tlp,
               flush=False)
        immediate = 0
        for user, how in chosen:
            if how == "immediate":
                with force_locale(user.locale or "en"):
                    queue_email(user.email, str(title), email_body(alert, event), flush=False)
                immediate += 1
            else:
                db.session.add(AlertDigestItem(user_id=user.id, alert_id=alert.id, event=event, created_at=now))
        counts[alert.id] = len(chosen)
        told.append((alert, len(chosen), immediate))
    if not told:
        return counts
    db.session.flush()
    for alert, count, immediate in told:
        record("alert.notify", object_type="alert", object_id=alert.id, object_party=alert.owner_party.code,
               details={"event": event, "count": count, "immediate": immediate, "digest": count - immediate})
    return counts


def send_digests(now=None, principal=None) -> tuple[int, int]:
    """Queue one digest e-mail per user with pending events; returns ``(emails, events)``.

    Each user's pending items are claimed with one conditional UPDATE (``sent_at`` still empty), so an
    event is in at most one digest even if two runs overlap; a second run the same day finds nothing.
    Access is checked again now: an event on an alert the user may no longer see (narrowed distribution,
    lost permission, deactivated account) is dropped, not sent.
    """
    now = now or utcnow()
    run = secrets.token_hex(16)
    user_ids = db.session.scalars(
        select(AlertDigestItem.user_id).where(AlertDigestItem.sent_at.is_(None)).distinct()
    ).all()
    emails = events = dropped = 0
    for user_id in sorted(user_ids):
        claimed = db.session.execute(
            update(AlertDigestItem)
            .where(AlertDigestItem.user_id == user_id, AlertDigestItem.sent_at.is_(None))
            .values(sent_at=now, digest_run=run)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        items = db.session.scalars(
            select(AlertDigestItem).where(AlertDigestItem.user_id == user_id, AlertDigestItem.digest_run == run)
            .order_by(AlertDigestItem.created_at, AlertDigestItem.id)
        ).all()
        user = db.session.get(User, user_id)
        entries = []
        if user is not None and user.active:
            seen = Principal.for_user(user)
            alert_ids = {item.alert_id for item in items}
            alerts = {} if not seen.can(PERMISSION) else {alert.id: alert for alert in db.session.scalars(
                visible(Alert, seen).where(Alert.id.in_(alert_ids)))}
            entries = [(item, alerts[item.alert_id]) for item in items if item.alert_id in alerts]
        dropped += len(items) - len(entries)
        if not entries:
            continue
        with force_locale(user.locale or "en"):
            subject = ngettext("Alert digest: %(num)d change", "Alert digest: %(num)d changes", len(entries))
            queue_email(user.email, subject, digest_body(entries))
        emails += 1
        events += len(entries)
    if emails or dropped:
        record("alert.digest", object_type="alert_digest", principal=principal,
               details={"messages": emails, "events": events, "dropped": dropped})
    return emails, events
