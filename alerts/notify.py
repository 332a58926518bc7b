"""Telling subscribers about published, revised and withdrawn alerts, at once or in a daily digest.

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

import click
from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from alerts import vocabulary
from alerts.models import Alert, AlertDigestItem, AlertSubscription
from auth.models import User
from portal.access import Principal, visible
from portal.audit.service import record
from portal.extensions import db
from portal.notifications.operations import CONTENT_TLP, notify, title_for
from portal.outbox.service import queue_email
from portal.timeutil import utcnow

EVENTS = ("published", "revised", "withdrawn")
PERMISSION = "search_alerts"


# --- who is told -------------------------------------------------------------------------------------

def _criterion(column, value):
    return or_(column.is_(None), column == value)


def _can_see(alert: Alert, principal: Principal) -> bool:
    return principal.can(PERMISSION) and db.session.scalar(
        visible(Alert, principal).where(Alert.id == alert.id).with_only_columns(Alert.id)) is not None


def recipients(alert: Alert) -> list[tuple[User, str]]:
    """``(user, delivery)`` for each active user outside the reporting party with a matching subscription
    who may see the alert; ``immediate`` wins over ``digest`` when several subscriptions match."""
    rows = db.session.execute(
        select(User, AlertSubscription.delivery).join(AlertSubscription, AlertSubscription.user_id == User.id)
        .where(User.active.is_(True), User.party_id != alert.owner_party_id,
               _criterion(AlertSubscription.issuing_state, alert.issuing_state),
               _criterion(AlertSubscription.document_category, alert.document_category),
               _criterion(AlertSubscription.fraud_type, alert.fraud_type))
    ).all()
    delivery: dict[int, str] = {}
    users: dict[int, User] = {}
    for user, how in rows:
        users[user.id] = user
        if delivery.get(user.id) != "immediate":
            delivery[user.id] = how
    # What a user may see depends only on their party and role: one access check per pair.
    groups: dict[tuple[int, str], list[User]] = defaultdict(list)
    for user in users.values():
        groups[(user.party_id, user.role)].append(user)
    chosen = []
    for members in groups.values():
        if _can_see(alert, Principal.for_user(members[0])):
            chosen.extend(members)
    return [(user, delivery[user.id]) for user in sorted(chosen, key=lambda user: user.id)]


# --- what they are told ------------------------------------------------------------------------------

def alert_path(alert_id: int) -> str:
    if has_request_context():
        return url_for("alerts.detail", alert_id=alert_id)
    return f"/alerts/{alert_id}"


def alert_url(alert_id: int) -> str:
    """An absolute link for e-mails (also from the command line, where there is no request)."""
    return current_app.config["BASE_URL"] + f"/alerts/{alert_id}"


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
    else:
        content = _l("Alert %(reference)s withdrawn: %(category)s of %(state)s, %(fraud)s", **values)
        reference = _l("Alert %(reference)s withdrawn (TLP:%(tlp)s)", **values)
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
                  link=current_app.config["BASE_URL"] + "/alerts/subscriptions/")]


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

def on_status_change(alert: Alert, event: str) -> int:
    """Notify the subscribers of ``alert`` of ``event`` (published, revised, withdrawn); returns how many
    users were notified. A revision notifies only while the alert is published (drafts are private)."""
    if event not in EVENTS:
        raise ValueError(f"event must be one of {EVENTS}")
    if event == "revised" and alert.status != "published":
        return 0
    chosen = recipients(alert)
    if not chosen:
        return 0
    title = headline(alert, event)
    notify([user for user, _how in chosen], f"alert.{event}", title, alert_path(alert.id), alert.tlp)
    immediate = 0
    now = utcnow()
    for user, how in chosen:
        if how == "immediate":
            with force_locale(user.locale or "en"):
                queue_email(user.email, str(title), email_body(alert, event))
            immediate += 1
        else:
            db.session.add(AlertDigestItem(user_id=user.id, alert_id=alert.id, event=event, created_at=now))
    db.session.flush()
    record("alert.notify", object_type="alert", object_id=alert.id, object_party=alert.owner_party.code,
           details={"event": event, "count": len(chosen), "immediate": immediate,
                    "digest": len(chosen) - immediate})
    return len(chosen)


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


# --- command line ------------------------------------------------------------------------------------

def _digest_command():
    from portal.cli import CLI_ACTOR, cli_command

    @click.command("digest")
    @cli_command
    def digest():
        """Queue today's digest e-mails (run once a day; a second run sends nothing new)."""
        emails, events = send_digests(principal=CLI_ACTOR)
        db.session.commit()
        click.echo(f"Alert digests: {emails} e-mails queued with {events} events.")

    return digest


def register_cli(app) -> None:
    """Add ``alerts digest`` to the shared ``alerts`` command group (``alerts.cli``, which adds the group to
    the application; the order of the two calls does not matter, the group is one object)."""
    from alerts.cli import alerts_cli

    alerts_cli.add_command(_digest_command())
