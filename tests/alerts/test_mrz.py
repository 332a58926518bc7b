"""MRZ parsing and verification against the Doc 9303 specimens, hand-built vectors and tampered copies.

Every literal check digit below was computed independently of ``alerts.mrz`` (by hand-run 7-3-1 sums) and
the specimens are Doc 9303's own; ``td3()`` and ``td1()`` rebuild MRZs with ``check_digit`` only where a test
needs a *consistent* document carrying one impossible value, and are themselves checked against the specimens.
"""

from __future__ import annotations

from datetime import date

import pytest

from alerts.mrz import (
    FORMATS,
    FRAUD_CODES,
    MrzResult,
    check_digit,
    finding_message,
    is_valid_icao_code,
    looks_like_mrz,
    normalise_document_number,
    parse_mrz,
)

TODAY = date(2026, 3, 1)

TD1_SPECIMEN = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
TD2_SPECIMEN = (
    "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "D231458907UTO7408122F1204159<<<<<<<6",
)
TD3_SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
MRVA_SPECIMEN = (
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
)
MRVB_SPECIMEN = (
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "L8988901C4XXX4009078F9612109<<<<<<<<",
)
# Built for these tests: document number D23145890734 (12 characters, check digit 9 over all twelve).
TD1_LONG = (
    "I<UTOD23145890<7349<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
# The same number followed by optional data "ABC" after the number's filler; composite 1.
TD1_LONG_WITH_OPTIONAL = (
    "I<UTOD23145890<7349<ABC<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<1",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
# A ten-character number, 1234567890 (check digit 7), with document code ID and sex M.
TD1_TEN = (
    "IDUTO123456789<07<<<<<<<<<<<<<",
    "8601012M3001019UTO<<<<<<<<<<<6",
    "SPECIMEN<<JANE<<<<<<<<<<<<<<<<",
)
# TD2 (Doc 9303 part 6 carries the same long-number note): D23145890734 continues in line 2, 29-35.
TD2_LONG = (
    "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "D23145890<UTO7408122F12041597349<<<2",
)

SPECIMENS = {
    "TD1": TD1_SPECIMEN, "TD2": TD2_SPECIMEN, "TD3": TD3_SPECIMEN, "MRVA": MRVA_SPECIMEN, "MRVB": MRVB_SPECIMEN,
}


def mrz(lines) -> str:
    return "\n".join(lines)


def parse(lines, today=TODAY) -> MrzResult:
    return parse_mrz(mrz(lines), today=today)


def issues(result: MrzResult) -> set[tuple[str, str]]:
    return {(issue.field, issue.code) for issue in result.errors}


def td3(*, code="P<", state="UTO", names="ERIKSSON<<ANNA<MARIA", number="L898902C3", nationality="UTO",
        birth="740812", sex="F", expiry="120415", personal="ZE184226B", personal_digit=None):
    """A TD3 MRZ with every check digit computed (so only the value under test is wrong)."""
    upper = (code + state + names).ljust(44, "<")
    number, personal = number.ljust(9, "<"), personal.ljust(14, "<")
    digit = check_digit(personal) if personal_digit is None else personal_digit
    body = number + check_digit(number) + nationality + birth + check_digit(birth) + sex + expiry
    body += check_digit(expiry) + personal + digit
    return upper, body + check_digit(body[0:10] + body[13:20] + body[21:43])


def td1(*, number="D23145890", birth="740812", expiry="120415", nationality="UTO", sex="F"):
    upper = ("I<UTO" + number.ljust(9, "<") + check_digit(number.ljust(9, "<"))).ljust(30, "<")
    middle = birth + check_digit(birth) + sex + expiry + check_digit(expiry) + nationality + "<" * 11
    middle += check_digit(upper[5:30] + middle[0:7] + middle[8:15] + middle[18:29])
    return upper, middle, "ERIKSSON<<ANNA<MARIA".ljust(30, "<")


def replace(lines, line: int, position: int, char: str):
    """``lines`` with the character at 1-based ``position`` of 1-based ``line`` replaced."""
    changed = list(lines)
    text = changed[line - 1]
    assert text[position - 1] != char
    changed[line - 1] = text[: position - 1] + char + text[position:]
    return tuple(changed)


# --- check digits -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("D23145890", "7"),
    ("L898902C3", "6"),
    ("L8988901C", "4"),
    ("740812", "2"),
    ("120415", "9"),
    ("400907", "8"),
    ("961210", "9"),
    ("ZE184226B<<<<<", "1"),
    ("D23145890734", "9"),
    ("1234567890", "7"),
    ("AB2134<<<", "5"),
    ("HVC8N3QW7ZE1742", "8"),
    ("<<<<<<<<<<<<<<", "0"),
    ("", "0"),
    ("0", "0"),
    ("A", "0"),
    ("Z", "5"),
    ("<", "0"),
])
def test_check_digit(value, expected):
    assert check_digit(value) == expected


