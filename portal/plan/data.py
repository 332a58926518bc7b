"""The plans of action as reference data: loaded once from ``plan_of_action.json`` and validated.

The JSON file is written by hand from the seed texts (never parsed from them at run time). Everything
in it has a stable code: plans (``RCM-2009``), topics or axes (``MPM``, ``ERX-INF``), objectives
(``MPM-2``, ``ERX-INF-4``), actions (``MPM-2.1``), activities (``MPM-2.1.1``, ``ERX-INF-4.1``) and
schedule items (``MPM-2.1.1.1``). Codes end up in the audit log, so a malformed file must stop the
application at start-up rather than let it write codes that mean nothing: ``load_plans()`` raises
``PlanDataError`` naming the offending place.

The texts are kept as published, in English; their Spanish lives beside them in ``plan_of_action.es.json``,
keyed by code (``texts``: code -> ``text``, ``calendar``, ``responsible_text``, ``note``, ``editor_note``;
``plans``: code -> ``notes``, ``responsible_note``). Every English text must have its Spanish and the
Spanish file may name no code or text the English lacks: ``load_plans()`` refuses either. Pages ask a node
for a text in the reader's language: ``node.shown("text", lang)``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).with_name("plan_of_action.json")
SPANISH_FILE = Path(__file__).with_name("plan_of_action.es.json")
# The translatable texts of a node (a plan's are its notes and responsible note).
TEXT_KEYS = ("text", "calendar", "responsible_text", "note", "editor_note")
PLAN_TEXT_KEYS = ("notes", "responsible_note")
LANGUAGES = ("en", "es")
_TOPIC_CODE = re.compile(r"^[A-Z]{2,3}(-[A-Z]{3})?$")
_PLAN_CODE = re.compile(r"^[A-Z]{2,4}-\d{4}$")
_BODY_KINDS = {"presidency", "secretariat", "group", "country", "organisation", "forum", "network"}


class PlanDataError(ValueError):
    """The plan data file is missing, not JSON, or does not have the expected shape."""


@dataclass(frozen=True)
class Body:
    code: str
    kind: str
    name_en: str
    name_es: str
    parties: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        return self.name_es if lang == "es" else self.name_en


class _Texts:
    """A node's texts in the reader's language: the Spanish where the reader reads Spanish, else the English."""

    def shown(self, key: str, lang: str):
        if lang == "es" and key in self.es:
            return self.es[key]
        return getattr(self, key)


@dataclass(frozen=True)
class ScheduleItem(_Texts):
    code: str
    printed: str | None
    text: str
    responsible: tuple[str, ...] = ()
    editor_note: str | None = None
    es: dict = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass(frozen=True)
class Activity(_Texts):
    code: str
    printed: str | None
    text: str
    responsible: tuple[str, ...] = ()
    schedule: tuple[ScheduleItem, ...] = ()
    editor_note: str | None = None
    es: dict = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass(frozen=True)
class Action(_Texts):
    code: str
    printed: str | None
    text: str
    activities: tuple[Activity, ...]
    responsible: tuple[str, ...] = ()
    editor_note: str | None = None
    es: dict = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass(frozen=True)
class Objective(_Texts):
    """An objective of either plan.

    2009 objectives hold implementation ``actions`` (each with activities and a schedule); 2018
    objectives hold ``activities`` directly, with the row's ``responsible`` bodies and ``calendar``.
    """

    code: str
    plan_code: str
    topic_code: str
    printed: str | None
    text: str
    title_en: str
    title_es: str
    actions: tuple[Action, ...] = ()
    activities: tuple[Activity, ...] = ()
    responsible: tuple[str, ...] = ()
    responsible_text: str | None = None
    counterparts: tuple[str, ...] = ()
    calendar: str | None = None
    note: str | None = None
    es: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    def title(self, lang: str) -> str:
        return self.title_es if lang == "es" else self.title_en

    @property
    def all_activities(self) -> tuple[Activity, ...]:
        return self.activities + tuple(a for action in self.actions for a in action.activities)

    @property
    def all_responsible(self) -> tuple[str, ...]:
        """Every body named anywhere under this objective, in first-mention order."""
        seen: dict[str, None] = dict.fromkeys(self.responsible)
        for action in self.actions:
            seen.update(dict.fromkeys(action.responsible))
        for activity in self.all_activities:
            seen.update(dict.fromkeys(activity.responsible))
            for item in activity.schedule:
                seen.update(dict.fromkeys(item.responsible))
        return tuple(seen)


@dataclass(frozen=True)
class Topic:
    """A topic of the 2009 plan (``kind="topic"``) or an axis of the 2018 plan (``kind="axis"``)."""

    code: str
    plan_code: str
    kind: str
    source_title: str
    title_en: str
    title_es: str
    objectives: tuple[Objective, ...]

    def title(self, lang: str) -> str:
        return self.title_es if lang == "es" else self.title_en


@dataclass(frozen=True)
class Plan(_Texts):
    code: str
    title_en: str
    title_es: str
    source_title: str
    source_language: str
    date: str
    notes: tuple[str, ...]
    responsible_note: str
    topics: tuple[Topic, ...]
    es: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    def title(self, lang: str) -> str:
        return self.title_es if lang == "es" else self.title_en


@dataclass(frozen=True)
class PlanData:
    plans: tuple[Plan, ...]
    bodies: dict[str, Body]
    # code -> Plan | Topic | Objective | Action | Activity | ScheduleItem
    index: dict[str, object]
    # code of any node below an objective -> that objective's code
    objective_of: dict[str, str]


# ---------------------------------------------------------------------------------------------------------
# Validation helpers: each names the place in the file, so a broken edit is found in seconds.


def _require(obj, key: str, kind, where: str, *, optional: bool = False):
    if not isinstance(obj, dict):
        raise PlanDataError(f"{where}: expected an object")
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise PlanDataError(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise PlanDataError(f"{where}: {key!r} must be a non-empty {getattr(kind, '__name__', kind)}")
    return value


def _text(obj, key, where, *, optional=False) -> str | None:
    return _require(obj, key, str, where, optional=optional)


def _list(obj, key, where, *, optional=False) -> list:
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise PlanDataError(f"{where}: {key!r} must be a list")
    return value


def _printed(obj, where) -> str | None:
    if "printed" not in obj:
        raise PlanDataError(f"{where}: missing 'printed' (the number as printed, or null)")
    value = obj["printed"]
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise PlanDataError(f"{where}: 'printed' must be a string or null")
    return value


class _Builder:
    def __init__(self, bodies: dict[str, Body], spanish: dict | None = None):
        self.bodies = bodies
        self.index: dict[str, object] = {}
        self.objective_of: dict[str, str] = {}
        # None: no Spanish file given (structure checks of a bare English file); else code -> key -> text
        self.spanish = spanish

    def es(self, code: str, obj: dict, where: str) -> dict:
        """The Spanish of this node's texts: one for each English text it has, and no other."""
        if self.spanish is None:
            return {}
        given = self.spanish["texts"].get(code, {})
        wanted = {key for key in TEXT_KEYS if obj.get(key) is not None}
        if missing := sorted(wanted - set(given)):
            raise PlanDataError(f"{where}: no Spanish {', '.join(missing)} in {SPANISH_FILE.name}")
        if extra := sorted(set(given) - wanted):
            raise PlanDataError(f"{where}: Spanish {', '.join(extra)} without an English text")
        for key in wanted:
            if not isinstance(given[key], str) or not given[key].strip():
                raise PlanDataError(f"{where}: Spanish {key} must be a non-empty string")
        return dict(given)

    def plan_es(self, code: str, obj: dict, where: str) -> dict:
        if self.spanish is None:
            return {}
        given = self.spanish["plans"].get(code)
        if not isinstance(given, dict) or set(given) != set(PLAN_TEXT_KEYS):
            raise PlanDataError(f"{where}: the Spanish file needs exactly {', '.join(PLAN_TEXT_KEYS)}")
        notes, note = given["notes"], given["responsible_note"]
        if not isinstance(notes, list) or len(notes) != len(obj.get("notes") or ()) \
                or not all(isinstance(n, str) and n.strip() for n in notes):
            raise PlanDataError(f"{where}: the Spanish notes must match the English ones one for one")
        if not isinstance(note, str) or not note.strip():
            raise PlanDataError(f"{where}: the Spanish responsible_note must be a non-empty string")
        return {"notes": tuple(notes), "responsible_note": note}

    def register(self, code: str, node, where: str, objective_code: str | None = None) -> None:
        if code in self.index:
            raise PlanDataError(f"{where}: duplicate code {code!r}")
        self.index[code] = node
        if objective_code:
            self.objective_of[code] = objective_code

    def code(self, obj, where: str, pattern: re.Pattern) -> str:
        code = _text(obj, "code", where)
        if not pattern.match(code):
            raise PlanDataError(f"{where}: code {code!r} is not well formed (expected {pattern.pattern})")
        return code

    def bodies_of(self, obj, key: str, where: str) -> tuple[str, ...]:
        codes = _list(obj, key, where, optional=True)
        for code in codes:
            if code not in self.bodies:
                raise PlanDataError(f"{where}: {key} names unknown body {code!r}")
        if len(set(codes)) != len(codes):
            raise PlanDataError(f"{where}: {key} repeats a body")
        return tuple(codes)

    def schedule_item(self, obj, parent: str, objective: str) -> ScheduleItem:
        where = f"schedule of {parent}"
        code = self.code(obj, where, re.compile(rf"^{re.escape(parent)}\.\d+$"))
        where = f"schedule item {code}"
        item = ScheduleItem(
            code=code,
            printed=_printed(obj, where),
            text=_text(obj, "text", where),
            responsible=self.bodies_of(obj, "responsible", where),
            editor_note=_text(obj, "editor_note", where, optional=True),
            es=self.es(code, obj, where),
        )
        self.register(code, item, where, objective)
        return item

    def activity(self, obj, parent: str, objective: str, *, with_schedule: bool) -> Activity:
        code = self.code(obj, f"activity of {parent}", re.compile(rf"^{re.escape(parent)}\.\d+$"))
        where = f"activity {code}"
        schedule = ()
        if with_schedule:
            schedule = tuple(self.schedule_item(item, code, objective) for item in _list(obj, "schedule", where))
        activity = Activity(
            code=code,
            printed=_printed(obj, where) if with_schedule else None,
            text=_text(obj, "text", where),
            responsible=self.bodies_of(obj, "responsible", where),
            schedule=schedule,
            editor_note=_text(obj, "editor_note", where, optional=True),
            es=self.es(code, obj, where),
        )
        self.register(code, activity, where, objective)
        return activity

    def action(self, obj, objective: str) -> Action:
        code = self.code(obj, f"action of {objective}", re.compile(rf"^{re.escape(objective)}\.\d+$"))
        where = f"action {code}"
        activities = tuple(
            self.activity(item, code, objective, with_schedule=True) for item in _list(obj, "activities", where)
        )
        action = Action(
            code=code,
            printed=_printed(obj, where),
            text=_text(obj, "text", where),
            activities=activities,
            responsible=self.bodies_of(obj, "responsible", where),
            editor_note=_text(obj, "editor_note", where, optional=True),
            es=self.es(code, obj, where),
        )
        self.register(code, action, where, objective)
        return action

    def objective(self, obj, plan: str, topic: str, position: int) -> Objective:
        code = self.code(obj, f"objective {position} of {topic}", re.compile(rf"^{re.escape(topic)}-\d+$"))
        where = f"objective {code}"
        if code != f"{topic}-{position}":
            raise PlanDataError(f"{where}: objectives are numbered in document order; expected {topic}-{position}")
        has_actions, has_activities = "actions" in obj, "activities" in obj
        if has_actions == has_activities:
            raise PlanDataError(f"{where}: give either 'actions' (2009 plan) or 'activities' (2018 plan)")
        actions = tuple(self.action(item, code) for item in _list(obj, "actions", where, optional=True))
        activities = tuple(
            self.activity(item, code, code, with_schedule=False)
            for item in _list(obj, "activities", where, optional=True)
        )
        if not actions and not activities:
            raise PlanDataError(f"{where}: has neither actions nor activities")
        objective = Objective(
            code=code,
            plan_code=plan,
            topic_code=topic,
            printed=_printed(obj, where),
            text=_text(obj, "text", where),
            title_en=_text(obj, "title_en", where),
            title_es=_text(obj, "title_es", where),
            actions=actions,
            activities=activities,
            responsible=self.bodies_of(obj, "responsible", where),
            responsible_text=_text(obj, "responsible_text", where, optional=True),
            counterparts=self.bodies_of(obj, "counterparts", where),
            calendar=_text(obj, "calendar", where, optional=True),
            note=_text(obj, "note", where, optional=True),
            es=self.es(code, obj, where),
        )
        if activities and not (objective.responsible and objective.calendar):
            raise PlanDataError(f"{where}: a work-plan row needs 'responsible' and 'calendar'")
        self.register(code, objective, where, code)
        return objective

    def topic(self, obj, plan: str) -> Topic:
        code = self.code(obj, f"topic of {plan}", _TOPIC_CODE)
        where = f"topic {code}"
        kind = _text(obj, "kind", where)
        if kind not in ("topic", "axis"):
            raise PlanDataError(f"{where}: kind must be 'topic' or 'axis'")
        objectives = tuple(
            self.objective(item, plan, code, n) for n, item in enumerate(_list(obj, "objectives", where), 1)
        )
        if not objectives:
            raise PlanDataError(f"{where}: has no objectives")
        topic = Topic(
            code=code,
            plan_code=plan,
            kind=kind,
            source_title=_text(obj, "source_title", where),
            title_en=_text(obj, "title_en", where),
            title_es=_text(obj, "title_es", where),
            objectives=objectives,
        )
        self.register(code, topic, where)
        return topic

    def plan(self, obj, position: int) -> Plan:
        code = self.code(obj, f"plan {position}", _PLAN_CODE)
        where = f"plan {code}"
        topics = tuple(self.topic(item, code) for item in _list(obj, "topics", where))
        notes = _list(obj, "notes", where)
        if not all(isinstance(note, str) and note.strip() for note in notes):
            raise PlanDataError(f"{where}: notes must be non-empty strings")
        plan = Plan(
            code=code,
            title_en=_text(obj, "title_en", where),
            title_es=_text(obj, "title_es", where),
            source_title=_text(obj, "source_title", where),
            source_language=_text(obj, "source_language", where),
            date=_text(obj, "date", where),
            notes=tuple(notes),
            responsible_note=_text(obj, "responsible_note", where),
            topics=topics,
            es=self.plan_es(code, obj, where),
        )
        self.register(code, plan, where)
        return plan


