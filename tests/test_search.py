"""Full-text search in the knowledge bank (bot/search.py), on SQLite (FTS5 with Snowball stems
in Python) and on PostgreSQL (tsvector, 'dutch')."""

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import select

from bot import search
from bot.forms import Forms, version_of
from models import Effect, Intervention, Organisation, Person
from models.db import alembic_config, upgrade
from models.tables import utcnow
from tests.helpers import FULL_WALK, Chat


def organisation(s, name: str, partner: bool = False) -> Organisation:
    org = s.exec(select(Organisation).where(Organisation.name == name)).first()
    if org is None:
        org = Organisation(name=name, is_partner=partner)
        s.add(org)
        s.flush()
    return org


def describe(db, title, org="Woonstad", visibility="public", status="published", effects=(), **fields) -> int:
    """A description written straight into the tables, then indexed as a turn would."""
    with db.transaction() as s:
        owner = organisation(s, org)
        author = Person(organisation_id=owner.id, display_name="Auteur")
        s.add(author)
        s.flush()
        iv = Intervention(
            organisation_id=owner.id,
            author_id=author.id,
            status=status,
            published_at=utcnow() if status == "published" else None,
            title=title,
            neighbourhood="Kruiskamp",
            municipality="Amersfoort",
            visibility=visibility,
            **fields,
        )
        s.add(iv)
        s.flush()
        for position, (name, criterion) in enumerate(effects):
            s.add(Effect(intervention_id=iv.id, position=position, name=name, success_criterion=criterion))
        search.reindex(s, iv)
        return iv.id


def found(db, words, org: str | None = None, limit: int = 10) -> list[int]:
    with db.transaction() as s:
        reader = s.exec(select(Organisation).where(Organisation.name == org)).one() if org else None
        return [hit.intervention_id for hit in search.search(s, reader, words, limit)]


def test_dutch_stemming_finds_other_forms_of_a_word(db):
    iv = describe(
        db,
        "Verkoop van huurwoningen",
        situation="Veel jongeren verlaten de straten; ouderen zijn eenzaam.",
        approach="Wekelijkse ontmoetingen in de tuinen.",
        effects=[("Veiligheidsgevoel", "Minder overlast in de straat")],
    )
    describe(db, "Iets anders", situation="Geen van deze woorden.")
    for query in ("huurwoning verkopen", "jongere", "straat", "eenzaamheid", "ontmoeten", "tuin", "overlast"):
        assert found(db, query) == [iv], query
    assert found(db, "De huurwoningen") == [iv]  # stop words need not occur
    assert found(db, "de het een") == []
    if db.engine.dialect.name == "postgresql":
        # Python's stems are PostgreSQL's: both databases find the same descriptions.
        words = ["huurwoningen", "verkopen", "jongeren", "eenzaamheid", "ontmoetingen", "straten", "tuinen"]
        with db.engine.connect() as conn:
            for word in words:
                lexemes = conn.execute(text("SELECT ts_lexize('dutch_stem', :w)"), {"w": word}).scalar()
                assert lexemes == [search.stem(word)]


def test_diacritics_do_not_matter(db):
    iv = describe(db, "Buurtcafé met ideeën", situation="Geïnterviewde ouders zoeken een crèche.")
    for query in ("buurtcafe", "BUURTCAFÉ", "ideeen", "geinterviewd", "creche", "crèche ideeën"):
        assert found(db, query) == [iv], query


def test_title_ranks_above_body_and_all_words_must_match(db):
    body = describe(
        db,
        "Groen in de wijk",
        situation="Een moestuin; de moestuin en nog een moestuin.",
        approach="Tuinieren in de moestuin met de buren.",
    )
    title = describe(db, "Moestuin aan de Kruiskamp", approach="Samen tuinieren.")
    describe(db, "Speeltuin", approach="Spelen.")
    assert found(db, "moestuin") == [title, body]
    with db.transaction() as s:
        hits = search.search(s, None, "moestuin")
        assert hits[0].rank > hits[1].rank
        assert (hits[0].title, hits[0].organisation, hits[0].neighbourhood, hits[0].municipality) == (
            "Moestuin aan de Kruiskamp",
            "Woonstad",
            "Kruiskamp",
            "Amersfoort",
        )
    assert found(db, "moestuin buren") == [body]
    assert found(db, "moestuin speeltuin") == []
    assert found(db, "tuinieren", limit=1) == [title]