@pytest.mark.parametrize("value", ["l898902c3", "AB-12", "AB 12", "É"])
def test_check_digit_refuses_characters_outside_the_mrz_alphabet(value):
    with pytest.raises(ValueError):
        check_digit(value)


# --- specimens ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_specimens_are_valid(fmt):
    result = parse(SPECIMENS[fmt])
    assert result.format == fmt
    assert result.errors == []
    assert result.fraud_indicators == []
    assert result.valid is True
    assert result.fields["issuing_state"] == "UTO"
    assert result.fields["surname"] == "ERIKSSON"
    assert result.fields["given_names"] == "ANNA MARIA"
    assert result.fields["sex"] == "F"


def test_td1_specimen_fields():
    assert parse(TD1_SPECIMEN).to_dict() == {
        "valid": True,
        "format": "TD1",
        "fields": {
            "document_code": "I", "document_type": None, "issuing_state": "UTO",
            "document_number": "D23145890", "document_number_check_digit": "7", "optional_data_1": None,
            "nationality": "UTO", "birth_date": "1974-08-12", "birth_date_raw": "740812",
            "birth_date_check_digit": "2", "sex": "F", "expiry_date": "2012-04-15", "expiry_date_raw": "120415",
            "expiry_date_check_digit": "9", "optional_data_2": None, "composite_check_digit": "6",
            "surname": "ERIKSSON", "given_names": "ANNA MARIA",
        },
        "errors": [],
    }


def test_td2_specimen_fields():
    fields = parse(TD2_SPECIMEN).fields
    assert fields["document_number"] == "D23145890"
    assert fields["document_number_check_digit"] == "7"
    assert fields["nationality"] == "UTO"
    assert (fields["birth_date"], fields["expiry_date"]) == ("1974-08-12", "2012-04-15")
    assert fields["optional_data"] is None
    assert fields["composite_check_digit"] == "6"


def test_td3_specimen_fields():
    fields = parse(TD3_SPECIMEN).fields
    assert fields["document_code"] == "P"
    assert fields["document_number"] == "L898902C3"
    assert fields["document_number_check_digit"] == "6"
    assert fields["birth_date_raw"] == "740812"
    assert fields["personal_number"] == "ZE184226B"
    assert fields["personal_number_check_digit"] == "1"
    assert fields["composite_check_digit"] == "0"
    assert "optional_data" not in fields


@pytest.mark.parametrize(("fmt", "optional"), [("MRVA", "6ZE184226B"), ("MRVB", None)])
def test_visa_specimen_fields(fmt, optional):
    fields = parse(SPECIMENS[fmt]).fields
    assert fields["document_code"] == "V"
    assert fields["document_number"] == "L8988901C"
    assert fields["nationality"] == "XXX"
    assert fields["birth_date"] == "1940-09-07"
    assert fields["expiry_date"] == "1996-12-10"
    assert fields["optional_data"] == optional
    assert "composite_check_digit" not in fields


def test_builders_reproduce_the_specimens():
    assert td3() == TD3_SPECIMEN
    assert td1() == TD1_SPECIMEN


# --- long document numbers ----------------------------------------------------------------------------

def test_td1_long_document_number_continues_in_the_optional_data():
    result = parse(TD1_LONG)
    assert result.valid, result.errors
    assert result.fields["document_number"] == "D23145890734"
    assert result.fields["document_number_check_digit"] == "9"
    assert result.fields["optional_data_1"] is None


def test_td1_long_document_number_followed_by_optional_data():
    result = parse(TD1_LONG_WITH_OPTIONAL)
    assert result.valid, result.errors
    assert result.fields["document_number"] == "D23145890734"
    assert result.fields["optional_data_1"] == "ABC"
    assert result.fields["composite_check_digit"] == "1"


