"""Blind indexes over directory names: a person is found by name although names are stored encrypted.

What the database holds are keyed hashes (``portal.crypto.blind_index``, HMAC-SHA256 under the key ring) of
the name normalised by ``normalise_name()`` (Unicode NFKD, combining marks dropped, casefolded, punctuation
turned into spaces, whitespace collapsed), each under its own scope:

``name_index``   the whole normalised name (``DirectoryEntry.name_index``);
``token_index``  one word of it (a ``DirectoryNameToken`` per word).

A query matches an entry when its whole normalised text equals the entry's name, or when every token of the
query is one of the name's tokens: "lopez", "LÓPEZ" and "maria lopez" all find "María López"; prefixes
("lop") do not, by design (a prefix index would leak far more about the names to whoever reads the
database).

This module imports no model (``portal.directory.models`` imports it to re-index on key rotation).
"""

from __future__ import annotations

import re
import unicodedata

from portal.crypto import blind_index


def normalise_name(text: str) -> str:
    """Casefolded, accents stripped, punctuation as spaces, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return " ".join(re.split(r"[\W_]+", bare)).strip()


def name_tokens(text: str) -> list[str]:
    """The distinct words of the normalised name, sorted."""
    return sorted(set(normalise_name(text).split()))


def name_index(text: str) -> str:
    """The blind index of the whole normalised name."""
    return blind_index(normalise_name(text), scope="directory.name")


def token_index(token: str) -> str:
    """The blind index of one word of a normalised name."""
    return blind_index(token, scope="directory.name_token")


def token_indexes(text: str) -> list[str]:
    """The blind index of every word of the name, in the order of ``name_tokens``."""
    return [token_index(token) for token in name_tokens(text)]
