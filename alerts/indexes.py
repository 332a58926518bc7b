"""Blind indexes over alert document numbers: exact, look-alike ("skeleton") and number-range lookups.

A document number is never stored or searched in clear. What the database holds are keyed hashes
(``portal.crypto.blind_index``, HMAC-SHA256 under the key ring) of its normalised form, each under its
own scope so an index of one kind can never be compared with another:

``number_index``      the number within its issuing state (what a border check with a state asks for);
``number_any_index``  the number in any state (a search box without a state; SLTD-style "any country");
``skeleton_index``    the number with look-alike characters folded, in any state: near matches;
``range_index``       a number series, by issuing state, alphabetic prefix, digit count and the smallest
                      aligned block of numbers holding it (``series_block``): the candidate series a number
                      may fall into are those whose block holds it; their bounds are then decrypted and
                      compared. Series indexed before blocks existed carry the coarser index of state,
                      prefix and digit count (``range_index``), which lookups still include.

Look-alikes folded: O->0, I->1, S->5, B->8, and also Z->2 and G->6, which OCR engines and hurried typists
confuse just as often (OCR-B keeps them apart on the document, not in a transcription). Folding more
(U/V, D/0, Q/0) would turn "near" into noise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alerts.mrz import canonical_state, normalise_document_number
from portal.crypto import blind_index

__all__ = [
    "NumberRange",
    "normalise_document_number",
    "number_any_index",
    "number_index",
    "range_index",
    "series_block",
    "series_block_index",
    "series_indexes",
    "skeleton",
    "skeleton_index",
    "split_number",
]

_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "S": "5", "B": "8", "Z": "2", "G": "6"})
_SPLIT = re.compile(r"^(.*?)(\d+)$")
VALID_NUMBER = re.compile(r"^[A-Z0-9]{1,30}$")


def skeleton(number: str) -> str:
    """The normalised number with look-alike letters folded onto the digits they resemble."""
    return normalise_document_number(number).translate(_LOOK_ALIKES)


def number_index(number: str, issuing_state: str) -> str:
    return blind_index(normalise_document_number(number), scope=f"alert-number:{canonical_state(issuing_state)}")


def number_any_index(number: str) -> str:
    return blind_index(normalise_document_number(number), scope="alert-number")


def skeleton_index(number: str) -> str:
    return blind_index(skeleton(number), scope="alert-skeleton")


def split_number(number: str) -> tuple[str, str] | None:
    """``(prefix, digits)`` of a normalised number ending in digits (``A1234`` -> ``("A", "1234")``)."""
    match = _SPLIT.match(normalise_document_number(number))
    return (match.group(1), match.group(2)) if match else None


def range_index(issuing_state: str, prefix: str, digit_count: int) -> str:
    """The coarse series index of series stored before ``series_block_index`` (every series of a state,
    prefix and digit count shares it); lookups still include it, ``keys rotate --index`` replaces it."""
    return blind_index(f"{canonical_state(issuing_state)}|{prefix}|{digit_count}", scope="alert-range")


def series_block(start: int, end: int) -> tuple[int, int]:
    """``(level, block)``: the smallest aligned block of 10**level numbers that holds start..end.

    With the coarse index, every series of a state, prefix and digit count was a candidate for every
    number (170 candidate series decrypted per check at 1,000,000 alerts, growing with the database);
    with blocks, only series whose block holds the number are.
    """
    level = 0
    while start // 10**level != end // 10**level:
        level += 1
    return level, start // 10**level


def series_block_index(issuing_state: str, prefix: str, digit_count: int, level: int, block: int) -> str:
    return blind_index(f"{canonical_state(issuing_state)}|{prefix}|{digit_count}|{level}|{block}",
                       scope="alert-series")


def series_indexes(number: str, issuing_state: str) -> list[str]:
    """Every series index a series holding ``number`` may carry: the number's block at each level, and the
    coarse index of series stored before blocks. Empty for a number that ends in no digits."""
    parts = split_number(number)
    if parts is None:
        return []
    prefix, digits = parts
    value = int(digits)
    return [series_block_index(issuing_state, prefix, len(digits), level, value // 10**level)
            for level in range(len(digits) + 1)] + [range_index(issuing_state, prefix, len(digits))]


@dataclass(frozen=True)
class NumberRange:
    """A series ``start``..``end`` (inclusive): same prefix, same number of digits, start <= end."""

    prefix: str
    start: int
    end: int
    digits: int

    @classmethod
    def parse(cls, start: str, end: str) -> NumberRange | None:
        """The range between two bounds, or ``None`` when they do not describe one."""
        first, last = split_number(start), split_number(end)
        if first is None or last is None or first[0] != last[0] or len(first[1]) != len(last[1]):
            return None
        low, high = int(first[1]), int(last[1])
        if low > high:
            return None
        return cls(first[0], low, high, len(first[1]))

    @classmethod
    def holds(cls, start: str, end: str, number: str) -> bool:
        """Whether the series ``start``..``end`` (decrypted bounds) holds ``number``."""
        series = cls.parse(start, end)
        return series is not None and series.contains(number)

    def contains(self, number: str) -> bool:
        parts = split_number(number)
        return (
            parts is not None
            and parts[0] == self.prefix
            and len(parts[1]) == self.digits
            and self.start <= int(parts[1]) <= self.end
        )

    def index(self, issuing_state: str) -> str:
        return series_block_index(issuing_state, self.prefix, self.digits, *series_block(self.start, self.end))
