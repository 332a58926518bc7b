"""Directory entries, their network memberships, direct (secretariat) participations and reminders."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.access import DirectoryRecordMixin
from portal.crypto import EncryptedText
from portal.directory.indexes import name_index, token_indexes
from portal.extensions import db
from portal.parties.models import Network, Party
from portal.timeutil import utcnow

MEMBERSHIP_ROLES = ("coordinator", "member", "alternate")


class DirectoryEntry(DirectoryRecordMixin, db.Model):
    """A person in the directory, maintained by the country admins of ``party``; read only through
    ``visible(DirectoryEntry)`` (the directory permissions, ``DirectoryRecordMixin``)."""

    __tablename__ = "directory_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    full_name: Mapped[str] = mapped_column(EncryptedText("directory_entries.full_name"))
    # blind index of the whole normalised name (casefolded, accents stripped, spaces collapsed)
    name_index: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    institution: Mapped[str] = mapped_column(String(200), default="")
    # the institution normalised like names, for accent- and case-insensitive substring search
    institution_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    email: Mapped[str] = mapped_column(EncryptedText("directory_entries.email"))
    # JSON list of E.164 numbers, encrypted as one value
    phones_data: Mapped[str | None] = mapped_column("phones", EncryptedText("directory_entries.phones"),
                                                    nullable=True)
    phones_restricted: Mapped[bool] = mapped_column(default=False)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_verified_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    party: Mapped[Party] = relationship(lazy="joined")
    memberships: Mapped[list[NetworkMembership]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="NetworkMembership.id"
    )
    name_tokens: Mapped[list[DirectoryNameToken]] = relationship(cascade="all, delete-orphan")

    @property
    def phones(self) -> list[str]:
        return json.loads(self.phones_data) if self.phones_data else []

    @phones.setter
    def phones(self, numbers: list[str]) -> None:
        self.phones_data = json.dumps(list(numbers)) if numbers else None

    @property
    def network_ids(self) -> set[int]:
        return {membership.network_id for membership in self.memberships}


class DirectoryNameToken(db.Model):
    """Blind index of one token of an entry's normalised name ("lopez" of "María López")."""

    __tablename__ = "directory_name_tokens"

    entry_id: Mapped[int] = mapped_column(ForeignKey("directory_entries.id"), primary_key=True)
    token_index: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_directory_name_tokens_token_index", "token_index"),)


class NetworkMembership(db.Model):
    """An entry taking part in a network with a role; maintained by the secretariat."""

    __tablename__ = "network_memberships"
    __table_args__ = (UniqueConstraint("entry_id", "network_id", name="uq_network_memberships_entry_network"),)
    visible_through = "entry_id"  # seen by exactly whoever sees the entry (portal.access.visibility_clause)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("directory_entries.id"), index=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[DirectoryEntry] = relationship(back_populates="memberships")
    network: Mapped[Network] = relationship(lazy="joined")


class NetworkPartyPin(db.Model):
    """A party the secretariat added to a network directly: it stays without any directory entry."""

    __tablename__ = "network_party_pins"

    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class DirectoryReminder(db.Model):
    """One staleness reminder per party per day (makes ``directory remind`` idempotent)."""

    __tablename__ = "directory_reminders"

    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    sent_on: Mapped[date] = mapped_column(Date, primary_key=True)
    stale_count: Mapped[int] = mapped_column(default=0)


def _reindex_entry(entry: DirectoryEntry) -> dict[str, str]:
    """Recompute an entry's blind indexes from its decrypted name (``keys rotate --index``)."""
    entry.name_tokens = [DirectoryNameToken(token_index=index) for index in token_indexes(entry.full_name)]
    return {"name_index": name_index(entry.full_name)}


from portal.rotation import register_blind_index, register_encrypted_column

register_encrypted_column(DirectoryEntry, "full_name", "email", "phones_data")
register_blind_index(DirectoryEntry, _reindex_entry, name="directory.name")

from portal.access import register_audited_record
from portal.plan.registry import register_action_objectives

# The network directories are the liaison-officer networks' own tool: MPM-3 (3.1, a mechanism to follow up
# on the activities of the network - the Traffic Network, LON-SMT), HR-2 (2.2 and 2.3, consular protection
# and monitoring the Consular Network, LON-CP), ERX-COP-1 (the network of consulates in Washington, run by
# LON-CP) and ERX-COP-3 (follow-up in the framework of LON-SMT).
register_action_objectives("directory.", ("MPM-3", "HR-2", "ERX-COP-1", "ERX-COP-3"))
register_action_objectives("network.", ("MPM-3", "HR-2", "ERX-COP-1", "ERX-COP-3"))
register_audited_record("directory_entry", DirectoryEntry)
