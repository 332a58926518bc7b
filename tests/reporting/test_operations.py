"""Opening cycles, drafts, submissions, the secretariat's decisions, versions and diffs, and their audit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.reporting import diff, operations, queries
from portal.reporting.catalogue import latest_template
from portal.reporting.models import PartyReturn
from portal.reporting.validation import ReturnInvalid
from portal.timeutil import utcnow
from tests.reporting.factories import (
    FLOW_ROW,
    audit_rows,
    filled,
    open_cycle,
    party_return,
    principal,
    secretariat,
)


def test_opening_a_cycle_gives_each_member_country_a_return_shared_with_the_secretariat(app_ctx, party):
    cycle = open_cycle()
    returns = db.session.query(PartyReturn).filter_by(cycle_id=cycle.id).all()
    assert sorted(item.owner_party.code for item in returns) == sorted(
        ["BLZ", "CAN", "CRI", "DOM", "SLV", "GTM", "HND", "MEX", "NIC", "PAN", "USA"])
    gtm = party_return(cycle, "GTM")
    assert (gtm.status, gtm.distribution_level, gtm.tlp, gtm.recipient_party_ids) == (
        "not_started", "parties", "AMBER", [party("TS").id])
    assert gtm.template_id == latest_template("extra_regional_flows").id
    (entry,) = audit_rows("reporting.cycle.open")
    assert [link.code for link in entry.objectives] == ["ERX-INF-2"]
    assert json.loads(entry.details)["returns"] == 11


@pytest.mark.parametrize(("template", "period", "due_days", "field"), [
    ("nonsense", "2026-H2", 10, "template"),
    ("extra_regional_flows", "2026-Q3", 10, "period"),
    ("extra_regional_flows", "2026-H2", -1, "due_date"),
])
def test_a_bad_cycle_is_refused_naming_the_field(app_ctx, template, period, due_days, field):
    with pytest.raises(operations.ReportingRefused) as refused:
        operations.open_cycle(secretariat(), template, period, utcnow().date() + timedelta(days=due_days))
    assert refused.value.field == field


def test_a_cycle_is_opened_once_per_template_and_period(app_ctx):
    open_cycle()
    with pytest.raises(operations.ReportingRefused, match="already open"):
        open_cycle()
    assert open_cycle("smuggling_legislation").template_code == "smuggling_legislation"


def test_bad_rows_store_nothing(app_ctx):
    cycle = open_cycle()
    item = filled(cycle, "GTM")
    with pytest.raises(ReturnInvalid) as invalid:
        operations.save_draft(principal("country_admin", "GTM"), item,
                              [dict(FLOW_ROW), {**FLOW_ROW, "nationality": "CHN", "women": 500}])
    assert [(error.field, error.message[:19]) for error in invalid.value.errors] == [
        ("rows[1].women", "Cannot be more than")]
    db.session.rollback()
    assert party_return(cycle, "GTM").draft_rows == [{**FLOW_ROW, "detection_point": None, "main_routes": None}]


def test_submit_accept_send_back_and_a_new_version_with_its_diff(app_ctx):
    cycle = open_cycle()
    gtm = principal("country_admin", "GTM")
    item = filled(cycle, "GTM", submit=True)
    assert (item.status, item.submitted_version) == ("submitted", 1)
    with pytest.raises(operations.ReportingRefused):
        operations.save_draft(gtm, item, [])  # submitted: not editable until sent back
    operations.send_back(secretariat(), item, "  Month 2026-07 lacks the air arrivals. ")
    assert (item.status, item.return_reason, item.draft_rows[0]["detected"]) == (
        "returned", "Month 2026-07 lacks the air arrivals.", 120)
    corrected = [{**FLOW_ROW, "detected": 150}, {**FLOW_ROW, "nationality": "CMR", "women": 1}]
    operations.save_draft(gtm, item, corrected)
    operations.submit(gtm, item)
    operations.accept(secretariat(), item)
    db.session.commit()
    first, second = queries.versions(item)
    assert (first.number, first.decision, first.reason, second.number, second.decision) == (
        1, "returned", "Month 2026-07 lacks the air arrivals.", 2, "accepted")
    assert first.rows[0]["detected"] == 120  # every version kept as it was
    changes = diff.diff_rows(item.template, first.rows, second.rows)
    assert [(change.kind, change.key[0], change.cells) for change in changes] == [
        ("changed", "IND", ["detected"]), ("added", "CMR", [])]
    assert [len(audit_rows(action)) for action in ("reporting.return.edit", "reporting.return.submit",
                                                   "reporting.return.send_back", "reporting.return.accept")] == [
        2, 2, 1, 1]
    entry = audit_rows("reporting.return.send_back")[0]
    assert "lacks" not in entry.details  # the reason is not in the audit
    assert [link.code for link in entry.objectives] == ["ERX-INF-2"]


def test_only_a_submitted_return_is_decided_and_a_reason_is_needed(app_ctx):
    cycle = open_cycle()
    item = filled(cycle, "GTM")
    with pytest.raises(operations.ReportingRefused, match="Only a submitted"):
        operations.accept(secretariat(), item)
    with pytest.raises(operations.ReportingRefused) as refused:
        operations.send_back(secretariat(), item, "   ")
    assert refused.value.field == "reason"
    with pytest.raises(operations.ReportingRefused, match="Save the return"):
        operations.submit(principal("country_admin", "MEX"), party_return(cycle, "MEX"))


def test_a_new_template_version_leaves_open_cycles_on_theirs(app_ctx):
    cycle = open_cycle()
    old = cycle.template
    new = operations.add_template_version(secretariat(), "extra_regional_flows", title_en=old.title_en,
                                          title_es=old.title_es, objective=old.objective,
                                          period_kind=old.period_kind, table=dict(old.table, unique=False))
    assert new.version == old.version + 1
    assert party_return(cycle, "GTM").template.version == old.version
    assert open_cycle(period="2027-H1").template.version == new.version


def test_the_board_shows_late_and_dates(app_ctx):
    cycle = open_cycle(due=utcnow().date() - timedelta(days=1))
    filled(cycle, "GTM", submit=True)
    filled(cycle, "PAN")
    lines = {line.party_code: line for line in queries.board(secretariat(), cycle)}
    assert (lines["GTM"].status, lines["PAN"].status, lines["MEX"].status) == ("submitted", "late", "late")
    assert lines["GTM"].submitted_at is not None and lines["GTM"].version == 1
    own = queries.board(principal("country_admin", "MEX"), cycle)
    assert [line.party_code for line in own] == ["MEX"]  # another party's status is the secretariat's to see
