"""Who is told of what on a submission: its recipients when it is sent or forwarded to them, the reply's
audience when a reply arrives, the sender when a party acknowledges.

Only active users who hold ``exchange_intelligence`` and can see the submission *now* are told (through the
one access rule, ``visible(Submission, Principal.for_user(user))``), never the acting user. Each gets an
in-app notification and, for a new submission, a forward or a reply, an e-mail through the outbox, in the
user's language. For AMBER and RED the messages carry only the reference, kind and TLP.
"""

from __future__ import annotations

from collections import defaultdict

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from auth.models import User
from auth.permissions import permissions_for_role
from portal.access import visible
from portal.exchange.models import KINDS, PERMISSION, Submission
from portal.extensions import db
from portal.notifications.operations import notify, title_for
from portal.outbox.service import queue_email
from portal.principal import Principal
from portal.routing import portal_path, portal_url


def _link(submission: Submission, external: bool = False) -> str:
    """The submission's page: a path for in-app notifications, an absolute link (``PORTAL_BASE_URL``) for mail."""
    build = portal_url if external else portal_path
    return build("exchange.detail", submission_id=submission.id)


def readers(submission: Submission, party_ids, exclude_user_id: int | None = None) -> list[User]:
    """Active users of ``party_ids`` who hold exchange_intelligence and can see ``submission``."""
    if not party_ids:
        return []
    users = db.session.scalars(select(User).where(User.active.is_(True), User.party_id.in_(list(party_ids)))).all()
    groups: dict[tuple[int, str], list[User]] = defaultdict(list)
    for user in users:
        if user.id != exclude_user_id and PERMISSION in permissions_for_role(user.role):
            groups[(user.party_id, user.role)].append(user)
    chosen: list[User] = []
    for members in groups.values():
        principal = Principal.for_user(members[0])
        if db.session.scalar(visible(Submission, principal).where(Submission.id == submission.id)
                             .with_only_columns(Submission.id)):
            chosen.extend(members)
    return sorted(chosen, key=lambda user: user.id)


def _email_body(submission: Submission, headline: str) -> str:
    lines = [headline, "", _("Reference: %(reference)s", reference=submission.reference),
             _("Kind: %(kind)s", kind=KINDS[submission.kind]), f"TLP:{submission.tlp}",
             _("From: %(party)s", party=submission.owner_party.code)]
    if submission.tlp in ("CLEAR", "GREEN"):
        lines.append(_("Title: %(title)s", title=submission.title))
    else:
        lines.append(_("The content is shown only on the portal, after you sign in."))
    lines += ["", _link(submission, external=True)]
    return "\n".join(lines)


def _notify(submission: Submission, users, kind: str, content_title, reference_title) -> None:
    """In-app notification and an e-mail through the outbox, each in the user's language."""
    title = title_for(submission.tlp, content_title=content_title, reference_title=reference_title)
    notify(users, kind, title, _link(submission), submission.tlp)
    for user in users:
        with force_locale(user.locale or "en"):
            subject = str(title)
            queue_email(user.email, subject, _email_body(submission, subject))


def notify_new(submission: Submission, party_ids, kind: str, actor_id: int) -> None:
    """Tell the readers of ``party_ids`` that ``submission`` reached them (``kind``: ``exchange.new`` when
    sent, ``exchange.forwarded`` when forwarded), leaving out the acting user."""
    users = readers(submission, party_ids, exclude_user_id=actor_id)
    _notify(submission, users, kind,
            _l("%(reference)s from %(party)s: %(title)s", reference=submission.reference,
               party=submission.owner_party.code, title=submission.title),
            _l("%(reference)s: %(kind)s from %(party)s (TLP:%(tlp)s)", reference=submission.reference,
               kind=KINDS[submission.kind], party=submission.owner_party.code, tlp=submission.tlp))


def notify_reply(submission: Submission, principal: Principal, party_ids) -> None:
    """Tell the readers of the reply's audience ``party_ids`` that ``principal``'s party replied."""
    users = readers(submission, party_ids, exclude_user_id=principal.user_id)
    _notify(submission, users, "exchange.reply",
            _l("Reply from %(party)s on %(reference)s: %(title)s", party=principal.party_code,
               reference=submission.reference, title=submission.title),
            _l("Reply from %(party)s on %(reference)s (TLP:%(tlp)s)", party=principal.party_code,
               reference=submission.reference, tlp=submission.tlp))


def notify_acknowledged(submission: Submission, principal: Principal) -> None:
    """Tell the sending user (if still active) that ``principal``'s party acknowledged receipt (in-app only)."""
    sender = db.session.get(User, submission.created_by_id)
    if sender is not None and sender.active:
        notify([sender], "exchange.acknowledged",
               _l("%(reference)s acknowledged by %(party)s", reference=submission.reference,
                  party=principal.party_code), _link(submission), submission.tlp)
