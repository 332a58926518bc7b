"""What a narrative (stored in clear, read by full-text search) may not hold: holder data, numbers, MRZ lines.

``narrative_finding(text, numbers, names)`` names the first kind of data found, or ``None``:

- ``"name"``: a word of the holder's names of three letters or more, compared after case folding and
  removing accents (NFKD) and punctuation, in any order and alone (``H. Pacheco Ruiz`` and
  ``PACHECO RUIZ, Hermenegildo`` both name ``Hermenegildo Pacheco Ruiz``); name particles such as *de*,
  *del* or *van* are not names on their own;
- ``"number"``: a document number of any length, written with separators inside (spaces, dots, dashes,
  slashes, ``<``...) or with look-alike characters (O/0, I/1/L, S/5, B/8, Z/2); a number of fewer than
  six characters counts only standing alone, so that ``12`` is not found in ``2012``;
- ``"mrz"``: text shaped like a machine-readable zone line: a run of ``<`` fillers, a ``P<XXX`` start,
  or a 30, 36 or 44 character run of MRZ characters (TD1, TD2, TD3 lines).

The callers (``alerts.validation`` for every channel, the withdrawal reason) refuse the field with a
message saying what kind of data was found, never echoing it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Look-alikes are folded to the digit so that QZ773OO99 is QZ7730099 (for numbers only).
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2"})
_MIN_NAME_LETTERS = 3
# Below this length a number is only found standing alone (it would otherwise hit dates and quantities).
_MIN_EMBEDDED_NUMBER = 6
# Particles of compound names: common words in the narratives' languages, not a person's name alone.
_NAME_PARTICLES = frozenset({"DEL", "DER", "DEN", "DES", "LOS", "LAS", "DOS", "DAS", "VAN", "VON", "THE", "AND", "BIN",
                             "BEN", "BINT", "ABU", "MAC", "SAN", "SANTA"})
_WORD = re.compile(r"[A-Z]+")
_SEPARATORS = r"[^A-Z0-9]*"
_MRZ_SHAPES = (
    re.compile(r"<{2,}"),  # fillers
    re.compile(r"(?<![A-Z0-9<])[ACIPV][A-Z<]<?[A-Z]{3}<"),  # P<GTM..., IDGTM<..., V<GTM...
    re.compile(r"(?<![A-Z0-9<])[ACIPV]<[A-Z]{3}"),  # P<GTMPACHECO...
    re.compile(r"(?<![A-Z0-9<])(?:[A-Z0-9<]{30}|[A-Z0-9<]{36}|[A-Z0-9<]{44})(?![A-Z0-9<])"),  # line lengths
)


def fold(text: str) -> str:
    """Upper case without accents (NFKD, combining marks dropped): how names and shapes are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).upper()


def name_tokens(names) -> frozenset[str]:
    """The words of three letters or more of the holder's names, folded (particles left out)."""
    tokens = set()
    for name in names:
        if name:
            tokens.update(word for word in _WORD.findall(fold(name)) if len(word) >= _MIN_NAME_LETTERS)
    return frozenset(tokens - _NAME_PARTICLES)


@lru_cache(maxsize=1024)
def _number_pattern(number: str) -> re.Pattern | None:
    """A number, look-alikes folded, with any separators between its characters."""
    chars = [char for char in fold(number).translate(_LOOK_ALIKES) if char.isalnum() and char.isascii()]
    if not chars:
        return None
    body = _SEPARATORS.join(re.escape(char) for char in chars)
    if len(chars) < _MIN_EMBEDDED_NUMBER:
        body = rf"(?<![A-Z0-9]){body}(?![A-Z0-9])"
    return re.compile(body)


def narrative_finding(text: str | None, numbers, names) -> str | None:
    """``"name"``, ``"number"`` or ``"mrz"``: the first kind of holder data found in ``text``, or None."""
    if not text:
        return None
    folded = fold(text)
    holder_words = name_tokens(names)
    if holder_words and not holder_words.isdisjoint(_WORD.findall(folded)):
        return "name"
    digits = folded.translate(_LOOK_ALIKES)
    for number in numbers:
        pattern = _number_pattern(number) if number else None
        if pattern is not None and pattern.search(digits):
            return "number"
    if any(shape.search(folded) for shape in _MRZ_SHAPES):
        return "mrz"
    return None
