"""Who sees which return, and what the consolidation counts: a party never sees another's draft; the
secretariat sees what was submitted; sharing with all members widens it; consolidation counts only what the
viewer may see (and says so)."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import NotFound

from portal.access import visible
from portal.extensions import db
from portal.reporting import operations, queries
from portal.reporting.consolidation import consolidate
from portal.reporting.models import PartyReturn, ReturnVersion
from tests.reporting.factories import FLOW_ROW, filled, open_cycle, principal, secretariat

VIEWERS = {
    "own": ("liaison_officer", "GTM"),
    "secretariat": ("secretariat_admin", "TS"),
    "other_member": ("country_admin", "MEX"),
    "observer_country": ("country_admin", "ARG"),
    "organisation": ("country_admin", "IOM"),
}
# viewer -> (sees GTM's draft, sees it submitted, sees it submitted and shared with members as GREEN)
EXPECTED = {
    "own": (True, True, True),
    "secretariat": (False, True, True),
    "other_member": (False, False, True),
    "observer_country": (False, False, True),
    "organisation": (False, False, True),
}


def _sees(viewer, cycle) -> bool:
    try:
        queries.get_return_or_404(principal(*VIEWERS[viewer]), cycle, "GTM")
    except NotFound:
        return False
    return True


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_who_sees_a_return_at_each_stage(app_ctx, viewer):
    cycle = open_cycle()
    item = filled(cycle, "GTM")
    seen = [_sees(viewer, cycle)]
    operations.submit(principal("country_admin", "GTM"), item)
    seen.append(_sees(viewer, cycle))
    operations.share(principal("country_admin", "GTM"), item, "members", "GREEN")
    seen.append(_sees(viewer, cycle))
    assert tuple(seen) == EXPECTED[viewer]
    ids = set(db.session.scalars(visible(ReturnVersion, principal(*VIEWERS[viewer])).with_only_columns(
        ReturnVersion.return_id)))
    assert (item.id in ids) == EXPECTED[viewer][2]  # the versions are seen exactly with their return


def test_after_a_send_back_others_read_the_submitted_version_not_the_new_draft(app_ctx):
    cycle = open_cycle()
    item = filled(cycle, "GTM", submit=True)
    operations.send_back(secretariat(), item, "Check July")
    operations.save_draft(principal("country_admin", "GTM"), item, [{**FLOW_ROW, "detected": 999}])
    assert queries.shown_rows(secretariat(), item)[0]["detected"] == 120
    assert queries.shown_rows(principal("country_admin", "GTM"), item)[0]["detected"] == 999


def test_only_the_own_party_fills_in_its_return(app_ctx):
    cycle = open_cycle()
    filled(cycle, "GTM", submit=True)
    operations.share(principal("country_admin", "GTM"), queries.get_return_or_404(
        principal("country_admin", "GTM"), cycle, "GTM"), "members", "GREEN")
    with pytest.raises(NotFound):
        queries.get_fillable_or_404(principal("country_admin", "MEX"), cycle, "GTM")
    assert queries.get_fillable_or_404(principal("liaison_officer", "GTM"), cycle, "GTM").owner_party.code == "GTM"


def test_consolidation_counts_only_what_the_viewer_may_see(app_ctx):
    cycle = open_cycle()
    filled(cycle, "GTM", submit=True)  # secretariat only
    mex = filled(cycle, "MEX", [{**FLOW_ROW, "detected": 80, "women": 10}], submit=True)
    operations.share(principal("country_admin", "MEX"), mex, "members", "GREEN")
    filled(cycle, "PAN", [{**FLOW_ROW, "detected": 5000, "women": 1}])  # a draft: nobody counts it
    db.session.commit()
    by_viewer = {code: consolidate(principal(role, code), cycle) for role, code in (
        ("secretariat_admin", "TS"), ("country_admin", "HND"), ("country_admin", "GTM"), ("country_admin", "PAN"))}
    assert by_viewer["TS"].totals["detected"] == 200 and by_viewer["TS"].basis.used == ["GTM", "MEX"]
    assert by_viewer["HND"].totals["detected"] == 80 and by_viewer["HND"].basis.left_out == 10
    assert by_viewer["GTM"].totals["detected"] == 200
    assert by_viewer["PAN"].totals["detected"] == 80  # its own draft is not a figure yet
    shares = {party: share for party, _value, share in by_viewer["TS"].shares}
    assert shares == {"GTM": 60.0, "MEX": 40.0}
    assert dict(by_viewer["TS"].by["continent"])["asia"]["detected"] == 200


def test_the_change_from_the_previous_cycle_uses_the_same_rule(app_ctx):
    before = open_cycle(period="2026-H1")
    filled(before, "GTM", [{**FLOW_ROW, "month": "2026-03", "detected": 100}], submit=True)
    now = open_cycle(period="2026-H2")
    filled(now, "GTM", submit=True)
    result = consolidate(secretariat(), now)
    assert (result.previous_period, result.change("detected")) == ("2026-H1", 20)
    assert consolidate(principal("country_admin", "HND"), now).change("detected") == 0  # sees neither


def test_the_matrix_flags_what_changed_since_the_previous_cycle(app_ctx):
    rows = [{"topic": "protocol_ratification", "status": "no"}, {"topic": "smuggling_offence", "status": "yes"}]
    filled(open_cycle("smuggling_legislation", "2026-H1"), "GTM", rows, submit=True)
    now = open_cycle("smuggling_legislation", "2026-H2")
    filled(now, "GTM", [{**rows[0], "status": "yes"}, rows[1]], submit=True)
    matrix = consolidate(secretariat(), now).matrix["GTM"]
    assert matrix["protocol_ratification"] == ("yes", True)
    assert matrix["smuggling_offence"] == ("yes", False)
    assert db.session.query(PartyReturn).count() == 22


def test_the_charts_count_only_what_the_viewer_may_see(app_ctx):
    from portal.reporting.charts import consolidation_charts

    before = open_cycle(period="2026-H1")
    filled(before, "GTM", [{**FLOW_ROW, "month": "2026-03", "detected": 100}], submit=True)
    now = open_cycle(period="2026-H2")
    filled(now, "GTM", submit=True)
    filled(now, "PAN", [{**FLOW_ROW, "detected": 5000, "women": 1}])  # a draft
    charts = {c.key: c for c in consolidation_charts(secretariat(), consolidate(secretariat(), now), "en")}
    assert charts["reporting-trend"].rows() == [("2026-H1", (100,)), ("2026-H2", (120,))]
    assert charts["reporting-top-nationalities"].rows() == [("IND", (120,))]
    assert charts["reporting-months"].rows()[0] == ("2026-07", (120,))
    assert "<svg" in charts["reporting-trend"].svg()
    hidden = consolidation_charts(principal("country_admin", "HND"), consolidate(principal("country_admin", "HND"), now),
                                  "en")
    assert [c.empty for c in hidden] == [True, True]  # sees no return: an empty trend and months, no nationality
