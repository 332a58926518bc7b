"""The reporting pages: the cycles, the board, the grid with its errors at each cell, versions, decisions."""

from __future__ import annotations

from portal.extensions import db
from tests.reporting.factories import FLOW_ROW, filled, open_cycle, party_return


def _grid(rows) -> dict:
    form = {"row_count": str(len(rows))}
    for index, row in enumerate(rows):
        form.update({f"cell-{index}-{name}": str(value) for name, value in row.items()})
    return form


def test_the_secretariat_opens_a_cycle_from_the_page(app_ctx, make_user, login_as):
    client = login_as(make_user(role="secretariat_admin", party_code="TS"))
    assert client.get("/reporting/").status_code == 200
    bad = client.post("/reporting/cycles", data={"template": "extra_regional_flows", "period": "2026-Q2",
                                                 "due_date": "2099-01-01"})
    assert bad.status_code == 400 and "A period is a year and a half" in bad.get_data(as_text=True)
    response = client.post("/reporting/cycles", data={"template": "extra_regional_flows", "period": "2026-H2",
                                                      "due_date": "2099-01-01"})
    assert response.status_code == 302
    board = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="board-GTM"' in board and "Not started" in board


def test_the_grid_shows_each_error_at_its_cell_and_saves_nothing(app_ctx, make_user, login_as):
    cycle = open_cycle()
    client = login_as(make_user(role="liaison_officer", party_code="GTM"))
    url = f"/reporting/cycles/{cycle.id}/returns/GTM/edit"
    assert client.get(url).status_code == 200
    rows = [dict(FLOW_ROW), {}, {**FLOW_ROW, "nationality": "MEX", "women": 999}]
    response = client.post(url, data=_grid(rows))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="cell-2-nationality-error"' in page and "MEX is an RCM member country" in page
    assert 'id="cell-2-women-error"' not in page  # row rules wait for clean cells
    db.session.rollback()
    assert party_return(cycle, "GTM").status == "not_started"
    assert client.post(url, data=_grid([dict(FLOW_ROW)])).status_code == 302
    assert party_return(cycle, "GTM").draft_rows[0]["detected"] == 120


def test_submit_then_the_secretariat_sends_back_and_accepts(app_ctx, make_user, login_as, client):
    cycle = open_cycle()
    filled(cycle, "GTM")
    gtm = login_as(make_user(role="country_admin", party_code="GTM"))
    base = f"/reporting/cycles/{cycle.id}/returns/GTM"
    assert gtm.post(base + "/submit").status_code == 302
    from flask import current_app

    ts_client = current_app.test_client()
    login_as(make_user(role="secretariat_admin", party_code="TS"), ts_client)
    page = ts_client.get(base).get_data(as_text=True)
    assert 'id="accept-return"' in page and 'id="edit-return"' not in page
    assert ts_client.post(base + "/send-back", data={"reason": ""}).status_code == 400
    assert ts_client.post(base + "/send-back", data={"reason": "July is missing"}).status_code == 302
    assert "July is missing" in gtm.get(base).get_data(as_text=True)
    assert gtm.post(base + "/submit").status_code == 302
    assert ts_client.post(base + "/accept").status_code == 302
    assert party_return(cycle, "GTM").status == "accepted"
    diff_page = ts_client.get(base + "/versions/2").get_data(as_text=True)
    assert 'class="diff-same' in diff_page
    assert ts_client.get(base + "/versions/3").status_code == 404
    assert ts_client.get(f"/reporting/cycles/{cycle.id}/consolidated").status_code == 200


def test_the_objective_page_shows_the_cycles_and_what_the_viewer_may_see(app_ctx, make_user, login_as):
    cycle = open_cycle()
    filled(cycle, "GTM", submit=True)
    open_cycle("smuggling_legislation")
    ts = login_as(make_user(role="secretariat_admin", party_code="TS"))
    page = ts.get("/plan/ERX-INF-2").get_data(as_text=True)
    assert 'id="reporting-section"' in page and "Migrants detected: 120" in page and "Submitted: 1" in page
    assert "Legislation against migrant smuggling" not in page  # that template serves ERX-COP-3
    assert 'id="reporting-section"' in ts.get("/plan/ERX-COP-3").get_data(as_text=True)
    assert 'id="reporting-section"' not in ts.get("/plan/ERX-INF-4").get_data(as_text=True)
    from flask import current_app

    hnd = login_as(make_user(role="liaison_officer", party_code="HND"), current_app.test_client())
    other = hnd.get("/plan/ERX-INF-2").get_data(as_text=True)
    assert "Migrants detected: 120" not in other and "No submitted return that you may see yet." in other