def test_td1_ten_character_document_number():
    result = parse(TD1_TEN)
    assert result.valid, result.errors
    assert result.fields["document_number"] == "1234567890"
    assert result.fields["document_number_check_digit"] == "7"
    assert result.fields["document_code"] == "ID"
    assert result.fields["document_type"] == "D"
    assert result.fields["sex"] == "M"
    assert result.fields["expiry_date"] == "2030-01-01"


def test_td1_long_number_tampered_with_a_recomputed_composite_is_still_caught():
    # 7349 -> 7449 and the composite recomputed (7) by the forger: the number's own check digit fails.
    tampered = ("I<UTOD23145890<7449<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<7", TD1_LONG[2])
    result = parse(tampered)
    assert issues(result) == {("document_number", "check_digit")}
    assert result.fields["document_number"] == "D23145890744"


def test_td1_long_number_tampered():
    result = parse(replace(TD1_LONG, 1, 16, "8"))
    assert issues(result) == {("document_number", "check_digit"), ("composite_check_digit", "check_digit")}


def test_td1_long_number_marker_without_continuation():
    lines = ("I<UTOD23145890<<<<<<<<<<<<<<<<", TD1_LONG[1], TD1_LONG[2])
    result = parse(lines)
    assert ("document_number", "invalid_document_number") in issues(result)
    assert result.valid is False


def test_td1_short_number_with_filler_instead_of_check_digit_is_a_check_digit_failure():
    result = parse(replace(td1(number="AB1234"), 1, 15, "<"))
    assert issues(result) == {("document_number", "check_digit"), ("composite_check_digit", "check_digit")}
    assert result.fields["document_number"] == "AB1234"


def test_td2_long_document_number():
    result = parse(TD2_LONG)
    assert result.valid, result.errors
    assert result.fields["document_number"] == "D23145890734"
    assert result.fields["document_number_check_digit"] == "9"
    assert result.fields["optional_data"] is None


# --- tampering ----------------------------------------------------------------------------------------

# (format, line, position, new character, expected issues); positions are Doc 9303's, 1-based.
TAMPERED = [
    ("TD1", 1, 8, "2", {("document_number", "check_digit"), ("composite_check_digit", "check_digit")}),
    ("TD1", 2, 4, "9", {("birth_date", "check_digit"), ("composite_check_digit", "check_digit")}),
    ("TD1", 2, 12, "5", {("expiry_date", "check_digit"), ("composite_check_digit", "check_digit")}),
    ("TD1", 2, 30, "5", {("composite_check_digit", "check_digit")}),
    ("TD2", 2, 3, "2", {("document_number", "check_digit"), ("composite_check_digit", "check_digit")}),
    ("TD2", 2, 17, "9", {("birth_date", "check_digit"), ("composite_check_digit", "check_digit")}),
    ("TD2", 2, 25, "5", {("expiry_date", "check_digit"), ("composite_check_digit", "check_digit")}),
    ("TD2", 2, 36, "5", {("composite_check_digit", "check_digit")}),
    ("TD3", 2, 5, "8", {("document_number", "check_digit"), ("composite_check_digit", "check_digit")}),
    ("TD3", 2, 17, "9", {("birth_date", "check_digit"), ("composite_check_digit", "check_digit")}),
    ("TD3", 2, 25, "5", {("expiry_date", "check_digit"), ("composite_check_digit", "check_digit")}),
    ("TD3", 2, 30, "F", {("personal_number", "check_digit"), ("composite_check_digit", "check_digit")}),
    ("TD3", 2, 44, "1", {("composite_check_digit", "check_digit")}),
    ("MRVA", 2, 5, "9", {("document_number", "check_digit")}),
    ("MRVA", 2, 17, "8", {("birth_date", "check_digit")}),
    ("MRVA", 2, 26, "2", {("expiry_date", "check_digit")}),
    ("MRVB", 2, 5, "9", {("document_number", "check_digit")}),
    ("MRVB", 2, 17, "8", {("birth_date", "check_digit")}),
    ("MRVB", 2, 26, "2", {("expiry_date", "check_digit")}),
]


@pytest.mark.parametrize(("fmt", "line", "position", "char", "expected"), TAMPERED)
def test_tampered_mrz_is_flagged(fmt, line, position, char, expected):
    result = parse(replace(SPECIMENS[fmt], line, position, char))
    assert result.format == fmt
    assert issues(result) == expected
    assert {(issue.field, issue.code) for issue in result.fraud_indicators} == expected
    assert result.valid is False


