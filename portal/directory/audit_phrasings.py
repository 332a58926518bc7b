"""How the audit viewer phrases the audited actions of the directories and networks, and names their records
(``portal.audit.phrasing``): imported by ``create_app`` (``AUDIT_PHRASINGS``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.phrasing import register_action_phrasings, register_object_kind

register_action_phrasings({
    "directory.api.members": (_l("read a network's members through the API"),
                               _l("read the members of a network through the API")),
    "directory.entry.create": (_l("added %(object)s to the directory"), _l("add %(object)s to the directory")),
    "directory.entry.update": (_l("updated %(object)s"), _l("update %(object)s")),
    "directory.entry.verify": (_l("confirmed that %(object)s is up to date"),
                                _l("confirm that %(object)s is up to date")),
    "directory.entry.deactivate": (_l("deactivated %(object)s"), _l("deactivate %(object)s")),
    "directory.export": (_l("exported the directory"), _l("export the directory")),
    "directory.list": (_l("listed directory entries"), _l("list directory entries")),
    "directory.membership.add": (_l("added %(object)s to a network"), _l("add %(object)s to a network")),
    "directory.membership.remove": (_l("removed %(object)s from a network"), _l("remove %(object)s from a network")),
    "directory.remind": (_l("reminded parties of directory entries to verify"),
                          _l("remind parties of directory entries to verify")),
    "network.create": (_l("created %(object)s"), _l("create %(object)s")),
    "network.update": (_l("edited %(object)s"), _l("edit %(object)s")),
    "network.party.add": (_l("added a party to %(object)s"), _l("add a party to %(object)s")),
    "network.party.remove": (_l("removed a party from %(object)s"), _l("remove a party from %(object)s")),
    "network.party.sync": (_l("updated the parties taking part in %(object)s"),
                            _l("update the parties taking part in %(object)s")),
})
register_object_kind("directory_entry", _l("directory entry %(ref)s"), "directory.entry", "entry_id")
register_object_kind("network", _l("network %(ref)s"), ref_detail="network")
