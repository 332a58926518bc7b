"""audit: the request id of the request that wrote an entry (chained and queued entries)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02

The structured request log (``portal.observability``) carries the same id, so an operator can go from a
log line to the audit entries of that request and back. The id is random, carries nothing personal, and
is part of the hashed entry when present (entries from before this revision have none and hash as before).
Plain ``ADD COLUMN`` (no batch copy) keeps SQLite's append-only triggers on both tables.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("audit_entries", sa.Column("request_id", sa.String(length=32), nullable=True))
    op.add_column("audit_queue", sa.Column("request_id", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_queue") as batch:
        batch.drop_column("request_id")
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_column("request_id")
