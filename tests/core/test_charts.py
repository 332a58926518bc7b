"""Server-side charts: pygal's SVG cleaned for the strict CSP, and every figure also in a table."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from flask import render_template_string

from portal.charts import SVG_NS, bar_chart, clean_svg, line_chart

MACRO = '{% from "_chart.html" import chart %}{{ chart(c) }}'


def _bars(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [rect for rect in root.iter(f"{{{SVG_NS}}}rect") if "rect" in (rect.get("class") or "").split()]


@pytest.mark.parametrize("options", [{}, {"stacked": True}, {"horizontal": True}, {"stacked": True, "horizontal": True}])
def test_a_bar_chart_has_no_script_no_style_and_a_bar_per_value(app_ctx, options):
    chart = bar_chart("per-month", "Alerts per month", ["Jan", "Feb", "Mar"],
                      {"Forged": [1, 2, 0], "Stolen blank": [3, 1, 4]}, **options)
    svg = str(chart.svg())
    assert "<script" not in svg and "<style" not in svg and "style=" not in svg
    assert "pygal" not in svg.lower().replace("pygal-chart", "")  # no comments, no "Pygal" title
    assert len(_bars(svg)) == 6
    root = ET.fromstring(svg)
    assert root.get("id") == "per-month-svg" and root.get("aria-hidden") == "true"
    assert [element.get("id") for element in root.iter() if element.get("id")] == ["per-month-svg"]
    texts = {text.text for text in root.iter(f"{{{SVG_NS}}}text")}
    assert {"Jan", "Feb", "Mar", "Forged", "Stolen blank"} <= texts


def test_a_line_chart_draws_its_series_as_a_line(app_ctx):
    svg = str(line_chart("activity", "Activity", ["2026-01", "2026-02", "2026-03"], {"Alerts": [2, 5, 1]}).svg())
    root = ET.fromstring(svg)
    lines = [path for path in root.iter(f"{{{SVG_NS}}}path") if "line" in (path.get("class") or "").split()
             and "reactive" in (path.get("class") or "").split()]
    assert len(lines) == 1
    assert "<script" not in svg and "style=" not in svg


def test_labels_from_records_are_text_not_markup(app_ctx):
    chart = bar_chart("states", "Top states", ['<script>alert("x")</script>'], {"Alerts": [1]})
    svg = str(chart.svg())
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_the_macro_renders_a_figure_and_a_table_of_the_same_figures(app):
    chart = bar_chart("routes", "Detection routes", ["MEX -> GTM", "SLV -> USA"], {"Forged": [4, None], "Stolen": [1, 2]},
                      label_heading="Route")
    with app.test_request_context():
        html = render_template_string(MACRO, c=chart)
    assert '<figure class="rcm-chart rcm-chart-bar" id="routes" aria-labelledby="routes-title">' in html
    table = re.search(r'<table class="visually-hidden">.*</table>', html, re.DOTALL).group(0)
    assert "<caption>Detection routes</caption>" in table
    assert re.findall(r'<th scope="col">([^<]*)</th>', table) == ["Route", "Forged", "Stolen"]
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', table)
    assert [(label, re.findall(r"<td>([^<]*)</td>", cells)) for label, cells in rows] == [
        ("MEX -&gt; GTM", ["4", "1"]), ("SLV -&gt; USA", ["-", "2"])]


def test_an_empty_chart_says_so_instead_of_drawing(app):
    chart = bar_chart("nothing", "Nothing yet", ["Jan"], {"Alerts": [0]})
    with app.test_request_context():
        html = render_template_string(MACRO, c=chart)
    assert "Nothing to show yet." in html and "<svg" not in html


def test_clean_svg_strips_what_the_csp_would_block():
    dirty = (f'<svg xmlns="{SVG_NS}" id="chart-123"><!-- made by hand --><defs><style>.a{{}}</style>'
             '<script>alert(1)</script></defs><g id="x" style="opacity: 0" class="plot"><desc>v</desc>'
             '<rect style="fill:red" class="bar"/></g><g class="tooltip-overlay"><rect/></g></svg>')
    svg = clean_svg(dirty, "clean")
    assert svg == (f'<svg xmlns="{SVG_NS}" id="clean-svg" class="rcm-chart-svg" aria-hidden="true" focusable="false"'
                   ' preserveAspectRatio="xMidYMid meet"><defs /><g class="plot"><rect class="bar" /></g></svg>')


@pytest.mark.parametrize(("key", "series"), [("Bad Key", {"a": [1]}), ("ok", {"a": [1, 2]})])
def test_a_chart_refuses_a_bad_key_or_a_series_of_the_wrong_length(key, series):
    with pytest.raises(ValueError):
        bar_chart(key, "t", ["one"], series)


def test_the_chart_module_leaves_no_legacy_import_finder_behind():
    import sys

    assert not [finder for finder in sys.meta_path if type(finder).__name__ == "PluginImportFixer"]
