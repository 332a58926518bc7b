"""The directory's dashboard panel for its maintainers: the party's entries not verified recently."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.access import visible
from portal.dashboard.panels import register_panel
from portal.directory.models import DirectoryEntry
from portal.directory.queries import STALE_MONTHS, stale_clause
from portal.extensions import db

LISTED = 5


def stale_entries(principal) -> dict:
    stale = visible(DirectoryEntry, principal).where(DirectoryEntry.party_id == principal.party_id, stale_clause())
    count = db.session.scalar(select(func.count()).select_from(stale.order_by(None).subquery()))
    listed = db.session.scalars(stale.order_by(DirectoryEntry.last_verified_on.is_not(None),
                                               DirectoryEntry.last_verified_on, DirectoryEntry.id).limit(LISTED)).all()
    return {"entries": listed, "count": count, "months": STALE_MONTHS, "party_code": principal.party_code}


register_panel("directory_stale", template="directory/_dashboard_stale.html", load=stale_entries,
               permission="manage_party_directory", order=9)
