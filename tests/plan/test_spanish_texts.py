"""The plans' texts in Spanish as well as English (issue 12, section 5): every English text of
``plan_of_action.json`` has its Spanish in ``plan_of_action.es.json``, the loader refuses a file where one is
missing or stray, and a Spanish reader reads the Spanish everywhere the plan pages show a text."""

from __future__ import annotations

import copy
import json
import re

import pytest

from portal.plan import data
from portal.plan.data import PLAN_TEXT_KEYS, SPANISH_FILE, TEXT_KEYS, PlanDataError, parse_plan_data


def _raw():
    return json.loads(data.DATA_FILE.read_text(encoding="utf-8"))


def _spanish():
    return json.loads(SPANISH_FILE.read_text(encoding="utf-8"))


def test_every_english_text_has_a_spanish_one():
    english = [(code, key, getattr(node, key)) for code, node in data.load_plans().index.items()
               for key in TEXT_KEYS if getattr(node, key, None)]
    assert len(english) > 150  # every objective, action, activity and schedule item, calendars, notes
    for code, key, text in english:
        node = data.find(code)
        spanish = node.shown(key, "es")
        assert spanish and spanish != text, (code, key)
        assert node.shown(key, "en") == text
    for plan in data.plans():
        for key in PLAN_TEXT_KEYS:
            assert plan.shown(key, "es") != getattr(plan, key) or not getattr(plan, key), (plan.code, key)
        assert len(plan.shown("notes", "es")) == len(plan.notes)


def test_the_spanish_file_names_only_codes_and_texts_of_the_english_one():
    spanish = _spanish()
    index = data.load_plans().index
    for code, texts in spanish["texts"].items():
        assert code in index, code
        assert all(getattr(index[code], key, None) for key in texts), code


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda es: es["texts"]["ERX-INF-4.1"].pop("text"), "activity ERX-INF-4.1: no Spanish text"),
    (lambda es: es["texts"]["ERX-INF-4"].pop("calendar"), "objective ERX-INF-4: no Spanish calendar"),
    (lambda es: es["texts"]["MPM-2.1"].update(note="Nota"), "action MPM-2.1: Spanish note without an English text"),
    (lambda es: es["texts"].update({"MPM-99": {"text": "Nada"}}), "unknown codes MPM-99"),
    (lambda es: es["texts"]["MPM-2"].update(text="  "), "objective MPM-2: Spanish text must be a non-empty"),
    (lambda es: es["plans"]["RCM-2009"]["notes"].pop(), "the Spanish notes must match the English ones"),
    (lambda es: es.pop("texts"), "'texts' and 'plans' must be objects"),
])
def test_a_missing_or_stray_spanish_text_is_refused(mutate, message):
    spanish = copy.deepcopy(_spanish())
    mutate(spanish)
    with pytest.raises(PlanDataError, match=re.escape(message)):
        parse_plan_data(_raw(), spanish)


def test_the_loader_reads_the_spanish_beside_the_english(tmp_path):
    missing = tmp_path / "none.es.json"
    with pytest.raises(PlanDataError, match="not found"):
        data.load_plans(data.DATA_FILE, missing)


@pytest.mark.parametrize(("path", "english", "spanish"), [
    ("/plan/MPM-2", "IOM manual on the detection of fraudulent documents.",
     "Manual de la OIM sobre detección de documentos fraudulentos."),
    ("/plan/MPM-1", "The source prints this item as a second", "La fuente imprime este punto como un segundo"),
    ("/plan/MD", "THE TS PROPOSES ELIMINATING THIS OBJECTIVE", "LA ST PROPONE ELIMINAR ESTE OBJETIVO"),
    ("/plan/ERX-COP-5", "Member Countries; RNCOM-RCM-TS Tripartite Team", "Países Miembros; Equipo tripartito RROCM-CRM-ST"),
    ("/plan/", "Updated by the Technical Secretariat, November 13, 2009",
     "Actualizado por la Secretaría Técnica el 13 de noviembre de 2009"),
    ("/plan/ERX-INF", "objectives are unnumbered in the source and numbered here in document order",
     "Los órganos responsables y el calendario de cada objetivo"),
])
@pytest.mark.parametrize("locale", ("en", "es"))
def test_each_reader_reads_the_plan_in_their_language(client, make_user, login_as, locale, path, english, spanish):
    login_as(make_user(locale=locale))
    page = client.get(path).get_data(as_text=True)
    shown, hidden = (spanish, english) if locale == "es" else (english, spanish)
    assert shown in page and hidden not in page
