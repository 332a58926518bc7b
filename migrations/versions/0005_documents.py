"""documents: attachments on alerts, the document library (folders, documents, versions)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

File contents live in the blob store, encrypted; rows keep the blob id, the wrapped data key, its key id,
the plaintext size and SHA-256. Display names, captions, titles, descriptions and notes are plain TEXT
holding ciphertext (``portal.crypto.EncryptedText``). Two topic folders are seeded from the plans of
action: the IOM manual on detecting fraudulent documents (objective MPM-2, activity 2.2.1) and the
bi-annual comparative matrix of migration legislation (MPM-1, activity 1.2.1).
"""
import sqlalchemy as sa
from alembic import op

SEED_FOLDERS = [
    {"id": 1, "code": "fraud-detection-manual", "name_en": "Manual on detecting fraudulent documents",
     "name_es": "Manual de detección de documentos fraudulentos", "objective": "MPM-2", "position": 1},
    {"id": 2, "code": "legislation-matrix", "name_en": "Comparative matrix of migration legislation",
     "name_es": "Matriz comparativa de legislación migratoria", "objective": "MPM-1", "position": 2},
]


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('library_folders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_es', sa.String(length=200), nullable=False),
    sa.Column('objective', sa.String(length=32), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_folders')),
    sa.UniqueConstraint('code', name=op.f('uq_library_folders_code'))
    )
    folders = sa.table('library_folders', sa.column('id', sa.Integer), sa.column('code', sa.String),
                       sa.column('name_en', sa.String), sa.column('name_es', sa.String),
                       sa.column('objective', sa.String), sa.column('position', sa.Integer))
    op.bulk_insert(folders, SEED_FOLDERS)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval('library_folders_id_seq', (SELECT max(id) FROM library_folders))")
    op.create_table('library_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('folder_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('objectives', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('owner_party_id', sa.Integer(), nullable=False),
    sa.Column('distribution_level', sa.String(length=16), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=True),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_library_documents_created_by_id_users')),
    sa.ForeignKeyConstraint(['folder_id'], ['library_folders.id'], name=op.f('fk_library_documents_folder_id_library_folders')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_library_documents_network_id_networks')),
    sa.ForeignKeyConstraint(['owner_party_id'], ['parties.id'], name=op.f('fk_library_documents_owner_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_documents'))
    )
    with op.batch_alter_table('library_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_library_documents_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_library_documents_folder_id'), ['folder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_library_documents_owner_party_id'), ['owner_party_id'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('light', sa.String(length=16), nullable=False),
    sa.Column('is_genuine_reference', sa.Boolean(), nullable=False),
    sa.Column('caption', sa.Text(), nullable=True),
    sa.Column('file_uid', sa.String(length=32), nullable=False),
    sa.Column('blob_id', sa.String(length=32), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=False),
    sa.Column('thumb_blob_id', sa.String(length=32), nullable=True),
    sa.Column('thumb_wrapped_key', sa.LargeBinary(), nullable=True),
    sa.Column('thumb_key_id', sa.String(length=64), nullable=True),
    sa.Column('thumb_size', sa.Integer(), nullable=True),
    sa.Column('thumb_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_attachments_alert_id_alerts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_attachments_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('blob_id', name=op.f('uq_attachments_blob_id')),
    sa.UniqueConstraint('file_uid', name=op.f('uq_attachments_file_uid')),
    sa.UniqueConstraint('thumb_blob_id', name=op.f('uq_attachments_thumb_blob_id'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_key_id'), ['key_id'], unique=False)

    op.create_table('library_document_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('file_uid', sa.String(length=32), nullable=False),
    sa.Column('blob_id', sa.String(length=32), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=False),
    sa.Column('thumb_blob_id', sa.String(length=32), nullable=True),
    sa.Column('thumb_wrapped_key', sa.LargeBinary(), nullable=True),
    sa.Column('thumb_key_id', sa.String(length=64), nullable=True),
    sa.Column('thumb_size', sa.Integer(), nullable=True),
    sa.Column('thumb_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_library_document_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['document_id'], ['library_documents.id'], name=op.f('fk_library_document_versions_document_id_library_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_document_versions')),
    sa.UniqueConstraint('blob_id', name=op.f('uq_library_document_versions_blob_id')),
    sa.UniqueConstraint('document_id', 'number', name='uq_library_document_versions_document_id_number'),
    sa.UniqueConstraint('file_uid', name=op.f('uq_library_document_versions_file_uid')),
    sa.UniqueConstraint('thumb_blob_id', name=op.f('uq_library_document_versions_thumb_blob_id'))
    )
    with op.batch_alter_table('library_document_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_library_document_versions_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_library_document_versions_key_id'), ['key_id'], unique=False)



def downgrade():
    with op.batch_alter_table('library_document_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_library_document_versions_key_id'))
        batch_op.drop_index(batch_op.f('ix_library_document_versions_document_id'))

    op.drop_table('library_document_versions')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_key_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_alert_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('library_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_library_documents_owner_party_id'))
        batch_op.drop_index(batch_op.f('ix_library_documents_folder_id'))
        batch_op.drop_index(batch_op.f('ix_library_documents_created_at'))

    op.drop_table('library_documents')
    op.drop_table('library_folders')
