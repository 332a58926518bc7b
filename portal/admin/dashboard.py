"""The account administrator's dashboard panel: the accounts they administer, by role, and those of the
party created from outside it (``portal.access.manageable_users``: nobody else's accounts)."""

from __future__ import annotations

from collections import Counter

from flask_babel import gettext as _

from auth.models import User
from auth.permissions import ROLE_LABELS
from portal.access import manageable_users
from portal.admin.operations import accounts_created_from_outside
from portal.charts import bar_chart
from portal.dashboard.panels import register_panel
from portal.extensions import db


def accounts(principal) -> dict:
    rows = db.session.execute(manageable_users(principal).with_only_columns(User.role, User.active)).all()
    active = Counter(role for role, is_active in rows if is_active)
    inactive = Counter(role for role, is_active in rows if not is_active)
    roles = [role for role in ROLE_LABELS if active[role] or inactive[role]]
    chart = bar_chart("accounts-by-role", _("Accounts by role"), [str(ROLE_LABELS[role]) for role in roles][::-1],
                      {_("Active"): [active[role] for role in roles][::-1],
                       _("Deactivated"): [inactive[role] for role in roles][::-1]},
                      label_heading=_("Role"), stacked=True, horizontal=True, height=130 + 30 * max(len(roles), 1))
    return {"total": len(rows), "active": sum(active.values()), "chart": chart,
            "from_outside": accounts_created_from_outside(principal)}


register_panel("admin_accounts", template="admin/_dashboard_accounts.html", load=accounts,
               permission="manage_party_users", order=8)
