"""Full-text search in the knowledge bank: the published descriptions a reader may see.

Each published description has one row in an index table, written by `reindex` in the
transaction that changed it (and filled for existing descriptions by migration 0006):

- PostgreSQL: `search_document`, a tsvector in the 'dutch' configuration with a GIN index.
- SQLite: `search_fts`, an FTS5 table (rowid = intervention id). SQLite has no Dutch stemmer,
  so the text is stemmed here in Python and FTS5 only matches the stems.

Both use the same Snowball Dutch stemmer (PostgreSQL's `dutch_stem` is the classic algorithm,
`dutch_porter` in snowballstemmer 3), the same stop words and diacritics folding, so a word
finds the same descriptions on either database.

Four parts are weighted: title (A), effects (B: short catalogue names that say what it is for),
problem (C), approach (D: the longest, most verbose text).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import snowballstemmer
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlmodel import Session, select

from bot import store
from models import Analysis, Effect, Intervention, Organisation

PARTS = ("title", "effects", "problem", "approach")
PROBLEM_FIELDS = ("situation", "evidence", "baseline_alternative")
APPROACH_FIELDS = ("approach", "executors", "expected_output")
FTS_TABLE = "search_fts"
PG_TABLE = "search_document"
# Not SQLModel tables (so the schema comparison leaves them out): ours and FTS5's shadow tables.
TABLES = frozenset(
    {PG_TABLE, FTS_TABLE, *(f"{FTS_TABLE}_{shadow}" for shadow in ("data", "idx", "content", "docsize", "config"))}
)

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 20
MAX_LIMIT = 100
# A tsvector holds at most 1 MB; no description comes near, but a pasted book must not fail a turn.
MAX_PART_CHARS = 100_000

# bm25 weights for PARTS, in the proportions of PostgreSQL's default ts_rank weights A/B/C/D.
FTS_WEIGHTS = (10.0, 4.0, 2.0, 1.0)

# PostgreSQL's dutch.stop (the Snowball list): dropped here too, so "de woning" needs only "woning".
STOP_WORDS = frozenset(
    """de en van ik te dat die in een hij het niet zijn is was op aan met als voor had er maar om hem
    dan zou of wat mijn men dit zo door over ze zich bij ook tot je mij uit der daar haar naar heb hoe
    heeft hebben deze u want nog zal me zij nu ge geen omdat iets worden toch al waren veel meer doen
    toen moet ben zonder kan hun dus alles onder ja eens hier wie werd altijd doch wordt wezen kunnen
    ons zelf tegen na reeds wil kon niets uw iemand geweest andere""".split()
)

WORD = re.compile(r"[^\W_]+")

# The classic Dutch algorithm, as PostgreSQL's; in snowballstemmer < 3 it is simply "dutch".
_ALGORITHM = "dutch_porter" if "dutch_porter" in snowballstemmer.algorithms() else "dutch"
# A stemmer object keeps state while it works: one per thread (Slack turns run in worker threads).
_local = threading.local()


def fold(text: str) -> str:
    """Lower case without diacritics: "Café" and "cafe", "ideeën" and "ideeen" are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def split_words(text: str) -> list[str]:
    """The words of a text that count: folded, split on anything but letters and digits, no stop words."""
    return [w for w in WORD.findall(fold(text)) if w not in STOP_WORDS]


def stem(word: str) -> str:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer(_ALGORITHM)
    return stemmer.stemWord(word)


def stemmed(text: str) -> str:
    """A text as FTS5 indexes it on SQLite: its stems, separated by spaces."""
    return " ".join(stem(w) for w in split_words(text))


@dataclass(frozen=True)
class Document:
    """The text of one description, in the four weighted parts."""

    title: str
    effects: str
    problem: str
    approach: str


def document(iv, effects: Iterable, analyses: Iterable[str] = ()) -> Document:
    """Pure: the searchable text of an intervention (any object with the Intervention field names,
    also a migration's row), its effects (objects with `name` and `success_criterion`) and the
    texts of its published expert analyses (weighted as the approach: long, discursive)."""

    def join(values) -> str:
        return "\n".join(str(v) for v in values if v)[:MAX_PART_CHARS]

    return Document(
        title=join([iv.title]),
        effects=join(v for e in effects for v in (e.name, e.success_criterion)),
        problem=join(getattr(iv, f) for f in PROBLEM_FIELDS),
        approach=join([*(getattr(iv, f) for f in APPROACH_FIELDS), *analyses]),
    )


def analysis_texts(session: Session, iv_id: int) -> list[str]:
    """The words of a description's published expert analyses."""
    out = []
    for a in session.exec(
        select(Analysis).where(Analysis.intervention_id == iv_id, Analysis.published_at.is_not(None))
    ):
        out += [*(a.steps or {}).values(), a.elements, a.judgement, *(r.get("note") for r in a.references or [])]
    return [text for text in out if text]


