"""The three seeded reporting templates (from the 2009 plan and the 2018 work plan), and their seeding.

A template's ``table`` (JSON) is read by ``validation``, the forms, the spreadsheets and the consolidation:

- ``dimensions`` and ``measures``: columns, each ``{"name", "type", "label_en", "label_es", "required"}``
  plus per type: ``count`` (``max``; ``part_of``: the column it is an "of whom" of), ``text``
  (``max_length``), ``choice`` (``choices``: ``[{"value", "en", "es"}]``), ``country`` (``non_member``:
  any ISO 3166 country outside the RCM member states), ``month`` (a month of the cycle's semester),
  ``date``, ``document`` (the id of a library document);
- ``unique``: one row per combination of the dimensions;
- ``consolidation``: ``sums`` (the regional table of counts) or ``matrix`` (parties x ``matrix_rows``,
  each cell the ``matrix_cells`` columns).

The secretariat adds a template, or a version of one, with ``operations.add_template_version``; seeding
is idempotent (``flask setup``) and never changes a version that exists.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.reporting.models import ReportingTemplate


def _col(name, kind, en, es, required=False, **extra) -> dict:
    return {"name": name, "type": kind, "label_en": en, "label_es": es, "required": required, **extra}


def _choices(*items) -> list[dict]:
    return [{"value": value, "en": en, "es": es} for value, en, es in items]


_COUNT_MAX = 10_000_000

EXTRA_REGIONAL_FLOWS = {
    "code": "extra_regional_flows", "objective": "ERX-INF-2", "period_kind": "semester",
    "title_en": "Extra-regional migrant flows", "title_es": "Flujos migratorios extrarregionales",
    "table": {
        "activity": "ERX-INF-2",
        "unique": True,
        "consolidation": "sums",
        "dimensions": [
            _col("nationality", "country", "Nationality", "Nacionalidad", True, non_member=True),
            _col("month", "month", "Month", "Mes", True),
            _col("detection_point", "choice", "Detection point", "Punto de detección",
                 choices=_choices(("land", "Land", "Terrestre"), ("air", "Air", "Aéreo"), ("sea", "Sea", "Marítimo"))),
        ],
        "measures": [
            _col("detected", "count", "Migrants detected", "Migrantes detectados", True, max=_COUNT_MAX),
            _col("women", "count", "of whom women", "de los cuales mujeres", max=_COUNT_MAX, part_of="detected"),
            _col("minors", "count", "of whom minors", "de los cuales menores", max=_COUNT_MAX, part_of="detected"),
            _col("unaccompanied_minors", "count", "Unaccompanied minors", "Menores no acompañados",
                 max=_COUNT_MAX, part_of="minors"),
            _col("asylum_applications", "count", "Asylum or refugee applications lodged",
                 "Solicitudes de asilo o refugio presentadas", max=_COUNT_MAX, part_of="detected"),
            _col("returned", "count", "Returned or deported", "Retornados o deportados", max=_COUNT_MAX,
                 part_of="detected"),
            _col("main_routes", "text", "Main routes reported", "Principales rutas reportadas", max_length=500),
        ],
    },
}

POLICY_CHANGES = {
    "code": "policy_changes", "objective": "MPM-1", "period_kind": "rcgm",
    "title_en": "Migration policy and legislation changes",
    "title_es": "Cambios en políticas y legislación migratoria",
    "table": {
        "activity": "MPM-1.2.1",
        "unique": False,
        "consolidation": "matrix",
        "matrix_rows": "kind",
        "matrix_cells": ["title", "status"],
        "dimensions": [
            _col("kind", "choice", "Kind", "Tipo", True, choices=_choices(
                ("policy", "Policy", "Política"), ("law", "Law", "Ley"), ("regulation", "Regulation", "Reglamento"))),
        ],
        "measures": [
            _col("title", "text", "Title", "Título", True, max_length=300),
            _col("date", "date", "Date", "Fecha", True),
            _col("status", "choice", "Status", "Estado", True, choices=_choices(
                ("proposed", "Proposed", "Propuesta"), ("adopted", "Adopted", "Aprobada"),
                ("in_force", "In force", "Vigente"))),
            _col("summary", "text", "Summary", "Resumen", max_length=2000),
            _col("document", "document", "Library document", "Documento de la biblioteca"),
        ],
    },
}

_TOPICS = _choices(
    ("smuggling_offence", "Smuggling of migrants is an offence", "El tráfico ilícito de migrantes es delito"),
    ("aggravating_circumstances", "Aggravating circumstances", "Circunstancias agravantes"),
    ("trafficking_offence", "Trafficking in persons is an offence", "La trata de personas es delito"),
    ("protection_of_smuggled_migrants", "Protection of smuggled migrants",
     "Protección de los migrantes objeto de tráfico"),
    ("protocol_signature", "Palermo Protocol signed", "Firma del Protocolo de Palermo"),
    ("protocol_ratification", "Palermo Protocol ratified", "Ratificación del Protocolo de Palermo"),
    ("reservations", "Reservations to the Protocol", "Reservas al Protocolo"),
    ("coordination_body", "National coordination body", "Órgano nacional de coordinación"),
)

SMUGGLING_LEGISLATION = {
    "code": "smuggling_legislation", "objective": "ERX-COP-3", "period_kind": "semester",
    "title_en": "Legislation against migrant smuggling and Palermo Protocol compliance",
    "title_es": "Legislación contra el tráfico ilícito de migrantes y cumplimiento del Protocolo de Palermo",
    "table": {
        "activity": "ERX-COP-3",
        "unique": True,
        "consolidation": "matrix",
        "matrix_rows": "topic",
        "matrix_cells": ["status"],
        "dimensions": [_col("topic", "choice", "Topic", "Tema", True, choices=_TOPICS)],
        "measures": [
            _col("status", "choice", "Status", "Situación", True, choices=_choices(
                ("yes", "Yes", "Sí"), ("partial", "Partial", "Parcial"), ("no", "No", "No"))),
            _col("legal_reference", "text", "Legal reference", "Referencia legal", max_length=300),
            _col("date", "date", "Date", "Fecha"),
            _col("notes", "text", "Notes", "Notas", max_length=2000),
        ],
    },
}

SEEDED = (EXTRA_REGIONAL_FLOWS, POLICY_CHANGES, SMUGGLING_LEGISLATION)
TEMPLATE_CODES = tuple(item["code"] for item in SEEDED)


def latest_template(code: str) -> ReportingTemplate | None:
    return db.session.scalar(select(ReportingTemplate).where(ReportingTemplate.code == code)
                             .order_by(ReportingTemplate.version.desc()).limit(1))


def load_reporting_templates() -> int:
    """Create version 1 of each seeded template that has no version yet (idempotent); how many were made."""
    made = 0
    for spec in SEEDED:
        if latest_template(spec["code"]) is None:
            db.session.add(ReportingTemplate(version=1, **spec))
            made += 1
    db.session.flush()
    return made
