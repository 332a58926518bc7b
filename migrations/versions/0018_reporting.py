"""reporting: templates (versioned, their table as JSON), cycles, the parties' returns (shareable), their
submitted versions and the reminders sent

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

The three seeded templates are loaded by ``flask setup`` (``portal.reporting.catalogue``), not here.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reporting_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('title_es', sa.String(length=200), nullable=False),
    sa.Column('objective', sa.String(length=32), nullable=False),
    sa.Column('period_kind', sa.String(length=16), nullable=False),
    sa.Column('layout', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reporting_templates')),
    sa.UniqueConstraint('code', 'version', name='uq_reporting_templates_code_version')
    )
    with op.batch_alter_table('reporting_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporting_templates_code'), ['code'], unique=False)

    op.create_table('reporting_cycles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('template_code', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_reporting_cycles_opened_by_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['reporting_templates.id'], name=op.f('fk_reporting_cycles_template_id_reporting_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reporting_cycles')),
    sa.UniqueConstraint('template_code', 'period', name='uq_reporting_cycles_template_code_period')
    )
    with op.batch_alter_table('reporting_cycles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporting_cycles_template_id'), ['template_id'], unique=False)

    op.create_table('reporting_returns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('draft_rows', sa.JSON(), nullable=False),
    sa.Column('submitted_version', sa.Integer(), nullable=False),
    sa.Column('saved_at', sa.DateTime(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('owner_party_id', sa.Integer(), nullable=False),
    sa.Column('distribution_level', sa.String(length=16), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=True),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['reporting_cycles.id'], name=op.f('fk_reporting_returns_cycle_id_reporting_cycles')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_reporting_returns_network_id_networks')),
    sa.ForeignKeyConstraint(['owner_party_id'], ['parties.id'], name=op.f('fk_reporting_returns_owner_party_id_parties')),
    sa.ForeignKeyConstraint(['template_id'], ['reporting_templates.id'], name=op.f('fk_reporting_returns_template_id_reporting_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reporting_returns')),
    sa.UniqueConstraint('cycle_id', 'owner_party_id', name='uq_reporting_returns_cycle_id_owner')
    )
    with op.batch_alter_table('reporting_returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporting_returns_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reporting_returns_owner_party_id'), ['owner_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reporting_returns_status'), ['status'], unique=False)

    op.create_table('reporting_reminders',
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['return_id'], ['reporting_returns.id'], name=op.f('fk_reporting_reminders_return_id_reporting_returns')),
    sa.PrimaryKeyConstraint('return_id', 'kind', name=op.f('pk_reporting_reminders'))
    )
    op.create_table('reporting_return_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['return_id'], ['reporting_returns.id'], name=op.f('fk_reporting_return_versions_return_id_reporting_returns')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_reporting_return_versions_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reporting_return_versions')),
    sa.UniqueConstraint('return_id', 'number', name='uq_reporting_return_versions_return_number')
    )
    with op.batch_alter_table('reporting_return_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporting_return_versions_return_id'), ['return_id'], unique=False)



def downgrade():
    for table in ("reporting_return_versions", "reporting_reminders", "reporting_returns", "reporting_cycles",
                  "reporting_templates"):
        op.drop_table(table)
