"""submission attachments: encrypted files on intelligence-exchange submissions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

Like ``attachments`` (0005): the file lives in the blob store, encrypted; the row keeps the blob id, the
wrapped data key and its key id, the plaintext size and SHA-256. The display name and the caption are plain
TEXT holding ciphertext (``portal.crypto.EncryptedText``).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submission_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
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
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_submission_attachments_created_by_id_users')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_submission_attachments_submission_id_submissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_attachments')),
    sa.UniqueConstraint('blob_id', name=op.f('uq_submission_attachments_blob_id')),
    sa.UniqueConstraint('file_uid', name=op.f('uq_submission_attachments_file_uid')),
    sa.UniqueConstraint('thumb_blob_id', name=op.f('uq_submission_attachments_thumb_blob_id'))
    )
    with op.batch_alter_table('submission_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_attachments_key_id'), ['key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_attachments_submission_id'), ['submission_id'], unique=False)


def downgrade():
    with op.batch_alter_table('submission_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_attachments_submission_id'))
        batch_op.drop_index(batch_op.f('ix_submission_attachments_key_id'))

    op.drop_table('submission_attachments')
