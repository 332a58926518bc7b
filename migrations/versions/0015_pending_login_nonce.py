"""users: the pending second-factor nonce and the last deactivated-account sign-in notice

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

The password step used to leave only the user id and the time in the (signed, client-side) session
cookie, so a copy of that cookie, replayed after the login completed with a fresh TOTP code, opened a
second session. The step now also stores a random nonce there and its digest on the account; the second
factor needs both, once. ``sign_in_notice_at`` rate-limits the mail telling the owner of a deactivated
account that someone signed in with its password (the page no longer says "deactivated").
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("pending_login_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("sign_in_notice_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("sign_in_notice_at")
        batch.drop_column("pending_login_digest")
