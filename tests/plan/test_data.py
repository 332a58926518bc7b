"""The plan data file: loads, well formed, faithful to the seed documents' structure."""

from __future__ import annotations

import copy
import json
import re

import pytest

from portal.plan import data
from portal.plan.data import PlanDataError, load_plans, parse_plan_data


def _raw() -> dict:
    return json.loads(data.DATA_FILE.read_text(encoding="utf-8"))


def _topic(raw, code):
    return next(t for plan in raw["plans"] for t in plan["topics"] if t["code"] == code)


def test_data_file_loads_once():
    first = load_plans()
    assert load_plans() is first  # cached: read and validated once
    assert [plan.code for plan in data.plans()] == ["RCM-2009", "ERX-2018"]
    assert [t.code for t in data.plans()[0].topics] == ["MPM", "HR", "MD"]
    assert [t.code for t in data.plans()[1].topics] == ["ERX-INF", "ERX-COO", "ERX-COP"]


@pytest.mark.parametrize(
    ("topic", "count"),
    [("MPM", 11), ("HR", 5), ("MD", 4), ("ERX-INF", 4), ("ERX-COO", 5), ("ERX-COP", 5)],
)
def test_objective_counts_match_the_documents(topic, count):
    objectives = data.get_topic(topic).objectives
    assert len(objectives) == count
    assert [o.code for o in objectives] == [f"{topic}-{n}" for n in range(1, count + 1)]


def test_counts_of_actions_activities_and_schedules_match_the_2009_document():
    def totals(code):
        topic = data.get_topic(code)
        actions = [a for o in topic.objectives for a in o.actions]
        activities = [x for o in topic.objectives for x in o.all_activities]
        schedule = [s for x in activities for s in x.schedule]
        return len(actions), len(activities), len(schedule)

    # Counted by hand in 000_*.txt (unnumbered activities and the run-on action 2.2 included).
    assert totals("MPM") == (18, 20, 18)
    assert totals("HR") == (11, 14, 14)
    assert totals("MD") == (5, 5, 5)


def test_codes_unique_and_well_formed():
    codes = []
    patterns = {
        data.Plan: r"^(RCM-2009|ERX-2018)$",
        data.Topic: r"^(MPM|HR|MD|ERX-(INF|COO|COP))$",
        data.Objective: r"^(MPM|HR|MD|ERX-(INF|COO|COP))-\d+$",
        data.Action: r"^(MPM|HR|MD)-\d+\.\d+$",
        data.Activity: r"^((MPM|HR|MD)-\d+\.\d+\.\d+|ERX-(INF|COO|COP)-\d+\.\d+)$",
        data.ScheduleItem: r"^(MPM|HR|MD)-\d+\.\d+\.\d+\.\d+$",
    }
    for code, node in load_plans().index.items():
        codes.append(code)
        assert code == node.code
        assert re.match(patterns[type(node)], code), code
    assert len(codes) == len(set(codes)) == len(data.all_codes())
    # Every child code extends its parent's code.
    for objective in (o for p in data.plans() for t in p.topics for o in t.objectives):
        for action in objective.actions:
            assert action.code.startswith(objective.code + ".")
        for activity in objective.all_activities:
            assert activity.code.startswith(objective.code + ".")
            for item in activity.schedule:
                assert item.code.startswith(activity.code + ".")


def test_codes_follow_the_printed_numbering():
    for code, node in load_plans().index.items():
        printed = getattr(node, "printed", None)
        if printed and code.split("-")[0] in ("MPM", "HR", "MD") and not getattr(node, "editor_note", None):
            assert code.split("-", 1)[1] == printed.rstrip("."), code
    # The two misprints are kept as printed and explained.
    assert data.find("MPM-1.3.1.1").printed == "1.2.1.1."
    assert data.find("MPM-11.1.2.1").printed == "11.2.1.1"
    assert data.find("MPM-1.3.1.1").editor_note and data.find("MPM-11.1.2.1").editor_note


def test_every_title_is_bilingual():
    for plan in data.plans():
        for node in (plan, *plan.topics, *(o for t in plan.topics for o in t.objectives)):
            assert node.title("en") == node.title_en and node.title_en.strip()
            assert node.title("es") == node.title_es and node.title_es.strip()
            assert node.title_en != node.title_es


def test_early_warning_system_is_erx_inf_4():
    objective = data.get_objective("ERX-INF-4")
    assert objective.text == "Develop an early warning system."
    assert "private site of the virtual secretary" in objective.activities[0].text
    assert "false documents and travel documents obtained fraudulently" in objective.activities[0].text
    assert objective.responsible == ("MEMBERS", "TS")
    assert objective.calendar == "TBD"