def test_tampered_check_digit_message_names_found_and_expected():
    result = parse(replace(TD3_SPECIMEN, 2, 10, "7"))
    [number_issue] = [issue for issue in result.errors if issue.field == "document_number"]
    assert number_issue.message == "The check digit of the document number is 7 but the data gives 6."


def test_unused_personal_number_may_carry_a_filler_or_zero_check_digit():
    for digit in ("<", "0"):
        result = parse(td3(personal="", personal_digit=digit))
        assert result.valid, result.errors
        assert result.fields["personal_number"] is None
    assert ("personal_number", "check_digit") in issues(parse(td3(personal="", personal_digit="3")))


# --- impossible values --------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "field"), [
    ({"birth": "741312"}, "birth_date"),     # month 13
    ({"birth": "740230"}, "birth_date"),     # 30 February
    ({"birth": "740800"}, "birth_date"),     # day 0
    ({"expiry": "301301"}, "expiry_date"),   # month 13
    ({"expiry": "300230"}, "expiry_date"),   # 30 February
    ({"expiry": "270229"}, "expiry_date"),   # 29 February 2027, not a leap year
])
def test_impossible_dates_with_consistent_check_digits(kwargs, field):
    result = parse(td3(**kwargs))
    assert issues(result) == {(field, "invalid_date")}
    assert result.fields[field] is None
    assert result.fields[f"{field}_raw"] == next(iter(kwargs.values()))
    assert result.fraud_indicators == result.errors


def test_impossible_date_in_td1():
    result = parse(td1(birth="741312"))
    assert issues(result) == {("birth_date", "invalid_date")}


def test_leap_day_is_a_real_date():
    result = parse(td3(birth="000229", expiry="280229"))
    assert result.valid, result.errors
    assert (result.fields["birth_date"], result.fields["expiry_date"]) == ("2000-02-29", "2028-02-29")


def test_expiry_before_birth():
    result = parse(td3(birth="991231", expiry="980101"))
    assert issues(result) == {("expiry_date", "expiry_before_birth")}
    assert (result.fields["birth_date"], result.fields["expiry_date"]) == ("1999-12-31", "1998-01-01")


def test_birth_century_is_never_in_the_future():
    assert parse(td3(birth="260301"), today=TODAY).fields["birth_date"] == "2026-03-01"
    assert parse(td3(birth="260302"), today=TODAY).fields["birth_date"] == "1926-03-02"
    assert parse(td3(birth="251231"), today=TODAY).fields["birth_date"] == "2025-12-31"


def test_expiry_century_window():
    # window for 2026: 1976 to 2075
    assert parse(td3(expiry="760101"), today=TODAY).fields["expiry_date"] == "1976-01-01"
    assert parse(td3(expiry="751231"), today=TODAY).fields["expiry_date"] == "2075-12-31"
    assert parse(td3(expiry="300101"), today=TODAY).fields["expiry_date"] == "2030-01-01"


def test_partly_unknown_birth_date_is_accepted():
    for raw in ("7408<<", "74<<<<", "<<<<<<"):
        result = parse(td3(birth=raw))
        assert result.valid, (raw, result.errors)
        assert result.fields["birth_date"] is None
        assert result.fields["birth_date_raw"] == raw
    assert issues(parse(td3(birth="7413<<"))) == {("birth_date", "invalid_date")}
    assert issues(parse(td3(birth="7<0812"))) == {("birth_date", "invalid_date")}


def test_bad_issuing_state():
    result = parse(td3(state="ZZZ"))
    assert issues(result) == {("issuing_state", "invalid_country")}
    assert result.fields["issuing_state"] == "ZZZ"
    assert result.valid is False


def test_bad_nationality():
    # nationality is outside the composite: a forger need not recompute anything to change it
    result = parse(replace(TD3_SPECIMEN, 2, 11, "Q"))
    assert issues(result) == {("nationality", "invalid_country")}


@pytest.mark.parametrize("code", ["D<<", "GTM", "GBD", "UNO", "XXA", "XXX", "EUE", "RKS", "XOM", "XPO", "UTO"])
def test_icao_codes_are_accepted(code):
    result = parse(td3(state=code, nationality=code))
    assert result.valid, result.errors
    assert result.fields["issuing_state"] == code.rstrip("<")


