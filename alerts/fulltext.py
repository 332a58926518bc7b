"""Full-text search over the alerts' narrative fields: one interface, one implementation per engine.

``matching(text)`` returns a SQL condition on ``Alert`` for "every word of ``text`` occurs in the
description, the modus operandi or the detection tips" (words are compared without case or accents; the
last word also matches as a prefix, so "photo subst" finds "photo substitution"). The storage behind it
is created by migration 0003: an FTS5 table on SQLite, a generated ``tsvector`` with a GIN index on
PostgreSQL. Nothing else in the code knows which engine it is talking to.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import Integer, column, false, literal_column, text

from portal.extensions import db

_WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 12


def words(query: str) -> list[str]:
    """The searchable words of ``query``: lower case, accents removed, at most ``MAX_WORDS``."""
    decomposed = unicodedata.normalize("NFKD", query.lower())
    folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _WORD.findall(folded)[:MAX_WORDS]


class SqliteFts5:
    """``alerts_fts`` (external content over ``alerts``, kept in sync by triggers)."""

    def matching(self, terms: list[str]):
        from alerts.models import Alert

        # Each word quoted (FTS5 syntax characters cannot leak in); a space between phrases means AND.
        expression = " ".join(f'"{term}"' for term in terms[:-1]) + f' "{terms[-1]}"*'
        rows = text("SELECT rowid FROM alerts_fts WHERE alerts_fts MATCH :fts_query").bindparams(
            fts_query=expression.strip()
        ).columns(column("rowid", Integer))
        return Alert.id.in_(rows)


class PostgresTsvector:
    """The generated ``alerts.search_vector`` column (``simple`` configuration, accent-folded)."""

    def matching(self, terms: list[str]):
        # Letters and digits only: no tsquery operator can leak in; the last one matches as a prefix.
        expression = " & ".join(terms[:-1] + [f"{terms[-1]}:*"])
        return literal_column("alerts.search_vector").op("@@")(
            text("to_tsquery('simple'::regconfig, :ts_query)").bindparams(ts_query=expression)
        )


_ENGINES = {"sqlite": SqliteFts5(), "postgresql": PostgresTsvector()}


def engine():
    """The implementation for the database in use."""
    return _ENGINES[db.session.get_bind().dialect.name]


def matching(query: str):
    """SQL condition on ``Alert``: the narrative fields contain every word of ``query``."""
    terms = words(query)
    if not terms:
        return false()
    return engine().matching(terms)