def test_source_texts_are_kept():
    assert data.get_objective("MPM-2").text.startswith(
        "To identify basic norms relating to information, issuance, and security of migration documents"
    )
    assert data.find("MPM-2.2.1").text == "IOM manual on the detection of fraudulent documents."
    assert data.get_topic("HR").source_title == "DERECHOS HUMANOS"
    assert "PROPOSES ELIMINATING THIS OBJECTIVE" in data.get_objective("MD-4").note
    assert [a.text for a in data.get_objective("ERX-COO-1").activities] == [
        "Exchange intelligence information on immigration control.",
        "Regularly exchange information on specimens of travel and / or migratory documents.",
        ("Regularly exchange police intelligence information on procedures and methods for fraudulently "
         "obtaining travel documents."),
    ]


def test_responsible_parties_of_the_2018_plan():
    expected = {
        "ERX-INF-1": ("MEMBERS",), "ERX-INF-2": ("MEMBERS", "TS", "MEX"), "ERX-INF-3": ("MEMBERS",),
        "ERX-INF-4": ("MEMBERS", "TS"), "ERX-COO-1": ("MEMBERS",), "ERX-COO-2": ("PAN", "IOM"),
        "ERX-COO-3": ("MEMBERS",), "ERX-COO-4": ("MEMBERS",), "ERX-COO-5": ("MEMBERS",),
        "ERX-COP-1": ("LON-CP",), "ERX-COP-2": ("MEMBERS", "UNHCR"), "ERX-COP-3": ("LON-SMT", "IOM"),
        "ERX-COP-4": ("MEMBERS", "TROIKA"), "ERX-COP-5": ("MEMBERS", "TRIPARTITE"),
    }
    assert {code: data.get_objective(code).responsible for code in expected} == expected
    assert data.get_objective("ERX-COP-4").counterparts == ("SACM",)
    assert data.bodies()["MEMBERS"].parties == (
        "BLZ", "CAN", "CRI", "DOM", "SLV", "GTM", "HND", "MEX", "NIC", "PAN", "USA")


def test_lookups():
    assert data.get_objective("MPM-2").topic_code == "MPM"
    assert data.get_objective("MPM") is None  # a topic, not an objective
    assert data.get_objective("MPM-12") is None
    assert data.get_topic("ERX-INF").kind == "axis"
    assert data.objective_for("HR-2.4.1.1") == "HR-2"
    assert data.objective_for("ERX-COO-1.2") == "ERX-COO-1"
    assert len(data.objective_codes()) == 11 + 5 + 4 + 4 + 5 + 5
    assert set(data.objective_codes()) < data.all_codes()


# --- malformed files are refused with a message that names the place ---------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(PlanDataError, match="not found"):
        load_plans(tmp_path / "nope.json")


def test_not_json(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(PlanDataError, match="not valid JSON"):
        load_plans(path)


def test_malformed_file_names_the_place(tmp_path):
    raw = _raw()
    del _topic(raw, "HR")["objectives"][1]["title_es"]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(PlanDataError, match=r"objective HR-2: missing 'title_es'"):
        load_plans(path)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: _topic(raw, "MPM")["objectives"][0]["actions"][0].update(code="MPM-1.1 "),
         "not well formed"),
        (lambda raw: _topic(raw, "MPM")["objectives"][0]["actions"][0]["activities"][0]["schedule"].append(
            {"code": "MPM-1.1.1.1", "printed": None, "text": "Again"}), "duplicate code 'MPM-1.1.1.1'"),
        (lambda raw: _topic(raw, "MD")["objectives"].pop(0), "expected MD-1"),
        (lambda raw: _topic(raw, "ERX-INF")["objectives"][3].update(responsible=["NOBODY"]),
         "unknown body 'NOBODY'"),
        (lambda raw: _topic(raw, "ERX-INF")["objectives"][3].pop("calendar"), "needs 'responsible' and 'calendar'"),
        (lambda raw: _topic(raw, "HR")["objectives"][0]["actions"][0]["activities"][0]["schedule"][0].update(
            code="HR-1.2.1.1"), "not well formed"),
        (lambda raw: raw.update(schema_version=2), "schema_version"),
        (lambda raw: _topic(raw, "HR").update(kind="chapter"), "kind must be"),
    ],
)
def test_structural_errors_are_refused(mutate, message):
    raw = copy.deepcopy(_raw())
    mutate(raw)
    with pytest.raises(PlanDataError, match=re.escape(message)):
        parse_plan_data(raw)
