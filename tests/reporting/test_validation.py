"""Every cell kind of the templates, each row rule, and the rows together (``portal.reporting.validation``)."""

from __future__ import annotations

import pytest

from portal.reporting.catalogue import latest_template, load_reporting_templates
from portal.reporting.validation import clean_period, clean_rows, period_months
from tests.reporting.factories import FLOW_ROW


@pytest.fixture
def templates(app_ctx):
    load_reporting_templates()
    return {code: latest_template(code) for code in ("extra_regional_flows", "policy_changes",
                                                     "smuggling_legislation")}


def _errors(template, rows, **options):
    return {(error.row, error.column): error.message for error in clean_rows(template, "2026-H2", rows, **options)[1]}


def test_a_good_flow_row_is_kept_clean(templates):
    rows, errors = clean_rows(templates["extra_regional_flows"], "2026-H2",
                              [{**FLOW_ROW, "nationality": " ind ", "detected": "120", "detection_point": "air"}])
    assert errors == []
    assert rows[0]["nationality"] == "IND" and rows[0]["detected"] == 120 and rows[0]["detection_point"] == "air"
    assert rows[0]["main_routes"] is None


@pytest.mark.parametrize(("column", "value", "message"), [
    ("detected", -1, "Must be a whole number, 0 or more."),
    ("detected", 1.5, "Must be a whole number, 0 or more."),
    ("detected", "12a", "Must be a whole number, 0 or more."),
    ("detected", True, "Must be a whole number, 0 or more."),
    ("detected", 10_000_001, "At most 10000000."),
    ("detected", None, "This field is required."),
    ("nationality", "XYZ", "Not an ISO 3166 country code (three letters, such as IND)."),
    ("nationality", "GTM", "GTM is an RCM member country, not an extra-regional nationality."),
    ("month", "2026-01", "Must be a month of 2026-H2 (2026-07 to 2026-12)."),
    ("month", "July", "Must be a month of 2026-H2 (2026-07 to 2026-12)."),
    ("detection_point", "rail", "Must be one of: land, air, sea."),
    ("main_routes", "x" * 501, "At most 500 characters."),
])
def test_each_bad_flow_cell_is_named(templates, column, value, message):
    assert _errors(templates["extra_regional_flows"], [{**FLOW_ROW, column: value}]) == {(0, column): message}


@pytest.mark.parametrize(("column", "total"), [("women", "detected"), ("minors", "detected"),
                                              ("unaccompanied_minors", "minors"), ("returned", "detected")])
def test_of_whom_is_never_above_its_total(templates, column, total):
    row = {**FLOW_ROW, column: FLOW_ROW[total] + 1}
    if column == "unaccompanied_minors":
        row["minors"] = 12
    errors = _errors(templates["extra_regional_flows"], [row])
    assert list(errors) == [(0, column)]
    assert errors[(0, column)].startswith(f"Cannot be more than {FLOW_ROW[total]}")


def test_unknown_columns_non_objects_and_duplicates_are_refused(templates):
    flows = templates["extra_regional_flows"]
    assert _errors(flows, [{**FLOW_ROW, "colour": "red"}]) == {(0, "colour"): "Unknown column."}
    assert _errors(flows, ["IND"]) == {(0, None): "Each row must be an object of column names and values."}
    assert _errors(flows, [FLOW_ROW, dict(FLOW_ROW)]) == {(1, "nationality"): (
        "Row 1 already has these nationality, month, detection_point.")}
    assert clean_rows(flows, "2026-H2", {"rows": []})[1][0].field == "rows"


def test_policy_changes_dates_choices_and_documents(templates):
    policy = templates["policy_changes"]
    good = {"kind": "law", "title": "Ley de Migración", "date": "2026-08-01", "status": "in_force"}
    assert _errors(policy, [good, dict(good)]) == {}  # not one row per kind: two laws are fine
    assert _errors(policy, [{**good, "date": "2026-02-30"}]) == {(0, "date"): "Must be a date (YYYY-MM-DD)."}
    assert _errors(policy, [{**good, "date": "1066-10-14"}]) == {(0, "date"): "Must be a date between 1900 and 2100."}
    assert _errors(policy, [{**good, "status": "rumoured"}]) == {
        (0, "status"): "Must be one of: proposed, adopted, in_force."}
    assert _errors(policy, [{**good, "document": 7}], document_exists=lambda number: number == 8) == {
        (0, "document"): "No library document with this number that you may see."}
    assert _errors(policy, [{**good, "document": 8}], document_exists=lambda number: number == 8) == {}


def test_smuggling_matrix_one_row_per_topic(templates):
    matrix = templates["smuggling_legislation"]
    row = {"topic": "protocol_ratification", "status": "yes", "date": "2004-09-22"}
    assert _errors(matrix, [row]) == {}
    assert _errors(matrix, [row, {**row, "status": "no"}]) == {
        (1, "topic"): "Row 1 already has these topic."}
    assert _errors(matrix, [{"topic": "weather", "status": "maybe"}]) == {
        (0, "topic"): "Must be one of: " + ", ".join(choice["value"] for choice in matrix.dimensions[0]["choices"]) + ".",
        (0, "status"): "Must be one of: yes, partial, no."}


def test_periods():
    assert clean_period("2026-H2") == "2026-H2"
    assert clean_period("2026-H3") is None and clean_period("H2-2026") is None and clean_period(None) is None
    assert period_months("2026-H1") == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


def test_every_country_has_a_continent():
    import pycountry

    from portal.reporting.continents import CONTINENT_OF_ALPHA2, continent_of

    assert {country.alpha_2 for country in pycountry.countries} == set(CONTINENT_OF_ALPHA2)
    assert (continent_of("IND"), continent_of("CMR"), continent_of("HTI"), continent_of("XYZ")) == (
        "asia", "africa", "americas", None)
