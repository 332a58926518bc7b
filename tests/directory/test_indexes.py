"""Blind indexes of directory names: normalisation, tokens, and the scopes kept apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from portal.directory import indexes


@pytest.mark.parametrize("text, normalised", [
    ("María López", "maria lopez"),
    ("  MARÍA   lópez ", "maria lopez"),
    ("López, María", "lopez maria"),
    ("Jean-Pierre N'Diaye", "jean pierre n diaye"),
    ("Ñandú_Ø", "nandu ø"),
    ("", ""),
])
def test_names_are_normalised_without_accents_case_or_punctuation(text, normalised):
    assert indexes.normalise_name(text) == normalised


def test_tokens_are_the_distinct_words_sorted():
    assert indexes.name_tokens("López María lopez") == ["lopez", "maria"]
    assert indexes.token_indexes("López María") == [indexes.token_index("lopez"), indexes.token_index("maria")]


def test_indexes_are_keyed_hashes_under_their_own_scopes(app_ctx):
    whole = indexes.name_index("María")
    assert whole == indexes.name_index("MARIA") and len(whole) == 64 and "maria" not in whole
    assert whole != indexes.token_index("maria")  # a name index never equals a token index of the same text


def test_the_index_module_imports_no_model():
    """``portal.directory.models`` imports this module (re-indexing on key rotation): it must not import back."""
    tree = ast.parse(Path(indexes.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name and name.startswith("portal.directory")}
