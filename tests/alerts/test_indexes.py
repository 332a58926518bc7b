"""Normalisation, look-alike folding, number series and the blind indexes built from them."""

import pytest

from alerts.indexes import (
    NumberRange,
    normalise_document_number,
    number_any_index,
    number_index,
    range_index,
    series_block,
    series_block_index,
    series_indexes,
    skeleton,
    skeleton_index,
    split_number,
)


@pytest.mark.parametrize("raw, expected", [
    ("a123 456", "A123456"),
    (" A-123-456 ", "A123456"),
    ("A\u2013123\u2014456", "A123456"),
    ("L898902C3<", "L898902C3"),
    ("a\t12\n3", "A123"),
])
def test_normalisation(raw, expected):
    assert normalise_document_number(raw) == expected


@pytest.mark.parametrize("number, folded", [
    ("OI5B", "0158"),
    ("0158", "0158"),
    ("SZG", "526"),
    ("AB0123", "A80123"),
    ("a-b o1", "A801"),
])
def test_skeleton_folds_look_alikes(number, folded):
    assert skeleton(number) == folded


def test_look_alikes_share_a_skeleton_index_but_not_an_exact_index(app_ctx):
    assert skeleton_index("PO1234S6") == skeleton_index("P01234S6") == skeleton_index("p-0I2345-6")
    assert number_any_index("PO1234S6") != number_any_index("P01234S6")
    assert skeleton_index("P01234S6") != skeleton_index("P01234S7")


def test_exact_index_is_scoped_by_issuing_state(app_ctx):
    assert number_index("A1234567", "GTM") == number_index("a 123-4567", "GTM")
    assert number_index("A1234567", "GTM") != number_index("A1234567", "MEX")
    assert number_index("A1234567", "GTM") != number_any_index("A1234567")
    # scopes keep index kinds apart: the same text never gives the same hash in two kinds
    assert len({number_any_index("A1"), skeleton_index("A1"), number_index("A1", "GTM")}) == 3


def test_indexes_are_keyed_hashes_not_the_number(app_ctx):
    digest = number_any_index("A1234567")
    assert len(digest) == 64 and "A1234567" not in digest


@pytest.mark.parametrize("number, parts", [
    ("A1234", ("A", "1234")),
    ("12345", ("", "12345")),
    ("AB12C3456", ("AB12C", "3456")),
    ("ABC", None),
    ("123A", None),
])
def test_split_number(number, parts):
    assert split_number(number) == parts


def test_range_parse_and_contains():
    series = NumberRange.parse("A0012000", "A0012999")
    assert series == NumberRange("A", 12000, 12999, 7)
    assert series.contains("A0012000") and series.contains("a 0012-500") and series.contains("A0012999")
    assert not series.contains("A0011999") and not series.contains("A0013000")
    assert not series.contains("B0012500"), "different prefix"
    assert not series.contains("A012500"), "different digit count"
    assert not series.contains("A00125000")


@pytest.mark.parametrize("start, end", [
    ("A100", "B200"),      # different prefixes
    ("A100", "A1000"),     # different digit counts
    ("A200", "A100"),      # reversed
    ("ABC", "ABD"),        # no digits
])
def test_invalid_ranges(start, end):
    assert NumberRange.parse(start, end) is None


def test_series_index_depends_on_state_prefix_digit_count_and_block(app_ctx):
    series = NumberRange.parse("A0012000", "A0012999")
    assert series_block(series.start, series.end) == (3, 12)  # the block 12000..12999
    assert series.index("GTM") == series_block_index("GTM", "A", 7, 3, 12)
    assert len({series_block_index("GTM", "A", 7, 3, 12), series_block_index("MEX", "A", 7, 3, 12),
                series_block_index("GTM", "B", 7, 3, 12), series_block_index("GTM", "A", 8, 3, 12),
                series_block_index("GTM", "A", 7, 4, 1), series_block_index("GTM", "A", 7, 3, 13),
                range_index("GTM", "A", 7)}) == 7


@pytest.mark.parametrize("start, end, expected", [
    (12345, 12345, (0, 12345)),      # one number: its own block
    (12340, 12349, (1, 1234)),
    (12000, 12999, (3, 12)),
    (12995, 13004, (4, 1)),          # across a boundary of 10**3: the block 10000..19999
    (0, 9_999_999, (7, 0)),
])
def test_series_block_is_the_smallest_aligned_block_holding_the_series(start, end, expected):
    level, block = series_block(start, end)
    assert (level, block) == expected
    assert block * 10**level <= start and end < (block + 1) * 10**level


@pytest.mark.parametrize("start, end", [("A0012000", "A0012999"), ("A0012995", "A0013004"), ("A0000000", "A9999999"),
                                        ("A0012345", "A0012345")])
def test_every_number_of_a_series_looks_up_its_index(app_ctx, start, end):
    series = NumberRange.parse(start, end)
    for value in {series.start, series.end, (series.start + series.end) // 2}:
        assert series.index("GTM") in series_indexes(f"A{value:07d}", "GTM")
    assert range_index("GTM", "A", 7) in series_indexes("A0012500", "GTM"), "series stored before blocks"
    assert series_indexes("ABC", "GTM") == []