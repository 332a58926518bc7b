"""distribution_recipients: the network a recipient was reached through (frozen network audiences)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

A distribution to a network used to be resolved at every read to the network's members *now*, so a party
added to a network later read everything ever sent to it (a RED alert included). A network distribution
is now resolved when the record is sent: one ``distribution_recipients`` row per member party then (and
one for the owner party, which marks the audience as taken), each with ``via_network_id``; a party reached
through a network sees the record only while it is still a member. Listed recipients that a submission
reached through a network carry it too.

Backfill, from today's membership (the best knowledge there is of who received what): every record of
every shareable table distributed to a network gets the network's active member and secretariat parties
and its owner; a submission's recipients that are members of a network it was addressed to count as
reached through that network (the first by id), so they lose it on leaving the network - the sender can
forward it again by name.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

RECIPIENT_KINDS = ("member", "secretariat")


def _network_tables(bind) -> list[str]:
    inspector = sa.inspect(bind)
    return sorted(name for name in inspector.get_table_names()
                  if {"distribution_level", "network_id", "owner_party_id"}
                  <= {column["name"] for column in inspector.get_columns(name)})


def upgrade():
    with op.batch_alter_table("distribution_recipients") as batch:
        batch.add_column(sa.Column("via_network_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_distribution_recipients_via_network_id_networks"), "networks",
                                 ["via_network_id"], ["id"])
    bind = op.get_bind()
    kinds = ", ".join(f"'{kind}'" for kind in RECIPIENT_KINDS)
    for table in _network_tables(bind):
        bind.execute(sa.text(
            f"DELETE FROM distribution_recipients WHERE record_type = :table AND record_id IN "
            f"(SELECT id FROM {table} WHERE distribution_level = 'network')"), {"table": table})
        bind.execute(sa.text(
            f"INSERT INTO distribution_recipients (record_type, record_id, party_id, via_network_id) "
            f"SELECT :table, r.id, np.party_id, r.network_id FROM {table} r "
            f"JOIN network_parties np ON np.network_id = r.network_id "
            f"JOIN parties p ON p.id = np.party_id "
            f"WHERE r.distribution_level = 'network' AND np.party_id <> r.owner_party_id "
            f"AND p.active = :active AND p.kind IN ({kinds})"), {"table": table, "active": True})
        bind.execute(sa.text(
            f"INSERT INTO distribution_recipients (record_type, record_id, party_id, via_network_id) "
            f"SELECT :table, r.id, r.owner_party_id, r.network_id FROM {table} r "
            f"WHERE r.distribution_level = 'network' AND r.network_id IS NOT NULL"), {"table": table})
    if "submission_networks" in sa.inspect(bind).get_table_names():
        bind.execute(sa.text(
            "UPDATE distribution_recipients SET via_network_id = ("
            " SELECT MIN(sn.network_id) FROM submission_networks sn JOIN network_parties np"
            " ON np.network_id = sn.network_id AND np.party_id = distribution_recipients.party_id"
            " WHERE sn.submission_id = distribution_recipients.record_id)"
            " WHERE record_type = 'submissions' AND via_network_id IS NULL"))


def downgrade():
    bind = op.get_bind()
    for table in _network_tables(bind):
        bind.execute(sa.text(
            f"DELETE FROM distribution_recipients WHERE record_type = :table AND record_id IN "
            f"(SELECT id FROM {table} WHERE distribution_level = 'network')"), {"table": table})
    with op.batch_alter_table("distribution_recipients") as batch:
        batch.drop_constraint(batch.f("fk_distribution_recipients_via_network_id_networks"), type_="foreignkey")
        batch.drop_column("via_network_id")
