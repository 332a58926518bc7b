"""Subscribing to alerts: a user's own standing interests (create, list, delete).

A subscription names any combination of issuing state, document category and fraud type (each empty:
any) and a delivery (``immediate`` or a daily ``digest``). Only holders of ``search_alerts`` subscribe;
a subscription belongs to its user alone, and another user's is not found (404). Each change is audited
(``alert.subscribe`` / ``alert.unsubscribe``) with the criteria codes, which are public vocabulary.
Whether a subscriber is actually told about an alert is decided when it is published (``alerts.notify``),
by the access model: a subscription never widens what its user may see.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import Forbidden, NotFound

from alerts import vocabulary
from alerts.models import AlertSubscription
from alerts.mrz import canonical_state, is_valid_icao_code
from alerts.validation import AlertValidationError
from portal.audit.service import record
from portal.extensions import db
from portal.principal import Principal
from portal.timeutil import utcnow

DELIVERIES = {
    "immediate": _l("Immediately, one e-mail per alert"),
    "digest": _l("Once a day, in a digest e-mail"),
}
MAX_SUBSCRIPTIONS = 50  # per user: enough for any desk, and a bound on the work done per published alert
PERMISSION = "search_alerts"
CRITERIA = ("issuing_state", "document_category", "fraud_type")


class SubscriptionNotFound(NotFound):
    """Not this user's subscription (or none at all): a 404."""


def _require(principal: Principal | None, action: str) -> None:
    if principal is None or not principal.can(PERMISSION):
        record(action, outcome="denied", object_type="alert_subscription", principal=principal,
               details={"permission": PERMISSION})
        raise Forbidden()


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_subscription(data: dict) -> dict:
    """Validated criteria and delivery; raises ``AlertValidationError`` naming every bad field."""
    errors, values = {}, {}
    state = data.get("issuing_state")
    if _blank(state):
        values["issuing_state"] = None
    else:
        code = str(state).strip().upper()
        if not is_valid_icao_code(code):
            errors["issuing_state"] = _("%(code)s is not an ICAO code of a state or organisation.",
                                        code=str(state)[:8])
        values["issuing_state"] = canonical_state(code)
    for name, vocab in (("document_category", vocabulary.DOCUMENT_CATEGORIES),
                        ("fraud_type", vocabulary.FRAUD_TYPES)):
        value = data.get(name)
        if _blank(value):
            values[name] = None
        elif not isinstance(value, str) or value not in vocab:
            errors[name] = _("Choose one of the listed values.")
        else:
            values[name] = value
    delivery = data.get("delivery")
    if delivery not in DELIVERIES:
        errors["delivery"] = _("Choose how you want to receive the e-mails.")
    values["delivery"] = delivery
    if errors:
        raise AlertValidationError(errors)
    return values


def subscriptions_of(user_id: int) -> list[AlertSubscription]:
    """The user's subscriptions, oldest first."""
    return list(db.session.scalars(
        select(AlertSubscription).where(AlertSubscription.user_id == user_id)
        .order_by(AlertSubscription.created_at, AlertSubscription.id)
    ))


def create_subscription(principal: Principal, data: dict) -> AlertSubscription:
    """Subscribe ``principal``'s user; refuses a duplicate of an existing subscription and more than
    ``MAX_SUBSCRIPTIONS`` (``AlertValidationError`` with key ``subscription``)."""
    _require(principal, "alert.subscribe")
    values = clean_subscription(data)
    existing = subscriptions_of(principal.user_id)
    if any(all(getattr(sub, name) == values[name] for name in CRITERIA) for sub in existing):
        raise AlertValidationError({"subscription": _("You already have a subscription with these criteria.")})
    if len(existing) >= MAX_SUBSCRIPTIONS:
        raise AlertValidationError({"subscription": _("You have reached the limit of %(limit)d subscriptions.",
                                                      limit=MAX_SUBSCRIPTIONS)})
    subscription = AlertSubscription(user_id=principal.user_id, created_at=utcnow(), **values)
    db.session.add(subscription)
    db.session.flush()
    record("alert.subscribe", object_type="alert_subscription", object_id=subscription.id,
           object_party=principal.party_code, principal=principal, details=dict(values))
    return subscription


def delete_subscription(principal: Principal, subscription_id) -> None:
    """Delete one of ``principal``'s own subscriptions; anyone else's (or none) is a 404, audited."""
    _require(principal, "alert.unsubscribe")
    found = db.session.get(AlertSubscription, subscription_id) if isinstance(subscription_id, int) else None
    if found is None or found.user_id != principal.user_id:
        record("alert.unsubscribe", outcome="denied", object_type="alert_subscription",
               object_id=subscription_id, principal=principal, details={"reason": "not_found"})
        raise SubscriptionNotFound()
    record("alert.unsubscribe", object_type="alert_subscription", object_id=found.id,
           object_party=principal.party_code, principal=principal,
           details={name: getattr(found, name) for name in (*CRITERIA, "delivery")})
    db.session.delete(found)
    db.session.flush()

