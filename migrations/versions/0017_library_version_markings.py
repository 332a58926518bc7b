"""library_document_versions: the marking each version was published under

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

A library document's marking (distribution level, TLP, listed parties, network) can change when a new
version is uploaded; each version keeps the marking it was published under, so that an earlier version
is seen only by whoever could see the document under that version's marking as well as the current one
(issue 11, section 1). Existing versions take their document's current marking: the only one known.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_TABLE = 'library_document_versions'


def upgrade():
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        batch_op.add_column(sa.Column('distribution_level', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('tlp', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('network_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('party_ids', sa.JSON(), nullable=True))
    connection = op.get_bind()
    documents = sa.table('library_documents', sa.column('id', sa.Integer), sa.column('tlp', sa.String),
                         sa.column('distribution_level', sa.String), sa.column('network_id', sa.Integer))
    recipients = sa.table('distribution_recipients', sa.column('record_type', sa.String),
                          sa.column('record_id', sa.Integer), sa.column('party_id', sa.Integer))
    versions = sa.table(_TABLE, sa.column('document_id', sa.Integer), sa.column('tlp', sa.String),
                        sa.column('distribution_level', sa.String), sa.column('network_id', sa.Integer),
                        sa.column('party_ids', sa.JSON))
    listed: dict[int, list[int]] = {}
    for record_id, party_id in connection.execute(
            sa.select(recipients.c.record_id, recipients.c.party_id)
            .where(recipients.c.record_type == 'library_documents')
            .order_by(recipients.c.record_id, recipients.c.party_id)):
        listed.setdefault(record_id, []).append(party_id)
    for document_id, tlp, level, network_id in connection.execute(
            sa.select(documents.c.id, documents.c.tlp, documents.c.distribution_level, documents.c.network_id)):
        connection.execute(versions.update().where(versions.c.document_id == document_id).values(
            tlp=tlp, distribution_level=level, network_id=network_id if level == 'network' else None,
            party_ids=listed.get(document_id, []) if level in ('parties', 'network') else []))
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        batch_op.alter_column('distribution_level', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('tlp', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('party_ids', existing_type=sa.JSON(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_library_document_versions_network_id_networks'), 'networks',
                                    ['network_id'], ['id'])


def downgrade():
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_library_document_versions_network_id_networks'),
                                 type_='foreignkey')
        batch_op.drop_column('party_ids')
        batch_op.drop_column('network_id')
        batch_op.drop_column('tlp')
        batch_op.drop_column('distribution_level')
