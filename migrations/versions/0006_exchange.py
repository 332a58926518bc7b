"""exchange: intelligence-exchange submissions, their networks, related alerts, acknowledgements,
reply threads (shareable, listed in distribution_recipients), forwards and per-user read marks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

Title, summary, body, handling restrictions and reply bodies are plain TEXT holding ciphertext
(``portal.crypto.EncryptedText``). This revision branches from 0004 beside 0005 (documents); the suite
upgrades to "heads", and the two are linearised later.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('source_reliability', sa.String(length=1), nullable=False),
    sa.Column('information_accuracy', sa.String(length=1), nullable=False),
    sa.Column('handling_code', sa.String(length=16), nullable=False),
    sa.Column('handling_restrictions', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('objectives', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('owner_party_id', sa.Integer(), nullable=False),
    sa.Column('distribution_level', sa.String(length=16), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=True),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_submissions_closed_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_submissions_created_by_id_users')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_submissions_network_id_networks')),
    sa.ForeignKeyConstraint(['owner_party_id'], ['parties.id'], name=op.f('fk_submissions_owner_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions'))
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submissions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_submissions_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_submissions_owner_party_id'), ['owner_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submissions_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_submissions_status'), ['status'], unique=False)

    op.create_table('submission_acknowledgements',
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_submission_acknowledgements_party_id_parties')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_submission_acknowledgements_submission_id_submissions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_submission_acknowledgements_user_id_users')),
    sa.PrimaryKeyConstraint('submission_id', 'party_id', name=op.f('pk_submission_acknowledgements'))
    )
    op.create_table('submission_alerts',
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_submission_alerts_alert_id_alerts')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_submission_alerts_submission_id_submissions')),
    sa.PrimaryKeyConstraint('submission_id', 'alert_id', name=op.f('pk_submission_alerts'))
    )
    op.create_table('submission_forwards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('from_party_id', sa.Integer(), nullable=False),
    sa.Column('to_party_id', sa.Integer(), nullable=False),
    sa.Column('forwarded_by_id', sa.Integer(), nullable=False),
    sa.Column('forwarded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['forwarded_by_id'], ['users.id'], name=op.f('fk_submission_forwards_forwarded_by_id_users')),
    sa.ForeignKeyConstraint(['from_party_id'], ['parties.id'], name=op.f('fk_submission_forwards_from_party_id_parties')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_submission_forwards_submission_id_submissions')),
    sa.ForeignKeyConstraint(['to_party_id'], ['parties.id'], name=op.f('fk_submission_forwards_to_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_forwards'))
    )
    with op.batch_alter_table('submission_forwards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_forwards_submission_id'), ['submission_id'], unique=False)

    op.create_table('submission_networks',
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_submission_networks_network_id_networks')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_submission_networks_submission_id_submissions')),
    sa.PrimaryKeyConstraint('submission_id', 'network_id', name=op.f('pk_submission_networks'))
    )
    op.create_table('submission_reads',
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_submission_reads_submission_id_submissions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_submission_reads_user_id_users')),
    sa.PrimaryKeyConstraint('submission_id', 'user_id', name=op.f('pk_submission_reads'))
    )
    op.create_table('submission_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('owner_party_id', sa.Integer(), nullable=False),
    sa.Column('distribution_level', sa.String(length=16), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=True),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_submission_replies_created_by_id_users')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_submission_replies_network_id_networks')),
    sa.ForeignKeyConstraint(['owner_party_id'], ['parties.id'], name=op.f('fk_submission_replies_owner_party_id_parties')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_submission_replies_submission_id_submissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_replies'))
    )
    with op.batch_alter_table('submission_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_replies_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_replies_owner_party_id'), ['owner_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_replies_submission_id'), ['submission_id'], unique=False)


def downgrade():
    with op.batch_alter_table('submission_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_replies_submission_id'))
        batch_op.drop_index(batch_op.f('ix_submission_replies_owner_party_id'))
        batch_op.drop_index(batch_op.f('ix_submission_replies_created_at'))

    op.drop_table('submission_replies')
    op.drop_table('submission_reads')
    op.drop_table('submission_networks')
    with op.batch_alter_table('submission_forwards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_forwards_submission_id'))

    op.drop_table('submission_forwards')
    op.drop_table('submission_alerts')
    op.drop_table('submission_acknowledgements')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submissions_status'))
        batch_op.drop_index(batch_op.f('ix_submissions_sent_at'))
        batch_op.drop_index(batch_op.f('ix_submissions_owner_party_id'))
        batch_op.drop_index(batch_op.f('ix_submissions_kind'))
        batch_op.drop_index(batch_op.f('ix_submissions_created_at'))

    op.drop_table('submissions')
