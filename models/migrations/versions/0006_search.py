"""Search: a full-text index of published descriptions (bot/search.py)

PostgreSQL: search_document, a weighted tsvector ('dutch') per description with a GIN index.
SQLite: search_fts, an FTS5 table of Python-stemmed text (rowid = intervention id).
Descriptions published before this revision are indexed here.

Revision ID: 0006
Revises: 0005
"""

import re
import unicodedata
from collections import defaultdict

import snowballstemmer
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

PARTS = ("title", "effects", "problem", "approach")

# A frozen copy of how bot/search.py turned a description into indexed text when this revision
# was written: the backfill must do tomorrow what it did then, whatever bot/search.py becomes.
PROBLEM_FIELDS = ("situation", "evidence", "baseline_alternative")
APPROACH_FIELDS = ("approach", "executors", "expected_output")
MAX_PART_CHARS = 100_000
STOP_WORDS = frozenset(
    """de en van ik te dat die in een hij het niet zijn is was op aan met als voor had er maar om hem
    dan zou of wat mijn men dit zo door over ze zich bij ook tot je mij uit der daar haar naar heb hoe
    heeft hebben deze u want nog zal me zij nu ge geen omdat iets worden toch al waren veel meer doen
    toen moet ben zonder kan hun dus alles onder ja eens hier wie werd altijd doch wordt wezen kunnen
    ons zelf tegen na reeds wil kon niets uw iemand geweest andere""".split()
)
WORD = re.compile(r"[^\W_]+")
STEMMER = snowballstemmer.stemmer("dutch_porter" if "dutch_porter" in snowballstemmer.algorithms() else "dutch")


def fold(text):
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stemmed(text):
    return " ".join(STEMMER.stemWord(w) for w in WORD.findall(fold(text)) if w not in STOP_WORDS)


def document(iv, effects):
    def join(values):
        return "\n".join(str(v) for v in values if v)[:MAX_PART_CHARS]

    return {
        "title": join([iv.title]),
        "effects": join(v for e in effects for v in (e.name, e.success_criterion)),
        "problem": join(getattr(iv, f) for f in PROBLEM_FIELDS),
        "approach": join(getattr(iv, f) for f in APPROACH_FIELDS),
    }


def upgrade() -> None:
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
        bind.execute(insert, {"id": iv.id, **{p: prepare(doc[p]) for p in PARTS}})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_search_document_document', table_name='search_document')
        op.drop_table('search_document')
    else:
        op.execute("DROP TABLE search_fts")
