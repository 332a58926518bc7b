"""The audit viewer reads as sentences in the reader's language (issue 12, section 5): who (a name and a
party), what (the action's registered phrasing), which record (linked where the reader may see it), and the
outcome; every action the code records has a phrasing in both languages; a person is found by name."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.audit.phrasing import OBJECT_KINDS, PHRASINGS, phrasing_for
from portal.audit.service import record
from portal.extensions import db
from portal.principal import Principal
from tests.alerts.factories import report

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("alerts", "auth", "documents", "portal")
# the record() call and its aliases: the action is their first argument
RECORDERS = {"record": 0, "audit": 0, "record_listing": 0}


def _called(func) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _strings(node):
    """The action names an argument can be: a literal, either side of ``or`` / ``if``, an f-string's suffix."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        tail = node.values[-1]
        yield "*" + tail.value if isinstance(tail, ast.Constant) else "*"
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _strings(value)
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)


def audited_actions() -> set[str]:
    """Every action name the code base hands to the audit: the first argument of ``record()`` (and its
    aliases), the ``action`` argument of every helper that takes one (found by its parameter, resolved in
    its own module first), and every ``action=`` / ``denied_action=`` keyword."""
    trees = [ast.parse(path.read_text(encoding="utf-8")) for source in SOURCES for path in (ROOT / source).rglob("*.py")]
    shared, local = dict(RECORDERS), []
    for tree in trees:
        own = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                if "action" in names:
                    own[node.name] = names.index("action")
        local.append(own)
        shared.update({name: index for name, index in own.items() if not name.startswith("_")})
    found = set()
    for tree, own in zip(trees, local, strict=True):
        takers = {**shared, **own}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            index = takers.get(_called(node.func))
            if index is not None and len(node.args) > index:
                found.update(_strings(node.args[index]))
            for keyword in node.keywords:
                if keyword.arg in ("action", "denied_action"):
                    found.update(_strings(keyword.value))
    return {name for name in found if not name.endswith(".")}  # "alert." is a family (objectives_for_action)


def test_every_audited_action_in_the_code_base_has_a_phrasing(app):
    actions = audited_actions()
    # the scan finds the actions of every feature, the table-named access refusals among them
    assert len(actions) > 100
    assert {"alert.publish", "auth.login", "exchange.send", "notice.share", "document.download",
            "directory.entry.create", "reporting.return.submit", "confirmation.answer", "api.permission.denied",
            "*.access"} <= actions
    missing = sorted(action for action in actions
                     if (action not in PHRASINGS if action.startswith("*") else phrasing_for(action) is None))
    assert missing == []


def test_every_phrasing_and_record_kind_has_its_spanish(app):
    with app.test_request_context(), force_locale("es"):
        untranslated = [
            (action, str(text)) for action, phrasing in PHRASINGS.items() for text in (phrasing.done, phrasing.attempt)
            if str(text) == text._args[0]  # lazy_gettext's msgid
        ] + [(kind, str(k.label)) for kind, k in OBJECT_KINDS.items() if str(k.label) == k.label._args[0]]
    assert untranslated == []


def test_an_action_without_a_phrasing_reads_as_a_generic_sentence(app):
    assert phrasing_for("probe.unphrased") is None
    assert phrasing_for("alerts.access") is PHRASINGS["*.access"]


def _page(client, **query) -> str:
    response = client.get("/audit/", query_string=query)
    assert response.status_code == 200, response.data[:300]
    return response.get_data(as_text=True)


@pytest.fixture
def published(make_user):
    """GTM's published alert, reported and published by María López."""
    author = make_user(role="liaison_officer", party_code="GTM", name="María López")
    alert = report(author)
    db.session.commit()
    return author, alert


@pytest.mark.parametrize(("locale", "sentence"), [
    ("en", "María López (GTM) published <a href=\"/alerts/{id}\">alert {ref}</a>"),
    ("es", "María López (GTM) publicó <a href=\"/alerts/{id}\">la alerta {ref}</a>"),
])
def test_a_published_alert_reads_as_a_sentence_linked_to_the_alert(client, make_user, login_as, published,
                                                                     locale, sentence):
    _author, alert = published
    login_as(make_user(role="country_admin", party_code="GTM", locale=locale))
    page = _page(client, action="alert.publish")
    assert sentence.format(id=alert.id, ref=alert.reference) in page
    assert ">Allowed<" in page if locale == "en" else ">Permitido<" in page


def test_a_record_the_reader_may_not_see_is_named_but_not_linked(client, make_user, login_as):
    author = make_user(role="liaison_officer", party_code="GTM", name="María López")
    alert = report(author, tlp="RED", distribution={"level": "party"})
    db.session.commit()
    login_as(make_user(role="secretariat_admin", party_code="TS"))  # reads the whole log, not GTM's own alert
    page = _page(client, action="alert.create")
    assert f"María López (GTM) created alert {alert.reference}" in page
    assert f'href="/alerts/{alert.id}"' not in page


@pytest.mark.parametrize(("locale", "sentence"), [
    ("en", "Juan Pérez (MEX) tried to publish alert {ref} (GTM), and was refused"),
    ("es", "Juan Pérez (MEX) intentó publicar la alerta {ref} (GTM), y se le denegó"),
])
def test_a_refusal_says_what_was_tried(client, make_user, login_as, published, locale, sentence):
    _author, alert = published
    intruder = make_user(role="liaison_officer", party_code="MEX", name="Juan Pérez")
    record("alert.publish", outcome="denied", object_type="alert", object_id=alert.id, object_party="GTM",
           principal=Principal.for_user(intruder), details={"reference": alert.reference})
    db.session.commit()
    login_as(make_user(role="country_admin", party_code="GTM", locale=locale))
    page = _page(client, action="alert.publish", outcome="denied")
    assert sentence.format(ref=alert.reference) in re.sub(r"<[^>]+>", "", page)
    assert f'<a href="/alerts/{alert.id}">' in page  # GTM's administrator sees GTM's alert


