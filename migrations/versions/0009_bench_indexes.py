"""alerts full-text: an ASCII fast path in alerts_fold (same results, far cheaper on every alert write)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23

Found by ``bench/alerts_bench.py``: on PostgreSQL every insert or narrative update of an alert computes
the generated ``search_vector``, and ``alerts_fold`` (``translate`` over 48 accented characters, compared
one by one per character of the narrative) was the largest part of it: ~180 us of a ~300 us row write for a
250-character narrative. A narrative that is plain ASCII has nothing to fold, so the function now returns
``lower(value)`` for it (``octet_length = char_length`` holds exactly for ASCII in UTF-8) and only
translates the others. The results are identical for every input, so the stored vectors stay valid and no
row is rewritten. SQLite (FTS5 with ``remove_diacritics``) is unchanged.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_ACCENTED = "ÁÀÂÄÃÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇáàâäãéèêëíìîïóòôöõúùûüñç"
_FOLDED = "AAAAAEEEEIIIIOOOOOUUUUNCaaaaaeeeeiiiiooooouuuunc"
_TRANSLATE = f"translate(lower(value), '{_ACCENTED}', '{_FOLDED}')"


def _replace(body: str) -> None:
    op.execute(
        "CREATE OR REPLACE FUNCTION alerts_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
        f"$$ SELECT {body} $$"
    )


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _replace(f"CASE WHEN octet_length(value) = char_length(value) THEN lower(value) ELSE {_TRANSLATE} END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _replace(_TRANSLATE)
