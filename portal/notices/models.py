"""A notice, shared under the portal's distribution and TLP rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.access import ShareableMixin
from portal.crypto import EncryptedText
from portal.extensions import db
from portal.parties.models import Party
from portal.timeutil import utcnow


class Notice(ShareableMixin, db.Model):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(EncryptedText("notices.title"))
    body: Mapped[str] = mapped_column(EncryptedText("notices.body"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    owner_party: Mapped[Party] = relationship(foreign_keys="Notice.owner_party_id", lazy="joined")


from portal.rotation import register_encrypted_column

register_encrypted_column(Notice, "title", "body")

from portal.access import register_audited_record
from portal.plan.registry import INFORMATION_SYSTEMS, register_action_objectives

# Notices are the secretariat's and the parties' circulars about the running of the portal and its
# meetings: the information system itself (MPM-8), not one substantive objective.
register_action_objectives("notice.", (INFORMATION_SYSTEMS,))
register_audited_record("notice", Notice)
