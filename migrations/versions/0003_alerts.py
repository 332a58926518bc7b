"""alerts: fraudulent document alerts, revisions, acknowledgements, reference counters, full-text search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Encrypted columns (document number, range bounds, MRZ, holder data, revision snapshots) are plain TEXT
holding ciphertext. Full-text search over the narrative fields (description, modus operandi, detection
tips) differs by engine, behind ``alerts.fulltext``:

- PostgreSQL: a stored generated ``search_vector`` (the ``simple`` configuration, no stemming, since
  alerts are written in English, Spanish and French alike) over an accent-folded copy of the text, with a
  GIN index;
- SQLite: an external-content FTS5 table ``alerts_fts`` (unicode61, diacritics removed) kept in sync by
  triggers, so every write path (operations, imports, the ORM or plain SQL) keeps it current.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_reference_counters',
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_alert_reference_counters_party_id_parties')),
    sa.PrimaryKeyConstraint('party_id', 'year', name=op.f('pk_alert_reference_counters'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=24), nullable=False),
    sa.Column('reference_year', sa.Integer(), nullable=False),
    sa.Column('reference_seq', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('expired_at', sa.DateTime(), nullable=True),
    sa.Column('review_date', sa.Date(), nullable=False),
    sa.Column('detecting_unit', sa.String(length=200), nullable=True),
    sa.Column('detection_place_kind', sa.String(length=16), nullable=True),
    sa.Column('detection_place', sa.String(length=200), nullable=True),
    sa.Column('detection_date', sa.Date(), nullable=True),
    sa.Column('route', sa.JSON(), nullable=False),
    sa.Column('bearer_nationality', sa.String(length=3), nullable=True),
    sa.Column('document_category', sa.String(length=32), nullable=False),
    sa.Column('document_type', sa.String(length=16), nullable=True),
    sa.Column('issuing_state', sa.String(length=3), nullable=False),
    sa.Column('series', sa.String(length=64), nullable=True),
    sa.Column('document_number', sa.Text(), nullable=True),
    sa.Column('number_index', sa.String(length=64), nullable=True),
    sa.Column('number_any_index', sa.String(length=64), nullable=True),
    sa.Column('skeleton_index', sa.String(length=64), nullable=True),
    sa.Column('range_start', sa.Text(), nullable=True),
    sa.Column('range_end', sa.Text(), nullable=True),
    sa.Column('range_index', sa.String(length=64), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('fraud_type', sa.String(length=32), nullable=False),
    sa.Column('forgery_subtype', sa.String(length=32), nullable=True),
    sa.Column('security_features', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('modus_operandi', sa.Text(), nullable=True),
    sa.Column('detection_tips', sa.Text(), nullable=True),
    sa.Column('holder_name', sa.Text(), nullable=True),
    sa.Column('holder_birth_date', sa.Text(), nullable=True),
    sa.Column('mrz', sa.Text(), nullable=True),
    sa.Column('mrz_findings', sa.JSON(), nullable=False),
    sa.Column('objectives', sa.JSON(), nullable=False),
    sa.Column('owner_party_id', sa.Integer(), nullable=False),
    sa.Column('distribution_level', sa.String(length=16), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=True),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_alerts_created_by_id_users')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_alerts_network_id_networks')),
    sa.ForeignKeyConstraint(['owner_party_id'], ['parties.id'], name=op.f('fk_alerts_owner_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('owner_party_id', 'reference_year', 'reference_seq', name='uq_alerts_owner_party_id_reference'),
    sa.UniqueConstraint('reference', name=op.f('uq_alerts_reference'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_detection_date'), ['detection_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_document_category'), ['document_category'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_fraud_type'), ['fraud_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_issuing_state'), ['issuing_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_number_any_index'), ['number_any_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_number_index'), ['number_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_owner_party_id'), ['owner_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_range_index'), ['range_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_review_date'), ['review_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_skeleton_index'), ['skeleton_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_status'), ['status'], unique=False)

    op.create_table('alert_acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_acknowledgements_alert_id_alerts')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_alert_acknowledgements_party_id_parties')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_acknowledgements_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_acknowledgements')),
    sa.UniqueConstraint('alert_id', 'user_id', name='uq_alert_acknowledgements_alert_id_user_id')
    )
    with op.batch_alter_table('alert_acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_acknowledgements_alert_id'), ['alert_id'], unique=False)

    op.create_table('alert_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_revisions_alert_id_alerts')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_alert_revisions_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_revisions')),
    sa.UniqueConstraint('alert_id', 'seq', name='uq_alert_revisions_alert_id_seq')
    )
    with op.batch_alter_table('alert_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_revisions_alert_id'), ['alert_id'], unique=False)

    _create_fulltext()


# Accent folding for PostgreSQL (unaccent() is not IMMUTABLE, so it cannot feed a generated column).
_ACCENTED = "ÁÀÂÄÃÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇáàâäãéèêëíìîïóòôöõúùûüñç"
_FOLDED = "AAAAAEEEEIIIIOOOOOUUUUNCaaaaaeeeeiiiiooooouuuunc"
_NARRATIVE = "coalesce(description, '') || ' ' || coalesce(modus_operandi, '') || ' ' || coalesce(detection_tips, '')"
_FTS_COLUMNS = "description, modus_operandi, detection_tips"


def _create_fulltext():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION alerts_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
            f"$$ SELECT translate(lower(value), '{_ACCENTED}', '{_FOLDED}') $$"
        )
        op.execute(
            "ALTER TABLE alerts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            f"(to_tsvector('simple'::regconfig, alerts_fold({_NARRATIVE}))) STORED"
        )
        op.execute("CREATE INDEX ix_alerts_search_vector ON alerts USING gin (search_vector)")
        return
    op.execute(
        f"CREATE VIRTUAL TABLE alerts_fts USING fts5({_FTS_COLUMNS}, content='alerts', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    old = ", ".join(f"old.{name}" for name in _FTS_COLUMNS.split(", "))
    new = ", ".join(f"new.{name}" for name in _FTS_COLUMNS.split(", "))
    op.execute(
        "CREATE TRIGGER alerts_fts_insert AFTER INSERT ON alerts BEGIN "
        f"INSERT INTO alerts_fts(rowid, {_FTS_COLUMNS}) VALUES (new.id, {new}); END"
    )
    op.execute(
        "CREATE TRIGGER alerts_fts_delete AFTER DELETE ON alerts BEGIN "
        f"INSERT INTO alerts_fts(alerts_fts, rowid, {_FTS_COLUMNS}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER alerts_fts_update AFTER UPDATE OF {_FTS_COLUMNS} ON alerts BEGIN "
        f"INSERT INTO alerts_fts(alerts_fts, rowid, {_FTS_COLUMNS}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO alerts_fts(rowid, {_FTS_COLUMNS}) VALUES (new.id, {new}); END"
    )


def _drop_fulltext():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_alerts_search_vector")
        op.execute("ALTER TABLE alerts DROP COLUMN search_vector")
        op.execute("DROP FUNCTION alerts_fold(text)")
        return
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER alerts_fts_{name}")
    op.execute("DROP TABLE alerts_fts")


def downgrade():
    _drop_fulltext()
    with op.batch_alter_table('alert_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_revisions_alert_id'))

    op.drop_table('alert_revisions')
    with op.batch_alter_table('alert_acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_acknowledgements_alert_id'))

    op.drop_table('alert_acknowledgements')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_status'))
        batch_op.drop_index(batch_op.f('ix_alerts_skeleton_index'))
        batch_op.drop_index(batch_op.f('ix_alerts_review_date'))
        batch_op.drop_index(batch_op.f('ix_alerts_range_index'))
        batch_op.drop_index(batch_op.f('ix_alerts_owner_party_id'))
        batch_op.drop_index(batch_op.f('ix_alerts_number_index'))
        batch_op.drop_index(batch_op.f('ix_alerts_number_any_index'))
        batch_op.drop_index(batch_op.f('ix_alerts_issuing_state'))
        batch_op.drop_index(batch_op.f('ix_alerts_fraud_type'))
        batch_op.drop_index(batch_op.f('ix_alerts_document_category'))
        batch_op.drop_index(batch_op.f('ix_alerts_detection_date'))

    op.drop_table('alerts')
    op.drop_table('alert_reference_counters')
