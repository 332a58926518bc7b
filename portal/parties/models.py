"""Party and Network models."""

from __future__ import annotations

from flask_babel import get_locale
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

PARTY_KINDS = ("member", "observer", "secretariat", "organisation")


class Party(db.Model):
    """A country, the Technical Secretariat or an international organisation. Every user has one."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name_en: Mapped[str] = mapped_column(String(200))
    name_es: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def name(self) -> str:
        """Name in the current interface language."""
        return self.name_es if str(get_locale() or "en") == "es" else self.name_en

    @property
    def is_observer(self) -> bool:
        """Observer countries and organisations see only what members share openly."""
        return self.kind in ("observer", "organisation")

    def __repr__(self) -> str:
        return f"<Party {self.code}>"


class Network(db.Model):
    """A named network (liaison officers, focal points...); a distribution target."""

    __tablename__ = "networks"
    # loaded by the directory pages and API through get_visible_or_404 (portal.access.visibility_clause)
    visible_with_permission = "view_directory"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_es: Mapped[str] = mapped_column(String(200))
    parties: Mapped[list[Party]] = relationship(secondary="network_parties", order_by="Party.code")

    @property
    def name(self) -> str:
        return self.name_es if str(get_locale() or "en") == "es" else self.name_en


class NetworkParty(db.Model):
    """A party taking part in a network: its users see what is distributed to the network."""

    __tablename__ = "network_parties"

    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), primary_key=True)