def test_the_wizard_keeps_the_index_current(db):
    chat = Chat(db)
    chat.say("nieuw")
    for answer in FULL_WALK:
        chat.say(answer)
    assert found(db, "Buurtmoestuin", org="Lokaal") == []  # a draft is never found
    chat.say("publiceer")
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
    assert found(db, "buurtmoestuin eenzaam ouderen", org="Lokaal") == [iv.id]
    assert found(db, "sociale cohesie tuindag", org="Lokaal") == [iv.id]  # the effects
    assert found(db, "buurtmoestuin") == []  # shared with partners only

    # An edit in a form: the new words are found, the old ones no more.
    situation = {"situation": "Jongeren hangen rond bij het winkelcentrum."}
    assert Forms(db).submit(chat.person_id, iv.id, 2, situation, version_of(iv)) == {}
    assert found(db, "jongere winkelcentrum", org="Lokaal") == [iv.id]
    assert found(db, "eenzaam", org="Lokaal") == []
    # An edit in the chat.
    chat.say(action="cmd:edit:1")
    chat.say("Buurttuin De Schans")
    for _ in range(7):
        chat.say("overslaan")
    assert found(db, "schans", org="Lokaal") == [iv.id]
    assert found(db, "buurtmoestuin", org="Lokaal") == []


def test_visibility(db):
    with db.transaction() as s:
        organisation(s, "Woonstad")
        organisation(s, "Partnercorporatie", partner=True)
        organisation(s, "Buitenstaander")
        organisation(s, "Ander partner", partner=True)
    public = describe(db, "Huurwoningen openbaar", visibility="public")
    partners = describe(db, "Huurwoningen partners", visibility="partners")
    own = describe(db, "Huurwoningen eigen", visibility="organisation")
    other_partners_own = describe(db, "Huurwoningen ander", org="Ander partner", visibility="organisation")
    describe(db, "Huurwoningen concept", status="draft", visibility="public")

    def seen(org):
        return sorted(found(db, "huurwoning", org=org))

    assert seen("Woonstad") == sorted([public, partners, own])
    assert seen("Partnercorporatie") == sorted([public, partners])
    assert seen("Ander partner") == sorted([public, partners, other_partners_own])
    assert seen("Buitenstaander") == [public]
    assert seen(None) == [public]


HOSTILE = [
    "",
    "   ",
    "!?…",
    '"',
    '"""',
    "*",
    "moestuin*",
    "NEAR(moestuin kruiskamp)",
    "NEAR(",
    "moestuin OR",
    "OR AND NOT",
    "-moestuin",
    "title:moestuin",
    "{title}: moestuin",
    "(moestuin",
    "^moestuin",
    "moestuin'; DROP TABLE intervention; --",
    "moestuin \\ \x00 🌱",
    "x" * 10_000,
    "moestuin " * 2_000,
]


@pytest.mark.parametrize("reader", [None, "Woonstad"])
def test_hostile_input_never_raises_nor_changes_the_meaning(db, reader):
    iv = describe(db, "Moestuin Kruiskamp", situation="Title near: or and not.")
    for query in HOSTILE:
        assert found(db, query, org=reader) in ([], [iv]), query
    for query in ('"moestuin"', "moestuin*", "(moestuin)", "-moestuin", "moestuin:", "^moestuin", "moestuin " * 2_000):
        assert found(db, query, org=reader) == [iv], query
    # Operators are plain words that must occur like any other.
    assert found(db, "moestuin OR speeltuin", org=reader) == []
    assert found(db, "moestuin NOT kruiskamp", org=reader) == [iv]
    assert found(db, "", org=reader) == [] and found(db, "x" * 10_000, org=reader) == []
    assert found(db, "moestuin", org=reader, limit=0) == []


def test_the_migration_indexes_what_was_published_before(db):
    published = describe(
        db, "Klushuizen in de Schans", effects=[("Leefbaarheid", "Minder leegstaande woningen")], approach="Verkopen."
    )
    describe(db, "Klushuizen concept", status="draft")
    with db.engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0005")
        conn.commit()
    try:
        with db.engine.connect() as conn:
            tables = conn.dialect.get_table_names(conn)
            assert not search.TABLES & set(tables)
    finally:
        upgrade(db.engine)
    assert found(db, "klushuizen schans") == [published]
    assert found(db, "leegstaand woning verkoop") == [published]
