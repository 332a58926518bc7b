"""The accounts the audit names link to their administration page (``portal.audit.phrasing``), where the
reader administers them (``portal.access.visible_audited_ids``): imported by ``create_app``."""

from __future__ import annotations

from portal.audit.phrasing import register_object_page

register_object_page("user", "admin.user_detail", "user_id")
