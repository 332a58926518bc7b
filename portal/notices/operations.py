"""Posting and re-sharing notices. Each operation flushes, writes its audit entry and its notifications."""

from __future__ import annotations

from collections import defaultdict

from flask import has_request_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from auth.models import User
from portal.access import (
    RESTRICTED_TLP,
    can_reshare,
    can_reshare_to_network_members,
    get_visible_or_404,
    retake_network_audience,
    set_distribution,
    validate_distribution,
    visible,
)
from portal.audit.service import record, record_listing
from portal.distribution import check_recipients
from portal.extensions import db
from portal.notices.models import Notice
from portal.notifications.operations import notify, title_for
from portal.principal import Principal


class ReshareRefused(ValueError):
    """A restricted (RED, AMBER+STRICT) notice may not be re-shared wider than it is (``reason``: ``tlp``;
    for a re-share to a network's current members also ``level``, not a network notice, and ``none``,
    every member receives it already)."""

    def __init__(self, tlp: str, reason: str = "tlp"):
        super().__init__(tlp)
        self.reason = reason


def read_notices(principal: Principal, page: int, per_page: int):
    """One page of the notices ``principal`` sees, newest first; the listing is audited like a detail page."""
    result = db.paginate(visible(Notice, principal).order_by(Notice.created_at.desc(), Notice.id.desc()),
                         page=page, per_page=per_page, error_out=False)
    record_listing("notice.list", object_type="notice", ids=[item.id for item in result.items],
                   principal=principal, page=result.page)
    return result


def read_notice(principal: Principal, notice_id) -> Notice:
    """The notice ``principal`` opens (404 when invisible, audited as denied), its reading audited."""
    notice = get_visible_or_404(Notice, notice_id, principal)
    record("notice.view", object_type="notice", object_id=notice.id, object_party=notice.owner_party.code,
           principal=principal)
    return notice


def audience(notice: Notice) -> list[User]:
    """Active users who can see ``notice``, by the same scoping query the pages use.

    Visibility depends only on a user's party and on whether they are an observer, so the query runs
    once per (party, role) group rather than once per user.
    """
    users = db.session.scalars(select(User).where(User.active.is_(True))).all()
    groups: dict[tuple[int, str], list[User]] = defaultdict(list)
    for user in users:
        groups[(user.party_id, user.role)].append(user)
    seen: list[User] = []
    for members in groups.values():
        principal = Principal.for_user(members[0])
        if not principal.can("view_notices"):
            continue
        if db.session.scalar(visible(Notice, principal).where(Notice.id == notice.id).with_only_columns(Notice.id)):
            seen.extend(members)
    return seen


def _notify_new_readers(notice: Notice, users, kind: str) -> int:
    owner = notice.owner_party.code
    title = title_for(
        notice.tlp,
        content_title=_l("New notice from %(party)s: %(title)s", party=owner, title=notice.title),
        reference_title=_l("New notice N-%(id)s from %(party)s", id=notice.id, party=owner),
    )
    link = url_for("notices.detail", notice_id=notice.id) if has_request_context() else f"/notices/{notice.id}"
    return len(notify(users, kind, title, link, notice.tlp))


def create_notice(principal: Principal, *, title: str, body: str, tlp: str, level: str, party_ids=(),
                  network_id=None) -> Notice:
    """Post a notice for ``principal``'s party; raises ``DistributionError`` (naming the field) on bad input."""
    validate_distribution(level, tlp, party_ids, network_id)
    party_ids, network_id = check_recipients(principal.party_id, level, party_ids, network_id)
    notice = Notice(title=title.strip(), body=body.strip(), owner_party_id=principal.party_id,
                    created_by_id=principal.user_id, distribution_level=level, tlp=tlp)
    db.session.add(notice)
    db.session.flush()
    set_distribution(notice, level=level, tlp=tlp, party_ids=party_ids, network_id=network_id)
    db.session.flush()
    record("notice.create", object_type="notice", object_id=notice.id, object_party=notice.owner_party.code,
           principal=principal,
           details={"level": level, "tlp": tlp, "recipients": len(party_ids), "network_id": network_id})
    readers = [user for user in audience(notice) if user.id != principal.user_id]
    _notify_new_readers(notice, readers, "notice.new")
    return notice


def reshare_notice(principal: Principal, notice: Notice, *, level: str, party_ids=(), network_id=None) -> Notice:
    """Change a notice's distribution (TLP unchanged); new readers are notified.

    Raises ``ReshareRefused`` (audited as denied) when a RED or AMBER+STRICT notice would reach anyone
    it does not reach now, and ``DistributionError`` on bad input.
    """
    validate_distribution(level, notice.tlp, party_ids, network_id)
    party_ids, network_id = check_recipients(notice.owner_party_id, level, party_ids, network_id)
    if not can_reshare(notice, level, party_ids=party_ids, network_id=network_id):
        record("notice.share", outcome="denied", object_type="notice", object_id=notice.id,
               object_party=notice.owner_party.code, principal=principal,
               details={"level": level, "tlp": notice.tlp, "reason": "restricted_tlp"})
        raise ReshareRefused(notice.tlp)
    before = {user.id for user in audience(notice)}
    old_level = notice.distribution_level
    set_distribution(notice, level=level, tlp=notice.tlp, party_ids=party_ids, network_id=network_id)
    db.session.flush()
    record("notice.share", object_type="notice", object_id=notice.id, object_party=notice.owner_party.code,
           principal=principal, details={"from_level": old_level, "level": level, "tlp": notice.tlp,
                    "recipients": len(party_ids), "network_id": network_id})
    readers = [user for user in audience(notice) if user.id not in before and user.id != principal.user_id]
    _notify_new_readers(notice, readers, "notice.shared")
    return notice


def reshare_notice_to_network(principal: Principal, notice: Notice) -> list[int]:
    """Send a network notice to the parties that joined the network since it was posted (or last re-shared):
    they are notified as new readers; returns their ids. Never for a RED or AMBER+STRICT notice, and only
    for a network distribution (``ReshareRefused``, audited as denied)."""
    if not can_reshare_to_network_members(notice):
        reason = "restricted_tlp" if notice.tlp in RESTRICTED_TLP else "not_network"
        record("notice.share", outcome="denied", object_type="notice", object_id=notice.id,
               object_party=notice.owner_party.code, principal=principal,
               details={"level": notice.distribution_level, "tlp": notice.tlp, "reason": reason,
                        "to": "network_members"})
        raise ReshareRefused(notice.tlp, "tlp" if reason == "restricted_tlp" else "level")
    before = {user.id for user in audience(notice)}
    reached = retake_network_audience(notice)
    if not reached:
        raise ReshareRefused(notice.tlp, "none")
    db.session.flush()
    record("notice.share", object_type="notice", object_id=notice.id, object_party=notice.owner_party.code,
           principal=principal, details={"from_level": "network", "level": "network", "tlp": notice.tlp,
                                         "network_id": notice.network_id, "to": "network_members",
                                         "reached": len(reached)})
    readers = [user for user in audience(notice) if user.id not in before and user.id != principal.user_id]
    _notify_new_readers(notice, readers, "notice.shared")
    return reached
