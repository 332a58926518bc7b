"""The consolidated charts of a ``sums`` cycle, drawn on the server (``portal.charts``), each also a table:
the trend across cycles, the top nationalities and the month-by-month curve. Their figures come from the
consolidation, so they count only the submitted returns the viewer may see."""

from __future__ import annotations

from flask_babel import gettext as _

from portal.charts import Chart, bar_chart, line_chart
from portal.reporting.consolidation import Consolidation, trend
from portal.reporting.validation import period_months

TOP_NATIONALITIES = 10


def _label(template, name: str, lang: str) -> str:
    column = template.column(name)
    return column["label_es"] if lang == "es" else column["label_en"]


def consolidation_charts(principal, result: Consolidation, lang: str) -> list[Chart]:
    if result.kind != "sums" or not result.measures:
        return []
    template = result.cycle.template
    first = result.measures[0]
    name = _label(template, first, lang)
    points = trend(principal, result.cycle, first)
    charts = [line_chart("reporting-trend", _("%(measure)s across cycles", measure=name),
                         [period for period, _value in points], {name: [value for _period, value in points]},
                         label_heading=_("Period"))]
    nationalities = result.by.get("nationality", [])[:TOP_NATIONALITIES]
    if nationalities:
        charts.append(bar_chart("reporting-top-nationalities", _("Top nationalities"),
                                [key or "" for key, _sums in nationalities],
                                {name: [sums[first] for _key, sums in nationalities]}, horizontal=True,
                                label_heading=_label(template, "nationality", lang)))
    if "month" in result.by:
        by_month = dict(result.by["month"])
        months = period_months(result.cycle.period)
        charts.append(line_chart("reporting-months", _("Month by month"), months,
                                 {name: [by_month.get(month, {}).get(first, 0) for month in months]},
                                 label_heading=_label(template, "month", lang)))
    return charts
