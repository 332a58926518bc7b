"""hit confirmations and the parties' response times

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

A party with a hit asks the reporting party to confirm it (``hit_confirmations``: the document number, the
place and the notes encrypted); each party sets how many minutes it gives itself to answer
(``party_response_times``, 60 by default when it has no row).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "hit_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("requester_party_id", sa.Integer(), nullable=False),
        sa.Column("reporting_party_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("document_number", sa.Text(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("response_minutes", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answer_note", sa.Text(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_hit_confirmations_alert_id_alerts")),
        sa.ForeignKeyConstraint(["requester_party_id"], ["parties.id"],
                                name=op.f("fk_hit_confirmations_requester_party_id_parties")),
        sa.ForeignKeyConstraint(["reporting_party_id"], ["parties.id"],
                                name=op.f("fk_hit_confirmations_reporting_party_id_parties")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_hit_confirmations_requested_by_id_users")),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"],
                                name=op.f("fk_hit_confirmations_answered_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hit_confirmations")),
    )
    with op.batch_alter_table("hit_confirmations") as batch:
        for column in ("alert_id", "requester_party_id", "reporting_party_id", "status", "due_at"):
            batch.create_index(batch.f(f"ix_hit_confirmations_{column}"), [column], unique=False)
    op.create_table(
        "party_response_times",
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name=op.f("fk_party_response_times_party_id_parties")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name=op.f("fk_party_response_times_updated_by_id_users")),
        sa.PrimaryKeyConstraint("party_id", name=op.f("pk_party_response_times")),
    )


def downgrade():
    op.drop_table("party_response_times")
    with op.batch_alter_table("hit_confirmations") as batch:
        for column in ("due_at", "status", "reporting_party_id", "requester_party_id", "alert_id"):
            batch.drop_index(batch.f(f"ix_hit_confirmations_{column}"))
    op.drop_table("hit_confirmations")
