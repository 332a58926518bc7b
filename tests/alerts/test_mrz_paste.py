"""A pasted MRZ is read however it arrives (alerts.mrz_paste), and the search finds its alert in every form:
the page's search box, ``GET /api/v1/alerts?q=`` and a query that looks like an MRZ but cannot be read."""

import pytest

from alerts.mrz import check_digit
from alerts.mrz_paste import read_pasted_mrz
from alerts.search import SearchError, search_alerts
from tests.alerts.factories import principal, report, td3


def td1(number: str, state: str = "GTM", birth: str = "850101", expiry: str = "300101") -> str:
    """A TD1 (identity card, 3 x 30) with every check digit right."""
    num = number.ljust(9, "<")
    upper = ("I<" + state + num + check_digit(num)).ljust(30, "<")
    middle = birth + check_digit(birth) + "F" + expiry + check_digit(expiry) + state + "<" * 11
    composite = check_digit(upper[5:30] + middle[0:7] + middle[8:15] + middle[18:29])
    return "\n".join([upper, middle + composite, "PEREZ<<ANA<MARIA".ljust(30, "<")])


def td2(number: str, state: str = "GTM", birth: str = "850101", expiry: str = "300101") -> str:
    """A TD2 (2 x 36) with every check digit right."""
    num = number.ljust(9, "<")
    upper = ("I<" + state + "PEREZ<<ANA").ljust(36, "<")
    body = num + check_digit(num) + state + birth + check_digit(birth) + "F" + expiry + check_digit(expiry) + "<" * 7
    return upper + "\n" + body + check_digit(body[0:10] + body[13:20] + body[21:35])


ZONES = {"TD1": td1, "TD2": td2, "TD3": td3}


def _forms(zone: str) -> dict[str, str]:
    """Every way a paste arrives in a search box."""
    lines = zone.split("\n")
    return {
        "lines": zone,
        "crlf": "\r\n".join(lines) + "\r\n",
        "joined by spaces": " ".join(lines),
        "joined without a separator": "".join(lines),
        "stray spaces": "  " + " ".join(line[:7] + " " + line[7:] for line in lines) + " ",
        "lower case, tabs between lines": "\t".join(lines).lower(),
    }


CASES = [(fmt, form) for fmt in ZONES for form in _forms(td3("X0000000"))]


@pytest.mark.parametrize(("fmt", "form"), CASES)
def test_every_form_of_a_whole_zone_is_read(fmt, form):
    pasted = _forms(ZONES[fmt]("K1234567"))[form]
    result = read_pasted_mrz(pasted)
    assert result is not None and result.valid, (pasted, result)
    assert result.format == fmt
    assert result.fields["document_number"] == "K1234567" and result.fields["issuing_state"] == "GTM"


@pytest.mark.parametrize(("fmt", "line"), [("TD3", 1), ("TD2", 1), ("TD1", 0)])
@pytest.mark.parametrize("spacing", ["plain", "stray spaces"])
def test_the_line_with_the_number_alone_is_read_and_checked(fmt, line, spacing):
    text = ZONES[fmt]("K1234567").split("\n")[line]
    if spacing == "stray spaces":
        text = " " + text[:10] + " " + text[10:] + "  "
    result = read_pasted_mrz(text)
    assert result is not None and result.valid, result
    assert result.fields["document_number"] == "K1234567"
    if fmt == "TD1":
        assert result.fields["issuing_state"] == "GTM"  # the first line of a card carries the state
    else:
        assert result.fields["nationality"] == "GTM" and result.fields["issuing_state"] is None


def test_a_wrong_check_digit_on_the_second_line_alone_is_named():
    line = td3("K1234567").split("\n")[1]
    tampered = line[:9] + str((int(line[9]) + 1) % 10) + line[10:]
    result = read_pasted_mrz(tampered)
    assert result.fields["document_number"] == "K1234567"
    assert {(issue.field, issue.code) for issue in result.errors} >= {("document_number", "check_digit")}


@pytest.mark.parametrize("text", ["A1234567", "counterfeit passport from Colombia", "K-123 4567", "laminate uv"])
def test_numbers_and_words_are_not_read_as_an_mrz(text):
    assert read_pasted_mrz(text) is None


# --- the search ---------------------------------------------------------------------------------------

@pytest.fixture
def gtm(make_user):
    return make_user(role="liaison_officer", party_code="GTM")


@pytest.fixture
def officer(make_user):
    return principal(make_user(role="border_officer", party_code="MEX"))


@pytest.mark.parametrize(("fmt", "form"), CASES)
def test_search_finds_the_alert_whatever_the_form(gtm, officer, fmt, form):
    alert = report(gtm, document_number="K1234567", issuing_state="GTM")
    result = search_alerts(officer, _forms(ZONES[fmt]("K1234567"))[form])
    assert result.kind == "mrz" and result.issuing_state == "GTM" and result.number == "K1234567"
    assert [(hit.alert.id, hit.match) for hit in result.hits] == [(alert.id, "exact")]


def test_the_second_td3_line_alone_finds_the_alert(gtm, officer):
    alert = report(gtm, document_number="K7654321", issuing_state="GTM")
    line = td3("K7654321").split("\n")[1]
    result = search_alerts(officer, line)
    assert result.kind == "mrz" and result.mrz_errors == []
    assert [(hit.alert.id, hit.match) for hit in result.hits] == [(alert.id, "exact")]


def test_a_number_with_a_filler_is_still_a_number(gtm, officer):
    alert = report(gtm, document_number="K7654321")
    result = search_alerts(officer, "K7654321<")
    assert result.kind == "number" and [hit.alert.id for hit in result.hits] == [alert.id]


@pytest.mark.parametrize(("text", "said"), [
    ("P<GTMPEREZ<<JUAN<<<<<<<<<<<<<<<<<<<<<<<<<<<< L898902C", "cannot be read"),
    (td3("K1234567").split("\n")[0], "only the document code, the issuing state and the names"),
    ("P<GTMPEREZ<<JUAN<<<<<\nL898902C36GTM<<<", "line lengths seen"),
])
def test_an_mrz_that_cannot_be_read_is_said_so_not_searched_as_words(gtm, officer, text, said):
    report(gtm, description="Juan Perez counterfeit", document_number="K1234567")
    with pytest.raises(SearchError) as refused:
        search_alerts(officer, text)
    assert list(refused.value.errors) == ["q"] and said in refused.value.errors["q"]
