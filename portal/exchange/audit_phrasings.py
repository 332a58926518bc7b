"""How the audit viewer phrases the audited actions of the intelligence exchange, and names their records
(``portal.audit.phrasing``): imported by ``create_app`` (``AUDIT_PHRASINGS``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.phrasing import register_action_phrasings, register_object_kind

register_action_phrasings({
    "exchange.acknowledge": (_l("acknowledged %(object)s"), _l("acknowledge %(object)s")),
    "exchange.attach": (_l("attached a file to %(object)s"), _l("attach a file to %(object)s")),
    "exchange.attachment_view": (_l("opened %(object)s"), _l("open %(object)s")),
    "exchange.close": (_l("closed %(object)s"), _l("close %(object)s")),
    "exchange.create": (_l("drafted %(object)s"), _l("draft %(object)s")),
    "exchange.detach": (_l("removed a file from %(object)s"), _l("remove a file from %(object)s")),
    "exchange.forward": (_l("forwarded %(object)s"), _l("forward %(object)s")),
    "exchange.list": (_l("listed intelligence submissions"), _l("list intelligence submissions")),
    "exchange.reply": (_l("replied to %(object)s"), _l("reply to %(object)s")),
    "exchange.send": (_l("sent %(object)s"), _l("send %(object)s")),
    "exchange.update": (_l("edited %(object)s"), _l("edit %(object)s")),
    "exchange.view": (_l("opened %(object)s"), _l("open %(object)s")),
})
register_object_kind("submission", _l("submission %(ref)s"), "exchange.detail", "submission_id")
register_object_kind("submission_attachment", _l("submission file %(ref)s"))
