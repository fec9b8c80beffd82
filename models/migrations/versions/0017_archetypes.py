"""Archetypes in the database: curated versions, drafts, and the version a description started from;
the five shipped archetypes become the first records

Revision ID: 0017
Revises: 0016
"""

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# The data as it was in bot/data/archetypes.toml, copied here so this migration never changes.
SHIPPED = Path(__file__).with_suffix(".toml")


def upgrade() -> None:
    op.create_table('archetype',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('archetype_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('archetype_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name_nl', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('summary_nl', sa.Text(), nullable=False),
    sa.Column('summary_en', sa.Text(), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('meeting_name', sa.String(length=200), nullable=True),
    sa.Column('meeting_date', sa.Date(), nullable=True),
    sa.Column('meeting_place', sa.String(length=200), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['archetype_id'], ['archetype.id'], ),
    sa.ForeignKeyConstraint(['published_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('archetype_id', 'number')
    )
    op.create_index(op.f('ix_archetype_version_archetype_id'), 'archetype_version', ['archetype_id'], unique=False)
    op.create_table('archetype_draft',
    sa.Column('intervention_id', sa.Integer(), nullable=False),
    sa.Column('archetype_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('sources', sa.JSON(), nullable=True),
    sa.Column('meeting_name', sa.String(length=200), nullable=True),
    sa.Column('meeting_date', sa.Date(), nullable=True),
    sa.Column('meeting_place', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['archetype_id'], ['archetype.id'], ),
    sa.ForeignKeyConstraint(['intervention_id'], ['intervention.id'], ),
    sa.PrimaryKeyConstraint('intervention_id')
    )
    op.create_index(op.f('ix_archetype_draft_archetype_id'), 'archetype_draft', ['archetype_id'], unique=False)
    op.create_table('archetype_source',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('intervention_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['intervention_id'], ['intervention.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['archetype_version.id'], ),
    sa.PrimaryKeyConstraint('version_id', 'intervention_id')
    )
    op.create_index(op.f('ix_archetype_source_intervention_id'), 'archetype_source', ['intervention_id'], unique=False)
    op.create_table('archetype_origin',
    sa.Column('intervention_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['intervention_id'], ['intervention.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['archetype_version.id'], ),
    sa.PrimaryKeyConstraint('intervention_id')
    )
    op.create_index(op.f('ix_archetype_origin_version_id'), 'archetype_origin', ['version_id'], unique=False)
    # A plain ADD COLUMN, as 0013: a batch would copy the table, which SQLite refuses under enforced keys.
    op.add_column('intervention', sa.Column('kind', sa.String(length=20), nullable=False, server_default='description'))
    insert_shipped(op.get_bind())


def insert_shipped(conn) -> None:
    """The shipped archetypes as version 1 each (also used by the tests after emptying a database)."""
    now = datetime.now(UTC)
    meta = sa.MetaData()
    archetype = sa.Table('archetype', meta, autoload_with=conn)
    version = sa.Table('archetype_version', meta, autoload_with=conn)
    for raw in tomllib.loads(SHIPPED.read_text("utf-8"))["archetype"]:
        archetype_id = conn.execute(
            archetype.insert().values(key=raw["key"], last_number=1, created_at=now).returning(archetype.c.id)
        ).scalar_one()
        conn.execute(version.insert().values(
            archetype_id=archetype_id, number=1, name_nl=raw["name_nl"], name_en=raw["name_en"],
            summary_nl=raw["summary_nl"], summary_en=raw["summary_en"], aliases=raw.get("aliases", []),
            fields=raw["fields"], published_at=now, published_by=None,
        ))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE intervention DROP COLUMN kind')  # SQLite has it since 3.35; no table copy
    else:
        op.drop_column('intervention', 'kind')
    op.drop_index(op.f('ix_archetype_origin_version_id'), table_name='archetype_origin')
    op.drop_table('archetype_origin')
    op.drop_index(op.f('ix_archetype_source_intervention_id'), table_name='archetype_source')
    op.drop_table('archetype_source')
    op.drop_index(op.f('ix_archetype_draft_archetype_id'), table_name='archetype_draft')
    op.drop_table('archetype_draft')
    op.drop_index(op.f('ix_archetype_version_archetype_id'), table_name='archetype_version')
    op.drop_table('archetype_version')
    op.drop_table('archetype')
