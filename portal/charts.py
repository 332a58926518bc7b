"""Charts drawn on the server: pygal's SVG, made safe for the portal's strict CSP, and the same figures as a table.

Why inline SVG rather than an ``image/svg+xml`` route: a chart is built from the figures its page has just
read through ``portal.access``, so drawing it in the page needs no second, separately scoped request (and
no second place where scoping could be got wrong). The CSP (``style-src 'self'``, ``script-src 'self'``)
would block pygal's embedded ``<style>`` and ``<script>`` and every ``style=`` attribute, so the SVG is
cleaned before it is served: scripts, styles, style attributes, comments and pygal's random ids are
removed, and the chart is coloured and sized by classes in ``static/portal.css`` (``.rcm-chart``), which
pygal already puts on every series (``color-N``). Nothing is fetched at run time and no script runs.

Every chart is also a table (``templates/_chart.html``): the SVG is hidden from screen readers, which read
the table of the same figures instead.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pygal
from flask_babel import gettext as _
from markupsafe import Markup

# pygal appends a legacy ``sys.meta_path`` finder (for its map plug-ins, unused here) without find_spec(),
# which makes every later failed import warn (an error in the tests); it is taken off again.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

KINDS = frozenset({"bar", "line"})
_KEY = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_REMOVED_TAGS = frozenset({f"{{{SVG_NS}}}script", f"{{{SVG_NS}}}style", f"{{{SVG_NS}}}desc"})
_REMOVED_GROUP_CLASSES = ("tooltip-overlay",)  # pygal's hover tooltip: needs its script, styled inline


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    """A chart's figures: labels along one axis, one value per label in each named series."""

    key: str  # unique on its page: the figure's id and the SVG's id
    title: str
    kind: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    label_heading: str = ""
    stacked: bool = False
    horizontal: bool = False
    width: int = 640
    height: int = 320

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown chart kind {self.kind!r}")
        if not _KEY.match(self.key):
            raise ValueError(f"chart key {self.key!r} must be lower-case letters, digits and dashes")
        for serie in self.series:
            if len(serie.values) != len(self.labels):
                raise ValueError(f"series {serie.name!r} has {len(serie.values)} values for {len(self.labels)} labels")

    @property
    def empty(self) -> bool:
        return not any(value for serie in self.series for value in serie.values)

    def rows(self) -> list[tuple[str, tuple[float | None, ...]]]:
        """The table's rows: each label with its value in every series."""
        return [(label, tuple(serie.values[index] for serie in self.series)) for index, label in enumerate(self.labels)]

    def svg(self) -> Markup:
        """The chart as inline SVG without script, style or style attributes (see the module docstring)."""
        return Markup(clean_svg(_pygal_chart(self).render(is_unicode=True), self.key))


def bar_chart(key: str, title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
              label_heading: str = "", stacked: bool = False, horizontal: bool = False, **size) -> Chart:
    """A bar chart (optionally stacked, optionally horizontal) of ``series`` (name -> one value a label)."""
    return Chart(key, title, "bar", tuple(labels), _series(series), label_heading, stacked, horizontal, **size)


def line_chart(key: str, title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
               label_heading: str = "", **size) -> Chart:
    """A line chart of ``series`` (name -> one value a label), for activity over time."""
    return Chart(key, title, "line", tuple(labels), _series(series), label_heading, **size)


def _series(series: Mapping[str, Sequence[float | None]]) -> tuple[Series, ...]:
    return tuple(Series(str(name), tuple(values)) for name, values in series.items())


def _pygal_class(chart: Chart):
    if chart.kind == "line":
        return pygal.Line
    if chart.horizontal:
        return pygal.HorizontalStackedBar if chart.stacked else pygal.HorizontalBar
    return pygal.StackedBar if chart.stacked else pygal.Bar


def _pygal_chart(chart: Chart):
    drawn = _pygal_class(chart)(
        js=[], css=[], disable_xml_declaration=True, width=chart.width, height=chart.height,
        show_legend=len(chart.series) > 1, legend_at_bottom=True, legend_at_bottom_columns=3,
        no_data_text=_("No data"), x_label_rotation=0 if chart.horizontal or len(chart.labels) <= 6 else 30,
        truncate_label=24, truncate_legend=28, min_scale=2, max_scale=6, margin=12, print_values=False,
        explicit_size=False, include_x_axis=True, **_integer_axis(chart),
    )
    drawn.x_labels = list(chart.labels)
    for serie in chart.series:
        drawn.add(serie.name, list(serie.values))
    return drawn


def _integer_axis(chart: Chart) -> dict:
    """Whole-number ticks from 0 when every value is a count (pygal would mark 1.2, 2.4, ...)."""
    values = [value for serie in chart.series for value in serie.values if value is not None]
    if not values or any(value != int(value) or value < 0 for value in values):
        return {}
    top = int(max(chart.stacked and _stack_totals(chart) or values)) or 1
    step = max(1, -(-top // 5))
    return {"y_labels": list(range(0, top + step, step))}


def _stack_totals(chart: Chart) -> list[float]:
    return [sum(serie.values[index] or 0 for serie in chart.series) for index in range(len(chart.labels))]


def clean_svg(svg: str, key: str) -> str:
    """``svg`` without what the CSP blocks or what would clash between two charts on one page.

    Removes ``<script>``, ``<style>``, ``<desc>``, pygal's tooltip overlay, every ``style`` attribute,
    every ``id`` (pygal's are random or repeat in each chart) and comments; the root gets ``key`` as id,
    the ``rcm-chart-svg`` class, and is hidden from screen readers (they read the table).
    """
    root = ET.fromstring(svg)
    _clean(root)
    root.attrib.pop("id", None)
    root.set("id", f"{key}-svg")
    root.set("class", "rcm-chart-svg")
    root.set("aria-hidden", "true")
    root.set("focusable", "false")
    root.set("preserveAspectRatio", "xMidYMid meet")
    return ET.tostring(root, encoding="unicode")


def _clean(element: ET.Element) -> None:
    for child in list(element):
        classes = (child.get("class") or "").split()
        if (not isinstance(child.tag, str) or child.tag in _REMOVED_TAGS
                or any(name in classes for name in _REMOVED_GROUP_CLASSES)):
            element.remove(child)
            continue
        if child.tag == f"{{{SVG_NS}}}title" and element.tag == f"{{{SVG_NS}}}svg":
            element.remove(child)  # "Pygal": the figure's caption names the chart
            continue
        child.attrib.pop("style", None)
        child.attrib.pop("id", None)
        _clean(child)
