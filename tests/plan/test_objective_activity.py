"""An objective page charts its activity over time and links the records the viewer may see."""

from __future__ import annotations

import re

from portal.extensions import db
from tests.alerts.factories import report
from tests.exchange.factories import make_submission


def test_an_objective_page_links_only_visible_records_and_charts_its_activity(make_user, login_as, client):
    gtm = make_user(role="liaison_officer", party_code="GTM")
    shared = report(gtm, document_number="P1000001", objectives=["ERX-INF-4"])
    hidden = report(gtm, document_number="P1000002", objectives=["ERX-INF-4"],
                    distribution={"level": "parties", "parties": ["HND"]})
    other = report(gtm, document_number="P1000003", objectives=["MPM-2"])
    submission = make_submission(gtm, parties=["MEX"], tlp="GREEN", objectives=["ERX-INF-4"])
    db.session.commit()
    login_as(make_user(role="border_officer", party_code="MEX"))
    html = client.get("/plan/ERX-INF-4").data.decode()
    alerts = html[html.index('id="objective-records-alerts"'):]
    alerts = alerts[:alerts.index("</section>")]
    assert f"/alerts/{shared.id}" in alerts and "1 record you may see." in alerts
    assert f"/alerts/{hidden.id}" not in html and f"/alerts/{other.id}" not in html
    exchange = html[html.index('id="objective-records-exchange"'):]
    assert f"/exchange/{submission.id}" in exchange[:exchange.index("</section>")]
    activity = re.search(r'<figure class="rcm-chart rcm-chart-line" id="objective-activity".*?</figure>', html, re.DOTALL)
    assert activity and "<svg" in activity.group(0)
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th><td>(\d+)</td></tr>', activity.group(0))
    assert len(rows) == 12 and int(rows[-1][1]) >= 1  # this month: at least the shared alert's creation


def test_an_objective_without_records_says_so(make_user, login_as, client):
    login_as(make_user(role="border_officer", party_code="MEX"))
    html = client.get("/plan/MPM-5").data.decode()
    assert html.count("None that you may see.") == 2
