"""Telling a network's parties that a party joined or left it.

What is distributed to a network reaches the parties taking part when it is sent, and a party that leaves
no longer sees it (``portal.access``), so who takes part matters to every party in it. Each change is told
at once, in-app and by e-mail, to the administrators (``manage_party_users``) of every party taking part
after it and of the party that joined or left.
"""

from __future__ import annotations

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.notifications.operations import notify, party_administrators
from portal.outbox.service import queue_email
from portal.parties.models import Network, NetworkParty, Party
from portal.routing import portal_path, portal_url


def _what(taking_part: bool, **values):
    if taking_part:
        return _l("%(party)s now takes part in the network %(network)s. It receives what is distributed to the "
                  "network from now on, not what was sent before.", **values)
    return _l("%(party)s no longer takes part in the network %(network)s. It no longer sees what was "
              "distributed to the network.", **values)


def tell_network_of_change(network: Network, party: Party, taking_part: bool) -> int:
    """Tell the administrators of ``network``'s parties, and of ``party``, that ``party`` joined
    (``taking_part``) or left it; returns how many users were told."""
    party_ids = set(db.session.scalars(select(NetworkParty.party_id).where(NetworkParty.network_id == network.id)))
    admins = [admin for party_id in sorted(party_ids | {party.id}) for admin in party_administrators(party_id)]
    what = _what(taking_part, party=party.code, network=network.code)
    notify(admins, "network.party_joined" if taking_part else "network.party_left", what,
           portal_path("directory.network", network_id=network.id), None, flush=False)
    for admin in admins:
        with force_locale(admin.locale or "en"):
            body = "\n\n".join([str(what), portal_url("directory.network", network_id=network.id)])
            queue_email(admin.email, gettext("Network %(network)s: a party joined or left", network=network.code),
                        body, flush=False)
    db.session.flush()
    return len(admins)