# The statements that write one document; migration 0006 has its own copy for the backfill.
PG_UPSERT = sa.text(
    f"INSERT INTO {PG_TABLE} (intervention_id, document) VALUES (:id, "
    "setweight(to_tsvector('dutch', :title), 'A') || setweight(to_tsvector('dutch', :effects), 'B') || "
    "setweight(to_tsvector('dutch', :problem), 'C') || setweight(to_tsvector('dutch', :approach), 'D')) "
    "ON CONFLICT (intervention_id) DO UPDATE SET document = EXCLUDED.document"
)
FTS_INSERT = sa.text(
    f"INSERT INTO {FTS_TABLE} (rowid, title, effects, problem, approach) "
    "VALUES (:id, :title, :effects, :problem, :approach)"
)


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def reindex(session: Session, iv: Intervention) -> None:
    """Put a published description's current text into the index, replacing what was there;
    take anything else out. Call it in the transaction that changed the description."""
    if iv.id is None:
        session.flush()
    pg = _is_pg(session)
    if iv.status != "published":
        table = PG_TABLE if pg else FTS_TABLE
        key = "intervention_id" if pg else "rowid"
        session.execute(sa.text(f"DELETE FROM {table} WHERE {key} = :id"), {"id": iv.id})
        return
    effects = session.exec(select(Effect).where(Effect.intervention_id == iv.id).order_by(Effect.position, Effect.id))
    doc = document(iv, effects, analysis_texts(session, iv.id))
    if pg:
        # PostgreSQL stems itself; folding first lets "crèche" find "creche" too (no unaccent needed).
        session.execute(PG_UPSERT, {"id": iv.id, **{p: fold(getattr(doc, p)) for p in PARTS}})
    else:
        # FTS5 cannot update in place: the old row goes, the new one comes.
        session.execute(sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :id"), {"id": iv.id})
        session.execute(FTS_INSERT, {"id": iv.id, **{p: stemmed(getattr(doc, p)) for p in PARTS}})


def analysed_ids(session: Session, iv_ids) -> set[int]:
    """Which of these descriptions have a published expert analysis (marked so in lists)."""
    ids = sorted(set(iv_ids))
    if not ids:
        return set()
    query = select(Analysis.intervention_id).where(
        Analysis.intervention_id.in_(ids), Analysis.published_at.is_not(None)
    )
    return set(session.exec(query))


@dataclass(frozen=True)
class Hit:
    """One found description, with what a result line shows."""

    intervention_id: int
    title: str
    organisation: str
    neighbourhood: str | None
    municipality: str | None
    visibility: str | None
    published_at: datetime | None
    rank: float  # higher is better; comparable only within one search
    analysed: bool = False  # it has a published expert analysis


def query_words(text: str) -> list[str]:
    """The words of a typed query that take part, within the caps (the rest is ignored)."""
    return split_words((text or "")[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]


def search(session: Session, organisation: Organisation | None, words: str, limit: int = 10) -> list[Hit]:
    """Published descriptions the reader's organisation may see (None: an anonymous reader, public
    only) that contain every word (stemmed), best first. Anything typed is safe: query syntax
    is never interpreted, and input without words finds nothing."""
    terms = query_words(words)
    if not terms or limit <= 0:
        return []
    if _is_pg(session):
        doc = sa.table(PG_TABLE, sa.column("intervention_id", sa.Integer), sa.column("document", TSVECTOR))
        # plainto_tsquery ANDs the words and knows no operators; they are plain words already anyway.
        query = sa.func.plainto_tsquery(sa.literal_column("'dutch'::regconfig"), " ".join(terms))
        rank = sa.func.ts_rank(doc.c.document, query)
        matches, key = doc.c.document.op("@@")(query), doc.c.intervention_id
    else:
        fts = sa.table(FTS_TABLE, sa.column("rowid", sa.Integer))
        # Every stem quoted: a quoted string is a plain phrase, so "OR", "NEAR(", "*", "-" or ":"
        # typed by someone mean nothing to FTS5. Terms side by side must all match.
        query = " ".join('"' + stem(t).replace('"', '""') + '"' for t in terms)
        rank = -sa.func.bm25(sa.literal_column(FTS_TABLE), *FTS_WEIGHTS)  # bm25: lower is better
        matches, key = sa.literal_column(FTS_TABLE).op("MATCH")(query), fts.c.rowid
    rows = session.execute(
        sa.select(Intervention, Organisation.name, rank.label("rank"))
        .join_from(Intervention, key.table, key == Intervention.id)
        .join(Organisation, Organisation.id == Intervention.organisation_id)
        .where(matches, store.visible_to(organisation))
        .order_by(sa.desc("rank"), Intervention.published_at.desc(), Intervention.id.desc())
        .limit(min(limit, MAX_LIMIT))
    ).all()
    analysed = analysed_ids(session, [iv.id for iv, _, _ in rows])
    return [
        Hit(
            intervention_id=iv.id,
            title=iv.title or "",
            organisation=org_name,
            neighbourhood=iv.neighbourhood,
            municipality=iv.municipality,
            visibility=iv.visibility,
            published_at=iv.published_at,
            rank=float(score),
            analysed=iv.id in analysed,
        )
        for iv, org_name, score in rows
    ]
