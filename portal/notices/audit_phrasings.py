"""How the audit viewer phrases the audited actions of notices, and names their records
(``portal.audit.phrasing``): imported by ``create_app`` (``AUDIT_PHRASINGS``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.phrasing import register_action_phrasings, register_object_kind

register_action_phrasings({
    "notice.create": (_l("posted %(object)s"), _l("post %(object)s")),
    "notice.list": (_l("listed the notices"), _l("list the notices")),
    "notice.share": (_l("shared %(object)s more widely"), _l("share %(object)s more widely")),
    "notice.view": (_l("opened %(object)s"), _l("open %(object)s")),
})
register_object_kind("notice", _l("notice %(ref)s"), "notices.detail", "notice_id")
