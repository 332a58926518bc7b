"""How the audit viewer phrases the audited actions of periodic reporting, and names their records
(``portal.audit.phrasing``): imported by ``create_app`` (``AUDIT_PHRASINGS``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.phrasing import register_action_phrasings, register_object_kind

register_action_phrasings({
    "reporting.consolidated": (_l("viewed the consolidated report of a cycle"),
                                _l("view the consolidated report of a cycle")),
    "reporting.cycle.open": (_l("opened a reporting cycle"), _l("open a reporting cycle")),
    "reporting.export": (_l("exported reporting data"), _l("export reporting data")),
    "reporting.list": (_l("listed the reporting cycles"), _l("list the reporting cycles")),
    "reporting.remind": (_l("reminded parties of returns due"), _l("remind parties of returns due")),
    "reporting.return.accept": (_l("accepted %(object)s"), _l("accept %(object)s")),
    "reporting.return.edit": (_l("edited %(object)s"), _l("edit %(object)s")),
    "reporting.return.send_back": (_l("sent %(object)s back for changes"), _l("send %(object)s back for changes")),
    "reporting.return.share": (_l("shared %(object)s"), _l("share %(object)s")),
    "reporting.return.submit": (_l("submitted %(object)s"), _l("submit %(object)s")),
    "reporting.return.view": (_l("opened %(object)s"), _l("open %(object)s")),
    "reporting.template.add": (_l("added a reporting template"), _l("add a reporting template")),
    "reporting.view": (_l("opened a reporting cycle's page"), _l("open a reporting cycle's page")),
})
register_object_kind("reporting_return", _l("periodic return %(ref)s"))
register_object_kind("reporting_cycle", _l("reporting cycle %(ref)s"))
