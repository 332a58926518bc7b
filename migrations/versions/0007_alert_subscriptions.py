"""alert subscriptions: standing interests by issuing state, category and fraud type, and the events
waiting for each user's daily digest

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issuing_state', sa.String(length=3), nullable=True),
    sa.Column('document_category', sa.String(length=32), nullable=True),
    sa.Column('fraud_type', sa.String(length=32), nullable=True),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_subscriptions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_subscriptions'))
    )
    with op.batch_alter_table('alert_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_subscriptions_issuing_state'), ['issuing_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_subscriptions_user_id'), ['user_id'], unique=False)

    op.create_table('alert_digest_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('digest_run', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_digest_items_alert_id_alerts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_digest_items_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_digest_items'))
    )
    with op.batch_alter_table('alert_digest_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_digest_items_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_digest_items_digest_run'), ['digest_run'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_digest_items_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_digest_items_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('alert_digest_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_digest_items_user_id'))
        batch_op.drop_index(batch_op.f('ix_alert_digest_items_sent_at'))
        batch_op.drop_index(batch_op.f('ix_alert_digest_items_digest_run'))
        batch_op.drop_index(batch_op.f('ix_alert_digest_items_alert_id'))
    op.drop_table('alert_digest_items')
    with op.batch_alter_table('alert_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_subscriptions_user_id'))
        batch_op.drop_index(batch_op.f('ix_alert_subscriptions_issuing_state'))
    op.drop_table('alert_subscriptions')