def test_is_valid_icao_code():
    assert is_valid_icao_code("D") and is_valid_icao_code("DEU") and is_valid_icao_code("UTO")
    assert not is_valid_icao_code("ZZZ") and not is_valid_icao_code("") and not is_valid_icao_code("gtm")


def test_unknown_sex():
    result = parse(replace(TD3_SPECIMEN, 2, 21, "Q"))
    assert issues(result) == {("sex", "invalid_sex")}


@pytest.mark.parametrize("sex", ["M", "F", "X", "<"])
def test_every_defined_sex(sex):
    result = parse(td3(sex=sex))
    assert result.valid, result.errors
    assert result.fields["sex"] == sex


def test_passport_with_the_wrong_document_code():
    result = parse(td3(code="X<"))
    assert issues(result) == {("document_code", "invalid_document_code")}


def test_document_type_is_the_second_character():
    result = parse(td3(code="PD"))
    assert result.valid
    assert (result.fields["document_code"], result.fields["document_type"]) == ("PD", "D")


def test_digits_in_the_name():
    result = parse(td3(names="ERIKSS0N<<ANNA"))
    assert issues(result) == {("surname", "invalid_name")}


def test_characters_outside_the_alphabet():
    lines = replace(TD3_SPECIMEN, 1, 10, "#")
    result = parse(lines)
    assert issues(result) == {("mrz", "invalid_character")}
    assert "position 10 ('#')" in result.errors[0].message
    assert result.fraud_indicators == result.errors


def test_foreign_character_in_a_checked_field():
    result = parse(replace(TD3_SPECIMEN, 2, 3, "é"))
    assert issues(result) == {
        ("mrz", "invalid_character"), ("document_number", "check_digit"), ("composite_check_digit", "check_digit"),
    }


def test_compound_names():
    result = parse(td3(names="VAN<DER<BERG<<JAN<<<PIETER"))
    assert result.fields["surname"] == "VAN DER BERG"
    assert result.fields["given_names"] == "JAN PIETER"
    result = parse(td3(names="ONLYSURNAME"))
    assert (result.fields["surname"], result.fields["given_names"]) == ("ONLYSURNAME", None)


# --- input tolerance ----------------------------------------------------------------------------------

def test_lower_case_and_crlf_and_surrounding_whitespace():
    text = "\r\n  " + TD3_SPECIMEN[0].lower() + "  \r\n\r\n\t" + TD3_SPECIMEN[1].lower() + "\r\n  "
    result = parse_mrz(text, today=TODAY)
    assert result.valid, result.errors
    assert result.lines == TD3_SPECIMEN
    assert result.text == mrz(TD3_SPECIMEN)


def test_old_mac_line_ends():
    assert parse_mrz("\r".join(TD1_SPECIMEN), today=TODAY).valid


def test_spaces_for_fillers_inside_and_at_the_end_of_lines():
    upper = "p<utoeriksson  anna maria" + " " * 19
    lower = "L898902C36UTO7408122F1204159ZE184226B     10  "
    result = parse_mrz(upper + "\n" + lower + "\n", today=TODAY)
    assert result.valid, result.errors
    assert result.lines == TD3_SPECIMEN


def test_spaces_that_cannot_be_fillers():
    result = parse_mrz("P<UTOERIKSSON ANNA MARIA\n" + TD3_SPECIMEN[1], today=TODAY)
    assert issues(result) == {("mrz", "ambiguous_spaces")}
    assert "24, 44" in result.errors[0].message
    assert result.valid is False and result.format is None


def test_spaces_readable_in_two_ways_are_refused():
    # inside-only reading gives 2 x 36, the reading with trailing spaces 2 x 44: both are MRZ shapes
    upper = "I<UTOERIKSSON  ANNA MARIA          <" + " " * 8
    lower = "D231458907UTO7408122F1204159       6" + " " * 8
    result = parse_mrz(upper + "\n" + lower, today=TODAY)
    assert issues(result) == {("mrz", "ambiguous_spaces")}


