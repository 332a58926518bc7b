"""directory: network directory entries (encrypted personal data, name blind indexes), network
memberships, direct network participations (pins) and staleness reminders

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

The name, e-mail and phones columns are plain TEXT holding ciphertext (``portal.crypto.EncryptedText``).
``directory_name_tokens`` holds one blind index per token of each entry's normalised name.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('directory_reminders',
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('stale_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_directory_reminders_party_id_parties')),
    sa.PrimaryKeyConstraint('party_id', 'sent_on', name=op.f('pk_directory_reminders'))
    )
    op.create_table('directory_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('name_index', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('institution', sa.String(length=200), nullable=False),
    sa.Column('institution_key', sa.String(length=200), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('phones', sa.Text(), nullable=True),
    sa.Column('phones_restricted', sa.Boolean(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('last_verified_on', sa.Date(), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_directory_entries_party_id_parties')),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_directory_entries_verified_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_entries'))
    )
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_directory_entries_institution_key'), ['institution_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_directory_entries_last_verified_on'), ['last_verified_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_directory_entries_name_index'), ['name_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_directory_entries_party_id'), ['party_id'], unique=False)

    op.create_table('network_party_pins',
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_network_party_pins_added_by_id_users')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_network_party_pins_network_id_networks')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_network_party_pins_party_id_parties')),
    sa.PrimaryKeyConstraint('network_id', 'party_id', name=op.f('pk_network_party_pins'))
    )
    op.create_table('directory_name_tokens',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('token_index', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['directory_entries.id'], name=op.f('fk_directory_name_tokens_entry_id_directory_entries')),
    sa.PrimaryKeyConstraint('entry_id', 'token_index', name=op.f('pk_directory_name_tokens'))
    )
    with op.batch_alter_table('directory_name_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_directory_name_tokens_token_index', ['token_index'], unique=False)

    op.create_table('network_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['directory_entries.id'], name=op.f('fk_network_memberships_entry_id_directory_entries')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_network_memberships_network_id_networks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_memberships')),
    sa.UniqueConstraint('entry_id', 'network_id', name='uq_network_memberships_entry_network')
    )
    with op.batch_alter_table('network_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_memberships_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_network_memberships_network_id'), ['network_id'], unique=False)


def downgrade():
    with op.batch_alter_table('network_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_network_memberships_network_id'))
        batch_op.drop_index(batch_op.f('ix_network_memberships_entry_id'))

    op.drop_table('network_memberships')
    with op.batch_alter_table('directory_name_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_name_tokens_token_index')

    op.drop_table('directory_name_tokens')
    op.drop_table('network_party_pins')
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_directory_entries_party_id'))
        batch_op.drop_index(batch_op.f('ix_directory_entries_name_index'))
        batch_op.drop_index(batch_op.f('ix_directory_entries_last_verified_on'))
        batch_op.drop_index(batch_op.f('ix_directory_entries_institution_key'))

    op.drop_table('directory_entries')
    op.drop_table('directory_reminders')