def _bodies(raw) -> dict[str, Body]:
    if not isinstance(raw, dict) or not raw:
        raise PlanDataError("'bodies' must be a non-empty object")
    bodies = {}
    for code, obj in raw.items():
        where = f"body {code}"
        if not re.match(r"^[A-Z]{2,12}(-[A-Z]{2,4})?$", code):
            raise PlanDataError(f"{where}: code is not well formed")
        kind = _text(obj, "kind", where)
        if kind not in _BODY_KINDS:
            raise PlanDataError(f"{where}: unknown kind {kind!r}")
        bodies[code] = Body(code, kind, _text(obj, "name_en", where), _text(obj, "name_es", where),
                            tuple(_list(obj, "parties", where, optional=True)))
    return bodies


def _spanish(raw) -> dict:
    if not isinstance(raw, dict) or raw.get("schema_version") != 1:
        raise PlanDataError(f"{SPANISH_FILE.name}: not an object with schema_version 1")
    texts, plan_texts = raw.get("texts"), raw.get("plans")
    if not isinstance(texts, dict) or not all(isinstance(v, dict) for v in texts.values()) \
            or not isinstance(plan_texts, dict):
        raise PlanDataError(f"{SPANISH_FILE.name}: 'texts' and 'plans' must be objects keyed by code")
    return {"texts": texts, "plans": plan_texts}


