"""The plan pages: both plans, an objective or topic with its audit summary, in English and Spanish."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.audit.service import record
from portal.extensions import db
from portal.plan import views
from portal.plan.data import objective_codes
from portal.principal import Principal

ROLES = ("secretariat_admin", "country_admin", "liaison_officer", "border_officer", "observer")
PARTY_OF_ROLE = {"secretariat_admin": "TS", "observer": "IOM"}


@pytest.fixture
def signed_in(client, make_user, login_as):
    user = make_user(role="liaison_officer", party_code="GTM")
    login_as(user)
    return client


@pytest.mark.parametrize("path", ["/plan/", "/plan/MPM-2", "/plan/ERX-INF", "/plan/NOPE"])
def test_login_required(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_views_require_view_plan():
    assert views.index.required_permission == "view_plan"
    assert views.detail.required_permission == "view_plan"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_browse(client, make_user, login_as, role):
    login_as(make_user(role=role, party_code=PARTY_OF_ROLE.get(role, "GTM")))
    assert client.get("/plan/").status_code == 200
    assert client.get("/plan/ERX-INF-4").status_code == 200


def test_index_lists_both_plans(signed_in):
    response = signed_in.get("/plan/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Plan of Action of the Regional Conference on Migration (updated 13 November 2009)" in page
    assert "RCM work plan on extra-regional migrant flows (2018)" in page
    for code in ("MPM", "HR", "MD", "ERX-INF", "ERX-COO", "ERX-COP", *objective_codes()):
        assert f'href="/plan/{code}"' in page, code
    assert "Migration Policy and Management" in page
    assert "Early warning system on false and fraudulently obtained travel documents" in page


def test_index_in_spanish(client, make_user, login_as):
    login_as(make_user(locale="es"))
    page = client.get("/plan/").get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Plan de Acción de la Conferencia Regional sobre Migración" in page
    assert "Políticas y gestión migratoria" in page
    assert "Sistema de alerta temprana sobre documentos de viaje falsos u obtenidos fraudulentamente" in page
    assert "Migration Policy and Management" not in page


def test_objective_page_2009(empty_audit_log, signed_in):
    response = signed_in.get("/plan/MPM-2")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Security of migration documents" in page
    assert "To identify basic norms relating to information, issuance, and security of migration documents" in page
    for code in ("MPM-2.1", "MPM-2.2", "MPM-2.1.1", "MPM-2.2.1", "MPM-2.1.1.1", "MPM-2.2.1.1"):
        assert f'id="{code}"' in page
    assert "IOM manual on the detection of fraudulent documents." in page
    assert "In progress" in page
    assert 'data-body="IOM"' in page
    assert 'id="audit-summary-empty"' in page


def test_objective_page_2018(signed_in):
    page = signed_in.get("/plan/ERX-COP-4").get_data(as_text=True)
    assert "Maintain contact and exchange of information with the SACM" in page
    assert "Hold a RCM-SACM Plenary Meeting" in page
    assert 'data-body="TROIKA"' in page and 'data-body="SACM"' in page
    assert "I Semester 2018" in page


def test_objective_page_in_spanish(client, make_user, login_as):
    login_as(make_user(locale="es"))
    page = client.get("/plan/ERX-INF-4").get_data(as_text=True)
    assert "Sistema de alerta temprana sobre documentos de viaje falsos u obtenidos fraudulentamente" in page
    # the plan's texts in the reader's language (plan_of_action.es.json), marked as Spanish
    assert "Desarrollar un sistema de alerta temprana." in page
    assert '<span lang="es">Mantener en el sitio privado de la Secretaría Virtual de la CRM' in page
    assert "Develop an early warning system." not in page and "Maintain on the private site" not in page
    assert "Países Miembros y ST" in page and "Por definir" in page


def test_topic_page(signed_in):
    response = signed_in.get("/plan/HR")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "DERECHOS HUMANOS" in page
    for n in range(1, 6):
        assert f'id="HR-{n}"' in page
    assert "Honduras and RNCOM proposed a seminar on human rights" in page


def test_deeper_codes_open_their_objective(signed_in):
    response = signed_in.get("/plan/MPM-11.1.2.1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/plan/MPM-11#MPM-11.1.2.1"
    response = signed_in.get("/plan/ERX-COO-1.2")
    assert response.headers["Location"] == "/plan/ERX-COO-1#ERX-COO-1.2"
    response = signed_in.get("/plan/RCM-2009")
    assert response.headers["Location"] == "/plan/#RCM-2009"


@pytest.mark.parametrize("code", ["NOPE", "MPM-12", "HR-0", "mpm-2", "ERX-INF-5", "MPM-2.3"])
def test_unknown_code_is_404(signed_in, code):
    assert signed_in.get(f"/plan/{code}").status_code == 404


def test_objective_page_shows_audit_counts(empty_audit_log, app_ctx, client, make_user, login_as):
    # The secretariat counts every entry (what others count: test_counts_include_only_what_the_viewer_may_know)
    officer = make_user(role="secretariat_admin", party_code="TS", name="Officer Confidential")
    record("alert.publish", object_type="alert", object_id=1, object_party="GTM", objectives=["ERX-INF-4"])
    record("alert.publish", object_type="alert", object_id=2, object_party="GTM", objectives=["ERX-INF-4"])
    record("alert.search", outcome="denied", objectives=["ERX-INF-4", "ERX-INF-1"])
    record("exchange.send", objectives=["ERX-COO-1"])
    db.session.commit()
    assert db.session.scalar(select(func.count(AuditEntry.id))) >= 4

    login_as(officer)
    page = client.get("/plan/ERX-INF-4").get_data(as_text=True)
    assert '<tr data-action="alert.publish" data-outcome="ok">' in page
    assert '<tr data-action="alert.search" data-outcome="denied">' in page
    assert "exchange.send" not in page
    summary = views.audit_summary(["ERX-INF-4"], Principal.for_user(officer))
    assert [(r["action"], r["outcome"], r["count"]) for r in summary["rows"]] == [
        ("alert.publish", "ok", 2), ("alert.search", "denied", 1)]
    assert summary["total"] == 3
    assert summary["latest"].strftime("%Y-%m-%d") in page
    assert "3 audited actions" in page
    # Aggregates only: no actor, party of the actor, or object id.
    assert "Officer Confidential" not in page.split('id="audit-summary-heading"')[1]

    # A topic counts an entry linked to two of its objectives once.
    topic = views.audit_summary(["ERX-INF-1", "ERX-INF-4"], Principal.for_user(officer))
    assert topic["total"] == 3
    page = client.get("/plan/ERX-INF").get_data(as_text=True)
    assert "3 audited actions" in page


def _counted(client, code: str) -> dict[str, int]:
    from html.parser import HTMLParser

    counts: dict[str, int] = {}

    class Rows(HTMLParser):
        action = None

        def handle_starttag(self, tag, attrs):
            if tag == "tr" and dict(attrs).get("data-action"):
                self.action = dict(attrs)["data-action"]

        def handle_data(self, data):
            if self.action and data.strip().isdigit():
                counts[self.action] = counts.get(self.action, 0) + int(data.strip())
                self.action = None

    Rows().feed(client.get(f"/plan/{code}").get_data(as_text=True))
    return counts


def test_counts_include_only_what_the_viewer_may_know(app_ctx, make_user, login_as, app):
    """An observer used to see on /plan/ERX-INF-4 that a party-only RED alert had been created."""
    from tests.alerts.factories import report

    author = make_user(role="liaison_officer", party_code="GTM")
    report(author, tlp="RED", distribution={"level": "party"})
    report(author, tlp="GREEN", distribution={"level": "members"}, status="published")
    db.session.commit()

    def counts(role, party_code):
        the_client = app.test_client()
        login_as(make_user(role=role, party_code=party_code), the_client)
        return _counted(the_client, "ERX-INF-4").get("alert.create", 0)

    assert counts("observer", "ARG") == 1  # the GREEN members-wide alert only, never the RED one
    assert counts("liaison_officer", "MEX") == 1
    assert counts("liaison_officer", "GTM") == 2  # its own party's actions
    assert counts("secretariat_admin", "TS") == 2  # the secretariat sees all