def test_tab_inside_a_line_is_an_invalid_character():
    result = parse_mrz(TD3_SPECIMEN[0][:43] + "\t\n" + TD3_SPECIMEN[1], today=TODAY)
    assert result.format is None  # the tab is stripped as surrounding whitespace: 43 + 44
    lines = (TD3_SPECIMEN[0][:20] + "\t" + TD3_SPECIMEN[0][21:], TD3_SPECIMEN[1])
    assert issues(parse(lines)) == {("mrz", "invalid_character")}


@pytest.mark.parametrize(("text", "lengths"), [
    (TD3_SPECIMEN[0] + "\n" + TD3_SPECIMEN[1][:43], "line lengths seen 44, 43."),
    (TD3_SPECIMEN[0], "line lengths seen 44."),
    (mrz(TD1_SPECIMEN[:2]), "line lengths seen 30, 30."),
    (mrz(TD2_SPECIMEN + TD2_SPECIMEN[1:]), "line lengths seen 36, 36, 36."),
    ("L898902C3", "line lengths seen 9."),
])
def test_unknown_shapes(text, lengths):
    result = parse_mrz(text, today=TODAY)
    assert result.to_dict()["valid"] is False
    assert result.format is None and result.fields == {}
    assert issues(result) == {("mrz", "unknown_format")}
    assert lengths in result.errors[0].message
    assert result.fraud_indicators == []


def test_a_long_paste_is_refused_quickly():
    result = parse_mrz("A B\n" * 10_000, today=TODAY)
    assert issues(result) == {("mrz", "unknown_format")}
    assert "line lengths seen 3, 3, 3, 3, 3, ..." in result.errors[0].message


@pytest.mark.parametrize("text", ["", "   \r\n \n"])
def test_empty_input(text):
    result = parse_mrz(text)
    assert issues(result) == {("mrz", "empty")}
    assert result.to_dict() == {
        "valid": False, "format": None, "fields": {},
        "errors": [{"field": "mrz", "code": "empty", "message": "The MRZ is empty."}],
    }


def test_non_string_is_a_programming_error():
    with pytest.raises(TypeError):
        parse_mrz(None)


def test_default_today_is_used():
    assert parse_mrz(mrz(TD3_SPECIMEN)).fields["birth_date"] == "1974-08-12"


def test_to_dict_lists_every_error():
    result = parse(replace(replace(TD3_SPECIMEN, 2, 21, "Q"), 2, 44, "1"))
    body = result.to_dict()
    assert body["valid"] is False and body["format"] == "TD3"
    assert {(error["field"], error["code"]) for error in body["errors"]} == {
        ("sex", "invalid_sex"), ("composite_check_digit", "check_digit"),
    }
    assert all(set(error) == {"field", "code", "message"} and error["message"] for error in body["errors"])


# --- helpers for search -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("l898902c3", "L898902C3"),
    (" AB-12 34<< ", "AB1234"),
    ("ab\u201312\u00a034\t", "AB1234"),
    ("D23145890<734", "D23145890734"),
    ("", ""),
])
def test_normalise_document_number(value, expected):
    assert normalise_document_number(value) == expected


def test_looks_like_mrz():
    assert looks_like_mrz(mrz(TD3_SPECIMEN))
    assert looks_like_mrz(mrz(TD1_SPECIMEN).lower())
    assert not looks_like_mrz("L898902C3")
    assert not looks_like_mrz("")


def test_messages_inside_a_request(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        result = parse(replace(TD3_SPECIMEN, 2, 10, "7"))
    assert result.to_dict()["errors"][0] == {
        "field": "document_number", "code": "check_digit",
        "message": "The check digit of the document number is 7 but the data gives 6.",
    }


def test_every_stored_finding_reads_as_a_sentence(app):
    """An alert keeps a finding as field and code only; each fraud code has its own sentence, in the
    reader's language, and an unknown code still reads as one."""
    findings = [{"field": "birth_date", "code": code} for code in sorted(FRAUD_CODES)]
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        spanish = [finding_message(item) for item in findings]
        unknown = finding_message({"field": "mrz", "code": "something_new"})
    english = [finding_message(item) for item in findings]  # outside a request: plain English
    assert len(set(english)) == len(FRAUD_CODES) and len(set(spanish)) == len(FRAUD_CODES)
    assert all(text.endswith(".") and "_" not in text for text in english + spanish)
    assert "The date of birth is not a valid calendar date." in english
    assert "El campo «fecha de nacimiento» no es una fecha de calendario válida." in spanish
    assert unknown == "La MRZ no supera una verificación (something_new)."
