"""documents: drop the plaintext SHA-256 columns of stored files (sha256, thumb_sha256)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23

Found by ``bench/documents_throughput.py`` (issue 4, section 5): hashing the plaintext cost more than
encrypting it, and the digest added no integrity. Every 64 KiB STREAM segment of a blob is authenticated by
its GCM tag under the file's own data key, with its counter and last-segment flag in the nonce and the
file's id in the associated data, so a blob that decrypts to the end is exactly the bytes stored for that
row; ``keys verify`` now checks exactly that, plus the recorded size. The backup manifest's hashes (over the
ciphertext files of a backup) are unaffected.

Downgrade puts the columns back as nullable and empty: the digests are not recomputed (that would need the
key ring and every blob). The code of revision 0009 skips a NULL digest in ``keys verify`` but would send
``null`` where its API promised a hex string.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_TABLES = ('attachments', 'library_document_versions', 'submission_attachments')


def upgrade():
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('thumb_sha256')
            batch_op.drop_column('sha256')


def downgrade():
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column('thumb_sha256', sa.String(length=64), nullable=True))
