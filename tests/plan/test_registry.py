"""The action -> objective registry and its use by the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.audit.service import record
from portal.extensions import db
from portal.plan import data, registry
from portal.plan.registry import ACTION_OBJECTIVES, objectives_for_action


def test_every_registry_code_is_a_real_objective():
    objectives = set(data.objective_codes())
    for key, codes in ACTION_OBJECTIVES.items():
        assert codes, key
        assert set(codes) <= objectives, (key, set(codes) - objectives)
        assert len(set(codes)) == len(codes), key


def test_registry_keys_are_families_or_actions():
    for key in ACTION_OBJECTIVES:
        assert key == key.lower() and " " not in key
        assert key.endswith(".") or "." in key


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("alert.publish", ("ERX-INF-4", "MPM-2")),
        ("alert.search", ("ERX-INF-4", "MPM-2")),
        ("exchange.send", ("ERX-COO-1", "ERX-COO-3")),
        ("directory.export", ("MPM-3", "HR-2", "ERX-COP-1", "ERX-COP-3")),
        ("auth.login.failed", ("MPM-8",)),
        ("user.create", ("MPM-8",)),
        ("token.create", ("MPM-8",)),
        ("audit.export", ("MPM-8",)),
        ("access.denied", ("MPM-8",)),
        ("notice.post", ("MPM-8",)),
        ("unknown.thing", ()),
        ("alert", ()),  # a family key matches only names inside the family
        ("alerting.x", ()),
    ],
)
def test_defaults_by_family(action, expected):
    assert objectives_for_action(action) == expected


def test_longest_prefix_wins(monkeypatch):
    monkeypatch.setattr(registry, "ACTION_OBJECTIVES", {
        "alert.": ("ERX-INF-4",),
        "alert.search.": ("MPM-2",),
        "alert.search.export": ("MPM-8",),
    })
    assert objectives_for_action("alert.publish") == ("ERX-INF-4",)
    assert objectives_for_action("alert.search.run") == ("MPM-2",)
    assert objectives_for_action("alert.search.export") == ("MPM-8",)
    assert objectives_for_action("alert.search.exported") == ("MPM-2",)  # exact keys do not act as prefixes


def test_record_links_default_objectives(app_ctx):
    record("alert.publish", object_type="alert", object_id=7)
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "alert.publish"))
    assert entry.objective_codes == ["ERX-INF-4", "MPM-2"]
