"""Search: a full-text index of published descriptions (bot/search.py)

PostgreSQL: search_document, a weighted tsvector ('dutch') per description with a GIN index.
SQLite: search_fts, an FTS5 table of Python-stemmed text (rowid = intervention id).
Descriptions published before this revision are indexed here.

Revision ID: 0006
Revises: 0005
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

PARTS = ("title", "effects", "problem", "approach")


def upgrade() -> None:
    # Only the pure text helpers; the table layout and the statements are this revision's own.
    from bot.search import document, fold, stemmed

    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    if pg:
        op.create_table('search_document',
        sa.Column('intervention_id', sa.Integer(), nullable=False),
        sa.Column('document', postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(['intervention_id'], ['intervention.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('intervention_id')
        )
        op.create_index('ix_search_document_document', 'search_document', ['document'], postgresql_using='gin')
        insert = sa.text(
            "INSERT INTO search_document (intervention_id, document) VALUES (:id, "
            "setweight(to_tsvector('dutch', :title), 'A') || setweight(to_tsvector('dutch', :effects), 'B') || "
            "setweight(to_tsvector('dutch', :problem), 'C') || setweight(to_tsvector('dutch', :approach), 'D'))"
        )
        prepare = fold
    else:
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "title, effects, problem, approach, tokenize = 'unicode61 remove_diacritics 2')"
        )
        insert = sa.text(
            "INSERT INTO search_fts (rowid, title, effects, problem, approach) "
            "VALUES (:id, :title, :effects, :problem, :approach)"
        )
        prepare = stemmed

    effects = defaultdict(list)
    for row in bind.execute(sa.text(
        "SELECT intervention_id, name, success_criterion FROM effect ORDER BY intervention_id, position, id"
    )):
        effects[row.intervention_id].append(row)
    published = bind.execute(sa.text(
        "SELECT id, title, situation, evidence, baseline_alternative, approach, executors, expected_output "
        "FROM intervention WHERE status = 'published'"
    )).all()
    for iv in published:
        doc = document(iv, effects[iv.id])
        bind.execute(insert, {"id": iv.id, **{p: prepare(getattr(doc, p)) for p in PARTS}})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_search_document_document', table_name='search_document')
        op.drop_table('search_document')
    else:
        op.execute("DROP TABLE search_fts")
