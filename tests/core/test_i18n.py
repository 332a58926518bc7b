"""English and Spanish: the Spanish catalog is complete, current and well-formed, and pages speak it.

The catalog checks read the sources the way ``make messages`` does (babel.cfg, the Makefile's ``-k``
keywords), so a string marked for translation but never translated fails here, not in front of a user.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from auth.models import User
from portal.extensions import db

ROOT = Path(__file__).resolve().parents[2]
PO_FILE = ROOT / "portal" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
MO_FILE = PO_FILE.with_suffix(".mo")

# Python %-format placeholders as Babel and Jinja's new-style gettext apply them (``%%`` is a literal %).
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
# English navigation words that must not survive on a Spanish page.
ENGLISH_NAVIGATION = ("Sign out", "Notifications", "Dashboard")


def _catalog():
    with PO_FILE.open("rb") as fh:
        return read_po(fh)


def _entries(catalog):
    return [message for message in catalog if message.id]


def _forms(message) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs to compare: one per plural form, each against the plural msgid."""
    if isinstance(message.id, tuple):
        return [(message.id[-1], text) for text in message.string]
    return [(message.id, message.string)]


def _makefile_keywords() -> dict:
    """The keywords of the ``messages`` target: Babel's defaults plus every ``-k`` the Makefile passes."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    extract = next(line for line in makefile.splitlines() if "pybabel" in line and " extract " in line)
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update({name: None for name in re.findall(r"-k\s+(\S+)", extract)})
    return keywords


def _extracted_ids() -> dict[str, str]:
    """msgid -> first source location, extracted now with babel.cfg's mapping and the Makefile's keywords."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=_makefile_keywords()
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


# --- (a) complete -----------------------------------------------------------------------------------------


def test_catalog_has_no_untranslated_and_no_fuzzy_entries():
    catalog = _catalog()
    entries = _entries(catalog)
    assert len(entries) > 300  # the whole interface, not an empty file that trivially passes
    untranslated = [m.id for m in entries if not all(text.strip() for _, text in _forms(m))]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert untranslated == []
    assert fuzzy == []
    assert not catalog.fuzzy  # the header too
    assert catalog.locale_identifier == "es"
    assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"


def test_plural_entries_have_both_spanish_forms():
    plurals = [m for m in _entries(_catalog()) if m.pluralizable]
    assert plurals, "the audit log's entry count is a plural entry"
    for message in plurals:
        assert len(message.string) == 2 and message.string[0] != message.string[1], message.id


def test_compiled_catalog_matches_the_po_file():
    """The .mo the application loads is built from the current .po (run ``make translations`` if not)."""
    def as_pairs(messages):
        return {(tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id):
                (tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string) for m in messages if m.id}

    with MO_FILE.open("rb") as fh:
        compiled = as_pairs(read_mo(fh))
    assert compiled == as_pairs(_entries(_catalog())), "run `make translations`"


# --- (b) up to date ---------------------------------------------------------------------------------------


def test_catalog_holds_every_string_marked_in_the_sources():
    extracted = _extracted_ids()
    assert "Dashboard" in extracted and "See the dashboard" in extracted  # templates and Python both read
    known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in _entries(_catalog())}
    missing = {msgid: where for msgid, where in extracted.items() if msgid not in known}
    assert not missing, "run `make messages` and translate in es/messages.po:\n" + "\n".join(
        f"  {where}: {msgid!r}" for msgid, where in sorted(missing.items(), key=lambda item: item[1]))