def test_a_search_reads_without_its_terms(client, make_user, login_as):
    searcher = make_user(role="border_officer", party_code="MEX", name="Rosa Díaz")
    login_as(searcher)
    assert client.get("/alerts/", query_string={"q": "QZ7730001"}).status_code == 200
    login_as(make_user(role="secretariat_admin", party_code="TS", locale="es"))
    page = _page(client, action="alert.search")
    assert "Rosa Díaz (MEX) buscó en las alertas" in page
    assert "QZ7730001" not in page.split('<code class="small">')[0]  # not in any sentence
    assert "QZ7730001" not in page


def test_anonymous_and_system_entries_are_named_as_such(client, make_user, login_as):
    record("keys.rotate", principal=None)  # a command: no request, no actor
    db.session.commit()
    client.post("/auth/login", data={"email": "nobody@example.org", "password": "wrong"})
    login_as(make_user(role="secretariat_admin", party_code="TS"))
    assert "The system rotated the encryption keys" in _page(client, action="keys.rotate")
    assert "Someone not signed in tried to sign in, and was refused" in _page(client, action="auth.login.failed")


def test_an_account_is_named_and_linked_for_its_administrator(client, make_user, login_as):
    admin = make_user(role="country_admin", party_code="GTM", name="Ana Admin")
    holder = make_user(role="liaison_officer", party_code="GTM", name="Luis Holder")
    record("user.deactivate", object_type="user", object_id=holder.id, object_party="GTM",
           principal=Principal.for_user(admin))
    db.session.commit()
    login_as(admin)
    page = _page(client, action="user.deactivate")
    assert f'Ana Admin (GTM) deactivated <a href="/admin/users/{holder.id}">the account of Luis Holder</a>' in page


# --- the person filter: by name --------------------------------------------------------------------------

@pytest.fixture
def two_people(make_user):
    maria = make_user(role="liaison_officer", party_code="GTM", name="María López")
    pedro = make_user(role="liaison_officer", party_code="GTM", name="Pedro Gómez")
    for user in (maria, pedro):
        record("probe.person", principal=Principal.for_user(user), object_type="thing", object_id=f"of-{user.id}",
               object_party="GTM", objectives=[])
    db.session.commit()
    return maria, pedro


@pytest.mark.parametrize("name", ("María López", "maria lopez", "LÓPEZ", "mar"))
def test_the_person_filter_matches_a_name_without_accents_or_case(client, make_user, login_as, two_people, name):
    maria, pedro = two_people
    login_as(make_user(role="country_admin", party_code="GTM"))
    page = _page(client, action="probe.person", person=name)
    assert f"of-{maria.id}" in page and f"of-{pedro.id}" not in page


def test_the_person_filter_refuses_an_unknown_name_clearly(client, make_user, login_as, two_people):
    login_as(make_user(role="country_admin", party_code="GTM", locale="es"))
    response = client.get("/audit/", query_string={"person": "Nadie Conocido"})
    assert response.status_code == 422
    assert "Nadie con ese nombre actuó en la parte de la bitácora que usted puede consultar." in response.get_data(
        as_text=True)
    assert client.post("/audit/export.csv", query_string={"person": "x" * 101}).status_code == 422


def test_the_person_filter_only_finds_people_in_the_readers_part_of_the_log(client, make_user, login_as):
    outsider = make_user(role="liaison_officer", party_code="MEX", name="Solo México")
    record("probe.person", principal=Principal.for_user(outsider), object_type="thing", object_id="mex-only",
           object_party="MEX", objectives=[])
    db.session.commit()
    login_as(make_user(role="country_admin", party_code="GTM"))
    assert client.get("/audit/", query_string={"person": "Solo México"}).status_code == 422


def test_the_export_records_the_people_matched_never_the_name(client, make_user, login_as, two_people):
    maria, _pedro = two_people
    login_as(make_user(role="country_admin", party_code="GTM"))
    response = client.post("/audit/export.csv", query_string={"action": "probe.person", "person": "María"})
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["object_id"] for row in rows] == [f"of-{maria.id}"]
    assert rows[0]["sentence"] == f"María López (GTM) performed the action “probe.person” on thing of-{maria.id}"
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.export")
                              .order_by(AuditEntry.seq.desc()).limit(1))
    assert json.loads(entry.details)["people"] == [maria.id]
    assert "María" not in entry.details
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.details.contains("María"))) == 0


def test_the_numeric_actor_link_still_works(client, make_user, login_as, two_people):
    maria, pedro = two_people
    login_as(make_user(role="country_admin", party_code="GTM"))
    page = _page(client, action="probe.person", actor=pedro.id)
    assert f"of-{pedro.id}" in page and f"of-{maria.id}" not in page
    assert 'name="actor"' in page  # kept when the form is sent again


@pytest.mark.parametrize(("locale", "title"), [("en", "Security of migration documents"),
                                               ("es", "Seguridad de los documentos migratorios")])
def test_an_entrys_objectives_carry_their_titles_in_the_readers_language(client, make_user, login_as, locale, title):
    record("probe.objective", object_type="thing", object_id="with-mpm-2", objectives=["MPM-2"])
    db.session.commit()
    login_as(make_user(role="secretariat_admin", party_code="TS", locale=locale))
    assert f'href="/audit/?objective=MPM-2" title="{title}">MPM-2</a>' in _page(client, action="probe.objective")