def parse_plan_data(raw, spanish=None) -> PlanData:
    """Validate the decoded JSON (and, when given, the decoded Spanish texts) and build the typed, indexed
    plans."""
    if not isinstance(raw, dict):
        raise PlanDataError("the plan data must be a JSON object")
    if raw.get("schema_version") != 1:
        raise PlanDataError("unsupported or missing schema_version (expected 1)")
    builder = _Builder(_bodies(raw.get("bodies")), None if spanish is None else _spanish(spanish))
    plans = tuple(builder.plan(obj, n) for n, obj in enumerate(_list(raw, "plans", "top level"), 1))
    if not plans:
        raise PlanDataError("no plans")
    if builder.spanish is not None:
        unknown = sorted((set(builder.spanish["texts"]) | set(builder.spanish["plans"])) - set(builder.index))
        if unknown:
            raise PlanDataError(f"{SPANISH_FILE.name}: unknown codes {', '.join(unknown)}")
    return PlanData(plans=plans, bodies=builder.bodies, index=builder.index, objective_of=builder.objective_of)


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PlanDataError(f"plan data file not found: {path}") from exc
    except json.JSONDecodeError as exc:
        raise PlanDataError(f"plan data file {path} is not valid JSON: {exc}") from exc


@lru_cache(maxsize=4)
def load_plans(path: str | Path = DATA_FILE, spanish_path: str | Path = SPANISH_FILE) -> PlanData:
    """Read and validate the data file and its Spanish texts once (per pair of paths); ``PlanDataError`` if
    either is unusable."""
    raw = _read_json(path)
    spanish = _read_json(spanish_path)
    try:
        return parse_plan_data(raw, spanish)
    except PlanDataError as exc:
        raise PlanDataError(f"{path}: {exc}") from None


# ---------------------------------------------------------------------------------------------------------
# Lookups over the shipped file.


def plans() -> tuple[Plan, ...]:
    return load_plans().plans


def bodies() -> dict[str, Body]:
    return load_plans().bodies


def find(code: str):
    """The plan, topic, objective, action, activity or schedule item with this code, or None."""
    return load_plans().index.get(code)


def get_objective(code: str) -> Objective | None:
    node = find(code)
    return node if isinstance(node, Objective) else None


def get_topic(code: str) -> Topic | None:
    node = find(code)
    return node if isinstance(node, Topic) else None


def objective_for(code: str) -> str | None:
    """The objective code an action, activity or schedule code belongs to (itself for an objective)."""
    return load_plans().objective_of.get(code)


def all_codes() -> frozenset[str]:
    """Every code in the plans, at every level."""
    return frozenset(load_plans().index)


def objective_codes() -> tuple[str, ...]:
    """Objective codes in document order: the codes the audit log links entries to."""
    return tuple(o.code for plan in plans() for topic in plan.topics for o in topic.objectives)