def test_every_gettext_alias_is_an_extraction_keyword():
    """``from flask_babel import lazy_gettext as _x`` would hide _x("...") from extraction."""
    keywords = _makefile_keywords()
    markers = {"gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext", "lazy_pgettext", "npgettext"}
    unknown = []
    for package in ("portal", "auth", "alerts", "documents"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module == "flask_babel":
                    for alias in node.names:
                        name = alias.asname or alias.name
                        if alias.name in markers and name not in keywords:
                            unknown.append(f"{path.relative_to(ROOT)}: {name}")
    assert unknown == []


# --- (c) well-formed --------------------------------------------------------------------------------------


def test_placeholders_match_between_msgid_and_msgstr():
    mismatched = []
    for message in _entries(_catalog()):
        for msgid, msgstr in _forms(message):
            found = PLACEHOLDER.findall(msgstr)
            # A lone % would break Jinja's new-style gettext, which always applies % formatting.
            stray_percent = msgstr.count("%") != sum(p.count("%") for p in found)
            if sorted(PLACEHOLDER.findall(msgid)) != sorted(found) or stray_percent:
                mismatched.append((msgid, msgstr))
    assert mismatched == []


def test_html_and_line_breaks_are_kept():
    changed = []
    for message in _entries(_catalog()):
        for msgid, msgstr in _forms(message):
            if HTML_TAG.findall(msgid) != HTML_TAG.findall(msgstr) or msgid.count("\n") != msgstr.count("\n"):
                changed.append((msgid, msgstr))
    assert changed == []


def test_babel_catalog_checks_pass():
    assert [(message.id, errors) for message, errors in _catalog().check()] == []


def test_fixed_vocabulary():
    spanish = {m.id: m.string for m in _entries(_catalog())}
    assert spanish["Dashboard"] == "Panel"  # the browser journey expects it
    assert spanish["TLP"] == "TLP"
    assert spanish["Liaison officer"] == "Oficial de enlace"
    assert spanish["Technical Secretariat"] == "Secretaría Técnica"
    assert spanish["Member country"] == "País miembro"
    assert spanish["Observer country"] == "País observador"
    assert "Conferencia Regional sobre Migración" in spanish[
        "Regional Conference on Migration · private virtual secretariat"]


# --- (d) pages in Spanish ---------------------------------------------------------------------------------


def _assert_spanish(page: str) -> None:
    assert '<html lang="es">' in page
    assert "Portal Seguro de la CRM" in page
    for word in ENGLISH_NAVIGATION:
        assert word not in page, word


def test_dashboard_in_spanish(client, make_user, login_as):
    login_as(make_user(role="liaison_officer", locale="es"))
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    _assert_spanish(page)
    assert '<h1 class="h3" id="dashboard-heading">Panel</h1>' in page
    for spanish in ("Cerrar sesión", "Notificaciones", "Avisos", "Plan de acción", "Avisos recientes"):
        assert spanish in page, spanish


def test_login_page_follows_the_browser_language(client):
    response = client.get("/auth/login", headers={"Accept-Language": "es-GT,es;q=0.9,en;q=0.5"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    _assert_spanish(page)
    assert "Iniciar sesión" in page and "Contraseña" in page and "Correo electrónico" in page
    assert "Sign in" not in page and "Password" not in page
    english = client.get("/auth/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Sign in" in english


def test_plan_index_in_spanish(client, make_user, login_as):
    login_as(make_user(role="border_officer", locale="es"))
    response = client.get("/plan/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    _assert_spanish(page)
    assert "Planes de acción" in page
    assert "Plans of action" not in page


def test_accounts_page_for_a_country_admin_in_spanish(client, make_user, login_as):
    login_as(make_user(role="country_admin", party_code="CRI", locale="es"))
    make_user(role="liaison_officer", party_code="CRI")
    response = client.get("/admin/users")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    _assert_spanish(page)
    assert "Cuentas" in page and "Oficial de enlace" in page and "Administrador de país" in page
    assert "Liaison officer" not in page and "Country administrator" not in page


def test_error_page_in_spanish(client, make_user, login_as):
    login_as(make_user(role="observer", locale="es"))
    response = client.get("/admin/users")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    _assert_spanish(page)
    assert "No tiene permiso para realizar esta acción." in page


# --- (e) switching language -------------------------------------------------------------------------------


def test_switching_language_is_saved_for_a_signed_in_user(client, make_user, login_as):
    user = make_user(locale="en")
    login_as(user)
    response = client.post("/language", data={"language": "es", "next": "/plan/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/plan/"
    db.session.expire_all()
    assert db.session.scalar(select(User.locale).where(User.id == user.id)) == "es"
    assert '<html lang="es">' in client.get("/").get_data(as_text=True)

    # An unknown language changes nothing; an off-site ``next`` falls back to the dashboard.
    response = client.post("/language", data={"language": "fr", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    db.session.expire_all()
    assert db.session.scalar(select(User.locale).where(User.id == user.id)) == "es"

    client.post("/language", data={"language": "en", "next": "/"})
    db.session.expire_all()
    assert db.session.scalar(select(User.locale).where(User.id == user.id)) == "en"
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)


def test_saved_locale_outranks_the_browser_language(client, make_user, login_as):
    login_as(make_user(locale="es"))
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="es">' in page


def test_anonymous_switch_is_kept_in_the_session(client):
    response = client.post("/language", data={"language": "es", "next": "/auth/login"})
    assert response.status_code == 302
    page = client.get("/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="es">' in page and "Iniciar sesión" in page


@pytest.mark.parametrize("locale", ["en", "es"])
def test_every_nav_label_is_translated_or_english(client, make_user, login_as, locale):
    """The navigation of a secretariat administrator (every link) renders without a missing string."""
    login_as(make_user(role="secretariat_admin", party_code="TS", locale=locale))
    page = client.get("/").get_data(as_text=True)
    expected = {"en": ("Dashboard", "Notices", "Plan of action", "Accounts", "Audit log", "Sign out"),
                "es": ("Panel", "Avisos", "Plan de acción", "Cuentas", "Registro de auditoría", "Cerrar sesión")}
    for label in expected[locale]:
        assert label in page, label
