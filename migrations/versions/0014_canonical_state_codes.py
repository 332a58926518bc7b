"""alerts: Germany's Doc 9303 code D stored as DEU (one code per state, so both find the same alerts)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23

An alert filled from a German MRZ stored ``D`` and one typed by hand ``DEU``; a border check for either
missed the other (the exact-number index is scoped by the state). The portal now stores, indexes and looks
up every code in its canonical form (``alerts.mrz.canonical_state``). This renames the plain columns; the
blind indexes of rows renamed here were computed under ``D`` and need the keys to recompute, which a
migration does not hold: ``flask --app portal keys rotate --index --resume`` does it (README, key
rotation). Revision snapshots keep what was recorded at the time.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_RENAMED = (("alerts", "issuing_state"), ("alerts", "bearer_nationality"), ("alert_subscriptions", "issuing_state"))


def upgrade():
    for table, column in _RENAMED:
        op.execute(f"UPDATE {table} SET {column} = 'DEU' WHERE {column} = 'D'")


def downgrade():
    pass  # which rows said D before is not recorded; DEU names the same state
