"""audit queue: entries of requests that found the chain busy wait here (HMAC'd) until chained

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23

Before this, every committing request took the chain lock and held it through its COMMIT (WAL flush), so
appends - and with them every audited request - ran one at a time: found by ``bench/alerts_bench.py``
(10 of 14 sessions waiting on the lock during the check run). Now a request that cannot take the lock at
once queues its entries here and commits without waiting; the queue is chained right after. Rows are
inserted and deleted (when chained), never updated: triggers refuse UPDATE (and TRUNCATE on PostgreSQL).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_queue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('actor_user_id', sa.Integer(), nullable=True),
        sa.Column('actor_party', sa.String(length=8), nullable=True),
        sa.Column('actor_role', sa.String(length=32), nullable=True),
        sa.Column('actor_token_id', sa.Integer(), nullable=True),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('object_type', sa.String(length=64), nullable=True),
        sa.Column('object_id', sa.String(length=64), nullable=True),
        sa.Column('object_party', sa.String(length=8), nullable=True),
        sa.Column('outcome', sa.String(length=8), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
        sa.Column('objectives', sa.Text(), nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=False),
        sa.Column('entry_mac', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_queue')),
    )
    if op.get_bind().dialect.name == "postgresql":
        # audit_append_only() (0002) raises whatever the operation; reused for the refused ones.
        op.execute("CREATE TRIGGER audit_queue_no_update BEFORE UPDATE ON audit_queue "
                   "FOR EACH ROW EXECUTE FUNCTION audit_append_only()")
        op.execute("CREATE TRIGGER audit_queue_no_truncate BEFORE TRUNCATE ON audit_queue "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()")
    else:
        op.execute("CREATE TRIGGER audit_queue_no_update BEFORE UPDATE ON audit_queue "
                   "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_queue_no_update ON audit_queue")
        op.execute("DROP TRIGGER audit_queue_no_truncate ON audit_queue")
    else:
        op.execute("DROP TRIGGER audit_queue_no_update")
    op.drop_table('audit_queue')
