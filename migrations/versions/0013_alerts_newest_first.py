"""alerts: an index in the search pages' default order (detection date newest first, then id)

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-23

Found by ``bench/alerts_bench.py`` at 1,000,000 alerts: a full-text search for two common words matched
tens of thousands of alerts, and the page query read and sorted every one of them to show the newest 20
(845 ms). The ``detection_date`` index can't serve ``DESC NULLS LAST`` (its backward scan gives NULLS
FIRST); with this one the planner walks the newest alerts and stops after a page when matches are dense,
and keeps the GIN bitmap for rare words (the slowest of 20 searches: 64 ms).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite sorts NULL lowest, so its DESC is already NULLS LAST (and it refuses the words in an index).
    nulls_last = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    op.create_index("ix_alerts_newest_first", "alerts",
                    [sa.text(f"detection_date DESC{nulls_last}"), sa.text("id DESC")], unique=False)


def downgrade():
    op.drop_index("ix_alerts_newest_first", table_name="alerts")
