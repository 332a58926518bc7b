"""``<int:...>`` in every route: ids up to the largest database integer, a larger one is simply not found."""

from __future__ import annotations

import random
import re

import pytest

from portal.routing import MAX_DATABASE_INT, digits_at_most


@pytest.mark.parametrize("limit", [0, 7, 10, 57, 100, 999, 1000, 31999, MAX_DATABASE_INT])
def test_the_pattern_matches_exactly_the_numbers_up_to_the_limit(limit):
    pattern = re.compile(digits_at_most(limit) + r"\Z")
    rng = random.Random(limit)
    numbers = list(range(min(limit + 50, 2000))) + [limit - 1, limit, limit + 1, limit * 10]
    numbers += [rng.randint(0, limit * 3 + 10) for _ in range(2000)]
    for number in numbers:
        if number >= 0:
            assert bool(pattern.match(str(number))) == (number <= limit), number
    assert not pattern.match("01") and not pattern.match("")


def test_an_id_past_the_database_integer_is_not_found_whatever_the_method(app):
    # The reporting API has a GET and a PUT rule on one path: with the bound checked only after the rule
    # matched, the PUT met the GET rule first and answered 405 (found by the API fuzz test).
    urls = app.url_map.bind("portal.invalid")
    path = f"/api/v1/reporting/cycles/{MAX_DATABASE_INT + 1}/returns/GTM"
    for method in ("GET", "PUT", "POST"):
        with pytest.raises(Exception) as raised:
            urls.match(path, method=method)
        assert type(raised.value).__name__ == "NotFound", method
    assert urls.match(f"/api/v1/reporting/cycles/{MAX_DATABASE_INT}/returns/GTM", method="PUT")[1]["cycle_id"] \
        == MAX_DATABASE_INT
