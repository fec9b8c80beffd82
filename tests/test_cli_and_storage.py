"""The `wwidw` command as a user runs it, and the schema that the migrations create."""

import json
import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, make_url, text
from sqlmodel import SQLModel, select

import models  # noqa: F401
from bot.settings import Settings
from models import Intervention
from models.db import Database, ping_when_idle
from tests.conftest import _truncate_all
from tests.helpers import FULL_WALK, Chat
from wwidw.app import Core, create_app


def wwidw(*args, database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "wwidw.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def test_migrations_create_exactly_the_tables_of_the_models(db):
    from bot import search

    # The full-text index (bot/search.py) is not a model: its tables and FTS5's shadow tables;
    # nor are slack_sdk's installation tables (the test below).
    def not_search(name, type_, parent_names):
        return type_ != "table" or (name not in search.TABLES and not name.startswith("slack_"))

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": not_search})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_migrations_create_the_columns_slack_sdks_stores_use(db):
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
    from sqlalchemy import inspect

    stores = SQLAlchemyInstallationStore("C1", db.engine), SQLAlchemyOAuthStateStore(600, db.engine)
    expected = {t.name: {c.name for c in t.columns} for store in stores for t in store.metadata.sorted_tables}
    found = inspect(db.engine)
    assert {name: {c["name"] for c in found.get_columns(name)} for name in expected} == expected


def test_db_upgrade_is_idempotent(database_url):
    first = wwidw("db", "upgrade", database_url=database_url)
    assert first.returncode == 0, first.stderr
    assert "up to date" in wwidw("db", "upgrade", database_url=database_url).stdout


def test_export_json_and_markdown(db):
    chat = Chat(db)
    chat.say("nieuw")
    for answer in FULL_WALK:
        chat.say(answer)
    md = wwidw("export", "1", "--format", "md", database_url=db.url)
    assert md.returncode == 0, md.stderr
    headings = [line for line in md.stdout.splitlines() if line.startswith("## ")]
    assert headings == [
        "## 1. Basisgegevens",
        "## 2. Aanleiding en probleem",
        "## 3. Doelgroep",
        "## 4. Doelen en beoogde effecten",
        "## 5. Aanpak en activiteiten",
        "## 6. Werkzame bestanddelen",
        "## 7. Inzet en kosten",
        "## 8. Meten en delen",
    ]
    assert md.stdout.startswith("# Buurtmoestuin Kruiskamp")
    assert "**Budget:** € 12.500" in md.stdout
    data = json.loads(wwidw("export", "1", "--format", "json", database_url=db.url).stdout)
    assert data["steps"]["basis"]["start_date"] == "2027-03-01"
    assert data["steps"]["effecten"]["effects"][1]["name"] == "Ontmoeting / sociale contacten"
    english = wwidw("export", "--format", "md", "--locale", "en", database_url=db.url)
    assert "## 8. Measuring and sharing" in english.stdout
    missing = wwidw("export", "99", database_url=db.url)
    assert missing.returncode == 1 and "no description #99" in missing.stderr


def test_without_slack_settings_the_endpoint_is_off_and_the_web_chat_works(db, caplog):
    import httpx

    caplog.set_level("INFO")
    app = create_app(
        core=Core(Settings(database_url=db.url, slack_bot_token=None, slack_signing_secret=None, _env_file=None), db)
    )
    assert "Slack is off" in caplog.text
    transport = httpx.ASGITransport(app=app)

    async def calls():
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return (await client.post("/slack/events", content=b"{}")).status_code, (await client.get("/")).status_code

    import asyncio

    assert asyncio.run(calls()) == (404, 200)


def test_healthz_reports_a_database_that_does_not_answer(tmp_path):
    import asyncio

    import httpx

    app = create_app(core=Core(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", _env_file=None)))

    async def call():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            return (await client.get("/healthz")).status_code

    assert asyncio.run(call()) == 503


def test_pages_say_so_when_the_database_is_down():
    import asyncio

    import httpx

    app = create_app(core=Core(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", _env_file=None)))

    async def call():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.get("/beschrijvingen")

    response = asyncio.run(call())
    assert response.status_code == 503 and "even niet opslaan; je eerdere antwoorden zijn bewaard" in response.text


def test_replicas_starting_together_upgrade_a_fresh_postgresql_once(pg_database):
    """Two processes run the migrations at the same moment: the advisory lock lets one go first."""
    import uuid

    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.engine import make_url

    name = f"wwidw_fresh_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(pg_database).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_database).set(database=name).render_as_string(hide_password=False)
    try:
        env = {**os.environ, "DATABASE_URL": url}
        runs = [
            subprocess.Popen([sys.executable, "-m", "wwidw.cli", "db", "upgrade"], env=env, stderr=subprocess.PIPE)
            for _ in range(3)
        ]
        assert all(run.wait(timeout=60) == 0 for run in runs), [run.stderr.read() for run in runs]
        engine = create_engine(url)
        assert {"intervention", "conversation", "processed_event"} <= set(inspect(engine).get_table_names())
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_first_web_users_arriving_together_share_one_organisation(db):
    import threading

    from sqlmodel import select

    from bot.people import ensure_person
    from models import Organisation, Person

    barrier = threading.Barrier(6)
    errors = []

    def arrive(n):
        barrier.wait()
        try:
            ensure_person(db, "web", "", f"hash{n}", f"Persoon {n}", "Lokaal")
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=arrive, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with db.transaction() as s:
        assert len(s.exec(select(Organisation)).all()) == 1
        assert len({p.organisation_id for p in s.exec(select(Person))}) == 1


def test_migration_0002_merges_duplicate_local_organisations(database_url):
    """A database at 0001 with two "Lokaal" organisations (possible before 0002) is upgraded."""
    from sqlalchemy import create_engine, text

    from models.db import upgrade

    engine = create_engine(database_url)
    with engine.begin() as conn:  # the fixture is at head: go back to 0001 first
        from alembic import command

        from models.db import alembic_config

        command.downgrade(alembic_config(conn), "0001")
    with engine.begin() as conn:
        for n in (1, 2):
            conn.execute(
                text(
                    f"INSERT INTO organisation (id, name, is_partner, created_at) "
                    f"VALUES ({n}, 'Lokaal', false, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    f"INSERT INTO person (id, organisation_id, display_name, created_at) "
                    f"VALUES ({n}, {n}, 'P{n}', CURRENT_TIMESTAMP)"
                )
            )
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM organisation")).scalars().all() == [1]
        assert conn.execute(text("SELECT organisation_id FROM person ORDER BY id")).scalars().all() == [1, 1]
    engine.dispose()


def test_the_operator_grants_partnership_and_renames_organisations(db):
    from bot.people import ensure_person

    ensure_person(db, "web", "", "hash-a", "Anna", "Woonstad")
    ensure_person(db, "web", "", "hash-b", "Bram", "Gemeente")
    assert "Woonstad\t-\tweb" in wwidw("organisation", "list", database_url=db.url).stdout
    assert wwidw("organisation", "partner", "woonstad", database_url=db.url).stdout.startswith("1\tWoonstad\tpartner")
    assert wwidw("organisation", "partner", "1", "off", database_url=db.url).stdout.endswith("\t-\n")
    assert wwidw("organisation", "rename", "Woonstad", "gemeente", database_url=db.url).returncode == 1  # taken
    renamed = wwidw("organisation", "rename", "Woonstad", "Woonstad Rotterdam", database_url=db.url)
    assert renamed.returncode == 0 and "Woonstad Rotterdam" in renamed.stdout
    assert wwidw("organisation", "partner", "Niemand", database_url=db.url).returncode == 1


def test_upgrading_a_database_full_of_work_keeps_it(database_url):
    """A database at 0004 with people, descriptions and messages goes to the newest schema with
    foreign keys enforced, as `wwidw serve` upgrades it, and everything is still there."""
    from alembic import command
    from sqlalchemy import text
    from sqlmodel import select

    from models import Organisation, Person
    from models.db import Database, alembic_config

    db = Database(database_url)
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO organisation (id, name, is_partner, slack_team_id, created_at) "
                          "VALUES (1, 'Woonstad', false, 'T1', CURRENT_TIMESTAMP)"))  # fmt: skip
        conn.execute(text("INSERT INTO person (id, organisation_id, display_name, created_at) "
                          "VALUES (1, 1, 'Anna', CURRENT_TIMESTAMP)"))  # fmt: skip
        conn.execute(text("INSERT INTO intervention (id, organisation_id, author_id, status, title, visibility, "
                          "created_at, updated_at, published_at) VALUES (1, 1, 1, 'published', 'Buurtmoestuin', "
                          "'public', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))  # fmt: skip
        conn.execute(text("INSERT INTO outbox (id, dedupe_key, platform, workspace, channel, person_id, body, status, "
                          "not_before, attempts, created_at) VALUES (1, 'reminder:1', 'slack', 'T1', 'U1', 1, '{}', "
                          "'pending', CURRENT_TIMESTAMP, 0, CURRENT_TIMESTAMP)"))  # fmt: skip
    db.upgrade()
    with db.transaction() as s:
        from bot import search

        assert s.exec(select(Organisation)).one().name == "Woonstad"
        assert s.exec(select(Person)).one().display_name == "Anna"
        assert [h.title for h in search.search(s, None, "buurtmoestuin")] == ["Buurtmoestuin"]
        assert s.connection().execute(text("SELECT dedupe_key FROM outbox")).scalars().all() == ["reminder:1"]
    db.dispose()


def terminate_connections(url):
    """What a PostgreSQL restart does to the bot's pooled connections."""
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        query = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
        ended = conn.execute(text(query), {"name": make_url(url).database}).all()
    admin.dispose()
    return len(ended)


def test_a_pooled_connection_closed_while_idle_is_replaced_before_use(pg_database):
    engine = ping_when_idle(create_engine(pg_database), after=0.0)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert terminate_connections(pg_database) == 1
    with engine.connect() as conn:  # pinged, found closed, replaced: the statement never sees it
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_a_turn_on_a_connection_closed_a_moment_ago_runs_once_more_and_is_kept(pg_database):
    """Right after a restart the pool's connections look fresh (no ping within PING_AFTER_IDLE):
    the turn's first statement fails, the turn is run again on a new connection."""
    _truncate_all(pg_database)
    db = Database(pg_database)
    chat = Chat(db)
    chat.say("nieuw")
    chat.say(FULL_WALK[0])
    asked = chat.question.text
    assert terminate_connections(pg_database) >= 1
    chat.say(FULL_WALK[1])
    assert chat.question.text != asked  # the answer was taken, and the next question asked
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().neighbourhood == FULL_WALK[1]
    db.dispose()
